//! The verification report: the offline findings and the chain's facts put
//! together per event (✓ anchored and checked, … pending, ✗ failed), the
//! receipts and disclosures the user brought, the flags, the verdict class
//! (PROTOCOL.md §13.1) and what the bundle cannot prove. Pure: every chain
//! fact arrives in `ChainFacts`. One pass over the events: the time is
//! linear in the bundle's size.

use std::collections::HashMap;

use alloy::primitives::Address;
use serde::Serialize;

use super::onchain::{ChainFacts, RpcSeen};
use super::receipt::signer_of;
use super::timeline::{self, Timeline, duration_words};
use super::{ContractSource, Deployment, RpcSource, TicketSource, VerifyOptions};
use proofdesk_protocol::bundle::{Bundle, EventCheck, OfflineReport};
use proofdesk_protocol::receipt::SignedReceipt;
use proofdesk_protocol::record::HashedRecord;

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
            Verdict::Error => "error",
        }
    }

    /// `proofdesk verify`'s exit status. Pending keeps the code it always
    /// had (1: not valid); `consistent` has its own, 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid | Verdict::Pending => 1,
            Verdict::Error => 2,
            Verdict::Consistent => 3,
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

struct CheckedReceipt<'a> {
    signed: &'a SignedReceipt,
    report: ReceiptReport,
    /// Signed by the anchorer: may set the deadline.
    authentic: bool,
}

fn check_receipt<'a>(
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
fn choose_mmd(options: &VerifyOptions, receipts: &[CheckedReceipt]) -> Option<(u64, MmdSource)> {
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
    // A receipt for an event sets that event's deadline, signed.
    let mut own_deadlines: HashMap<u64, i64> = HashMap::new();
    for c in receipts.iter().filter(|c| c.authentic && c.report.found) {
        own_deadlines
            .entry(c.signed.receipt.seq)
            .or_insert(c.signed.receipt.anchor_deadline.millis());
    }
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

    // A bundle of pending events alone proves nothing yet: not valid, but
    // not evidence of anything either (a ticket opened a moment ago).
    let unproven = anchored_through.is_none();
    let checks_pass = problems.is_empty() && events.iter().all(|e| e.ok);
    // Only a bundle that passed every check proves a prefix complete.
    let complete_through_seq = anchored_through.filter(|_| checks_pass);
    let user_rpc = facts.rpcs.iter().any(|r| r.source == RpcSource::Typed);
    let mut bring = Vec::new();
    if !contract_source.independent() {
        bring.push(
            "the contract the platform publishes (--contract), or a deployment list that has it (--deployments)"
                .to_owned(),
        );
    }
    if !user_rpc {
        bring.push("an RPC endpoint of your own (--rpc)".to_owned());
    }
    let verdict = match (checks_pass, unproven, bring.is_empty()) {
        (false, _, _) => Verdict::Invalid,
        (true, true, _) => Verdict::Pending,
        (true, false, true) => Verdict::Valid,
        (true, false, false) => Verdict::Consistent,
    };

    let caveats = caveats(Caveats {
        bundle,
        facts,
        options,
        contract,
        contract_source,
        listed: listed.as_ref(),
        complete_through_seq,
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

struct Caveats<'a> {
    bundle: &'a Bundle,
    facts: &'a ChainFacts,
    options: &'a VerifyOptions,
    contract: Address,
    contract_source: ContractSource,
    listed: Option<&'a Deployment>,
    complete_through_seq: Option<u64>,
    unproven: bool,
    receipts: &'a [ReceiptReport],
    pending: usize,
    mmd: Option<(u64, MmdSource)>,
    max_lag: Option<i64>,
    events: &'a [EventReport],
}

/// What the result does not prove, and where its trust comes from.
fn caveats(c: Caveats) -> Vec<String> {
    let Caveats {
        bundle,
        facts,
        options,
        contract,
        contract_source,
        listed,
        complete_through_seq,
        unproven,
        receipts,
        pending,
        mmd,
        max_lag,
        events,
    } = c;
    let mut caveats = Vec::new();
    if contract_source == ContractSource::Bundle {
        caveats.push(format!(
            "UNTRUSTED CONTRACT: {contract:#x} was taken from the bundle (--trust-bundle-contract). Anyone can deploy \
             a SupportAnchor, so this shows only that the records match a contract the log itself chose"
        ));
    }
    if let Some(d) = listed
        && facts.anchorer.is_some_and(|a| a != d.anchorer_address())
    {
        caveats.push(format!(
            "the deployment list names anchorer {} for this contract; its anchorer() is now {} \
             (rotated since the list was reviewed?)",
            d.anchorer,
            facts
                .anchorer
                .map(|a| format!("{a:#x}"))
                .unwrap_or_default()
        ));
    }
    if contract_source == ContractSource::Typed && listed.is_none() {
        let elsewhere = options
            .deployments
            .on_other_chains(facts.chain_id, contract);
        if let Some(d) = elsewhere.first() {
            caveats.push(format!(
                "the deployment list has {contract:#x} as {}'s deployment on chain {}, not on chain {}, which your RPC serves",
                d.platform, d.chain_id, facts.chain_id
            ));
        }
    }
    match complete_through_seq {
        // Failed: nothing is established, and the report does not say
        // otherwise.
        None if !unproven => {}
        Some(k) => caveats.push(format!(
            "events seq 0 through {k} are anchored and complete: none between them can have been removed \
             or changed. Later events are not ruled out: a log can withhold events recorded after seq {k}"
        )),
        None => caveats.push(
            "no event of this ticket is anchored yet, so nothing can be verified: \
             check again after the anchoring deadline"
                .into(),
        ),
    }
    if !receipts.is_empty() {
        let all_found = receipts.iter().all(|r| r.found);
        let top = receipts.iter().map(|r| r.seq).max().unwrap_or(0);
        caveats.push(if all_found {
            format!(
                "every receipt you hold ({}, up to seq {top}) matches an event in the bundle",
                receipts.len()
            )
        } else {
            "a receipt you hold has no matching event in the bundle (see above)".into()
        });
    }
    if pending > 0 {
        caveats.push(format!(
            "{pending} pending event(s) are not anchored yet: they are listed, but the status does not include them"
        ));
    }
    caveats.push(time_limits(mmd, bundle.max_merge_delay_ms, max_lag, events));
    caveats.push(
        "one bundle cannot show whether the log gave another reader a different version of an event; \
         a full audit of the log (proofdesk audit) can"
            .into(),
    );

    caveats
}

/// What is bounded in time, and by whom (PROTOCOL.md §13.4).
fn time_limits(
    mmd: Option<(u64, MmdSource)>,
    claimed_mmd: u64,
    max_lag: Option<i64>,
    events: &[EventReport],
) -> String {
    let clock = "recorded_at is the log's own clock; the chain bounds it from above: an event was recorded \
                 no later than its anchoring block's time, which block producers set";
    match mmd {
        Some((m, MmdSource::User)) => format!(
            "{clock}. The anchoring delay is bounded by you: a maximum merge delay of {m} ms (--max-merge-delay)"
        ),
        Some((m, MmdSource::Receipts)) => format!(
            "{clock}. The anchoring delay is bounded by your receipts: signed deadlines, a maximum merge delay of {m} ms"
        ),
        None => {
            let longest = max_lag
                .and_then(|l| {
                    events
                        .iter()
                        .find(|e| e.anchoring_lag_s == Some(l))
                        .map(|e| {
                            format!(
                                " The longest anchoring lag is {} (seq {}).",
                                duration_words(l),
                                e.check.seq
                            )
                        })
                })
                .unwrap_or_default();
            format!(
                "{clock}. The anchoring delay is not bounded by anything you hold: the log claims a maximum merge \
                 delay of {claimed_mmd} ms (unsigned, its own word, never used to call an anchor timely), so no \
                 event is called anchored in time, and each event's anchoring lag is shown.{longest} To judge the \
                 lags, bring your receipts (--receipt) or your own bound (--max-merge-delay)"
            )
        }
    }
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
    }
}
