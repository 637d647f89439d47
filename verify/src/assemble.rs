//! Putting the report together: the offline findings and the chain's facts
//! per event (timeline.rs), the user's receipts (receipt_checks.rs) and
//! disclosures, the verdict class and the caveats (caveats.rs). Pure: every
//! chain fact arrives in `ChainFacts`. One pass over the events: the time is
//! linear in the bundle's size.

use std::collections::HashMap;

use alloy::primitives::Address;

use super::caveats::{Caveats, caveats};
use super::onchain::BatchFact;
use super::onchain::ChainFacts;
use super::receipt_checks::{CheckedReceipt, check_receipt, choose_mmd};
use super::report::{
    Completeness, DisclosureReport, EventStatus, ReceiptReport, Verdict, VerifyReport,
};
use super::timeline::{self, Timeline};
use super::{ContractSource, Deployment, RpcSource, VerifyOptions};
use proofdesk_protocol::bundle::{Bundle, MapCheck, OfflineReport};
use proofdesk_protocol::record::HashedRecord;

pub(super) struct Inputs<'a> {
    pub bundle: &'a Bundle,
    pub offline: OfflineReport,
    pub problems: Vec<String>,
    pub facts: &'a ChainFacts,
    pub options: &'a VerifyOptions,
    pub contract: Address,
    pub contract_source: ContractSource,
    pub listed: Option<Deployment>,
}

pub(super) fn build(inputs: Inputs) -> VerifyReport {
    let Inputs {
        bundle,
        offline,
        mut problems,
        facts,
        options,
        contract,
        contract_source,
        listed,
    } = inputs;
    let receipts: Vec<CheckedReceipt> = options
        .receipts
        .iter()
        .map(|r| check_receipt(r, bundle, facts, contract))
        .collect();
    let mmd = choose_mmd(options, &receipts);
    let own_deadlines = signed_deadlines(&receipts);
    let claimed_mmd = bundle.max_merge_delay_ms;
    let Timeline {
        mut events,
        notes,
        pending,
        withheld,
        broken,
        backdated,
        max_lag,
    } = timeline::judge(timeline::Inputs {
        checks: offline.events,
        bundle,
        facts,
        own_deadlines: &own_deadlines,
        mmd: mmd.map(|(m, _)| m),
    });
    // Problems with the bundle as a whole (ticket, contract, chain, RPCs):
    // no event is shown ✓ under them.
    let whole_ok = problems.is_empty();
    for e in &mut events {
        e.verified = whole_ok && e.ok && e.status == EventStatus::Anchored;
    }
    // The chain vouches for the anchored prefix: seq 0 up to the last
    // anchored event.
    let anchored_through = events
        .iter()
        .rposition(|e| e.status == EventStatus::Anchored)
        .map(|i| i as u64);

    let disclosures = check_disclosures(options, bundle);
    for d in disclosures.iter().filter(|d| !d.ok) {
        problems.push(format!("disclosure for seq {}: {}", d.seq, d.message));
    }
    let receipts: Vec<ReceiptReport> = receipts.into_iter().map(|c| c.report).collect();
    for r in &receipts {
        problems.extend(r.problems.iter().cloned());
    }

    let map_at = map_completeness(offline.map, bundle, facts, &mut problems);

    // A bundle of pending events alone proves nothing yet: not valid, but
    // not evidence of anything either (a ticket opened a moment ago); a
    // proof of the ticket's absence at an anchored batch is something.
    let unproven = anchored_through.is_none();
    let checks_pass = problems.is_empty() && events.iter().all(|e| e.ok);
    // Only a bundle that passed every check proves a prefix complete.
    let complete_through_seq = anchored_through.filter(|_| checks_pass);
    let complete_as_of = map_at.filter(|_| checks_pass);
    // No events, and an anchored map that has none: the handle's absence
    // is proven, which is not "nothing anchored yet".
    let absent = bundle.events.is_empty() && complete_as_of.is_some_and(|c| c.tip_seq.is_none());
    let bring = what_to_bring(contract_source, facts);
    let verdict = match (checks_pass, absent, unproven, bring.is_empty()) {
        (false, _, _, _) => Verdict::Invalid,
        (true, true, _, true) => Verdict::Absent,
        (true, true, _, false) => Verdict::Consistent,
        (true, false, true, _) => Verdict::Pending,
        (true, false, false, true) => Verdict::Valid,
        (true, false, false, false) => Verdict::Consistent,
    };

    let caveats = caveats(Caveats {
        bundle,
        facts,
        options,
        contract,
        contract_source,
        listed: listed.as_ref(),
        complete_through_seq,
        complete_as_of,
        unproven,
        receipts: &receipts,
        pending,
        mmd,
        max_lag,
        events: &events,
    });

    let state = match (checks_pass, anchored_through) {
        (true, Some(k)) => usize::try_from(k)
            .ok()
            .and_then(|k| offline.states.get(k))
            .and_then(|s| s.as_ref()),
        _ => None,
    };
    VerifyReport {
        verdict,
        valid: verdict == Verdict::Valid,
        ticket: bundle.ticket.to_string(),
        ticket_source: options
            .expected_ticket
            .as_ref()
            .map(|_| options.ticket_source),
        chain_id: facts.chain_id,
        contract: format!("{contract:#x}"),
        contract_source,
        contract_listed: listed.map(|d| d.describe()),
        bundle_contract: bundle.chain.contract.clone(),
        rpcs: facts.rpcs.clone(),
        at_block: facts.at_block,
        anchorer: facts.anchorer.map(|a| format!("{a:#x}")),
        problems,
        notes,
        unusable_receipts: options.unusable_receipts.clone(),
        caveats,
        bring,
        status: state.map(|s| s.status.to_string()),
        resolution: state.and_then(|s| s.resolution.clone()),
        final_response: state.and_then(|s| s.final_response.clone()),
        complete_through_seq,
        complete_as_of,
        unproven,
        events,
        pending,
        withheld_pending: withheld,
        broken_promises: broken,
        backdated,
        max_merge_delay_ms: mmd.map(|(m, _)| m),
        max_merge_delay_source: mmd.map(|(_, s)| s),
        claimed_max_merge_delay_ms: claimed_mmd,
        max_anchoring_lag_s: max_lag,
        receipts,
        disclosures,
    }
}

/// What the bundle's map proof (checked offline) comes to once the chain
/// is read: complete as of batch B when B is anchored with the bundle's
/// head v2 (PROTOCOL.md §15.4). A head for B that the chain contradicts is
/// a problem; B not on chain yet establishes nothing.
fn map_completeness(
    checked: Option<MapCheck>,
    bundle: &Bundle,
    facts: &ChainFacts,
    problems: &mut Vec<String>,
) -> Option<Completeness> {
    let checked = checked?;
    let b = checked.batch;
    match facts.batches.get(&b) {
        Some(BatchFact::Anchored(at)) => {
            let latest = facts.batch_count.and_then(|n| n.checked_sub(1));
            Some(Completeness {
                batch: b,
                block: at.block,
                time: at.time,
                tip_seq: checked.tip_seq,
                later_batch_on_chain: latest.filter(|l| *l > b),
            })
        }
        Some(BatchFact::Problem(p)) => {
            // An event's batch is judged with its events; the map's own
            // batch is judged here.
            if !bundle.events.iter().any(|e| e.batch == Some(b)) {
                problems.push(format!("the ticket map's batch {b}: {p}"));
            }
            None
        }
        Some(BatchFact::NotOnChain) | None => None,
    }
}

/// Each disclosure against the record at its seq (PROTOCOL.md §12.1).
fn check_disclosures(options: &VerifyOptions, bundle: &Bundle) -> Vec<DisclosureReport> {
    options
        .disclosures
        .iter()
        .map(|d| {
            let record = usize::try_from(d.seq)
                .ok()
                .and_then(|s| bundle.events.get(s))
                .and_then(|e| HashedRecord::from_value(&e.record).ok());
            let (ok, message) = match record {
                None => (
                    false,
                    format!("the bundle has no readable event at seq {}", d.seq),
                ),
                Some(h) => match d.check(&h.record) {
                    Ok(()) => (
                        true,
                        format!(
                            "the message recorded at seq {} on {} is exactly this text",
                            d.seq, h.record.occurred_at
                        ),
                    ),
                    Err(e) => (false, e.to_string()),
                },
            };
            DisclosureReport {
                seq: d.seq,
                index: d.index,
                ok,
                message,
            }
        })
        .collect()
}

/// A receipt for an event sets that event's deadline, signed: seq →
/// deadline, ms, from the authentic receipts whose event the bundle holds.
fn signed_deadlines(receipts: &[CheckedReceipt]) -> HashMap<u64, i64> {
    let mut deadlines = HashMap::new();
    for c in receipts.iter().filter(|c| c.authentic && c.report.found) {
        deadlines
            .entry(c.signed.receipt.seq)
            .or_insert(c.signed.receipt.anchor_deadline.millis());
    }
    deadlines
}

/// What the user still has to bring for the verdict to rest on nothing the
/// log chose: a contract from outside it, and an RPC of their own.
fn what_to_bring(contract_source: ContractSource, facts: &ChainFacts) -> Vec<String> {
    let mut bring = Vec::new();
    if !contract_source.independent() {
        bring.push(
            "the contract the platform publishes (--contract), or a deployment list that has it (--deployments)"
                .to_owned(),
        );
    }
    if !facts.rpcs.iter().any(|r| r.source == RpcSource::Typed) {
        bring.push("an RPC endpoint of your own (--rpc)".to_owned());
    }
    bring
}
