//! What a result does not prove, and where its trust comes from: the
//! contract's source, how far the history is complete, the receipts, the
//! pending events, the bounds in time (PROTOCOL.md §13.4) and what one
//! bundle cannot show.

use alloy::primitives::Address;

use super::onchain::ChainFacts;
use super::report::{EventReport, MmdSource, ReceiptReport};
use super::timeline::duration_words;
use super::{ContractSource, Deployment, VerifyOptions};
use proofdesk_protocol::bundle::Bundle;

pub(super) struct Caveats<'a> {
    pub bundle: &'a Bundle,
    pub facts: &'a ChainFacts,
    pub options: &'a VerifyOptions,
    pub contract: Address,
    pub contract_source: ContractSource,
    pub listed: Option<&'a Deployment>,
    pub complete_through_seq: Option<u64>,
    pub unproven: bool,
    pub receipts: &'a [ReceiptReport],
    pub pending: usize,
    pub mmd: Option<(u64, MmdSource)>,
    pub max_lag: Option<i64>,
    pub events: &'a [EventReport],
}

/// What the result does not prove, and where its trust comes from.
pub(super) fn caveats(c: Caveats) -> Vec<String> {
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
