//! The anchorer's side of the chain: fees, the mined nonce, and anchor()
//! dry-run, signed and sent, each bounded like every read (chain.rs). The
//! caller persists a signed transaction's hash before sending it, so a
//! restart finds what was sent.

use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;

use super::chain::{Chain, ChainError, to_b256};
use super::contract::{SupportAnchor, SupportAnchorErrors};
use crate::protocol::Hash32;

#[derive(Debug, Clone, Copy)]
pub struct Fees {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

impl Chain {
    /// Nonce of the last mined transaction + 1 (pending ones not counted,
    /// so a stuck transaction's nonce is reused, replacing it).
    pub async fn mined_nonce(&self, from: Address) -> Result<u64, ChainError> {
        self.bounded(
            "eth_getTransactionCount",
            self.provider.get_transaction_count(from).latest(),
        )
        .await
    }

    pub async fn fees(&self) -> Result<Fees, ChainError> {
        let est = self
            .bounded("eth_feeHistory", self.provider.estimate_eip1559_fees())
            .await?;
        Ok(Fees {
            max_fee_per_gas: est.max_fee_per_gas,
            max_priority_fee_per_gas: est.max_priority_fee_per_gas,
        })
    }

    fn anchor_call(batch_id: u64, first_index: u64, count: u64, root: &Hash32) -> Vec<u8> {
        SupportAnchor::anchorCall {
            batchId: batch_id,
            firstIndex: first_index,
            count,
            root: to_b256(root),
        }
        .abi_encode()
    }

    /// Dry-runs anchor() as `from`, turning a revert into its decoded reason
    /// before any transaction is signed.
    pub async fn simulate_anchor(
        &self,
        from: Address,
        batch_id: u64,
        first_index: u64,
        count: u64,
        root: &Hash32,
    ) -> Result<(), ChainError> {
        let instance = self.instance();
        let call = instance
            .anchor(batch_id, first_index, count, to_b256(root))
            .from(from);
        match tokio::time::timeout(self.timeout, call.call()).await {
            Err(_) => Err(ChainError::Timeout {
                call: "eth_call(anchor)",
                after: self.timeout,
            }),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => match e.as_decoded_interface_error::<SupportAnchorErrors>() {
                Some(decoded) => Err(ChainError::Revert(super::contract::describe_revert(
                    &decoded,
                ))),
                None if e.as_revert_data().is_some() => {
                    Err(ChainError::Revert(format!("undecoded revert: {e}")))
                }
                None => Err(ChainError::Rpc {
                    call: "eth_call(anchor)",
                    message: e.to_string(),
                }),
            },
        }
    }

    /// Signs an anchor() transaction locally; the caller persists its hash
    /// before sending it. Signing is deterministic (RFC 6979), so the same
    /// inputs give the same transaction hash again after a restart.
    #[allow(clippy::too_many_arguments)]
    pub async fn sign_anchor(
        &self,
        wallet: &EthereumWallet,
        chain_id: u64,
        nonce: u64,
        fees: Fees,
        gas_limit: u64,
        batch_id: u64,
        first_index: u64,
        count: u64,
        root: &Hash32,
    ) -> Result<(Hash32, alloy::consensus::TxEnvelope), ChainError> {
        let request = TransactionRequest::default()
            .with_to(self.contract)
            .with_input(Self::anchor_call(batch_id, first_index, count, root))
            .with_nonce(nonce)
            .with_chain_id(chain_id)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let envelope = request.build(wallet).await.map_err(|e| ChainError::Rpc {
            call: "sign",
            message: e.to_string(),
        })?;
        Ok((Hash32(envelope.tx_hash().0), envelope))
    }

    pub async fn send(&self, envelope: alloy::consensus::TxEnvelope) -> Result<(), ChainError> {
        self.bounded(
            "eth_sendRawTransaction",
            self.provider.send_tx_envelope(envelope),
        )
        .await
        .map(|_| ())
    }
}
