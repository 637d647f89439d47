//! Health, readiness, metrics, and the API description.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::error::ApiError;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and, if a chain is configured, the RPC
/// answers too.
pub async fn readyz(State(app): State<AppState>) -> Result<&'static str, ApiError> {
    app.store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("database: {e}")))?;
    if let Some(chain) = &app.chain {
        chain
            .block_number()
            .await
            .map_err(|e| ApiError::Unavailable(format!("chain: {e}")))?;
    }
    Ok("ready")
}

pub async fn metrics(State(app): State<AppState>) -> Result<Response, ApiError> {
    let stats = app.store.stats().await?;
    let unsealed = app.store.unsealed().await?;
    let now = crate::protocol::fields::Timestamp::now().millis();
    let lag_ms = unsealed
        .oldest_recorded_at_ms
        .map_or(0, |t| (now - t).max(0));
    let gauges = [
        ("proofdesk_log_size", "Events in the log", stats.size as f64),
        (
            "proofdesk_log_sealed",
            "Events sealed into batches",
            stats.sealed as f64,
        ),
        (
            "proofdesk_batch_lag_ms",
            "Age of the oldest unsealed event (ms)",
            lag_ms as f64,
        ),
        ("proofdesk_batches", "Batches sealed", stats.batches as f64),
        (
            "proofdesk_batches_anchored",
            "Batches included or final on chain",
            stats.anchored_batches as f64,
        ),
        (
            "proofdesk_batches_final",
            "Batches final on chain",
            stats.final_batches as f64,
        ),
        (
            "proofdesk_batches_waiting",
            "Batches sealed but not yet included",
            (stats.batches - stats.anchored_batches) as f64,
        ),
    ];
    let body = app.metrics.render(&gauges);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

pub async fn openapi() -> Json<Value> {
    Json(super::openapi::document())
}

pub async fn docs() -> Html<String> {
    let doc = super::openapi::document();
    let mut rows = String::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                rows.push_str(&format!(
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    method.to_uppercase(),
                    path,
                    op["summary"].as_str().unwrap_or("")
                ));
            }
        }
    }
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Proofdesk API</title>\
         <h1>Proofdesk API</h1><p>Machine-readable: <a href=/openapi.json>/openapi.json</a>. \
         Errors are application/problem+json.</p><table border=1 cellpadding=4>{rows}</table>"
    ))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see /docs".into())
}

/// Turns any error response not already problem+json (framework rejections,
/// timeouts, body limits, unknown methods) into problem+json.
pub async fn problemize(resp: Response) -> Response {
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if status.as_u16() < 400 || is_problem {
        return resp;
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&bytes).trim().to_owned();
    let err = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
        StatusCode::NOT_FOUND => ApiError::NotFound(if detail.is_empty() {
            "not found".into()
        } else {
            detail
        }),
        s if s.is_server_error() && s != StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::Internal(detail)
        }
        StatusCode::REQUEST_TIMEOUT => ApiError::Unavailable("the request timed out".into()),
        _ => ApiError::BadRequest(if detail.is_empty() {
            status.to_string()
        } else {
            detail
        }),
    };
    let mut out = err.into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::UNSUPPORTED_MEDIA_TYPE
    {
        *out.status_mut() = status;
    }
    out
}
