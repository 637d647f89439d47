//! The receipts the user holds, each against the bundle and the chain: who
//! signed it (only the contract's anchorer counts), whether it is for this
//! chain, contract and ticket, and whether the bundle holds its event. A
//! receipt the log signed for an event the bundle lacks is evidence.

use alloy::primitives::Address;

use super::VerifyOptions;
use super::onchain::ChainFacts;
use super::receipt::signer_of;
use super::report::{MmdSource, ReceiptReport};
use proofdesk_protocol::bundle::Bundle;
use proofdesk_protocol::receipt::SignedReceipt;

pub(super) struct CheckedReceipt<'a> {
    pub signed: &'a SignedReceipt,
    pub report: ReceiptReport,
    /// Signed by the anchorer: may set the deadline.
    pub authentic: bool,
}

pub(super) fn check_receipt<'a>(
    signed: &'a SignedReceipt,
    bundle: &Bundle,
    facts: &ChainFacts,
    contract: Address,
) -> CheckedReceipt<'a> {
    let r = &signed.receipt;
    let mut problems = Vec::new();
    let signer = signer_of(signed);
    let signer_text = signer.as_ref().ok().map(|a| format!("{a:#x}"));
    let mut authentic = false;
    match (&signer, facts.anchorer) {
        (Err(e), _) => problems.push(format!("receipt for seq {}: {e}", r.seq)),
        (Ok(s), Some(anchorer)) if *s == anchorer => authentic = true,
        (Ok(s), Some(anchorer)) => problems.push(format!(
            "receipt for seq {} is signed by {s:#x}, not by the contract's anchorer {anchorer:#x}",
            r.seq
        )),
        (Ok(_), None) => problems.push(format!(
            "receipt for seq {}: the contract's anchorer could not be read to check its signer",
            r.seq
        )),
    }
    if r.chain_id != facts.chain_id {
        problems.push(format!(
            "receipt for seq {} is for chain {}, not chain {}",
            r.seq, r.chain_id, facts.chain_id
        ));
    }
    if r.contract.parse::<Address>().ok() != Some(contract) {
        problems.push(format!(
            "receipt for seq {} names contract {}, not {contract:#x}",
            r.seq, r.contract
        ));
    }
    if r.ticket != bundle.ticket {
        problems.push(format!(
            "receipt for seq {} is for ticket {}, not {}",
            r.seq, r.ticket, bundle.ticket
        ));
    }
    let in_bundle = usize::try_from(r.seq)
        .ok()
        .and_then(|s| bundle.events.get(s));
    let found = in_bundle.is_some_and(|e| {
        e.leaf == r.leaf && e.record.get("index").and_then(|i| i.as_u64()) == Some(r.index)
    });
    if authentic && r.ticket == bundle.ticket && !found {
        problems.push(format!(
            "the log signed a receipt for seq {} (index {}, leaf {}), and the bundle {}: \
             the event was withheld or changed after it was recorded — keep this receipt as evidence",
            r.seq,
            r.index,
            r.leaf,
            if in_bundle.is_some() {
                "holds a different event at that seq"
            } else {
                "does not hold it"
            }
        ));
    }
    CheckedReceipt {
        signed,
        authentic,
        report: ReceiptReport {
            seq: r.seq,
            index: r.index,
            signer: signer_text,
            found,
            problems,
        },
    }
}

/// The MMD that bounds anchoring: the user's, else the largest signed in
/// the authentic receipts, else none. The bundle's own figure is never one.
pub(super) fn choose_mmd(
    options: &VerifyOptions,
    receipts: &[CheckedReceipt],
) -> Option<(u64, MmdSource)> {
    if let Some(user) = options.max_merge_delay_ms {
        return Some((user, MmdSource::User));
    }
    receipts
        .iter()
        .filter(|c| c.authentic)
        .filter_map(|c| {
            let r = &c.signed.receipt;
            u64::try_from(
                r.anchor_deadline
                    .millis()
                    .checked_sub(r.recorded_at.millis())?,
            )
            .ok()
        })
        .max()
        .map(|mmd| (mmd, MmdSource::Receipts))
}
