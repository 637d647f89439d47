//! Verifying a proof bundle with nothing but the user's own RPC: the
//! offline checks of `protocol::bundle`, then the chain id, the contract,
//! each batch head against `batchHead` on chain, and each anchoring block
//! (found from the contract's own BatchAnchored log, not the bundle's word)
//! with its time, to flag backdating and broken merge-delay promises.

pub mod receipt;
pub mod report;

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::Address;

use crate::anchor::chain::{Chain, ChainError};
use crate::protocol::bundle::{Bundle, check_offline};
pub use report::{EventReport, VerifyReport};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read the bundle: {0}")]
    Input(String),
    #[error("the bundle names contract {0:?}, which is not an address")]
    BadContract(String),
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub rpc_url: String,
    pub expected_contract: Option<Address>,
    pub timeout: Duration,
}

/// Parses bundle JSON strictly (unknown members and duplicate keys refused).
pub fn parse_bundle(text: &str) -> Result<Bundle, VerifyError> {
    let value = crate::protocol::canonical::parse_strict(text)
        .map_err(|e| VerifyError::Input(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| VerifyError::Input(e.to_string()))
}

/// The one verification path, shared by `proofdesk verify` and the tests.
pub async fn verify_bundle(
    bundle: &Bundle,
    options: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    let offline = check_offline(bundle);
    let mut problems = offline.problems.clone();
    let contract: Address = bundle
        .chain
        .contract
        .parse()
        .map_err(|_| VerifyError::BadContract(bundle.chain.contract.clone()))?;
    if let Some(expected) = options.expected_contract {
        if expected != contract {
            problems.push(format!(
                "the bundle's contract {contract} is not the expected contract {expected}"
            ));
        }
    }
    let chain = Chain::connect(&options.rpc_url, contract, options.timeout)?;
    let chain_id = chain.chain_id().await?;
    if chain_id != bundle.chain.chain_id {
        problems.push(format!(
            "the RPC serves chain {chain_id}, but the bundle is anchored on chain {}",
            bundle.chain.chain_id
        ));
    }
    // On-chain facts per batch: head matches, and when/where it was anchored.
    let mut anchored: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut batch_problems: HashMap<u64, String> = HashMap::new();
    if chain_id == bundle.chain.chain_id {
        for id in &offline.batches_used {
            let Some(b) = bundle.batches.iter().find(|b| b.id == *id) else {
                continue;
            };
            let on_chain = chain.batch_head(*id).await?;
            if on_chain.0 == [0u8; 32] {
                batch_problems.insert(*id, format!("batch {id} is not anchored on chain"));
                continue;
            }
            if on_chain != b.head {
                batch_problems.insert(
                    *id,
                    format!(
                        "batch {id}: the chain's head {on_chain} differs from the bundle's {}",
                        b.head
                    ),
                );
                continue;
            }
            match chain.anchored_log(*id).await? {
                Some(log) => {
                    let time = chain
                        .block(log.block_number)
                        .await?
                        .map(|(_, t)| t)
                        .unwrap_or(0);
                    anchored.insert(*id, (log.block_number, time));
                }
                None => {
                    batch_problems.insert(
                        *id,
                        format!("batch {id}: no BatchAnchored log found on chain"),
                    );
                }
            }
        }
    }
    Ok(report::build(
        bundle,
        offline,
        problems,
        &anchored,
        &batch_problems,
        chain_id,
    ))
}
