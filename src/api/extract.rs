//! Reading a request: a JSON body extractor whose every rejection is
//! problem+json with the parser's reason (unknown fields, wrong types,
//! missing members), and the ticket handle in a path.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use super::error::ApiError;
use crate::protocol::fields::TicketHandle;

pub struct ApiJson<T>(pub T, pub serde_json::Value);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
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
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadRequest(format!("cannot read the body: {e}"))
            }
        })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
        let mut value = crate::protocol::canonical::parse_strict(text)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        integral_numbers(&mut value);
        // Every body the API takes is an object; serde would also read a
        // struct from an array of its members in order.
        if !value.is_object() {
            return Err(ApiError::Unprocessable {
                reason: format!("the body must be a JSON object, not {}", kind(&value)),
                item: None,
            });
        }
        let typed = T::deserialize(&value).map_err(|e| ApiError::Unprocessable {
            reason: e.to_string(),
            item: None,
        })?;
        Ok(ApiJson(typed, value))
    }
}

/// JSON has one number type: `52.0` is the integer 52 (JSON Schema agrees),
/// but serde refuses it for an integer field. Every number in a request
/// body that is a whole number within 2^53 becomes an integer; anything
/// else stays as sent (and is refused where an integer is required).
fn integral_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            if let Some(f) = n.as_f64() {
                const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
                if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_numbers),
        Value::Object(m) => m.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

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
