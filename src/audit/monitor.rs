//! `proofdesk monitor`: like a Certificate Transparency monitor (or
//! Tessera's fsck), re-checks every batch the *chain* says is anchored.
//!
//! For batch ids 0 .. `batchCount()` (read from the contract, never from
//! the log), it takes each batch's range and root from the contract's own
//! `BatchAnchored` event, checks that the event rebuilds `batchHead(id)`
//! and follows on from the previous batch, then streams the leaf hashes
//! the log serves, no more than the event's count, into a root built in
//! O(log n) memory, which must be the event's root. The log's own claims
//! about a batch (its range, root, status, tx, block) are compared, never
//! trusted. Its place is kept in a small JSON state file written
//! atomically; `--follow` keeps watching; the first inconsistency ends it
//! with exit code 1 and the batch named, and so does a batch the log keeps
//! failing to serve for longer than `--give-up-after`.
//!
//! With an audit key (`--key`), it reads each new batch's records instead of
//! its leaves (the leaves are their hashes, so the same root check holds)
//! and replays the ticket map (PROTOCOL.md §15) batch by batch: a head v2
//! whose map root the replay does not give is an inconsistency. The map is
//! held in memory: on start it is replayed over the batches already
//! checked, after which each new batch costs its own records only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::anchors::{AnchorEvent, anchor_events_between};
use super::http::{LogClient, Misbehaved};
use crate::anchor::Chain;
use crate::metrics::Snapshot;
use crate::protocol::Hash32;
use crate::protocol::hashing::batch_head;
use crate::protocol::map::{Tip, map_key};
use crate::protocol::map_tree::MapVersion;
use crate::protocol::record::HashedRecord;
use crate::protocol::tree::RootBuilder;

/// The monitor's place: every batch below `next_batch` has been checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    pub contract: String,
    pub chain_id: u64,
    pub next_batch: u64,
    pub next_index: u64,
    /// Head of the last checked batch, to notice a rewritten history.
    pub last_head: Option<Hash32>,
    /// Block of the last checked batch's BatchAnchored event: later
    /// batches' events are searched from there, not from deployment.
    #[serde(default)]
    pub last_block: Option<u64>,
}

pub struct MonitorOptions {
    pub log: LogClient,
    pub chain: Chain,
    pub state_file: Option<PathBuf>,
    pub follow: bool,
    pub interval: Duration,
    pub metrics_listen: Option<SocketAddr>,
    /// Print one line per checked batch.
    pub verbose: bool,
    /// How long one batch may keep failing to be served (transient
    /// errors) before it is reported as unverifiable.
    pub give_up_after: Duration,
    /// Most leaves a batch may have: a chain written by a dishonest
    /// anchorer can claim any count.
    pub max_batch_leaves: u64,
    /// Read records (the log client holds an audit key) and replay the
    /// ticket map, checking every head v2's map root.
    pub replay_map: bool,
}

/// Default for [`MonitorOptions::max_batch_leaves`]: 256 × the sealer's
/// default batch of 65,536.
pub const DEFAULT_MAX_BATCH_LEAVES: u64 = 1 << 24;

/// Why the monitor stopped.
#[derive(Debug)]
pub enum Stop {
    /// Not following, and every batch on chain checked out.
    CaughtUp(MonitorState),
    /// A batch does not check: the log or the chain disagrees.
    Inconsistent { batch: u64, detail: String },
    /// The log kept failing to serve a batch the chain anchored.
    Unverifiable { batch: u64, detail: String },
}

enum StepError {
    Inconsistent(u64, String),
    Transient(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for StepError {
    fn from(e: E) -> StepError {
        StepError::Transient(e.into())
    }
}

/// What `/metrics` shows while following.
#[derive(Debug, Default)]
pub struct MonitorMetrics {
    pub checked_total: u64,
    pub verified: u64,
    pub chain_batches: u64,
    pub errors_total: u64,
    pub last_check_unix: f64,
    pub last_failure_unix: f64,
    pub last_failure: String,
    pub inconsistent: bool,
    pub unverifiable: bool,
}

impl MonitorMetrics {
    pub fn render(&self) -> String {
        let mut m = Snapshot::default();
        m.counter(
            "monitor_batches_checked",
            "Batches checked by this process",
            self.checked_total,
        )
        .gauge(
            "monitor_batches_verified",
            "Batches verified so far (the state file's place)",
            self.verified,
        )
        .gauge(
            "monitor_chain_batches",
            "batchCount() on chain at the last check",
            self.chain_batches,
        )
        .gauge(
            "monitor_lag_batches",
            "Batches anchored on chain but not yet verified",
            self.chain_batches.saturating_sub(self.verified),
        )
        .counter(
            "monitor_errors",
            "Transient errors (log or RPC unreachable), retried",
            self.errors_total,
        )
        .timestamp(
            "monitor_last_check_timestamp_seconds",
            "When the monitor last caught up with the chain",
            self.last_check_unix,
        )
        .timestamp(
            "monitor_last_failure_timestamp_seconds",
            "When the last failure happened (0: none)",
            self.last_failure_unix,
        )
        .gauge(
            "monitor_inconsistent",
            "1 once a batch failed its check",
            u64::from(self.inconsistent),
        )
        .gauge(
            "monitor_unverifiable",
            "1 once the log failed to serve a batch for longer than --give-up-after",
            u64::from(self.unverifiable),
        );
        if !self.last_failure.is_empty() {
            m.labelled(
                "monitor_last_failure_info",
                "The last failure",
                "reason",
                &self.last_failure,
            );
        }
        m.encode()
    }
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn load_state(opts: &MonitorOptions) -> anyhow::Result<Option<MonitorState>> {
    let Some(path) = &opts.state_file else {
        return Ok(None);
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!("state file {}: {e}", path.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("state file {}: {e}", path.display())),
    }
}

fn save_state(opts: &MonitorOptions, state: &MonitorState) -> anyhow::Result<()> {
    if let Some(path) = &opts.state_file {
        super::write_atomic(path, serde_json::to_string_pretty(state)?.as_bytes())?;
    }
    Ok(())
}

/// Checks one batch the chain has anchored, against its BatchAnchored
/// event `ev`.
async fn check_batch(
    opts: &MonitorOptions,
    state: &MonitorState,
    ev: &AnchorEvent,
    map: Option<&mut MapVersion>,
) -> Result<(u64, Hash32), StepError> {
    let id = ev.batch;
    let on_chain = opts.chain.batch_head(id).await?;
    let head = batch_head(id, ev.first_index, ev.count, &ev.root);
    if on_chain != head {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "the contract's BatchAnchored event for batch {id} (first index {}, count {}, root {}) gives head {head}, but batchHead({id}) on chain is {on_chain}",
                ev.first_index, ev.count, ev.root
            ),
        ));
    }
    if ev.first_index != state.next_index || ev.count == 0 {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "batch {id} anchors indices {}+{} but the previous batch ended at {} (not contiguous)",
                ev.first_index, ev.count, state.next_index
            ),
        ));
    }
    if ev.count > opts.max_batch_leaves {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "batch {id} is anchored with {} leaves, more than the {} a monitor accepts (--max-batch-leaves)",
                ev.count, opts.max_batch_leaves
            ),
        ));
    }
    let last = ev.first_index + ev.count - 1;
    let claim = match opts.log.batch(id).await {
        Ok(c) => c,
        Err(e) if e.to_string().contains("HTTP 404") => {
            return Err(StepError::Inconsistent(
                id,
                format!("batch {id} is anchored on chain but the log does not serve it: {e}"),
            ));
        }
        Err(e) => return Err(StepError::Transient(e)),
    };
    // A head v2 anchors H(0x06 ‖ log root ‖ map root): the claim's two
    // roots must fold into the chain's (PROTOCOL.md §15.3).
    let claimed_anchored =
        crate::protocol::map::anchored_root(&claim.root, claim.map_root.as_ref());
    if (claim.id, claim.first_index, claim.count, claimed_anchored)
        != (id, ev.first_index, ev.count, ev.root)
    {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "the log states batch {} = indices {}+{} with root {}, but the chain anchored batch {id} = indices {}+{} with root {} (batchHead({id}) on chain is {on_chain})",
                claim.id,
                claim.first_index,
                claim.count,
                claim.root,
                ev.first_index,
                ev.count,
                ev.root
            ),
        ));
    }
    let rebuilt = match map {
        Some(map) => {
            let (rebuilt, after) = replay_batch(opts, ev, map).await?;
            if rebuilt == claim.root {
                check_map_root(id, claim.map_root, &after)?;
                *map = after;
            }
            rebuilt
        }
        None => leaves_root(opts, ev).await?,
    };
    if rebuilt != claim.root {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "the {} leaves the log serves for batch {id} (indices {}..={last}) rebuild root {rebuilt}, but the chain anchored root {} (batchHead({id}) on chain is {on_chain})",
                ev.count, ev.first_index, claim.root
            ),
        ));
    }
    Ok((ev.first_index + ev.count, head))
}

/// The batch's leaves, no more than the chain's count, folded into a root
/// as they arrive.
async fn leaves_root(opts: &MonitorOptions, ev: &AnchorEvent) -> Result<Hash32, StepError> {
    let id = ev.batch;
    let mut root = RootBuilder::new();
    match opts
        .log
        .each_leaf_page(id, ev.count, |page| {
            for leaf in page {
                root.push(*leaf);
            }
            Ok(())
        })
        .await
    {
        Ok(()) => {}
        Err(e) if e.is::<Misbehaved>() || e.to_string().contains("HTTP 404") => {
            return Err(StepError::Inconsistent(
                id,
                format!("the log cannot serve the leaves of batch {id}: {e:#}"),
            ));
        }
        Err(e) => return Err(StepError::Transient(e)),
    }
    root.root()
        .map_err(|e| StepError::Inconsistent(id, e.to_string()))
}

/// The batch's records, no more than the chain's count: the root their
/// leaves give, and the map after the batch (§15.2: every record sets its
/// ticket's tip, in index order).
async fn replay_batch(
    opts: &MonitorOptions,
    ev: &AnchorEvent,
    map: &MapVersion,
) -> Result<(Hash32, MapVersion), StepError> {
    let id = ev.batch;
    let mut root = RootBuilder::new();
    let mut updates: Vec<(Hash32, Tip)> = Vec::with_capacity(ev.count as usize);
    let mut index = ev.first_index;
    let read = opts
        .log
        .each_export_line(
            ev.first_index,
            ev.first_index + ev.count,
            super::lines::DEFAULT_MAX_LINE,
            |line| {
                let text = std::str::from_utf8(line)
                    .map_err(|_| Misbehaved("an export line is not UTF-8".into()))?;
                let line = super::check::Line::parse(text).map_err(Misbehaved)?;
                let h = HashedRecord::from_value(&line.record).map_err(|e| {
                    Misbehaved(format!("the record at index {index} is not valid: {e}"))
                })?;
                if h.record.index != index {
                    return Err(Misbehaved(format!(
                        "the export served index {} where {index} was due",
                        h.record.index
                    ))
                    .into());
                }
                root.push(h.leaf);
                updates.push((
                    map_key(&h.record.ticket),
                    Tip {
                        seq: h.record.seq,
                        leaf: h.leaf,
                        index,
                        batch: id,
                    },
                ));
                index += 1;
                Ok(())
            },
        )
        .await;
    match read {
        Ok(_) => {}
        Err(e) if e.is::<Misbehaved>() || e.to_string().contains("HTTP 404") => {
            return Err(StepError::Inconsistent(
                id,
                format!("the log cannot serve the records of batch {id}: {e:#}"),
            ));
        }
        Err(e) => return Err(StepError::Transient(e)),
    }
    let root = root
        .root()
        .map_err(|e| StepError::Inconsistent(id, e.to_string()))?;
    Ok((root, map.apply_batch(updates)))
}

/// A head v2's map root must be the replay's (the claim already folds into
/// the anchored root with the records' root).
fn check_map_root(id: u64, claimed: Option<Hash32>, after: &MapVersion) -> Result<(), StepError> {
    match claimed {
        Some(m) if m != after.root() => Err(StepError::Inconsistent(
            id,
            format!(
                "batch {id}'s head v2 commits ticket map root {m}, but replaying the log's records gives {}: \
                 the map does not follow from the records (PROTOCOL.md §15.2), so its proofs can hide records",
                after.root()
            ),
        )),
        _ => Ok(()),
    }
}

/// The map after the batches already checked (`0..state.next_batch`),
/// replayed from their records, each head v2's map root checked again.
async fn replay_checked(
    opts: &MonitorOptions,
    state: &MonitorState,
) -> Result<MapVersion, StepError> {
    let mut map = MapVersion::new();
    if state.next_batch == 0 {
        return Ok(map);
    }
    let latest = opts.chain.block_number().await?;
    let events = anchor_events_between(&opts.chain, opts.chain.from_block, latest).await?;
    for id in 0..state.next_batch {
        let ev = events.get(&id).ok_or_else(|| {
            StepError::Transient(anyhow::anyhow!(
                "no BatchAnchored event for batch {id}, which this monitor checked before"
            ))
        })?;
        let claim = opts.log.batch(id).await?;
        let (root, after) = replay_batch(opts, ev, &map).await?;
        if root != claim.root {
            return Err(StepError::Inconsistent(
                id,
                format!(
                    "the records the log serves for batch {id} rebuild root {root}, not its root {}",
                    claim.root
                ),
            ));
        }
        check_map_root(id, claim.map_root, &after)?;
        map = after;
    }
    Ok(map)
}

/// One pass: checks every batch on chain not yet checked, from the
/// events of the blocks since the last one checked.
async fn catch_up(
    opts: &MonitorOptions,
    state: &mut MonitorState,
    map: &mut Option<MapVersion>,
    metrics: &Mutex<MonitorMetrics>,
) -> Result<(), StepError> {
    if opts.replay_map && map.is_none() {
        *map = Some(replay_checked(opts, state).await?);
    }
    let latest = opts.chain.block_number().await?;
    let count = opts.chain.batch_count().await?;
    metrics.lock().unwrap().chain_batches = count;
    if count < state.next_batch {
        return Err(StepError::Inconsistent(
            count,
            format!(
                "batchCount() is {count}, below the {} batches already verified: the chain's history was rewritten (reorg or another contract)",
                state.next_batch
            ),
        ));
    }
    // The head of the last checked batch must not have changed.
    if let (Some(last), Some(prev)) = (state.last_head, state.next_batch.checked_sub(1)) {
        let now = opts.chain.batch_head(prev).await?;
        if now != last {
            return Err(StepError::Inconsistent(
                prev,
                format!("batchHead({prev}) was {last} when verified and is now {now}"),
            ));
        }
    }
    if count > state.next_batch {
        let from = state.last_block.unwrap_or(opts.chain.from_block);
        let events = anchor_events_between(&opts.chain, from, latest).await?;
        for id in state.next_batch..count {
            let Some(ev) = events.get(&id) else {
                // batchCount() may have been read after `latest`.
                break;
            };
            let (next_index, head) = check_batch(opts, state, ev, map.as_mut()).await?;
            state.next_batch = id + 1;
            state.next_index = next_index;
            state.last_head = Some(head);
            state.last_block = Some(ev.block);
            save_state(opts, state)?;
            {
                let mut m = metrics.lock().unwrap();
                m.checked_total += 1;
                m.verified = state.next_batch;
            }
            if opts.verbose {
                eprintln!(
                    "monitor: batch {id} ✓ (log indices {}..={})",
                    ev.first_index,
                    next_index - 1
                );
            }
        }
        if state.next_batch < count && !events.contains_key(&state.next_batch) {
            return Err(StepError::Inconsistent(
                state.next_batch,
                format!(
                    "batchCount() is {count}, but no BatchAnchored event was found for batch {} in blocks {from}..={latest}: the RPC's logs are incomplete, or --from-block is after the deployment",
                    state.next_batch
                ),
            ));
        }
    }
    // With no new batch in between, the chain's leaf counter must be where
    // the checked batches end.
    let next_index = opts.chain.next_index().await?;
    if opts.chain.batch_count().await? == state.next_batch && next_index != state.next_index {
        return Err(StepError::Inconsistent(
            state.next_batch.saturating_sub(1),
            format!(
                "nextIndex() on chain is {next_index}, but the {} batches end at index {}",
                state.next_batch, state.next_index
            ),
        ));
    }
    let mut m = metrics.lock().unwrap();
    m.last_check_unix = now_unix();
    Ok(())
}

/// Serves `/metrics` on `addr` until the process ends.
async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<Mutex<MonitorMetrics>>,
) -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        crate::metrics::CONTENT_TYPE,
                    )],
                    m.lock().unwrap().render(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "monitor: metrics on http://{}/metrics",
        listener.local_addr()?
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(())
}

/// Runs the monitor: one pass, or forever with `follow`.
pub async fn run(opts: MonitorOptions) -> anyhow::Result<Stop> {
    let chain_id = opts.chain.chain_id().await?;
    let contract = format!("{:#x}", opts.chain.contract);
    let mut state = match load_state(&opts)? {
        Some(s) => {
            if s.contract != contract || s.chain_id != chain_id {
                anyhow::bail!(
                    "the state file is for contract {} on chain {}, not {contract} on chain {chain_id}; use another --state file",
                    s.contract,
                    s.chain_id
                );
            }
            s
        }
        None => MonitorState {
            contract,
            chain_id,
            ..MonitorState::default()
        },
    };
    let metrics = Arc::new(Mutex::new(MonitorMetrics {
        verified: state.next_batch,
        ..MonitorMetrics::default()
    }));
    if let (true, Some(addr)) = (opts.follow, opts.metrics_listen) {
        serve_metrics(addr, metrics.clone()).await?;
    }
    // The batch the log keeps failing on, and since when.
    let mut stuck: Option<(u64, std::time::Instant)> = None;
    // The ticket map, replayed once the first pass starts (with a key).
    let mut map: Option<MapVersion> = None;
    loop {
        match catch_up(&opts, &mut state, &mut map, &metrics).await {
            Ok(()) => {
                stuck = None;
                if !opts.follow {
                    return Ok(Stop::CaughtUp(state));
                }
            }
            Err(StepError::Inconsistent(batch, detail)) => {
                let mut m = metrics.lock().unwrap();
                m.inconsistent = true;
                m.last_failure_unix = now_unix();
                m.last_failure = format!("batch {batch}: {detail}");
                return Ok(Stop::Inconsistent { batch, detail });
            }
            Err(StepError::Transient(e)) => {
                if !opts.follow {
                    return Err(e);
                }
                let batch = state.next_batch;
                let since = match stuck {
                    Some((b, t)) if b == batch => t,
                    _ => std::time::Instant::now(),
                };
                stuck = Some((batch, since));
                eprintln!("monitor: {e:#} (retrying)");
                let mut m = metrics.lock().unwrap();
                m.errors_total += 1;
                m.last_failure_unix = now_unix();
                m.last_failure = format!("{e:#}");
                if since.elapsed() >= opts.give_up_after {
                    m.unverifiable = true;
                    let detail = format!(
                        "the log has failed to serve batch {batch} for {} s (longer than --give-up-after); last error: {e:#}",
                        since.elapsed().as_secs()
                    );
                    return Ok(Stop::Unverifiable { batch, detail });
                }
            }
        }
        tokio::time::sleep(opts.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_lag_and_the_last_failure() {
        let m = MonitorMetrics {
            checked_total: 3,
            verified: 7,
            chain_batches: 10,
            last_failure: "RPC \"down\"\nagain".into(),
            last_failure_unix: 5.0,
            ..MonitorMetrics::default()
        };
        let text = m.render();
        assert!(text.contains("proofdesk_monitor_lag_batches 3\n"), "{text}");
        assert!(text.contains("proofdesk_monitor_batches_checked_total 3\n"));
        assert!(text.contains("proofdesk_monitor_inconsistent 0\n"));
        assert!(
            text.contains("proofdesk_monitor_last_failure_info{reason=\"RPC  down  again\"} 1"),
            "{text}"
        );
    }
}
