//! Content disclosures: the platform hands a complainant the salt and text
//! behind a record's `content` commitment (§6.2), and anyone can check that
//! the text is exactly what was recorded, without the log's help.

use serde::{Deserialize, Serialize};

use super::Hash32;
use super::fields::TicketHandle;
use super::hashing::content_commitment;
use super::record::EventRecord;

/// `{"ticket", "index", "seq", "salt", "content"}`, as the content endpoint
/// returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    pub ticket: TicketHandle,
    pub index: u64,
    pub seq: u64,
    pub salt: Hash32,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    #[error("the disclosure is for ticket {got}, not {want}")]
    OtherTicket { got: String, want: String },
    #[error("the disclosure names index {got}, but seq {seq} has index {want}")]
    OtherIndex { seq: u64, got: u64, want: u64 },
    #[error("the record at seq {seq} has no content commitment")]
    NoContent { seq: u64 },
    #[error(
        "the text does not match the commitment recorded at seq {seq}: it is not what was recorded"
    )]
    Mismatch { seq: u64 },
}

impl Disclosure {
    /// Checks the disclosure against the record it names (same ticket, seq
    /// and index) by recomputing `H(salt ‖ content)`.
    pub fn check(&self, record: &EventRecord) -> Result<(), DisclosureError> {
        if self.ticket != record.ticket {
            return Err(DisclosureError::OtherTicket {
                got: self.ticket.to_string(),
                want: record.ticket.to_string(),
            });
        }
        if self.index != record.index {
            return Err(DisclosureError::OtherIndex {
                seq: record.seq,
                got: self.index,
                want: record.index,
            });
        }
        let committed = record
            .content
            .ok_or(DisclosureError::NoContent { seq: record.seq })?;
        if content_commitment(&self.salt.0, &self.content) != committed {
            return Err(DisclosureError::Mismatch { seq: record.seq });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::HashedRecord;

    fn vector_record(i: usize) -> EventRecord {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/protocol-v1.json")).unwrap();
        HashedRecord::from_value(&v["records"][i]["record"])
            .unwrap()
            .record
    }

    fn disclosure(record: &EventRecord, salt: u8, text: &str) -> Disclosure {
        Disclosure {
            ticket: record.ticket.clone(),
            index: record.index,
            seq: record.seq,
            salt: Hash32([salt; 32]),
            content: text.into(),
        }
    }

    #[test]
    fn the_recorded_text_checks_and_any_other_does_not() {
        // Vector record 0 commits to this text with salt 0x00…00 (§14).
        let r = vector_record(0);
        let text = "My withdrawal of 2 BTC has been pending for 9 days.";
        assert_eq!(disclosure(&r, 0, text).check(&r), Ok(()));
        let altered = disclosure(&r, 0, "My withdrawal of 3 BTC has been pending for 9 days.");
        assert!(matches!(
            altered.check(&r),
            Err(DisclosureError::Mismatch { .. })
        ));
        assert!(disclosure(&r, 1, text).check(&r).is_err(), "wrong salt");
        let mut moved = disclosure(&r, 0, text);
        moved.index += 1;
        assert!(matches!(
            moved.check(&r),
            Err(DisclosureError::OtherIndex { .. })
        ));
        let no_content = vector_record(1);
        assert!(matches!(
            disclosure(&no_content, 0, text).check(&no_content),
            Err(DisclosureError::NoContent { .. })
        ));
    }
}
