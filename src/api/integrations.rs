//! Webhook endpoints for help desks, and the admin API that creates
//! integrations and lists their delivery ledger.
//!
//! - `POST /v1/integrations/zendesk/{integration}`, `POST /v1/integrations/zammad/{integration}`:
//!   the vendors post here; authenticated by the vendor's signature, not
//!   by an API key.
//! - `POST /v1/integrations` (admin): create one; the response shows the
//!   secret once.
//! - `GET /v1/integrations` (admin): list them, without secrets.
//! - `GET /v1/integrations/{integration}/deliveries?outcome=&limit=&before=` (audit
//!   or admin): the ledger, newest first.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::ApiJson;
use super::{AppState, auth};
use crate::integrations::deliver::{DeliverError, Incoming, deliver};
use crate::integrations::{Integration, MappingOptions, Outcome, Vendor};

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn webhook(
    app: AppState,
    vendor: Vendor,
    name: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = match vendor {
        Vendor::Zendesk => Incoming {
            body: body.to_vec(),
            signature: header(&headers, "x-zendesk-webhook-signature"),
            timestamp: header(&headers, "x-zendesk-webhook-signature-timestamp"),
            delivery_id: header(&headers, "x-zendesk-webhook-invocation-id"),
        },
        Vendor::Zammad => Incoming {
            body: body.to_vec(),
            signature: header(&headers, "x-hub-signature"),
            timestamp: None,
            delivery_id: header(&headers, "x-zammad-delivery"),
        },
    };
    match deliver(app.store.as_ref(), &app.policy, vendor, &name, incoming).await {
        Ok(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            let body = reply.body();
            if status.is_success() {
                (status, Json(body)).into_response()
            } else {
                // Refusals are problem+json like every other API error.
                let detail = reply.delivery.reason.clone().unwrap_or_default();
                let mut problem = json!({
                    "type": "https://proofdesk.dev/problems/webhook-rejected",
                    "title": status.canonical_reason().unwrap_or("error"),
                    "status": status.as_u16(),
                    "detail": detail,
                });
                if let (Some(p), Some(b)) = (problem.as_object_mut(), body.as_object()) {
                    p.extend(b.clone());
                }
                let mut resp = (status, problem.to_string()).into_response();
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/problem+json"),
                );
                resp
            }
        }
        Err(DeliverError::NotFound(v, n)) => {
            ApiError::NotFound(format!("no {v} integration named {n:?}")).into_response()
        }
        Err(DeliverError::Unavailable(e)) => {
            tracing::error!(error = %e, "webhook delivery failed on the database");
            let mut resp =
                ApiError::Unavailable("the database is unavailable; retry the delivery".into())
                    .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
            resp
        }
    }
}

pub async fn zendesk(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    webhook(app, Vendor::Zendesk, name, headers, body).await
}

pub async fn zammad(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    webhook(app, Vendor::Zammad, name, headers, body).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    pub name: String,
    pub vendor: Vendor,
    /// Zendesk: the webhook's signing secret. Zammad: leave out to have one
    /// generated.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub options: Option<Value>,
}

/// Options given over the API or CLI, on top of the vendor's defaults.
pub fn options_for(vendor: Vendor, given: Option<&Value>) -> Result<MappingOptions, String> {
    let mut base =
        serde_json::to_value(MappingOptions::defaults_for(vendor)).map_err(|e| e.to_string())?;
    if let Some(given) = given {
        let Some(obj) = given.as_object() else {
            return Err("options must be a JSON object".into());
        };
        for (k, v) in obj {
            if base.get(k).is_none() {
                return Err(format!("unknown option {k:?}"));
            }
            base[k] = v.clone();
        }
    }
    serde_json::from_value(base).map_err(|e| format!("options: {e}"))
}

pub fn describe(i: &Integration) -> Value {
    json!({
        "name": i.name,
        "vendor": i.vendor,
        "webhook_path": i.webhook_path(),
        "options": i.options,
        "created_at": i.created_at,
    })
}

pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiJson(body, _): ApiJson<CreateIntegration>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    auth::require(app.store.as_ref(), &headers, "admin").await?;
    let unprocessable = |reason: String| ApiError::Unprocessable { reason, item: None };
    let options = options_for(body.vendor, body.options.as_ref()).map_err(unprocessable)?;
    let integration = Integration::new(&body.name, body.vendor, body.secret, options)
        .map_err(|e| unprocessable(e.to_string()))?;
    if !app
        .store
        .integration_store()
        .insert_integration(&integration)
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "an integration named {:?} exists already",
            integration.name
        )));
    }
    let mut out = describe(&integration);
    // Shown once: the admin pastes it into the vendor (Zammad) or has just
    // copied it from there (Zendesk).
    out["secret"] = json!(integration.secret);
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    auth::require(app.store.as_ref(), &headers, "admin").await?;
    let all = app.store.integration_store().integrations().await?;
    Ok(Json(
        json!({"integrations": all.iter().map(describe).collect::<Vec<_>>()}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub limit: Option<u64>,
    /// Only rows older than this ledger id (the last `id` of a page).
    #[serde(default)]
    pub before: Option<i64>,
}

pub async fn deliveries(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<DeliveriesQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    auth::require(app.store.as_ref(), &headers, "audit").await?;
    let outcome = match q.outcome.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Outcome::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "outcome {s:?}: use recorded, duplicate, rejected, unmapped or failed"
            ))
        })?),
    };
    let ledger = app.store.integration_store();
    if ledger.integration(&name).await?.is_none() {
        return Err(ApiError::NotFound(format!("no integration named {name:?}")));
    }
    let rows = ledger
        .deliveries(
            &name,
            outcome,
            q.before,
            q.limit.unwrap_or(100).clamp(1, 1000),
        )
        .await?;
    Ok(Json(json!({"integration": name, "deliveries": rows})))
}
