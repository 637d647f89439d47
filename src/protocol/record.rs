//! The event record: what is hashed into the log for every ticket event.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Hash32;
use super::canonical::{CanonicalError, canonicalize};
use super::event::{DataError, EventData, EventType};
use super::fields::{PseudoRef, TicketHandle, Timestamp};
use super::hashing::leaf_hash;

pub const RECORD_VERSION: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Agent,
    System,
    Bot,
    Integration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Web,
    Chat,
    Phone,
    Sms,
    Social,
    Api,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub role: Role,
    #[serde(rename = "ref")]
    pub reference: PseudoRef,
}

/// One log entry, exactly the twelve members protocol v1 defines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    pub v: u64,
    pub index: u64,
    pub ticket: TicketHandle,
    pub seq: u64,
    pub prev: Hash32,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub actor: Actor,
    pub channel: Channel,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub data: Value,
    #[serde(deserialize_with = "Option::deserialize")]
    pub content: Option<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record is not canonicalisable: {0}")]
    Canonical(#[from] CanonicalError),
    #[error("record does not have the v1 shape: {0}")]
    Shape(String),
    #[error("record version {0} is not supported (this verifier knows v1)")]
    Version(u64),
    #[error("{0}")]
    Data(#[from] DataError),
    #[error("seq {seq} with prev {prev}: seq 0 has the zero prev and no other seq does")]
    PrevMismatch { seq: u64, prev: Hash32 },
    #[error("seq {seq} is above its global index {index}")]
    SeqAboveIndex { seq: u64, index: u64 },
}

/// A record with its canonical bytes and leaf hash, computed once.
#[derive(Debug, Clone)]
pub struct HashedRecord {
    pub record: EventRecord,
    pub data: EventData,
    pub canonical: Vec<u8>,
    pub leaf: Hash32,
}

impl EventRecord {
    pub fn to_value(&self) -> Value {
        // Every member is a string, integer, object or null: serialising
        // cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn canonical_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonicalize(&self.to_value())
    }

    /// Checks the rules a record obeys on its own (no log context).
    pub fn validate(&self) -> Result<EventData, RecordError> {
        if self.v != RECORD_VERSION {
            return Err(RecordError::Version(self.v));
        }
        if self.seq > self.index {
            return Err(RecordError::SeqAboveIndex {
                seq: self.seq,
                index: self.index,
            });
        }
        if (self.seq == 0) != (self.prev == Hash32::ZERO) {
            return Err(RecordError::PrevMismatch {
                seq: self.seq,
                prev: self.prev,
            });
        }
        Ok(EventData::parse(self.event_type, &self.data)?)
    }

    pub fn hashed(self) -> Result<HashedRecord, RecordError> {
        let data = self.validate()?;
        let canonical = self.canonical_bytes()?;
        let leaf = leaf_hash(&canonical);
        Ok(HashedRecord {
            record: self,
            data,
            canonical,
            leaf,
        })
    }
}

impl HashedRecord {
    /// Parses a record as found in a bundle or the store: the leaf is taken
    /// over the canonical form of the JSON as given, so any change to any
    /// member changes the leaf, and the typed view is checked against it.
    pub fn from_value(value: &Value) -> Result<HashedRecord, RecordError> {
        let canonical = canonicalize(value)?;
        let record: EventRecord =
            EventRecord::deserialize(value).map_err(|e| RecordError::Shape(e.to_string()))?;
        let data = record.validate()?;
        // Round-trip check: a typed record re-serialises to the same bytes,
        // so nothing in the JSON escaped the typed view.
        if record.canonical_bytes()? != canonical {
            return Err(RecordError::Shape(
                "record does not re-serialise to its own canonical form".into(),
            ));
        }
        let leaf = leaf_hash(&canonical);
        Ok(HashedRecord {
            record,
            data,
            canonical,
            leaf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "v": 1, "index": 7, "ticket": format!("tk_{}", "0".repeat(31) + "1"), "seq": 0,
            "prev": Hash32::ZERO, "type": "ticket.created",
            "actor": {"role": "customer", "ref": "cust-1"}, "channel": "web",
            "occurred_at": "2025-03-01T09:30:00.000Z", "recorded_at": "2025-03-01T09:30:00.250Z",
            "data": {"category": "withdrawal", "priority": "high", "complaint": true, "labels": {"region": "eu"}},
            "content": null
        })
    }

    #[test]
    fn a_valid_record_hashes_its_canonical_form() {
        let h = HashedRecord::from_value(&sample()).unwrap();
        assert_eq!(h.leaf, leaf_hash(&h.canonical));
        assert!(String::from_utf8(h.canonical).unwrap().starts_with(
            r#"{"actor":{"ref":"cust-1","role":"customer"},"channel":"web","content":null"#
        ));
    }

    #[test]
    fn shape_violations_are_rejected() {
        let mut extra = sample();
        extra["extra"] = json!(1);
        assert!(matches!(
            HashedRecord::from_value(&extra),
            Err(RecordError::Shape(_))
        ));
        let mut missing = sample();
        missing.as_object_mut().unwrap().remove("content");
        assert!(HashedRecord::from_value(&missing).is_err());
        let mut bad_prev = sample();
        bad_prev["prev"] = json!(Hash32([1; 32]));
        assert!(matches!(
            HashedRecord::from_value(&bad_prev),
            Err(RecordError::PrevMismatch { .. })
        ));
        let mut v2 = sample();
        v2["v"] = json!(2);
        assert!(matches!(
            HashedRecord::from_value(&v2),
            Err(RecordError::Version(2))
        ));
        let mut upper = sample();
        upper["prev"] = json!(format!("0x{}", "A".repeat(64)));
        assert!(HashedRecord::from_value(&upper).is_err());
    }
}
