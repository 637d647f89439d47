//! What a result does not prove, and where its trust comes from: the
//! contract's source, how far the history is complete, the receipts, the
//! pending events, the bounds in time (PROTOCOL.md §13.4) and what one
//! bundle cannot show.

use alloy::primitives::Address;

use super::onchain::ChainFacts;
use super::report::{Completeness, EventReport, MmdSource, ReceiptReport};
use super::timeline::duration_words;
use super::{ContractSource, Deployment, VerifyOptions};
use proofdesk_protocol::bundle::Bundle;
use proofdesk_protocol::fields::Timestamp;

pub(super) struct Caveats<'a> {
    pub bundle: &'a Bundle,
    pub facts: &'a ChainFacts,
    pub options: &'a VerifyOptions,
    pub contract: Address,
    pub contract_source: ContractSource,
    pub listed: Option<&'a Deployment>,
    pub complete_through_seq: Option<u64>,
    pub complete_as_of: Option<Completeness>,
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
        complete_as_of,
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
    match (complete_through_seq, complete_as_of) {
        // Failed: nothing is established, and the report does not say
        // otherwise.
        (None, _) if !unproven => {}
        (Some(k), Some(c)) => caveats.push(complete_as_of_words(k, &c)),
        (Some(k), None) => caveats.push(format!(
            "events seq 0 through {k} are anchored and complete: none between them can have been removed \
             or changed. Later events are not ruled out: a log can withhold events recorded after seq {k}{}",
            if bundle.map.is_some() {
                " (the bundle's ticket map proof is at a batch not anchored yet: ask again later)"
            } else if bundle.batches.iter().any(|b| b.map_root.is_some()) {
                " (this bundle carries no ticket map proof, though its batches commit a ticket map: ask the log \
                 again; a log that keeps serving bundles without one withholds the proof that the history is \
                 complete, PROTOCOL.md §15.4)"
            } else {
                " (this bundle carries no ticket map proof, PROTOCOL.md §15)"
            }
        )),
        (None, Some(c)) if events.is_empty() && c.tip_seq.is_none() => caveats.push(absent_words(&c)),
        (None, _) => caveats.push(format!(
            "no event of this ticket is anchored yet, so nothing can be verified: \
             check again after the anchoring deadline{}",
            match complete_as_of {
                Some(c) if c.tip_seq.is_none() => format!(
                    ". The log's ticket map at batch {} (anchored in block {}) has no record of this ticket",
                    c.batch, c.block
                ),
                _ => String::new(),
            }
        )),
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
    if events.is_empty() {
        return caveats;
    }
    caveats.push(match complete_as_of {
        Some(c) if c.tip_seq.is_some() => format!(
            "the history shown is the only one that can pass as this ticket's as of batch {}: it is the hash chain \
             back from the map's tip. A different version of an event anchored beside it (equivocation) cannot be \
             shown without failing here, and a full audit of the log (proofdesk audit) finds it",
            c.batch
        ),
        _ => "one bundle cannot show whether the log gave another reader a different version of an event; \
              a full audit of the log (proofdesk audit) can"
            .into(),
    });

    caveats
}

/// "Absent as of batch B" in words, with what it rests on (§15.4, §15.5).
fn absent_words(c: &Completeness) -> String {
    format!(
        "the ticket map that batch {b}'s head commits (anchored in block {block} at {time}) holds no record of this          handle: the log had anchored nothing for it by then. A receipt for this handle whose deadline had passed          by then is evidence of a broken promise: keep it with this result.{later} {honesty}",
        b = c.batch,
        block = c.block,
        time = block_time(c.time),
        later = later_words(c),
        honesty = MAP_HONESTY,
    )
}

/// What "complete as of" and "absent as of" rest on (§15.5).
const MAP_HONESTY: &str = "This rests on the log's ticket map being honest, which no bundle shows:     anyone can check it by replaying the whole log (proofdesk audit --log <the log's URL> --rpc <your RPC>     --contract <the contract>)";

/// Events anchored after B, when the chain has later batches.
fn later_words(c: &Completeness) -> String {
    match c.later_batch_on_chain {
        Some(l) => format!(
            " The chain has anchored batches up to {l} since: events anchored after batch {} are not ruled out \
             (ask the log for a fresher bundle)",
            c.batch
        ),
        None => String::new(),
    }
}

/// A block's time (seconds), as a timestamp.
fn block_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|t| Timestamp::from_millis(t.saturating_mul(1000)))
        .map_or_else(|| format!("time {secs}"), |t| t.to_string())
}

/// "Complete as of batch B" in words, with what it rests on (§15.5).
fn complete_as_of_words(k: u64, c: &Completeness) -> String {
    let tip = match c.tip_seq {
        Some(t) if t == k => format!("seq {t}, the last anchored event shown, is"),
        Some(t) => format!("seq {t} is"),
        None => "no event is".into(),
    };
    format!(
        "events seq 0 through {k} are anchored, and the history is complete as of batch {b} (anchored in block {block} \
         at {time}): the ticket map that batch {b}'s head commits says {tip} this ticket's latest record, so no record \
         anchored by then is withheld.{later} {honesty}",
        b = c.batch,
        block = c.block,
        time = block_time(c.time),
        later = later_words(c),
        honesty = MAP_HONESTY,
    )
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
