//! Checking receipts: who signed one (compare with the contract's
//! `anchorer()`), and reading the signed receipt out of an append answer.
//! Signing is the server's (proofdesk::ingest::signing).

use alloy::primitives::{Address, Signature, eip191_hash_message};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, SECP256K1};

use proofdesk_protocol::receipt::{ReceiptShapeError, SignedReceipt};

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt is not canonicalisable: {0}")]
    Canonical(#[from] proofdesk_protocol::canonical::CanonicalError),
    #[error("{0}")]
    Shape(#[from] ReceiptShapeError),
    #[error("signature is malformed: {0}")]
    Signature(String),
}

/// The signed receipt (v1 or v2) in an answer of `POST /v1/tickets/{h}/events`:
/// every member but the record and the replay flag. (A bulk answer's
/// `receipts` items are signed receipts as they are.)
pub fn from_append_answer(answer: &serde_json::Value) -> Result<SignedReceipt, serde_json::Error> {
    let mut signed = answer.clone();
    if let Some(fields) = signed.as_object_mut() {
        fields.remove("record");
        fields.remove("replayed");
    }
    serde_json::from_value(signed)
}

/// The address that signed the receipt (compare it with `anchorer()`).
/// For v2, only after the receipt's path to its group root checks out.
pub fn signer_of(signed: &SignedReceipt) -> Result<Address, ReceiptError> {
    let message = signed.signed_message()?;
    let hex_sig = signed
        .signature
        .strip_prefix("0x")
        .ok_or_else(|| ReceiptError::Signature("missing 0x prefix".into()))?;
    let bytes = hex::decode(hex_sig).map_err(|e| ReceiptError::Signature(e.to_string()))?;
    // alloy parses (and so decides which v values are accepted); the
    // recovery itself runs in libsecp256k1.
    let sig = Signature::try_from(bytes.as_slice())
        .map_err(|e| ReceiptError::Signature(e.to_string()))?;
    let id = RecoveryId::try_from(i32::from(sig.v()))
        .map_err(|e| ReceiptError::Signature(e.to_string()))?;
    let mut rs = [0u8; 64];
    rs[..32].copy_from_slice(&sig.r().to_be_bytes::<32>());
    rs[32..].copy_from_slice(&sig.s().to_be_bytes::<32>());
    let recoverable = RecoverableSignature::from_compact(&rs, id)
        .map_err(|e| ReceiptError::Signature(e.to_string()))?;
    let digest = Message::from_digest(eip191_hash_message(&message).0);
    let key = SECP256K1
        .recover_ecdsa(digest, &recoverable)
        .map_err(|e| ReceiptError::Signature(e.to_string()))?;
    let uncompressed = key.serialize_uncompressed();
    Ok(Address::from_raw_public_key(&uncompressed[1..]))
}
