//! Handling KPIs from verified records: pure, no I/O.
//!
//! The builder is fed verified records in index order (so each ticket's
//! records arrive in seq order) and keeps one small summary per ticket.
//! `build` turns the summaries into the report. Every definition is in
//! docs/AUDIT.md; the short form is next to each field below.
//!
//! Times are the records' `occurred_at` (the platform's clock, fixed in the
//! log at `recorded_at` and anchored since). Where a regulatory deadline is
//! met by `occurred_at` but the event was only *recorded* after the
//! deadline, the complaint is listed under `recorded_after_limit`: the log
//! can vouch for when it was told, not for when it happened. "Recorded"
//! is the record's *effective* recorded time (see [`effective_recorded_ms`]):
//! `recorded_at` only where the chain bounds it, else the anchoring block's
//! time, so a log that back-dates `recorded_at` gains nothing.
//!
//! Three ways to game the figures are flagged, never silently absorbed
//! ([`Integrity`]): events the platform reports as happening long before
//! the log was told of them, events dated before their ticket was created
//! (left out of the durations, not clamped to 0), and ratings given by
//! anyone but the customer (left out of CSAT).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Months, Utc};
use serde::{Deserialize, Serialize};

use crate::protocol::event::{Direction, EventData, Status, Survey, Visibility};
use crate::protocol::record::{HashedRecord, Role};

/// Regulatory limits, from the complaint's `ticket.created`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Acknowledgement limit in days (default 5).
    pub ack_days: u32,
    /// FCA DISP 1.6.2R: final response within 8 weeks (56 days).
    pub disp_final_days: u32,
    /// MiCA RTS 2025/294: a decision within 2 calendar months.
    pub mica_final_months: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            ack_days: 5,
            disp_final_days: 56,
            mica_final_months: 2,
        }
    }
}

/// What the report is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Period {
    /// Tickets created at or after this instant (ms), if set.
    pub since_ms: Option<i64>,
    /// Tickets created before this instant (ms), if set.
    pub until_ms: Option<i64>,
    /// "Now" for open complaints past their limit: the latest
    /// `recorded_at` in the audited records, never the wall clock, so the
    /// same audit always gives the same report.
    pub as_of_ms: i64,
}

/// One ticket, reduced to what the KPIs need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketFacts {
    pub handle: String,
    pub created_ms: i64,
    pub category: String,
    pub priority: String,
    pub channel: String,
    pub complaint: bool,
    pub ack_ms: Option<i64>,
    pub ack_recorded_ms: Option<i64>,
    pub first_response_ms: Option<i64>,
    pub final_response_ms: Option<i64>,
    pub final_response_recorded_ms: Option<i64>,
    /// The resolution in effect at the end (none if reopened since).
    pub resolved_ms: Option<i64>,
    pub ever_resolved: bool,
    pub reopens: u32,
    pub escalations: u32,
    /// Public outbound agent messages before the first resolution.
    pub agent_replies_before_resolution: u32,
    /// The latest CSAT rating by the customer (score, scale).
    pub rating: Option<(u8, u8)>,
    /// The latest NPS answer by the customer, 0 to 10.
    pub nps: Option<u8>,
    /// The first ticket.assigned.
    pub assigned_ms: Option<i64>,
    /// The group of the latest ticket.assigned ("unassigned" before one).
    pub team: String,
    /// Periods in status pending or on_hold (waiting on the customer),
    /// closed ones; and the start of the one still open.
    pub waiting: Vec<(i64, i64)>,
    pub waiting_since: Option<i64>,
    pub first_index: u64,
    pub last_index: u64,
    pub first_batch: u64,
    pub last_batch: u64,
}

/// When the log can vouch that a record was recorded: its `recorded_at`
/// if its anchoring block came within the maximum merge delay of it (and
/// never later than that block), else the block's time. With no delay
/// from the auditor, the block's time: the only time the chain vouches
/// for. Block times have one-second resolution, hence the 999 ms.
pub fn effective_recorded_ms(
    recorded_at_ms: i64,
    anchored_at_ms: Option<i64>,
    max_merge_delay_ms: Option<u64>,
) -> i64 {
    match (anchored_at_ms, max_merge_delay_ms) {
        (None, _) => recorded_at_ms,
        (Some(block), Some(mmd))
            if block
                <= recorded_at_ms
                    .saturating_add(mmd as i64)
                    .saturating_add(999) =>
        {
            recorded_at_ms.min(block.saturating_add(999))
        }
        (Some(block), _) => block,
    }
}

/// One event flagged by an integrity rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub ticket: String,
    pub index: u64,
    /// The event type.
    pub event: String,
    pub occurred_ms: i64,
    /// The effective recorded time.
    pub recorded_ms: i64,
}

/// Flagged events of one rule: how many, and the first ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    pub count: u64,
    pub first: Vec<Flag>,
}

const FLAGS_KEPT: usize = 100;

impl Flags {
    fn add(&mut self, f: Flag) {
        self.count += 1;
        if self.first.len() < FLAGS_KEPT {
            self.first.push(f);
        }
    }
}

/// The rules against gaming the figures (docs/AUDIT.md, "Integrity").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrity {
    /// How much earlier than its effective recorded time an event may say
    /// it happened before it is flagged, ms.
    pub tolerance_ms: i64,
    /// Acknowledgements, replies, final responses and resolutions the
    /// platform dates more than `tolerance_ms` before the log was told of
    /// them: the durations use occurred_at, which the log cannot vouch for.
    pub reported_earlier_than_recorded: Flags,
    /// Events dated before their ticket's creation: left out of the
    /// durations they would end.
    pub dated_before_creation: Flags,
    /// satisfaction.rated by an actor other than the customer: not counted
    /// in CSAT.
    pub rating_not_by_customer: Flags,
}

/// Default [`Integrity::tolerance_ms`]: 15 minutes, three times the
/// protocol's allowance for clock skew at append (§10.4).
pub const DEFAULT_BACKDATE_TOLERANCE_MS: i64 = 15 * 60_000;

/// Collects per-ticket facts from verified records.
#[derive(Debug)]
pub struct KpiBuilder {
    tickets: BTreeMap<String, TicketFacts>,
    /// Tickets whose first record here is not ticket.created.
    pub started_outside: BTreeSet<String>,
    pub max_recorded_ms: i64,
    pub integrity: Integrity,
}

impl Default for KpiBuilder {
    fn default() -> KpiBuilder {
        KpiBuilder::new()
    }
}

impl KpiBuilder {
    pub fn new() -> KpiBuilder {
        KpiBuilder::with_tolerance(DEFAULT_BACKDATE_TOLERANCE_MS)
    }

    pub fn with_tolerance(tolerance_ms: i64) -> KpiBuilder {
        KpiBuilder {
            tickets: BTreeMap::new(),
            started_outside: BTreeSet::new(),
            max_recorded_ms: 0,
            integrity: Integrity {
                tolerance_ms,
                ..Integrity::default()
            },
        }
    }

    /// Adds one verified record (in index order) of batch `batch`, whose
    /// effective recorded time is `recorded_ms` ([`effective_recorded_ms`]).
    pub fn add(&mut self, h: &HashedRecord, batch: u64, recorded_ms: i64) {
        let r = &h.record;
        let at = r.occurred_at.millis();
        self.max_recorded_ms = self.max_recorded_ms.max(recorded_ms);
        let handle = r.ticket.as_str();
        let flag = || Flag {
            ticket: handle.to_owned(),
            index: r.index,
            event: r.event_type.to_string(),
            occurred_ms: at,
            recorded_ms,
        };
        // The events whose occurred_at ends a duration or meets a limit.
        let timed = match &h.data {
            EventData::Acknowledged(_) | EventData::FinalResponse(_) | EventData::Resolved(_) => {
                true
            }
            EventData::Message(m) => {
                m.direction == Direction::Outbound
                    && m.visibility == Visibility::Public
                    && r.actor.role == Role::Agent
            }
            _ => false,
        };
        if timed && recorded_ms.saturating_sub(at) > self.integrity.tolerance_ms {
            self.integrity.reported_earlier_than_recorded.add(flag());
        }
        if let Some(t) = self.tickets.get(handle)
            && timed
            && at < t.created_ms
        {
            self.integrity.dated_before_creation.add(flag());
        }
        if let EventData::Created(c) = &h.data {
            self.tickets.insert(
                handle.to_owned(),
                TicketFacts {
                    handle: handle.to_owned(),
                    created_ms: at,
                    category: c.category.as_str().to_owned(),
                    priority: format!("{:?}", c.priority).to_lowercase(),
                    channel: enum_name(&r.channel),
                    complaint: c.complaint,
                    ack_ms: None,
                    ack_recorded_ms: None,
                    first_response_ms: None,
                    final_response_ms: None,
                    final_response_recorded_ms: None,
                    resolved_ms: None,
                    ever_resolved: false,
                    reopens: 0,
                    escalations: 0,
                    agent_replies_before_resolution: 0,
                    rating: None,
                    nps: None,
                    assigned_ms: None,
                    team: "unassigned".to_owned(),
                    waiting: Vec::new(),
                    waiting_since: None,
                    first_index: r.index,
                    last_index: r.index,
                    first_batch: batch,
                    last_batch: batch,
                },
            );
            return;
        }
        let Some(t) = self.tickets.get_mut(handle) else {
            self.started_outside.insert(handle.to_owned());
            return;
        };
        t.last_index = r.index;
        t.last_batch = batch;
        // Waiting on the customer: status pending or on_hold, until the
        // status moves on (or the ticket is resolved, closed or reopened).
        let waits = match &h.data {
            EventData::StatusChanged(c) => Some(matches!(c.to, Status::Pending | Status::OnHold)),
            EventData::Resolved(_) | EventData::Closed(_) | EventData::Reopened(_) => Some(false),
            _ => None,
        };
        match (waits, t.waiting_since) {
            (Some(true), None) => t.waiting_since = Some(at),
            (Some(false), Some(since)) => {
                t.waiting.push((since, at));
                t.waiting_since = None;
            }
            _ => {}
        }
        match &h.data {
            EventData::Assigned(a) => {
                t.assigned_ms.get_or_insert(at);
                t.team = a
                    .group
                    .as_ref()
                    .map_or("no_group".to_owned(), |g| g.as_str().to_owned());
            }
            EventData::Acknowledged(_) if t.ack_ms.is_none() => {
                t.ack_ms = Some(at);
                t.ack_recorded_ms = Some(recorded_ms);
            }
            EventData::Message(m)
                if m.direction == Direction::Outbound
                    && m.visibility == Visibility::Public
                    && r.actor.role == Role::Agent =>
            {
                if t.first_response_ms.is_none() {
                    t.first_response_ms = Some(at);
                }
                if !t.ever_resolved {
                    t.agent_replies_before_resolution += 1;
                }
            }
            EventData::FinalResponse(_) if t.final_response_ms.is_none() => {
                t.final_response_ms = Some(at);
                t.final_response_recorded_ms = Some(recorded_ms);
            }
            EventData::Resolved(_) => {
                t.resolved_ms = Some(at);
                t.ever_resolved = true;
            }
            EventData::Reopened(_) => {
                t.reopens += 1;
                t.resolved_ms = None;
            }
            EventData::Escalated(_) => t.escalations += 1,
            EventData::Rated(x) if r.actor.role == Role::Customer => match x.survey() {
                Survey::Csat => t.rating = Some((x.score, x.scale)),
                Survey::Nps => t.nps = Some(x.score),
            },
            EventData::Rated(_) => self.integrity.rating_not_by_customer.add(flag()),
            _ => {}
        }
    }

    pub fn tickets(&self) -> impl Iterator<Item = &TicketFacts> {
        self.tickets.values()
    }

    /// The report over the tickets created in `period`, leaving out the
    /// tickets in `excluded` (a record of theirs failed verification).
    pub fn build(
        &self,
        period: &Period,
        limits: &Limits,
        excluded: &BTreeSet<String>,
        zone: Option<Zone>,
    ) -> Kpis {
        let selected: Vec<&TicketFacts> = self
            .tickets
            .values()
            .filter(|t| !excluded.contains(&t.handle))
            .filter(|t| period.since_ms.is_none_or(|s| t.created_ms >= s))
            .filter(|t| period.until_ms.is_none_or(|u| t.created_ms < u))
            .collect();
        let overall = Figures::of(&selected);
        let mut groups = BTreeMap::new();
        for (dim, key) in [
            (
                "category",
                (|t: &TicketFacts| t.category.clone()) as fn(&TicketFacts) -> String,
            ),
            ("priority", |t| t.priority.clone()),
            ("channel", |t| t.channel.clone()),
            ("team", |t| t.team.clone()),
            ("month", |t| month_of(t.created_ms)),
            ("kind", |t| {
                if t.complaint {
                    "complaint"
                } else {
                    "support_request"
                }
                .to_owned()
            }),
        ] {
            let mut by: BTreeMap<String, Vec<&TicketFacts>> = BTreeMap::new();
            for t in &selected {
                by.entry(key(t)).or_default().push(t);
            }
            let figures: BTreeMap<String, Figures> =
                by.into_iter().map(|(k, v)| (k, Figures::of(&v))).collect();
            groups.insert(dim.to_owned(), figures);
        }
        let complaints: Vec<&TicketFacts> =
            selected.iter().copied().filter(|t| t.complaint).collect();
        Kpis {
            period: *period,
            limits: *limits,
            overall,
            groups,
            regulatory: Regulatory::of(&complaints, limits, period.as_of_ms),
            integrity: self.integrity.clone(),
            coverage: std::iter::once(Zone::Utc)
                .chain(zone.filter(|z| *z != Zone::Utc))
                .map(|z| Coverage::of(&selected, z))
                .collect(),
        }
    }
}

fn enum_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn month_of(ms: i64) -> String {
    let d = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    format!("{:04}-{:02}", d.year(), d.month())
}

/// Which records a figure rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Basis {
    pub tickets: u64,
    pub first_index: Option<u64>,
    pub last_index: Option<u64>,
    pub first_batch: Option<u64>,
    pub last_batch: Option<u64>,
}

impl Basis {
    fn of<'a>(tickets: impl IntoIterator<Item = &'a TicketFacts>) -> Basis {
        let mut b = Basis::default();
        for t in tickets {
            b.tickets += 1;
            b.first_index = Some(
                b.first_index
                    .map_or(t.first_index, |x| x.min(t.first_index)),
            );
            b.last_index = Some(b.last_index.map_or(t.last_index, |x| x.max(t.last_index)));
            b.first_batch = Some(
                b.first_batch
                    .map_or(t.first_batch, |x| x.min(t.first_batch)),
            );
            b.last_batch = Some(b.last_batch.map_or(t.last_batch, |x| x.max(t.last_batch)));
        }
        b
    }
}

/// Count, mean, p50, p90 and max of a duration (ms), nearest-rank
/// percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Durations {
    pub count: u64,
    /// The arithmetic mean, rounded down to the millisecond.
    pub mean_ms: Option<i64>,
    pub p50_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub max_ms: Option<i64>,
    pub basis: Basis,
}

/// The nearest-rank percentile: the smallest value with at least q of the
/// values at or below it (the ⌈q·n⌉-th smallest, 1-based).
pub fn nearest_rank(sorted: &[i64], q_percent: u64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (q_percent * n).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

impl Durations {
    /// From the ticket's creation to `end`; an end dated before the
    /// creation is flagged (Integrity) and left out, never clamped to 0,
    /// which would flatter the figure.
    fn of(tickets: &[&TicketFacts], end: fn(&TicketFacts) -> Option<i64>) -> Durations {
        Durations::of_values(tickets, |t| {
            end(t)
                .filter(|e| *e >= t.created_ms)
                .map(|e| e - t.created_ms)
        })
    }

    /// Of a duration each ticket may have.
    fn of_values(
        tickets: &[&TicketFacts],
        value: impl Fn(&TicketFacts) -> Option<i64>,
    ) -> Durations {
        let mut with = Vec::new();
        let mut v = Vec::new();
        for t in tickets {
            if let Some(d) = value(t) {
                with.push(*t);
                v.push(d);
            }
        }
        v.sort_unstable();
        let sum: i128 = v.iter().map(|&d| d as i128).sum();
        Durations {
            count: v.len() as u64,
            mean_ms: (!v.is_empty()).then(|| (sum / v.len() as i128) as i64),
            p50_ms: nearest_rank(&v, 50),
            p90_ms: nearest_rank(&v, 90),
            max_ms: v.last().copied(),
            basis: Basis::of(with),
        }
    }
}

/// Handling time of a ticket resolved at the end: from its first
/// ticket.assigned (its creation if never assigned) to the resolution in
/// effect, less the time in status pending or on_hold, waiting on the
/// customer. None for a ticket not resolved now, or whose resolution is
/// dated before its start.
pub fn handling_ms(t: &TicketFacts) -> Option<i64> {
    let end = t.resolved_ms?;
    let start = t.assigned_ms.unwrap_or(t.created_ms).max(t.created_ms);
    if end < start {
        return None;
    }
    let waited: i64 = t
        .waiting
        .iter()
        .map(|&(a, z)| (z.min(end) - a.max(start)).max(0))
        .sum();
    Some(end - start - waited)
}

/// A share: numerator over denominator, with its basis.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
    /// numerator / denominator, absent when the denominator is 0.
    pub value: Option<f64>,
    pub basis: Basis,
}

impl Rate {
    fn of(
        tickets: &[&TicketFacts],
        in_denominator: impl Fn(&TicketFacts) -> bool,
        in_numerator: impl Fn(&TicketFacts) -> bool,
    ) -> Rate {
        let den: Vec<&TicketFacts> = tickets
            .iter()
            .copied()
            .filter(|t| in_denominator(t))
            .collect();
        let num = den.iter().filter(|t| in_numerator(t)).count() as u64;
        let d = den.len() as u64;
        Rate {
            numerator: num,
            denominator: d,
            value: (d > 0).then(|| num as f64 / d as f64),
            basis: Basis::of(den),
        }
    }
}

/// Whether a rating is good: score/scale ≥ 0.8 (integer arithmetic).
pub fn good_rating(score: u8, scale: u8) -> bool {
    scale > 0 && score as u32 * 5 >= scale as u32 * 4
}

/// First-contact resolution: resolved (and still resolved), never
/// reopened, never escalated, with at most one public outbound agent
/// message before the resolution.
pub fn first_contact_resolved(t: &TicketFacts) -> bool {
    t.resolved_ms.is_some()
        && t.reopens == 0
        && t.escalations == 0
        && t.agent_replies_before_resolution <= 1
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Figures {
    pub tickets: u64,
    pub complaints: u64,
    pub support_requests: u64,
    pub time_to_acknowledgement: Durations,
    pub first_response_time: Durations,
    pub time_to_final_response: Durations,
    pub time_to_resolution: Durations,
    /// See [`handling_ms`]; the mean is what the platforms call average
    /// handling time (平均处理时间).
    pub handling_time: Durations,
    /// Reopened at least once, among tickets resolved at least once.
    pub reopen_rate: Rate,
    /// Escalated at least once, among all tickets.
    pub escalation_rate: Rate,
    /// See [`first_contact_resolved`], among tickets resolved now.
    pub first_contact_resolution: Rate,
    /// Good ratings among rated tickets (latest rating per ticket).
    pub csat: Rate,
    /// Latest rating per ticket, as "score/scale" → tickets.
    pub score_distribution: BTreeMap<String, u64>,
    /// Net Promoter Score over each ticket's latest NPS answer.
    pub nps: Nps,
    pub basis: Basis,
}

impl Figures {
    fn of(tickets: &[&TicketFacts]) -> Figures {
        let complaints = tickets.iter().filter(|t| t.complaint).count() as u64;
        let mut dist = BTreeMap::new();
        for t in tickets {
            if let Some((s, k)) = t.rating {
                *dist.entry(format!("{s}/{k}")).or_insert(0) += 1;
            }
        }
        Figures {
            tickets: tickets.len() as u64,
            complaints,
            support_requests: tickets.len() as u64 - complaints,
            time_to_acknowledgement: Durations::of(tickets, |t| t.ack_ms),
            first_response_time: Durations::of(tickets, |t| t.first_response_ms),
            time_to_final_response: Durations::of(tickets, |t| t.final_response_ms),
            time_to_resolution: Durations::of(tickets, |t| t.resolved_ms),
            handling_time: Durations::of_values(tickets, handling_ms),
            reopen_rate: Rate::of(tickets, |t| t.ever_resolved, |t| t.reopens > 0),
            escalation_rate: Rate::of(tickets, |_| true, |t| t.escalations > 0),
            first_contact_resolution: Rate::of(
                tickets,
                |t| t.resolved_ms.is_some(),
                first_contact_resolved,
            ),
            csat: Rate::of(
                tickets,
                |t| t.rating.is_some(),
                |t| t.rating.is_some_and(|(s, k)| good_rating(s, k)),
            ),
            score_distribution: dist,
            nps: Nps::of(tickets),
            basis: Basis::of(tickets.iter().copied()),
        }
    }
}

/// Net Promoter Score: promoters answer 9-10, detractors 0-6, passives
/// 7-8; the score is (promoters - detractors) / answers × 100, from -100
/// to 100, over each ticket's latest NPS answer by its customer.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Nps {
    pub answers: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// Absent when nobody answered.
    pub score: Option<f64>,
    pub basis: Basis,
}

impl Nps {
    fn of(tickets: &[&TicketFacts]) -> Nps {
        let answered: Vec<&TicketFacts> = tickets
            .iter()
            .copied()
            .filter(|t| t.nps.is_some())
            .collect();
        let mut n = Nps {
            answers: answered.len() as u64,
            basis: Basis::of(answered.iter().copied()),
            ..Nps::default()
        };
        for t in &answered {
            match t.nps {
                Some(9..) => n.promoters += 1,
                Some(7 | 8) => n.passives += 1,
                _ => n.detractors += 1,
            }
        }
        n.score = (n.answers > 0)
            .then(|| (n.promoters as f64 - n.detractors as f64) / n.answers as f64 * 100.0);
        n
    }
}

/// One complaint against one limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    pub ticket: String,
    pub created_ms: i64,
    pub deadline_ms: i64,
    /// When it happened, if it did (late); None if still missing.
    pub done_ms: Option<i64>,
    pub first_index: u64,
    pub last_index: u64,
}

/// Complaints against one limit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LimitCheck {
    pub limit: String,
    /// Complaints whose deadline has passed (as of the audit) or that were
    /// answered: the ones the limit can be judged on.
    pub due: u64,
    pub met: u64,
    /// met / due.
    pub share_met: Option<f64>,
    /// Answered after the deadline.
    pub late: Vec<Breach>,
    /// Not answered, deadline passed.
    pub open_past_limit: Vec<Breach>,
    /// Met by occurred_at, but recorded in the log after the deadline.
    pub recorded_after_limit: Vec<Breach>,
    /// Not answered, deadline still ahead.
    pub pending: u64,
    pub basis: Basis,
}

impl LimitCheck {
    fn of(
        name: String,
        complaints: &[&TicketFacts],
        deadline: impl Fn(i64) -> i64,
        done: fn(&TicketFacts) -> Option<(i64, i64)>,
        as_of_ms: i64,
    ) -> LimitCheck {
        let mut c = LimitCheck {
            limit: name,
            ..LimitCheck::default()
        };
        let mut judged = Vec::new();
        for t in complaints {
            let d = deadline(t.created_ms);
            let breach = |done_ms| Breach {
                ticket: t.handle.clone(),
                created_ms: t.created_ms,
                deadline_ms: d,
                done_ms,
                first_index: t.first_index,
                last_index: t.last_index,
            };
            match done(t) {
                Some((at, recorded)) => {
                    judged.push(*t);
                    if at <= d {
                        c.met += 1;
                        if recorded > d {
                            c.recorded_after_limit.push(breach(Some(at)));
                        }
                    } else {
                        c.late.push(breach(Some(at)));
                    }
                }
                None if as_of_ms > d => {
                    judged.push(*t);
                    c.open_past_limit.push(breach(None));
                }
                None => c.pending += 1,
            }
        }
        c.due = judged.len() as u64;
        c.share_met = (c.due > 0).then(|| c.met as f64 / c.due as f64);
        c.basis = Basis::of(judged);
        c
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Regulatory {
    pub complaints: u64,
    pub acknowledgement: LimitCheck,
    pub final_response_disp: LimitCheck,
    pub final_response_mica: LimitCheck,
}

const DAY_MS: i64 = 86_400_000;

fn add_months(ms: i64, months: u32) -> i64 {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .and_then(|d| d.checked_add_months(Months::new(months)))
        .map_or(i64::MAX, |d| d.timestamp_millis())
}

impl Regulatory {
    fn of(complaints: &[&TicketFacts], l: &Limits, as_of_ms: i64) -> Regulatory {
        Regulatory {
            complaints: complaints.len() as u64,
            acknowledgement: LimitCheck::of(
                format!("acknowledged ≤ {} days", l.ack_days),
                complaints,
                |c| c + l.ack_days as i64 * DAY_MS,
                |t| t.ack_ms.zip(t.ack_recorded_ms),
                as_of_ms,
            ),
            final_response_disp: LimitCheck::of(
                format!("DISP: final response ≤ {} days", l.disp_final_days),
                complaints,
                |c| c + l.disp_final_days as i64 * DAY_MS,
                |t| t.final_response_ms.zip(t.final_response_recorded_ms),
                as_of_ms,
            ),
            final_response_mica: LimitCheck::of(
                format!("MiCA: final response ≤ {} months", l.mica_final_months),
                complaints,
                |c| add_months(c, l.mica_final_months),
                |t| t.final_response_ms.zip(t.final_response_recorded_ms),
                as_of_ms,
            ),
        }
    }
}

/// A time zone for the hour-of-day and weekday figures: UTC, an IANA
/// name (`Asia/Shanghai`, with its daylight-saving rules) or a fixed
/// offset (`+08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Utc,
    Named(chrono_tz::Tz),
    Fixed(chrono::FixedOffset),
}

impl std::str::FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Zone, String> {
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Zone::Utc);
        }
        if let Ok(tz) = s.parse::<chrono_tz::Tz>() {
            return Ok(Zone::Named(tz));
        }
        if let Ok(off) = s.parse::<chrono::FixedOffset>() {
            return Ok(Zone::Fixed(off));
        }
        Err(format!(
            "{s:?} is not a time zone: give an IANA name (Asia/Shanghai, Europe/London), an offset (+08:00) or UTC"
        ))
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Zone::Utc => f.write_str("UTC"),
            Zone::Named(tz) => f.write_str(tz.name()),
            Zone::Fixed(off) => write!(f, "{off}"),
        }
    }
}

impl Zone {
    /// (weekday, 0 = Monday, and hour of day) of an instant in this zone.
    pub fn weekday_hour(&self, ms: i64) -> (usize, usize) {
        use chrono::Timelike;
        let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        let (wd, h) = match self {
            Zone::Utc => (utc.weekday(), utc.hour()),
            Zone::Named(tz) => {
                let l = utc.with_timezone(tz);
                (l.weekday(), l.hour())
            }
            Zone::Fixed(off) => {
                let l = utc.with_timezone(off);
                (l.weekday(), l.hour())
            }
        };
        (wd.num_days_from_monday() as usize, h as usize)
    }
}

pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The tickets created in one hour of the day, one weekday, or one hour
/// of one weekday, and how fast they were answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Slot {
    pub tickets: u64,
    pub time_to_acknowledgement: Durations,
    pub first_response_time: Durations,
}

impl Slot {
    fn of(tickets: &[&TicketFacts]) -> Slot {
        Slot {
            tickets: tickets.len() as u64,
            time_to_acknowledgement: Durations::of(tickets, |t| t.ack_ms),
            first_response_time: Durations::of(tickets, |t| t.first_response_ms),
        }
    }
}

/// Round-the-clock coverage in one time zone, by the hour and weekday each
/// ticket was created: where the night and weekend gaps are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Coverage {
    pub zone: String,
    /// 24 slots, hour 0 first.
    pub by_hour: Vec<Slot>,
    /// 7 slots, Monday first.
    pub by_weekday: Vec<Slot>,
    /// 7 × 24: `grid[weekday][hour]`.
    pub grid: Vec<Vec<Slot>>,
}

impl Coverage {
    fn of(tickets: &[&TicketFacts], zone: Zone) -> Coverage {
        let mut cells: Vec<Vec<Vec<&TicketFacts>>> = vec![vec![Vec::new(); 24]; 7];
        for t in tickets {
            let (wd, h) = zone.weekday_hour(t.created_ms);
            cells[wd][h].push(t);
        }
        let by_hour = (0..24)
            .map(|h| {
                let all: Vec<&TicketFacts> =
                    (0..7).flat_map(|wd| cells[wd][h].iter().copied()).collect();
                Slot::of(&all)
            })
            .collect();
        let by_weekday = cells
            .iter()
            .map(|day| Slot::of(&day.iter().flatten().copied().collect::<Vec<_>>()))
            .collect();
        let grid = cells
            .iter()
            .map(|day| day.iter().map(|c| Slot::of(c)).collect())
            .collect();
        Coverage {
            zone: zone.to_string(),
            by_hour,
            by_weekday,
            grid,
        }
    }
}

/// The whole KPI report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub period: Period,
    pub limits: Limits,
    pub overall: Figures,
    /// dimension (category, priority, channel, month, kind) → value → figures.
    pub groups: BTreeMap<String, BTreeMap<String, Figures>>,
    pub regulatory: Regulatory,
    /// Events flagged by the rules against gaming the figures.
    pub integrity: Integrity,
    /// By hour of day and weekday of creation: in UTC, then in the zone
    /// asked for, if any.
    pub coverage: Vec<Coverage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(handle: &str, created_ms: i64) -> TicketFacts {
        TicketFacts {
            handle: handle.into(),
            created_ms,
            category: "c".into(),
            priority: "normal".into(),
            channel: "web".into(),
            complaint: true,
            ack_ms: None,
            ack_recorded_ms: None,
            first_response_ms: None,
            final_response_ms: None,
            final_response_recorded_ms: None,
            resolved_ms: None,
            ever_resolved: false,
            reopens: 0,
            escalations: 0,
            agent_replies_before_resolution: 0,
            rating: None,
            nps: None,
            assigned_ms: None,
            team: "unassigned".into(),
            waiting: Vec::new(),
            waiting_since: None,
            first_index: 0,
            last_index: 0,
            first_batch: 0,
            last_batch: 0,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(nearest_rank(&v, 50), Some(50));
        assert_eq!(nearest_rank(&v, 90), Some(90));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn good_means_at_least_four_fifths() {
        assert!(good_rating(4, 5));
        assert!(good_rating(8, 10));
        assert!(!good_rating(7, 10));
        assert!(!good_rating(3, 5));
        assert!(good_rating(1, 1));
    }

    #[test]
    fn mica_months_are_calendar_months() {
        // 2025-01-31 + 2 months = 2025-03-31.
        let jan31 = 1_738_281_600_000; // 2025-01-31T00:00:00Z
        assert_eq!(add_months(jan31, 2), 1_743_379_200_000);
    }

    #[test]
    fn limits_split_met_late_open_and_pending() {
        let d = DAY_MS;
        let mut met = facts("met", 0);
        met.final_response_ms = Some(10 * d);
        met.final_response_recorded_ms = Some(10 * d);
        let mut late = facts("late", 0);
        late.final_response_ms = Some(60 * d);
        late.final_response_recorded_ms = Some(60 * d);
        let open = facts("open", 0);
        let pending = facts("pending", 80 * d);
        let mut backfilled = facts("backfilled", 0);
        backfilled.final_response_ms = Some(d);
        backfilled.final_response_recorded_ms = Some(70 * d);
        let all = [&met, &late, &open, &pending, &backfilled];
        let c = LimitCheck::of(
            "x".into(),
            &all,
            |c| c + 56 * d,
            |t| t.final_response_ms.zip(t.final_response_recorded_ms),
            100 * d,
        );
        assert_eq!((c.due, c.met, c.pending), (4, 2, 1));
        assert_eq!(c.late[0].ticket, "late");
        assert_eq!(c.open_past_limit[0].ticket, "open");
        assert_eq!(c.recorded_after_limit[0].ticket, "backfilled");
        assert_eq!(c.share_met, Some(0.5));
    }

    #[test]
    fn the_chain_bounds_when_a_record_was_recorded() {
        let s = 1000;
        // Anchored within the delay: recorded_at stands.
        assert_eq!(
            effective_recorded_ms(100 * s, Some(130 * s), Some(60_000)),
            100 * s
        );
        // Anchored later than recorded_at + delay: the block's time.
        assert_eq!(
            effective_recorded_ms(100 * s, Some(200 * s), Some(60_000)),
            200 * s
        );
        // No delay from the auditor: the block's time.
        assert_eq!(effective_recorded_ms(100 * s, Some(101 * s), None), 101 * s);
        // A recorded_at after its own block is brought back to the block.
        assert_eq!(
            effective_recorded_ms(300 * s, Some(200 * s), Some(60_000)),
            200 * s + 999
        );
        // Nothing known about the anchor (an old saved audit): recorded_at.
        assert_eq!(effective_recorded_ms(100 * s, None, None), 100 * s);
        // The delay compares at the block's one-second grain.
        assert_eq!(
            effective_recorded_ms(100_500, Some(160_000), Some(60_000)),
            100_500
        );
    }

    #[test]
    fn durations_leave_out_an_end_dated_before_creation() {
        let mut early = facts("early", 10 * DAY_MS);
        early.ack_ms = Some(9 * DAY_MS);
        let mut ok = facts("ok", 0);
        ok.ack_ms = Some(DAY_MS);
        let d = Durations::of(&[&early, &ok], |t| t.ack_ms);
        assert_eq!(
            (d.count, d.p50_ms, d.max_ms),
            (1, Some(DAY_MS), Some(DAY_MS))
        );
    }
}
