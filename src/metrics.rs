//! Process metrics in Prometheus text format. A handful of atomics is all
//! the service needs; no registry crate.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::log::integration_records::{Delivery, Outcome, UnmappedReason, Vendor};

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
    /// Help-desk webhook deliveries by vendor and outcome.
    pub webhook_deliveries: [[AtomicU64; Outcome::ALL.len()]; Vendor::ALL.len()],
    /// What deliveries held that maps to no event, by vendor and reason.
    pub webhook_unmapped: [[AtomicU64; UnmappedReason::ALL.len()]; Vendor::ALL.len()],
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a webhook delivery's outcome and everything in it that did
    /// not map.
    pub fn webhook(&self, vendor: Vendor, d: &Delivery) {
        let v = vendor.index();
        if let Some(o) = Outcome::ALL.iter().position(|o| *o == d.outcome) {
            Metrics::inc(&self.webhook_deliveries[v][o]);
        }
        for u in &d.unmapped {
            Metrics::inc(&self.webhook_unmapped[v][u.reason.index()]);
        }
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
        let _ = writeln!(
            out,
            "# HELP proofdesk_webhook_deliveries_total Help-desk webhook deliveries by vendor and outcome\n# TYPE proofdesk_webhook_deliveries_total counter"
        );
        for vendor in Vendor::ALL {
            for (o, outcome) in Outcome::ALL.iter().enumerate() {
                let n = self.webhook_deliveries[vendor.index()][o].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "proofdesk_webhook_deliveries_total{{vendor=\"{vendor}\",outcome=\"{}\"}} {n}",
                    outcome.as_str()
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP proofdesk_webhook_unmapped_total What webhook deliveries held that maps to no event, by vendor and reason (the delivery ledger says what)\n# TYPE proofdesk_webhook_unmapped_total counter"
        );
        for vendor in Vendor::ALL {
            for reason in UnmappedReason::ALL {
                let n =
                    self.webhook_unmapped[vendor.index()][reason.index()].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "proofdesk_webhook_unmapped_total{{vendor=\"{vendor}\",reason=\"{}\"}} {n}",
                    reason.as_str()
                );
            }
        }
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
