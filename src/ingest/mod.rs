//! Ingest: what a platform sends, validated and turned into append requests.
//! Content text is committed here with a fresh salt; only the commitment
//! enters the record.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::log::{AppendRequest, Idempotency};
use crate::protocol::Hash32;
use crate::protocol::append::Draft;
use crate::protocol::canonical::canonicalize;
use crate::protocol::event::{DataError, EventData, EventType};
use crate::protocol::fields::{FieldError, TicketHandle, Timestamp};
use crate::protocol::hashing::{content_commitment, sha256};
use crate::protocol::record::{Actor, Channel};

/// Longest content text accepted, in characters (Unicode scalar values, as
/// JSON Schema's maxLength counts them, so the OpenAPI document states the
/// limit exactly).
pub const MAX_CONTENT_CHARS: usize = 64 * 1024;

/// One event as a platform posts it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub data: Value,
    pub actor: Actor,
    pub channel: Channel,
    /// RFC 3339; any offset, at most millisecond precision.
    pub occurred_at: String,
    #[serde(default)]
    pub content: Option<ContentInput>,
}

/// Content is either sent as text (Proofdesk salts and commits it, and keeps
/// the text off the log) or as a commitment the platform computed itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ContentInput {
    Text(String),
    Commitment(Hash32),
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Field(#[from] FieldError),
    #[error("{0}")]
    Data(#[from] DataError),
    #[error("content text is {0} characters; the limit is {MAX_CONTENT_CHARS}")]
    ContentTooLarge(usize),
}

impl EventInput {
    pub fn into_request(self, ticket: TicketHandle) -> Result<AppendRequest, IngestError> {
        let data = EventData::parse(self.event_type, &self.data)?;
        let occurred_at = Timestamp::parse_input("occurred_at", &self.occurred_at)?;
        let (commitment, content) = match self.content {
            None => (None, None),
            Some(ContentInput::Commitment(c)) => (Some(c), None),
            Some(ContentInput::Text(text)) => {
                let n = text.chars().count();
                if n > MAX_CONTENT_CHARS {
                    return Err(IngestError::ContentTooLarge(n));
                }
                let mut salt = [0u8; 32];
                rand::rng().fill_bytes(&mut salt);
                (Some(content_commitment(&salt, &text)), Some((salt, text)))
            }
        };
        Ok(AppendRequest {
            ticket,
            draft: Draft {
                data,
                actor: self.actor,
                channel: self.channel,
                occurred_at,
                content: commitment,
            },
            content,
        })
    }
}

/// A fresh, unguessable ticket handle.
pub fn new_handle() -> TicketHandle {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    TicketHandle::from_random(bytes)
}

/// Idempotency for a request: the key plus a hash of what it asks for, so
/// the same key with another body is detected.
pub fn idempotency(key: Option<&str>, scope: &str, body: &Value) -> Option<Idempotency> {
    let key = key?;
    let mut material = scope.as_bytes().to_vec();
    material.push(0);
    // Canonical bytes when the body has them; its plain serialisation
    // otherwise (floats cannot reach the store anyway).
    material.extend(canonicalize(body).unwrap_or_else(|_| body.to_string().into_bytes()));
    Some(Idempotency {
        key: key.to_owned(),
        request_hash: sha256(&material),
    })
}
