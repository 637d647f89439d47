//! The anchoring API for platforms: create tickets, append events (one or
//! many), and read a ticket back. Every accepted event gets a signed receipt.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::ApiJson;
use super::schema::{Appended, BulkAppended, Problem, TicketCreated, TicketEvent, TicketView};
use super::{AppState, auth};
use crate::ingest::{EventInput, IntoRequest, idempotency, new_handle};
use crate::log::{self, Outcome, StoredEvent};
use crate::metrics::Metrics;
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::receipt::{RECEIPT_V2, RECEIPT_VERSION, Receipt, SignedReceipt};

/// Most events one bulk request may carry.
pub const MAX_BULK: usize = 10_000;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// The platform's own ticket id: 1-200 characters, not only whitespace
    /// (surrounding whitespace is trimmed). Private: never in a record or bundle.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "\\S",
        examples("zendesk-4711")
    )]
    pub external_id: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    #[schema(value_type = TicketHandle)]
    pub ticket: String,
    pub event: EventInput,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAppend {
    /// 1 to 10,000 events, written all together or not at all.
    #[schema(min_items = 1, max_items = 10000)]
    pub events: Vec<BulkItem>,
}

/// The Idempotency-Key header: 1-200 visible ASCII characters (inner
/// spaces allowed). A retry with the same key and body returns the first
/// answer (200); the same key with another body is a 409.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct IdempotencyHeader {
    #[serde(rename = "Idempotency-Key")]
    #[param(
        min_length = 1,
        max_length = 200,
        pattern = "^[!-~]([ -~]{0,198}[!-~])?$"
    )]
    pub idempotency_key: Option<String>,
}

/// A ticket's public handle in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct HandlePath {
    /// tk_ followed by 32 lowercase hex digits.
    #[param(value_type = TicketHandle)]
    pub handle: String,
}

fn idem_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("Idempotency-Key must be ASCII".into()))?;
            if s.is_empty() || s.len() > 200 {
                return Err(ApiError::BadRequest(
                    "Idempotency-Key must be 1 to 200 characters".into(),
                ));
            }
            Ok(Some(s.to_owned()))
        }
    }
}

pub fn parse_handle(s: &str) -> Result<TicketHandle, ApiError> {
    TicketHandle::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Create a ticket, idempotent by the platform's external_id; returns its
/// public handle.
#[utoipa::path(post, path = "/v1/tickets", tag = "ingest",
    security(("apiKey" = ["ingest"])),
    request_body(content = CreateTicket, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = TicketCreated),
        (status = 200, description = "A ticket with this external_id already existed", body = TicketCreated),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the ingest scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "external_id breaks its rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_ticket(
    State(app): State<AppState>,
    _caller: auth::Ingest,
    ApiJson(body, _): ApiJson<CreateTicket>,
) -> Result<(StatusCode, Json<TicketCreated>), ApiError> {
    let n = body.external_id.chars().count();
    let id = body.external_id.trim();
    if id.is_empty() || n > 200 {
        return Err(ApiError::Unprocessable {
            reason: "external_id must be 1 to 200 characters".into(),
            item: None,
        });
    }
    // Creation is idempotent by the platform's id, which is a stronger key
    // than any header: the same id always gives the same handle.
    let (ticket, created) = app
        .store
        .create_ticket(id, new_handle(), Timestamp::now())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(TicketCreated {
            ticket: ticket.handle,
            created,
        }),
    ))
}

/// Append one event to a ticket; returns its signed receipt and record.
#[utoipa::path(post, path = "/v1/tickets/{handle}/events", tag = "ingest",
    security(("apiKey" = ["ingest"])),
    params(HandlePath, IdempotencyHeader),
    request_body(content = EventInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended", body = Appended),
        (status = 200, description = "A retry with the same Idempotency-Key and body: the first answer", body = Appended),
        (status = 400, description = "Malformed JSON, handle or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the ingest scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket's state does not allow this event, or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The event breaks a rule of PROTOCOL §2-§4, or a free-text member holds personal data (§2.8)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn append_event(
    State(app): State<AppState>,
    Path(handle): Path<String>,
    _caller: auth::Ingest,
    headers: HeaderMap,
    ApiJson(input, raw): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<Appended>), ApiError> {
    let ticket = parse_handle(&handle)?;
    let idem = idempotency(
        idem_key(&headers)?.as_deref(),
        &format!("append:{ticket}"),
        &raw,
    );
    let request = input
        .into_request(ticket.clone())
        .map_err(|e| ApiError::Unprocessable {
            reason: e.to_string(),
            item: None,
        })?;
    let appended = match app.store.append(vec![request], idem, &app.policy).await {
        Ok(a) => a,
        Err(e) => {
            Metrics::inc(&app.metrics.ingest_requests_rejected);
            return Err(refused(&app, e, Some(&ticket)).await);
        }
    };
    let receipt = receipts_for(&app, &appended)
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("append returned no event".into()))?;
    let event = appended
        .events
        .last()
        .ok_or_else(|| ApiError::Internal("append returned no event".into()))?;
    let record: Value =
        serde_json::from_str(&event.record).map_err(|err| ApiError::Internal(err.to_string()))?;
    let status = if appended.replayed() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(Appended::new(receipt, record, appended.replayed())),
    ))
}

/// Append up to 10,000 events atomically: all are written or none (the
/// problem's `item` names the refused event). The whole body is at most
/// 16 MiB (413 above).
#[utoipa::path(post, path = "/v1/events/bulk", tag = "ingest",
    security(("apiKey" = ["ingest"])),
    params(IdempotencyHeader),
    request_body(content = BulkAppend, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended", body = BulkAppended),
        (status = 200, description = "A retry with the same Idempotency-Key and body: the first answer", body = BulkAppended),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the ingest scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A ticket does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A ticket's state does not allow an event, or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An event breaks a rule; `item` names it", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn append_bulk(
    State(app): State<AppState>,
    _caller: auth::Ingest,
    headers: HeaderMap,
    ApiJson(body, raw): ApiJson<BulkAppend>,
) -> Result<(StatusCode, Json<BulkAppended>), ApiError> {
    if body.events.is_empty() || body.events.len() > MAX_BULK {
        return Err(ApiError::Unprocessable {
            reason: format!(
                "a bulk request carries 1 to {MAX_BULK} events, got {}",
                body.events.len()
            ),
            item: None,
        });
    }
    let idem = idempotency(idem_key(&headers)?.as_deref(), "bulk", &raw);
    let mut requests = Vec::with_capacity(body.events.len());
    for (i, item) in body.events.into_iter().enumerate() {
        let ticket = TicketHandle::parse(&item.ticket).map_err(|e| ApiError::Unprocessable {
            reason: format!("event {i}: {e}"),
            item: Some(i),
        })?;
        requests.push(
            item.event
                .into_request(ticket)
                .map_err(|e| ApiError::Unprocessable {
                    reason: format!("event {i}: {e}"),
                    item: Some(i),
                })?,
        );
    }
    let appended = match app.store.append(requests, idem, &app.policy).await {
        Ok(a) => a,
        Err(e) => {
            Metrics::inc(&app.metrics.ingest_requests_rejected);
            return Err(refused(&app, e, None).await);
        }
    };
    let receipts = receipts_for(&app, &appended).await?;
    let status = if appended.replayed() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(BulkAppended {
            receipts,
            replayed: appended.replayed(),
        }),
    ))
}

/// A refused append as the caller should read it. `ticket` is the one of a
/// single-event request: its errors name no item ("event 0: …" is for bulk
/// requests), and a key first used on another ticket says so.
async fn refused(app: &AppState, e: log::StoreError, ticket: Option<&TicketHandle>) -> ApiError {
    use crate::protocol::append::AppendRuleError;
    match e {
        log::StoreError::Rejected { reason, .. } if ticket.is_some() => {
            if matches!(reason, AppendRuleError::Transition(_)) {
                ApiError::Conflict(reason.to_string())
            } else {
                ApiError::Unprocessable {
                    reason: reason.to_string(),
                    item: None,
                }
            }
        }
        log::StoreError::IdempotencyConflict { key, first } => {
            let first_ticket = match first {
                log::WriteResult::Events { first_index, .. } => app
                    .store
                    .events_by_range(first_index, 1)
                    .await
                    .ok()
                    .and_then(|mut v| v.pop())
                    .map(|e| e.ticket),
                log::WriteResult::Ticket { .. } => None,
            };
            ApiError::Conflict(match (ticket, first_ticket) {
                (Some(t), Some(first)) if *t != first => format!(
                    "Idempotency-Key {key:?} was already used for an event on ticket {first}: a key names one request, so send this one with a new key"
                ),
                (Some(_), Some(_)) => format!(
                    "Idempotency-Key {key:?} was already used on this ticket with a different request body: a retry sends the same body, a new request a new key"
                ),
                (None, Some(first)) => format!(
                    "Idempotency-Key {key:?} was already used for another request (its first event is on ticket {first}): a key names one request, so send this one with a new key"
                ),
                _ => format!(
                    "Idempotency-Key {key:?} was already used for another request: a key names one request, so send this one with a new key"
                ),
            })
        }
        other => other.into(),
    }
}

/// Signed receipts for the events an append stored (or, on a replay, first
/// stored), from the events `append` returned: nothing is read again.
async fn receipts_for(
    app: &AppState,
    appended: &log::Appended,
) -> Result<Vec<SignedReceipt>, ApiError> {
    if let Outcome::Applied(_) = appended.outcome {
        Metrics::add(&app.metrics.events_ingested, appended.events.len() as u64);
    }
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
pub(super) fn sign_receipt(app: &AppState, e: &StoredEvent) -> Result<SignedReceipt, ApiError> {
    let key = app.key.as_ref().ok_or_else(read_only)?;
    crate::ingest::signing::sign(key, receipt_of(app, e, RECEIPT_VERSION)?)
        .map_err(|err| ApiError::Internal(err.to_string()))
}

/// A mirror holds no operator key: it serves proofs, never receipts.
fn read_only() -> ApiError {
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

/// A ticket with its state and records (scope ingest or audit).
#[utoipa::path(get, path = "/v1/tickets/{handle}", tag = "ingest",
    security(("apiKey" = ["ingest"]), ("apiKey" = ["audit"])),
    params(HandlePath),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 400, description = "Malformed handle", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key has neither the ingest nor the audit scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_ticket(
    State(app): State<AppState>,
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TicketView>, ApiError> {
    if auth::require(app.store.as_ref(), &headers, "ingest")
        .await
        .is_err()
    {
        auth::require(app.store.as_ref(), &headers, "audit").await?;
    }
    let ticket = parse_handle(&handle)?;
    let t = app
        .store
        .ticket(&ticket)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("ticket {ticket} not found")))?;
    let events = app.store.events_by_ticket(&ticket).await?;
    let mut compacts = Vec::with_capacity(events.len());
    let mut signed = Vec::with_capacity(events.len());
    let records = events
        .iter()
        .map(|e| {
            let record: Value = serde_json::from_str(&e.record)
                .map_err(|err| ApiError::Internal(format!("stored record {}: {err}", e.index)))?;
            // Receipt download, compact receipt and content links (src/api/receipts.rs).
            let links = super::receipts::event_links(&app, e, &record)?;
            compacts.push(links.receipt_compact.clone());
            signed.push(links.signed);
            Ok(TicketEvent {
                index: e.index,
                seq: e.seq,
                leaf: e.leaf,
                batch: e.sealed.as_ref().map(|(b, _)| *b),
                record,
                receipt_url: links.receipt_url,
                receipt_compact: links.receipt_compact,
                content_url: links.content_url,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(TicketView {
        verify_url: super::receipts::verify_link(&t.handle, &compacts),
        verify_qr_url: super::qr_link::link(t.handle.as_str(), &signed),
        ticket: t.handle,
        external_id: t.external_id,
        created_at: t.created_at,
        state: t.tip.state,
        events: records,
    }))
}
