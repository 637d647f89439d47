//! Checking a fraud proof (PROTOCOL.md §15.7) against the chain: the
//! offline half is `protocol::fraud::check`; this reads the heads it names
//! from the contract the user trusts, through the user's RPCs, and confirms
//! the fraud only when every head is on chain as the proof computes it.

use serde::Serialize;

use super::onchain::{Endpoint, read_heads};
use super::{ContractSource, RpcError, VerifyError, VerifyOptions, choose_contract, rpc};
use proofdesk_protocol::fraud::{FraudProof, check};

/// What checking a fraud proof found.
#[derive(Debug, Clone, Serialize)]
pub struct FraudReport {
    /// The log is shown to have broken its promise: the proof checks out
    /// offline and every head it relies on is on chain.
    pub confirmed: bool,
    /// What the proof shows, when it checks out offline.
    pub summary: Option<String>,
    /// Why it is not confirmed.
    pub problems: Vec<String>,
    pub chain_id: u64,
    pub contract: String,
    pub contract_source: ContractSource,
    pub at_block: Option<u64>,
}

impl FraudReport {
    pub fn render(&self) -> String {
        let mut out = format!(
            "Contract {}  ({}), chain {}, read at block {}\n",
            self.contract,
            self.contract_source.words(),
            self.chain_id,
            self.at_block.map_or("?".into(), |b| b.to_string())
        );
        if let Some(s) = &self.summary {
            out.push_str(&format!("  claim: {s}\n"));
        }
        for p in &self.problems {
            out.push_str(&format!("  ✗ {p}\n"));
        }
        out.push_str(if self.confirmed {
            "CONFIRMED: the chain holds every head this fraud proof relies on; the log broke its promise as stated\n"
        } else {
            "NOT CONFIRMED: this fraud proof does not show what it claims\n"
        });
        out
    }
}

/// Checks `proof` against the chain, with the user's contract and RPCs.
pub async fn verify_fraud_proof(
    proof: &FraudProof,
    options: &VerifyOptions,
) -> Result<FraudReport, VerifyError> {
    if options.rpcs.is_empty() {
        return Err(VerifyError::NoRpc);
    }
    let trust = choose_contract(proof.chain_id, &proof.contract, options)?;
    let mut report = FraudReport {
        confirmed: false,
        summary: None,
        problems: Vec::new(),
        chain_id: proof.chain_id,
        contract: format!("{:#x}", trust.contract),
        contract_source: trust.source,
        at_block: None,
    };
    if trust.source == ContractSource::Typed
        && proof.contract.parse::<alloy::primitives::Address>().ok() != Some(trust.contract)
    {
        report.problems.push(format!(
            "the fraud proof is about contract {}, not the contract you typed, {:#x}",
            proof.contract, trust.contract
        ));
    }
    let claim = match check(proof) {
        Ok(c) => c,
        Err(why) => {
            report.problems.push(why);
            return Ok(report);
        }
    };
    report.summary = Some(claim.summary.clone());
    let endpoints = options
        .rpcs
        .iter()
        .map(|r| {
            Ok(Endpoint {
                rpc: rpc::Rpc::new(&r.url, options.timeout, options.max_rpc_answer_bytes)?,
                source: r.source,
            })
        })
        .collect::<Result<Vec<_>, RpcError>>()?;
    let ids: Vec<u64> = claim.heads.iter().map(|(id, _)| *id).collect();
    let read = read_heads(&endpoints, trust.contract, &ids).await?;
    report.chain_id = read.chain_id;
    report.at_block = read.at_block;
    report.problems.extend(read.disagreements.iter().cloned());
    if read.chain_id != proof.chain_id {
        report.problems.push(format!(
            "the fraud proof is about chain {}; your RPC serves chain {}",
            proof.chain_id, read.chain_id
        ));
    }
    if !read.code {
        report.problems.push(format!(
            "no contract is deployed at {:#x} on chain {}",
            trust.contract, read.chain_id
        ));
    }
    for (id, head) in &claim.heads {
        match read.heads.get(id) {
            Some(h) if h == head => {}
            Some(h) if *h == proofdesk_protocol::Hash32::ZERO => report
                .problems
                .push(format!("batch {id} is not anchored on chain")),
            Some(h) => report.problems.push(format!(
                "batch {id}: the proof's fields give head {head}, but batchHead({id}) on chain is {h}"
            )),
            None => {}
        }
    }
    report.confirmed = report.problems.is_empty();
    Ok(report)
}
