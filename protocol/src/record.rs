//! The event record: what is hashed into the log for every ticket event.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Hash32;
use super::canonical::{
    CanonicalError, MAX_SAFE_INTEGER, canonicalize, write_canonical, write_string,
};
use super::event::{DataError, EventData, EventType};
use super::fields::{PseudoRef, TicketHandle, Timestamp};
use super::hashing::leaf_hash;

pub const RECORD_VERSION: u64 = 1;
/// Protocol v2 records: a v1 record, but a satisfaction.rated names its
/// survey (PROTOCOL §4.1). A log writes v2 only for NPS answers.
pub const RECORD_VERSION_2: u64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Agent,
    System,
    Bot,
    Integration,
}

impl Role {
    /// The name serde writes (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::System => "system",
            Role::Bot => "bot",
            Role::Integration => "integration",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl Channel {
    /// The name serde writes (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Web => "web",
            Channel::Chat => "chat",
            Channel::Phone => "phone",
            Channel::Sms => "sms",
            Channel::Social => "social",
            Channel::Api => "api",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub role: Role,
    #[serde(rename = "ref")]
    pub reference: PseudoRef,
}

/// One log entry, exactly the twelve members protocol v1 defines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[error("record does not have the record shape: {0}")]
    Shape(String),
    #[error("record version {0} is not supported (this verifier knows v1 and v2)")]
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

    /// The record's canonical form: the bytes `canonicalize(&self.to_value())`
    /// gives (a property test holds the two equal), written member by member
    /// in RFC 8785 order instead of through a JSON tree, because appends
    /// compute it for every event while holding the log's write lock.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        if [self.v, self.index, self.seq]
            .iter()
            .any(|&n| n > MAX_SAFE_INTEGER)
        {
            // The general path names the refused member.
            return canonicalize(&self.to_value());
        }
        let mut out = String::with_capacity(448);
        out.push_str(r#"{"actor":{"ref":"#);
        write_string(self.actor.reference.as_str(), &mut out);
        out.push_str(r#","role":"#);
        write_string(self.actor.role.as_str(), &mut out);
        out.push_str(r#"},"channel":"#);
        write_string(self.channel.as_str(), &mut out);
        out.push_str(r#","content":"#);
        match &self.content {
            None => out.push_str("null"),
            Some(h) => write_string(&h.to_string(), &mut out),
        }
        out.push_str(r#","data":"#);
        if write_canonical(&self.data, &mut out).is_err() {
            // Again for the error, with its path from the record's root.
            return canonicalize(&self.to_value());
        }
        let _ = write!(out, r#","index":{},"occurred_at":"#, self.index);
        write_string(&self.occurred_at.to_string(), &mut out);
        out.push_str(r#","prev":"#);
        write_string(&self.prev.to_string(), &mut out);
        out.push_str(r#","recorded_at":"#);
        write_string(&self.recorded_at.to_string(), &mut out);
        let _ = write!(out, r#","seq":{},"ticket":"#, self.seq);
        write_string(self.ticket.as_str(), &mut out);
        out.push_str(r#","type":"#);
        write_string(self.event_type.as_str(), &mut out);
        let _ = write!(out, r#","v":{}}}"#, self.v);
        Ok(out.into_bytes())
    }

    /// Checks the rules a record obeys on its own (no log context).
    pub fn validate(&self) -> Result<EventData, RecordError> {
        self.validate_position()?;
        Ok(EventData::parse_for_version(
            self.v,
            self.event_type,
            &self.data,
        )?)
    }

    /// The rules on version, seq and prev.
    fn validate_position(&self) -> Result<(), RecordError> {
        if self.v != RECORD_VERSION && self.v != RECORD_VERSION_2 {
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
        Ok(())
    }

    /// Hashes a record whose `data` member was written from `data`
    /// (`EventData::to_value`), as appends build them: the typed data is
    /// checked rather than parsed again from the tree.
    pub fn hashed_from(self, data: EventData) -> Result<HashedRecord, RecordError> {
        self.validate_position()?;
        if data.event_type() != self.event_type {
            return Err(RecordError::Shape(format!(
                "type {} with data of {}",
                self.event_type,
                data.event_type()
            )));
        }
        data.validate()?;
        if data.record_version() != self.v {
            return Err(RecordError::Shape(format!(
                "data of {} is written as a v{} record, not v{}",
                self.event_type,
                data.record_version(),
                self.v
            )));
        }
        debug_assert_eq!(
            EventData::parse_for_version(self.v, self.event_type, &self.data).as_ref(),
            Ok(&data),
            "the record's data member is not the typed data it was written from"
        );
        self.hashed_as(data)
    }

    fn hashed_as(self, data: EventData) -> Result<HashedRecord, RecordError> {
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
        let mut v3 = sample();
        v3["v"] = json!(3);
        assert!(matches!(
            HashedRecord::from_value(&v3),
            Err(RecordError::Version(3))
        ));
        let mut upper = sample();
        upper["prev"] = json!(format!("0x{}", "A".repeat(64)));
        assert!(HashedRecord::from_value(&upper).is_err());
    }

    fn rating(v: u64, data: Value) -> Value {
        let mut r = sample();
        r["v"] = json!(v);
        r["seq"] = json!(3);
        r["prev"] = json!(Hash32([5; 32]));
        r["type"] = json!("satisfaction.rated");
        r["data"] = data;
        r
    }

    #[test]
    fn ratings_name_their_survey_only_in_v2() {
        // v1: a rating is CSAT and names no survey.
        assert!(HashedRecord::from_value(&rating(1, json!({"score": 4, "scale": 5}))).is_ok());
        let v1_survey = rating(1, json!({"score": 4, "scale": 5, "survey": "csat"}));
        assert!(
            HashedRecord::from_value(&v1_survey)
                .unwrap_err()
                .to_string()
                .contains("protocol v2 member")
        );
        // v2: the survey is named; an NPS answer is on the 0-10 scale.
        let nps = HashedRecord::from_value(&rating(
            2,
            json!({"score": 9, "scale": 10, "survey": "nps"}),
        ))
        .unwrap();
        assert!(
            matches!(&nps.data, EventData::Rated(r) if r.survey == Some(super::super::event::Survey::Nps))
        );
        assert!(
            HashedRecord::from_value(&rating(
                2,
                json!({"score": 4, "scale": 5, "survey": "csat"})
            ))
            .is_ok()
        );
        for bad in [
            json!({"score": 4, "scale": 5}),
            json!({"score": 4, "scale": 5, "survey": "nps"}),
            json!({"score": 4, "scale": 10, "survey": "ces"}),
        ] {
            assert!(
                HashedRecord::from_value(&rating(2, bad.clone())).is_err(),
                "{bad}"
            );
        }
        // Every other type is the same in v2.
        let mut created = sample();
        created["v"] = json!(2);
        assert!(HashedRecord::from_value(&created).is_ok());
    }

    #[test]
    fn role_and_channel_names_are_the_serde_names() {
        use Channel::*;
        use Role::*;
        for role in [Customer, Agent, System, Bot, Integration] {
            assert_eq!(json!(role), json!(role.as_str()));
        }
        for channel in [Email, Web, Chat, Phone, Sms, Social, Api] {
            assert_eq!(json!(channel), json!(channel.as_str()));
        }
    }

    #[test]
    fn a_typed_record_with_data_of_another_type_is_refused() {
        let record = EventRecord::deserialize(&sample()).unwrap();
        let data = EventData::parse(EventType::TicketAcknowledged, &json!({})).unwrap();
        assert!(matches!(
            record.hashed_from(data),
            Err(RecordError::Shape(_))
        ));
    }

    #[test]
    fn an_unsafe_integer_in_a_record_names_its_member() {
        let mut record = EventRecord::deserialize(&sample()).unwrap();
        record.index = MAX_SAFE_INTEGER + 1;
        assert!(
            matches!(record.canonical_bytes(), Err(CanonicalError::IntegerOutOfRange(_, p)) if p == "$.index")
        );
        record.index = 7;
        record.data = json!({"labels": {"x": 0.5}});
        assert!(
            matches!(record.canonical_bytes(), Err(CanonicalError::NotAnInteger(_, p)) if p == "$.data.labels.x")
        );
    }

    mod direct_writer {
        use super::*;
        use proptest::prelude::*;

        fn data() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i32>().prop_map(Value::from),
                "[ -~\u{80}-\u{10ffff}]{0,6}".prop_map(Value::from),
            ];
            leaf.prop_recursive(2, 16, 4, |inner| {
                prop::collection::btree_map("([a-z_]|[\u{e000}-\u{10ffff}]){0,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect()))
            })
        }

        fn record() -> impl Strategy<Value = EventRecord> {
            let near_limit =
                prop_oneof![0..1_000u64, (MAX_SAFE_INTEGER - 2)..=(MAX_SAFE_INTEGER + 2)];
            (
                (
                    near_limit.clone(),
                    near_limit,
                    any::<[u8; 16]>(),
                    any::<[u8; 32]>(),
                ),
                (
                    0..EventType::ALL.len(),
                    0..5usize,
                    0..7usize,
                    "[!-?A-~]{1,12}",
                ),
                (
                    0..4_102_444_800_000i64,
                    0..1_000_000i64,
                    data(),
                    proptest::option::of(any::<[u8; 32]>()),
                ),
            )
                .prop_map(
                    |(
                        (index, seq, ticket, prev),
                        (t, role, channel, reference),
                        (at, lag, data, content),
                    )| {
                        use Channel::*;
                        use Role::*;
                        EventRecord {
                            v: if index % 7 == 3 {
                                MAX_SAFE_INTEGER + 1
                            } else {
                                RECORD_VERSION
                            },
                            index,
                            ticket: TicketHandle::from_random(ticket),
                            seq,
                            prev: Hash32(prev),
                            event_type: EventType::ALL[t],
                            actor: Actor {
                                role: [Customer, Agent, System, Bot, Integration][role],
                                reference: PseudoRef::parse("ref", &reference).unwrap(),
                            },
                            channel: [Email, Web, Chat, Phone, Sms, Social, Api][channel],
                            occurred_at: Timestamp::from_millis(at).unwrap(),
                            recorded_at: Timestamp::from_millis(at + lag).unwrap(),
                            data,
                            content: content.map(Hash32),
                        }
                    },
                )
        }

        proptest! {
            /// The member-by-member writer is an optimisation of the general
            /// canonicaliser, never a second definition: same bytes, same errors.
            #[test]
            fn canonical_bytes_are_the_canonical_form_of_the_record(r in record()) {
                prop_assert_eq!(r.canonical_bytes(), canonicalize(&r.to_value()));
            }
        }
    }
}
