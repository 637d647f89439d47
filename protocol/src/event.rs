//! The twelve event types of protocol v1 and the public fields (`data`) each
//! carries. Data objects are closed: an unknown or missing member is an
//! error, optional members are written as `null`, never left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::json_kind;
use super::fields::{Code, PseudoRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.acknowledged")]
    TicketAcknowledged,
    #[serde(rename = "message.added")]
    MessageAdded,
    #[serde(rename = "ticket.assigned")]
    TicketAssigned,
    #[serde(rename = "priority.changed")]
    PriorityChanged,
    #[serde(rename = "status.changed")]
    StatusChanged,
    #[serde(rename = "ticket.escalated")]
    TicketEscalated,
    #[serde(rename = "ticket.resolved")]
    TicketResolved,
    #[serde(rename = "ticket.reopened")]
    TicketReopened,
    #[serde(rename = "ticket.closed")]
    TicketClosed,
    #[serde(rename = "satisfaction.rated")]
    SatisfactionRated,
    #[serde(rename = "final_response.issued")]
    FinalResponseIssued,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::TicketCreated,
        EventType::TicketAcknowledged,
        EventType::MessageAdded,
        EventType::TicketAssigned,
        EventType::PriorityChanged,
        EventType::StatusChanged,
        EventType::TicketEscalated,
        EventType::TicketResolved,
        EventType::TicketReopened,
        EventType::TicketClosed,
        EventType::SatisfactionRated,
        EventType::FinalResponseIssued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TicketCreated => "ticket.created",
            EventType::TicketAcknowledged => "ticket.acknowledged",
            EventType::MessageAdded => "message.added",
            EventType::TicketAssigned => "ticket.assigned",
            EventType::PriorityChanged => "priority.changed",
            EventType::StatusChanged => "status.changed",
            EventType::TicketEscalated => "ticket.escalated",
            EventType::TicketResolved => "ticket.resolved",
            EventType::TicketReopened => "ticket.reopened",
            EventType::TicketClosed => "ticket.closed",
            EventType::SatisfactionRated => "satisfaction.rated",
            EventType::FinalResponseIssued => "final_response.issued",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

/// Ticket status, the states of the ticket state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Open,
    Pending,
    OnHold,
    Solved,
    Closed,
}

/// A word enum: its names, Display as the API writes them, and a
/// Deserialize that takes exactly those strings and says which it takes
/// (serde's derive reads a map too, and answers a number with "expected
/// string or map").
macro_rules! words {
    ($ty:ident, $what:literal, $list:literal, [$(($name:literal, $variant:ident)),+ $(,)?]) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            pub fn parse(s: &str) -> Option<$ty> {
                match s {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                struct Words;
                impl serde::de::Visitor<'_> for Words {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!($what, " (", $list, ")"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        $ty::parse(v).ok_or_else(|| {
                            E::custom(format_args!(
                                concat!("unknown ", $what, " {:?}: use ", $list),
                                v
                            ))
                        })
                    }
                }
                d.deserialize_str(Words)
            }
        }
    };
}

words!(
    Priority,
    "priority",
    "low, normal, high or urgent",
    [
        ("low", Low),
        ("normal", Normal),
        ("high", High),
        ("urgent", Urgent),
    ]
);

words!(
    Status,
    "status",
    "new, open, pending, on_hold, solved or closed",
    [
        ("new", New),
        ("open", Open),
        ("pending", Pending),
        ("on_hold", OnHold),
        ("solved", Solved),
        ("closed", Closed),
    ]
);

/// A member's errors name the member (`to: unknown priority "Urgent" …`):
/// serde_json::Value's deserializer knows no path.
fn member<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    name: &str,
) -> Result<T, D::Error> {
    T::deserialize(d).map_err(|e| serde::de::Error::custom(format_args!("{name}: {e}")))
}

fn from_member<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    member(d, "from")
}

fn to_member<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    member(d, "to")
}

fn priority_member<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Priority, D::Error> {
    member(d, "priority")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Created {
    pub category: Code,
    #[serde(deserialize_with = "priority_member")]
    pub priority: Priority,
    /// A formal complaint (MiCA RTS 2025/294, FCA DISP) rather than a plain
    /// support request: complaint deadlines apply from this event.
    pub complaint: bool,
    /// Platform-defined public labels (product, region, language, …): at
    /// most 16, names are codes, values 1–200 characters of any text. They
    /// are public: personal data in them (an e-mail address, a phone
    /// number, a national ID, an IBAN, a card number) is refused at ingest
    /// (the server's ingest privacy rule, PROTOCOL.md §2.8).
    #[cfg_attr(feature = "openapi", schema(schema_with = super::schema::labels))]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub direction: Direction,
    pub visibility: Visibility,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Assigned {
    pub assignee: PseudoRef,
    #[serde(deserialize_with = "Option::deserialize")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub group: Option<Code>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PriorityChange {
    #[serde(deserialize_with = "from_member")]
    pub from: Priority,
    #[serde(deserialize_with = "to_member")]
    pub to: Priority,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    #[serde(deserialize_with = "from_member")]
    pub from: Status,
    #[serde(deserialize_with = "to_member")]
    pub to: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Escalated {
    /// 1 = first escalation tier; each escalation must be strictly higher.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 255))]
    pub level: u8,
    pub reason: Code,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Resolved {
    pub resolution: Code,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Reopened {
    #[serde(deserialize_with = "Option::deserialize")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub reason: Option<Code>,
}

/// Which survey a rating answers (protocol v2, PROTOCOL §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Survey {
    /// Customer satisfaction with this ticket's handling: every v1 rating.
    Csat,
    /// Net Promoter Score: "would you recommend us", 0 to 10.
    Nps,
}

/// Its JSON Schema is written by hand (openapi.rs): an NPS answer's scale
/// is 10, which a derive cannot say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rated {
    /// 0 to `scale`.
    pub score: u8,
    pub scale: u8,
    /// The survey answered: absent (a v1 record) is CSAT. In a record,
    /// present only in v2, and `nps` only on the 0-10 scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<Survey>,
}

impl Rated {
    /// The survey answered (a rating without one is CSAT).
    pub fn survey(&self) -> Survey {
        self.survey.unwrap_or(Survey::Csat)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FinalResponse {
    /// upheld, partially_upheld, rejected, … (a code, platform-defined).
    pub outcome: Code,
    /// Whether the response told the complainant of their right to refer the
    /// complaint to an ombudsman or authority (FCA DISP 1.6.2R).
    pub referral_rights: bool,
}

/// An event's typed data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventData {
    Created(Created),
    Acknowledged(Empty),
    Message(Message),
    Assigned(Assigned),
    PriorityChanged(PriorityChange),
    StatusChanged(StatusChange),
    Escalated(Escalated),
    Resolved(Resolved),
    Reopened(Reopened),
    Closed(Empty),
    Rated(Rated),
    FinalResponse(FinalResponse),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("data of {event_type}: {reason}")]
pub struct DataError {
    pub event_type: EventType,
    pub reason: String,
}

impl EventData {
    /// Parses and validates `data` for the given type.
    pub fn parse(event_type: EventType, data: &Value) -> Result<EventData, DataError> {
        fn typed<T: serde::de::DeserializeOwned>(t: EventType, v: &Value) -> Result<T, DataError> {
            T::deserialize(v).map_err(|e| DataError {
                event_type: t,
                reason: e.to_string(),
            })
        }
        let t = event_type;
        // serde would also read a struct from a JSON array of its members
        // in order; §3/§4 say `data` is an object, so nothing else is read.
        if !data.is_object() {
            return Err(DataError {
                event_type: t,
                reason: format!("must be a JSON object, not {}", json_kind(data)),
            });
        }
        let parsed = match t {
            EventType::TicketCreated => EventData::Created(typed(t, data)?),
            EventType::TicketAcknowledged => EventData::Acknowledged(typed(t, data)?),
            EventType::MessageAdded => EventData::Message(typed(t, data)?),
            EventType::TicketAssigned => EventData::Assigned(typed(t, data)?),
            EventType::PriorityChanged => EventData::PriorityChanged(typed(t, data)?),
            EventType::StatusChanged => EventData::StatusChanged(typed(t, data)?),
            EventType::TicketEscalated => EventData::Escalated(typed(t, data)?),
            EventType::TicketResolved => EventData::Resolved(typed(t, data)?),
            EventType::TicketReopened => EventData::Reopened(typed(t, data)?),
            EventType::TicketClosed => EventData::Closed(typed(t, data)?),
            EventType::SatisfactionRated => EventData::Rated(typed(t, data)?),
            EventType::FinalResponseIssued => EventData::FinalResponse(typed(t, data)?),
        };
        parsed.check().map_err(|reason| DataError {
            event_type: t,
            reason,
        })?;
        Ok(parsed)
    }

    /// Parses `data` as a record of protocol version `v` carries it
    /// (PROTOCOL §4.1): a v1 rating names no survey, a v2 rating names its
    /// survey; every other type is the same in both.
    pub fn parse_for_version(
        v: u64,
        event_type: EventType,
        data: &Value,
    ) -> Result<EventData, DataError> {
        let parsed = EventData::parse(event_type, data)?;
        if let EventData::Rated(r) = &parsed {
            let fail = |reason: &str| DataError {
                event_type,
                reason: reason.to_owned(),
            };
            match (v, r.survey) {
                (1, Some(_)) => {
                    return Err(fail(
                        "survey is a protocol v2 member: a v1 record cannot carry it",
                    ));
                }
                (2, None) => {
                    return Err(fail(
                        "a v2 satisfaction.rated names its survey (csat or nps)",
                    ));
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// The lowest record version that can carry this data: 2 for an NPS
    /// answer, 1 for everything else, so a verifier of v1 keeps verifying
    /// every ticket without one.
    pub fn record_version(&self) -> u64 {
        match self {
            EventData::Rated(r) if r.survey == Some(Survey::Nps) => 2,
            _ => 1,
        }
    }

    /// The form a log writes: a CSAT rating as v1 writes it (no survey).
    pub fn normalized(mut self) -> EventData {
        if let EventData::Rated(r) = &mut self
            && r.survey == Some(Survey::Csat)
        {
            r.survey = None;
        }
        self
    }

    /// The rules serde cannot express (scales, levels, labels), for typed
    /// data that did not come through `parse`.
    pub fn validate(&self) -> Result<(), DataError> {
        self.check().map_err(|reason| DataError {
            event_type: self.event_type(),
            reason,
        })
    }

    fn check(&self) -> Result<(), String> {
        match self {
            EventData::Rated(r) if r.scale == 0 || r.scale > 100 => {
                Err(format!("scale must be 1 to 100, got {}", r.scale))
            }
            EventData::Rated(r) if r.score > r.scale => {
                Err(format!("score {} is above the scale {}", r.score, r.scale))
            }
            EventData::Rated(r) if r.survey == Some(Survey::Nps) && r.scale != 10 => Err(format!(
                "an NPS answer is on the 0-10 scale: scale must be 10, got {}",
                r.scale
            )),
            EventData::Created(c) => check_labels(&c.labels),
            EventData::Escalated(e) if e.level == 0 => Err("level starts at 1".into()),
            _ => Ok(()),
        }
    }

    pub fn event_type(&self) -> EventType {
        match self {
            EventData::Created(_) => EventType::TicketCreated,
            EventData::Acknowledged(_) => EventType::TicketAcknowledged,
            EventData::Message(_) => EventType::MessageAdded,
            EventData::Assigned(_) => EventType::TicketAssigned,
            EventData::PriorityChanged(_) => EventType::PriorityChanged,
            EventData::StatusChanged(_) => EventType::StatusChanged,
            EventData::Escalated(_) => EventType::TicketEscalated,
            EventData::Resolved(_) => EventType::TicketResolved,
            EventData::Reopened(_) => EventType::TicketReopened,
            EventData::Closed(_) => EventType::TicketClosed,
            EventData::Rated(_) => EventType::SatisfactionRated,
            EventData::FinalResponse(_) => EventType::FinalResponseIssued,
        }
    }

    pub fn to_value(&self) -> Value {
        let v = match self {
            EventData::Created(d) => serde_json::to_value(d),
            EventData::Acknowledged(d) | EventData::Closed(d) => serde_json::to_value(d),
            EventData::Message(d) => serde_json::to_value(d),
            EventData::Assigned(d) => serde_json::to_value(d),
            EventData::PriorityChanged(d) => serde_json::to_value(d),
            EventData::StatusChanged(d) => serde_json::to_value(d),
            EventData::Escalated(d) => serde_json::to_value(d),
            EventData::Resolved(d) => serde_json::to_value(d),
            EventData::Reopened(d) => serde_json::to_value(d),
            EventData::Rated(d) => serde_json::to_value(d),
            EventData::FinalResponse(d) => serde_json::to_value(d),
        };
        // Plain structs of strings, integers and booleans always serialise.
        v.unwrap_or(Value::Null)
    }
}

fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    if labels.len() > 16 {
        return Err(format!("at most 16 labels, got {}", labels.len()));
    }
    for (name, value) in labels {
        Code::parse("labels", name).map_err(|e| e.to_string())?;
        let n = value.chars().count();
        if !(1..=200).contains(&n) {
            return Err(format!(
                "label {name:?} must be 1 to 200 characters, got {n}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_is_closed_and_typed() {
        let ok = EventData::parse(
            EventType::MessageAdded,
            &json!({"direction": "inbound", "visibility": "public"}),
        );
        assert!(ok.is_ok());
        let extra = EventData::parse(
            EventType::MessageAdded,
            &json!({"direction": "inbound", "visibility": "public", "x": 1}),
        );
        assert!(extra.unwrap_err().reason.contains("unknown field"));
        let missing = EventData::parse(EventType::TicketAssigned, &json!({"assignee": "a1"}));
        assert!(missing.unwrap_err().reason.contains("group"));
        assert!(
            EventData::parse(
                EventType::SatisfactionRated,
                &json!({"score": 6, "scale": 5})
            )
            .is_err()
        );
        assert!(EventData::parse(EventType::TicketClosed, &json!({})).is_ok());
        assert!(EventData::parse(EventType::TicketClosed, &json!(null)).is_err());
    }

    #[test]
    fn data_given_as_an_array_is_refused() {
        // serde reads a struct from an array of its members: the audit found
        // `["withdrawal", "high", true, {}]` accepted as ticket.created data.
        let array = json!(["withdrawal", "high", true, {}]);
        let err = EventData::parse(EventType::TicketCreated, &array).unwrap_err();
        assert!(
            err.reason.contains("must be a JSON object, not an array"),
            "{err}"
        );
        let empty = EventData::parse(EventType::TicketAcknowledged, &json!([])).unwrap_err();
        assert!(empty.reason.contains("an array"));
        let msg = json!(["inbound", "public"]);
        assert!(EventData::parse(EventType::MessageAdded, &msg).is_err());
    }

    #[test]
    fn every_type_round_trips_its_name() {
        for t in EventType::ALL {
            let v = serde_json::to_value(t).unwrap();
            assert_eq!(v, json!(t.as_str()));
            assert_eq!(serde_json::from_value::<EventType>(v).unwrap(), t);
        }
    }
}
