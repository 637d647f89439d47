//! Signed receipts: the log's promise that an accepted event will be
//! anchored before a deadline (like a Certificate Transparency SCT). The
//! signed message is the receipt's canonical JSON; the signature is EIP-191
//! by the operator key the contract names as anchorer.

use serde::{Deserialize, Serialize};

use super::Hash32;
use super::canonical::{CanonicalError, canonicalize};
use super::fields::{TicketHandle, Timestamp};

pub const RECEIPT_VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// The exact bytes that are signed.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonicalize(&serde_json::to_value(self).unwrap_or_default())
    }
}

/// A receipt with its 65-byte signature (r ‖ s ‖ v, v = 27 or 28).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    /// EIP-191 signature by the anchorer: 0x + 130 hex digits (r ‖ s ‖ v).
    #[schema(pattern = "^0x[0-9a-f]{130}$")]
    pub signature: String,
}
