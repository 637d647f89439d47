//! Signing receipts (PROTOCOL.md §12): v1, one signature each, and v2,
//! one signature over a group. Checking them is the verifier's
//! (proofdesk_verify::receipt::signer_of).

use alloy::primitives::eip191_hash_message;
use secp256k1::{Message, SECP256K1, SecretKey};

use crate::anchor::OperatorKey;
use crate::protocol::receipt::{Receipt, ReceiptShapeError, SignedReceipt, build_group};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("receipt is not canonicalisable: {0}")]
    Canonical(#[from] crate::protocol::canonical::CanonicalError),
    #[error("{0}")]
    Shape(#[from] ReceiptShapeError),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// EIP-191 personal-message signature, `0x` + r ‖ s ‖ v (v = 27 or 28).
/// libsecp256k1 rather than alloy's k256: 3.3 × faster to sign and 4.7 ×
/// faster to recover (BENCHMARKS.md). Both derive the nonce by RFC 6979
/// and give low-s signatures, so the bytes are the same (tested below).
fn sign_message(key: &OperatorKey, message: &[u8]) -> Result<String, SignError> {
    let secret = SecretKey::from_byte_array(key.signer().to_bytes().0)
        .map_err(|e| SignError::Sign(e.to_string()))?;
    let digest = Message::from_digest(eip191_hash_message(message).0);
    let (id, rs) = SECP256K1
        .sign_ecdsa_recoverable(digest, &secret)
        .serialize_compact();
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&rs);
    out[64] = 27 + i32::from(id) as u8;
    Ok(format!("0x{}", hex::encode(out)))
}

/// A v1 receipt: its own signature.
pub fn sign(key: &OperatorKey, receipt: Receipt) -> Result<SignedReceipt, SignError> {
    let signature = sign_message(key, &receipt.signing_bytes()?)?;
    Ok(SignedReceipt {
        receipt,
        group: None,
        position: None,
        path: None,
        signature,
    })
}

/// v2: one signature over the group of `receipts` (each `v = 2`), every
/// receipt with its path to the group's root. Returned in input order.
pub fn sign_group(
    key: &OperatorKey,
    receipts: Vec<Receipt>,
) -> Result<Vec<SignedReceipt>, SignError> {
    let (group, paths) = build_group(&receipts)?;
    let signature = sign_message(key, &group.signing_bytes()?)?;
    Ok(receipts
        .into_iter()
        .zip(paths)
        .map(|(receipt, (position, path))| SignedReceipt {
            receipt,
            group: Some(group.clone()),
            position: Some(position),
            path: Some(path),
            signature: signature.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::receipt::{ReceiptError, signer_of};
    use proofdesk_protocol::Hash32;
    use proofdesk_protocol::fields::{TicketHandle, Timestamp};
    use proofdesk_protocol::receipt::RECEIPT_V2;

    fn key() -> OperatorKey {
        OperatorKey::parse(crate::devnet::DEV_KEYS[0]).unwrap()
    }

    /// libsecp256k1 signs byte for byte as alloy's k256 signer did (RFC
    /// 6979, low s), and recovers the same address as alloy.
    #[test]
    fn libsecp256k1_signatures_equal_k256_ones() {
        use alloy::signers::SignerSync;
        for (i, k) in crate::devnet::DEV_KEYS.iter().enumerate() {
            let key = OperatorKey::parse(k).unwrap();
            for msg in [b"".as_slice(), b"receipt", &[i as u8; 300]] {
                let ours = sign_message(&key, msg).unwrap();
                let theirs = key.signer().sign_message_sync(msg).unwrap();
                assert_eq!(ours, format!("0x{}", hex::encode(theirs.as_bytes())));
                assert_eq!(theirs.recover_address_from_msg(msg).unwrap(), key.address());
            }
            let signed = sign(&key, receipt(1, i as u64)).unwrap();
            assert_eq!(signer_of(&signed).unwrap(), key.address());
        }
    }

    fn receipt(v: u64, index: u64) -> Receipt {
        Receipt {
            v,
            ticket: TicketHandle::from_random([7; 16]),
            index,
            seq: index,
            leaf: Hash32([index as u8; 32]),
            recorded_at: Timestamp::from_millis(1_000).unwrap(),
            anchor_deadline: Timestamp::from_millis(61_000).unwrap(),
            chain_id: 31337,
            contract: format!("0x{}", "ab".repeat(20)),
        }
    }

    #[test]
    fn v1_and_v2_receipts_recover_the_signer() {
        let k = key();
        let v1 = sign(&k, receipt(1, 0)).unwrap();
        assert_eq!(signer_of(&v1).unwrap(), k.address());
        let group = sign_group(&k, (0..5).map(|i| receipt(RECEIPT_V2, i)).collect()).unwrap();
        assert!(
            group.iter().all(|r| r.signature == group[0].signature),
            "one signature"
        );
        for r in &group {
            assert_eq!(signer_of(r).unwrap(), k.address());
        }
    }

    #[test]
    fn a_v2_receipt_out_of_its_group_is_refused() {
        let k = key();
        let group = sign_group(&k, (0..5).map(|i| receipt(RECEIPT_V2, i)).collect()).unwrap();
        // Another receipt under the group's signature: not in the tree.
        let mut forged = group[1].clone();
        forged.receipt.index = 99;
        assert!(matches!(
            signer_of(&forged),
            Err(ReceiptError::Shape(ReceiptShapeError::NotInGroup(_)))
        ));
        let mut moved = group[1].clone();
        moved.position = Some(2);
        assert!(signer_of(&moved).is_err());
        let mut bare = group[1].clone();
        bare.path = None;
        assert!(matches!(
            signer_of(&bare),
            Err(ReceiptError::Shape(ReceiptShapeError::V2WithoutGroup))
        ));
        let mut other_chain = group[1].clone();
        other_chain.receipt.chain_id = 1;
        assert!(signer_of(&other_chain).is_err());
        // A v1 receipt may not borrow a group.
        let mut v1 = sign(&k, receipt(1, 0)).unwrap();
        v1.group = group[0].group.clone();
        assert!(matches!(
            signer_of(&v1),
            Err(ReceiptError::Shape(ReceiptShapeError::V1WithGroup))
        ));
    }
}
