//! The report as CSV: one row per figure (`report.csv`) and one per
//! breach or complaint open past its limit (`breaches.csv`).

use super::kpi::{Durations, Figures, Rate, WEEKDAYS};
use super::render::{Report, regulatory};

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// One row per figure: dimension, group, metric, then the values and the
/// basis (first/last index and batch) it rests on.
pub fn to_csv(r: &Report) -> String {
    let mut out = String::from(
        "dimension,group,metric,count,p50_ms,p90_ms,max_ms,numerator,denominator,value,tickets,first_index,last_index,first_batch,last_batch,chain_id,contract,mean_ms\n",
    );
    let tail = format!("{},{}", r.source.chain_id, r.source.contract);
    let mut figures = |dim: &str, group: &str, f: &Figures| {
        let dur = |out: &mut String, name: &str, d: &Durations| {
            out.push_str(&format!(
                "{},{},{name},{},{},{},{},,,,{},{},{},{},{},{tail},{}\n",
                csv_field(dim),
                csv_field(group),
                d.count,
                opt(d.p50_ms),
                opt(d.p90_ms),
                opt(d.max_ms),
                d.basis.tickets,
                opt(d.basis.first_index),
                opt(d.basis.last_index),
                opt(d.basis.first_batch),
                opt(d.basis.last_batch),
                opt(d.mean_ms),
            ));
        };
        let rate = |out: &mut String, name: &str, x: &Rate| {
            out.push_str(&format!(
                "{},{},{name},,,,,{},{},{},{},{},{},{},{},{tail},\n",
                csv_field(dim),
                csv_field(group),
                x.numerator,
                x.denominator,
                opt(x.value.map(|v| format!("{v:.6}"))),
                x.basis.tickets,
                opt(x.basis.first_index),
                opt(x.basis.last_index),
                opt(x.basis.first_batch),
                opt(x.basis.last_batch),
            ));
        };
        out.push_str(&format!(
            "{},{},tickets,{},,,,,,,{},{},{},{},{},{tail},\n",
            csv_field(dim),
            csv_field(group),
            f.tickets,
            f.basis.tickets,
            opt(f.basis.first_index),
            opt(f.basis.last_index),
            opt(f.basis.first_batch),
            opt(f.basis.last_batch),
        ));
        out.push_str(&format!(
            "{},{},complaints,{},,,,,,,,,,,,{tail},\n",
            csv_field(dim),
            csv_field(group),
            f.complaints
        ));
        dur(
            &mut out,
            "time_to_acknowledgement",
            &f.time_to_acknowledgement,
        );
        dur(&mut out, "first_response_time", &f.first_response_time);
        dur(
            &mut out,
            "time_to_final_response",
            &f.time_to_final_response,
        );
        dur(&mut out, "time_to_resolution", &f.time_to_resolution);
        dur(&mut out, "handling_time", &f.handling_time);
        rate(&mut out, "reopen_rate", &f.reopen_rate);
        rate(&mut out, "escalation_rate", &f.escalation_rate);
        rate(
            &mut out,
            "first_contact_resolution",
            &f.first_contact_resolution,
        );
        rate(&mut out, "csat", &f.csat);
        let n = &f.nps;
        out.push_str(&format!(
            "{},{},nps,{},,,,{},{},{},{},{},{},{},{},{tail},\n",
            csv_field(dim),
            csv_field(group),
            n.answers,
            n.promoters,
            n.detractors,
            opt(n.score.map(|v| format!("{v:.2}"))),
            n.basis.tickets,
            opt(n.basis.first_index),
            opt(n.basis.last_index),
            opt(n.basis.first_batch),
            opt(n.basis.last_batch),
        ));
    };
    figures("all", "all", &r.kpis.overall);
    for (dim, groups) in &r.kpis.groups {
        for (g, f) in groups {
            figures(dim, g, f);
        }
    }
    for c in &r.kpis.coverage {
        let slots = c
            .by_hour
            .iter()
            .enumerate()
            .map(|(h, s)| (format!("hour_of_day:{}", c.zone), format!("{h:02}"), s))
            .chain(
                c.by_weekday
                    .iter()
                    .zip(WEEKDAYS)
                    .map(|(s, d)| (format!("weekday:{}", c.zone), d.to_owned(), s)),
            );
        for (dim, group, slot) in slots {
            let f = Figures {
                tickets: slot.tickets,
                time_to_acknowledgement: slot.time_to_acknowledgement,
                first_response_time: slot.first_response_time,
                ..Figures::default()
            };
            out.push_str(&format!(
                "{},{},tickets,{},,,,,,,,,,,,{tail},\n",
                csv_field(&dim),
                group,
                f.tickets
            ));
            for (name, d) in [
                ("time_to_acknowledgement", &f.time_to_acknowledgement),
                ("first_response_time", &f.first_response_time),
            ] {
                out.push_str(&format!(
                    "{},{},{name},{},{},{},{},,,,{},{},{},{},{},{tail},{}\n",
                    csv_field(&dim),
                    group,
                    d.count,
                    opt(d.p50_ms),
                    opt(d.p90_ms),
                    opt(d.max_ms),
                    d.basis.tickets,
                    opt(d.basis.first_index),
                    opt(d.basis.last_index),
                    opt(d.basis.first_batch),
                    opt(d.basis.last_batch),
                    opt(d.mean_ms),
                ));
            }
        }
    }
    for c in regulatory(r) {
        out.push_str(&format!(
            "regulatory,{},share_met,{},,,,{},{},{},{},{},{},{},{},{tail},\n",
            csv_field(&c.limit),
            c.due,
            c.met,
            c.due,
            opt(c.share_met.map(|v| format!("{v:.6}"))),
            c.basis.tickets,
            opt(c.basis.first_index),
            opt(c.basis.last_index),
            opt(c.basis.first_batch),
            opt(c.basis.last_batch),
        ));
    }
    let i = &r.kpis.integrity;
    for (name, count) in [
        (
            "reported_earlier_than_recorded",
            i.reported_earlier_than_recorded.count,
        ),
        ("dated_before_creation", i.dated_before_creation.count),
        ("rating_not_by_customer", i.rating_not_by_customer.count),
        ("late_anchors", r.late_anchors.count),
        ("recorded_after_anchor", r.recorded_after_anchor.count),
    ] {
        out.push_str(&format!(
            "integrity,all,{name},{count},,,,,,,,,,,,{tail},\n"
        ));
    }
    out
}

/// Breaches and open complaints past their limit, one row each.
pub fn breaches_csv(r: &Report) -> String {
    let when = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let mut out = String::from("limit,kind,ticket,created,deadline,done,first_index,last_index\n");
    for c in regulatory(r) {
        for (kind, list) in [
            ("late", &c.late),
            ("open_past_limit", &c.open_past_limit),
            ("recorded_after_limit", &c.recorded_after_limit),
        ] {
            for b in list {
                out.push_str(&format!(
                    "{},{kind},{},{},{},{},{},{}\n",
                    csv_field(&c.limit),
                    b.ticket,
                    when(Some(b.created_ms)),
                    when(Some(b.deadline_ms)),
                    when(b.done_ms),
                    b.first_index,
                    b.last_index
                ));
            }
        }
    }
    out
}
