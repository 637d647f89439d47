//! Issuing receipts (PROTOCOL.md §12): v2 for the events an append
//! accepted, one signature per group shared with concurrent requests; v1
//! re-issued for one stored event (downloads and links). A mirror holds no
//! key and issues none.

use super::AppState;
use super::error::ApiError;
use crate::log::{self, StoredEvent};
use crate::protocol::fields::Timestamp;
use crate::protocol::receipt::{RECEIPT_V2, RECEIPT_VERSION, Receipt, SignedReceipt};

/// Signed receipts for the events an append stored (or, on a replay, first
/// stored), from the events `append` returned: nothing is read again.
pub async fn receipts_for(
    app: &AppState,
    appended: &log::Appended,
) -> Result<Vec<SignedReceipt>, ApiError> {
    let receipts = appended
        .events
        .iter()
        .map(|e| receipt_of(app, e, RECEIPT_V2))
        .collect::<Result<Vec<_>, _>>()?;
    // One signature for the whole request, shared with concurrent ones.
    app.receipts
        .as_ref()
        .ok_or_else(read_only)?
        .sign(receipts)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A v1 receipt re-issued for one stored event (receipt downloads and
/// compact links): its own signature, deterministic (RFC 6979), so every
/// re-issue is the same. Accepted events get v2 receipts (`receipts_for`).
pub fn sign_receipt(app: &AppState, e: &StoredEvent) -> Result<SignedReceipt, ApiError> {
    let key = app.key.as_ref().ok_or_else(read_only)?;
    crate::ingest::signing::sign(key, receipt_of(app, e, RECEIPT_VERSION)?)
        .map_err(|err| ApiError::Internal(err.to_string()))
}

/// A mirror holds no operator key: it serves proofs, never receipts.
pub fn read_only() -> ApiError {
    ApiError::Unavailable(
        "this server is a read-only mirror: it signs no receipts and takes no writes".into(),
    )
}

fn receipt_of(app: &AppState, e: &StoredEvent, version: u64) -> Result<Receipt, ApiError> {
    let recorded_at = Timestamp::from_millis(e.recorded_at_ms)
        .ok_or_else(|| ApiError::Internal("bad recorded_at".into()))?;
    let deadline = i64::try_from(app.identity.max_merge_delay_ms)
        .ok()
        .and_then(|mmd| e.recorded_at_ms.checked_add(mmd))
        .and_then(Timestamp::from_millis)
        .ok_or_else(|| ApiError::Internal("bad deadline".into()))?;
    Ok(Receipt {
        v: version,
        ticket: e.ticket.clone(),
        index: e.index,
        seq: e.seq,
        leaf: e.leaf,
        recorded_at,
        anchor_deadline: deadline,
        chain_id: app.identity.chain.chain_id,
        contract: app.identity.chain.contract.clone(),
    })
}
