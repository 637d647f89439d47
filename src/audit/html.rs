//! The report as one self-contained HTML page: `report.html` (next to this
//! file) is a minijinja template, filled from a view of the [`Report`]
//! with every number already in words a person reads ("12 min", "3.5 h",
//! indices counted inclusively), and the report itself as JSON for the
//! charts. Chart.js is inlined, so the page opens from disk, offline.

use minijinja::{Environment, Value, context};
use serde::Serialize;

use super::kpi::{Basis, Coverage, Durations, Flags, LimitCheck, Rate, Slot, WEEKDAYS};
use super::render::{Report, regulatory};

/// Chart.js 4.6.1 (MIT), see assets/vendor/README.md.
const CHART_JS: &str = include_str!("../../assets/vendor/chart.umd.min.js");
const TEMPLATE: &str = include_str!("report.html");

/// A duration as a person reads it.
pub fn human(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "–".into() };
    let s = ms as f64 / 1000.0;
    if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86400.0)
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{:.1} %", x * 100.0))
}

/// Indices, inclusive both ends, as everywhere a person reads them.
pub fn span(first: u64, last: u64) -> String {
    if first == last {
        format!("{first}")
    } else {
        format!("{first}–{last}")
    }
}

fn basis(b: &Basis) -> String {
    match (b.first_index, b.last_index, b.first_batch, b.last_batch) {
        (Some(a), Some(z), Some(fb), Some(lb)) => format!(
            "{} tickets · indices {} · batches {}",
            b.tickets,
            span(a, z),
            span(fb, lb)
        ),
        _ => "no records".into(),
    }
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or("–".into(), |d| d.format("%Y-%m-%d %H:%M UTC").to_string())
}

#[derive(Serialize)]
struct DurationRow {
    name: &'static str,
    count: u64,
    mean: String,
    p50: String,
    p90: String,
    max: String,
    basis: String,
}

impl DurationRow {
    fn of(name: &'static str, d: &Durations) -> DurationRow {
        DurationRow {
            name,
            count: d.count,
            mean: human(d.mean_ms),
            p50: human(d.p50_ms),
            p90: human(d.p90_ms),
            max: human(d.max_ms),
            basis: basis(&d.basis),
        }
    }
}

#[derive(Serialize)]
struct RateRow {
    name: &'static str,
    numerator: u64,
    denominator: u64,
    share: String,
    basis: String,
}

impl RateRow {
    fn of(name: &'static str, x: &Rate) -> RateRow {
        RateRow {
            name,
            numerator: x.numerator,
            denominator: x.denominator,
            share: pct(x.value),
            basis: basis(&x.basis),
        }
    }
}

#[derive(Serialize)]
struct LimitRow {
    limit: String,
    met: u64,
    due: u64,
    share: String,
    late: usize,
    open: usize,
    pending: u64,
    basis: String,
}

#[derive(Serialize)]
struct BreachRow {
    limit: String,
    kind: &'static str,
    ticket: String,
    indices: String,
    deadline: String,
    done: String,
}

#[derive(Serialize)]
struct FlagRow {
    name: &'static str,
    count: u64,
    first: String,
}

#[derive(Serialize)]
struct Cell {
    tickets: u64,
    text: String,
    /// "none" (no ticket), "unanswered" (tickets, no response), or a
    /// speed level 0 (fastest) to 3.
    class: String,
    title: String,
}

#[derive(Serialize)]
struct Day {
    name: &'static str,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct ZoneView {
    zone: String,
    days: Vec<Day>,
    hours: Vec<String>,
}

/// The speed class of a slot: first response p50 under 1 h, 4 h, 24 h,
/// or slower.
fn cell(slot: &Slot, day: &str, hour: usize) -> Cell {
    let fr = &slot.first_response_time;
    let class = match (slot.tickets, fr.p50_ms) {
        (0, _) => "none".to_owned(),
        (_, None) => "unanswered".to_owned(),
        (_, Some(ms)) if ms < 3_600_000 => "s0".to_owned(),
        (_, Some(ms)) if ms < 4 * 3_600_000 => "s1".to_owned(),
        (_, Some(ms)) if ms < 24 * 3_600_000 => "s2".to_owned(),
        _ => "s3".to_owned(),
    };
    Cell {
        tickets: slot.tickets,
        text: match slot.tickets {
            0 => String::new(),
            _ => human(fr.p50_ms),
        },
        title: format!(
            "{day} {hour:02}:00–{hour:02}:59: {} tickets, first response p50 {}, acknowledgement p50 {}",
            slot.tickets,
            human(fr.p50_ms),
            human(slot.time_to_acknowledgement.p50_ms)
        ),
        class,
    }
}

fn zone(c: &Coverage) -> ZoneView {
    ZoneView {
        zone: c.zone.clone(),
        days: c
            .grid
            .iter()
            .zip(WEEKDAYS)
            .map(|(row, name)| Day {
                name,
                cells: row
                    .iter()
                    .enumerate()
                    .map(|(h, s)| cell(s, name, h))
                    .collect(),
            })
            .collect(),
        hours: (0..24).map(|h| format!("{h:02}")).collect(),
    }
}

fn flag(name: &'static str, f: &Flags) -> FlagRow {
    FlagRow {
        name,
        count: f.count,
        first: f
            .first
            .iter()
            .take(10)
            .map(|x| format!("{} #{}", x.ticket, x.index))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn limit_rows(r: &Report) -> (Vec<LimitRow>, Vec<BreachRow>) {
    let mut rows = Vec::new();
    let mut breaches = Vec::new();
    for c in regulatory(r) {
        rows.push(limit_row(c));
        for (kind, list) in [
            ("answered late", &c.late),
            ("open past limit", &c.open_past_limit),
            ("recorded after limit", &c.recorded_after_limit),
        ] {
            for b in list {
                breaches.push(BreachRow {
                    limit: c.limit.clone(),
                    kind,
                    ticket: b.ticket.clone(),
                    indices: span(b.first_index, b.last_index),
                    deadline: when(Some(b.deadline_ms)),
                    done: when(b.done_ms),
                });
            }
        }
    }
    (rows, breaches)
}

fn limit_row(c: &LimitCheck) -> LimitRow {
    LimitRow {
        limit: c.limit.clone(),
        met: c.met,
        due: c.due,
        share: pct(c.share_met),
        late: c.late.len(),
        open: c.open_past_limit.len(),
        pending: c.pending,
        basis: basis(&c.basis),
    }
}

/// The page, rendered.
pub fn to_html(r: &Report) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    // The name ends in .html: minijinja escapes every value for HTML.
    env.add_template("report.html", TEMPLATE)?;
    let o = &r.kpis.overall;
    let s = &r.source;
    let (limits, breaches) = limit_rows(r);
    let i = &r.kpis.integrity;
    let mut integrity = vec![
        flag(
            "Reported as happening long before the log was told",
            &i.reported_earlier_than_recorded,
        ),
        flag(
            "Dated before the ticket was created (left out of durations)",
            &i.dated_before_creation,
        ),
        flag(
            "Ratings not by the customer (not in CSAT)",
            &i.rating_not_by_customer,
        ),
    ];
    for (name, f) in [
        (
            "Anchored later than recorded_at + the maximum merge delay",
            &r.late_anchors,
        ),
        (
            "recorded_at after the anchoring block",
            &r.recorded_after_anchor,
        ),
    ] {
        integrity.push(FlagRow {
            name,
            count: f.count,
            first: f
                .first
                .iter()
                .take(10)
                .map(|x| format!("#{x}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let data = serde_json::to_string(r)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");
    let audited = if s.audited_end_index > s.audited_first_index {
        format!(
            "indices {}",
            span(s.audited_first_index, s.audited_end_index - 1)
        )
    } else {
        "no indices".to_owned()
    };
    let batches = match (s.first_batch, s.last_batch) {
        (Some(a), Some(z)) => format!("batches {}", span(a, z)),
        _ => "no batch".to_owned(),
    };
    let tmpl = env.get_template("report.html")?;
    tmpl.render(context! {
        chain => s.chain_id,
        contract => s.contract,
        log => s.log,
        audited => audited,
        batches => batches,
        counted => s.records_counted,
        ok => s.audit_ok,
        coverage => s.coverage.why,
        caveat => r.unverified.caveat,
        unverified_ranges => r.unverified.ranges.iter().map(|(a, z)| span(*a, *z)).collect::<Vec<_>>().join(", "),
        tickets => o.tickets,
        complaints => o.complaints,
        support => o.support_requests,
        durations => vec![
            DurationRow::of("Time to acknowledgement", &o.time_to_acknowledgement),
            DurationRow::of("First response time", &o.first_response_time),
            DurationRow::of("Time to final response", &o.time_to_final_response),
            DurationRow::of("Time to resolution", &o.time_to_resolution),
            DurationRow::of("Handling time (平均处理时间: the mean)", &o.handling_time),
        ],
        rates => vec![
            RateRow::of("Reopen rate", &o.reopen_rate),
            RateRow::of("Escalation rate", &o.escalation_rate),
            RateRow::of("First-contact resolution", &o.first_contact_resolution),
            RateRow::of("CSAT (customer's rating ≥ 0.8 of its scale)", &o.csat),
        ],
        nps => context! {
            answers => o.nps.answers,
            promoters => o.nps.promoters,
            passives => o.nps.passives,
            detractors => o.nps.detractors,
            score => o.nps.score.map_or("–".to_owned(), |v| format!("{v:+.0}")),
            basis => basis(&o.nps.basis),
        },
        limits => limits,
        breaches => breaches,
        integrity => integrity,
        zones => r.kpis.coverage.iter().map(zone).collect::<Vec<_>>(),
        failures => r.unverified.failures.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        excluded => r.unverified.excluded_tickets.len(),
        anchors => r.anchors.iter().map(|b| context! {
            id => b.id,
            indices => span(b.first_index, b.first_index + b.count - 1),
            head => b.head.to_string(),
            tx => b.tx.map(|t| t.to_string()).unwrap_or_default(),
            block => b.block,
            at => when(b.anchored_at_ms),
        }).collect::<Vec<_>>(),
        data => Value::from_safe_string(data),
        chartjs => Value::from_safe_string(CHART_JS.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Some(59_000)), "59 s");
        assert_eq!(human(Some(60_000)), "1 min");
        assert_eq!(human(Some(90 * 60_000)), "1.5 h");
        assert_eq!(human(Some(3 * 86_400_000)), "3.0 d");
        assert_eq!(human(None), "–");
        assert_eq!(span(0, 8), "0–8");
        assert_eq!(span(4, 4), "4");
    }
}
