//! What a platform hands its complainant: each event's signed receipt (a
//! download, and a compact form for a URL or QR code), and the text of an
//! event's content with its salt (a disclosure the verifier checks against
//! the record's commitment). Plus erasure of that content (GDPR Art. 17):
//! salt and text go, the record and every proof stay.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::ApiError;
use super::writes::{parse_handle, sign_receipt};
use super::{AppState, auth};
use crate::log::StoredEvent;
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::receipt::SignedReceipt;

/// base64url without padding (RFC 4648 §5).
pub fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The compact form of a signed receipt (docs/VERIFIER.md):
/// base64url(canonical receipt bytes) "." base64url(65-byte signature).
pub fn compact(signed: &SignedReceipt) -> Result<String, ApiError> {
    let message = signed
        .receipt
        .signing_bytes()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let sig = hex::decode(signed.signature.trim_start_matches("0x"))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("{}.{}", base64url(&message), base64url(&sig)))
}

fn parse_seq(seq: &str) -> Result<u64, ApiError> {
    seq.parse()
        .map_err(|_| ApiError::BadRequest(format!("seq {seq:?} is not a non-negative integer")))
}

async fn event(app: &AppState, ticket: &TicketHandle, seq: u64) -> Result<StoredEvent, ApiError> {
    if app.store.ticket(ticket).await?.is_none() {
        return Err(ApiError::NotFound(format!("ticket {ticket} not found")));
    }
    app.store
        .events_by_ticket(ticket)
        .await?
        .into_iter()
        .find(|e| e.seq == seq)
        .ok_or_else(|| ApiError::NotFound(format!("ticket {ticket} has no event {seq}")))
}

async fn ingest_or_audit(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if auth::require(app.store.as_ref(), headers, "ingest")
        .await
        .is_err()
    {
        auth::require(app.store.as_ref(), headers, "audit").await?;
    }
    Ok(())
}

/// GET /v1/tickets/{handle}/events/{seq}/receipt: the event's receipt, as
/// the append API returned it. Receipts are not stored; signing is
/// deterministic (RFC 6979), so re-signing the same receipt gives the same
/// signature, as long as the log's maximum merge delay is unchanged.
pub async fn receipt(
    State(app): State<AppState>,
    Path((handle, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    ingest_or_audit(&app, &headers).await?;
    let ticket = parse_handle(&handle)?;
    let seq = parse_seq(&seq)?;
    let e = event(&app, &ticket, seq).await?;
    let (signed, _) = sign_receipt(&app, &e)?;
    let mut resp =
        Json(json!({"receipt": signed.receipt, "signature": signed.signature})).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"receipt-{ticket}-{seq}.json\""
    )) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Per-event links and the compact receipt, for GET /v1/tickets/{handle}.
pub struct EventLinks {
    pub receipt_url: String,
    pub receipt_compact: String,
    pub content_url: Option<String>,
}

pub fn event_links(app: &AppState, e: &StoredEvent) -> Result<EventLinks, ApiError> {
    let (signed, record) = sign_receipt(app, e)?;
    let base = format!("/v1/tickets/{}/events/{}", e.ticket, e.seq);
    let has_content = record.get("content").is_some_and(|c| !c.is_null());
    Ok(EventLinks {
        receipt_url: format!("{base}/receipt"),
        receipt_compact: compact(&signed)?,
        content_url: has_content.then(|| format!("{base}/content")),
    })
}

/// The verifier link for a ticket carrying every receipt in its fragment
/// (never sent to any server).
pub fn verify_link(handle: &TicketHandle, compacts: &[String]) -> String {
    if compacts.is_empty() {
        format!("/verify/{handle}")
    } else {
        format!("/verify/{handle}#r={}", compacts.join(","))
    }
}

/// GET /v1/tickets/{handle}/events/{seq}/content: the text and salt, in the
/// shape `proofdesk verify --disclose FILE` and the verifier page accept.
pub async fn content(
    State(app): State<AppState>,
    Path((handle, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    ingest_or_audit(&app, &headers).await?;
    let ticket = parse_handle(&handle)?;
    let seq = parse_seq(&seq)?;
    let e = event(&app, &ticket, seq).await?;
    let stored = app.store.content(&ticket, seq).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "event {seq} of ticket {ticket} has no stored content (no content, or the platform sent only its own commitment)"
        ))
    })?;
    if let Some(at) = stored.erased_at {
        return Err(ApiError::Gone {
            detail: format!(
                "the content of event {seq} was erased at {at}; the record and its proofs are unchanged"
            ),
            erased_at: at,
        });
    }
    let (Some(salt), Some(body)) = (stored.salt, stored.body) else {
        return Err(ApiError::Internal(format!(
            "content of event {} has no salt or text but no erasure time",
            e.index
        )));
    };
    Ok(Json(json!({
        "ticket": ticket,
        "index": e.index,
        "seq": seq,
        "salt": format!("0x{}", hex::encode(salt)),
        "content": body,
    })))
}

/// DELETE /v1/tickets/{handle}/events/{seq}/content (scope admin): erases the
/// text and salt and records when and by which key. Idempotent: erasing
/// again answers the first erasure's time.
pub async fn erase_content(
    State(app): State<AppState>,
    Path((handle, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let key = auth::require(app.store.as_ref(), &headers, "admin").await?;
    let ticket = parse_handle(&handle)?;
    let seq = parse_seq(&seq)?;
    let e = event(&app, &ticket, seq).await?;
    let erased = app
        .store
        .erase_content(&ticket, seq, &key.id, Timestamp::now())
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "event {seq} of ticket {ticket} has no stored content to erase"
            ))
        })?;
    tracing::info!(ticket = %ticket, seq, key = %key.id, "content erased");
    Ok(Json(json!({
        "ticket": ticket,
        "index": e.index,
        "seq": seq,
        "erased_at": erased.erased_at,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_follows_rfc4648_without_padding() {
        // RFC 4648 §10 test vectors, in the URL-safe alphabet, unpadded.
        for (input, want) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(input.as_bytes()), want);
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
    }

    #[test]
    fn verify_links_carry_receipts_in_the_fragment() {
        let h = TicketHandle::from_random([7; 16]);
        assert_eq!(verify_link(&h, &[]), format!("/verify/{h}"));
        assert_eq!(
            verify_link(&h, &["a.b".into(), "c.d".into()]),
            format!("/verify/{h}#r=a.b,c.d")
        );
    }
}
