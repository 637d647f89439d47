//! Signing receipts (server side) and checking them (anyone).

use alloy::primitives::{Address, Signature};
use alloy::signers::SignerSync;

use crate::anchor::OperatorKey;
use crate::protocol::receipt::{Receipt, SignedReceipt};

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt is not canonicalisable: {0}")]
    Canonical(#[from] crate::protocol::canonical::CanonicalError),
    #[error("signature is malformed: {0}")]
    Signature(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

pub fn sign(key: &OperatorKey, receipt: Receipt) -> Result<SignedReceipt, ReceiptError> {
    let message = receipt.signing_bytes()?;
    let sig = key
        .signer()
        .sign_message_sync(&message)
        .map_err(|e| ReceiptError::Sign(e.to_string()))?;
    Ok(SignedReceipt {
        receipt,
        signature: format!("0x{}", hex::encode(sig.as_bytes())),
    })
}

/// The address that signed the receipt (compare it with `anchorer()`).
pub fn signer_of(signed: &SignedReceipt) -> Result<Address, ReceiptError> {
    let message = signed.receipt.signing_bytes()?;
    let bytes = hex::decode(signed.signature.trim_start_matches("0x"))
        .map_err(|e| ReceiptError::Signature(e.to_string()))?;
    let sig = Signature::try_from(bytes.as_slice())
        .map_err(|e| ReceiptError::Signature(e.to_string()))?;
    sig.recover_address_from_msg(&message)
        .map_err(|e| ReceiptError::Signature(e.to_string()))
}
