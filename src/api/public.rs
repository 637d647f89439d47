//! The public, unauthenticated, read-only verifier endpoints.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::writes::parse_handle;
use crate::log::Batch;

pub async fn proof(
    State(app): State<AppState>,
    Path(handle): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ticket = parse_handle(&handle)?;
    let bundle = crate::prove::bundle(app.store.as_ref(), &app.identity, &ticket)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("ticket {ticket} not found")))?;
    Ok(Json(
        serde_json::to_value(bundle).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

pub async fn log_info(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let stats = app.store.stats().await?;
    let latest = if stats.anchored_batches > 0 {
        let mut anchored = None;
        // Anchored batches form a prefix (the anchorer works in order).
        if let Some(b) = app.store.batch(stats.anchored_batches - 1).await? {
            anchored = Some(batch_json(&b));
        }
        anchored
    } else {
        None
    };
    Ok(Json(json!({
        "protocol": "proofdesk/v1",
        "chain": app.identity.chain,
        "log_size": stats.size,
        "sealed": stats.sealed,
        "batches": stats.batches,
        "anchored_batches": stats.anchored_batches,
        "final_batches": stats.final_batches,
        "latest_anchored_batch": latest,
        "max_merge_delay_ms": app.identity.max_merge_delay_ms,
        "policy": app.identity.policy,
        "public_rpc": app.public_rpc,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default)]
    pub from: u64,
    #[serde(default = "default_limit")]
    pub limit: u64,
}

fn default_limit() -> u64 {
    100
}

pub async fn batches(
    State(app): State<AppState>,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    if page.limit == 0 || page.limit > 1000 {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    let list = app.store.batches(page.from, page.limit).await?;
    Ok(Json(
        json!({"batches": list.iter().map(batch_json).collect::<Vec<_>>()}),
    ))
}

pub async fn batch(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::BadRequest(format!("batch id {id:?} is not a non-negative integer"))
    })?;
    let b = app
        .store
        .batch(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("batch {id} not found")))?;
    Ok(Json(batch_json(&b)))
}

fn batch_json(b: &Batch) -> Value {
    json!({
        "id": b.id,
        "first_index": b.first_index,
        "count": b.count,
        "root": b.root,
        "head": b.head,
        "status": b.status,
        "sealed_at_ms": b.sealed_at_ms,
        "tx": b.submission.as_ref().map(|s| s.tx_hash),
        "nonce": b.submission.as_ref().map(|s| s.nonce),
        "block": b.inclusion.as_ref().map(|i| i.block_number),
        "block_hash": b.inclusion.as_ref().map(|i| i.block_hash),
        "block_time": b.inclusion.as_ref().map(|i| i.block_time),
        "final_at_ms": b.final_at_ms,
        "attempts": b.attempts,
    })
}
