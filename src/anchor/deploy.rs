//! `proofdesk deploy`: puts a SupportAnchor on chain with the operator key
//! as both owner and anchorer.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::ProviderBuilder;

use super::chain::ChainError;
use super::contract::SupportAnchor;
use super::keys::OperatorKey;

pub async fn deploy(
    rpc_url: &str,
    key: &OperatorKey,
    anchorer: Option<Address>,
    timeout: Duration,
) -> Result<(Address, u64), ChainError> {
    let url = rpc_url
        .parse()
        .map_err(|_| ChainError::Url(rpc_url.to_owned()))?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.signer().clone()))
        .connect_http(url);
    let anchorer = anchorer.unwrap_or(key.address());
    let pending = tokio::time::timeout(
        timeout,
        SupportAnchor::deploy_builder(&provider, anchorer).send(),
    )
    .await
    .map_err(|_| ChainError::Timeout {
        call: "deploy",
        after: timeout,
    })?
    .map_err(|e| ChainError::Rpc {
        call: "deploy",
        message: e.to_string(),
    })?;
    let receipt = tokio::time::timeout(timeout, pending.with_timeout(Some(timeout)).get_receipt())
        .await
        .map_err(|_| ChainError::Timeout {
            call: "deploy receipt",
            after: timeout,
        })?
        .map_err(|e| ChainError::Rpc {
            call: "deploy receipt",
            message: e.to_string(),
        })?;
    let address = receipt.contract_address.ok_or_else(|| ChainError::Rpc {
        call: "deploy",
        message: "no contract address in receipt".into(),
    })?;
    Ok((address, receipt.block_number.unwrap_or(0)))
}
