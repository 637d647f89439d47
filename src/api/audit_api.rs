//! Monitoring and audit endpoints:
//! - `GET /v1/batches/{id}/leaves` (public): a batch's leaf hashes, paged;
//! - `GET /v1/export` (`audit` scope): records verbatim as JSON Lines, in
//!   index order, streamed in bounded pages (never the whole log in memory).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::require;
use super::error::ApiError;
use crate::log::{Batch, Store};
use crate::protocol::fields::Timestamp;

/// Most leaves one page returns.
pub const MAX_LEAVES_PAGE: u64 = 10_000;
/// Records read from the store per export page.
const EXPORT_PAGE: u64 = 2_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeavesPage {
    #[serde(default)]
    pub from: u64,
    #[serde(default = "default_leaves_limit")]
    pub limit: u64,
}

fn default_leaves_limit() -> u64 {
    1_000
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text())))
}

fn batch_id(id: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("batch id {id:?} is not a non-negative integer")))
}

/// `GET /v1/batches/{id}/leaves?from=&limit=`: leaf hashes only (no
/// records, no handles), `from` is the position in the batch.
pub async fn batch_leaves(
    State(app): State<AppState>,
    Path(id): Path<String>,
    page: Result<Query<LeavesPage>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = batch_id(&id)?;
    let page = query(page)?;
    if page.limit == 0 || page.limit > MAX_LEAVES_PAGE {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_LEAVES_PAGE}"
        )));
    }
    let b = app
        .store
        .batch(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("batch {id} not found")))?;
    if page.from >= b.count {
        return Err(ApiError::BadRequest(format!(
            "from {} is not a position in batch {id}, which holds {} leaves",
            page.from, b.count
        )));
    }
    let n = page.limit.min(b.count - page.from);
    let leaves = app.store.leaves(b.first_index + page.from, n).await?;
    let end = page.from + n;
    Ok(Json(json!({
        "batch": id,
        "first_index": b.first_index,
        "count": b.count,
        "from": page.from,
        "leaves": leaves,
        "next": (end < b.count).then_some(end),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First index (inclusive).
    pub from: Option<u64>,
    /// Last index (exclusive).
    pub to: Option<u64>,
    /// Records recorded at or after this instant (RFC 3339) …
    pub since: Option<String>,
    /// … and before this one.
    pub until: Option<String>,
    /// Widen the range to whole sealed batches, so every batch root can be
    /// rebuilt from the export alone.
    #[serde(default)]
    pub whole_batches: bool,
}

/// `GET /v1/export`: JSON Lines, one
/// `{"batch": id|null, "path": "hex"|null, "record": {…}}` per record, the
/// record exactly as stored and `path` its stored audit path (the hashes
/// concatenated, hex without `0x`). The range actually served is
/// in the `Proofdesk-Range` header as `first-end` (end exclusive).
pub async fn export(
    State(app): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    require(app.store.as_ref(), &headers, "audit").await?;
    let q = query(q)?;
    let stats = app.store.stats().await?;
    let by_index = q.from.is_some() || q.to.is_some();
    let by_time = q.since.is_some() || q.until.is_some();
    if by_index && by_time {
        return Err(ApiError::BadRequest(
            "give an index range (from, to) or a time range (since, until), not both".into(),
        ));
    }
    let (mut first, mut end) = if by_time {
        let since = parse_time("since", q.since.as_deref())?.unwrap_or(i64::MIN);
        let until = parse_time("until", q.until.as_deref())?.unwrap_or(i64::MAX);
        if since >= until {
            return Err(ApiError::BadRequest("since must be before until".into()));
        }
        match app.store.index_range_by_time(since, until).await? {
            Some((a, b)) => (a, b + 1),
            None => (0, 0),
        }
    } else {
        let from = q.from.unwrap_or(0);
        let to = q.to.unwrap_or(stats.size).min(stats.size);
        if q.to.is_some_and(|t| t < from) {
            return Err(ApiError::BadRequest("to must not be below from".into()));
        }
        (from.min(to), to)
    };
    if q.whole_batches && first < end {
        if let Some(b) = batch_containing(app.store.as_ref(), first, stats.batches).await? {
            first = b.first_index;
        }
        if let Some(b) = batch_containing(app.store.as_ref(), end - 1, stats.batches).await? {
            end = end.max(b.first_index + b.count);
        }
    }
    let store = app.store.clone();
    let stream = futures::stream::unfold(first, move |next| {
        let store = store.clone();
        async move {
            if next >= end {
                return None;
            }
            let n = EXPORT_PAGE.min(end - next);
            let page = match store.events_by_range(next, n).await {
                Ok(p) => p,
                Err(e) => {
                    // Cuts the response: the client sees a truncated body,
                    // never a silently shortened log.
                    tracing::error!(error = %e, "export page failed");
                    return Some((Err(std::io::Error::other(e.to_string())), end));
                }
            };
            let mut buf = Vec::with_capacity(page.len() * 512);
            for e in &page {
                buf.extend_from_slice(b"{\"batch\":");
                match &e.sealed {
                    Some((b, path)) => {
                        buf.extend_from_slice(b.to_string().as_bytes());
                        buf.extend_from_slice(b",\"path\":\"");
                        for h in path {
                            buf.extend_from_slice(hex::encode(h.0).as_bytes());
                        }
                        buf.push(b'"');
                    }
                    None => buf.extend_from_slice(b"null,\"path\":null"),
                }
                buf.extend_from_slice(b",\"record\":");
                buf.extend_from_slice(e.record.as_bytes());
                buf.extend_from_slice(b"}\n");
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(buf)), next + n))
        }
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{first}-{end}")) {
        h.insert("proofdesk-range", v);
    }
    Ok(resp)
}

fn parse_time(field: &'static str, s: Option<&str>) -> Result<Option<i64>, ApiError> {
    s.map(|s| {
        Timestamp::parse_input(field, s)
            .map(|t| t.millis())
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    })
    .transpose()
}

/// The sealed batch holding `index`, by binary search over batch ids
/// (batches are contiguous, so ids and first indices rise together).
async fn batch_containing(
    store: &dyn Store,
    index: u64,
    batches: u64,
) -> Result<Option<Batch>, ApiError> {
    let (mut lo, mut hi) = (0u64, batches);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(b) = store.batch(mid).await? else {
            return Ok(None);
        };
        if index < b.first_index {
            hi = mid;
        } else if index >= b.first_index + b.count {
            lo = mid + 1;
        } else {
            return Ok(Some(b));
        }
    }
    Ok(None)
}
