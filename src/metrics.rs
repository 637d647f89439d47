//! Process metrics through prometheus-client: each process (the server, the
//! monitor, the mirror) keeps one `Registry` and serves it as OpenMetrics
//! text (`encode`, `CONTENT_TYPE`), which Prometheus reads.
//!
//! The server's: what this process did (counters), whether it leads and how
//! its anchoring fares (gauges), the log's state read from the store at each
//! scrape (`StoreGauges`), and how long records wait to be final on chain
//! (`append_to_final`, a histogram).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::log::integration_records::{Delivery, Vendor};

/// The OpenMetrics text format `encode` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A registry as OpenMetrics text.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = text::encode(&mut out, registry);
    out
}

/// A gauge of non-integer values (timestamps, ages).
pub type FloatGauge = Gauge<f64, AtomicU64>;

/// A registry filled when scraped, from figures a process keeps in its own
/// state (the monitor's and the mirror's), encoded like the server's.
pub struct Snapshot {
    registry: Registry,
}

impl Default for Snapshot {
    fn default() -> Snapshot {
        Snapshot {
            registry: Registry::with_prefix("proofdesk"),
        }
    }
}

impl Snapshot {
    /// A count (written as an integer).
    pub fn gauge(&mut self, name: &str, help: &str, value: u64) -> &mut Snapshot {
        let g: Gauge = Gauge::default();
        g.set(i64::try_from(value).unwrap_or(i64::MAX));
        self.registry.register(name, help, g);
        self
    }

    /// A time, Unix seconds with a fraction.
    pub fn timestamp(&mut self, name: &str, help: &str, unix_seconds: f64) -> &mut Snapshot {
        let g = FloatGauge::default();
        g.set(unix_seconds);
        self.registry.register(name, help, g);
        self
    }

    /// `name` gets `_total`.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) -> &mut Snapshot {
        let c: Counter = Counter::default();
        c.inc_by(value);
        self.registry.register(name, help, c);
        self
    }

    /// A counter per value of one label (`name` gets `_total`).
    pub fn counters_by(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &[(&str, u64)],
    ) -> &mut Snapshot {
        let family = Family::<Vec<(String, String)>, Counter>::default();
        for (v, n) in values {
            family
                .get_or_create(&vec![(label.to_owned(), (*v).to_owned())])
                .inc_by(*n);
        }
        self.registry.register(name, help, family);
        self
    }

    /// An info-style gauge: 1 for the one value of `label` (quotes,
    /// backslashes and line breaks become spaces, at most 200 characters).
    pub fn labelled(&mut self, name: &str, help: &str, label: &str, value: &str) -> &mut Snapshot {
        let clean: String = value
            .chars()
            .take(200)
            .map(|c| {
                if matches!(c, '"' | '\\' | '\n') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let family = Family::<Vec<(String, String)>, Gauge>::default();
        family
            .get_or_create(&vec![(label.to_owned(), clean)])
            .set(1);
        self.registry.register(name, help, family);
        self
    }

    pub fn encode(&self) -> String {
        encode(&self.registry)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub vendor: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UnmappedLabels {
    pub vendor: String,
    pub reason: String,
}

/// The log's state, read from the store when /metrics is scraped.
#[derive(Default)]
pub struct StoreGauges {
    pub log_size: Gauge,
    pub log_sealed: Gauge,
    pub batch_lag_ms: Gauge,
    pub batches: Gauge,
    pub batches_anchored: Gauge,
    pub batches_final: Gauge,
    pub batches_waiting: Gauge,
}

pub struct Metrics {
    registry: Registry,
    pub events_ingested: Counter,
    pub ingest_requests_rejected: Counter,
    pub batches_sealed: Counter,
    pub anchor_submissions: Counter,
    pub anchor_fee_bumps: Counter,
    pub anchor_reverts: Counter,
    pub anchor_reorgs: Counter,
    pub anchor_rpc_errors: Counter,
    pub anchor_final: Counter,
    /// Per batch made final: seconds from its oldest record's append (the
    /// longest any record in it waited) to final. Compare with the maximum
    /// merge delay every receipt promises.
    pub append_to_final: Histogram,
    /// Per batch made final: seconds from sealing to final, the chain's
    /// share of the wait (anchoring, inclusion, confirmations).
    pub seal_to_final: Histogram,
    /// 1 while this process holds leadership (seals and anchors).
    pub leader: Gauge,
    /// Anchor steps failed in a row (0 once the chain answers again): a
    /// chain outage shows here while it lasts.
    pub anchor_failing_steps: Gauge,
    /// Conditional bundle reads answered 304 (Not Modified).
    pub bundles_not_modified: Counter,
    /// Of those, the ones answered without reading the database: the
    /// ticket's mark had not moved (`log::ticket_changes`, SQLite).
    pub bundles_not_modified_unread: Counter,
    /// Help-desk webhook deliveries by vendor and outcome.
    pub webhook_deliveries: Family<DeliveryLabels, Counter>,
    /// What deliveries held that maps to no event, by vendor and reason.
    pub webhook_unmapped: Family<UnmappedLabels, Counter>,
    pub store: StoreGauges,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("proofdesk"),
            events_ingested: Counter::default(),
            ingest_requests_rejected: Counter::default(),
            batches_sealed: Counter::default(),
            anchor_submissions: Counter::default(),
            anchor_fee_bumps: Counter::default(),
            anchor_reverts: Counter::default(),
            anchor_reorgs: Counter::default(),
            anchor_rpc_errors: Counter::default(),
            anchor_final: Counter::default(),
            // 1 s to about 4.5 hours, doubling: a local chain is final in
            // seconds, a public one in minutes, a stalled one in hours.
            append_to_final: Histogram::new(exponential_buckets(1.0, 2.0, 15)),
            seal_to_final: Histogram::new(exponential_buckets(1.0, 2.0, 15)),
            leader: Gauge::default(),
            anchor_failing_steps: Gauge::default(),
            bundles_not_modified: Counter::default(),
            bundles_not_modified_unread: Counter::default(),
            webhook_deliveries: Family::default(),
            webhook_unmapped: Family::default(),
            store: StoreGauges::default(),
        };
        m.register();
        // Every vendor × outcome and vendor × reason from the start, so a
        // rate over them has a zero to start from.
        for vendor in Vendor::ALL {
            for outcome in crate::log::integration_records::Outcome::ALL {
                let _ = m.webhook_deliveries.get_or_create(&DeliveryLabels {
                    vendor: vendor.to_string(),
                    outcome: outcome.as_str().into(),
                });
            }
            for reason in crate::log::integration_records::UnmappedReason::ALL {
                let _ = m.webhook_unmapped.get_or_create(&UnmappedLabels {
                    vendor: vendor.to_string(),
                    reason: reason.as_str().into(),
                });
            }
        }
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        let counters = [
            (
                "events_ingested",
                "Events appended to the log",
                &self.events_ingested,
            ),
            (
                "ingest_rejected",
                "Write requests rejected",
                &self.ingest_requests_rejected,
            ),
            (
                "batches_sealed",
                "Batches sealed by this process",
                &self.batches_sealed,
            ),
            (
                "anchor_submissions",
                "Anchor transactions sent",
                &self.anchor_submissions,
            ),
            (
                "anchor_fee_bumps",
                "Anchor transactions re-sent with higher fees",
                &self.anchor_fee_bumps,
            ),
            (
                "anchor_reverts",
                "Anchor calls the contract reverted",
                &self.anchor_reverts,
            ),
            (
                "anchor_reorgs",
                "Anchors undone by a reorg",
                &self.anchor_reorgs,
            ),
            (
                "anchor_rpc_errors",
                "Failed or timed-out chain calls",
                &self.anchor_rpc_errors,
            ),
            (
                "anchor_final",
                "Batches that reached final",
                &self.anchor_final,
            ),
            (
                "bundles_not_modified",
                "Conditional proof bundle reads answered 304 (Not Modified)",
                &self.bundles_not_modified,
            ),
            (
                "bundles_not_modified_unread",
                "Of the 304s, those answered without a database read: the ticket's mark had not moved \
                 (SQLite, where this process is the only writer)",
                &self.bundles_not_modified_unread,
            ),
        ];
        for (name, help, c) in counters {
            r.register(name, help, c.clone());
        }
        r.register(
            "append_to_final_seconds",
            "Per batch made final, seconds from its oldest record's append to final: the longest any \
             of its records waited (compare with the maximum merge delay)",
            self.append_to_final.clone(),
        );
        r.register(
            "seal_to_final_seconds",
            "Per batch made final, seconds from sealing to final: the chain's share of the wait",
            self.seal_to_final.clone(),
        );
        r.register(
            "leader",
            "1 if this process seals and anchors",
            self.leader.clone(),
        );
        r.register(
            "anchor_failing_steps",
            "Anchor steps failed in a row (0 when the chain answers)",
            self.anchor_failing_steps.clone(),
        );
        r.register(
            "webhook_deliveries",
            "Help-desk webhook deliveries by vendor and outcome",
            self.webhook_deliveries.clone(),
        );
        r.register(
            "webhook_unmapped",
            "What webhook deliveries held that maps to no event, by vendor and reason (the delivery \
             ledger says what)",
            self.webhook_unmapped.clone(),
        );
        let s = &self.store;
        let gauges = [
            ("log_size", "Events in the log", &s.log_size),
            ("log_sealed", "Events sealed into batches", &s.log_sealed),
            (
                "batch_lag_ms",
                "Age of the oldest unsealed event (ms)",
                &s.batch_lag_ms,
            ),
            ("batches", "Batches sealed", &s.batches),
            (
                "batches_anchored",
                "Batches included or final on chain",
                &s.batches_anchored,
            ),
            ("batches_final", "Batches final on chain", &s.batches_final),
            (
                "batches_waiting",
                "Batches sealed but not yet included",
                &s.batches_waiting,
            ),
        ];
        for (name, help, g) in gauges {
            r.register(name, help, g.clone());
        }
    }

    /// Counts a webhook delivery's outcome and everything in it that did
    /// not map.
    pub fn webhook(&self, vendor: Vendor, d: &Delivery) {
        self.webhook_deliveries
            .get_or_create(&DeliveryLabels {
                vendor: vendor.to_string(),
                outcome: d.outcome.as_str().into(),
            })
            .inc();
        for u in &d.unmapped {
            self.webhook_unmapped
                .get_or_create(&UnmappedLabels {
                    vendor: vendor.to_string(),
                    reason: u.reason.as_str().into(),
                })
                .inc();
        }
    }

    /// The registry as OpenMetrics text (set `store` first).
    pub fn render(&self) -> String {
        encode(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names Prometheus sees: counters end in _total, the histogram
    /// has buckets, a sum and a count, and the text ends with # EOF.
    #[test]
    fn counters_gauges_and_the_histogram_render_as_openmetrics() {
        let m = Metrics::new();
        m.events_ingested.inc_by(3);
        m.leader.set(1);
        m.store.log_size.set(42);
        m.append_to_final.observe(3.5);
        m.append_to_final.observe(100.0);
        let text = m.render();
        for line in [
            "proofdesk_events_ingested_total 3",
            "proofdesk_leader 1",
            "proofdesk_log_size 42",
            "proofdesk_append_to_final_seconds_count 2",
            "proofdesk_append_to_final_seconds_sum 103.5",
            "proofdesk_append_to_final_seconds_bucket{le=\"4.0\"} 1",
            "proofdesk_append_to_final_seconds_bucket{le=\"128.0\"} 2",
            "proofdesk_webhook_deliveries_total{vendor=\"zammad\",outcome=\"recorded\"} 0",
            "# TYPE proofdesk_append_to_final_seconds histogram",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
