//! The anchoring API for platforms: create tickets, append events (one or
//! many), and read a ticket back. Every accepted event gets a signed receipt.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use utoipa::{IntoParams, ToSchema};

use super::body::RequestBody;
use super::error::ApiError;
use super::extract::{ApiJson, IDEMPOTENCY_KEY};
use super::extract::{HandlePath, parse_handle};
use super::receipt_issue::receipts_for;
use super::schema::{
    Appended, BulkAnswer, BulkAppended, BulkAppendedCompact, Problem, TicketCreated,
};
use super::{AppState, auth};
use crate::ingest::{EventInput, IntoRequest, idempotency, new_handle};
use crate::log::{self, Outcome};
use crate::protocol::fields::{TicketHandle, Timestamp};

/// Most events one bulk request may carry.
pub const MAX_BULK: usize = 10_000;

/// How a bulk answer gives its receipts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptsForm {
    /// Each receipt as it stands: `{receipt, group, position, path, signature}`.
    #[default]
    Full,
    /// The group and its signature once, then `{receipt, position, path}`
    /// per event (a third smaller for 1,000 events).
    Compact,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BulkQuery {
    /// `compact` gives the group and its signature once (BulkAppendedCompact).
    #[serde(default)]
    #[param(inline)]
    pub receipts: ReceiptsForm,
}

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

// The bodies this file's routes read (body::RequestBody's rule): every
// struct refuses unknown members, and an event's free `data` is read by
// canonical::input_value.
impl RequestBody for CreateTicket {}
impl RequestBody for EventInput {}
impl RequestBody for BulkAppend {}

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

fn idem_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get(IDEMPOTENCY_KEY) {
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

/// A request's idempotency: its key, and the hash of its body's tree, which
/// the extractor keeps for every request that carries the header.
fn idempotency_of(
    headers: &HeaderMap,
    scope: &str,
    tree: Option<&Value>,
) -> Result<Option<log::Idempotency>, ApiError> {
    let Some(key) = idem_key(headers)? else {
        return Ok(None);
    };
    let tree =
        tree.ok_or_else(|| ApiError::Internal("a keyed request's body has no tree".into()))?;
    Ok(idempotency(Some(&key), scope, tree))
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
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "external_id breaks its rules", body = Problem, content_type = "application/problem+json"),
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
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket's state does not allow this event, or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The event breaks a rule of PROTOCOL §2-§4, or a free-text member holds personal data (§2.8)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn append_event(
    State(app): State<AppState>,
    Path(handle): Path<String>,
    _caller: auth::Ingest,
    headers: HeaderMap,
    ApiJson(input, raw): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<Appended>), ApiError> {
    let ticket = parse_handle(&handle)?;
    let idem = idempotency_of(&headers, &format!("append:{ticket}"), raw.as_ref())?;
    let request = input
        .into_request(ticket.clone())
        .map_err(|e| ApiError::Unprocessable {
            reason: e.to_string(),
            item: None,
        })?;
    let appended = match app.store.append(vec![request], idem, &app.policy).await {
        Ok(a) => a,
        Err(e) => {
            app.metrics.ingest_requests_rejected.inc();
            return Err(refused(&app, e, Some(&ticket)).await);
        }
    };
    count_ingested(&app, &appended);
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
    params(IdempotencyHeader, BulkQuery),
    request_body(content = BulkAppend, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended", body = BulkAnswer),
        (status = 200, description = "A retry with the same Idempotency-Key and body: the first answer", body = BulkAnswer),
        (status = 400, description = "Malformed JSON, Idempotency-Key or query", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A ticket does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A ticket's state does not allow an event, or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An event breaks a rule; `item` names it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn append_bulk(
    State(app): State<AppState>,
    _caller: auth::Ingest,
    headers: HeaderMap,
    query: Result<Query<BulkQuery>, QueryRejection>,
    ApiJson(body, raw): ApiJson<BulkAppend>,
) -> Result<(StatusCode, Json<BulkAnswer>), ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if body.events.is_empty() || body.events.len() > MAX_BULK {
        return Err(ApiError::Unprocessable {
            reason: format!(
                "a bulk request carries 1 to {MAX_BULK} events, got {}",
                body.events.len()
            ),
            item: None,
        });
    }
    let idem = idempotency_of(&headers, "bulk", raw.as_ref())?;
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
            app.metrics.ingest_requests_rejected.inc();
            return Err(refused(&app, e, None).await);
        }
    };
    count_ingested(&app, &appended);
    let receipts = receipts_for(&app, &appended).await?;
    let status = if appended.replayed() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let replayed = appended.replayed();
    let answer = match query.receipts {
        ReceiptsForm::Full => BulkAnswer::Full(BulkAppended { receipts, replayed }),
        ReceiptsForm::Compact => {
            BulkAnswer::Compact(BulkAppendedCompact::new(receipts, replayed).ok_or_else(|| {
                ApiError::Internal("one request's receipts were not in one group".into())
            })?)
        }
    };
    Ok((status, Json(answer)))
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

fn count_ingested(app: &AppState, appended: &log::Appended) {
    if let Outcome::Applied(_) = appended.outcome {
        app.metrics
            .events_ingested
            .inc_by(appended.events.len() as u64);
    }
}
