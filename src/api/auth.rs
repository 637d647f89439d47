//! API keys: `pdk_<id>_<secret>`, stored as SHA-256 only, with scopes
//! ingest, audit and admin.

use axum::http::HeaderMap;
use rand::RngCore;

use super::error::ApiError;
use crate::log::{ApiKey, Store, StoreError};
use crate::protocol::fields::Timestamp;
use crate::protocol::hashing::sha256;

pub const SCOPES: [&str; 3] = ["ingest", "audit", "admin"];

/// Creates a key and returns it in full; only its hash is stored.
pub async fn create_key(
    store: &dyn Store,
    scopes: &[String],
    label: &str,
) -> Result<String, StoreError> {
    for s in scopes {
        if !SCOPES.contains(&s.as_str()) {
            return Err(StoreError::Corrupt(format!(
                "unknown scope {s:?}; use ingest, audit or admin"
            )));
        }
    }
    let mut id = [0u8; 6];
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    let id = hex::encode(id);
    let key = format!("pdk_{id}_{}", hex::encode(secret));
    store
        .insert_api_key(&id, sha256(key.as_bytes()), scopes, label, Timestamp::now())
        .await?;
    Ok(key)
}

/// The caller's key, checked for `scope` (admin implies every scope).
pub async fn require(
    store: &dyn Store,
    headers: &HeaderMap,
    scope: &'static str,
) -> Result<ApiKey, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let key = store
        .api_key_by_hash(sha256(token.trim().as_bytes()))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if key.scopes.iter().any(|s| s == scope || s == "admin") {
        Ok(key)
    } else {
        Err(ApiError::Forbidden(scope))
    }
}

/// Extractor: the caller holds an API key with the `ingest` scope. Runs
/// before the body is read, so a request without a key gets 401 whatever
/// its body.
pub struct Ingest(pub ApiKey);

impl axum::extract::FromRequestParts<super::AppState> for Ingest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &super::AppState,
    ) -> Result<Self, ApiError> {
        require(state.store.as_ref(), &parts.headers, "ingest")
            .await
            .map(Ingest)
    }
}
