//! The public, unauthenticated, read-only verifier endpoints.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::ApiError;
use super::extract::{HandlePath, parse_handle};
use super::schema::{BatchList, BatchView, LogInfo, Problem};
#[allow(unused_imports)]
use crate::protocol::bundle::Bundle;
use crate::prove::tags;

/// Largest id a client may name: 2^53 - 1, the largest integer every JSON
/// client reads exactly (the document says so).
const MAX_ID: u64 = 9_007_199_254_740_991;

/// A batch id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct BatchPath {
    /// The batch id: a non-negative integer.
    #[param(minimum = 0, maximum = 9007199254740991_i64)]
    pub id: u64,
}

/// The ticket's public proof bundle (PROTOCOL §13): everything needed to
/// verify its history against the chain. No key needed; rate-limited per IP.
#[utoipa::path(get, path = "/v1/tickets/{handle}/proof", tag = "public",
    params(HandlePath),
    responses(
        (status = 200, description = "The bundle, with a strong ETag (the SHA-256 of its bytes) and Cache-Control for shared caches. For a handle the log never created, once a head v2 batch is final: a bundle with no events and the proof of the handle's absence from the ticket map at that batch (PROTOCOL §15.4)", body = Bundle),
        (status = 304, description = "Not modified: the bundle is still the one whose ETag was sent in If-None-Match"),
        (status = 400, description = "Malformed handle", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, and no final head v2 batch yet to prove its absence at", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn proof(
    State(app): State<AppState>,
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ticket = parse_handle(&handle)?;
    let asked = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    // A settled bundle the client holds: the ticket's mark, or one lookup
    // of the ticket, says whether it is still the bundle (`unchanged`).
    // A v2 bundle's map proof is at the latest final batch, so a settled
    // bundle is still the bundle only while that batch is too.
    let proof_batch = || async {
        Ok::<_, ApiError>(
            app.map
                .latest_final(app.store.as_ref())
                .await?
                .filter(|b| b.map_root.is_some())
                .map(|b| b.id),
        )
    };
    if let Some(asked) = asked
        && let Some(held) = app.bundle_tags.settled(&ticket)
        && tags::matches(asked, &held.tag)
        && proof_batch().await? == held.map_at
        && unchanged(&app, &ticket, &held).await?
    {
        app.metrics.bundles_not_modified.inc();
        return Ok(not_modified(&held.tag));
    }
    // Taken before the read: a write after it moves it on (`unchanged`).
    let mark = app.store.ticket_changes().map(|c| c.mark(&ticket));
    let bundle = crate::prove::bundle(app.store.as_ref(), &app.identity, &app.map, &ticket)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("ticket {ticket} not found")))?;
    // An absence bundle is not remembered: any handle can be asked for,
    // and the tags are kept per ticket.
    let settled = !bundle.events.is_empty()
        && bundle.events.iter().all(|e| e.batch.is_some())
        && bundle.batches.iter().all(|b| b.status == "final");
    let events = bundle.events.len() as u64;
    let body = serde_json::to_vec(&bundle).map_err(|e| ApiError::Internal(e.to_string()))?;
    let tag = tags::etag_of(&body);
    if settled {
        let held = tags::Settled {
            tag: tag.clone(),
            events,
            map_at: bundle.map.as_ref().map(|m| m.batch),
            mark,
        };
        app.bundle_tags.remember(&ticket, held);
    }
    if asked.is_some_and(|a| tags::matches(a, &tag)) {
        app.metrics.bundles_not_modified.inc();
        return Ok(not_modified(&tag));
    }
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    cache_headers(h, &tag);
    Ok(resp)
}

/// Whether the ticket has gained no event since its held bundle was made.
/// Where this process is the log's only writer, an unchanged mark says so
/// with no read (`log::ticket_changes`); otherwise, or if the mark moved
/// (another ticket of its shard may have been written), one lookup of the
/// ticket's count, read together with other requests' (`prove::tips`),
/// which also renews the mark it was taken with.
async fn unchanged(
    app: &AppState,
    ticket: &crate::protocol::fields::TicketHandle,
    held: &tags::Settled,
) -> Result<bool, ApiError> {
    let mark = app.store.ticket_changes().map(|c| c.mark(ticket));
    if mark.is_some() && mark == held.mark {
        app.metrics.bundles_not_modified_unread.inc();
        return Ok(true);
    }
    let same = app.ticket_counts.count(&app.store, ticket).await? == Some(held.events);
    if same && let Some(mark) = mark {
        app.bundle_tags.refresh_mark(ticket, &held.tag, mark);
    }
    Ok(same)
}

/// Bundles change when their ticket does, so a cache may keep one for a
/// few seconds and then must revalidate (a 304 is cheap).
const BUNDLE_CACHE: &str = "public, max-age=5, must-revalidate";

fn cache_headers(h: &mut HeaderMap, tag: &str) {
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(BUNDLE_CACHE),
    );
}

fn not_modified(tag: &str) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    cache_headers(resp.headers_mut(), tag);
    resp
}

/// The log's identity and progress: chain, contract, anchorer, size, latest
/// anchored batch, maximum merge delay.
#[utoipa::path(get, path = "/v1/log", tag = "public",
    responses(
        (status = 200, description = "Log info", body = LogInfo),
    ))]
pub async fn log_info(State(app): State<AppState>) -> Result<Json<LogInfo>, ApiError> {
    let stats = app.store.stats().await?;
    let latest = if stats.anchored_batches > 0 {
        let mut anchored = None;
        // Anchored batches form a prefix (the anchorer works in order).
        if let Some(b) = app.store.batch(stats.anchored_batches - 1).await? {
            anchored = Some(BatchView::from(&b));
        }
        anchored
    } else {
        None
    };
    Ok(Json(LogInfo {
        protocol: "proofdesk/v1".into(),
        chain: app.identity.chain.clone(),
        log_size: stats.size,
        sealed: stats.sealed,
        batches: stats.batches,
        anchored_batches: stats.anchored_batches,
        final_batches: stats.final_batches,
        latest_anchored_batch: latest,
        max_merge_delay_ms: app.identity.max_merge_delay_ms,
        policy: app.identity.policy,
        public_rpc: app.public_rpc.clone(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// First batch id to list.
    #[serde(default)]
    #[param(minimum = 0, maximum = 9007199254740991_i64)]
    pub from: u64,
    /// How many batches, 1 to 1000.
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: u64,
}

fn default_limit() -> u64 {
    100
}

/// The batches, in id order, with their anchoring state.
#[utoipa::path(get, path = "/v1/batches", tag = "public",
    params(Page),
    responses(
        (status = 200, description = "Batches", body = BatchList),
        (status = 400, description = "Bad paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn batches(
    State(app): State<AppState>,
    Query(page): Query<Page>,
) -> Result<Json<BatchList>, ApiError> {
    if page.limit == 0 || page.limit > 1000 {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    if page.from > MAX_ID {
        return Err(ApiError::BadRequest(format!("from must be 0 to {MAX_ID}")));
    }
    let list = app.store.batches(page.from, page.limit).await?;
    Ok(Json(BatchList {
        batches: list.iter().map(BatchView::from).collect(),
    }))
}

/// One batch with its anchoring state.
#[utoipa::path(get, path = "/v1/batches/{id}", tag = "public",
    params(BatchPath),
    responses(
        (status = 200, description = "The batch", body = BatchView),
        (status = 400, description = "The id is not a non-negative integer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn batch(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BatchView>, ApiError> {
    let id: u64 = id.parse().ok().filter(|n| *n <= MAX_ID).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "batch id {id:?} is not an integer from 0 to {MAX_ID}"
        ))
    })?;
    let b = app
        .store
        .batch(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("batch {id} not found")))?;
    Ok(Json(BatchView::from(&b)))
}
