//! The operator key: the account the contract names as anchorer. It signs
//! anchor transactions and receipts. It is read from an environment variable
//! or a key file, and never printed: `Debug` shows only the address.

use std::path::Path;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;

pub const KEY_ENV: &str = "PROOFDESK_OPERATOR_KEY";

#[derive(Clone)]
pub struct OperatorKey(PrivateKeySigner);

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperatorKey({})", self.address())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no operator key: set {KEY_ENV} or pass --key-file")]
    Missing,
    #[error("cannot read key file {0}: {1}")]
    File(String, std::io::Error),
    #[error("the operator key is not a valid secp256k1 private key (expected 0x + 64 hex digits)")]
    Invalid,
}

impl OperatorKey {
    pub fn parse(hex_key: &str) -> Result<OperatorKey, KeyError> {
        hex_key
            .trim()
            .parse::<PrivateKeySigner>()
            .map(OperatorKey)
            .map_err(|_| KeyError::Invalid)
    }

    /// From the key file when given, else from the environment.
    pub fn load(file: Option<&Path>) -> Result<OperatorKey, KeyError> {
        match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| KeyError::File(p.display().to_string(), e))?;
                OperatorKey::parse(&text)
            }
            None => OperatorKey::parse(&std::env::var(KEY_ENV).map_err(|_| KeyError::Missing)?),
        }
    }

    pub fn address(&self) -> Address {
        self.0.address()
    }

    pub fn signer(&self) -> &PrivateKeySigner {
        &self.0
    }
}
