//! `proofdesk report`: reads a saved audit and assembles the report: the
//! KPIs over the records that verified (failed ones are listed, never
//! counted). It is written as JSON, as CSV (`csv.rs`) and as one
//! self-contained HTML page (`html.rs` and the template `report.html`).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::bail;
use serde::Serialize;

use super::check::{Failure, Flagged, Line, failed_ranges, in_ranges};
use super::kpi::{
    DEFAULT_BACKDATE_TOLERANCE_MS, KpiBuilder, Kpis, LimitCheck, Limits, Period, Zone,
    effective_recorded_ms,
};
use super::result::{AuditResult, Coverage, VerifiedBatch};
use super::saved;
use crate::protocol::Hash32;
use crate::protocol::record::HashedRecord;

/// What the figures rest on, for the whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub log: String,
    pub chain_id: u64,
    pub contract: String,
    pub audited_first_index: u64,
    pub audited_end_index: u64,
    /// Which indices the audit covered and why (never "the whole log"
    /// unless it was).
    pub coverage: Coverage,
    pub audit_ok: bool,
    pub records_counted: u64,
    pub first_batch: Option<u64>,
    pub last_batch: Option<u64>,
    /// The maximum merge delay the auditor gave, ms (none: every record
    /// counts as recorded when its block was).
    pub max_merge_delay_ms: Option<u64>,
    /// SHA-256 of the saved audit's lines, which this report checked.
    pub lines_sha256: Option<Hash32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unverified {
    /// Every failure of the audit: these records are not counted.
    pub failures: Vec<Failure>,
    /// Indices that failed or were missing, merged (first, last).
    pub ranges: Vec<(u64, u64)>,
    /// Tickets left out because one of their records failed.
    pub excluded_tickets: Vec<String>,
    /// Tickets created before the audited range (chain start unchecked).
    pub partial_tickets: Vec<String>,
    /// Set when figures were computed over a failed audit (`--partial`).
    pub partial_report: bool,
    /// What `--partial` cannot exclude, in words.
    pub caveat: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: Source,
    /// Anchoring transaction of every verified batch.
    pub anchors: Vec<VerifiedBatch>,
    pub kpis: Kpis,
    pub unverified: Unverified,
    /// The audit's timing flags (records anchored late, or recorded after
    /// their block).
    pub late_anchors: Flagged,
    pub recorded_after_anchor: Flagged,
    pub definitions: Vec<(&'static str, &'static str)>,
}

/// How to build a report.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions {
    /// Compute figures even though the audit failed, over the verified
    /// records only, listing what was excluded.
    pub partial: bool,
    /// [`super::kpi::Integrity::tolerance_ms`].
    pub backdate_tolerance_ms: i64,
    /// A zone for the hour-of-day and weekday figures, beside UTC.
    pub zone: Option<Zone>,
}

impl Default for ReportOptions {
    fn default() -> ReportOptions {
        ReportOptions {
            partial: false,
            backdate_tolerance_ms: DEFAULT_BACKDATE_TOLERANCE_MS,
            zone: None,
        }
    }
}

pub const DEFINITIONS: [(&str, &str); 15] = [
    (
        "times",
        "All durations run from the ticket.created event's occurred_at to the occurred_at of the event named: the platform's clock, which the log fixed when it recorded them and anchored since. An end dated before the creation is left out of the figure and flagged, never counted as 0.",
    ),
    (
        "percentiles",
        "p50 and p90 are nearest-rank: the ⌈q·n⌉-th smallest value.",
    ),
    (
        "time_to_acknowledgement",
        "created → the first ticket.acknowledged.",
    ),
    (
        "first_response_time",
        "created → the first message.added with direction outbound, visibility public, actor role agent.",
    ),
    (
        "time_to_final_response",
        "created → the first final_response.issued.",
    ),
    (
        "time_to_resolution",
        "created → the ticket.resolved in effect at the end (none if a ticket.reopened followed it).",
    ),
    (
        "reopen_rate",
        "tickets with at least one ticket.reopened / tickets resolved at least once.",
    ),
    (
        "escalation_rate",
        "tickets with at least one ticket.escalated / all tickets.",
    ),
    (
        "first_contact_resolution",
        "tickets resolved at the end, never reopened, never escalated, with at most one public outbound agent message before their first resolution / tickets resolved at the end.",
    ),
    (
        "nps",
        "Net Promoter Score over each ticket's latest NPS answer by its customer (a satisfaction.rated naming survey nps, 0-10): (promoters 9-10 - detractors 0-6) / answers × 100, from -100 to 100; the CSV gives answers (count), promoters (numerator), detractors (denominator) and the score (value).",
    ),
    (
        "csat",
        "tickets whose latest satisfaction.rated by the customer (actor role customer) has score/scale ≥ 0.8 / tickets with such a rating; tickets without one are left out, and ratings by anyone else are flagged.",
    ),
    (
        "regulatory",
        "Complaints (ticket.created complaint: true). A limit is judged on complaints answered, or unanswered past their deadline as of the latest effective recorded time in the audit; share met = met / judged. 'Recorded after limit': met by occurred_at but recorded in the log only after the deadline, so the log cannot vouch for the timing.",
    ),
    (
        "recorded",
        "A record's effective recorded time: its recorded_at when its anchoring block came within the auditor's maximum merge delay of it (and never after that block), else the block's time. Without a delay from the auditor (--max-merge-delay), the block's time: the only time the chain vouches for.",
    ),
    (
        "integrity",
        "Flagged, not silently absorbed: acknowledgements, public agent replies, final responses and resolutions dated more than the tolerance (15 min by default) before their effective recorded time; events dated before their ticket's creation; ratings by anyone but the customer, which CSAT does not count.",
    ),
    (
        "verification",
        "Only records the audit verified count: in a batch whose recomputed head equals batchHead on chain, with no failure of their own; a ticket with any failed record is left out entirely and listed. A failed audit gives no figures unless --partial is given, because a withheld record names no ticket.",
    ),
];

/// Reads a saved audit (`proofdesk audit --out FILE`) and builds the report
/// over exactly the lines the audit verified: the file is read twice (its
/// result line is last; records are never all in memory), and its lines
/// must hash to what the result names both times.
pub fn report_from_saved(
    path: &Path,
    period: Period,
    limits: Limits,
    options: ReportOptions,
) -> anyhow::Result<Report> {
    let result = saved::read(path, |_| {})?;
    refuse_failed(&result, options)?;
    let mut counting = Counting::new(&result, options);
    saved::read(path, |raw| counting.line(raw))?;
    counting.finish(&result, period, limits, options)
}

/// A failed audit gives no figures unless asked for with `--partial`: a
/// withheld record names no ticket, so no ticket can be shown to be
/// untouched by it.
fn refuse_failed(result: &AuditResult, options: ReportOptions) -> anyhow::Result<()> {
    if result.ok || options.partial {
        return Ok(());
    }
    let ranges = failed_ranges(&result.failures);
    let shown: Vec<String> = ranges
        .iter()
        .take(5)
        .map(|(a, z)| {
            if a == z {
                a.to_string()
            } else {
                format!("{a}..={z}")
            }
        })
        .collect();
    bail!(
        "the audit failed ({} failures; indices {}{}): figures over it could count a ticket whose records were withheld or forged. Fix the log or re-run the audit; --partial computes figures over the verified records only and lists what it left out",
        result.failures.len(),
        shown.join(", "),
        if ranges.len() > 5 { ", …" } else { "" }
    )
}

/// Counts the verified records of a saved audit, line by line.
struct Counting<'a> {
    result: &'a AuditResult,
    failed: Vec<(u64, u64)>,
    excluded: BTreeSet<String>,
    builder: KpiBuilder,
    counted: u64,
}

impl<'a> Counting<'a> {
    fn new(result: &'a AuditResult, options: ReportOptions) -> Counting<'a> {
        let mut excluded: BTreeSet<String> = result
            .failures
            .iter()
            .filter_map(|f| f.ticket.clone())
            .collect();
        excluded.extend(result.partial_tickets.iter().cloned());
        Counting {
            result,
            failed: failed_ranges(&result.failures),
            excluded,
            builder: KpiBuilder::with_tolerance(options.backdate_tolerance_ms),
            counted: 0,
        }
    }

    /// The chain's batch of a record, if the audit verified that batch.
    fn verified_batch(&self, index: u64) -> Option<&'a VerifiedBatch> {
        let batches = &self.result.batches;
        let pos = batches.partition_point(|b| b.first_index + b.count <= index);
        batches.get(pos).filter(|b| b.first_index <= index)
    }

    fn line(&mut self, raw: &[u8]) {
        // The same parser as the audit's: what it could not read, it failed.
        let Some(line) = std::str::from_utf8(raw)
            .ok()
            .and_then(|t| Line::parse(t).ok())
        else {
            return;
        };
        let Ok(h) = HashedRecord::from_value(&line.record) else {
            return;
        };
        let i = h.record.index;
        let batch = self.verified_batch(i);
        let (Some(batch), false) = (batch, in_ranges(&self.failed, i)) else {
            self.excluded.insert(h.record.ticket.as_str().to_owned());
            return;
        };
        let recorded = effective_recorded_ms(
            h.record.recorded_at.millis(),
            batch.anchored_at_ms,
            self.result.max_merge_delay_ms,
        );
        self.builder.add(&h, batch.id, recorded);
        self.counted += 1;
    }

    fn finish(
        self,
        result: &AuditResult,
        mut period: Period,
        limits: Limits,
        options: ReportOptions,
    ) -> anyhow::Result<Report> {
        if self.counted != result.verified_records {
            bail!(
                "the saved audit holds {} verified records, but its result says {}: it is not the file the audit wrote",
                self.counted,
                result.verified_records
            );
        }
        period.as_of_ms = self.builder.max_recorded_ms;
        let kpis = self
            .builder
            .build(&period, &limits, &self.excluded, options.zone);
        let partial_report = !result.ok && options.partial;
        Ok(Report {
            source: Source {
                log: result.log.clone(),
                chain_id: result.chain_id,
                contract: result.contract.clone(),
                audited_first_index: result.first_index,
                audited_end_index: result.end_index,
                coverage: result.coverage.clone(),
                audit_ok: result.ok,
                records_counted: self.counted,
                first_batch: result.batches.first().map(|b| b.id),
                last_batch: result.batches.last().map(|b| b.id),
                max_merge_delay_ms: result.max_merge_delay_ms,
                lines_sha256: result.lines_sha256,
            },
            anchors: result.batches.clone(),
            kpis,
            unverified: Unverified {
                failures: result.failures.clone(),
                ranges: self.failed,
                excluded_tickets: self.excluded.into_iter().collect(),
                partial_tickets: result.partial_tickets.clone(),
                partial_report,
                caveat: partial_report.then(|| {
                    "the audit failed: tickets with a failed record are left out, but a record that was withheld names no ticket, so a ticket counted here may still have lost an event in the indices listed".to_owned()
                }),
            },
            late_anchors: result.late_anchors.clone(),
            recorded_after_anchor: result.recorded_after_anchor.clone(),
            definitions: DEFINITIONS.to_vec(),
        })
    }
}

/// The three regulatory limits of a report, in the order every rendering
/// lists them.
pub(crate) fn regulatory(r: &Report) -> [&LimitCheck; 3] {
    let g = &r.kpis.regulatory;
    [
        &g.acknowledgement,
        &g.final_response_disp,
        &g.final_response_mica,
    ]
}
