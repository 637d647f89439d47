//! What a platform hands its complainant: each event's signed receipt (a
//! download, and a compact form for a URL or QR code), and the text of an
//! event's content with its salt (a disclosure the verifier checks against
//! the record's commitment). Plus erasure of that content (GDPR Art. 17):
//! salt and text go, the record and every proof stay.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::parse_handle;
use super::receipt_issue::sign_receipt;
use super::schema::Problem;
use super::{AppState, auth};
use crate::log::StoredEvent;
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::receipt::Receipt;

/// An event in the path: the ticket's handle and the event's sequence
/// number within the ticket.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct EventPath {
    /// tk_ followed by 32 lowercase hex digits.
    #[param(value_type = TicketHandle)]
    pub handle: String,
    /// The event's position in the ticket, from 0.
    #[param(minimum = 0, maximum = 9007199254740991_i64)]
    pub seq: u64,
}

/// A receipt as re-issued for download: receipt v1 (the receipt and its
/// own signature, no group), the form `proofdesk verify --receipt` takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptV1 {
    pub receipt: Receipt,
    /// EIP-191 signature by the anchorer over the receipt: 0x + 130 hex digits.
    #[schema(pattern = "^0x[0-9a-f]{130}$")]
    pub signature: String,
}

/// An event's content disclosed: the text and its salt, which the verifier
/// checks against the record's commitment (`proofdesk verify --disclose`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentDisclosure {
    pub ticket: TicketHandle,
    #[schema(minimum = 0)]
    pub index: u64,
    #[schema(minimum = 0)]
    pub seq: u64,
    /// The 32-byte salt, 0x-hex.
    #[schema(pattern = "^0x[0-9a-f]{64}$")]
    pub salt: String,
    /// The text exactly as committed.
    pub content: String,
}

/// The answer to an erasure (also to a repeated one: the first time).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentErased {
    pub ticket: TicketHandle,
    #[schema(minimum = 0)]
    pub index: u64,
    #[schema(minimum = 0)]
    pub seq: u64,
    /// When the content was erased (protocol timestamp).
    pub erased_at: String,
}

/// The 410 problem for erased content: a problem with the erasure time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasedProblem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    pub detail: String,
    /// When the content was erased.
    pub erased_at: String,
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

/// The event's receipt (receipt v1), as a download. Receipts are not
/// stored; signing is deterministic (RFC 6979), so re-signing the same
/// receipt gives the same signature, as long as the log's maximum merge
/// delay is unchanged.
#[utoipa::path(get, path = "/v1/tickets/{handle}/events/{seq}/receipt", tag = "ingest",
    security(("apiKey" = ["ingest"]), ("apiKey" = ["audit"])),
    params(EventPath),
    responses(
        (status = 200, description = "The signed receipt, with Content-Disposition: attachment", body = ReceiptV1,
            headers(("Content-Disposition" = String, description = "attachment; filename=\"receipt-<handle>-<seq>.json\""))),
        (status = 400, description = "Malformed handle or seq", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket or event", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receipt(
    State(app): State<AppState>,
    Path((handle, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    ingest_or_audit(&app, &headers).await?;
    let ticket = parse_handle(&handle)?;
    let seq = parse_seq(&seq)?;
    let e = event(&app, &ticket, seq).await?;
    let signed = sign_receipt(&app, &e)?;
    let mut resp = Json(ReceiptV1 {
        receipt: signed.receipt,
        signature: signed.signature,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"receipt-{ticket}-{seq}.json\""
    )) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The event's content: the text and salt, in the shape
/// `proofdesk verify --disclose FILE` and the verifier page accept.
#[utoipa::path(get, path = "/v1/tickets/{handle}/events/{seq}/content", tag = "ingest",
    security(("apiKey" = ["ingest"]), ("apiKey" = ["audit"])),
    params(EventPath),
    responses(
        (status = 200, description = "The text and its salt", body = ContentDisclosure),
        (status = 400, description = "Malformed handle or seq", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket or event, or no stored content (none sent, or only the platform's own commitment)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The content was erased; the record and its proofs are unchanged", body = ErasedProblem, content_type = "application/problem+json"),
    ))]
pub async fn content(
    State(app): State<AppState>,
    Path((handle, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<ContentDisclosure>, ApiError> {
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
    Ok(Json(ContentDisclosure {
        ticket,
        index: e.index,
        seq,
        salt: format!("0x{}", hex::encode(salt)),
        content: body,
    }))
}

/// Erase the event's content (GDPR Art. 17): the text and salt go, the
/// record and every proof stay; records when and by which key. Idempotent:
/// erasing again answers the first erasure's time.
#[utoipa::path(delete, path = "/v1/tickets/{handle}/events/{seq}/content", tag = "admin",
    security(("apiKey" = ["admin"])),
    params(EventPath),
    responses(
        (status = 200, description = "Erased (now or earlier: the first erasure's time)", body = ContentErased),
        (status = 400, description = "Malformed handle or seq", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket or event, or no stored content to erase", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn erase_content(
    State(app): State<AppState>,
    Path((handle, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<ContentErased>, ApiError> {
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
    Ok(Json(ContentErased {
        ticket,
        index: e.index,
        seq,
        erased_at: erased.erased_at.ok_or_else(|| {
            ApiError::Internal(format!("erasure of event {} has no time", e.index))
        })?,
    }))
}
