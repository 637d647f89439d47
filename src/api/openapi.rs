//! The OpenAPI 3.1 document, generated from the handlers' own annotations
//! (`#[utoipa::path]`) and the types they take and return (`ToSchema`,
//! `IntoParams`), so it cannot drift from the code. A route added to the
//! router without being listed here fails `tests/openapi_doc.rs`.

use serde_json::Value;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::schema::{self, Problem};
use super::{
    audit_api, docs, integration_admin, keys, ops, page, public, receipts, tickets, webhooks,
    writes,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Proofdesk",
        description = "Tamper-evident support-ticket logs anchored on an EVM chain. \
            Every error is application/problem+json (RFC 9457) whose `status` is the HTTP status. \
            Authenticated routes take `Authorization: Bearer pdk_…`; a key has the scopes ingest, \
            audit or admin (admin implies all). Requests are rate-limited per key and per client IP \
            (429 with Retry-After). Protocol: docs/PROTOCOL.md."
    ),
    paths(
        writes::create_ticket,
        writes::append_event,
        writes::append_bulk,
        tickets::get_ticket,
        receipts::receipt,
        receipts::content,
        receipts::erase_content,
        public::proof,
        public::log_info,
        public::batches,
        public::batch,
        audit_api::batch_leaves,
        audit_api::export,
        page::verify_page,
        page::verify_ticket_page,
        webhooks::zendesk,
        webhooks::zammad,
        integration_admin::create,
        integration_admin::list,
        integration_admin::deliveries,
        integration_admin::update,
        keys::list,
        keys::revoke,
        keys::rotate,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        serve,
        docs::docs,
        docs::redoc_js,
        docs::init_js,
    ),
    components(schemas(Problem)),
    modifiers(&Security, &EventSchemas, &SharedProblems),
    tags(
        (name = "ingest", description = "The anchoring API for platforms (API key)"),
        (name = "public", description = "Public, read-only verifier endpoints"),
        (name = "audit", description = "Log export and delivery ledgers for auditors (scope audit)"),
        (name = "webhooks", description = "Help-desk webhooks (Zendesk, Zammad), authenticated by the vendor's HMAC signature over the body, not by an API key"),
        (name = "admin", description = "Key management, content erasure and integrations, for operators (scope admin)"),
        (name = "ops", description = "Health, readiness, metrics and this description"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some(
            "An API key `pdk_<id>_<secret>` created with `proofdesk keys create`; scopes ingest, audit, admin"
                .into(),
        );
        components.add_security_scheme("apiKey", SecurityScheme::Http(http));
    }
}

/// Components the hand-built `EventInput` schema refers to.
struct EventSchemas;

impl Modify for EventSchemas {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, s) in schema::event_components() {
            components.schemas.entry(name).or_insert(s);
        }
    }
}

/// The refusals every route shares, stated once: a `/v1/` route may answer
/// 429 (per-key and per-IP limits, `Retry-After`), and a route behind an
/// API key 401 (no valid key) and 403 (the key lacks the scope the
/// operation's `security` names). A route that states its own keeps it
/// (the webhooks' 401 carries the delivery's ledger entry).
struct SharedProblems;

const UNAUTHORIZED: &str = "Unauthorized";
const RATE_LIMITED: &str = "RateLimited";

impl Modify for SharedProblems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

        let problem = || Content::new(Some(Ref::from_schema_name("Problem")));
        let string_header = |description: &str| {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some(description))
                .build()
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.responses.insert(
            UNAUTHORIZED.into(),
            ResponseBuilder::new()
                .description("No valid API key")
                .content("application/problem+json", problem())
                .header(
                    "WWW-Authenticate",
                    string_header("Bearer: send `Authorization: Bearer pdk_…`"),
                )
                .build()
                .into(),
        );
        components.responses.insert(
            RATE_LIMITED.into(),
            ResponseBuilder::new()
                .description("Rate limit (per key and per client IP); see Retry-After")
                .content("application/problem+json", problem())
                .header(
                    "Retry-After",
                    string_header("Seconds to wait before trying again"),
                )
                .build()
                .into(),
        );
        let shared = |name: &str| RefOr::Ref(Ref::new(format!("#/components/responses/{name}")));
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let responses = &mut op.responses.responses;
                if path.starts_with("/v1/") {
                    responses
                        .entry("429".into())
                        .or_insert_with(|| shared(RATE_LIMITED));
                }
                let Some(scopes) = op.security.as_ref().map(|s| scopes_of(s)) else {
                    continue;
                };
                responses
                    .entry("401".into())
                    .or_insert_with(|| shared(UNAUTHORIZED));
                responses.entry("403".into()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description(forbidden(&scopes))
                        .content("application/problem+json", problem())
                        .build()
                        .into()
                });
            }
        }
    }
}

/// The scopes an operation accepts, any one of them enough.
fn scopes_of(requirements: &[utoipa::openapi::security::SecurityRequirement]) -> Vec<String> {
    let mut scopes: Vec<String> = requirements
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .filter_map(|v| v.get("apiKey").cloned())
        .filter_map(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .flatten()
        .collect();
    scopes.dedup();
    scopes
}

/// The 403's description for an operation that takes any of `scopes`.
fn forbidden(scopes: &[String]) -> String {
    match scopes {
        [one] if one == "admin" => "The key lacks the admin scope".into(),
        [one] => format!("The key lacks the {one} scope (admin implies every scope)"),
        [a, b] => format!("The key has neither the {a} nor the {b} scope (admin implies both)"),
        _ => format!("The key lacks every scope of {}", scopes.join(", ")),
    }
}

/// The document as served at /openapi.json.
pub fn document() -> Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    serde_json::to_value(doc).unwrap_or_default()
}

/// This document: OpenAPI 3.1, generated from the handlers' own types.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}
