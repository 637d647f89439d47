//! The anchoring API for platforms: create tickets, append events (one or
//! many), and read a ticket back. Every accepted event gets a signed receipt.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::ApiJson;
use super::{AppState, auth};
use crate::ingest::{EventInput, idempotency, new_handle};
use crate::log::{Outcome, StoredEvent, WriteResult};
use crate::metrics::Metrics;
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::receipt::{RECEIPT_V2, RECEIPT_VERSION, Receipt, SignedReceipt};

/// Most events one bulk request may carry.
pub const MAX_BULK: usize = 10_000;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// The platform's own ticket id. Private: never in a record or bundle.
    pub external_id: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    pub ticket: String,
    pub event: EventInput,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BulkAppend {
    pub events: Vec<BulkItem>,
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

pub async fn create_ticket(
    State(app): State<AppState>,
    _caller: auth::Ingest,
    ApiJson(body, _): ApiJson<CreateTicket>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = body.external_id.trim();
    if id.is_empty() || id.len() > 200 {
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
        Json(json!({"ticket": ticket.handle, "created": created})),
    ))
}

pub async fn append_event(
    State(app): State<AppState>,
    Path(handle): Path<String>,
    _caller: auth::Ingest,
    headers: HeaderMap,
    ApiJson(input, raw): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ticket = parse_handle(&handle)?;
    let idem = idempotency(
        idem_key(&headers)?.as_deref(),
        &format!("append:{ticket}"),
        &raw,
    );
    let request = input
        .into_request(ticket)
        .map_err(|e| ApiError::Unprocessable {
            reason: e.to_string(),
            item: None,
        })?;
    let outcome = app
        .store
        .append(vec![request], idem, &app.policy)
        .await
        .inspect_err(|_| Metrics::inc(&app.metrics.ingest_requests_rejected))?;
    let mut receipts = receipts_for(&app, &outcome).await?;
    let status = if outcome.replayed() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let one = receipts
        .pop()
        .ok_or_else(|| ApiError::Internal("append returned no event".into()))?;
    Ok((
        status,
        Json({
            let mut body =
                serde_json::to_value(&one.0).map_err(|e| ApiError::Internal(e.to_string()))?;
            body["record"] = one.1;
            body["replayed"] = json!(outcome.replayed());
            body
        }),
    ))
}

pub async fn append_bulk(
    State(app): State<AppState>,
    _caller: auth::Ingest,
    headers: HeaderMap,
    ApiJson(body, raw): ApiJson<BulkAppend>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    let outcome = app
        .store
        .append(requests, idem, &app.policy)
        .await
        .inspect_err(|_| Metrics::inc(&app.metrics.ingest_requests_rejected))?;
    let receipts: Vec<Value> = receipts_for(&app, &outcome)
        .await?
        .into_iter()
        .map(|(r, _)| serde_json::to_value(r))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let status = if outcome.replayed() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({"receipts": receipts, "replayed": outcome.replayed()})),
    ))
}

async fn receipts_for(
    app: &AppState,
    outcome: &Outcome,
) -> Result<Vec<(SignedReceipt, Value)>, ApiError> {
    let WriteResult::Events { first_index, count } = outcome.result() else {
        return Err(ApiError::Internal("unexpected write result".into()));
    };
    if let Outcome::Applied(_) = outcome {
        Metrics::add(&app.metrics.events_ingested, *count);
    }
    let events = app.store.events_by_range(*first_index, *count).await?;
    let mut receipts = Vec::with_capacity(events.len());
    let mut records = Vec::with_capacity(events.len());
    for e in &events {
        receipts.push(receipt_of(app, e, RECEIPT_V2)?);
        records.push(
            serde_json::from_str::<Value>(&e.record)
                .map_err(|err| ApiError::Internal(err.to_string()))?,
        );
    }
    // One signature for the whole request, shared with concurrent ones.
    let signed = app
        .receipts
        .sign(receipts)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(signed.into_iter().zip(records).collect())
}

/// A v1 receipt re-issued for one stored event (receipt downloads and
/// compact links): its own signature, deterministic (RFC 6979), so every
/// re-issue is the same. Accepted events get v2 receipts (`receipts_for`).
pub(super) fn sign_receipt(
    app: &AppState,
    e: &StoredEvent,
) -> Result<(SignedReceipt, Value), ApiError> {
    let signed = crate::verify::receipt::sign(&app.key, receipt_of(app, e, RECEIPT_VERSION)?)
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let record: Value =
        serde_json::from_str(&e.record).map_err(|err| ApiError::Internal(err.to_string()))?;
    Ok((signed, record))
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

pub async fn get_ticket(
    State(app): State<AppState>,
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
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
    let mut records: Vec<Value> = Vec::with_capacity(events.len());
    for e in &events {
        let record: Value = serde_json::from_str(&e.record).unwrap_or(Value::Null);
        let mut item = json!({"index": e.index, "seq": e.seq, "leaf": e.leaf, "batch": e.sealed.as_ref().map(|(b, _)| b), "record": record});
        // Receipt download, compact receipt and content links (src/api/receipts.rs).
        let links = super::receipts::event_links(&app, e)?;
        if let Some(c) = links["receipt_compact"].as_str() {
            compacts.push(c.to_owned());
        }
        if let (Some(item), Some(links)) = (item.as_object_mut(), links.as_object()) {
            item.extend(links.clone());
        }
        records.push(item);
    }
    Ok(Json(json!({
        "ticket": t.handle,
        "external_id": t.external_id,
        "created_at": t.created_at,
        "state": t.tip.state,
        "events": records,
        "verify_url": super::receipts::verify_link(&t.handle, &compacts),
    })))
}
