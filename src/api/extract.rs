//! Reading a request: a JSON body extractor whose every rejection is
//! problem+json with the parser's reason (unknown fields, wrong types,
//! missing members; `body` reads the JSON), and the ticket handle in a path.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::Deserialize;
use utoipa::IntoParams;

use super::body::RequestBody;
use super::error::ApiError;
use crate::protocol::fields::TicketHandle;

/// A JSON body's typed value and, for a request with an Idempotency-Key,
/// its strict tree (the idempotency hash is the tree's canonical bytes).
/// `body::read` says how a body is read.
pub struct ApiJson<T>(pub T, pub Option<serde_json::Value>);

impl<S: Send + Sync, T: RequestBody> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            return Err(ApiError::UnsupportedMediaType(
                "Content-Type must be application/json".into(),
            ));
        }
        let keyed = req.headers().contains_key(IDEMPOTENCY_KEY);
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadRequest(format!("cannot read the body: {e}"))
            }
        })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
        let read = super::body::read(text, keyed)?;
        Ok(ApiJson(read.typed, read.tree))
    }
}

/// The header whose requests keep their body's tree for the idempotency hash.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A ticket's public handle in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct HandlePath {
    /// tk_ followed by 32 lowercase hex digits.
    #[param(value_type = TicketHandle)]
    pub handle: String,
}

pub fn parse_handle(s: &str) -> Result<TicketHandle, ApiError> {
    TicketHandle::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// An integration's name in the path (a code; the last segment of its
/// webhook URL).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct IntegrationPath {
    pub integration: String,
}
