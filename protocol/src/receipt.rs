//! Signed receipts: the log's promise that an accepted event will be
//! anchored before a deadline (like a Certificate Transparency SCT).
//!
//! - v1: each receipt's canonical JSON is signed on its own (EIP-191).
//! - v2: receipts accepted together form a group; their receipt leaves
//!   (`H(0x03 ‖ canonical receipt)`) are the leaves of an RFC 6962 tree, and
//!   one signature covers the group object that holds its root. Each
//!   receipt carries its position and audit path. One signature per group
//!   instead of one per event.

use serde::{Deserialize, Serialize};

use super::Hash32;
use std::fmt::Write as _;

use super::canonical::{CanonicalError, MAX_SAFE_INTEGER, canonicalize, write_string};
use super::fields::{TicketHandle, Timestamp};
use super::hashing::receipt_leaf_hash;
use super::tree::{BatchTree, ProofError, verify_inclusion};

pub const RECEIPT_VERSION: u64 = 1;
pub const RECEIPT_V2: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub v: u64,
    pub ticket: TicketHandle,
    pub index: u64,
    pub seq: u64,
    pub leaf: Hash32,
    pub recorded_at: Timestamp,
    pub anchor_deadline: Timestamp,
    pub chain_id: u64,
    /// The anchoring contract, `0x` + 40 lowercase hex digits.
    pub contract: String,
}

impl Receipt {
    /// The receipt's canonical bytes: what v1 signs, what v2 hashes.
    ///
    /// Written directly, members in canonical order: a bulk answer hashes
    /// one receipt per event, and a `Value` tree per receipt was a visible
    /// share of bulk ingest. The general path (the same bytes, property
    /// tested) names a refused number.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        if [self.v, self.index, self.seq, self.chain_id]
            .iter()
            .any(|&n| n > MAX_SAFE_INTEGER)
        {
            return canonicalize(&serde_json::to_value(self).unwrap_or_default());
        }
        let mut out = String::with_capacity(320);
        out.push_str(r#"{"anchor_deadline":"#);
        write_string(&self.anchor_deadline.to_string(), &mut out);
        let _ = write!(out, r#","chain_id":{},"contract":"#, self.chain_id);
        write_string(&self.contract, &mut out);
        let _ = write!(out, r#","index":{},"leaf":"#, self.index);
        write_string(&self.leaf.to_string(), &mut out);
        out.push_str(r#","recorded_at":"#);
        write_string(&self.recorded_at.to_string(), &mut out);
        let _ = write!(out, r#","seq":{},"ticket":"#, self.seq);
        write_string(self.ticket.as_str(), &mut out);
        let _ = write!(out, r#","v":{}}}"#, self.v);
        Ok(out.into_bytes())
    }

    /// The v2 receipt leaf.
    pub fn leaf_hash(&self) -> Result<Hash32, CanonicalError> {
        Ok(receipt_leaf_hash(&self.signing_bytes()?))
    }
}

/// What a v2 signature covers: the root of a group of receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReceiptGroup {
    pub v: u64,
    /// RFC 6962 root over the group's receipt leaves, in order.
    pub root: Hash32,
    /// Number of receipts in the group.
    pub size: u64,
    pub chain_id: u64,
    pub contract: String,
}

impl ReceiptGroup {
    pub fn signing_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonicalize(&serde_json::to_value(self).unwrap_or_default())
    }
}

/// A receipt with its signature: v1 `{"receipt", "signature"}`, or v2
/// `{"receipt", "group", "position", "path", "signature"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    /// v2: the group whose signed root the receipt is under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<ReceiptGroup>,
    /// v2: the receipt's position in its group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// v2: the receipt's audit path to the group root (§9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<Hash32>>,
    /// EIP-191 signature by the anchorer: 0x + 130 hex digits (r ‖ s ‖ v).
    #[cfg_attr(feature = "openapi", schema(pattern = "^0x[0-9a-f]{130}$"))]
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptShapeError {
    #[error("receipt version {0} is not supported (this verifier knows 1 and 2)")]
    Version(u64),
    #[error("a v1 receipt carries no group, position or path")]
    V1WithGroup,
    #[error("a v2 receipt needs its group, position and path")]
    V2WithoutGroup,
    #[error("the receipt's chain or contract differs from its group's")]
    GroupMismatch,
    #[error("the receipt is not in its group: {0}")]
    NotInGroup(#[from] ProofError),
    #[error("receipt is not canonicalisable: {0}")]
    Canonical(#[from] CanonicalError),
}

impl SignedReceipt {
    /// The exact bytes the signature must cover, after checking the
    /// receipt's shape and, for v2, its path to the group root.
    pub fn signed_message(&self) -> Result<Vec<u8>, ReceiptShapeError> {
        let r = &self.receipt;
        match (r.v, &self.group, self.position, &self.path) {
            (RECEIPT_VERSION, None, None, None) => Ok(r.signing_bytes()?),
            (RECEIPT_VERSION, ..) => Err(ReceiptShapeError::V1WithGroup),
            (RECEIPT_V2, Some(g), Some(position), Some(path)) => {
                if g.v != RECEIPT_V2 {
                    return Err(ReceiptShapeError::Version(g.v));
                }
                if g.chain_id != r.chain_id || g.contract != r.contract {
                    return Err(ReceiptShapeError::GroupMismatch);
                }
                verify_inclusion(&r.leaf_hash()?, position, g.size, path, &g.root)?;
                Ok(g.signing_bytes()?)
            }
            (RECEIPT_V2, ..) => Err(ReceiptShapeError::V2WithoutGroup),
            (v, ..) => Err(ReceiptShapeError::Version(v)),
        }
    }
}

/// Each receipt's place in its group: (position, audit path).
pub type GroupPaths = Vec<(u64, Vec<Hash32>)>;

/// A v2 group built from receipts (all `v = 2`, one chain and contract):
/// the group object to sign, and each receipt's (position, path).
pub fn build_group(receipts: &[Receipt]) -> Result<(ReceiptGroup, GroupPaths), ReceiptShapeError> {
    let first = receipts.first().ok_or(ReceiptShapeError::V2WithoutGroup)?;
    let leaves = receipts
        .iter()
        .map(|r| {
            if r.chain_id != first.chain_id || r.contract != first.contract {
                return Err(ReceiptShapeError::GroupMismatch);
            }
            if r.v != RECEIPT_V2 {
                return Err(ReceiptShapeError::Version(r.v));
            }
            Ok(r.leaf_hash()?)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tree = BatchTree::build(&leaves)?;
    let paths = (0..tree.size())
        .map(|i| Ok((i, tree.audit_path(i)?)))
        .collect::<Result<Vec<_>, ProofError>>()?;
    Ok((
        ReceiptGroup {
            v: RECEIPT_V2,
            root: tree.root(),
            size: tree.size(),
            chain_id: first.chain_id,
            contract: first.contract.clone(),
        },
        paths,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn receipt() -> impl Strategy<Value = Receipt> {
        let near_limit = prop_oneof![0..1_000u64, (MAX_SAFE_INTEGER - 2)..=(MAX_SAFE_INTEGER + 2)];
        (
            (
                near_limit.clone(),
                near_limit.clone(),
                near_limit.clone(),
                near_limit,
            ),
            (
                any::<[u8; 16]>(),
                any::<[u8; 32]>(),
                "[ -~\u{80}-\u{10ffff}]{0,42}",
            ),
            (0..4_102_444_800_000i64, 0..1_000_000i64),
        )
            .prop_map(
                |((v, index, seq, chain_id), (ticket, leaf, contract), (at, lag))| Receipt {
                    v,
                    ticket: TicketHandle::from_random(ticket),
                    index,
                    seq,
                    leaf: Hash32(leaf),
                    recorded_at: Timestamp::from_millis(at).unwrap(),
                    anchor_deadline: Timestamp::from_millis(at + lag).unwrap(),
                    chain_id,
                    contract,
                },
            )
    }

    proptest! {
        #[test]
        fn signing_bytes_are_the_canonical_form_of_the_receipt(r in receipt()) {
            prop_assert_eq!(
                r.signing_bytes(),
                canonicalize(&serde_json::to_value(&r).unwrap())
            );
        }
    }
}
