//! Key management over HTTP for operators (scope `admin`): the same list,
//! revoke and rotate as `proofdesk keys`. Revocation here takes effect at
//! once on this server (its key cache is evicted) and within
//! `KEY_CACHE_TTL` on the others.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth;
use super::error::ApiError;
use super::schema::Problem;
use crate::log::ApiKeyInfo;

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<ApiKeyInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    /// The new key in full. Shown only here, once.
    #[schema(pattern = "^pdk_[0-9a-f]{12}_[0-9a-f]{48}$")]
    pub key: String,
    pub info: ApiKeyInfo,
}

/// A key id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct KeyPath {
    /// 12 lowercase hex digits (the `<id>` of `pdk_<id>_<secret>`).
    #[param(pattern = "^[0-9a-f]{12}$")]
    pub id: String,
}

fn key_id(id: &str) -> Result<&str, ApiError> {
    if id.len() == 12 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(id)
    } else {
        Err(ApiError::BadRequest(
            "a key id is 12 lowercase hex digits".into(),
        ))
    }
}

/// Every API key, active or not (never a secret).
#[utoipa::path(get, path = "/v1/keys", tag = "admin",
    security(("apiKey" = ["admin"])),
    responses(
        (status = 200, description = "The keys", body = KeyList),
    ))]
pub async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<KeyList>, ApiError> {
    auth::require(app.store.as_ref(), &headers, "admin").await?;
    Ok(Json(KeyList {
        keys: app.store.list_api_keys().await?,
    }))
}

/// Revoke a key: refused at once by this server, within 5 s by others.
#[utoipa::path(post, path = "/v1/keys/{id}/revoke", tag = "admin",
    security(("apiKey" = ["admin"])),
    params(KeyPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Malformed key id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active key with this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    auth::require(app.store.as_ref(), &headers, "admin").await?;
    if auth::revoke_key(app.store.as_ref(), key_id(&id)?).await? {
        tracing::info!(key = %id, "API key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no active key with id {id}")))
    }
}

/// Replace a key by a new one with the same scopes and label; the old one
/// is revoked in the same transaction. The new key is in the answer, once.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", tag = "admin",
    security(("apiKey" = ["admin"])),
    params(KeyPath),
    responses(
        (status = 201, description = "The new key", body = RotatedKey),
        (status = 400, description = "Malformed key id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No active key with this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<RotatedKey>), ApiError> {
    auth::require(app.store.as_ref(), &headers, "admin").await?;
    match auth::rotate_key(app.store.as_ref(), key_id(&id)?).await? {
        Some((key, info)) => {
            tracing::info!(old = %id, new = %info.id, "API key rotated");
            Ok((StatusCode::CREATED, Json(RotatedKey { key, info })))
        }
        None => Err(ApiError::NotFound(format!("no active key with id {id}"))),
    }
}
