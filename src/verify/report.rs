//! The verification report: the offline findings and the chain's facts put
//! together per event (✓ anchored and checked, … pending, ✗ failed), the
//! receipts and disclosures the user brought, the flags, the verdict class
//! (PROTOCOL.md §13.1) and what the bundle cannot prove. Pure: every chain
//! fact arrives in `ChainFacts`. One pass over the events: the time is
//! linear in the bundle's size.

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::Address;
use serde::Serialize;

use super::onchain::{BatchFact, ChainFacts, RpcSeen};
use super::receipt::signer_of;
use super::{ContractSource, Deployment, RpcSource, TicketSource, VerifyOptions};
use crate::protocol::bundle::{Bundle, EventCheck, OfflineReport};
use crate::protocol::fields::Timestamp;
use crate::protocol::receipt::SignedReceipt;
use crate::protocol::record::HashedRecord;

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
    /// What the result does not prove; always shown.
    pub caveats: Vec<String>,
    /// For `consistent`: what to bring to verify independently.
    pub bring: Vec<String>,
    pub events: Vec<EventReport>,
    /// From the anchored events only, and only when every check passed.
    pub status: Option<String>,
    pub resolution: Option<String>,
    pub final_response: Option<String>,
    /// Seq of the last anchored event: 0..=this is proven complete.
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
    let mut own_receipts: HashMap<u64, &CheckedReceipt> = HashMap::new();
    for c in receipts.iter().filter(|c| c.authentic && c.report.found) {
        own_receipts.entry(c.signed.receipt.seq).or_insert(c);
    }
    let claimed_mmd = bundle.max_merge_delay_ms;

    let mut notes: Vec<String> = Vec::new();
    let mut noted_batches: BTreeMap<u64, ()> = BTreeMap::new();
    let mut events = Vec::with_capacity(offline.events.len());
    let (mut pending, mut withheld, mut broken, mut backdated) = (0, 0, 0, 0);
    let mut seen_pending = false;
    let mut max_lag: Option<i64> = None;
    for mut check in offline.events {
        let mut flags = Vec::new();
        let (mut block, mut anchored_at, mut lag, mut timely) = (None, None, None, None);
        let deadline = match (own_receipts.get(&check.seq), check.recorded_at_ms, mmd) {
            (Some(c), _, _) => Some(Deadline::Held(c.signed.receipt.anchor_deadline.millis())),
            (None, Some(rec), Some((m, _))) => match deadline_ms(rec, m) {
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
                    && noted_batches.insert(id, ()).is_none()
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

    let disclosures: Vec<DisclosureReport> = options
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
        .collect();
    for d in disclosures.iter().filter(|d| !d.ok) {
        problems.push(format!("disclosure for seq {}: {}", d.seq, d.message));
    }
    let receipts: Vec<ReceiptReport> = receipts.into_iter().map(|c| c.report).collect();
    for r in &receipts {
        problems.extend(r.problems.iter().cloned());
    }

    let complete_through_seq = anchored_through;
    // A bundle of pending events alone proves nothing yet: not valid, but
    // not evidence of anything either (a ticket opened a moment ago).
    let unproven = complete_through_seq.is_none();
    let checks_pass = problems.is_empty() && events.iter().all(|e| e.ok);
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

    let mut caveats = Vec::new();
    if contract_source == ContractSource::Bundle {
        caveats.push(format!(
            "UNTRUSTED CONTRACT: {contract:#x} was taken from the bundle (--trust-bundle-contract). Anyone can deploy \
             a SupportAnchor, so this shows only that the records match a contract the log itself chose"
        ));
    }
    if let Some(d) = &listed
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
    caveats.push(time_limits(mmd, claimed_mmd, max_lag, &events));
    caveats.push(
        "one bundle cannot show whether the log gave another reader a different version of an event; \
         a full audit of the log (proofdesk audit) can"
            .into(),
    );

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

    #[test]
    fn exit_codes_are_one_per_class() {
        assert_eq!(Verdict::Valid.exit_code(), 0);
        assert_eq!(Verdict::Invalid.exit_code(), 1);
        assert_eq!(Verdict::Pending.exit_code(), 1, "kept from before classes");
        assert_eq!(Verdict::Error.exit_code(), 2);
        assert_eq!(Verdict::Consistent.exit_code(), 3);
    }
}
