//! The API's response bodies, as the types the handlers return. The
//! request bodies' schemas live with their types in the protocol crate.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::{Ref, RefOr};

use crate::log::{Batch, BatchStatus};
use crate::protocol::Hash32;
use crate::protocol::bundle::ChainRef;
use crate::protocol::fields::TicketHandle;
use crate::protocol::receipt::{Receipt, ReceiptGroup, SignedReceipt};
use crate::protocol::state::{Policy, TicketState};

/// An RFC 9457 problem: every error the API returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `https://proofdesk.dev/problems/<slug>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    /// Always the HTTP status of the response.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// The reason, for a human.
    pub detail: String,
    /// In a bulk request, the index of the event that was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketCreated {
    pub ticket: TicketHandle,
    /// False when a ticket with this external_id already existed (200).
    pub created: bool,
}

/// One appended event: its signed receipt (receipt v2: `receipt`, `group`,
/// `position`, `path`, `signature`) and the record as hashed.
#[derive(Debug, Serialize, ToSchema)]
///
/// The receipt's members are spelled out rather than flattened from
/// `SignedReceipt`: that schema forbids other members, so `allOf` with it
/// would refuse `record` and `replayed`. `Appended::new` keeps the JSON
/// exactly that of the flattened receipt.
pub struct Appended {
    pub receipt: Receipt,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<ReceiptGroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<Hash32>>,
    /// EIP-191 signature by the anchorer: 0x + 130 hex digits (r ‖ s ‖ v).
    #[schema(pattern = "^0x[0-9a-f]{130}$")]
    pub signature: String,
    /// The canonical record (PROTOCOL §2), verbatim.
    #[schema(value_type = crate::protocol::record::EventRecord)]
    pub record: Value,
    /// True when this answers a retry with the same Idempotency-Key (200).
    pub replayed: bool,
}

impl Appended {
    pub fn new(signed: SignedReceipt, record: Value, replayed: bool) -> Appended {
        Appended {
            receipt: signed.receipt,
            group: signed.group,
            position: signed.position,
            path: signed.path,
            signature: signed.signature,
            record,
            replayed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkAppended {
    /// One signed receipt per event, in request order.
    pub receipts: Vec<SignedReceipt>,
    pub replayed: bool,
}

/// A bulk answer with `?receipts=compact`: every receipt of one request is
/// in one group (PROTOCOL §12), so the group and its signature are given
/// once. `SignedReceipt {receipt, group, position, path, signature}` is
/// each item with the two shared members put back.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkAppendedCompact {
    /// The group every receipt below is in.
    pub group: ReceiptGroup,
    /// EIP-191 signature by the anchorer over the group: 0x + 130 hex digits.
    #[schema(pattern = "^0x[0-9a-f]{130}$")]
    pub signature: String,
    /// One receipt per event, in request order.
    pub receipts: Vec<GroupedReceipt>,
    pub replayed: bool,
}

/// A receipt in a compact bulk answer, without its group and signature.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupedReceipt {
    pub receipt: Receipt,
    /// The receipt's position in the group.
    #[schema(minimum = 0)]
    pub position: u64,
    /// Its audit path to the group's root (§9).
    pub path: Vec<Hash32>,
}

/// A bulk answer: full (each receipt signed as it stands) or, with
/// `?receipts=compact`, the group given once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BulkAnswer {
    Full(BulkAppended),
    Compact(BulkAppendedCompact),
}

impl BulkAppendedCompact {
    /// The compact form of one request's receipts; `None` unless they are
    /// all v2 receipts of one group under one signature, as the signer
    /// gives them.
    pub fn new(receipts: Vec<SignedReceipt>, replayed: bool) -> Option<BulkAppendedCompact> {
        let first = receipts.first()?;
        let (group, signature) = (first.group.clone()?, first.signature.clone());
        let receipts = receipts
            .into_iter()
            .map(|r| {
                let shared = r.group.as_ref() == Some(&group) && r.signature == signature;
                if !shared {
                    return None;
                }
                Some(GroupedReceipt {
                    receipt: r.receipt,
                    position: r.position?,
                    path: r.path?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(BulkAppendedCompact {
            group,
            signature,
            receipts,
            replayed,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketEvent {
    #[schema(minimum = 0)]
    pub index: u64,
    #[schema(minimum = 0)]
    pub seq: u64,
    pub leaf: Hash32,
    /// The batch that sealed it, once sealed.
    pub batch: Option<u64>,
    #[schema(value_type = crate::protocol::record::EventRecord)]
    pub record: Value,
    /// Where to download the event's receipt (re-issued as receipt v1).
    pub receipt_url: String,
    /// The same receipt in compact form: base64url(canonical receipt) "."
    /// base64url(signature), for a URL fragment or a QR code.
    pub receipt_compact: String,
    /// Where to read the message text and salt, when the event has content.
    pub content_url: Option<String>,
}

/// A ticket as the platform sees it (private: has its external_id).
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub ticket: TicketHandle,
    pub external_id: String,
    pub created_at: String,
    /// None until the first event.
    pub state: Option<TicketState>,
    pub events: Vec<TicketEvent>,
    /// The complainant's verifier link, carrying every receipt in its
    /// fragment (never sent to a server).
    pub verify_url: String,
    /// The same link in the compact form for a QR code: `/verify/{handle}#q=…`
    /// carries every receipt in about a third of the length (docs/VERIFIER.md).
    pub verify_qr_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
    pub head: Hash32,
    pub status: BatchStatus,
    pub sealed_at_ms: i64,
    pub tx: Option<Hash32>,
    pub nonce: Option<u64>,
    pub block: Option<u64>,
    pub block_hash: Option<Hash32>,
    pub block_time: Option<u64>,
    pub final_at_ms: Option<i64>,
    pub attempts: u32,
    /// The ticket map root its head v2 commits (PROTOCOL.md §15.3); null
    /// for a v1 batch.
    pub map_root: Option<Hash32>,
}

impl From<&Batch> for BatchView {
    fn from(b: &Batch) -> BatchView {
        BatchView {
            id: b.id,
            first_index: b.first_index,
            count: b.count,
            root: b.root,
            head: b.head,
            status: b.status,
            sealed_at_ms: b.sealed_at_ms,
            tx: b.submission.as_ref().map(|s| s.tx_hash),
            nonce: b.submission.as_ref().map(|s| s.nonce),
            block: b.inclusion.as_ref().map(|i| i.block_number),
            block_hash: b.inclusion.as_ref().map(|i| i.block_hash),
            block_time: b.inclusion.as_ref().map(|i| i.block_time),
            final_at_ms: b.final_at_ms,
            attempts: b.attempts,
            map_root: b.map_root,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchList {
    pub batches: Vec<BatchView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogInfo {
    /// Always `proofdesk/v1`.
    pub protocol: String,
    pub chain: ChainRef,
    pub log_size: u64,
    pub sealed: u64,
    pub batches: u64,
    pub anchored_batches: u64,
    pub final_batches: u64,
    pub latest_anchored_batch: Option<BatchView>,
    pub max_merge_delay_ms: u64,
    pub policy: Policy,
    /// A public RPC endpoint the log suggests to verifiers (`--public-rpc`),
    /// or null. Verifiers may use their own.
    pub public_rpc: Option<String>,
}

fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

pub use crate::protocol::openapi::event_components;

/// `items` of an array of `T` (for hand-built arrays).
pub fn array_of<T: ToSchema>(min: usize, max: usize) -> Schema {
    utoipa::openapi::schema::Array::builder()
        .items(ArrayItems::RefOrSchema(Box::new(reference::<T>())))
        .min_items(Some(min))
        .max_items(Some(max))
        .build()
        .into()
}
