//! Reading the chain: every read the anchorer, the monitor and the audit
//! make, each bounded by a timeout, since an RPC that hangs must never hang
//! the pipeline. What only the anchorer does (fees, nonces, signing and
//! sending anchor()) is send.rs.

use std::future::IntoFuture;
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::SolEvent;

use super::contract::SupportAnchor;
use crate::protocol::Hash32;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("RPC call {call} timed out after {after:?}")]
    Timeout { call: &'static str, after: Duration },
    #[error("RPC call {call} failed: {message}")]
    Rpc { call: &'static str, message: String },
    #[error("contract reverted: {0}")]
    Revert(String),
    #[error("invalid RPC URL {0:?}")]
    Url(String),
}

/// A bounded-time client for one contract on one chain.
#[derive(Clone)]
pub struct Chain {
    pub(super) provider: DynProvider,
    pub contract: Address,
    pub timeout: Duration,
    /// First block to search for contract logs (its deployment block).
    pub from_block: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchoredLog {
    pub tx_hash: Hash32,
    pub block_number: u64,
    pub block_hash: Hash32,
}

/// A BatchAnchored event as the chain has it: where, and what it anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchoredEvent {
    pub log: AnchoredLog,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
}

/// A chain hash as the protocol's `Hash32`.
pub fn to_hash32(b: B256) -> Hash32 {
    Hash32(b.0)
}

/// The protocol's `Hash32` as a chain hash.
pub fn to_b256(h: &Hash32) -> B256 {
    B256::from(h.0)
}

impl Chain {
    pub fn connect(
        rpc_url: &str,
        contract: Address,
        timeout: Duration,
    ) -> Result<Chain, ChainError> {
        let url = rpc_url
            .parse()
            .map_err(|_| ChainError::Url(rpc_url.to_owned()))?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        Ok(Chain {
            provider,
            contract,
            timeout,
            from_block: 0,
        })
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub(super) async fn bounded<T, E: std::fmt::Display>(
        &self,
        call: &'static str,
        fut: impl IntoFuture<Output = Result<T, E>>,
    ) -> Result<T, ChainError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(ChainError::Timeout {
                call,
                after: self.timeout,
            }),
            Ok(Err(e)) => Err(ChainError::Rpc {
                call,
                message: e.to_string(),
            }),
            Ok(Ok(v)) => Ok(v),
        }
    }

    pub(super) fn instance(&self) -> SupportAnchor::SupportAnchorInstance<&DynProvider> {
        SupportAnchor::new(self.contract, &self.provider)
    }

    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.bounded("eth_chainId", self.provider.get_chain_id())
            .await
    }

    pub async fn block_number(&self) -> Result<u64, ChainError> {
        self.bounded("eth_blockNumber", self.provider.get_block_number())
            .await
    }

    pub async fn code_exists(&self) -> Result<bool, ChainError> {
        let code = self
            .bounded("eth_getCode", self.provider.get_code_at(self.contract))
            .await?;
        Ok(!code.is_empty())
    }

    pub async fn batch_count(&self) -> Result<u64, ChainError> {
        self.bounded("batchCount", self.instance().batchCount().call())
            .await
    }

    pub async fn next_index(&self) -> Result<u64, ChainError> {
        self.bounded("nextIndex", self.instance().nextIndex().call())
            .await
    }

    pub async fn anchorer(&self) -> Result<Address, ChainError> {
        self.bounded("anchorer", self.instance().anchorer().call())
            .await
    }

    pub async fn batch_head(&self, batch_id: u64) -> Result<Hash32, ChainError> {
        self.bounded("batchHead", self.instance().batchHead(batch_id).call())
            .await
            .map(to_hash32)
    }

    /// The BatchAnchored log of a batch, found by its indexed id.
    pub async fn anchored_log(&self, batch_id: u64) -> Result<Option<AnchoredLog>, ChainError> {
        let filter = Filter::new()
            .address(self.contract)
            .event_signature(SupportAnchor::BatchAnchored::SIGNATURE_HASH)
            .topic1(B256::from(U256::from(batch_id)))
            .from_block(self.from_block)
            .to_block(BlockNumberOrTag::Latest);
        let logs = self
            .bounded("eth_getLogs", self.provider.get_logs(&filter))
            .await?;
        Ok(logs.iter().rev().find(|l| !l.removed).and_then(|l| {
            Some(AnchoredLog {
                tx_hash: to_hash32(l.transaction_hash?),
                block_number: l.block_number?,
                block_hash: to_hash32(l.block_hash?),
            })
        }))
    }

    /// Finds a batch's BatchAnchored event near the block someone claims it
    /// is in, never scanning from genesis (public RPCs cap eth_getLogs
    /// ranges): the claimed block first, then `window` blocks before it and
    /// `window` blocks after it (a reorg moves an anchor later), one query
    /// each. Without a claim (a batch just sent), the latest `window`
    /// blocks. Only logs of this contract with the event's topic and this
    /// batch id in topic 1 count; the caller compares the decoded data.
    pub async fn anchored_event_near(
        &self,
        batch_id: u64,
        claimed_block: Option<u64>,
        window: u64,
    ) -> Result<Option<AnchoredEvent>, ChainError> {
        let latest = self.block_number().await?;
        let window = window.max(1);
        let ranges = match claimed_block {
            Some(c) => [
                (c, c),
                (c.saturating_sub(window), c.saturating_sub(1)),
                (c.saturating_add(1), c.saturating_add(window)),
            ],
            None => [(latest.saturating_sub(window - 1), latest), (1, 0), (1, 0)],
        };
        for (i, (from, to)) in ranges.into_iter().enumerate() {
            let to = to.min(latest);
            // Empty, or (at block 0) the claimed block again.
            if from > to || (i > 0 && Some(from) == claimed_block && Some(to) == claimed_block) {
                continue;
            }
            let filter = Filter::new()
                .address(self.contract)
                .event_signature(SupportAnchor::BatchAnchored::SIGNATURE_HASH)
                .topic1(B256::from(U256::from(batch_id)))
                .from_block(from)
                .to_block(to);
            let logs = self
                .bounded("eth_getLogs", self.provider.get_logs(&filter))
                .await?;
            for l in logs.iter().rev().filter(|l| !l.removed) {
                if l.address() != self.contract {
                    continue;
                }
                let Ok(decoded) = l.log_decode::<SupportAnchor::BatchAnchored>() else {
                    continue;
                };
                let event = decoded.inner.data;
                let (Some(tx), Some(number), Some(hash)) =
                    (l.transaction_hash, l.block_number, l.block_hash)
                else {
                    continue;
                };
                if event.batchId != batch_id {
                    continue;
                }
                return Ok(Some(AnchoredEvent {
                    log: AnchoredLog {
                        tx_hash: to_hash32(tx),
                        block_number: number,
                        block_hash: to_hash32(hash),
                    },
                    first_index: event.firstIndex,
                    count: event.count,
                    root: to_hash32(event.root),
                }));
            }
        }
        Ok(None)
    }

    /// Hash and timestamp of the canonical block at a height, if it exists.
    pub async fn block(&self, number: u64) -> Result<Option<(Hash32, u64)>, ChainError> {
        let block = self
            .bounded(
                "eth_getBlockByNumber",
                self.provider.get_block_by_number(number.into()),
            )
            .await?;
        Ok(block.map(|b| (to_hash32(b.header.hash), b.header.timestamp)))
    }

    pub async fn finalized_number(&self) -> Result<Option<u64>, ChainError> {
        let block = self
            .bounded(
                "eth_getBlockByNumber(finalized)",
                self.provider
                    .get_block_by_number(BlockNumberOrTag::Finalized),
            )
            .await?;
        Ok(block.map(|b| b.header.number))
    }

    pub async fn receipt(&self, tx: &Hash32) -> Result<Option<TransactionReceipt>, ChainError> {
        self.bounded(
            "eth_getTransactionReceipt",
            self.provider.get_transaction_receipt(to_b256(tx)),
        )
        .await
    }

    pub async fn tx_known(&self, tx: &Hash32) -> Result<bool, ChainError> {
        let t = self
            .bounded(
                "eth_getTransactionByHash",
                self.provider.get_transaction_by_hash(to_b256(tx)),
            )
            .await?;
        Ok(t.is_some())
    }
}
