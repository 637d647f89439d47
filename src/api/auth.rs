//! API keys: `pdk_<id>_<secret>`, stored as SHA-256 only, with scopes
//! ingest, audit and admin.

use axum::http::HeaderMap;
use rand::RngCore;

use super::error::ApiError;
use crate::log::{ApiKey, ApiKeyInfo, Store, StoreError};
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
    let (id, key) = fresh_key();
    store
        .insert_api_key(&id, sha256(key.as_bytes()), scopes, label, Timestamp::now())
        .await?;
    Ok(key)
}

/// A new key id and the full key `pdk_<id>_<secret>`.
fn fresh_key() -> (String, String) {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    let id = hex::encode(id);
    let key = format!("pdk_{id}_{}", hex::encode(secret));
    (id, key)
}

/// Revokes the key with this id; false if no active key has it.
pub async fn revoke_key(store: &dyn Store, id: &str) -> Result<bool, StoreError> {
    store.revoke_api_key(id, Timestamp::now()).await
}

/// Replaces the key with this id by a new one with the same scopes and
/// label; returns the new key in full (shown once) and its description.
pub async fn rotate_key(
    store: &dyn Store,
    id: &str,
) -> Result<Option<(String, ApiKeyInfo)>, StoreError> {
    let (new_id, key) = fresh_key();
    Ok(store
        .rotate_api_key(id, &new_id, sha256(key.as_bytes()), Timestamp::now())
        .await?
        .map(|info| (key, info)))
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The active key this token is, if any. Cheap: the store caches lookups
/// for `crate::log::keycache::KEY_CACHE_TTL`.
pub async fn lookup(store: &dyn Store, token: &str) -> Result<Option<ApiKey>, StoreError> {
    // Only the shape a key can have reaches the store.
    if !token.starts_with("pdk_") || token.len() > 128 {
        return Ok(None);
    }
    store.api_key_by_hash(sha256(token.as_bytes())).await
}

/// The caller's key, checked for `scope` (admin implies every scope).
pub async fn require(
    store: &dyn Store,
    headers: &HeaderMap,
    scope: &'static str,
) -> Result<ApiKey, ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let key = lookup(store, token).await?.ok_or(ApiError::Unauthorized)?;
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

/// Extractor: the caller holds an API key with the `admin` scope. Like
/// `Ingest`, it runs before the body is read: no key is a 401 whatever the
/// body, never a 422 that would tell an anonymous caller about the body.
pub struct Admin(pub ApiKey);

impl axum::extract::FromRequestParts<super::AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &super::AppState,
    ) -> Result<Self, ApiError> {
        require(state.store.as_ref(), &parts.headers, "admin")
            .await
            .map(Admin)
    }
}
