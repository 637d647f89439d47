//! The chain's word on the log, read once through the auditor's own RPC at
//! one pinned block: `batchCount()`, `nextIndex()` and every
//! `BatchAnchored` event up to that block, checked into a [`Layout`]. An
//! anchor that lands while the audit runs is simply after the pinned block.

use std::collections::HashMap;
use std::future::IntoFuture;

use alloy::eips::BlockId;

use super::anchors::anchor_events_between;
use super::layout::Layout;
use crate::anchor::Chain;
use crate::anchor::chain::ChainError;
use crate::anchor::contract::SupportAnchor;

/// What the chain says, as of `block`.
#[derive(Debug, Clone)]
pub struct ChainView {
    pub chain_id: u64,
    pub block: u64,
    pub layout: Layout,
}

async fn bounded<T, E: std::fmt::Display>(
    chain: &Chain,
    call: &'static str,
    fut: impl IntoFuture<Output = Result<T, E>>,
) -> Result<T, ChainError> {
    match tokio::time::timeout(chain.timeout, fut).await {
        Err(_) => Err(ChainError::Timeout {
            call,
            after: chain.timeout,
        }),
        Ok(Err(e)) => Err(ChainError::Rpc {
            call,
            message: e.to_string(),
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Reads the chain's layout of the log at the latest block.
pub async fn read(chain: &Chain) -> anyhow::Result<ChainView> {
    let chain_id = chain.chain_id().await?;
    let block = chain.block_number().await?;
    let at = BlockId::number(block);
    let contract = SupportAnchor::new(chain.contract, chain.provider());
    let batch_count = bounded(chain, "batchCount", contract.batchCount().block(at).call()).await?;
    let next_index = bounded(chain, "nextIndex", contract.nextIndex().block(at).call()).await?;
    let events = anchor_events_between(chain, chain.from_block, block).await?;
    let layout = Layout::new(events.into_values(), batch_count, next_index)
        .map_err(|e| anyhow::anyhow!("contract {:#x}: {e}", chain.contract))?;
    Ok(ChainView {
        chain_id,
        block,
        layout,
    })
}

/// Block timestamps (ms), each block read once.
#[derive(Debug, Default)]
pub struct BlockTimes {
    known: HashMap<u64, i64>,
}

impl BlockTimes {
    pub async fn get(&mut self, chain: &Chain, block: u64) -> anyhow::Result<i64> {
        if let Some(t) = self.known.get(&block) {
            return Ok(*t);
        }
        let (_, secs) = chain
            .block(block)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the RPC has no block {block}"))?;
        let ms = i64::try_from(secs)
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .ok_or_else(|| anyhow::anyhow!("block {block} has an impossible timestamp {secs}"))?;
        if self.known.len() > 4096 {
            self.known.clear();
        }
        self.known.insert(block, ms);
        Ok(ms)
    }
}
