//! API errors, rendered as RFC 9457 problem+json. Internal details are
//! logged, never sent.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::log::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid API key is required (Authorization: Bearer pdk_…)")]
    Unauthorized,
    #[error("this API key lacks the {0:?} scope")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{reason}")]
    Unprocessable { reason: String, item: Option<usize> },
    #[error("the request body exceeds the limit of {}", super::MAX_BODY_TEXT)]
    TooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("internal error")]
    Internal(String),
    #[error("not ready: {0}")]
    Unavailable(String),
    /// Gone for good (erased content); `erased_at` goes into the problem.
    #[error("{detail}")]
    Gone { detail: String, erased_at: String },
    /// A rate limit was hit; the client may retry after this many seconds.
    #[error("rate limit exceeded ({what}); retry after {retry_after_s} s")]
    TooManyRequests {
        what: &'static str,
        retry_after_s: u64,
    },
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable { .. } => "unprocessable",
            ApiError::TooLarge => "too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Gone { .. } => "gone",
            ApiError::TooManyRequests { .. } => "too-many-requests",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let item = match &self {
            ApiError::Unprocessable { item, .. } => *item,
            _ => None,
        };
        let mut body = problem_body(status, self.slug(), &self.to_string(), item);
        if let ApiError::Gone { erased_at, .. } = &self {
            body["erased_at"] = json!(erased_at);
        }
        let mut resp = problem_json(status, &body);
        if let ApiError::Unauthorized = &self {
            // RFC 9110 §11.6.1: a 401 names the scheme that would work.
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(BEARER_CHALLENGE),
            );
        }
        if let ApiError::TooManyRequests { retry_after_s, .. } = &self {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(*retry_after_s),
            );
        }
        resp
    }
}

/// The challenge of every 401 for a missing or refused API key (RFC 6750).
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"proofdesk\"";

/// The one place a problem+json body is written: its `status` member is
/// always the HTTP status of the response that carries it.
pub fn problem_response(
    status: StatusCode,
    slug: &str,
    detail: &str,
    item: Option<usize>,
) -> Response {
    problem_json(status, &problem_body(status, slug, detail, item))
}

fn problem_body(status: StatusCode, slug: &str, detail: &str, item: Option<usize>) -> Value {
    let mut body = json!({
        "type": format!("https://proofdesk.dev/problems/{slug}"),
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(i) = item {
        body["item"] = json!(i);
    }
    body
}

fn problem_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    resp
}

/// The problem type slug for a status that did not come from an `ApiError`
/// (framework rejections, layers).
pub fn slug_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad-request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "too-large",
        415 => "unsupported-media-type",
        422 => "unprocessable",
        429 => "too-many-requests",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "bad-request",
    }
}

impl From<crate::prove::ProveError> for ApiError {
    fn from(e: crate::prove::ProveError) -> ApiError {
        match e {
            crate::prove::ProveError::Store(e) => e.into(),
            crate::prove::ProveError::Map(e) => {
                tracing::error!(error = %e, "the ticket map cannot prove");
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::TicketNotFound(t) => ApiError::NotFound(format!("ticket {t} not found")),
            StoreError::Rejected { item, reason } => {
                use crate::protocol::append::AppendRuleError;
                let status_like = matches!(reason, AppendRuleError::Transition(_));
                let reason = format!("event {item}: {reason}");
                if status_like {
                    ApiError::Conflict(reason)
                } else {
                    ApiError::Unprocessable {
                        reason,
                        item: Some(item),
                    }
                }
            }
            StoreError::IdempotencyConflict { .. } => ApiError::Conflict(e.to_string()),
            // The database is down, cut off or full: 503 with a reason the
            // client can act on; the details go to the log only.
            other => match other.unavailable_reason() {
                Some(reason) => {
                    tracing::warn!(error = %other, "database unavailable");
                    ApiError::Unavailable(format!(
                        "{reason}; retry later with the same Idempotency-Key"
                    ))
                }
                None => ApiError::Internal(other.to_string()),
            },
        }
    }
}
