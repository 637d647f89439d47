//! The verification report: per event ✓/✗ with reasons and flags, and the
//! human-readable rendering `proofdesk verify` prints.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::protocol::bundle::{Bundle, OfflineReport};
use crate::protocol::fields::Timestamp;

#[derive(Debug, Clone, Serialize)]
pub struct EventReport {
    pub seq: u64,
    pub index: Option<u64>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub occurred_at: Option<String>,
    pub recorded_at: Option<String>,
    /// "anchored" or "pending".
    pub status: &'static str,
    pub batch: Option<u64>,
    pub block: Option<u64>,
    pub anchored_at: Option<String>,
    pub ok: bool,
    pub problems: Vec<String>,
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
    for check in offline.events {
        let mut ev_problems = check.problems.clone();
        let mut flags = Vec::new();
        let (mut block, mut anchored_at) = (None, None);
        match check.batch {
            None => {
                pending += 1;
                flags.push("pending: not yet in an anchored batch".to_owned());
            }
            Some(id) => {
                if let Some(p) = batch_problems.get(&id) {
                    ev_problems.push(p.clone());
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
        events.push(EventReport {
            seq: check.seq,
            index: check.index,
            event_type: check.event_type,
            occurred_at: check.occurred_at,
            recorded_at: check.recorded_at,
            status: if check.batch.is_some() {
                "anchored"
            } else {
                "pending"
            },
            batch: check.batch,
            block,
            anchored_at,
            ok: ev_problems.is_empty(),
            problems: ev_problems,
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
            let when = e.occurred_at.as_deref().unwrap_or("?");
            let what = e.event_type.as_deref().unwrap_or("(unreadable record)");
            let anchor = match (&e.anchored_at, e.block) {
                (Some(at), Some(b)) => format!("anchored {at} in block {b}"),
                _ if e.status == "pending" => "pending".to_owned(),
                _ => "not anchored".to_owned(),
            };
            let _ = writeln!(out, "  {mark} #{:<3} {when}  {what:<22} {anchor}", e.seq);
            for p in &e.problems {
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
