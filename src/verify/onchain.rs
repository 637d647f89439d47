//! What the chain says about a bundle, read through the user's own RPC and
//! nothing else: the chain id, the contract's anchorer and next index, the
//! latest block's time, and for each batch its head and the block its
//! BatchAnchored event is in. Each fact the bundle only claims (`block`,
//! `anchorer`) is looked up, never taken from the bundle.

use std::collections::HashMap;

use alloy::primitives::Address;

use crate::anchor::chain::{Chain, ChainError};
use crate::protocol::Hash32;
use crate::protocol::bundle::Bundle;

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
}

#[derive(Debug, Clone, Default)]
pub struct ChainFacts {
    pub chain_id: u64,
    /// Read only when the RPC serves the bundle's chain.
    pub anchorer: Option<Address>,
    /// Every index below it is in an anchored batch.
    pub next_index: Option<u64>,
    /// The latest block's timestamp: "now" for pending events' deadlines.
    pub latest_time: Option<u64>,
    /// Per batch the bundle relies on: where it was anchored, or why it
    /// could not be confirmed.
    pub batches: HashMap<u64, BatchFact>,
}

/// Reads every fact the report needs. `batches_used` are the batch ids the
/// offline checks relied on; `window` bounds each eth_getLogs query.
pub async fn read(
    chain: &Chain,
    bundle: &Bundle,
    batches_used: &[u64],
    window: u64,
) -> Result<ChainFacts, ChainError> {
    let mut facts = ChainFacts {
        chain_id: chain.chain_id().await?,
        ..ChainFacts::default()
    };
    if facts.chain_id != bundle.chain.chain_id {
        return Ok(facts);
    }
    if !chain.code_exists().await? {
        // Calls to an address without code return empty data; say so
        // plainly instead of reporting a decoding error.
        for id in batches_used {
            facts.batches.insert(
                *id,
                BatchFact::Problem(format!("no contract is deployed at {}", chain.contract)),
            );
        }
        return Ok(facts);
    }
    facts.anchorer = Some(chain.anchorer().await?);
    facts.next_index = Some(chain.next_index().await?);
    let latest = chain.block_number().await?;
    facts.latest_time = chain.block(latest).await?.map(|(_, time)| time);
    for id in batches_used {
        let Some(b) = bundle.batches.iter().find(|b| b.id == *id) else {
            continue;
        };
        let fact = batch_fact(
            chain,
            b.id,
            b.first_index,
            b.count,
            &b.root,
            &b.head,
            b.block,
            window,
        )
        .await?;
        facts.batches.insert(*id, fact);
    }
    Ok(facts)
}

#[allow(clippy::too_many_arguments)]
async fn batch_fact(
    chain: &Chain,
    id: u64,
    first_index: u64,
    count: u64,
    root: &Hash32,
    head: &Hash32,
    claimed_block: Option<u64>,
    window: u64,
) -> Result<BatchFact, ChainError> {
    let on_chain = chain.batch_head(id).await?;
    if on_chain == Hash32::ZERO {
        return Ok(BatchFact::NotOnChain);
    }
    if on_chain != *head {
        return Ok(BatchFact::Problem(format!(
            "batch {id}: the chain's head {on_chain} differs from the bundle's {head}"
        )));
    }
    let Some(event) = chain.anchored_event_near(id, claimed_block, window).await? else {
        return Ok(BatchFact::Problem(match claimed_block {
            Some(claimed) => format!(
                "batch {id}: no BatchAnchored event within {window} blocks of block {claimed}, where the bundle says it was anchored"
            ),
            None => format!(
                "batch {id}: no BatchAnchored event in the last {window} blocks, and the bundle names no block"
            ),
        }));
    };
    if (event.first_index, event.count, event.root) != (first_index, count, *root) {
        return Ok(BatchFact::Problem(format!(
            "batch {id}: the BatchAnchored event in block {} anchored [{}, +{}) with root {}, not the bundle's batch",
            event.log.block_number, event.first_index, event.count, event.root
        )));
    }
    let Some((_, time)) = chain.block(event.log.block_number).await? else {
        return Ok(BatchFact::Problem(format!(
            "batch {id}: block {} of its BatchAnchored event is not available",
            event.log.block_number
        )));
    };
    Ok(BatchFact::Anchored(AnchoredAt {
        block: event.log.block_number,
        time,
    }))
}
