//! Verifying a proof bundle with nothing but the user's own RPCs and the
//! user's own expectations (PROTOCOL.md §13): the offline checks of
//! `protocol::bundle`, then what the chain says (`onchain`), put together
//! with the receipts and disclosures the user holds (`report`).
//!
//! Nothing the operator merely claims is trusted. Every input that can earn
//! trust carries where it came from (`ContractSource`, `RpcSource`,
//! `TicketSource`), and the verdict (`Verdict`) is only `valid` when the
//! contract and at least one RPC came from outside the log.

mod assemble;
mod caveats;
pub mod contract;
pub mod deployments;
pub mod fraud;
pub mod inputs;
pub mod onchain;
pub mod receipt;
mod receipt_checks;
pub mod render;
pub mod report;
pub mod rpc;
pub mod timeline;

use std::time::Duration;

use alloy::primitives::Address;
use serde::Serialize;

pub use deployments::{Deployment, Deployments};
pub use inputs::{parse_bundle, parse_strict};
use proofdesk_protocol::bundle::{Bundle, check_offline};
use proofdesk_protocol::disclosure::Disclosure;
use proofdesk_protocol::fields::TicketHandle;
use proofdesk_protocol::receipt::SignedReceipt;
pub use report::{EventReport, EventStatus, MmdSource, Verdict, VerifyReport};
pub use rpc::RpcError;

/// Default bound on each eth_getLogs range, and on the search either side
/// of a claimed block: public RPCs refuse wide ranges.
pub const DEFAULT_LOG_WINDOW: u64 = 1_000;

/// The largest maximum merge delay a user may give, ms: 2^53 − 1, the
/// protocol's largest integer (§2.3). With it, `recorded_at + MMD` always
/// fits, so a user's MMD is refused up front or never overflows.
pub const MAX_USER_MMD_MS: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// An input could not be read; `what` names it (bundle, receipt, …).
    #[error("cannot read the {what}: {message}")]
    Input { what: String, message: String },
    #[error("the bundle names contract {0:?}, which is not an address")]
    BadContract(String),
    #[error(
        "no contract to check against: the bundle names {named} on chain {chain_id}, which is not on the \
         deployment list. Give the contract the platform publishes (--contract), or accept the bundle's \
         knowingly (--trust-bundle-contract: the result is then at best consistent, exit 3)"
    )]
    NoContract { named: String, chain_id: u64 },
    #[error("no RPC to read the chain through: give your own (--rpc)")]
    NoRpc,
    #[error("{0}")]
    Rpc(#[from] RpcError),
}

/// Where the contract the bundle is checked against came from
/// (PROTOCOL.md §13.1). Only `Typed` and `DeploymentList` come from
/// outside the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractSource {
    /// `--contract` / PROOFDESK_TRUSTED_CONTRACT, or the page's field.
    Typed,
    /// The deployment list the verifier carries.
    DeploymentList,
    /// A link's `#contract=` (page).
    Link,
    /// `/v1/log` (page).
    Log,
    /// The bundle's `chain.contract`, accepted knowingly
    /// (`--trust-bundle-contract`).
    Bundle,
}

impl ContractSource {
    pub fn words(self) -> &'static str {
        match self {
            ContractSource::Typed => "you typed it",
            ContractSource::DeploymentList => "from the deployment list",
            ContractSource::Link => "from the link",
            ContractSource::Log => "suggested by the log",
            ContractSource::Bundle => "named by the bundle",
        }
    }

    /// Came from outside the operator.
    pub fn independent(self) -> bool {
        matches!(self, ContractSource::Typed | ContractSource::DeploymentList)
    }
}

/// Where an RPC URL came from. The CLI's `--rpc` is always the user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RpcSource {
    Typed,
    Link,
    Log,
}

impl RpcSource {
    pub fn words(self) -> &'static str {
        match self {
            RpcSource::Typed => "you typed it",
            RpcSource::Link => "from the link",
            RpcSource::Log => "suggested by the log",
        }
    }
}

/// Where the ticket the bundle must belong to came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    /// `--ticket`.
    Typed,
    /// The handle in the bundle URL's path, percent-decoded as the server
    /// decodes it.
    BundleUrl,
    /// The handle in the page's URL (page).
    PageUrl,
    /// `#ticket=` of a page opened from disk (page).
    Link,
}

impl TicketSource {
    pub fn words(self) -> &'static str {
        match self {
            TicketSource::Typed => "you typed it",
            TicketSource::BundleUrl => "the handle in the bundle URL",
            TicketSource::PageUrl => "the handle in the page's URL",
            TicketSource::Link => "from the link",
        }
    }
}

/// An RPC URL and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcInput {
    pub url: String,
    pub source: RpcSource,
}

impl RpcInput {
    pub fn typed(url: impl Into<String>) -> RpcInput {
        RpcInput {
            url: url.into(),
            source: RpcSource::Typed,
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Every RPC to read the chain through; all are compared.
    pub rpcs: Vec<RpcInput>,
    /// The contract the user trusts (the one the platform publishes).
    pub expected_contract: Option<Address>,
    /// Without an expected contract, accept the bundle's own, knowingly.
    pub trust_bundle_contract: bool,
    /// The reviewed list of known deployments (the embedded one by default).
    pub deployments: Deployments,
    /// The ticket the user asked about, and where that came from.
    pub expected_ticket: Option<TicketHandle>,
    pub ticket_source: TicketSource,
    /// Receipts the user holds.
    pub receipts: Vec<SignedReceipt>,
    /// Receipts the user gave that could not be read (what, and why): the
    /// verdict does not rest on them, and the report says so (§13.6).
    pub unusable_receipts: Vec<String>,
    /// Content the platform disclosed to the user.
    pub disclosures: Vec<Disclosure>,
    /// The maximum merge delay the user holds the log to, ms
    /// (≤ `MAX_USER_MMD_MS`).
    pub max_merge_delay_ms: Option<u64>,
    /// Bound on each eth_getLogs range and on the search either side of a
    /// claimed block, blocks.
    pub log_window: u64,
    /// Bound on each RPC request.
    pub timeout: Duration,
    /// Bound on each RPC answer's body.
    pub max_rpc_answer_bytes: usize,
}

impl VerifyOptions {
    /// Verification against a contract the caller trusts, through one RPC of
    /// the caller's own, with defaults.
    pub fn new(rpc_url: impl Into<String>, contract: Address) -> VerifyOptions {
        VerifyOptions {
            rpcs: vec![RpcInput::typed(rpc_url)],
            expected_contract: Some(contract),
            trust_bundle_contract: false,
            deployments: Deployments::embedded(),
            expected_ticket: None,
            ticket_source: TicketSource::Typed,
            receipts: Vec::new(),
            unusable_receipts: Vec::new(),
            disclosures: Vec::new(),
            max_merge_delay_ms: None,
            log_window: DEFAULT_LOG_WINDOW,
            timeout: Duration::from_secs(20),
            max_rpc_answer_bytes: rpc::DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

/// The contract chosen, where it came from, and its deployment-list entry.
struct Trust {
    contract: Address,
    source: ContractSource,
    listed: Option<Deployment>,
}

/// The contract to check against: the user's, else the one the document
/// names if it is on the deployment list, else (knowingly) the named one.
fn choose_contract(
    chain_id: u64,
    named_contract: &str,
    options: &VerifyOptions,
) -> Result<Trust, VerifyError> {
    let named = || {
        named_contract
            .parse::<Address>()
            .map_err(|_| VerifyError::BadContract(named_contract.to_owned()))
    };
    let listed = |c: Address| options.deployments.find(chain_id, c).cloned();
    if let Some(c) = options.expected_contract {
        return Ok(Trust {
            contract: c,
            source: ContractSource::Typed,
            listed: listed(c),
        });
    }
    let named = named()?;
    if let Some(d) = listed(named) {
        return Ok(Trust {
            contract: named,
            source: ContractSource::DeploymentList,
            listed: Some(d),
        });
    }
    if options.trust_bundle_contract {
        return Ok(Trust {
            contract: named,
            source: ContractSource::Bundle,
            listed: None,
        });
    }
    Err(VerifyError::NoContract {
        named: format!("{named:#x}"),
        chain_id,
    })
}

/// The one verification path, shared by `proofdesk verify` and the tests.
pub async fn verify_bundle(
    bundle: &Bundle,
    options: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    if options.rpcs.is_empty() {
        return Err(VerifyError::NoRpc);
    }
    let trust = choose_contract(bundle.chain.chain_id, &bundle.chain.contract, options)?;
    let endpoints = options
        .rpcs
        .iter()
        .map(|r| {
            Ok(onchain::Endpoint {
                rpc: rpc::Rpc::new(&r.url, options.timeout, options.max_rpc_answer_bytes)?,
                source: r.source,
            })
        })
        .collect::<Result<Vec<_>, RpcError>>()?;

    let offline = check_offline(bundle);
    let mut problems = offline.problems.clone();
    if let Some(expected) = &options.expected_ticket
        && *expected != bundle.ticket
    {
        problems.push(format!(
            "this is the bundle of ticket {}, not of the ticket you asked for, {expected} ({})",
            bundle.ticket,
            options.ticket_source.words()
        ));
    }
    if trust.source == ContractSource::Typed
        && bundle.chain.contract.parse::<Address>().ok() != Some(trust.contract)
    {
        problems.push(format!(
            "the bundle names contract {}, not the contract you typed, {:#x}",
            bundle.chain.contract, trust.contract
        ));
    }
    let query = onchain::Query {
        contract: trust.contract,
        window: options.log_window.max(1),
        first_block: trust.listed.as_ref().map(|d| d.first_block).unwrap_or(0),
    };
    let facts = onchain::read(&endpoints, bundle, &offline.batches_used, query).await?;
    problems.extend(facts.disagreements.iter().cloned());
    if facts.disagreements.is_empty() && facts.chain_id != bundle.chain.chain_id {
        problems.push(format!(
            "the bundle says chain {}; your RPC serves chain {}",
            bundle.chain.chain_id, facts.chain_id
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
    // A typed contract is matched against the list on the chain the RPC
    // serves; one taken from the list is only good on the list's chain.
    let listed = match trust.source {
        ContractSource::Typed => options
            .deployments
            .find(facts.chain_id, trust.contract)
            .cloned(),
        _ => trust.listed.clone(),
    };
    Ok(assemble::build(assemble::Inputs {
        bundle,
        offline,
        problems,
        facts: &facts,
        options,
        contract: trust.contract,
        contract_source: trust.source,
        listed,
    }))
}
