//! The admin API of help-desk integrations:
//!
//! - `POST /v1/integrations` (admin): connect one; the response shows the
//!   secret once.
//! - `GET /v1/integrations` (admin): list them, without secrets.
//! - `PATCH /v1/integrations/{integration}` (admin): change the mapping
//!   options or set Zendesk's second (rating trigger) secret.
//! - `GET /v1/integrations/{integration}/deliveries?outcome=&limit=&before=` (audit
//!   or admin): the ledger, newest first.
//!
//! The webhooks the vendors post to are webhooks.rs.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::body::RequestBody;
use super::error::ApiError;
use super::extract::{ApiJson, IntegrationPath};
use super::schema::Problem;
use super::{AppState, auth};
use crate::integrations::{Delivery, Integration, MappingOptions, Outcome, Vendor};
use crate::protocol::fields::Code;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    /// A code: the last segment of the webhook URL.
    #[schema(value_type = Code)]
    pub name: String,
    pub vendor: Vendor,
    /// Zendesk: the event webhook's signing secret. Zammad: leave out to
    /// have one generated.
    #[serde(default)]
    #[schema(pattern = "^[!-~]{16,256}$")]
    pub secret: Option<String>,
    /// A second signing secret deliveries may carry. Zendesk: the webhook
    /// the rating triggers notify. Zammad: the next secret, while rotating.
    /// May also be set later (PATCH).
    #[serde(default)]
    #[schema(pattern = "^[!-~]{16,256}$")]
    pub second_secret: Option<String>,
    /// Mapping options on top of the vendor's defaults.
    #[serde(
        default,
        deserialize_with = "crate::protocol::canonical::input_value_opt"
    )]
    #[schema(value_type = Option<OptionsInput>)]
    pub options: Option<Value>,
}

/// Mapping options as given: any subset, the rest from the vendor's
/// defaults (a member may be left out, but not null).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the schema of `options`; parsed by `options_for`
pub struct OptionsInput {
    /// `category` of every ticket.created.
    #[schema(nullable = false, value_type = Option<Code>)]
    pub category: Option<String>,
    /// Whether tickets from this help desk are formal complaints.
    #[schema(nullable = false)]
    pub complaint: Option<bool>,
    /// `resolution` of the ticket.resolved a vendor "solved" becomes.
    #[schema(nullable = false, value_type = Option<Code>)]
    pub resolution: Option<String>,
    /// Zendesk only: how far the signature timestamp may be from the
    /// server's clock, in seconds.
    #[schema(nullable = false, minimum = 1, maximum = 3600)]
    pub timestamp_window_secs: Option<u64>,
    /// Prefix of the pseudonymous refs made from vendor user ids.
    #[schema(nullable = false, pattern = "^[!-?A-~]{0,32}$")]
    pub ref_prefix: Option<String>,
    /// Zammad: state id → new, open, pending, on_hold, solved, closed,
    /// merged or ignore (renamed or added states).
    #[schema(schema_with = states_schema)]
    pub states: Option<Value>,
    /// Zammad: priority id → low, normal, high or urgent.
    #[schema(schema_with = priorities_schema)]
    pub priorities: Option<Value>,
}

/// A map from Zammad ids (digits) to one of `words`.
fn id_map(words: &[&str], what: &str) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{AdditionalProperties, Object, Type};
    Object::builder()
        .schema_type(Type::Object)
        .property_names(Some(
            Object::builder()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]{1,20}$"))
                .build(),
        ))
        .additional_properties(Some(AdditionalProperties::from(
            Object::builder()
                .schema_type(Type::String)
                .enum_values(Some(words.iter().copied())),
        )))
        .description(Some(format!(
            "Zammad (a Zendesk integration never consults it): {what} id → {}",
            words.join(", ")
        )))
        .build()
}

fn states_schema() -> utoipa::openapi::schema::Object {
    id_map(&crate::integrations::STATE_WORDS, "state")
}

fn priorities_schema() -> utoipa::openapi::schema::Object {
    id_map(&["low", "normal", "high", "urgent"], "priority")
}

/// An integration, never with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    pub name: String,
    pub vendor: Vendor,
    /// Where the vendor posts: `/v1/integrations/<vendor>/<name>`.
    pub webhook_path: String,
    pub options: MappingOptions,
    /// Whether a second signing secret is set (Zendesk: the rating
    /// trigger webhook's).
    pub second_secret_set: bool,
    pub created_at: String,
}

impl From<&Integration> for IntegrationView {
    fn from(i: &Integration) -> IntegrationView {
        IntegrationView {
            name: i.name.clone(),
            vendor: i.vendor,
            webhook_path: i.webhook_path(),
            options: i.options.clone(),
            second_secret_set: i.second_secret.is_some(),
            created_at: i.created_at.clone(),
        }
    }
}

/// A new integration, with its secret: shown here once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationCreated {
    #[serde(flatten)]
    pub integration: IntegrationView,
    /// The shared HMAC secret (Zendesk's as given, or the one generated for
    /// Zammad, which the admin pastes into Zammad).
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationList {
    pub integrations: Vec<IntegrationView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub integration: String,
    /// Newest first.
    pub deliveries: Vec<Delivery>,
}

/// Options given over the API or CLI, on top of the vendor's defaults.
pub fn options_for(vendor: Vendor, given: Option<&Value>) -> Result<MappingOptions, String> {
    options_over(MappingOptions::defaults_for(vendor), given)
}

/// Options given, on top of `base` (an integration's current ones when
/// updating): each member given replaces the one in `base`.
pub fn options_over(base: MappingOptions, given: Option<&Value>) -> Result<MappingOptions, String> {
    let mut base = serde_json::to_value(base).map_err(|e| e.to_string())?;
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
    serde_json::to_value(IntegrationView::from(i)).unwrap_or_default()
}

/// Connect a help desk: the response shows the secret, once.
#[utoipa::path(post, path = "/v1/integrations", tag = "admin",
    security(("apiKey" = ["admin"])),
    request_body(content = CreateIntegration, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the secret is shown only here", body = IntegrationCreated),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An integration with this name exists already", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A member breaks its rules (name, secret, options)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(app): State<AppState>,
    _caller: auth::Admin,
    ApiJson(body, _): ApiJson<CreateIntegration>,
) -> Result<(StatusCode, Json<IntegrationCreated>), ApiError> {
    let unprocessable = |reason: String| ApiError::Unprocessable { reason, item: None };
    let options = options_for(body.vendor, body.options.as_ref()).map_err(unprocessable)?;
    let mut integration = Integration::new(&body.name, body.vendor, body.secret, options)
        .map_err(|e| unprocessable(e.to_string()))?;
    if let Some(second) = body.second_secret {
        integration
            .set_second_secret(second)
            .map_err(|e| unprocessable(e.to_string()))?;
    }
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
    // Shown once: the admin pastes it into the vendor (Zammad) or has just
    // copied it from there (Zendesk).
    let secret = integration.secret.clone();
    Ok((
        StatusCode::CREATED,
        Json(IntegrationCreated {
            integration: IntegrationView::from(&integration),
            secret,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegration {
    /// Mapping options to change; members left out keep their values.
    #[serde(
        default,
        deserialize_with = "crate::protocol::canonical::input_value_opt"
    )]
    #[schema(value_type = Option<OptionsInput>)]
    pub options: Option<Value>,
    /// A second signing secret deliveries may carry (Zendesk: the rating
    /// trigger webhook's; Zammad: the next one, while rotating).
    #[serde(default)]
    #[schema(pattern = "^[!-~]{16,256}$")]
    pub second_secret: Option<String>,
}

// Both bodies refuse unknown members and read their free `options` by
// canonical::input_value_opt (body::RequestBody's rule).
impl RequestBody for CreateIntegration {}
impl RequestBody for UpdateIntegration {}

/// Change an integration's mapping options (map a renamed Zammad state,
/// for instance) or set its second signing secret (Zendesk's rating
/// trigger webhook's). Deliveries already
/// handled stay as they were; the next ones use the new options.
#[utoipa::path(patch, path = "/v1/integrations/{integration}", tag = "admin",
    security(("apiKey" = ["admin"])),
    params(IntegrationPath),
    request_body(content = UpdateIntegration, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = IntegrationView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No integration with this name", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An option or the secret breaks its rules", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(app): State<AppState>,
    Path(name): Path<String>,
    _caller: auth::Admin,
    ApiJson(body, _): ApiJson<UpdateIntegration>,
) -> Result<Json<IntegrationView>, ApiError> {
    let ledger = app.store.integration_store();
    let mut integration = ledger
        .integration(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no integration named {name:?}")))?;
    apply_update(&mut integration, body.options.as_ref(), body.second_secret)
        .map_err(|reason| ApiError::Unprocessable { reason, item: None })?;
    ledger.update_integration(&integration).await?;
    Ok(Json(IntegrationView::from(&integration)))
}

/// Options on top of the integration's, checked as at creation, and the
/// second secret; for the API and the CLI.
pub fn apply_update(
    integration: &mut Integration,
    options: Option<&Value>,
    second_secret: Option<String>,
) -> Result<(), String> {
    let options = options_over(integration.options.clone(), options)?;
    // The same rules as a new integration of this vendor.
    Integration::new(
        &integration.name,
        integration.vendor,
        Some(integration.secret.clone()),
        options.clone(),
    )
    .map_err(|e| e.to_string())?;
    integration.options = options;
    if let Some(second) = second_secret {
        integration
            .set_second_secret(second)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Every integration, never with its secret.
#[utoipa::path(get, path = "/v1/integrations", tag = "admin",
    security(("apiKey" = ["admin"])),
    responses(
        (status = 200, description = "The integrations", body = IntegrationList),
    ))]
pub async fn list(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<IntegrationList>, ApiError> {
    auth::require(app.store.as_ref(), &headers, "admin").await?;
    let all = app.store.integration_store().integrations().await?;
    Ok(Json(IntegrationList {
        integrations: all.iter().map(IntegrationView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries with this outcome; `unmapped` also lists recorded
    /// deliveries part of which did not map.
    #[serde(default)]
    #[param(value_type = Option<Outcome>)]
    pub outcome: Option<String>,
    /// How many rows, 1 to 1000 (default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Only rows older than this ledger id (the last `id` of a page).
    #[serde(default)]
    pub before: Option<i64>,
}

/// An integration's delivery ledger, newest first: every delivery the
/// vendor sent, with what became of it (bodies are not kept).
#[utoipa::path(get, path = "/v1/integrations/{integration}/deliveries", tag = "audit",
    security(("apiKey" = ["audit"])),
    params(IntegrationPath, DeliveriesQuery),
    responses(
        (status = 200, description = "A page of the ledger", body = DeliveryList),
        (status = 400, description = "Bad query: unknown outcome, or limit outside 1 to 1000", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No integration with this name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deliveries(
    State(app): State<AppState>,
    Path(name): Path<String>,
    q: Result<Query<DeliveriesQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<DeliveryList>, ApiError> {
    // The key first: an anonymous caller learns nothing from its query.
    auth::require(app.store.as_ref(), &headers, "audit").await?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text())))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    let outcome = match q.outcome.as_deref() {
        None => None,
        Some(s) => Some(Outcome::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "outcome {s:?}: use recorded, duplicate, rejected, unmapped, unchanged or failed"
            ))
        })?),
    };
    let ledger = app.store.integration_store();
    if ledger.integration(&name).await?.is_none() {
        return Err(ApiError::NotFound(format!("no integration named {name:?}")));
    }
    let rows = ledger.deliveries(&name, outcome, q.before, limit).await?;
    Ok(Json(DeliveryList {
        integration: name,
        deliveries: rows,
    }))
}
