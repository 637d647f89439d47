//! The four hash constructions of protocol v1. Every one is SHA-256 with a
//! one-byte domain prefix, so a leaf can never be mistaken for a node or a
//! batch head (RFC 6962 §2.1 second-preimage protection, extended to heads).

use sha2::{Digest, Sha256};

use super::Hash32;

pub const LEAF_PREFIX: u8 = 0x00;
pub const NODE_PREFIX: u8 = 0x01;
pub const HEAD_PREFIX: u8 = 0x02;
pub const RECEIPT_LEAF_PREFIX: u8 = 0x03;

pub fn sha256(data: &[u8]) -> Hash32 {
    Hash32(Sha256::digest(data).into())
}

/// Leaf hash = SHA-256(0x00 ‖ canonical record bytes).
pub fn leaf_hash(canonical: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(canonical);
    Hash32(h.finalize().into())
}

/// Receipt leaf (receipt v2) = SHA-256(0x03 ‖ canonical receipt bytes): its
/// own prefix, so a receipt can never be taken for a record leaf.
pub fn receipt_leaf_hash(canonical: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([RECEIPT_LEAF_PREFIX]);
    h.update(canonical);
    Hash32(h.finalize().into())
}

/// Interior node = SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    sha256(&buf)
}

/// Batch head = SHA-256(0x02 ‖ u64be(batch_id) ‖ u64be(first_index) ‖ u64be(count) ‖ root).
/// The head is the one value the chain stores per batch; it binds the root to
/// the batch's position and size so a proof cannot be replayed against
/// another range.
pub fn batch_head(batch_id: u64, first_index: u64, count: u64, root: &Hash32) -> Hash32 {
    let mut buf = [0u8; 57];
    buf[0] = HEAD_PREFIX;
    buf[1..9].copy_from_slice(&batch_id.to_be_bytes());
    buf[9..17].copy_from_slice(&first_index.to_be_bytes());
    buf[17..25].copy_from_slice(&count.to_be_bytes());
    buf[25..].copy_from_slice(&root.0);
    sha256(&buf)
}

/// Content commitment = SHA-256(salt ‖ UTF-8 content). The salt is 32 fresh
/// random bytes, so short or guessable content cannot be brute-forced from
/// the public record, and erasing the salt makes the commitment opaque.
pub fn content_commitment(salt: &[u8; 32], content: &str) -> Hash32 {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(content.as_bytes());
    Hash32(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_sha256_matches_rfc6962_empty_tree() {
        assert_eq!(
            sha256(b"").to_hex(),
            "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn domain_prefixes_separate_leaf_and_node() {
        let a = Hash32([1; 32]);
        let mut joined = Vec::new();
        joined.extend_from_slice(&a.0);
        joined.extend_from_slice(&a.0);
        assert_ne!(leaf_hash(&joined), node_hash(&a, &a));
    }

    #[test]
    fn head_layout_is_57_bytes_big_endian() {
        let root = Hash32([7; 32]);
        let mut expected = vec![2u8];
        expected.extend_from_slice(&1u64.to_be_bytes());
        expected.extend_from_slice(&258u64.to_be_bytes());
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(&root.0);
        assert_eq!(batch_head(1, 258, 3, &root), sha256(&expected));
    }
}
