//! API errors, rendered as RFC 9457 problem+json. Internal details are
//! logged, never sent.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
    #[error("the request body exceeds the limit")]
    TooLarge,
    #[error("internal error")]
    Internal(String),
    #[error("not ready: {0}")]
    Unavailable(String),
    /// Gone for good (erased content); `erased_at` goes into the problem.
    #[error("{detail}")]
    Gone { detail: String, erased_at: String },
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
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Gone { .. } => StatusCode::GONE,
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
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Gone { .. } => "gone",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut body = json!({
            "type": format!("https://proofdesk.dev/problems/{}", self.slug()),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": self.to_string(),
        });
        if let ApiError::Unprocessable { item: Some(i), .. } = &self {
            body["item"] = json!(i);
        }
        if let ApiError::Gone { erased_at, .. } = &self {
            body["erased_at"] = json!(erased_at);
        }
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        resp
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
