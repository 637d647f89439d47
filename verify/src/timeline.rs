//! The ticket's timeline: each event's offline findings put together with
//! what the chain says of its batch (anchored where and when, pending, or a
//! problem), its anchoring lag and deadline, and the flags (pending,
//! backdated, broken promise). One pass over the events: linear in the
//! bundle's size (a scan of the earlier events per event once made 200,000
//! events take 77 s).
//!
//! Time rules (PROTOCOL.md §13.4): a deadline the user holds (their MMD, or
//! a signed receipt) can show an anchor timely or late; the bundle's own
//! claimed delay can only show it late.

use std::collections::{BTreeSet, HashMap};

use super::onchain::{BatchFact, ChainFacts};
use super::report::{EventReport, EventStatus};
use proofdesk_protocol::bundle::{Bundle, EventCheck};
use proofdesk_protocol::fields::Timestamp;

/// `recorded_at + mmd` in milliseconds, or None when it does not fit.
fn deadline_ms(recorded_at_ms: i64, mmd_ms: u64) -> Option<i64> {
    i64::try_from(mmd_ms)
        .ok()
        .and_then(|m| recorded_at_ms.checked_add(m))
}

/// Block times have one-second resolution: an event is late only when the
/// block's second starts after the deadline's second ends.
fn after_deadline(time_s: u64, deadline_ms: i64) -> Option<bool> {
    let at_ms = i64::try_from(time_s).ok()?.checked_mul(1000)?;
    Some(at_ms > deadline_ms.checked_add(999)?)
}

/// Whole seconds from an instant in ms to a block time, clamped.
fn seconds_between(from_ms: i64, to_s: u64) -> i64 {
    (to_s as i128 - (from_ms as i128).div_euclid(1000)).clamp(i64::MIN as i128, i64::MAX as i128)
        as i64
}

/// A lag in words: "45 s", "3 h 2 min", "40 days".
pub fn duration_words(s: i64) -> String {
    let a = s.unsigned_abs();
    let sign = if s < 0 { "−" } else { "" };
    if a < 120 {
        format!("{sign}{a} s")
    } else if a < 7_200 {
        format!("{sign}{} min", a / 60)
    } else if a < 172_800 {
        format!("{sign}{} h {} min", a / 3_600, (a % 3_600) / 60)
    } else {
        format!("{sign}{} days {} h", a / 86_400, (a % 86_400) / 3_600)
    }
}

/// An event's anchoring deadline and what it rests on.
#[derive(Clone, Copy)]
enum Deadline {
    /// Signed in the event's own receipt, or recorded_at + an MMD the user
    /// holds: it can show an anchor timely or late.
    Held(i64),
    /// recorded_at + the bundle's own claim: it can only show an anchor
    /// late (the log breaking its own word), never timely.
    Claimed(i64),
}

pub(super) struct Inputs<'a> {
    pub checks: Vec<EventCheck>,
    pub bundle: &'a Bundle,
    pub facts: &'a ChainFacts,
    /// Per seq, the anchor_deadline of an authentic receipt for it, ms.
    pub own_deadlines: &'a HashMap<u64, i64>,
    /// The MMD the user holds (theirs, or their receipts'), ms.
    pub mmd: Option<u64>,
}

pub(super) struct Timeline {
    pub events: Vec<EventReport>,
    /// "the log claimed block N; anchored in block M", once per batch.
    pub notes: Vec<String>,
    pub pending: usize,
    pub withheld: usize,
    pub broken: usize,
    pub backdated: usize,
    pub max_lag: Option<i64>,
}

pub(super) fn judge(inputs: Inputs) -> Timeline {
    let Inputs {
        checks,
        bundle,
        facts,
        own_deadlines,
        mmd,
    } = inputs;
    let claimed_mmd = bundle.max_merge_delay_ms;
    let mut notes: Vec<String> = Vec::new();
    let mut noted_batches: BTreeSet<u64> = BTreeSet::new();
    let mut events = Vec::with_capacity(checks.len());
    let (mut pending, mut withheld, mut broken, mut backdated) = (0, 0, 0, 0);
    let mut seen_pending = false;
    let mut max_lag: Option<i64> = None;
    for mut check in checks {
        let mut flags = Vec::new();
        let (mut block, mut anchored_at, mut lag, mut timely) = (None, None, None, None);
        let deadline = match (own_deadlines.get(&check.seq), check.recorded_at_ms, mmd) {
            (Some(d), _, _) => Some(Deadline::Held(*d)),
            (None, Some(rec), Some(m)) => match deadline_ms(rec, m) {
                Some(d) => Some(Deadline::Held(d)),
                None => {
                    // Unreachable with a user MMD ≤ 2^53 − 1 and receipts'
                    // timestamps; refused rather than wrapped all the same.
                    check.problems.push(format!(
                        "its anchoring deadline (recorded_at + a maximum merge delay of {m} ms) is out of range"
                    ));
                    None
                }
            },
            (None, Some(rec), None) => deadline_ms(rec, claimed_mmd).map(Deadline::Claimed),
            (None, None, _) => None,
        };
        // Late against `when` (a block time): a flag, and whether timely.
        let mut judge = |when: u64, still_pending: bool, flags: &mut Vec<String>| {
            let late = match deadline {
                Some(Deadline::Held(d) | Deadline::Claimed(d)) => {
                    after_deadline(when, d).map(|l| (l, d))
                }
                None => None,
            };
            match (deadline, late) {
                (Some(Deadline::Held(_)), Some((late, d))) => {
                    if late {
                        broken += 1;
                        flags.push(if still_pending {
                            format!(
                                "broken promise: still not anchored {} after its anchoring deadline",
                                duration_words(seconds_between(d, when))
                            )
                        } else {
                            format!(
                                "broken promise: anchored {} after its anchoring deadline",
                                duration_words(seconds_between(d, when))
                            )
                        });
                    }
                    Some(!late)
                }
                (Some(Deadline::Claimed(_)), Some((true, d))) => {
                    broken += 1;
                    flags.push(format!(
                        "broken promise: {} {} after the deadline the log itself claims \
                         (recorded_at + its stated maximum merge delay of {claimed_mmd} ms)",
                        if still_pending {
                            "still not anchored"
                        } else {
                            "anchored"
                        },
                        duration_words(seconds_between(d, when))
                    ));
                    Some(false)
                }
                _ => None,
            }
        };
        // Pending: in no batch, or in a batch the log sealed but the chain
        // does not hold yet. Only the chain says an event is anchored.
        let fact = check.batch.and_then(|id| facts.batches.get(&id));
        let status = match (check.batch, fact) {
            (None, _) | (Some(_), Some(BatchFact::NotOnChain)) => EventStatus::Pending,
            _ => EventStatus::Anchored,
        };
        match (status, fact) {
            (EventStatus::Pending, _) => {
                pending += 1;
                seen_pending = true;
                flags.push("pending: not yet in an anchored batch, so not yet proven".to_owned());
                if let (Some(index), Some(next)) = (check.index, facts.next_index)
                    && index < next
                {
                    withheld += 1;
                    check.problems.push(format!(
                        "shown as pending, but the contract has anchored every index below {next} \
                         and this event has index {index}: its proof is being withheld, or the record was made up"
                    ));
                }
                if let Some(now) = facts.latest_time {
                    judge(now, true, &mut flags);
                }
            }
            (_, Some(BatchFact::Problem(p))) => check.problems.push(p.clone()),
            (_, None)
                if facts.chain_id == bundle.chain.chain_id && facts.disagreements.is_empty() =>
            {
                if let Some(id) = check.batch {
                    check
                        .problems
                        .push(format!("batch {id} could not be checked on chain"));
                }
            }
            (_, Some(BatchFact::Anchored(at))) => {
                block = Some(at.block);
                anchored_at = i64::try_from(at.time)
                    .ok()
                    .and_then(|t| t.checked_mul(1000))
                    .and_then(Timestamp::from_millis)
                    .map(|t| t.to_string());
                if let (Some(claimed), Some(id)) = (at.claimed, check.batch)
                    && noted_batches.insert(id)
                {
                    notes.push(format!(
                        "batch {id}: the log claimed block {claimed}; anchored in block {}",
                        at.block
                    ));
                }
                if let Some(rec) = check.recorded_at_ms {
                    if i128::from(rec.div_euclid(1000)) > i128::from(at.time) {
                        backdated += 1;
                        flags.push(
                            "backdated: recorded_at is later than the anchoring block's time"
                                .to_owned(),
                        );
                    }
                    let l = seconds_between(rec, at.time);
                    lag = Some(l);
                    max_lag = Some(max_lag.map_or(l, |m: i64| m.max(l)));
                }
                timely = judge(at.time, false, &mut flags);
            }
            _ => {}
        }
        if status == EventStatus::Anchored && seen_pending {
            check.problems.push(
                "anchored after an earlier event of the ticket that is pending: batches are \
                 anchored in index order, so that event's proof is being withheld"
                    .into(),
            );
        }
        let ok = check.problems.is_empty();
        events.push(EventReport {
            verified: false,
            check,
            status,
            block,
            anchored_at,
            anchoring_lag_s: lag,
            timely,
            ok,
            flags,
        });
    }
    Timeline {
        events,
        notes,
        pending,
        withheld,
        broken,
        backdated,
        max_lag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_use_checked_arithmetic_at_one_second_grain() {
        assert_eq!(deadline_ms(1_000, 60_000), Some(61_000));
        assert_eq!(
            deadline_ms(1_000, i64::MAX as u64),
            None,
            "overflow is refused"
        );
        assert_eq!(deadline_ms(1_000, u64::MAX), None, "not representable");
        // Deadline 61.000 s: a block at second 61 is on time (its second
        // may start before the deadline), second 62 is late.
        assert_eq!(after_deadline(61, 61_000), Some(false));
        assert_eq!(after_deadline(62, 61_000), Some(true));
        assert_eq!(after_deadline(62, 61_001), Some(false));
        assert_eq!(after_deadline(u64::MAX, 0), None);
        assert_eq!(after_deadline(1, i64::MAX), None);
        assert_eq!(seconds_between(61_000, 200), 139);
        assert_eq!(
            seconds_between(i64::MIN, u64::MAX),
            i64::MAX,
            "clamped, not wrapped"
        );
        // The largest MMD a user may give never overflows a deadline.
        let latest_record = Timestamp::parse_canonical("9999-12-31T23:59:59.999Z").unwrap();
        assert!(deadline_ms(latest_record.millis(), super::super::MAX_USER_MMD_MS).is_some());
    }

    #[test]
    fn lags_read_as_words() {
        assert_eq!(duration_words(45), "45 s");
        assert_eq!(duration_words(3_600), "60 min");
        assert_eq!(duration_words(3 * 3_600 + 120), "3 h 2 min");
        assert_eq!(duration_words(40 * 86_400), "40 days 0 h");
        assert_eq!(duration_words(-5), "−5 s");
        assert_eq!(
            duration_words(i64::MIN),
            format!("−{} days 15 h", i64::MIN.unsigned_abs() / 86_400)
        );
    }
}
