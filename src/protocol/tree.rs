//! RFC 6962 Merkle trees over a batch's leaf hashes, and RFC 9162 inclusion
//! proofs.
//!
//! Building uses rs_merkle with a hasher that prefixes 0x01 and promotes an
//! unpaired node unchanged: pairing left to right with promotion yields the
//! same tree as RFC 6962's "split at the largest power of two" definition.
//! Verification never uses rs_merkle: its multi-proof verify accepts
//! duplicated indices and its `proof()` returns garbage for an out-of-range
//! index, so positions are range-checked here and paths are checked with
//! RFC 9162 §2.1.3.2 in our own code.

use rs_merkle::{Hasher, MerkleTree};

use super::Hash32;
use super::hashing::{node_hash, sha256};

/// Deepest path a batch can have: batches hold at most 2^32 leaves.
pub const MAX_PATH_LEN: usize = 32;

#[derive(Clone)]
pub struct Rfc6962Hasher;

impl Hasher for Rfc6962Hasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        sha256(data).0
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => node_hash(&Hash32(*left), &Hash32(*right)).0,
            None => *left,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("tree size is 0: a batch always holds at least one leaf")]
    EmptyTree,
    #[error("position {position} is outside a tree of {size} leaves")]
    PositionOutOfRange { position: u64, size: u64 },
    #[error("audit path has {got} hashes, more than a tree of {size} leaves can need")]
    PathTooLong { got: usize, size: u64 },
    #[error(
        "audit path has {got} hashes, fewer than position {position} in a tree of {size} leaves needs"
    )]
    PathTooShort {
        got: usize,
        position: u64,
        size: u64,
    },
    #[error("audit path leads to root {computed}, not the batch root {expected}")]
    RootMismatch { computed: Hash32, expected: Hash32 },
}

/// A batch's tree, built once at seal time so every audit path can be stored.
pub struct BatchTree {
    tree: MerkleTree<Rfc6962Hasher>,
    size: u64,
}

impl BatchTree {
    pub fn build(leaves: &[Hash32]) -> Result<BatchTree, ProofError> {
        if leaves.is_empty() {
            return Err(ProofError::EmptyTree);
        }
        let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
        Ok(BatchTree {
            tree: MerkleTree::<Rfc6962Hasher>::from_leaves(&raw),
            size: leaves.len() as u64,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Hash32 {
        // from_leaves on a non-empty slice always has a root.
        Hash32(self.tree.root().unwrap_or_default())
    }

    /// RFC 9162 audit path for `position`, bottom-up.
    pub fn audit_path(&self, position: u64) -> Result<Vec<Hash32>, ProofError> {
        if position >= self.size {
            return Err(ProofError::PositionOutOfRange {
                position,
                size: self.size,
            });
        }
        let proof = self.tree.proof(&[position as usize]);
        Ok(proof.proof_hashes().iter().map(|h| Hash32(*h)).collect())
    }
}

/// Root of a non-empty list of leaf hashes.
pub fn root(leaves: &[Hash32]) -> Result<Hash32, ProofError> {
    BatchTree::build(leaves).map(|t| t.root())
}

/// Recomputes the root from a leaf and its audit path (RFC 9162 §2.1.3.2),
/// after rejecting an empty tree or an out-of-range position, before any
/// hashing.
pub fn root_from_path(
    leaf: &Hash32,
    position: u64,
    size: u64,
    path: &[Hash32],
) -> Result<Hash32, ProofError> {
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if position >= size {
        return Err(ProofError::PositionOutOfRange { position, size });
    }
    if path.len() > MAX_PATH_LEN {
        return Err(ProofError::PathTooLong {
            got: path.len(),
            size,
        });
    }
    let mut fn_ = position;
    let mut sn = size - 1;
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return Err(ProofError::PathTooLong {
                got: path.len(),
                size,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::PathTooShort {
            got: path.len(),
            position,
            size,
        });
    }
    Ok(r)
}

/// Checks that `leaf` sits at `position` of the tree of `size` leaves whose
/// root is `root`.
pub fn verify_inclusion(
    leaf: &Hash32,
    position: u64,
    size: u64,
    path: &[Hash32],
    root: &Hash32,
) -> Result<(), ProofError> {
    let computed = root_from_path(leaf, position, size, path)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// RFC 6962 §2.1 Merkle Tree Hash and audit path, straight from the
/// definitions. Slow and recursive: the reference the fast code is tested
/// against.
pub mod reference {
    use super::*;

    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    pub fn mth(leaves: &[Hash32]) -> Hash32 {
        match leaves.len() {
            0 => sha256(b""),
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    pub fn path(m: usize, leaves: &[Hash32]) -> Vec<Hash32> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n).map(|i| sha256(&(i as u64).to_be_bytes())).collect()
    }

    #[test]
    fn matches_reference_for_small_sizes() {
        for n in 1..=70 {
            let ls = leaves(n);
            let tree = BatchTree::build(&ls).unwrap();
            assert_eq!(tree.root(), reference::mth(&ls), "root, size {n}");
            for m in 0..n {
                let p = tree.audit_path(m as u64).unwrap();
                assert_eq!(p, reference::path(m, &ls), "path {m} of {n}");
                verify_inclusion(&ls[m], m as u64, n as u64, &p, &tree.root()).unwrap();
            }
        }
    }

    #[test]
    fn out_of_range_is_rejected_before_hashing() {
        let ls = leaves(5);
        let tree = BatchTree::build(&ls).unwrap();
        assert_eq!(
            tree.audit_path(5),
            Err(ProofError::PositionOutOfRange {
                position: 5,
                size: 5
            })
        );
        assert_eq!(
            root_from_path(&ls[0], 7, 5, &[]),
            Err(ProofError::PositionOutOfRange {
                position: 7,
                size: 5
            })
        );
        assert_eq!(
            root_from_path(&ls[0], 0, 0, &[]),
            Err(ProofError::EmptyTree)
        );
        assert!(BatchTree::build(&[]).is_err());
    }

    #[test]
    fn wrong_size_or_length_fails() {
        let ls = leaves(6);
        let tree = BatchTree::build(&ls).unwrap();
        let p = tree.audit_path(4).unwrap();
        let r = tree.root();
        assert!(verify_inclusion(&ls[4], 4, 5, &p, &r).is_err());
        assert!(verify_inclusion(&ls[4], 4, 7, &p, &r).is_err());
        assert!(verify_inclusion(&ls[4], 4, 6, &p[..1], &r).is_err());
        let mut longer = p.clone();
        longer.push(ls[0]);
        assert!(verify_inclusion(&ls[4], 4, 6, &longer, &r).is_err());
    }
}
