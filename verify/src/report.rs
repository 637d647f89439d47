//! The verification report: per event (✓ anchored and checked, … pending,
//! ✗ failed), the receipts and disclosures the user brought, the flags, the
//! verdict class (PROTOCOL.md §13.1) and what the bundle cannot prove.
//! assemble.rs fills it in; render.rs writes it for a person.

use serde::Serialize;

use super::onchain::RpcSeen;
use super::{ContractSource, TicketSource};
use proofdesk_protocol::bundle::EventCheck;

/// The verdict classes every verifier shares (CLI and page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passes, an event is anchored, the contract is typed or
    /// from the deployment list, and an RPC is the user's.
    Valid,
    /// Every check passes, but the contract or every RPC came only from the
    /// log, a link or the bundle: consistent with the log's own claims, not
    /// independently checked.
    Consistent,
    /// A check failed.
    Invalid,
    /// The checks pass, but nothing is anchored yet.
    Pending,
    /// The checks pass, the bundle has no events, and the ticket map of a
    /// batch anchored on chain proves the handle absent (PROTOCOL.md §15.4),
    /// with a contract and an RPC of the user's own: the log had recorded
    /// nothing for this handle by then.
    Absent,
    /// Could not verify (an RPC down, unreadable input). Never in a report:
    /// the CLI prints it for an error.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Consistent => "consistent",
            Verdict::Invalid => "invalid",
            Verdict::Pending => "pending",
            Verdict::Absent => "absent",
            Verdict::Error => "error",
        }
    }

    /// `proofdesk verify`'s exit status. Pending keeps the code it always
    /// had (1: not valid); `consistent` has its own, 3, and `absent` 4.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid | Verdict::Pending => 1,
            Verdict::Error => 2,
            Verdict::Consistent => 3,
            Verdict::Absent => 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Anchored,
    Pending,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventReport {
    /// The offline findings, with on-chain problems added to its list.
    #[serde(flatten)]
    pub check: EventCheck,
    pub status: EventStatus,
    pub block: Option<u64>,
    pub anchored_at: Option<String>,
    /// Seconds from `recorded_at` to the anchoring block's time.
    pub anchoring_lag_s: Option<i64>,
    /// Anchored by its deadline: `Some(true)` only against a deadline the
    /// user holds (their own MMD, or a signed receipt); never from the
    /// bundle's own claim, which can only show an anchor late.
    pub timely: Option<bool>,
    /// No problem found in this event. A pending event can be ok without
    /// being proven.
    pub ok: bool,
    /// Anchored, every check of this event passed, and nothing about the
    /// bundle as a whole failed: the only state shown as ✓.
    pub verified: bool,
    /// Warnings that do not break the proof: pending, backdated, late.
    pub flags: Vec<String>,
}

/// Who bounds the maximum merge delay used to call an anchor timely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MmdSource {
    /// Given by the user (`--max-merge-delay`).
    User,
    /// Signed: `anchor_deadline − recorded_at` of the receipts.
    Receipts,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiptReport {
    pub seq: u64,
    pub index: u64,
    pub signer: Option<String>,
    /// The bundle holds this event with the receipt's index and leaf.
    pub found: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DisclosureReport {
    pub seq: u64,
    pub index: u64,
    pub ok: bool,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub verdict: Verdict,
    /// `verdict == valid`.
    pub valid: bool,
    pub ticket: String,
    /// Where the ticket the bundle was bound to came from; None when the
    /// user named none (the bundle's own ticket is then only shown).
    pub ticket_source: Option<TicketSource>,
    pub chain_id: u64,
    /// The contract checked against, and where it came from.
    pub contract: String,
    pub contract_source: ContractSource,
    /// "it matches <platform>'s published deployment", or the development
    /// deployment, when the contract is on the deployment list.
    pub contract_listed: Option<String>,
    /// The contract the bundle names.
    pub bundle_contract: String,
    /// The RPCs read, and the block every fact was read at.
    pub rpcs: Vec<RpcSeen>,
    pub at_block: Option<u64>,
    /// `anchorer()` on chain, when it could be read.
    pub anchorer: Option<String>,
    pub problems: Vec<String>,
    /// Facts that are not failures (the log's claimed block was off).
    pub notes: Vec<String>,
    /// Receipts given that could not be read: the verdict does not rest on
    /// them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unusable_receipts: Vec<String>,
    /// What the result does not prove; always shown.
    pub caveats: Vec<String>,
    /// For `consistent`: what to bring to verify independently.
    pub bring: Vec<String>,
    pub events: Vec<EventReport>,
    /// From the anchored events only, and only when every check passed.
    pub status: Option<String>,
    pub resolution: Option<String>,
    pub final_response: Option<String>,
    /// Seq of the last anchored event, when every check passed: 0..=this
    /// is proven complete.
    pub complete_through_seq: Option<u64>,
    /// The history is complete as of this batch (bundle v2, PROTOCOL.md
    /// §15.4): the map its anchored head commits has the ticket's tip as
    /// the bundle shows it. Only when every check passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_as_of: Option<Completeness>,
    /// No event is anchored yet: nothing is proven, nothing is disproven.
    pub unproven: bool,
    pub pending: usize,
    /// Pending events whose index the contract has already anchored past.
    pub withheld_pending: usize,
    pub broken_promises: usize,
    pub backdated: usize,
    /// The maximum merge delay that bounds anchoring, and who set it; None
    /// when nothing the user holds bounds it.
    pub max_merge_delay_ms: Option<u64>,
    pub max_merge_delay_source: Option<MmdSource>,
    /// The bundle's `max_merge_delay_ms`: the operator's unsigned claim,
    /// shown, never used to call an anchor timely.
    pub claimed_max_merge_delay_ms: u64,
    /// The longest `anchoring_lag_s` among the anchored events.
    pub max_anchoring_lag_s: Option<i64>,
    pub receipts: Vec<ReceiptReport>,
    pub disclosures: Vec<DisclosureReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_one_per_class() {
        assert_eq!(Verdict::Valid.exit_code(), 0);
        assert_eq!(Verdict::Invalid.exit_code(), 1);
        assert_eq!(Verdict::Pending.exit_code(), 1, "kept from before classes");
        assert_eq!(Verdict::Error.exit_code(), 2);
        assert_eq!(Verdict::Consistent.exit_code(), 3);
        assert_eq!(Verdict::Absent.exit_code(), 4);
    }
}

/// Completeness as of a batch (PROTOCOL.md §15.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Completeness {
    /// B: the batch whose ticket map the bundle's proof is against.
    pub batch: u64,
    /// Where and when the chain anchored B.
    pub block: u64,
    pub time: u64,
    /// The ticket's latest record as of B (its seq); None when the map
    /// proves that the ticket had no record anchored by B.
    pub tip_seq: Option<u64>,
    /// The latest batch on chain at the verifier's read (batchCount − 1),
    /// when later than B: events anchored after B are not ruled out.
    pub later_batch_on_chain: Option<u64>,
}
