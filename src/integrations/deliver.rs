//! Handling one webhook delivery, from raw bytes to a ledger row. The HTTP
//! handler only extracts headers and maps the reply to a status code.
//!
//! Status codes fit the vendors' retry rules:
//! - 200 recorded, duplicate, unmapped, unchanged: a retry would change
//!   nothing;
//! - 401 bad, missing or stale signature; 400/422 a body or header that is
//!   not what the vendor sends (each stored as rejected, with the reason).
//!   Zendesk does not retry these; Zammad retries every non-2xx (five
//!   attempts, 10 s × attempt apart, app/jobs/trigger_webhook_job.rb), and
//!   each retry is refused the same way: one more ledger row, nothing else;
//! - 409 when the ticket kept changing under three attempts: Zendesk
//!   retries a 409 (up to three times), Zammad any error;
//! - 503 with `Retry-After: 10` when the database fails: Zendesk retries a
//!   503 whose Retry-After is under 60 s.

use std::sync::LazyLock;

use rand::RngCore;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::mapping::{Mirror, Parsed, Snapshot, plan};
use super::{Delivery, Integration, Outcome, SignatureCheck, Vendor, signature, zammad, zendesk};
use crate::ingest::new_handle;
use crate::log::{AppendRequest, Idempotency, Store, StoreError, WriteResult};
use crate::protocol::append::Draft;
use crate::protocol::fields::Timestamp;
use crate::protocol::hashing::{content_commitment, sha256};
use crate::protocol::state::Policy;

/// A delivery as it came in: the raw body and the headers that matter.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub body: Vec<u8>,
    /// Zendesk `X-Zendesk-Webhook-Signature`, Zammad `X-Hub-Signature`.
    pub signature: Option<String>,
    /// Zendesk `X-Zendesk-Webhook-Signature-Timestamp`.
    pub timestamp: Option<String>,
    /// Zendesk `X-Zendesk-Webhook-Invocation-Id`, Zammad `X-Zammad-Delivery`.
    pub delivery_id: Option<String>,
}

/// The answer to the vendor.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub delivery: Delivery,
}

impl Reply {
    pub fn body(&self) -> Value {
        let d = &self.delivery;
        json!({
            "outcome": d.outcome,
            "delivery": d.id,
            "reason": d.reason,
            "ticket": d.ticket,
            "first_index": d.first_index,
            "count": d.count,
            "notes": d.notes,
            "unmapped": d.unmapped,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("no {0} integration named {1:?}")]
    NotFound(Vendor, String),
    /// The database failed: the vendor should retry.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[from] StoreError),
}

/// Deliveries are applied one at a time per process: the plan reads the
/// ticket's state, and two plans made from the same state must not both
/// be appended. Across processes the store's transition checks catch the
/// race and the delivery is re-planned (see `apply`).
static APPLY: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

const ATTEMPTS: usize = 3;

pub async fn deliver(
    store: &dyn Store,
    policy: &Policy,
    vendor: Vendor,
    name: &str,
    incoming: Incoming,
) -> Result<Reply, DeliverError> {
    let ledger = store.integration_store();
    let integration = ledger
        .integration(name)
        .await?
        .filter(|i| i.vendor == vendor)
        .ok_or_else(|| DeliverError::NotFound(vendor, name.to_owned()))?;
    let now = Timestamp::now();
    let mut d = Delivery {
        id: 0,
        integration: integration.name.clone(),
        received_at: now.to_string(),
        delivery_id: incoming
            .delivery_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect()),
        signature: SignatureCheck::Missing,
        body_sha256: sha256(&incoming.body).to_string(),
        outcome: Outcome::Rejected,
        reason: None,
        vendor_ticket: None,
        ticket: None,
        first_index: None,
        count: None,
        notes: Vec::new(),
        unmapped: Vec::new(),
    };
    d.signature = match vendor {
        // The event webhook's secret, else the rating triggers' webhook's
        // (the integration's second secret).
        Vendor::Zendesk => {
            let check = |secret: &str| {
                signature::zendesk(
                    secret,
                    incoming.signature.as_deref(),
                    incoming.timestamp.as_deref(),
                    &incoming.body,
                    now.datetime(),
                    integration.options.timestamp_window_secs,
                )
            };
            match (check(&integration.secret), &integration.second_secret) {
                (SignatureCheck::Invalid, Some(second)) => check(second),
                (first, _) => first,
            }
        }
        Vendor::Zammad => {
            let check = |secret: &str| {
                signature::zammad(secret, incoming.signature.as_deref(), &incoming.body)
            };
            match (check(&integration.secret), &integration.second_secret) {
                (SignatureCheck::Invalid, Some(second)) => check(second),
                (first, _) => first,
            }
        }
    };
    if d.signature != SignatureCheck::Valid {
        let why = match d.signature {
            SignatureCheck::Missing => "the signature header is missing".to_owned(),
            SignatureCheck::Stale => format!(
                "the signature timestamp {:?} is more than {} s from the server's clock (a replayed or delayed delivery)",
                incoming.timestamp.as_deref().unwrap_or(""),
                integration.options.timestamp_window_secs
            ),
            _ => "the signature does not match the body and the integration's secret".to_owned(),
        };
        return finish(store, d, Outcome::Rejected, Some(why), 401).await;
    }
    let Some(delivery_id) = d.delivery_id.clone() else {
        let header = match vendor {
            Vendor::Zendesk => "X-Zendesk-Webhook-Invocation-Id",
            Vendor::Zammad => "X-Zammad-Delivery",
        };
        return finish(
            store,
            d,
            Outcome::Rejected,
            Some(format!("the {header} header is missing")),
            400,
        )
        .await;
    };

    let _one_at_a_time = APPLY.lock().await;
    if let Some(first) = ledger
        .handled_delivery(&integration.name, &delivery_id)
        .await?
    {
        d.vendor_ticket = first.vendor_ticket;
        d.ticket = first.ticket;
        d.first_index = first.first_index;
        d.count = first.count;
        let why = format!(
            "delivery {delivery_id} was already handled (ledger row {})",
            first.id
        );
        return finish(store, d, Outcome::Duplicate, Some(why), 200).await;
    }
    let body: Value = match serde_json::from_slice(&incoming.body) {
        Ok(v) => v,
        Err(e) => {
            return finish(
                store,
                d,
                Outcome::Rejected,
                Some(format!("the body is not JSON: {e}")),
                400,
            )
            .await;
        }
    };
    let parsed = match vendor {
        Vendor::Zendesk => zendesk::parse(&body),
        Vendor::Zammad => zammad::parse(&body, &integration),
    };
    let snapshot = match parsed {
        Ok(Parsed::Snapshot(s)) => *s,
        Ok(Parsed::Unmapped(u)) => {
            let why = u.detail.clone();
            d.unmapped.push(u);
            return finish(store, d, Outcome::Unmapped, Some(why), 200).await;
        }
        Err(rejected) => {
            return finish(store, d, Outcome::Rejected, Some(rejected), 422).await;
        }
    };
    d.vendor_ticket = Some(snapshot.ticket_id.clone());
    apply(
        store,
        policy,
        &integration,
        &delivery_id,
        &incoming.body,
        snapshot,
        d,
    )
    .await
}

/// Plans and appends, re-planning if another writer moved the ticket.
async fn apply(
    store: &dyn Store,
    policy: &Policy,
    integration: &Integration,
    delivery_id: &str,
    body: &[u8],
    snap: Snapshot,
    mut d: Delivery,
) -> Result<Reply, DeliverError> {
    let ledger = store.integration_store();
    let (ticket, _) = store
        .create_ticket(
            &integration.external_id(&snap.ticket_id),
            new_handle(),
            Timestamp::now(),
        )
        .await?;
    d.ticket = Some(ticket.handle.to_string());
    let mirror: Mirror = match ledger.mirror(&integration.name, &snap.ticket_id).await? {
        Some((_, json)) => serde_json::from_str(&json).map_err(StoreError::corrupt)?,
        None => Mirror::default(),
    };
    // The idempotency key makes a retried delivery (after a crash between
    // the append and the ledger row) return the original indices.
    let idem = Idempotency {
        key: format!("integration:{}:{delivery_id}", integration.name),
        request_hash: sha256(body),
    };
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        let state = store
            .ticket(&ticket.handle)
            .await?
            .and_then(|t| t.tip.state);
        let p = plan(
            integration,
            state.as_ref(),
            &mirror,
            &snap,
            policy,
            Timestamp::now(),
        );
        d.notes = p.notes.clone();
        d.unmapped = p.unmapped.clone();
        let mirror_json = serde_json::to_string(&p.mirror).map_err(StoreError::corrupt)?;
        if p.events.is_empty() {
            ledger
                .put_mirror(
                    &integration.name,
                    &snap.ticket_id,
                    ticket.handle.as_str(),
                    &mirror_json,
                )
                .await?;
            let (outcome, why) = match d.unmapped.first() {
                Some(u) => (Outcome::Unmapped, u.detail.clone()),
                None if d.notes.is_empty() => (
                    Outcome::Unchanged,
                    "the log already has what this delivery says (status, priority, assignment, comment and rating)".to_owned(),
                ),
                None => (
                    Outcome::Unchanged,
                    "nothing to append: every change in this delivery was skipped or is already in the log (see notes)".to_owned(),
                ),
            };
            return finish(store, d, outcome, Some(why), 200).await;
        }
        let requests: Vec<AppendRequest> = p
            .events
            .into_iter()
            .map(|e| {
                let content = e.text.map(|text| {
                    let mut salt = [0u8; 32];
                    rand::rng().fill_bytes(&mut salt);
                    (salt, text)
                });
                AppendRequest {
                    ticket: ticket.handle.clone(),
                    draft: Draft {
                        data: e.data,
                        actor: e.actor,
                        channel: e.channel,
                        occurred_at: e.occurred_at,
                        content: content.as_ref().map(|(s, t)| content_commitment(s, t)),
                    },
                    content,
                }
            })
            .collect();
        match store.append(requests, Some(idem.clone()), policy).await {
            Ok(outcome) => {
                ledger
                    .put_mirror(
                        &integration.name,
                        &snap.ticket_id,
                        ticket.handle.as_str(),
                        &mirror_json,
                    )
                    .await?;
                if let WriteResult::Events { first_index, count } = outcome.result() {
                    d.first_index = Some(*first_index);
                    d.count = Some(*count);
                }
                let kind = if outcome.replayed() {
                    d.reason = Some("this delivery's events had already been appended".into());
                    Outcome::Duplicate
                } else {
                    Outcome::Recorded
                };
                let reason = d.reason.take();
                return finish(store, d, kind, reason, 200).await;
            }
            // Another writer moved the ticket between plan and append.
            Err(e @ StoreError::Rejected { .. }) => last_error = e.to_string(),
            Err(StoreError::IdempotencyConflict { .. }) => {
                let why =
                    format!("delivery id {delivery_id} was already used with a different body");
                return finish(store, d, Outcome::Rejected, Some(why), 422).await;
            }
            Err(e) => {
                // Best effort: the ledger shares the database that failed.
                let mut failed = d.clone();
                failed.outcome = Outcome::Failed;
                failed.reason = Some("the database failed; the vendor was asked to retry".into());
                let _ = ledger.record_delivery(&failed).await;
                return Err(e.into());
            }
        }
    }
    let why = format!("the ticket kept changing during {ATTEMPTS} attempts: {last_error}");
    finish(store, d, Outcome::Rejected, Some(why), 409).await
}

async fn finish(
    store: &dyn Store,
    mut d: Delivery,
    outcome: Outcome,
    reason: Option<String>,
    status: u16,
) -> Result<Reply, DeliverError> {
    d.outcome = outcome;
    d.reason = reason;
    if outcome == Outcome::Rejected || !d.unmapped.is_empty() {
        let reasons: Vec<&str> = d.unmapped.iter().map(|u| u.reason.as_str()).collect();
        tracing::warn!(integration = %d.integration, delivery = ?d.delivery_id, outcome = outcome.as_str(), reason = ?d.reason, unmapped = ?reasons, "webhook delivery not (fully) recorded");
    }
    d.id = store.integration_store().record_delivery(&d).await?;
    Ok(Reply {
        status,
        delivery: d,
    })
}
