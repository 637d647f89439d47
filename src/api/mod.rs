//! The HTTP server: the anchoring API for platforms, the public verifier
//! endpoints, and operations endpoints.

mod audit_api;
pub mod auth;
pub mod body;
mod docs;
mod error;
mod extract;
pub mod headers;
pub mod integration_admin;
mod keys;
pub mod limits;
mod links;
pub mod openapi;
mod ops;
mod page;
mod proxies;
mod public;
mod qr_link;
mod receipt_issue;
pub mod receipts;
pub mod schema;
mod tickets;
mod webhooks;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
/// Request bodies, for reading them as the server does (`benches/ingest.rs`,
/// `tests/request_bodies.rs`).
pub use writes::{BulkAppend, CreateTicket};

use crate::anchor::{Chain, OperatorKey};
use crate::log::DynStore;
use crate::metrics::Metrics;
use crate::protocol::state::Policy;
use crate::prove::LogIdentity;

/// Largest request body: a full bulk request with generous content.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The limit as the 413 answer states it.
pub const MAX_BODY_TEXT: &str = "16 MiB (16,777,216 bytes)";

/// What every handler shares. Cloned per request by axum's `State`
/// extractor, so it is one `Arc`: the clones of its strings and keys showed
/// as 2 % of the server's samples under single-append load.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

pub struct AppParts {
    pub store: DynStore,
    /// The operator key; `None` on a mirror, which signs nothing.
    pub key: Option<OperatorKey>,
    /// Signs receipts, one signature per group (receipt v2); `None` on a
    /// mirror.
    pub receipts: Option<crate::ingest::receipts::ReceiptSigner>,
    pub identity: LogIdentity,
    pub policy: Policy,
    pub chain: Option<Chain>,
    pub metrics: Arc<Metrics>,
    /// The public RPC the log suggests to verifiers (None: not published).
    pub public_rpc: Option<String>,
    /// Per-key and per-IP rate limits (src/api/limits.rs).
    pub limits: limits::SharedLimits,
    /// Entity tags of settled bundles, for conditional reads.
    pub bundle_tags: crate::prove::tags::BundleTags,
    /// Tickets' event counts, read together for conditional reads.
    pub ticket_counts: crate::prove::tips::TicketCounts,
    /// The ticket map bundles prove against (PROTOCOL.md §15); the sealer
    /// applies batches to the same one.
    pub map: Arc<crate::seal::MapState>,
}

/// The public read routes alone, for a mirror (`proofdesk mirror`): the
/// log's description, batches, leaves, proof bundles and the verifier
/// page. Nothing behind a key, no content, no writes.
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/tickets/{handle}/proof",
            get(public::proof).layer(axum::middleware::map_response(page::any_origin)),
        )
        .route(
            "/v1/log",
            get(public::log_info).layer(axum::middleware::map_response(page::any_origin)),
        )
        .route("/verify", get(page::verify_page))
        .route("/verify/{handle}", get(page::verify_ticket_page))
        .route("/v1/batches", get(public::batches))
        .route("/v1/batches/{id}", get(public::batch))
        .route("/v1/batches/{id}/leaves", get(audit_api::batch_leaves))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
}

/// The layers every server answers through: rate limits, body limit,
/// timeout, problem+json, security headers, tracing.
pub fn finish(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::limit,
        ))
        .with_state(state)
        // Two limits, one number: the layer refuses a body that says (or
        // turns out) too big before any handler runs; the extractors that
        // buffer a body (`Bytes`, so `ApiJson` and the webhooks) carry a
        // limit of their own, 2 MiB by default, which would otherwise cap
        // a bulk request at about 8,000 events.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Outside the body limit and the timeout, so their answers are
        // problem+json too.
        .layer(axum::middleware::map_response(ops::problemize))
        .layer(axum::middleware::map_response(headers::security_headers))
        .layer(axum::middleware::from_fn(headers::cache_policy))
        .layer(TraceLayer::new_for_http())
}

pub fn router(state: AppState) -> Router {
    // The public reads a mirror serves, and what only a log's own server
    // answers: writes, keyed reads, administration, metrics and the docs.
    let routes = public_router()
        .route("/v1/tickets", post(writes::create_ticket))
        .route("/v1/tickets/{handle}/events", post(writes::append_event))
        .route("/v1/events/bulk", post(writes::append_bulk))
        .route("/v1/tickets/{handle}", get(tickets::get_ticket))
        .route(
            "/v1/tickets/{handle}/events/{seq}/receipt",
            get(receipts::receipt),
        )
        .route(
            "/v1/tickets/{handle}/events/{seq}/content",
            get(receipts::content).delete(receipts::erase_content),
        )
        .route(
            "/v1/integrations",
            post(integration_admin::create).get(integration_admin::list),
        )
        .route(
            "/v1/integrations/zendesk/{integration}",
            post(webhooks::zendesk),
        )
        .route(
            "/v1/integrations/zammad/{integration}",
            post(webhooks::zammad),
        )
        .route(
            "/v1/integrations/{integration}/deliveries",
            get(integration_admin::deliveries),
        )
        .route(
            "/v1/integrations/{integration}",
            patch(integration_admin::update),
        )
        .route("/v1/export", get(audit_api::export))
        .route("/v1/keys", get(keys::list))
        .route("/v1/keys/{id}/revoke", post(keys::revoke))
        .route("/v1/keys/{id}/rotate", post(keys::rotate))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::serve))
        .route("/docs", get(docs::docs))
        .route("/docs/redoc.js", get(docs::redoc_js))
        .route("/docs/init.js", get(docs::init_js));
    finish(routes, state)
}
