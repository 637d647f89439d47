//! The API's event input as JSON Schema, for the server's OpenAPI document
//! (feature `openapi`): a request body whose `data` member's shape depends
//! on its `type`, which a derive cannot say. The field schemas it refers to
//! are schema.rs's.

use utoipa::openapi::schema::{AdditionalProperties, Object, OneOf, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::Hash32;
use crate::event::{self, EventType};
use crate::input::{ContentInput, EventInput, MAX_CONTENT_CHARS};
use crate::schema::input_timestamp;

pub(crate) fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// The schema of `data` for one event type: the same struct
/// `EventData::parse` deserialises (the match is exhaustive, so a new event
/// type cannot be left out).
fn data_schema(t: EventType) -> RefOr<Schema> {
    match t {
        EventType::TicketCreated => reference::<event::Created>(),
        EventType::TicketAcknowledged | EventType::TicketClosed => reference::<event::Empty>(),
        EventType::MessageAdded => reference::<event::Message>(),
        EventType::TicketAssigned => reference::<event::Assigned>(),
        EventType::PriorityChanged => reference::<event::PriorityChange>(),
        EventType::StatusChanged => reference::<event::StatusChange>(),
        EventType::TicketEscalated => reference::<event::Escalated>(),
        EventType::TicketResolved => reference::<event::Resolved>(),
        EventType::TicketReopened => reference::<event::Reopened>(),
        EventType::SatisfactionRated => reference::<event::Rated>(),
        EventType::FinalResponseIssued => reference::<event::FinalResponse>(),
    }
}

/// Every component the hand-built schemas below refer to, for the
/// document's `components` (tests/openapi_doc.rs checks every `$ref`
/// resolves).
pub fn event_components() -> Vec<(String, RefOr<Schema>)> {
    fn one<T: ToSchema>() -> (String, RefOr<Schema>) {
        (T::name().into_owned(), T::schema())
    }
    vec![
        one::<event::Created>(),
        one::<event::Empty>(),
        one::<event::Message>(),
        one::<event::Assigned>(),
        one::<event::PriorityChange>(),
        one::<event::StatusChange>(),
        one::<event::Escalated>(),
        one::<event::Resolved>(),
        one::<event::Reopened>(),
        one::<event::Rated>(),
        one::<event::FinalResponse>(),
        one::<event::Priority>(),
        one::<event::Status>(),
        one::<event::Direction>(),
        one::<event::Visibility>(),
        one::<event::Survey>(),
        one::<crate::record::Actor>(),
        one::<crate::record::Role>(),
        one::<crate::record::Channel>(),
        one::<crate::fields::Code>(),
        one::<crate::fields::PseudoRef>(),
        one::<ContentInput>(),
    ]
}

impl PartialSchema for ContentInput {
    fn schema() -> RefOr<Schema> {
        let text = Object::builder()
            .schema_type(Type::Object)
            .property(
                "text",
                Object::builder()
                    .schema_type(Type::String)
                    .max_length(Some(MAX_CONTENT_CHARS))
                    .description(Some(
                        "The content; Proofdesk salts and commits it and keeps the text off the log.",
                    )),
            )
            .required("text")
            .additional_properties(Some(AdditionalProperties::FreeForm(
                false,
            )));
        let commitment = Object::builder()
            .schema_type(Type::Object)
            .property("commitment", reference::<Hash32>())
            .required("commitment")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let mut one = OneOf::new();
        one.items = vec![text.into(), commitment.into()];
        one.description = Some(
            "Either the text (salted and committed by Proofdesk) or a commitment the platform computed (PROTOCOL §5)".into(),
        );
        RefOr::T(Schema::OneOf(one))
    }
}
impl ToSchema for ContentInput {}

/// A rating's data (PROTOCOL §4.1): CSAT on a scale of 1 to 100 (`survey`
/// absent or `csat`), or NPS on the 0-10 scale (`survey` `nps`, `scale` 10).
/// Exactly one matches any rating. That `score` is at most `scale` is a
/// rule between two members, which JSON Schema cannot state.
impl PartialSchema for event::Rated {
    fn schema() -> RefOr<Schema> {
        let int = |min: u8, max: u8| {
            Object::builder()
                .schema_type(Type::Integer)
                .minimum(Some(min))
                .maximum(Some(max))
        };
        let survey = |name: &str| {
            Object::builder()
                .schema_type(Type::String)
                .enum_values(Some([name]))
        };
        let csat = Object::builder()
            .schema_type(Type::Object)
            .title(Some("CSAT"))
            .property("score", int(0, 100).description(Some("0 to `scale`")))
            .required("score")
            .property("scale", int(1, 100))
            .required("scale")
            .property("survey", {
                // Absent, null or "csat": all read as CSAT.
                let mut csat_or_null = OneOf::new();
                csat_or_null.items = vec![
                    survey("csat").into(),
                    Object::builder().schema_type(Type::Null).into(),
                ];
                Schema::OneOf(csat_or_null)
            })
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let nps = Object::builder()
            .schema_type(Type::Object)
            .title(Some("NPS"))
            .property("score", int(0, 10))
            .required("score")
            .property("scale", int(10, 10))
            .required("scale")
            .property("survey", survey("nps"))
            .required("survey")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let mut one = OneOf::new();
        one.items = vec![csat.into(), nps.into()];
        one.description = Some(
            "A satisfaction rating: CSAT unless `survey` is `nps` (0-10, \"would you recommend us\"; PROTOCOL §4.1)".into(),
        );
        RefOr::T(Schema::OneOf(one))
    }
}
impl ToSchema for event::Rated {}

impl PartialSchema for EventInput {
    fn schema() -> RefOr<Schema> {
        let mut one = OneOf::new();
        for t in EventType::ALL {
            let mut content = OneOf::new();
            content.items = vec![
                reference::<ContentInput>(),
                Object::builder().schema_type(Type::Null).into(),
            ];
            let variant = Object::builder()
                .schema_type(Type::Object)
                .title(Some(t.as_str()))
                .property(
                    "type",
                    Object::builder()
                        .schema_type(Type::String)
                        .enum_values(Some([t.as_str()])),
                )
                .required("type")
                .property("data", data_schema(t))
                .required("data")
                .property("actor", reference::<crate::record::Actor>())
                .required("actor")
                .property("channel", reference::<crate::record::Channel>())
                .required("channel")
                .property("occurred_at", input_timestamp())
                .required("occurred_at")
                .property("content", Schema::OneOf(content))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            one.items.push(variant.into());
        }
        one.description = Some(
            "One ticket event; `data` has the members of its `type` (PROTOCOL §4). \
             The ticket state machine decides whether the event may follow the ticket's \
             last one (409 if not)."
                .into(),
        );
        RefOr::T(Schema::OneOf(one))
    }
}
impl ToSchema for EventInput {}
