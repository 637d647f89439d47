//! The verification report: the offline findings and the chain's facts put
//! together per event (✓ anchored and checked, … pending, ✗ failed), the
//! receipts and disclosures the user brought, the flags, and what the
//! bundle cannot prove. Pure: every chain fact arrives in `ChainFacts`.

use std::fmt::Write as _;

use alloy::primitives::Address;
use serde::Serialize;

use super::onchain::{BatchFact, ChainFacts};
use super::receipt::signer_of;
use super::{ContractSource, VerifyOptions};
use crate::protocol::bundle::{Bundle, EventCheck, OfflineReport};
use crate::protocol::fields::Timestamp;
use crate::protocol::receipt::SignedReceipt;
use crate::protocol::record::HashedRecord;

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
    /// No problem found. A pending event can be ok without being proven.
    pub ok: bool,
    /// Anchored, and every check passed: the only state shown as ✓.
    pub verified: bool,
    /// Warnings that do not break the proof: pending, backdated, late.
    pub flags: Vec<String>,
}

/// Where the maximum merge delay used for the deadlines came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MmdSource {
    /// Given by the user (`--max-merge-delay`).
    User,
    /// Signed: `anchor_deadline − recorded_at` of the receipts.
    Receipts,
    /// The bundle's unsigned `max_merge_delay_ms`: the operator's own claim.
    Bundle,
}

impl MmdSource {
    fn describe(self) -> &'static str {
        match self {
            MmdSource::User => "given by you",
            MmdSource::Receipts => "signed in your receipts",
            MmdSource::Bundle => "from the bundle: unsigned, the operator's own claim",
        }
    }
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
    pub ticket: String,
    pub chain_id: u64,
    pub contract: String,
    pub contract_source: ContractSource,
    /// `anchorer()` on chain, when it could be read.
    pub anchorer: Option<String>,
    /// True only if every check passed.
    pub valid: bool,
    pub problems: Vec<String>,
    /// What the result does not prove; always shown.
    pub caveats: Vec<String>,
    pub events: Vec<EventReport>,
    /// From the anchored events only, and only when valid.
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
    pub max_merge_delay_ms: u64,
    pub max_merge_delay_source: MmdSource,
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

fn seconds_between(from_ms: i64, to_s: u64) -> i64 {
    (to_s as i128 - (from_ms as i128).div_euclid(1000)).clamp(i64::MIN as i128, i64::MAX as i128)
        as i64
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
    contract: Option<Address>,
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
    if let Some(c) = contract
        && r.contract.parse::<Address>().ok() != Some(c)
    {
        problems.push(format!(
            "receipt for seq {} names contract {}, not {c:#x}",
            r.seq, r.contract
        ));
    }
    if r.ticket != bundle.ticket {
        problems.push(format!(
            "receipt for seq {} is for ticket {}, not {}",
            r.seq, r.ticket, bundle.ticket
        ));
    }
    let in_bundle = bundle.events.get(r.seq as usize);
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

fn choose_mmd(
    options: &VerifyOptions,
    receipts: &[CheckedReceipt],
    bundle: &Bundle,
) -> (u64, MmdSource) {
    if let Some(user) = options.max_merge_delay_ms {
        return (user, MmdSource::User);
    }
    let signed = receipts
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
        .max();
    match signed {
        Some(mmd) => (mmd, MmdSource::Receipts),
        None => (bundle.max_merge_delay_ms, MmdSource::Bundle),
    }
}

pub(super) struct Inputs<'a> {
    pub bundle: &'a Bundle,
    pub offline: OfflineReport,
    pub problems: Vec<String>,
    pub facts: &'a ChainFacts,
    pub options: &'a VerifyOptions,
    pub contract: Option<Address>,
    pub contract_source: ContractSource,
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
    } = inputs;
    let receipts: Vec<CheckedReceipt> = options
        .receipts
        .iter()
        .map(|r| check_receipt(r, bundle, facts, contract))
        .collect();
    let (mmd, mmd_source) = choose_mmd(options, &receipts, bundle);

    let mut events = Vec::new();
    let (mut pending, mut withheld, mut broken, mut backdated) = (0, 0, 0, 0);
    for mut check in offline.events {
        let mut flags = Vec::new();
        let (mut block, mut anchored_at) = (None, None);
        // A receipt for this very event sets its deadline, signed.
        let own_receipt = receipts
            .iter()
            .find(|c| c.authentic && c.report.found && c.signed.receipt.seq == check.seq);
        let deadline = match (own_receipt, check.recorded_at_ms) {
            (Some(c), _) => Some(c.signed.receipt.anchor_deadline.millis()),
            (None, Some(rec)) => match deadline_ms(rec, mmd) {
                Some(d) => Some(d),
                None => {
                    check.problems.push(format!(
                        "its anchoring deadline (recorded_at + a maximum merge delay of {mmd} ms) is out of range"
                    ));
                    None
                }
            },
            (None, None) => None,
        };
        // Pending: in no batch, or in a batch the log sealed but the chain
        // does not hold yet. Only the chain says an event is anchored.
        let fact = check
            .batch
            .and_then(|id| facts.batches.get(&id).map(|f| (id, f)));
        let status = match (check.batch, fact) {
            (None, _) | (Some(_), Some((_, BatchFact::NotOnChain))) => EventStatus::Pending,
            _ => EventStatus::Anchored,
        };
        match (status, fact) {
            (EventStatus::Pending, _) => {
                pending += 1;
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
                if let (Some(d), Some(now)) = (deadline, facts.latest_time)
                    && after_deadline(now, d) == Some(true)
                {
                    broken += 1;
                    flags.push(format!(
                        "broken promise: still not anchored {} s after its anchoring deadline",
                        seconds_between(d, now)
                    ));
                }
            }
            (_, Some((_, BatchFact::Problem(p)))) => check.problems.push(p.clone()),
            (_, None) if facts.chain_id == bundle.chain.chain_id => {
                if let Some(id) = check.batch {
                    check
                        .problems
                        .push(format!("batch {id} could not be checked on chain"));
                }
            }
            (_, Some((_, BatchFact::Anchored(at)))) => {
                block = Some(at.block);
                anchored_at = i64::try_from(at.time)
                    .ok()
                    .and_then(|t| t.checked_mul(1000))
                    .and_then(Timestamp::from_millis)
                    .map(|t| t.to_string());
                if let Some(rec) = check.recorded_at_ms
                    && rec.div_euclid(1000) > at.time as i64
                {
                    backdated += 1;
                    flags.push(
                        "backdated: recorded_at is later than the anchoring block's time"
                            .to_owned(),
                    );
                }
                if let Some(d) = deadline
                    && after_deadline(at.time, d) == Some(true)
                {
                    broken += 1;
                    flags.push(format!(
                        "broken promise: anchored {} s after its anchoring deadline",
                        seconds_between(d, at.time)
                    ));
                }
            }
            _ => {}
        }
        if status == EventStatus::Anchored
            && events
                .iter()
                .any(|e: &EventReport| e.status == EventStatus::Pending)
        {
            check.problems.push(
                "anchored after an earlier event of the ticket that is pending: batches are \
                 anchored in index order, so that event's proof is being withheld"
                    .into(),
            );
        }
        let ok = check.problems.is_empty();
        events.push(EventReport {
            verified: ok && status == EventStatus::Anchored,
            check,
            status,
            block,
            anchored_at,
            ok,
            flags,
        });
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
            let record = bundle
                .events
                .get(d.seq as usize)
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
    let valid = problems.is_empty() && events.iter().all(|e| e.ok) && !unproven;
    let mut caveats = Vec::new();
    if contract_source == ContractSource::Bundle {
        caveats.push(format!(
            "UNTRUSTED CONTRACT: {} was taken from the bundle (--trust-bundle-contract). Anyone can deploy \
             a SupportAnchor, so this shows only that the records match a contract the log itself chose",
            bundle.chain.contract
        ));
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
    caveats.push(format!(
        "maximum merge delay used for deadlines: {} ms, {}",
        mmd,
        mmd_source.describe()
    ));
    caveats.push(
        "one bundle cannot show whether the log gave another reader a different version of an event; \
         a full audit of the log (proofdesk audit) can"
            .into(),
    );

    let state = match (valid, anchored_through) {
        (true, Some(k)) => offline.states.get(k as usize).and_then(|s| s.as_ref()),
        _ => None,
    };
    VerifyReport {
        ticket: bundle.ticket.to_string(),
        chain_id: facts.chain_id,
        contract: bundle.chain.contract.clone(),
        contract_source,
        anchorer: facts.anchorer.map(|a| format!("{a:#x}")),
        valid,
        problems,
        caveats,
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
        max_merge_delay_ms: mmd,
        max_merge_delay_source: mmd_source,
        receipts,
        disclosures,
    }
}

impl VerifyReport {
    /// The timeline a person reads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Ticket {}  (chain {}, contract {}{})",
            self.ticket,
            self.chain_id,
            self.contract,
            match self.contract_source {
                ContractSource::User => ", as you expect",
                ContractSource::Bundle => ", UNTRUSTED: taken from the bundle",
                ContractSource::None => ", UNTRUSTED: no contract given",
            }
        );
        for p in &self.problems {
            let _ = writeln!(out, "  ✗ {p}");
        }
        for e in &self.events {
            let mark = match (e.ok, e.status) {
                (false, _) => "✗",
                (true, EventStatus::Anchored) => "✓",
                (true, EventStatus::Pending) => "…",
            };
            let when = e.check.occurred_at.as_deref().unwrap_or("?");
            let what = e
                .check
                .event_type
                .as_deref()
                .unwrap_or("(unreadable record)");
            let anchor = match (&e.anchored_at, e.block, e.status) {
                (Some(at), Some(b), _) => format!("anchored {at} in block {b}"),
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
        if self.valid {
            let _ = writeln!(
                out,
                "Status (from anchored events): {}{}{}",
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
        } else {
            let _ = writeln!(
                out,
                "Status: not established (the bundle failed verification; nothing it claims is shown as fact)"
            );
        }
        for c in &self.caveats {
            let _ = writeln!(out, "  note: {c}");
        }
        let clean = self.problems.is_empty() && self.events.iter().all(|e| e.ok);
        let verdict = if self.valid {
            "VALID: every anchored event checks out against the chain"
        } else if self.unproven && clean {
            "NOT YET VERIFIABLE: no event is anchored yet"
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
    }
}
