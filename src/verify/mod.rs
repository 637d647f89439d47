//! Verifying a proof bundle with nothing but the user's own RPC and the
//! user's own expectations (PROTOCOL.md §13): the offline checks of
//! `protocol::bundle`, then what the chain says (`onchain`), put together
//! with the receipts and disclosures the user holds (`report`).
//!
//! Nothing the operator merely claims is trusted: the contract comes from
//! the user, the anchorer and every anchoring block from the chain, and the
//! maximum merge delay from the user or from signed receipts.

pub mod onchain;
pub mod receipt;
pub mod report;
pub mod vectors;

use std::time::Duration;

use alloy::primitives::Address;
use serde::Serialize;

use crate::anchor::chain::{Chain, ChainError};
use crate::protocol::bundle::{Bundle, check_offline};
use crate::protocol::disclosure::Disclosure;
use crate::protocol::fields::TicketHandle;
use crate::protocol::receipt::SignedReceipt;
pub use report::{EventReport, EventStatus, MmdSource, VerifyReport};

/// Default bound on each eth_getLogs range: public RPCs refuse wide ones.
pub const DEFAULT_LOG_WINDOW: u64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read the bundle: {0}")]
    Input(String),
    #[error("the bundle names contract {0:?}, which is not an address")]
    BadContract(String),
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
}

/// Where the contract the bundle is checked against came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractSource {
    /// The user named it: the only source that makes a result trustworthy.
    User,
    /// Taken from the bundle because the user said so.
    Bundle,
    /// Nobody vouched for it: the result cannot be valid.
    None,
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub rpc_url: String,
    /// The contract the user trusts (the one the platform publishes).
    pub expected_contract: Option<Address>,
    /// Without an expected contract, accept the bundle's own, knowingly.
    pub trust_bundle_contract: bool,
    /// The ticket the user asked about (e.g. the handle in the URL).
    pub expected_ticket: Option<TicketHandle>,
    /// Receipts the user holds.
    pub receipts: Vec<SignedReceipt>,
    /// Content the platform disclosed to the user.
    pub disclosures: Vec<Disclosure>,
    /// The maximum merge delay the user holds the log to, ms.
    pub max_merge_delay_ms: Option<u64>,
    /// Bound on each eth_getLogs range, blocks.
    pub log_window: u64,
    pub timeout: Duration,
}

impl VerifyOptions {
    /// Verification against a contract the caller trusts, with defaults.
    pub fn new(rpc_url: impl Into<String>, contract: Address) -> VerifyOptions {
        VerifyOptions {
            rpc_url: rpc_url.into(),
            expected_contract: Some(contract),
            trust_bundle_contract: false,
            expected_ticket: None,
            receipts: Vec::new(),
            disclosures: Vec::new(),
            max_merge_delay_ms: None,
            log_window: DEFAULT_LOG_WINDOW,
            timeout: Duration::from_secs(20),
        }
    }
}

/// Parses bundle JSON strictly (unknown members and duplicate keys refused).
pub fn parse_bundle(text: &str) -> Result<Bundle, VerifyError> {
    parse_strict(text)
}

/// Parses any verifier input (bundle, receipt, disclosure) strictly.
pub fn parse_strict<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, VerifyError> {
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
    if let Some(expected) = &options.expected_ticket
        && *expected != bundle.ticket
    {
        problems.push(format!(
            "this is the bundle of ticket {}, not of the ticket you asked for, {expected}",
            bundle.ticket
        ));
    }
    let named: Address = bundle
        .chain
        .contract
        .parse()
        .map_err(|_| VerifyError::BadContract(bundle.chain.contract.clone()))?;
    let source = match options.expected_contract {
        Some(expected) => {
            if expected != named {
                problems.push(format!(
                    "the bundle is anchored to contract {named:#x}, not to the contract you trust, {expected:#x}"
                ));
            }
            ContractSource::User
        }
        None if options.trust_bundle_contract => ContractSource::Bundle,
        None => {
            problems.push(format!(
                "no trusted contract: the bundle names {named:#x}, but anyone can deploy a SupportAnchor and \
                 anchor anything to it. Give the contract the platform publishes (--contract), or accept the \
                 bundle's knowingly (--trust-bundle-contract)"
            ));
            ContractSource::None
        }
    };
    // The records are checked against the contract the user trusts; the
    // bundle's only when the user accepted it.
    let contract = options.expected_contract.unwrap_or(named);
    let chain = Chain::connect(&options.rpc_url, contract, options.timeout)?;
    let facts = onchain::read(&chain, bundle, &offline.batches_used, options.log_window).await?;
    if facts.chain_id != bundle.chain.chain_id {
        problems.push(format!(
            "the RPC serves chain {}, but the bundle is anchored on chain {}",
            facts.chain_id, bundle.chain.chain_id
        ));
    }
    if let Some(anchorer) = facts.anchorer
        && bundle.chain.anchorer.parse::<Address>().ok() != Some(anchorer)
    {
        problems.push(format!(
            "the bundle says the anchorer is {}, but the contract's anchorer() is {anchorer:#x}",
            bundle.chain.anchorer
        ));
    }
    Ok(report::build(report::Inputs {
        bundle,
        offline,
        problems,
        facts: &facts,
        options,
        contract: options.expected_contract,
        contract_source: source,
    }))
}
