//! The contract's own `BatchAnchored` events, read through the auditor's
//! RPC in bounded block windows, with their data (first index, count,
//! root) and anchoring transaction.

use std::collections::BTreeMap;

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use serde::{Deserialize, Serialize};

use crate::anchor::Chain;
use crate::anchor::chain::{ChainError, to_hash32};
use crate::anchor::contract::SupportAnchor;
use crate::protocol::Hash32;

/// Blocks per eth_getLogs call: public RPCs refuse wide ranges.
pub const LOG_WINDOW: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorEvent {
    pub batch: u64,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
    pub tx: Hash32,
    pub block: u64,
}

/// Every BatchAnchored event from `from_block` to the latest block, by
/// batch id (the last one wins if a reorg left two; removed logs skipped).
pub async fn anchor_events(
    chain: &Chain,
    from_block: u64,
) -> Result<BTreeMap<u64, AnchorEvent>, ChainError> {
    let latest = chain.block_number().await?;
    anchor_events_between(chain, from_block, latest).await
}

/// Every BatchAnchored event of blocks `from_block..=latest`, by batch id.
pub async fn anchor_events_between(
    chain: &Chain,
    from_block: u64,
    latest: u64,
) -> Result<BTreeMap<u64, AnchorEvent>, ChainError> {
    let mut out = BTreeMap::new();
    let mut start = from_block;
    while start <= latest {
        let end = (start + LOG_WINDOW - 1).min(latest);
        let filter = Filter::new()
            .address(chain.contract)
            .event_signature(SupportAnchor::BatchAnchored::SIGNATURE_HASH)
            .from_block(BlockNumberOrTag::Number(start))
            .to_block(BlockNumberOrTag::Number(end));
        let logs =
            match tokio::time::timeout(chain.timeout, chain.provider().get_logs(&filter)).await {
                Err(_) => {
                    return Err(ChainError::Timeout {
                        call: "eth_getLogs",
                        after: chain.timeout,
                    });
                }
                Ok(Err(e)) => {
                    return Err(ChainError::Rpc {
                        call: "eth_getLogs",
                        message: e.to_string(),
                    });
                }
                Ok(Ok(l)) => l,
            };
        for log in logs.iter().filter(|l| !l.removed) {
            let Ok(decoded) = SupportAnchor::BatchAnchored::decode_log(&log.inner) else {
                continue;
            };
            let (Some(tx), Some(block)) = (log.transaction_hash, log.block_number) else {
                continue;
            };
            out.insert(
                decoded.batchId,
                AnchorEvent {
                    batch: decoded.batchId,
                    first_index: decoded.firstIndex,
                    count: decoded.count,
                    root: to_hash32(decoded.root),
                    tx: to_hash32(tx),
                    block,
                },
            );
        }
        start = end + 1;
    }
    Ok(out)
}
