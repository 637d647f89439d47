//! Reading a ticket: its state, its records, and the links to each
//! event's receipt and content and to the verifier (scope ingest or audit).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;

use super::error::ApiError;
use super::extract::{HandlePath, parse_handle};
use super::schema::{Problem, TicketEvent, TicketView};
use super::{AppState, auth, links, qr_link};

/// A ticket with its state and records (scope ingest or audit).
#[utoipa::path(get, path = "/v1/tickets/{handle}", tag = "ingest",
    security(("apiKey" = ["ingest"]), ("apiKey" = ["audit"])),
    params(HandlePath),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 400, description = "Malformed handle", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
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
            // Receipt download, compact receipt and content links (links.rs).
            let links = links::event_links(&app, e, &record)?;
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
        verify_url: links::verify_link(&t.handle, &compacts),
        verify_qr_url: qr_link::link(t.handle.as_str(), &signed),
        ticket: t.handle,
        external_id: t.external_id,
        created_at: t.created_at,
        state: t.tip.state,
        events: records,
    }))
}
