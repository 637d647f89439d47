//! What a platform sends for one event (`POST /v1/tickets/{h}/events`):
//! the typed input the server validates into a record draft and the typed
//! client (`proofdesk-client`) builds. The server's ingest turns it into a
//! draft; the shape is here so both speak one type.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Hash32;
use crate::event::EventType;
use crate::record::{Actor, Channel};

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
    /// Read as a request body is (whole numbers as integers, a repeated
    /// member refused), whether the body is read in one pass or as a tree.
    #[serde(deserialize_with = "crate::canonical::input_value")]
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
