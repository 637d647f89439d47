//! Ingest: what a platform sends, validated and turned into append requests.
//! Content text is committed here with a fresh salt; only the commitment
//! enters the record.

pub mod privacy;
pub mod receipts;
pub mod signing;

use rand::RngCore;
use serde_json::Value;

pub use crate::protocol::input::{ContentInput, EventInput, MAX_CONTENT_CHARS};

use crate::log::{AppendRequest, Idempotency};
use crate::protocol::append::Draft;
use crate::protocol::canonical::canonicalize;
use crate::protocol::event::{DataError, EventData};
use crate::protocol::fields::{FieldError, TicketHandle, Timestamp};
use crate::protocol::hashing::{content_commitment, sha256};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Field(#[from] FieldError),
    #[error("{0}")]
    Data(#[from] DataError),
    #[error("content text is {0} characters; the limit is {MAX_CONTENT_CHARS}")]
    ContentTooLarge(usize),
}

/// What ingest makes of an event a platform sent (`EventInput`, a type of
/// the protocol crate, shared with the typed client).
pub trait IntoRequest {
    /// Validated, its content committed with a fresh salt, and refused if
    /// it would put personal data in a public record.
    fn into_request(self, ticket: TicketHandle) -> Result<AppendRequest, IngestError>;
}

impl IntoRequest for EventInput {
    fn into_request(self, ticket: TicketHandle) -> Result<AppendRequest, IngestError> {
        // A CSAT rating is written as v1 writes it; an NPS answer is the
        // one v2 record (PROTOCOL §4.1).
        let data = EventData::parse(self.event_type, &self.data)?.normalized();
        let occurred_at = Timestamp::parse_input("occurred_at", &self.occurred_at)?;
        // The API documents one shape (crate::protocol::schema::
        // INPUT_TS_PATTERN), so exactly that shape is accepted: `T`, 0-3
        // fraction digits, `Z` or ±hh:mm, and years 1971-9998 as written
        // (whatever the offset, the instant is then within the years
        // 1970-9999 a record can hold).
        if !input_shape(&self.occurred_at) {
            return Err(FieldError::new(
                "occurred_at",
                "expected YYYY-MM-DDThh:mm:ss[.sss](Z|±hh:mm), years 1971 to 9998",
                &self.occurred_at,
            )
            .into());
        }
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
        let draft = Draft {
            data,
            actor: self.actor,
            channel: self.channel,
            occurred_at,
            content: commitment,
        };
        // Records are public and permanent: no personal data in them.
        privacy::check_draft(&draft)?;
        Ok(AppendRequest {
            ticket,
            draft,
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

/// Whether `s` has the shape of `INPUT_TS_PATTERN` (the calendar and clock
/// ranges are chrono's to check).
fn input_shape(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let head = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && ("1971".."9999").contains(&&s[..4]);
    if !head {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=3).contains(&n) {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::input_shape;

    #[test]
    fn occurred_at_has_exactly_the_documented_shape() {
        for ok in [
            "2026-11-24T09:30:00Z",
            "2026-11-24t09:30:00.1z",
            "1971-01-01T00:00:00.000+23:59",
            "9998-12-31T23:59:59.999-05:00",
        ] {
            assert!(input_shape(ok), "{ok}");
        }
        for bad in [
            "1970-06-01T00:00:00Z",
            "9999-01-01T00:00:00Z",
            "2026-11-24 09:30:00Z",
            "2026-11-24T09:30:00.1230Z",
            "2026-11-24T09:30:00.Z",
            "2026-11-24T09:30:00",
            "2026-11-24T09:30:00+0100",
            "2026-11-24T09:30Z",
            "",
        ] {
            assert!(!input_shape(bad), "{bad}");
        }
    }
}
