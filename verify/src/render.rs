//! The report as a person reads it: where each input came from, every
//! failure with ✗, the timeline, what the result cannot prove, and the
//! verdict in one line. A step that failed is never shown with ✓, and a
//! mismatched contract is never shown as the one the user expects.

use std::fmt::Write as _;

use super::RpcSource;
use super::report::{EventStatus, Verdict, VerifyReport};
use super::timeline::duration_words;

impl VerifyReport {
    /// The timeline a person reads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let ticket_from = match self.ticket_source {
            Some(s) => format!("bound to the ticket you asked for: {}", s.words()),
            None => "not bound: you named no ticket (--ticket), so this is the bundle's own".into(),
        };
        let _ = writeln!(out, "Ticket {}  ({ticket_from})", self.ticket);
        let listed = self
            .contract_listed
            .as_deref()
            .map(|l| format!("; {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Contract {}  ({}{listed})",
            self.contract,
            self.contract_source.words()
        );
        match self.at_block {
            Some(b) => {
                let _ = writeln!(out, "Chain {}, read at block {b} through:", self.chain_id);
            }
            None => {
                let _ = writeln!(out, "Chain {}, through:", self.chain_id);
            }
        }
        for r in &self.rpcs {
            let _ = writeln!(
                out,
                "  {}  ({}; chain {}, at block {})",
                r.url,
                r.source.words(),
                r.chain_id,
                r.block_number
            );
        }
        for p in &self.problems {
            let _ = writeln!(out, "  ✗ {p}");
        }
        for e in &self.events {
            let mark = match (e.ok, e.status, e.verified) {
                (false, _, _) => "✗",
                (true, _, true) => "✓",
                (true, EventStatus::Pending, false) => "…",
                // Checked, but the bundle as a whole failed: not counted.
                (true, EventStatus::Anchored, false) => "–",
            };
            let when = e.check.occurred_at.as_deref().unwrap_or("?");
            let what = e
                .check
                .event_type
                .as_deref()
                .unwrap_or("(unreadable record)");
            let lag = e
                .anchoring_lag_s
                .map(|l| format!(", {} after recorded_at", duration_words(l)))
                .unwrap_or_default();
            let anchor = match (&e.anchored_at, e.block, e.status) {
                (Some(at), Some(b), _) => format!("anchored {at} in block {b}{lag}"),
                (_, _, EventStatus::Pending) => "pending".to_owned(),
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
        for r in &self.receipts {
            let mark = if r.problems.is_empty() { "✓" } else { "✗" };
            let _ = writeln!(
                out,
                "  {mark} receipt for seq {} (index {}){}",
                r.seq,
                r.index,
                if r.found {
                    ": found in the bundle"
                } else {
                    ": NOT in the bundle"
                }
            );
        }
        for d in &self.disclosures {
            let mark = if d.ok { "✓" } else { "✗" };
            let _ = writeln!(out, "  {mark} disclosure: {}", d.message);
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        for r in &self.unusable_receipts {
            let _ = writeln!(
                out,
                "  ✗ {r}: this receipt could not be used, and the verdict does not rest on it"
            );
        }
        let absent_at = self
            .complete_as_of
            .filter(|c| self.events.is_empty() && c.tip_seq.is_none());
        match (self.verdict, absent_at) {
            (Verdict::Absent | Verdict::Consistent, Some(c)) => {
                let _ = writeln!(
                    out,
                    "Status: no record of this handle in the log as of batch {}{}",
                    c.batch,
                    if self.verdict == Verdict::Consistent {
                        ", as the log itself claims it"
                    } else {
                        ""
                    }
                );
            }
            (Verdict::Valid | Verdict::Consistent, _) => {
                let _ = writeln!(
                    out,
                    "Status (from anchored events{}): {}{}{}",
                    if self.verdict == Verdict::Consistent {
                        ", as the log itself claims it"
                    } else {
                        ""
                    },
                    self.status.as_deref().unwrap_or("unknown"),
                    self.resolution
                        .as_deref()
                        .map(|r| format!(", resolution {r}"))
                        .unwrap_or_default(),
                    self.final_response
                        .as_deref()
                        .map(|r| format!(", final response {r}"))
                        .unwrap_or_default()
                );
            }
            (Verdict::Pending, _) => {
                let _ = writeln!(out, "Status: not yet anchored, so not yet established");
            }
            // Absent always has its batch (assemble.rs).
            (Verdict::Invalid | Verdict::Error | Verdict::Absent, _) => {
                let _ = writeln!(
                    out,
                    "Status: not established (the bundle failed verification; nothing it claims is shown as fact)"
                );
            }
        }
        for c in &self.caveats {
            let _ = writeln!(out, "  note: {c}");
        }
        let verdict = match self.verdict {
            Verdict::Valid => {
                "VALID: every anchored event checks out against the chain, with a contract and an RPC of your own"
                    .to_owned()
            }
            Verdict::Consistent => {
                let mut why = Vec::new();
                if !self.contract_source.independent() {
                    why.push(format!("the contract is {}", self.contract_source.words()));
                }
                if !self.rpcs.iter().any(|r| r.source == RpcSource::Typed) {
                    why.push("no RPC is your own".to_owned());
                }
                format!(
                    "CONSISTENT, NOT INDEPENDENTLY CHECKED: the history is consistent with the log's own claims, \
                     but {}. To verify it, bring {}",
                    why.join(" and "),
                    self.bring.join(", and ")
                )
            }
            Verdict::Pending => {
                "NOT YET ANCHORED: no event of this ticket is anchored yet; nothing is proven or disproven"
                    .to_owned()
            }
            Verdict::Absent => format!(
                "ABSENT: the ticket map of batch {}, anchored on chain, holds no record of this handle; \
                 checked with a contract and an RPC of your own",
                absent_at.map_or(0, |c| c.batch)
            ),
            Verdict::Invalid | Verdict::Error => "INVALID: see ✗ above".to_owned(),
        };
        let _ = writeln!(
            out,
            "{verdict} ({} pending, {} broken promises, {} backdated)",
            self.pending, self.broken_promises, self.backdated
        );
        out
    }
}
