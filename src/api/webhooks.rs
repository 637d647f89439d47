//! Webhook endpoints for help desks: `POST /v1/integrations/zendesk/{integration}`
//! and `POST /v1/integrations/zammad/{integration}`. The vendors post here,
//! authenticated by the vendor's signature, not by an API key; each delivery
//! is handled by `crate::integrations::deliver` and written to the ledger.
//! Creating integrations and reading the ledger is integration_admin.rs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::ApiError;
use super::extract::IntegrationPath;
use super::schema::Problem;
use crate::integrations::deliver::{DeliverError, Incoming, deliver};
use crate::integrations::{Delivery, Outcome, Unmapped, Vendor};

/// The headers Zendesk signs a delivery with.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct ZendeskHeaders {
    /// base64(HMAC-SHA256(signing secret, timestamp ‖ raw body)), with the
    /// event webhook's secret or the rating trigger webhook's. Missing or
    /// wrong: 401.
    #[serde(rename = "X-Zendesk-Webhook-Signature")]
    pub signature: String,
    /// The instant Zendesk signed at; outside the integration's
    /// `timestamp_window_secs` of the server's clock: 401 (a replay).
    #[serde(rename = "X-Zendesk-Webhook-Signature-Timestamp")]
    pub timestamp: String,
    /// The delivery id: a retry with the same id is answered, not applied
    /// again. Missing (on a signed delivery): 400.
    #[serde(rename = "X-Zendesk-Webhook-Invocation-Id")]
    pub invocation_id: String,
}

/// The headers Zammad signs a delivery with.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the OpenAPI document only
pub struct ZammadHeaders {
    /// `sha1=` + hex(HMAC-SHA1(secret, raw body)). Missing or wrong: 401.
    #[serde(rename = "X-Hub-Signature")]
    pub signature: String,
    /// The delivery id: a retry with the same id is answered, not applied
    /// again. Missing (on a signed delivery): 400.
    #[serde(rename = "X-Zammad-Delivery")]
    pub delivery: String,
}

/// What a webhook delivery became (also recorded in the delivery ledger).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReply {
    pub outcome: Outcome,
    /// The delivery's ledger id.
    pub delivery: i64,
    /// Why it was a duplicate, unmapped or rejected.
    pub reason: Option<String>,
    /// The Proofdesk ticket it was appended to.
    pub ticket: Option<String>,
    pub first_index: Option<u64>,
    pub count: Option<u64>,
    /// Vendor changes that were skipped or translated, and why.
    pub notes: Vec<String>,
    /// What is not in the log, by reason, and what to do about it.
    pub unmapped: Vec<Unmapped>,
}

impl From<&Delivery> for WebhookReply {
    fn from(d: &Delivery) -> WebhookReply {
        WebhookReply {
            outcome: d.outcome,
            delivery: d.id,
            reason: d.reason.clone(),
            ticket: d.ticket.clone(),
            first_index: d.first_index,
            count: d.count,
            notes: d.notes.clone(),
            unmapped: d.unmapped.clone(),
        }
    }
}

/// A refused delivery: a problem (type `…/webhook-rejected`) that also
/// carries the ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookProblem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    pub detail: String,
    #[serde(flatten)]
    pub reply: WebhookReply,
}

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
            app.metrics.webhook(vendor, &reply.delivery);
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            let body = WebhookReply::from(&reply.delivery);
            if status.is_success() {
                (status, Json(body)).into_response()
            } else {
                // Refusals are problem+json like every other API error.
                let problem = WebhookProblem {
                    problem_type: "https://proofdesk.dev/problems/webhook-rejected".into(),
                    title: status.canonical_reason().unwrap_or("error").into(),
                    status: status.as_u16(),
                    detail: reply.delivery.reason.clone().unwrap_or_default(),
                    reply: body,
                };
                let mut resp = (status, Json(problem)).into_response();
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/problem+json"),
                );
                if status == StatusCode::UNAUTHORIZED {
                    // Webhooks authenticate by the vendor's signature header.
                    let challenge = match vendor {
                        Vendor::Zendesk => "X-Zendesk-Webhook-Signature realm=\"proofdesk\"",
                        Vendor::Zammad => "X-Hub-Signature realm=\"proofdesk\"",
                    };
                    resp.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        header::HeaderValue::from_static(challenge),
                    );
                }
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

/// A Zendesk webhook delivery: a ticket event (`zen:event-type:ticket.…`)
/// from the event webhook, or a satisfaction rating from a trigger.
/// Authenticated by Zendesk's signature over the raw body, not by an API
/// key; the body is read as sent whatever its Content-Type (the signature
/// covers the bytes).
#[utoipa::path(post, path = "/v1/integrations/zendesk/{integration}", tag = "webhooks",
    params(IntegrationPath, ZendeskHeaders),
    request_body(content = Value, content_type = "application/json", description = "A Zendesk ticket event, or the rating trigger's body (README \"Connect Zendesk\")"),
    responses(
        (status = 200, description = "Handled: recorded, a duplicate of a delivery already handled, unmapped (authentic, but nothing maps; `unmapped` says why) or unchanged (already in the log); see `outcome`", body = WebhookReply),
        (status = 400, description = "Signed, but the delivery-id header is missing or the body is not JSON", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 401, description = "The signature is missing, wrong, or (Zendesk) its timestamp is outside the window", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 404, description = "No integration of this vendor with this name", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket kept changing while the delivery was applied; the vendor may retry", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The payload is not a ticket this adapter can read, or maps to events the log refuses", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable; retry the delivery (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn zendesk(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    webhook(app, Vendor::Zendesk, name, headers, body).await
}

/// A Zammad webhook delivery (Zammad's default trigger payload).
/// Authenticated by Zammad's signature over the raw body, not by an API
/// key; the body is read as sent whatever its Content-Type.
#[utoipa::path(post, path = "/v1/integrations/zammad/{integration}", tag = "webhooks",
    params(IntegrationPath, ZammadHeaders),
    request_body(content = Value, content_type = "application/json", description = "The Zammad webhook payload"),
    responses(
        (status = 200, description = "Handled: recorded, a duplicate of a delivery already handled, unmapped (authentic, but nothing maps; `unmapped` says why) or unchanged (already in the log); see `outcome`", body = WebhookReply),
        (status = 400, description = "Signed, but the delivery-id header is missing or the body is not JSON", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 401, description = "The signature is missing, wrong, or (Zendesk) its timestamp is outside the window", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 404, description = "No integration of this vendor with this name", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket kept changing while the delivery was applied; the vendor may retry", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The payload is not a ticket this adapter can read, or maps to events the log refuses", body = WebhookProblem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable; retry the delivery (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn zammad(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    webhook(app, Vendor::Zammad, name, headers, body).await
}
