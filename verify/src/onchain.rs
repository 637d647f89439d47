//! What the chain says about a bundle, read through the RPCs the verifier
//! was given and nothing else (PROTOCOL.md §13.3): the chain id, the
//! contract's code, `anchorer()` and `nextIndex()`, and for each batch its
//! head, the block its BatchAnchored event is in and that block's time.
//! Each fact the bundle only claims (`block`, `anchorer`) is looked up,
//! never taken from the bundle.
//!
//! Several RPCs are read at one common block (the lowest `eth_blockNumber`
//! among them), so one lagging behind is not a disagreement; any answer
//! they disagree on is reported with both answers. Reads are batched
//! (`rpc`): the cost grows with the number of batches in requests of 100
//! calls, not in round trips.

use std::collections::{BTreeSet, HashMap, HashSet};

use alloy::primitives::{Address, B256};
use alloy::sol_types::{SolCall, SolEvent};
use futures::future::try_join_all;
use serde::Serialize;
use serde_json::{Value, json};

use super::RpcSource;
use super::rpc::{Call, Rpc, RpcError, data, quantity, to_quantity};
use crate::contract::SupportAnchor;
use proofdesk_protocol::Hash32;
use proofdesk_protocol::bundle::{Bundle, BundleBatch};

/// What the chain says of a batch the bundle relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchFact {
    /// Anchored with the bundle's head, in this block.
    Anchored(AnchoredAt),
    /// No head on chain yet: sealed by the log, not anchored (its events
    /// are pending).
    NotOnChain,
    /// Anchored, but not as the bundle says, or not confirmable.
    Problem(String),
}

/// Where and when the chain says a batch was anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchoredAt {
    pub block: u64,
    /// The block's timestamp, seconds.
    pub time: u64,
    /// The block the bundle claimed, when it differs (a search hint only).
    pub claimed: Option<u64>,
}

/// One RPC as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct RpcSeen {
    pub url: String,
    pub source: RpcSource,
    pub chain_id: u64,
    /// Its `eth_blockNumber` when first asked.
    pub block_number: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ChainFacts {
    pub rpcs: Vec<RpcSeen>,
    pub chain_id: u64,
    /// The block every fact was read at (the lowest head among the RPCs).
    pub at_block: Option<u64>,
    /// Read only when the RPCs serve the bundle's chain.
    pub anchorer: Option<Address>,
    /// Every index below it is in an anchored batch.
    pub next_index: Option<u64>,
    /// `batchCount()`: the batches anchored at the read block (the latest
    /// is `batch_count − 1`).
    pub batch_count: Option<u64>,
    /// The common block's timestamp: "now" for pending events' deadlines.
    pub latest_time: Option<u64>,
    /// Per batch the bundle relies on: where it was anchored, or why it
    /// could not be confirmed.
    pub batches: HashMap<u64, BatchFact>,
    /// Answers the RPCs disagree on, each with every answer: a failure.
    pub disagreements: Vec<String>,
}

/// What to read: the contract, the window bounds, and where the contract's
/// history starts (the deployment list's `first_block`, else 0).
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub contract: Address,
    /// Largest block range searched on either side of a claimed block, and
    /// the largest range of one eth_getLogs query.
    pub window: u64,
    pub first_block: u64,
}

/// An RPC and where its URL came from.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub rpc: Rpc,
    pub source: RpcSource,
}

/// One RPC's answers.
#[derive(Debug, Clone, Default, PartialEq)]
struct Seen {
    code: bool,
    anchorer: Option<Address>,
    next_index: Option<u64>,
    batch_count: Option<u64>,
    time: Option<u64>,
    heads: HashMap<u64, Hash32>,
    batches: HashMap<u64, BatchFact>,
}

fn eth_call(contract: Address, input: Vec<u8>, at: u64, label: String) -> Call {
    Call::new(
        "eth_call",
        json!([{"to": format!("{contract:#x}"), "data": format!("0x{}", hex::encode(input))}, to_quantity(at)]),
        label,
    )
}

fn decode<C: SolCall>(rpc: &Rpc, label: &str, v: &Value) -> Result<C::Return, RpcError> {
    let bytes = data(v).ok_or_else(|| RpcError::Failed {
        url: rpc.url.clone(),
        call: label.to_owned(),
        message: format!("not hex data: {v}"),
    })?;
    C::abi_decode_returns_validate(&bytes).map_err(|e| RpcError::Failed {
        url: rpc.url.clone(),
        call: label.to_owned(),
        message: format!("undecodable answer: {e}"),
    })
}

fn bad_answer(rpc: &Rpc, call: &str, v: &Value) -> RpcError {
    RpcError::Failed {
        url: rpc.url.clone(),
        call: call.to_owned(),
        message: format!("unexpected answer {}", truncate(&v.to_string())),
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= 120 {
        s.to_owned()
    } else {
        let cut = (0..=120)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}…", &s[..cut])
    }
}

/// Reads every fact the report needs. `batches_used` are the batch ids the
/// offline checks relied on.
pub async fn read(
    endpoints: &[Endpoint],
    bundle: &Bundle,
    batches_used: &[u64],
    query: Query,
) -> Result<ChainFacts, RpcError> {
    // 1. Chain id and head of every RPC, at once.
    let heads = try_join_all(endpoints.iter().map(head_of)).await?;
    let mut facts = ChainFacts {
        chain_id: heads.first().map(|s| s.chain_id).unwrap_or(0),
        rpcs: heads,
        ..ChainFacts::default()
    };
    if let Some(d) = disagree(
        "eth_chainId",
        facts
            .rpcs
            .iter()
            .map(|s| (s.url.as_str(), s.chain_id.to_string())),
    ) {
        facts.disagreements.push(d);
        return Ok(facts);
    }
    if facts.chain_id != bundle.chain.chain_id {
        return Ok(facts);
    }
    let at = facts.rpcs.iter().map(|s| s.block_number).min().unwrap_or(0);
    facts.at_block = Some(at);

    // 2. Everything else, from every RPC at that block.
    let by_id: HashMap<u64, &BundleBatch> = bundle.batches.iter().map(|b| (b.id, b)).collect();
    let used: Vec<&BundleBatch> = batches_used
        .iter()
        .filter_map(|id| by_id.get(id).copied())
        .collect();
    let reads: Vec<_> = endpoints
        .iter()
        .map(|e| read_one(&e.rpc, &used, query, at))
        .collect();
    let seen = try_join_all(reads).await?;

    // 3. Compare. The first RPC's answers are used; any difference fails.
    let urls: Vec<&str> = facts.rpcs.iter().map(|s| s.url.as_str()).collect();
    let answers = |f: &dyn Fn(&Seen) -> String| -> Vec<(&str, String)> {
        urls.iter().copied().zip(seen.iter().map(f)).collect()
    };
    let contract = query.contract;
    facts.disagreements.extend(disagree(
        &format!("whether a contract is deployed at {contract:#x}"),
        answers(&|s| if s.code { "yes" } else { "no" }.to_owned()),
    ));
    facts.disagreements.extend(disagree(
        "anchorer()",
        answers(&|s| s.anchorer.map(|a| format!("{a:#x}")).unwrap_or_default()),
    ));
    facts.disagreements.extend(disagree(
        "nextIndex()",
        answers(&|s| s.next_index.map(|n| n.to_string()).unwrap_or_default()),
    ));
    facts.disagreements.extend(disagree(
        "batchCount()",
        answers(&|s| s.batch_count.map(|n| n.to_string()).unwrap_or_default()),
    ));
    for b in &used {
        let id = b.id;
        facts.disagreements.extend(disagree(
            &format!("batchHead({id})"),
            answers(&|s| s.heads.get(&id).map(|h| h.to_string()).unwrap_or_default()),
        ));
        facts.disagreements.extend(disagree(
            &format!("where batch {id} was anchored"),
            answers(&|s| match s.batches.get(&id) {
                Some(BatchFact::Anchored(a)) => format!("block {} (time {})", a.block, a.time),
                Some(BatchFact::NotOnChain) => "not anchored".into(),
                Some(BatchFact::Problem(p)) => p.clone(),
                None => String::new(),
            }),
        ));
    }
    let first = seen.into_iter().next().unwrap_or_default();
    facts.anchorer = first.anchorer;
    facts.next_index = first.next_index;
    facts.batch_count = first.batch_count;
    facts.latest_time = first.time;
    facts.batches = first.batches;
    if !first.code {
        for b in &used {
            facts.batches.insert(
                b.id,
                BatchFact::Problem(format!("no contract is deployed at {contract:#x}")),
            );
        }
    }
    Ok(facts)
}

/// An RPC's chain id and head block.
async fn head_of(e: &Endpoint) -> Result<RpcSeen, RpcError> {
    let answers = e
        .rpc
        .batch(&[
            Call::new("eth_chainId", json!([]), "eth_chainId"),
            Call::new("eth_blockNumber", json!([]), "eth_blockNumber"),
        ])
        .await?;
    let chain_id =
        quantity(&answers[0]).ok_or_else(|| bad_answer(&e.rpc, "eth_chainId", &answers[0]))?;
    let head =
        quantity(&answers[1]).ok_or_else(|| bad_answer(&e.rpc, "eth_blockNumber", &answers[1]))?;
    Ok(RpcSeen {
        url: e.rpc.url.clone(),
        source: e.source,
        chain_id,
        block_number: head,
    })
}

/// "the RPCs disagree on X: A answers a; B answers b", or None when every
/// answer is the same.
fn disagree<'a>(
    what: &str,
    answers: impl IntoIterator<Item = (&'a str, String)>,
) -> Option<String> {
    let answers: Vec<(&str, String)> = answers.into_iter().collect();
    let first = &answers.first()?.1;
    if answers.iter().all(|(_, a)| a == first) {
        return None;
    }
    let list: Vec<String> = answers
        .iter()
        .map(|(url, a)| {
            format!(
                "{url} answers {}",
                if a.is_empty() { "nothing" } else { a.as_str() }
            )
        })
        .collect();
    Some(format!("the RPCs disagree on {what}: {}", list.join("; ")))
}

/// One RPC's reads at block `at`.
async fn read_one(
    rpc: &Rpc,
    batches: &[&BundleBatch],
    query: Query,
    at: u64,
) -> Result<Seen, RpcError> {
    let contract = query.contract;
    let mut calls = vec![
        Call::new(
            "eth_getCode",
            json!([format!("{contract:#x}"), to_quantity(at)]),
            "eth_getCode",
        ),
        Call::new(
            "eth_getBlockByNumber",
            json!([to_quantity(at), false]),
            format!("eth_getBlockByNumber({at})"),
        ),
        eth_call(
            contract,
            SupportAnchor::anchorerCall {}.abi_encode(),
            at,
            "anchorer()".into(),
        ),
        eth_call(
            contract,
            SupportAnchor::nextIndexCall {}.abi_encode(),
            at,
            "nextIndex()".into(),
        ),
        batch_count_call(contract, at),
    ];
    calls.extend(batches.iter().map(|b| head_call(contract, b.id, at)));
    let answers = rpc.batch(&calls).await?;
    let mut seen = Seen {
        code: data(&answers[0]).is_some_and(|c| !c.is_empty()),
        time: Some(block_time(rpc, at, &answers[1])?),
        ..Seen::default()
    };
    if !seen.code {
        // Calls to an address without code return empty data; the report
        // says so plainly instead of a decoding error.
        return Ok(seen);
    }
    seen.anchorer = Some(decode::<SupportAnchor::anchorerCall>(
        rpc,
        "anchorer()",
        &answers[2],
    )?);
    seen.next_index = Some(decode::<SupportAnchor::nextIndexCall>(
        rpc,
        "nextIndex()",
        &answers[3],
    )?);
    seen.batch_count = Some(decode::<SupportAnchor::batchCountCall>(
        rpc,
        "batchCount()",
        &answers[4],
    )?);
    let to_find = take_heads(rpc, batches, &answers[5..], &mut seen)?;
    let (found, mut unseen) = find_anchors(rpc, &to_find, query, at).await?;
    seen.batches.extend(found);
    // A head on chain at block `at` with no BatchAnchored event at or before
    // it is a node answering at its tip from two different states: anvil
    // answers eth_call at its latest block from the state of the block it
    // is mining, and a provider's load-balanced backends can index logs
    // behind their state. Ask again, briefly, for the heads and nextIndex()
    // too (once `at` has settled, a head from the next block reads as not
    // yet anchored), before calling the event missing.
    for pause_ms in LOG_INDEX_PAUSES_MS {
        if unseen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
        let again: Vec<&BundleBatch> = to_find
            .iter()
            .copied()
            .filter(|b| unseen.contains(&b.id))
            .collect();
        let still_on_chain = reread_heads(rpc, &again, contract, at, &mut seen).await?;
        let (found, still) = find_anchors(rpc, &still_on_chain, query, at).await?;
        seen.batches.extend(found);
        unseen = still;
    }
    Ok(seen)
}

/// Reads `nextIndex()` and the heads of `batches` at block `at` again into
/// `seen`; the batches whose head is still the bundle's are returned.
async fn reread_heads<'b>(
    rpc: &Rpc,
    batches: &[&'b BundleBatch],
    contract: Address,
    at: u64,
    seen: &mut Seen,
) -> Result<Vec<&'b BundleBatch>, RpcError> {
    let mut calls = vec![
        eth_call(
            contract,
            SupportAnchor::nextIndexCall {}.abi_encode(),
            at,
            "nextIndex()".into(),
        ),
        batch_count_call(contract, at),
    ];
    calls.extend(batches.iter().map(|b| head_call(contract, b.id, at)));
    let answers = rpc.batch(&calls).await?;
    seen.next_index = Some(decode::<SupportAnchor::nextIndexCall>(
        rpc,
        "nextIndex()",
        &answers[0],
    )?);
    seen.batch_count = Some(decode::<SupportAnchor::batchCountCall>(
        rpc,
        "batchCount()",
        &answers[1],
    )?);
    take_heads(rpc, batches, &answers[2..], seen)
}

fn batch_count_call(contract: Address, at: u64) -> Call {
    eth_call(
        contract,
        SupportAnchor::batchCountCall {}.abi_encode(),
        at,
        "batchCount()".into(),
    )
}

fn head_call(contract: Address, id: u64, at: u64) -> Call {
    eth_call(
        contract,
        SupportAnchor::batchHeadCall { batchId: id }.abi_encode(),
        at,
        format!("batchHead({id})"),
    )
}

/// Records each batch's head from its `batchHead` answer in `seen`: zero is
/// not anchored, another head is a problem; the batches whose head is the
/// bundle's are returned, their anchoring event still to be found.
fn take_heads<'b>(
    rpc: &Rpc,
    batches: &[&'b BundleBatch],
    answers: &[Value],
    seen: &mut Seen,
) -> Result<Vec<&'b BundleBatch>, RpcError> {
    let mut on_chain = Vec::new();
    for (b, answer) in batches.iter().zip(answers) {
        let head = Hash32(
            decode::<SupportAnchor::batchHeadCall>(rpc, &format!("batchHead({})", b.id), answer)?.0,
        );
        seen.heads.insert(b.id, head);
        if head == Hash32::ZERO {
            seen.batches.insert(b.id, BatchFact::NotOnChain);
        } else if head != b.head {
            seen.batches.insert(
                b.id,
                BatchFact::Problem(format!(
                    "batch {}: the chain's head {head} differs from the bundle's {}",
                    b.id, b.head
                )),
            );
        } else {
            on_chain.push(*b);
        }
    }
    Ok(on_chain)
}

fn block_time(rpc: &Rpc, number: u64, block: &Value) -> Result<u64, RpcError> {
    let label = format!("eth_getBlockByNumber({number})");
    if block.is_null() {
        return Err(RpcError::Failed {
            url: rpc.url.clone(),
            call: label,
            message: "the RPC does not have this block".into(),
        });
    }
    block
        .get("timestamp")
        .and_then(quantity)
        .ok_or_else(|| bad_answer(rpc, &label, block))
}

/// The inclusive block range searched for a batch's BatchAnchored event:
/// `window` blocks either side of the claimed block, or the latest `window`
/// blocks without a claim; never before the contract's first block, never
/// past `at`. None when empty.
fn search_range(claimed: Option<u64>, query: Query, at: u64) -> Option<(u64, u64)> {
    let w = query.window.max(1);
    let (from, to) = match claimed {
        Some(c) => (c.saturating_sub(w), c.saturating_add(w)),
        None => (at.saturating_sub(w - 1), at),
    };
    let (from, to) = (from.max(query.first_block), to.min(at));
    (from <= to).then_some((from, to))
}

/// The ranges merged and cut into eth_getLogs queries of at most `window`
/// blocks: batches anchored near each other share their queries.
fn log_queries(ranges: impl Iterator<Item = (u64, u64)>, window: u64) -> Vec<(u64, u64)> {
    let mut sorted: Vec<(u64, u64)> = ranges.collect();
    sorted.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (from, to) in sorted {
        match merged.last_mut() {
            Some(last) if from <= last.1.saturating_add(1) => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    let w = window.max(1);
    let mut out = Vec::new();
    for (from, to) in merged {
        let mut start = from;
        loop {
            let end = start.saturating_add(w - 1).min(to);
            out.push((start, end));
            if end >= to {
                break;
            }
            start = end + 1;
        }
    }
    out
}

/// A BatchAnchored event as an RPC returned it.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    block: u64,
    first_index: u64,
    count: u64,
    root: Hash32,
}

/// How long to wait before asking again for the events of batches whose
/// head is on chain but whose BatchAnchored event the node did not return.
const LOG_INDEX_PAUSES_MS: [u64; 3] = [200, 500, 1000];

/// Reads the BatchAnchored events near each batch's claimed block and
/// each anchoring block's time; with the ids of the batches for which the
/// node returned no event at all (worth asking again, see `read`).
async fn find_anchors(
    rpc: &Rpc,
    batches: &[&BundleBatch],
    query: Query,
    at: u64,
) -> Result<(HashMap<u64, BatchFact>, Vec<u64>), RpcError> {
    let mut out = HashMap::new();
    let mut unseen = Vec::new();
    let ranges: HashMap<u64, Option<(u64, u64)>> = batches
        .iter()
        .map(|b| (b.id, search_range(b.block, query, at)))
        .collect();
    let queries = log_queries(ranges.values().flatten().copied(), query.window);
    let calls: Vec<Call> = queries
        .iter()
        .map(|(from, to)| {
            Call::new(
                "eth_getLogs",
                json!([{
                    "address": format!("{:#x}", query.contract),
                    "topics": [format!("{:#x}", SupportAnchor::BatchAnchored::SIGNATURE_HASH)],
                    "fromBlock": to_quantity(*from),
                    "toBlock": to_quantity(*to),
                }]),
                format!("eth_getLogs {from}-{to}"),
            )
        })
        .collect();
    let wanted: HashSet<u64> = batches.iter().map(|b| b.id).collect();
    let mut events: HashMap<u64, Vec<Anchor>> = HashMap::new();
    for (answer, call) in rpc.batch(&calls).await?.iter().zip(&calls) {
        let logs = answer
            .as_array()
            .ok_or_else(|| bad_answer(rpc, &call.label, answer))?;
        for log in logs {
            if let Some((id, a)) = anchor_of(log, query.contract)
                && wanted.contains(&id)
            {
                events.entry(id).or_default().push(a);
            }
        }
    }
    let mut found: Vec<(u64, Anchor, Option<u64>)> = Vec::new();
    for b in batches {
        let w = query.window.max(1);
        let Some((from, to)) = ranges.get(&b.id).copied().flatten() else {
            out.insert(b.id, not_found(b, w));
            continue;
        };
        let near: Vec<Anchor> = events
            .get(&b.id)
            .map(|v| {
                v.iter()
                    .filter(|a| (from..=to).contains(&a.block))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        // The claimed block first, then the nearest; without a claim the
        // latest. Only an event that anchored the bundle's batch counts.
        let distance = |a: &Anchor| match b.block {
            Some(c) => a.block.abs_diff(c),
            None => u64::MAX - a.block,
        };
        let matching = near
            .iter()
            .filter(|a| {
                (a.first_index, a.count, a.root) == (b.first_index, b.count, b.anchored_root())
            })
            .min_by_key(|a| distance(a));
        match (matching, near.iter().min_by_key(|a| distance(a))) {
            (Some(a), _) => found.push((b.id, *a, b.block.filter(|c| *c != a.block))),
            (None, Some(a)) => {
                out.insert(
                    b.id,
                    BatchFact::Problem(format!(
                        "batch {}: the BatchAnchored event in block {} anchored [{}, +{}) with root {}, not the bundle's batch",
                        b.id, a.block, a.first_index, a.count, a.root
                    )),
                );
            }
            (None, None) => {
                out.insert(b.id, not_found(b, w));
                unseen.push(b.id);
            }
        }
    }
    // Each anchoring block's time, each block asked once.
    let blocks: Vec<u64> = found
        .iter()
        .map(|(_, a, _)| a.block)
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .collect();
    let calls: Vec<Call> = blocks
        .iter()
        .map(|n| {
            Call::new(
                "eth_getBlockByNumber",
                json!([to_quantity(*n), false]),
                format!("eth_getBlockByNumber({n})"),
            )
        })
        .collect();
    let mut times: HashMap<u64, u64> = HashMap::new();
    for (n, answer) in blocks.iter().zip(rpc.batch(&calls).await?) {
        times.insert(*n, block_time(rpc, *n, &answer)?);
    }
    for (id, a, claimed) in found {
        let fact = match times.get(&a.block) {
            Some(time) => BatchFact::Anchored(AnchoredAt {
                block: a.block,
                time: *time,
                claimed,
            }),
            None => BatchFact::Problem(format!(
                "batch {id}: block {} of its BatchAnchored event is not available",
                a.block
            )),
        };
        out.insert(id, fact);
    }
    Ok((out, unseen))
}

fn not_found(b: &BundleBatch, window: u64) -> BatchFact {
    BatchFact::Problem(match b.block {
        Some(claimed) => format!(
            "batch {}: no BatchAnchored event within {window} blocks of block {claimed}, where the log claims it was anchored",
            b.id
        ),
        None => format!(
            "batch {}: no BatchAnchored event in the last {window} blocks, and the log names no block",
            b.id
        ),
    })
}

/// A log that is this contract's BatchAnchored event, decoded: (batch id,
/// where and what it anchored). Anything else (removed, another address, a
/// malformed log) is not one.
fn anchor_of(log: &Value, contract: Address) -> Option<(u64, Anchor)> {
    if log.get("removed").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let address: Address = log.get("address")?.as_str()?.parse().ok()?;
    if address != contract {
        return None;
    }
    let topics: Vec<B256> = log
        .get("topics")?
        .as_array()?
        .iter()
        .map(|t| t.as_str()?.parse::<B256>().ok())
        .collect::<Option<_>>()?;
    let bytes = data(log.get("data")?)?;
    let event = SupportAnchor::BatchAnchored::decode_raw_log_validate(topics, &bytes).ok()?;
    let block = quantity(log.get("blockNumber")?)?;
    Some((
        event.batchId,
        Anchor {
            block,
            first_index: event.firstIndex,
            count: event.count,
            root: Hash32(event.root.0),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(window: u64, first_block: u64) -> Query {
        Query {
            contract: Address::ZERO,
            window,
            first_block,
        }
    }

    #[test]
    fn searches_stay_near_the_claim_and_below_the_common_block() {
        assert_eq!(
            search_range(Some(5_000), q(1_000, 0), 10_000),
            Some((4_000, 6_000))
        );
        assert_eq!(
            search_range(Some(5_000), q(1_000, 4_500), 10_000),
            Some((4_500, 6_000))
        );
        assert_eq!(
            search_range(Some(5_000), q(1_000, 0), 5_200),
            Some((4_000, 5_200))
        );
        assert_eq!(
            search_range(None, q(1_000, 0), 10_000),
            Some((9_001, 10_000))
        );
        assert_eq!(
            search_range(Some(20_000), q(1_000, 0), 10_000),
            None,
            "beyond the chain"
        );
        assert_eq!(
            search_range(Some(u64::MAX), q(u64::MAX, 0), u64::MAX),
            Some((0, u64::MAX)),
            "saturates, never wraps"
        );
    }

    #[test]
    fn neighbouring_searches_share_queries_of_at_most_a_window() {
        let ranges =
            (0..20_000u64).map(|i| search_range(Some(100 + i), q(1_000, 0), 30_000).unwrap());
        let queries = log_queries(ranges, 1_000);
        assert_eq!(queries.first(), Some(&(0, 999)));
        assert_eq!(queries.last(), Some(&(21_000, 21_099)));
        assert_eq!(queries.len(), 22, "20,000 claims, 22 queries");
        assert!(queries.iter().all(|(f, t)| t - f < 1_000));
        assert!(queries.windows(2).all(|w| w[0].1 + 1 == w[1].0));
        assert_eq!(
            log_queries([(10, 20), (500, 600)].into_iter(), 1_000),
            vec![(10, 20), (500, 600)]
        );
        assert_eq!(
            log_queries([(0, u64::MAX)].into_iter(), u64::MAX).len(),
            2,
            "ends"
        );
    }

    #[test]
    fn disagreements_name_every_answer() {
        assert_eq!(disagree("x", [("a", "1".into()), ("b", "1".into())]), None);
        let d = disagree(
            "batchHead(0)",
            [("http://a", "0x1".into()), ("http://b", String::new())],
        )
        .unwrap();
        assert_eq!(
            d,
            "the RPCs disagree on batchHead(0): http://a answers 0x1; http://b answers nothing"
        );
    }
}

/// Batch heads as the chain holds them at one common block, through every
/// RPC: what a fraud proof is checked against (`crate::fraud`).
#[derive(Debug, Clone, Default)]
pub struct HeadsRead {
    pub rpcs: Vec<RpcSeen>,
    pub chain_id: u64,
    pub at_block: Option<u64>,
    /// Whether a contract is deployed at the address, at that block.
    pub code: bool,
    pub heads: HashMap<u64, Hash32>,
    pub disagreements: Vec<String>,
}

/// Reads `batchHead(id)` of each id at the lowest head block among the
/// RPCs, from every RPC, and compares the answers.
pub async fn read_heads(
    endpoints: &[Endpoint],
    contract: Address,
    ids: &[u64],
) -> Result<HeadsRead, RpcError> {
    let rpcs = try_join_all(endpoints.iter().map(head_of)).await?;
    let mut out = HeadsRead {
        chain_id: rpcs.first().map(|s| s.chain_id).unwrap_or(0),
        rpcs,
        ..HeadsRead::default()
    };
    if let Some(d) = disagree(
        "eth_chainId",
        out.rpcs
            .iter()
            .map(|s| (s.url.as_str(), s.chain_id.to_string())),
    ) {
        out.disagreements.push(d);
        return Ok(out);
    }
    let at = out.rpcs.iter().map(|s| s.block_number).min().unwrap_or(0);
    out.at_block = Some(at);
    let mut per_rpc = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        let mut calls = vec![Call::new(
            "eth_getCode",
            json!([format!("{contract:#x}"), to_quantity(at)]),
            "eth_getCode",
        )];
        calls.extend(ids.iter().map(|id| head_call(contract, *id, at)));
        let answers = e.rpc.batch(&calls).await?;
        let code = data(&answers[0]).is_some_and(|c| !c.is_empty());
        let mut heads = HashMap::new();
        if code {
            for (id, answer) in ids.iter().zip(&answers[1..]) {
                let h = decode::<SupportAnchor::batchHeadCall>(
                    &e.rpc,
                    &format!("batchHead({id})"),
                    answer,
                )?;
                heads.insert(*id, Hash32(h.0));
            }
        }
        per_rpc.push((e.rpc.url.clone(), code, heads));
    }
    out.disagreements.extend(disagree(
        &format!("whether a contract is deployed at {contract:#x}"),
        per_rpc
            .iter()
            .map(|(u, c, _)| (u.as_str(), if *c { "yes" } else { "no" }.to_owned())),
    ));
    for id in ids {
        out.disagreements.extend(disagree(
            &format!("batchHead({id})"),
            per_rpc.iter().map(|(u, _, h)| {
                (
                    u.as_str(),
                    h.get(id).map(|h| h.to_string()).unwrap_or_default(),
                )
            }),
        ));
    }
    if let Some((_, code, heads)) = per_rpc.into_iter().next() {
        out.code = code;
        out.heads = heads;
    }
    Ok(out)
}
