//! Process metrics in Prometheus text format. A handful of atomics is all
//! the service needs; no registry crate.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub events_ingested: AtomicU64,
    pub ingest_requests_rejected: AtomicU64,
    pub batches_sealed: AtomicU64,
    pub anchor_submissions: AtomicU64,
    pub anchor_fee_bumps: AtomicU64,
    pub anchor_reverts: AtomicU64,
    pub anchor_reorgs: AtomicU64,
    pub anchor_rpc_errors: AtomicU64,
    pub anchor_final: AtomicU64,
    /// Sum and count of append-to-final times, in milliseconds.
    pub time_to_final_ms_sum: AtomicU64,
    pub time_to_final_count: AtomicU64,
    /// 1 while this process holds leadership (seals and anchors).
    pub leader: AtomicU64,
    /// Anchor steps failed in a row (0 once the chain answers again): a
    /// chain outage shows here while it lasts.
    pub anchor_failing_steps: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Renders counters plus gauges the caller read from the store.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &AtomicU64); 11] = [
            (
                "proofdesk_events_ingested_total",
                "Events appended to the log",
                &self.events_ingested,
            ),
            (
                "proofdesk_ingest_rejected_total",
                "Write requests rejected",
                &self.ingest_requests_rejected,
            ),
            (
                "proofdesk_batches_sealed_total",
                "Batches sealed by this process",
                &self.batches_sealed,
            ),
            (
                "proofdesk_anchor_submissions_total",
                "Anchor transactions sent",
                &self.anchor_submissions,
            ),
            (
                "proofdesk_anchor_fee_bumps_total",
                "Anchor transactions re-sent with higher fees",
                &self.anchor_fee_bumps,
            ),
            (
                "proofdesk_anchor_reverts_total",
                "Anchor calls the contract reverted",
                &self.anchor_reverts,
            ),
            (
                "proofdesk_anchor_reorgs_total",
                "Anchors undone by a reorg",
                &self.anchor_reorgs,
            ),
            (
                "proofdesk_anchor_rpc_errors_total",
                "Failed or timed-out chain calls",
                &self.anchor_rpc_errors,
            ),
            (
                "proofdesk_anchor_final_total",
                "Batches that reached final",
                &self.anchor_final,
            ),
            (
                "proofdesk_time_to_final_ms_sum",
                "Sum of seal-to-final times (ms)",
                &self.time_to_final_ms_sum,
            ),
            (
                "proofdesk_time_to_final_count",
                "Batches counted in the sum",
                &self.time_to_final_count,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let failing = self.anchor_failing_steps.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP proofdesk_anchor_failing_steps Anchor steps failed in a row (0 when the chain answers)\n# TYPE proofdesk_anchor_failing_steps gauge\nproofdesk_anchor_failing_steps {failing}"
        );
        let leader = self.leader.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP proofdesk_leader 1 if this process seals and anchors\n# TYPE proofdesk_leader gauge\nproofdesk_leader {leader}"
        );
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
