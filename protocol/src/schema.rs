//! JSON Schema of the protocol's validated string types, written next to the
//! parsers whose rules they describe (`fields.rs`, `hash32.rs`,
//! `event.rs`). The structs and enums derive theirs (`utoipa::ToSchema`);
//! these newtypes parse by hand, so their schema is stated here once and
//! `tests/fuzz_parsers.rs` and `tests/openapi_doc.rs` check that what the
//! pattern admits the parser accepts.
//!
//! Patterns are ECMA-262 and anchored, so a client-side validator and the
//! server agree on every value.

/// `0x` + 64 lowercase hex digits.
pub const HASH32_PATTERN: &str = "^0x[0-9a-f]{64}$";
/// `tk_` + 32 lowercase hex digits.
pub const HANDLE_PATTERN: &str = "^tk_[0-9a-f]{32}$";
/// 1–64 characters of `a-z 0-9 _ . : -`, starting with a letter or digit.
pub const CODE_PATTERN: &str = "^[a-z0-9][a-z0-9_.:-]{0,63}$";
/// 1–128 printable ASCII characters, no space, no `@` (PROTOCOL §2.5).
pub const REF_PATTERN: &str = "^[!-?A-~]{1,128}$";
/// The one canonical spelling of an instant inside a record.
pub const CANONICAL_TS_PATTERN: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$";
/// What a platform may send: RFC 3339 with at most millisecond precision,
/// years 1971–9998 as written, any offset (ingest checks the same).
/// Calendar validity is `format: date-time`; the 5-minute limit on future
/// instants is in the description.
pub const INPUT_TS_PATTERN: &str = r"^(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";

#[cfg(feature = "openapi")]
pub use openapi_impls::{input_timestamp, labels};

/// The schemas themselves, for the server's OpenAPI document (feature
/// `openapi`): a verifier built on this crate needs none of it.
#[cfg(feature = "openapi")]
mod openapi_impls {
    use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, Schema, Type};
    use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
    use utoipa::{PartialSchema, ToSchema};

    use super::*;
    use crate::Hash32;
    use crate::fields::{Code, PseudoRef, TicketHandle, Timestamp};

    fn string(pattern: &str, description: &str) -> ObjectBuilder {
        Object::builder()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .description(Some(description))
    }

    impl PartialSchema for Hash32 {
        fn schema() -> RefOr<Schema> {
            string(
                HASH32_PATTERN,
                "32 bytes: 0x followed by 64 lowercase hex digits",
            )
            .min_length(Some(66))
            .max_length(Some(66))
            .examples([Hash32::ZERO.to_hex()])
            .into()
        }
    }
    impl ToSchema for Hash32 {}

    impl PartialSchema for TicketHandle {
        fn schema() -> RefOr<Schema> {
            string(
                HANDLE_PATTERN,
                "A ticket's public handle: tk_ followed by 32 lowercase hex digits",
            )
            .min_length(Some(35))
            .max_length(Some(35))
            .examples(["tk_00000000000000000000000000000000"])
            .into()
        }
    }
    impl ToSchema for TicketHandle {}

    impl PartialSchema for Code {
        fn schema() -> RefOr<Schema> {
            string(
                CODE_PATTERN,
                "A machine code (category, resolution, …): 1-64 characters of a-z 0-9 _ . : - starting with a letter or digit. Refused at ingest (422) when it holds personal data: an e-mail address, a phone number, a national ID number, an IBAN or a payment card number (PROTOCOL.md §2.8).",
            )
            .min_length(Some(1))
            .max_length(Some(64))
            .examples(["withdrawal_delay"])
            .into()
        }
    }
    impl ToSchema for Code {}

    impl PartialSchema for PseudoRef {
        fn schema() -> RefOr<Schema> {
            string(
                REF_PATTERN,
                "A pseudonymous id: 1-128 printable ASCII characters with no space and no @ (never an e-mail address or a name). Refused at ingest (422) when it holds personal data: an e-mail address, a phone number, a national ID number, an IBAN or a payment card number (PROTOCOL.md §2.8).",
            )
            .min_length(Some(1))
            .max_length(Some(128))
            .examples(["agent-9"])
            .into()
        }
    }
    impl ToSchema for PseudoRef {}

    impl PartialSchema for Timestamp {
        fn schema() -> RefOr<Schema> {
            string(
                CANONICAL_TS_PATTERN,
                "RFC 3339 UTC with exactly millisecond precision, as written in records",
            )
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .examples(["2025-03-01T09:30:00.000Z"])
            .into()
        }
    }
    impl ToSchema for Timestamp {}

    /// `occurred_at` as a platform may send it.
    pub fn input_timestamp() -> Schema {
        string(
            INPUT_TS_PATTERN,
            "RFC 3339 date-time, any offset, at most millisecond precision, years 1971-9998; \
             at most 5 minutes ahead of the server's clock (else 422)",
        )
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .examples(["2026-11-24T09:30:00.000Z"])
        .build()
        .into()
    }

    /// `labels` of ticket.created: at most 16; names are codes; values are
    /// 1–200 characters (event.rs `check_labels`).
    pub fn labels() -> Object {
        Object::builder()
            .schema_type(Type::Object)
            .max_properties(Some(16))
            .property_names(Some(
                Object::builder()
                    .schema_type(Type::String)
                    .pattern(Some(CODE_PATTERN))
                    .build(),
            ))
            .additional_properties(Some(AdditionalProperties::from(
                Object::builder()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(200)),
            )))
            .description(Some(
                "Public labels: at most 16, names are codes, values 1-200 characters. Never personal data: names and values are refused at ingest (422) when it holds personal data: an e-mail address, a phone number, a national ID number, an IBAN or a payment card number (PROTOCOL.md §2.8).",
            ))
            .build()
    }
}
