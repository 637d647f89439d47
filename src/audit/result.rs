//! What an audit found: the last line of a saved audit, and the text
//! `proofdesk audit` prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::check::{Failure, Flagged};
use crate::protocol::Hash32;
use crate::protocol::state::Policy;

/// One anchored batch the audit verified, with its anchoring transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedBatch {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub head: Hash32,
    pub tx: Option<Hash32>,
    pub block: Option<u64>,
    /// The anchoring block's timestamp, ms.
    #[serde(default)]
    pub anchored_at_ms: Option<i64>,
}

/// Which indices were audited, and why those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageKind {
    /// Every index the chain had anchored at `chain_block`.
    WholeLog,
    /// The index range the auditor asked for, widened to whole batches.
    IndexRange,
    /// The indices the log named for a recorded_at range, widened to
    /// whole batches: the log chose them (recorded_at is its clock).
    TimeRange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub kind: CoverageKind,
    /// Audited indices, end exclusive.
    pub first_index: u64,
    pub end_index: u64,
    /// The block the chain was read at, and what it said.
    pub chain_block: u64,
    pub chain_next_index: u64,
    pub chain_batches: u64,
    /// In words: what was asked for, and why these indices.
    pub why: String,
}

/// What an audit found; the last line of a saved audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditResult {
    pub ok: bool,
    pub log: String,
    pub chain_id: u64,
    pub contract: String,
    /// The state-machine policy replayed with (the log's own claim, from
    /// `/v1/log`: it only decides whether reopening a closed ticket is
    /// allowed).
    pub policy: Policy,
    pub coverage: Coverage,
    /// Index range audited, end exclusive (= coverage's).
    pub first_index: u64,
    pub end_index: u64,
    /// Lines read.
    pub records: u64,
    /// Records in a batch whose head matched the chain, with no failure of
    /// their own: exactly the records a report may count.
    pub verified_records: u64,
    pub tickets: u64,
    pub batches: Vec<VerifiedBatch>,
    /// Records the log says it holds beyond the chain's nextIndex(): not
    /// anchored yet, so not audited (the log's claim, for information).
    pub not_yet_anchored: u64,
    /// Tickets created before the range: their records are read but not
    /// counted (their chain start is outside the range).
    pub partial_tickets: Vec<String>,
    pub failures: Vec<Failure>,
    /// The maximum merge delay the auditor gave (`--max-merge-delay`), ms;
    /// never the log's own claim.
    pub max_merge_delay_ms: Option<u64>,
    /// Records anchored later than recorded_at + that delay.
    pub late_anchors: Flagged,
    /// Records whose recorded_at is after their anchoring block.
    pub recorded_after_anchor: Flagged,
    /// SHA-256 of every line of the saved audit before the result line.
    pub lines_sha256: Option<Hash32>,
    /// Why the export stopped before the end of the range, if it did (the
    /// missing indices are failures; a resume file keeps the place).
    #[serde(default)]
    pub stopped_early: Option<String>,
    pub elapsed_ms: u64,
    /// Fraud proofs (PROTOCOL.md §15.7) for what the audit found that a
    /// document can show to anyone: each checks with `proofdesk verify
    /// --fraud-proof`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fraud_proofs: Vec<crate::protocol::fraud::FraudProof>,
}

impl AuditResult {
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }

    pub fn render(&self) -> String {
        let c = &self.coverage;
        let mut s = format!(
            "audited records {}..{} ({} records, {} tickets, {} batches) of {} against contract {} on chain {} in {:.1} s\n",
            self.first_index,
            self.end_index,
            self.records,
            self.tickets,
            self.batches.len(),
            self.log,
            self.contract,
            self.chain_id,
            self.elapsed_ms as f64 / 1000.0
        );
        s.push_str(&format!("coverage: {}\n", c.why));
        if self.not_yet_anchored > 0 {
            s.push_str(&format!(
                "the log says it holds {} more records, not anchored at block {} and not audited\n",
                self.not_yet_anchored, c.chain_block
            ));
        }
        match self.max_merge_delay_ms {
            Some(mmd) => {
                if self.late_anchors.count > 0 {
                    s.push_str(&format!(
                        "⚠ {} records were anchored more than {} s after their recorded_at (the delay you gave): first at index {}\n",
                        self.late_anchors.count,
                        mmd / 1000,
                        self.late_anchors.first.first().copied().unwrap_or_default()
                    ));
                }
            }
            None => s.push_str(
                "no maximum merge delay given (--max-merge-delay): anchoring delays were not judged, and reports take each record as recorded when its block was\n",
            ),
        }
        if self.recorded_after_anchor.count > 0 {
            s.push_str(&format!(
                "⚠ {} records claim a recorded_at after their anchoring block: first at index {}\n",
                self.recorded_after_anchor.count,
                self.recorded_after_anchor
                    .first
                    .first()
                    .copied()
                    .unwrap_or_default()
            ));
        }
        if let Some(why) = &self.stopped_early {
            s.push_str(&format!(
                "the export stopped early: {why}; with --resume, the same command continues from the last checkpoint\n"
            ));
        }
        if self.ok {
            s.push_str("✓ every record, chain, replay, path and batch head checks\n");
        } else {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &self.failures {
                *kinds.entry(&f.kind).or_default() += 1;
            }
            s.push_str(&format!("✗ {} failures:", self.failures.len()));
            for (k, n) in kinds {
                s.push_str(&format!(" {k} ×{n}"));
            }
            s.push('\n');
            if let Some(f) = self.first_failure() {
                s.push_str(&format!("first failure: {f}\n"));
            }
            s.push_str("(all failures: --json)\n");
        }
        s
    }
}
