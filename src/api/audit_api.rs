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
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::require;
use super::error::ApiError;
use super::public::BatchPath;
use super::schema::Problem;
use crate::log::{Batch, Store};
use crate::protocol::Hash32;
use crate::protocol::fields::Timestamp;

/// Most leaves one page returns.
pub const MAX_LEAVES_PAGE: u64 = 10_000;
/// Largest index a client may name: 2^53 - 1, the largest integer every
/// JSON client reads exactly (the document says so).
const MAX_INDEX: u64 = 9_007_199_254_740_991;
/// Records read from the store per export page.
const EXPORT_PAGE: u64 = 2_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeavesPage {
    /// First position in the batch (0-based); must be below its count.
    #[serde(default)]
    #[param(minimum = 0, maximum = 9007199254740991_i64)]
    pub from: u64,
    /// How many leaves, 1 to 10,000 (default 1,000).
    #[serde(default = "default_leaves_limit")]
    #[param(minimum = 1, maximum = 10000)]
    pub limit: u64,
}

/// A page of a batch's leaf hashes.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchLeaves {
    pub batch: u64,
    /// Log index of the batch's first leaf.
    pub first_index: u64,
    /// Leaves in the batch.
    pub count: u64,
    /// Position in the batch of the first leaf on this page.
    pub from: u64,
    /// RFC 6962 leaf hashes, in order.
    pub leaves: Vec<Hash32>,
    /// `from` of the next page; null on the last.
    pub next: Option<u64>,
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

/// A sealed batch's leaf hashes, paged: leaf hashes only (no records, no
/// handles), for monitors that rebuild the batch root. `from` is the
/// position in the batch.
#[utoipa::path(get, path = "/v1/batches/{id}/leaves", tag = "public",
    params(BatchPath, LeavesPage),
    responses(
        (status = 200, description = "A page of leaf hashes", body = BatchLeaves),
        (status = 400, description = "Malformed id or paging parameters, or `from` beyond the batch", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn batch_leaves(
    State(app): State<AppState>,
    Path(id): Path<String>,
    page: Result<Query<LeavesPage>, QueryRejection>,
) -> Result<Response, ApiError> {
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
    let mut resp = Json(BatchLeaves {
        batch: id,
        first_index: b.first_index,
        count: b.count,
        from: page.from,
        leaves,
        next: (end < b.count).then_some(end),
    })
    .into_response();
    // A final batch's leaves never change: any cache may keep them.
    if b.status == crate::log::BatchStatus::Final {
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    Ok(resp)
}

/// Either an index range (`from`, `to`) or a time range (`since`,
/// `until`), not both; none exports the whole log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// First index (inclusive). Not with since/until.
    #[param(minimum = 0, maximum = 9007199254740991_i64)]
    pub from: Option<u64>,
    /// End index (exclusive), at least `from`; capped at the log size.
    /// Not with since/until.
    #[param(minimum = 0, maximum = 9007199254740991_i64)]
    pub to: Option<u64>,
    /// Records recorded at or after this instant (RFC 3339, at most
    /// millisecond precision) …
    #[param(
        pattern = r"^(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
    )]
    pub since: Option<String>,
    /// … and before this one (after `since`).
    #[param(
        pattern = r"^(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
    )]
    pub until: Option<String>,
    /// Widen the range to whole sealed batches, so every batch root can be
    /// rebuilt from the export alone.
    #[serde(default)]
    pub whole_batches: bool,
}

/// Export the log: JSON Lines, one
/// `{"batch": id|null, "path": "hex"|null, "record": {…}}` per record, in
/// index order, the record exactly as stored and `path` its stored audit
/// path (the hashes concatenated, hex without `0x`). Streamed; a failure
/// mid-way cuts the body rather than shortening it silently. The range
/// actually served is in the `Proofdesk-Range` header as `first-end` (end
/// exclusive).
#[utoipa::path(get, path = "/v1/export", tag = "audit",
    security(("apiKey" = ["audit"])),
    params(ExportQuery),
    responses(
        (status = 200, description = "The records, one JSON object per line", body = String, content_type = "application/x-ndjson",
            headers(("Proofdesk-Range" = String, description = "The index range served: `first-end`, end exclusive"))),
        (status = 400, description = "Bad query: both kinds of range, `to` below `from`, `since` not before `until`, or a malformed instant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    State(app): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    require(app.store.as_ref(), &headers, "audit").await?;
    let q = query(q)?;
    if [q.from, q.to].into_iter().flatten().any(|i| i > MAX_INDEX) {
        return Err(ApiError::BadRequest(format!(
            "from and to must be 0 to {MAX_INDEX}"
        )));
    }
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
                crate::prove::export::write_line(e, &mut buf);
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
