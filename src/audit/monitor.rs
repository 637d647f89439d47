//! `proofdesk monitor`: like a Certificate Transparency monitor (or
//! Tessera's fsck), re-checks every batch the *chain* says is anchored.
//!
//! For batch ids 0 .. `batchCount()` (read from the contract, never from
//! the log), it checks that the batch follows on from the previous one
//! (first_index = previous end, count ≥ 1), that the leaf hashes the log
//! serves rebuild a root whose head equals `batchHead(id)` on chain, and,
//! when asked, that the contract's BatchAnchored event carries the same
//! range and root. The log's status fields (sealed, final, tx, block) are
//! never read. Its place is kept in a small JSON state file written
//! atomically; `--follow` keeps watching; the first inconsistency ends it
//! with exit code 1 and the batch named.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::anchors::{AnchorEvent, anchor_events};
use super::http::LogClient;
use crate::anchor::Chain;
use crate::protocol::Hash32;
use crate::protocol::hashing::batch_head;
use crate::protocol::tree;

/// The monitor's place: every batch below `next_batch` has been checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    pub contract: String,
    pub chain_id: u64,
    pub next_batch: u64,
    pub next_index: u64,
    /// Head of the last checked batch, to notice a rewritten history.
    pub last_head: Option<Hash32>,
}

pub struct MonitorOptions {
    pub log: LogClient,
    pub chain: Chain,
    pub state_file: Option<PathBuf>,
    pub follow: bool,
    pub interval: Duration,
    pub metrics_listen: Option<SocketAddr>,
    /// Also compare each batch with the contract's BatchAnchored event.
    pub check_events: bool,
    /// Print one line per checked batch.
    pub verbose: bool,
}

/// Why the monitor stopped.
#[derive(Debug)]
pub enum Stop {
    /// Not following, and every batch on chain checked out.
    CaughtUp(MonitorState),
    /// A batch does not check: the log or the chain disagrees.
    Inconsistent { batch: u64, detail: String },
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
}

impl MonitorMetrics {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut g = |name: &str, help: &str, kind: &str, v: f64| {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        };
        g(
            "proofdesk_monitor_batches_checked_total",
            "Batches checked by this process",
            "counter",
            self.checked_total as f64,
        );
        g(
            "proofdesk_monitor_batches_verified",
            "Batches verified so far (the state file's place)",
            "gauge",
            self.verified as f64,
        );
        g(
            "proofdesk_monitor_chain_batches",
            "batchCount() on chain at the last check",
            "gauge",
            self.chain_batches as f64,
        );
        g(
            "proofdesk_monitor_lag_batches",
            "Batches anchored on chain but not yet verified",
            "gauge",
            self.chain_batches.saturating_sub(self.verified) as f64,
        );
        g(
            "proofdesk_monitor_errors_total",
            "Transient errors (log or RPC unreachable), retried",
            "counter",
            self.errors_total as f64,
        );
        g(
            "proofdesk_monitor_last_check_timestamp_seconds",
            "When the monitor last caught up with the chain",
            "gauge",
            self.last_check_unix,
        );
        g(
            "proofdesk_monitor_last_failure_timestamp_seconds",
            "When the last failure happened (0: none)",
            "gauge",
            self.last_failure_unix,
        );
        g(
            "proofdesk_monitor_inconsistent",
            "1 once a batch failed its check",
            "gauge",
            if self.inconsistent { 1.0 } else { 0.0 },
        );
        if !self.last_failure.is_empty() {
            let reason: String = self
                .last_failure
                .chars()
                .take(200)
                .map(|c| {
                    if c == '"' || c == '\\' || c == '\n' {
                        ' '
                    } else {
                        c
                    }
                })
                .collect();
            s.push_str(&format!(
                "# HELP proofdesk_monitor_last_failure_info The last failure\n# TYPE proofdesk_monitor_last_failure_info gauge\nproofdesk_monitor_last_failure_info{{reason=\"{reason}\"}} 1\n"
            ));
        }
        s
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

/// Checks one batch the chain has anchored.
async fn check_batch(
    opts: &MonitorOptions,
    state: &MonitorState,
    id: u64,
    events: Option<&AnchorEvent>,
) -> Result<(u64, Hash32), StepError> {
    let on_chain = opts.chain.batch_head(id).await?;
    if on_chain == Hash32::ZERO {
        return Err(StepError::Inconsistent(
            id,
            format!("batchCount() says batch {id} is anchored, but batchHead({id}) is zero"),
        ));
    }
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
    if claim.id != id {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "asked the log for batch {id}, it answered batch {}",
                claim.id
            ),
        ));
    }
    if claim.count == 0 {
        return Err(StepError::Inconsistent(
            id,
            format!("batch {id} has count 0"),
        ));
    }
    if claim.first_index != state.next_index {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "batch {id} starts at index {} but the previous batch ended at {} (not contiguous)",
                claim.first_index, state.next_index
            ),
        ));
    }
    let leaves = match opts.log.leaves(id, claim.count).await {
        Ok(l) => l,
        Err(e) if e.to_string().contains("HTTP 5") || e.to_string().contains("HTTP 404") => {
            return Err(StepError::Inconsistent(
                id,
                format!("the log cannot serve the leaves of batch {id}: {e}"),
            ));
        }
        Err(e) => return Err(StepError::Transient(e)),
    };
    if leaves.len() as u64 != claim.count {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "batch {id} claims {} leaves, the log served {}",
                claim.count,
                leaves.len()
            ),
        ));
    }
    let root = tree::root(&leaves).map_err(|e| StepError::Inconsistent(id, e.to_string()))?;
    let head = batch_head(id, claim.first_index, claim.count, &root);
    if head != on_chain {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "the {} leaves the log serves for batch {id} (indices {}..={}) rebuild root {root} and head {head}, but batchHead({id}) on chain is {on_chain}",
                claim.count,
                claim.first_index,
                claim.first_index + claim.count - 1
            ),
        ));
    }
    if claim.root != root {
        return Err(StepError::Inconsistent(
            id,
            format!(
                "batch {id}: the log's stated root {} is not the root {root} of its own leaves",
                claim.root
            ),
        ));
    }
    if let Some(ev) = events {
        if (ev.first_index, ev.count, ev.root) != (claim.first_index, claim.count, root) {
            return Err(StepError::Inconsistent(
                id,
                format!(
                    "the contract's BatchAnchored event for batch {id} says first_index {}, count {}, root {}; the leaves say {}, {}, {root}",
                    ev.first_index, ev.count, ev.root, claim.first_index, claim.count
                ),
            ));
        }
    } else if opts.check_events {
        return Err(StepError::Inconsistent(
            id,
            format!("no BatchAnchored event found on chain for batch {id}"),
        ));
    }
    Ok((claim.first_index + claim.count, head))
}

/// One pass: checks every batch on chain not yet checked.
async fn catch_up(
    opts: &MonitorOptions,
    state: &mut MonitorState,
    metrics: &Mutex<MonitorMetrics>,
) -> Result<(), StepError> {
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
    let events = if opts.check_events && count > state.next_batch {
        Some(anchor_events(&opts.chain, opts.chain.from_block).await?)
    } else {
        None
    };
    for id in state.next_batch..count {
        let ev = events.as_ref().and_then(|e| e.get(&id));
        let (next_index, head) = check_batch(opts, state, id, ev).await?;
        state.next_batch = id + 1;
        state.next_index = next_index;
        state.last_head = Some(head);
        save_state(opts, state)?;
        {
            let mut m = metrics.lock().unwrap();
            m.checked_total += 1;
            m.verified = state.next_batch;
        }
        if opts.verbose {
            eprintln!("monitor: batch {id} ✓ (log indices up to {next_index})");
        }
    }
    // With no new batch in between, the chain's leaf counter must be where
    // the checked batches end.
    let next_index = opts.chain.next_index().await?;
    if opts.chain.batch_count().await? == count && next_index != state.next_index {
        return Err(StepError::Inconsistent(
            count.saturating_sub(1),
            format!(
                "nextIndex() on chain is {next_index}, but the {count} batches end at index {}",
                state.next_index
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
                        "text/plain; version=0.0.4",
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
    loop {
        match catch_up(&opts, &mut state, &metrics).await {
            Ok(()) => {
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
                eprintln!("monitor: {e:#} (retrying)");
                let mut m = metrics.lock().unwrap();
                m.errors_total += 1;
                m.last_failure_unix = now_unix();
                m.last_failure = format!("{e:#}");
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
