//! The verification report: per event ✓/✗ with reasons and flags, and the
//! human-readable rendering `proofdesk verify` prints.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::protocol::bundle::{Bundle, EventCheck, OfflineReport};
use crate::protocol::fields::Timestamp;

#[derive(Debug, Clone, Serialize)]
pub struct EventReport {
    /// The offline findings, with on-chain problems added to its list.
    #[serde(flatten)]
    pub check: EventCheck,
    /// "anchored" or "pending".
    pub status: &'static str,
    pub block: Option<u64>,
    pub anchored_at: Option<String>,
    pub ok: bool,
    /// Warnings that do not break the proof: pending, backdated, late.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ticket: String,
    pub chain_id: u64,
    pub contract: String,
    /// True only if every check passed.
    pub valid: bool,
    pub problems: Vec<String>,
    pub events: Vec<EventReport>,
    pub status: Option<String>,
    pub resolution: Option<String>,
    pub pending: usize,
    pub broken_promises: usize,
    pub backdated: usize,
}

pub(super) fn build(
    bundle: &Bundle,
    offline: OfflineReport,
    problems: Vec<String>,
    anchored: &HashMap<u64, (u64, u64)>,
    batch_problems: &HashMap<u64, String>,
    chain_id: u64,
) -> VerifyReport {
    let mut events = Vec::new();
    let (mut pending, mut broken, mut backdated) = (0, 0, 0);
    for mut check in offline.events {
        let mut flags = Vec::new();
        let (mut block, mut anchored_at) = (None, None);
        match check.batch {
            None => {
                pending += 1;
                flags.push("pending: not yet in an anchored batch".to_owned());
            }
            Some(id) => {
                if let Some(p) = batch_problems.get(&id) {
                    check.problems.push(p.clone());
                }
                if let Some((number, time)) = anchored.get(&id) {
                    block = Some(*number);
                    let at_ms = *time as i64 * 1000;
                    anchored_at = Timestamp::from_millis(at_ms).map(|t| t.to_string());
                    if let Some(rec) = check.recorded_at_ms {
                        // Block times have 1 s resolution: compare at that grain.
                        if rec / 1000 > *time as i64 {
                            backdated += 1;
                            flags.push(
                                "backdated: recorded_at is later than the anchoring block's time"
                                    .to_owned(),
                            );
                        }
                        if at_ms > rec + bundle.max_merge_delay_ms as i64 + 999 {
                            broken += 1;
                            flags.push(format!(
                                "broken promise: anchored {} s after recording, beyond the {} s maximum merge delay",
                                (at_ms - rec) / 1000,
                                bundle.max_merge_delay_ms / 1000
                            ));
                        }
                    }
                }
            }
        }
        let status = if check.batch.is_some() {
            "anchored"
        } else {
            "pending"
        };
        let ok = check.problems.is_empty();
        events.push(EventReport {
            check,
            status,
            block,
            anchored_at,
            ok,
            flags,
        });
    }
    let valid = problems.is_empty() && events.iter().all(|e| e.ok);
    VerifyReport {
        ticket: bundle.ticket.to_string(),
        chain_id,
        contract: bundle.chain.contract.clone(),
        valid,
        problems,
        status: offline.final_state.as_ref().map(|s| s.status.to_string()),
        resolution: offline
            .final_state
            .as_ref()
            .and_then(|s| s.resolution.clone()),
        events,
        pending,
        broken_promises: broken,
        backdated,
    }
}

impl VerifyReport {
    /// The timeline a person reads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Ticket {}  (chain {}, contract {})",
            self.ticket, self.chain_id, self.contract
        );
        for p in &self.problems {
            let _ = writeln!(out, "  ✗ {p}");
        }
        for e in &self.events {
            let mark = if e.ok { "✓" } else { "✗" };
            let when = e.check.occurred_at.as_deref().unwrap_or("?");
            let what = e
                .check
                .event_type
                .as_deref()
                .unwrap_or("(unreadable record)");
            let anchor = match (&e.anchored_at, e.block) {
                (Some(at), Some(b)) => format!("anchored {at} in block {b}"),
                _ if e.status == "pending" => "pending".to_owned(),
                _ => "not anchored".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {mark} #{:<3} {when}  {what:<22} {anchor}",
                e.check.seq
            );
            for p in &e.check.problems {
                let _ = writeln!(out, "        ✗ {p}");
            }
            for f in &e.flags {
                let _ = writeln!(out, "        ! {f}");
            }
        }
        let _ = writeln!(
            out,
            "Status: {}{}",
            self.status.as_deref().unwrap_or("unknown"),
            self.resolution
                .as_deref()
                .map(|r| format!(", resolution {r}"))
                .unwrap_or_default()
        );
        let verdict = if self.valid {
            "VALID: every event checks out against the chain"
        } else {
            "INVALID: see ✗ above"
        };
        let _ = writeln!(
            out,
            "{verdict} ({} pending, {} broken promises, {} backdated)",
            self.pending, self.broken_promises, self.backdated
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::bundle::{Bundle, ChainRef};
    use crate::protocol::fields::TicketHandle;
    use crate::protocol::state::Policy;

    fn check(seq: u64, batch: Option<u64>, recorded_at_ms: i64) -> EventCheck {
        EventCheck {
            seq,
            index: Some(seq),
            event_type: Some("message.added".into()),
            occurred_at: None,
            recorded_at: None,
            recorded_at_ms: Some(recorded_at_ms),
            batch,
            problems: vec![],
        }
    }

    #[test]
    fn flags_backdating_broken_promises_and_pending() {
        let bundle = Bundle {
            version: 1,
            ticket: TicketHandle::from_random([1; 16]),
            chain: ChainRef {
                chain_id: 1,
                contract: "0x00".into(),
                anchorer: "0x00".into(),
            },
            max_merge_delay_ms: 60_000,
            policy: Policy::default(),
            batches: vec![],
            events: vec![],
        };
        let offline = OfflineReport {
            events: vec![
                check(0, Some(0), 1_000_000), // anchored at 1,010 s: on time
                check(1, Some(1), 1_000_000), // anchored at 1,200 s: 200 s late
                check(2, Some(0), 1_020_000), // recorded after its block (1,010 s)
                check(3, None, 1_030_000),    // pending
            ],
            problems: vec![],
            final_state: None,
            batches_used: vec![0, 1],
        };
        let anchored = HashMap::from([(0, (10, 1_010)), (1, (20, 1_200))]);
        let r = build(&bundle, offline, vec![], &anchored, &HashMap::new(), 1);
        assert_eq!((r.pending, r.broken_promises, r.backdated), (1, 1, 1));
        assert!(r.events[0].flags.is_empty());
        assert!(r.events[1].flags[0].starts_with("broken promise"));
        assert!(r.events[2].flags[0].starts_with("backdated"));
        assert!(r.valid, "flags are warnings, not failures");
        let with_problem = build(
            &bundle,
            OfflineReport {
                events: vec![check(0, Some(0), 0)],
                problems: vec![],
                final_state: None,
                batches_used: vec![0],
            },
            vec![],
            &anchored,
            &HashMap::from([(0, "batch 0 is not anchored on chain".to_owned())]),
            1,
        );
        assert!(!with_problem.valid);
    }
}
