//! `proofdesk mirror`: a live, verified copy of a log in a database of the
//! mirror's own, as Certificate Transparency lives with many independent
//! monitors and mirrors.
//!
//! Each pass reads the chain (through the mirror's own RPC), streams the
//! log's export (audit scope) for every index the chain anchored beyond
//! the copy, and imports batch by batch what verifies (`importer`). Then it
//! compares the bundles the log serves for the tickets it just copied, and
//! a few older ones, with its own copy, byte for byte, and checks that the
//! log is not sitting on records older than the maximum merge delay. Any
//! of these is an alert: a metric, an evidence file with both versions,
//! and exit code 1 in one-shot mode. Nothing that did not verify is ever
//! written, so what the mirror serves is always the anchored log.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rand::seq::IteratorRandom;
use serde::Serialize;

use super::importer::{Fed, Importer};
use crate::anchor::Chain;
use crate::audit::check::Failure;
use crate::audit::http::LogClient;
use crate::audit::lines::LineSplitter;
use crate::audit::run::ExportLimits;
use crate::log::DynStore;
use crate::metrics::Snapshot;
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::state::Policy;

/// Bundles compared at once (`Pass::compare`).
const COMPARE_IN_FLIGHT: usize = 8;

pub struct MirrorOptions {
    /// The log, with an `audit`-scope key for its export.
    pub log: LogClient,
    pub store: DynStore,
    pub chain: Chain,
    pub policy: Policy,
    pub follow: bool,
    pub interval: Duration,
    /// The maximum merge delay the mirror holds the log to (ms), for the
    /// stall alert; none: no stall alert.
    pub max_merge_delay_ms: Option<u64>,
    /// Where evidence files go.
    pub evidence_dir: PathBuf,
    pub limits: ExportLimits,
    /// Older tickets whose bundles are compared each pass, besides the
    /// ones just copied.
    pub spot_checks: usize,
    /// The ticket map the mirror's own API serves bundles from, when it
    /// serves them: the importer continues it rather than rebuilding one.
    pub map: Option<Arc<crate::seal::MapState>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The log served something that does not verify against the chain.
    Unverified,
    /// The log serves a record other than the one the mirror copied.
    Rewritten,
    /// The log holds records older than the maximum merge delay that the
    /// chain has not anchored.
    Stalled,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub detail: String,
    /// The evidence file, with both versions where there are two.
    pub evidence: Option<PathBuf>,
}

/// What `/metrics` shows.
#[derive(Debug, Default, Clone)]
pub struct MirrorMetrics {
    pub mirrored_end: u64,
    pub chain_end: u64,
    pub log_size: u64,
    pub batches_imported_total: u64,
    pub unverified_total: u64,
    pub rewritten_total: u64,
    pub stalled_total: u64,
    pub last_pass_unix: f64,
}

impl MirrorMetrics {
    pub fn render(&self) -> String {
        let mut m = Snapshot::default();
        m.gauge(
            "mirror_lag_records",
            "Records the chain has anchored that the mirror has not copied yet",
            self.chain_end.saturating_sub(self.mirrored_end),
        )
        .gauge(
            "mirror_records",
            "Records copied and verified (the end of the copy)",
            self.mirrored_end,
        )
        .gauge(
            "mirror_chain_records",
            "nextIndex() on chain at the last pass",
            self.chain_end,
        )
        .gauge(
            "mirror_log_records",
            "The log's own claimed size at the last pass",
            self.log_size,
        )
        .counter(
            "mirror_batches_imported",
            "Batches copied by this process",
            self.batches_imported_total,
        )
        .counters_by(
            "mirror_alerts",
            "Alerts raised, by reason (the evidence directory holds each)",
            "reason",
            &[
                ("unverified", self.unverified_total),
                ("rewritten", self.rewritten_total),
                ("stalled", self.stalled_total),
            ],
        )
        .timestamp(
            "mirror_last_pass_timestamp_seconds",
            "When the last pass ended",
            self.last_pass_unix,
        );
        m.encode()
    }
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Why a one-shot run ended.
#[derive(Debug)]
pub enum MirrorStop {
    CaughtUp { end: u64 },
    Alerted(Vec<Alert>),
}

struct Pass<'a> {
    opts: &'a MirrorOptions,
    metrics: &'a Mutex<MirrorMetrics>,
    alerts: Vec<Alert>,
}

impl Pass<'_> {
    fn evidence(&mut self, kind: AlertKind, detail: String, body: serde_json::Value) {
        let name = format!(
            "{}-{}.json",
            serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            Timestamp::now().millis()
        );
        let path = self.opts.evidence_dir.join(name);
        let written = std::fs::create_dir_all(&self.opts.evidence_dir)
            .and_then(|()| {
                std::fs::write(
                    &path,
                    serde_json::to_vec_pretty(&serde_json::json!({
                        "kind": kind, "detail": detail, "evidence": body,
                        "at": Timestamp::now().to_string(),
                    }))
                    .unwrap_or_default(),
                )
            })
            .is_ok();
        eprintln!("mirror: ALERT {kind:?}: {detail}");
        {
            let mut m = self.metrics.lock().unwrap();
            match kind {
                AlertKind::Unverified => m.unverified_total += 1,
                AlertKind::Rewritten => m.rewritten_total += 1,
                AlertKind::Stalled => m.stalled_total += 1,
            }
        }
        self.alerts.push(Alert {
            kind,
            detail,
            evidence: written.then_some(path),
        });
    }

    /// Copies what the chain anchored beyond the copy. Returns the
    /// tickets copied.
    async fn copy(&mut self, imp: &mut Importer) -> anyhow::Result<BTreeSet<String>> {
        if imp.done() {
            return Ok(BTreeSet::new());
        }
        let query = format!("from={}&to={}", imp.next_index(), imp.end());
        let (mut resp, _) = self.opts.log.export(&query).await?;
        let mut split = LineSplitter::new(self.opts.limits.max_line);
        let mut stopped = None;
        'stream: while !imp.done() {
            let chunk = match tokio::time::timeout(self.opts.limits.idle, resp.chunk()).await {
                Err(_) => {
                    stopped = Some(format!(
                        "the log sent nothing for {} s",
                        self.opts.limits.idle.as_secs()
                    ));
                    break;
                }
                Ok(Err(e)) => {
                    stopped = Some(e.to_string());
                    break;
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            split.push(&chunk);
            loop {
                let range = match split.next_line() {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => {
                        stopped = Some(e.to_string());
                        break 'stream;
                    }
                };
                let raw = split.bytes()[range].to_vec();
                match imp.feed(&raw).await? {
                    Fed::Read => {}
                    Fed::Imported { .. } => {
                        self.metrics.lock().unwrap().batches_imported_total += 1;
                    }
                    Fed::Refused { batch, failures } => {
                        self.refused(batch, &failures);
                        return Ok(imp.take_imported_tickets());
                    }
                }
                if imp.done() {
                    break 'stream;
                }
            }
        }
        if !imp.done() {
            match imp.finish().await? {
                Some(Fed::Refused { batch, failures }) => self.refused(batch, &failures),
                _ => {
                    let detail = format!(
                        "the log's export stopped at index {} ({}), but the chain anchors records up to {}",
                        imp.next_index(),
                        stopped.as_deref().unwrap_or("it ended"),
                        imp.end()
                    );
                    self.evidence(
                        AlertKind::Unverified,
                        detail,
                        serde_json::json!({"next_index": imp.next_index(), "chain_end": imp.end()}),
                    );
                }
            }
        }
        Ok(imp.take_imported_tickets())
    }

    fn refused(&mut self, batch: u64, failures: &[Failure]) {
        let detail = format!(
            "batch {batch} as the log serves it does not verify against the chain ({} failures; first: {})",
            failures.len(),
            failures.first().map_or(String::new(), |f| f.to_string())
        );
        self.evidence(
            AlertKind::Unverified,
            detail,
            serde_json::json!({"batch": batch, "failures": failures}),
        );
    }

    /// The bundles the log serves for these tickets must hold exactly the
    /// records the mirror copied (and verified) at the same indices.
    async fn compare(&mut self, tickets: &BTreeSet<String>) -> anyhow::Result<()> {
        use futures::StreamExt;
        // A few tickets at a time, answered in order: a catch-up compares
        // every ticket it copied (100,000 at a million records), and one
        // request at a time left the log and the mirror's store idle
        // between answers.
        let opts = self.opts;
        let mut fetched = futures::stream::iter(
            tickets
                .iter()
                .filter_map(|handle| TicketHandle::parse(handle).ok()),
        )
        .map(|h| async move {
            let path = format!("/v1/tickets/{h}/proof");
            let (ours, served) = tokio::join!(
                opts.store.events_by_ticket(&h),
                opts.log.get_json::<serde_json::Value>(&path)
            );
            (h, ours, served)
        })
        .buffered(COMPARE_IN_FLIGHT);
        while let Some((handle, ours, served)) = fetched.next().await {
            let ours = ours?;
            let served = match served {
                Ok(v) => v,
                Err(e) => {
                    // A log that will not serve a copied ticket's
                    // bundle withholds it: the mirror's copy stands.
                    eprintln!("mirror: the log does not serve {handle}'s bundle: {e:#}");
                    continue;
                }
            };
            // The served events by index (the first, as a scan would find
            // it): one lookup per copied record. A scan of the bundle for
            // each was quadratic in a ticket's events, most of a catch-up
            // over tickets of a thousand events.
            let mut served_at = HashMap::new();
            for x in served["events"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let Some(i) = x["record"]["index"].as_u64() {
                    served_at.entry(i).or_insert(x);
                }
            }
            for e in &ours {
                let theirs = served_at.get(&e.index).copied();
                let mirrored: serde_json::Value = serde_json::from_str(&e.record)?;
                let same = theirs.is_some_and(|t| t["record"] == mirrored);
                if !same {
                    let detail = format!(
                        "the log's bundle for {handle} serves {} at index {} (seq {}), not the record the mirror copied and verified against the chain",
                        if theirs.is_some() {
                            "another record"
                        } else {
                            "no record"
                        },
                        e.index,
                        e.seq
                    );
                    self.evidence(
                        AlertKind::Rewritten,
                        detail,
                        serde_json::json!({
                            "ticket": handle, "index": e.index,
                            "mirrored": mirrored,
                            "served": theirs.map(|t| t["record"].clone()),
                        }),
                    );
                    break;
                }
            }
        }
        Ok(())
    }

    /// Records the log holds beyond what the chain anchored must not be
    /// older than the maximum merge delay.
    async fn stall(&mut self, chain_end: u64, log_size: u64) -> anyhow::Result<()> {
        let Some(mmd) = self.opts.max_merge_delay_ms else {
            return Ok(());
        };
        if log_size <= chain_end {
            return Ok(());
        }
        let (resp, _) = self
            .opts
            .log
            .export(&format!("from={chain_end}&to={}", chain_end + 1))
            .await?;
        let text = resp.text().await?;
        let Some(line) = text.lines().next() else {
            return Ok(());
        };
        let v: serde_json::Value = serde_json::from_str(line).context("an export line")?;
        let Some(at) = v["record"]["recorded_at"]
            .as_str()
            .and_then(|s| Timestamp::parse_input("recorded_at", s).ok())
        else {
            return Ok(());
        };
        let waited = Timestamp::now().millis() - at.millis();
        if waited > mmd as i64 {
            let detail = format!(
                "the log holds record {chain_end} (recorded {at}) unanchored for {} s, longer than the maximum merge delay of {} s",
                waited / 1000,
                mmd / 1000
            );
            self.evidence(
                AlertKind::Stalled,
                detail,
                serde_json::json!({"index": chain_end, "recorded_at": at.to_string(), "chain_end": chain_end, "log_size": log_size}),
            );
        }
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct LogSize {
    #[serde(default)]
    log_size: u64,
}

/// Follows the log: one pass, or forever with `follow`.
pub async fn run(
    opts: MirrorOptions,
    metrics: Arc<Mutex<MirrorMetrics>>,
) -> anyhow::Result<MirrorStop> {
    let mut imp = Importer::start(
        opts.store.clone(),
        opts.chain.clone(),
        opts.policy,
        "mirror",
        opts.map.as_deref(),
    )
    .await?;
    loop {
        let mut pass = Pass {
            opts: &opts,
            metrics: &metrics,
            alerts: Vec::new(),
        };
        imp.refresh().await?;
        let copied = pass.copy(&mut imp).await?;
        if !pass.alerts.is_empty() {
            // A batch was refused: start again from what the store holds.
            imp = Importer::start(
                opts.store.clone(),
                opts.chain.clone(),
                opts.policy,
                "mirror",
                opts.map.as_deref(),
            )
            .await?;
        }
        // The tickets just copied, and a few older ones at random.
        let mut check = copied;
        if opts.spot_checks > 0 {
            let all = opts.store.all_tickets().await?;
            check.extend(
                all.iter()
                    .map(|t| t.handle.as_str().to_owned())
                    .choose_multiple(&mut rand::rng(), opts.spot_checks),
            );
        }
        pass.compare(&check).await?;
        let log_size = opts
            .log
            .get_json::<LogSize>("/v1/log")
            .await
            .map(|l| l.log_size)
            .unwrap_or(0);
        let chain_end = imp.view().layout.next_index();
        pass.stall(chain_end, log_size).await?;
        {
            let mut m = metrics.lock().unwrap();
            m.mirrored_end = imp.next_index();
            m.chain_end = chain_end;
            m.log_size = log_size;
            m.last_pass_unix = now_unix();
        }
        let alerts = pass.alerts;
        if !opts.follow {
            return Ok(if alerts.is_empty() {
                MirrorStop::CaughtUp {
                    end: imp.next_index(),
                }
            } else {
                MirrorStop::Alerted(alerts)
            });
        }
        tokio::time::sleep(opts.interval).await;
    }
}

/// The chain must be the one the log says it anchors to.
pub async fn check_identity(
    chain: &Chain,
    claimed: &crate::protocol::bundle::ChainRef,
) -> anyhow::Result<()> {
    let chain_id = chain.chain_id().await?;
    let contract = format!("{:#x}", chain.contract);
    if claimed.chain_id != chain_id || !claimed.contract.eq_ignore_ascii_case(&contract) {
        bail!(
            "the log says it anchors to contract {} on chain {}, but the mirror follows {contract} on chain {chain_id}",
            claimed.contract,
            claimed.chain_id
        );
    }
    Ok(())
}
