//! Health, readiness, metrics, and the API description.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, problem_response, slug_for};
use super::schema::Problem;

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers (and, on SQLite, its disk has room for
/// a write) and, if a chain is configured, the RPC answers too.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "The database or the chain does not answer, or the SQLite disk is full", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(app): State<AppState>) -> Result<&'static str, ApiError> {
    app.store.ping().await.map_err(|e| {
        let why = e.unavailable_reason().unwrap_or_else(|| e.to_string());
        ApiError::Unavailable(format!("database: {why}"))
    })?;
    if let Some(chain) = &app.chain {
        chain
            .block_number()
            .await
            .map_err(|e| ApiError::Unavailable(format!("chain: {e}")))?;
    }
    Ok("ready")
}

/// Prometheus metrics, as OpenMetrics text.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses(
        (status = 200, description = "Metrics", body = String, content_type = "application/openmetrics-text"),
        (status = 500, description = "The database failed (details are logged, not sent)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics(State(app): State<AppState>) -> Result<Response, ApiError> {
    let stats = app.store.stats().await?;
    let unsealed = app.store.unsealed().await?;
    let now = crate::protocol::fields::Timestamp::now().millis();
    let lag_ms = unsealed
        .oldest_recorded_at_ms
        .map_or(0, |t| (now - t).max(0));
    let g = &app.metrics.store;
    g.log_size.set(gauge(stats.size));
    g.log_sealed.set(gauge(stats.sealed));
    g.batch_lag_ms.set(lag_ms);
    g.batches.set(gauge(stats.batches));
    g.batches_anchored.set(gauge(stats.anchored_batches));
    g.batches_final.set(gauge(stats.final_batches));
    g.batches_waiting
        .set(gauge(stats.batches.saturating_sub(stats.anchored_batches)));
    let body = app.metrics.render();
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see /docs".into())
}

/// Turns any error response not already problem+json (framework rejections,
/// timeouts, body limits, unknown methods) into problem+json; an HTML error
/// page a handler chose for a browser stays a page. The status is
/// kept exactly as the layer or framework chose it, and so are its headers
/// (`Allow` on a 405, `Retry-After` on a 429): only the body is replaced.
pub async fn problemize(resp: Response) -> Response {
    let status = resp.status();
    // A problem already, or an error page a handler wrote for a browser
    // (`page::verify_ticket_page`): framework rejections are plain text.
    let keep = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes().starts_with(b"text/html")
    });
    if status.as_u16() < 400 || keep {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge.to_string(),
        StatusCode::REQUEST_TIMEOUT => "the request timed out".to_owned(),
        // axum adds the Allow header itself, after this layer.
        StatusCode::METHOD_NOT_ALLOWED => {
            "this method is not allowed on this path; the Allow header lists those that are"
                .to_owned()
        }
        s if s.is_server_error() && s != StatusCode::SERVICE_UNAVAILABLE => {
            // Internal details are logged, never sent.
            tracing::error!(detail = %text, status = s.as_u16(), "internal error");
            "internal error".to_owned()
        }
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => text,
    };
    let mut out = problem_response(status, slug_for(status), &detail, None);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// A count as a gauge's value (counts past i64 cannot happen in practice).
fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
