//! Small validated field types shared by records and event data. Each parses
//! strictly, so a record has exactly one valid spelling of every field.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A ticket's public handle: `tk_` + 32 lowercase hex digits (128 random
/// bits). It is what a complainant holds; it says nothing about the
/// platform's own ticket id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketHandle(String);

pub const HANDLE_PREFIX: &str = "tk_";

impl TicketHandle {
    pub fn from_random(bytes: [u8; 16]) -> TicketHandle {
        TicketHandle(format!("{HANDLE_PREFIX}{}", hex::encode(bytes)))
    }

    pub fn parse(s: &str) -> Result<TicketHandle, FieldError> {
        let ok = s.strip_prefix(HANDLE_PREFIX).is_some_and(|h| {
            h.len() == 32
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok {
            Ok(TicketHandle(s.to_owned()))
        } else {
            Err(FieldError::new(
                "ticket",
                "a handle is tk_ followed by 32 lowercase hex digits",
                s,
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for TicketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule} (got {got:?})")]
pub struct FieldError {
    pub field: std::borrow::Cow<'static, str>,
    pub rule: &'static str,
    pub got: String,
}

impl FieldError {
    pub fn new(field: &'static str, rule: &'static str, got: &str) -> FieldError {
        FieldError::at(field, rule, got)
    }

    /// At a path built at run time (`data.labels.region`).
    pub fn at(
        field: impl Into<std::borrow::Cow<'static, str>>,
        rule: &'static str,
        got: &str,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            rule,
            got: got.chars().take(80).collect(),
        }
    }
}

/// A pseudonymous reference chosen by the platform (an agent id, a customer
/// number, a team name): 1–128 printable ASCII characters without spaces or
/// `@`. The rule keeps e-mail addresses and full names out of public records;
/// it cannot catch every personal identifier, so platforms must pass opaque ids.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PseudoRef(String);

impl PseudoRef {
    pub fn parse(field: &'static str, s: &str) -> Result<PseudoRef, FieldError> {
        let ok =
            (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic() && b != b'@');
        if ok {
            Ok(PseudoRef(s.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "a pseudonymous id is 1-128 printable ASCII characters with no spaces and no @ (never an e-mail address or a name)",
                s,
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A machine code such as a category or a resolution: 1–64 characters of
/// `a-z 0-9 _ . : -`, starting with a letter or digit.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Code(String);

impl Code {
    pub fn parse(field: &'static str, s: &str) -> Result<Code, FieldError> {
        let b = s.as_bytes();
        let ok = (1..=64).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.:-".contains(&c));
        if ok {
            Ok(Code(s.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "a code is 1-64 characters of a-z 0-9 _ . : - starting with a letter or digit",
                s,
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_serde {
    ($ty:ident, $parse:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
string_newtype_serde!(TicketHandle, TicketHandle::parse);
string_newtype_serde!(PseudoRef, |s: &str| PseudoRef::parse("ref", s));
string_newtype_serde!(Code, |s: &str| Code::parse("code", s));

/// An instant as protocol v1 writes it: RFC 3339, UTC, exactly millisecond
/// precision, `Z` suffix, years 1970–9999 (`2025-03-01T09:30:00.000Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

const CANONICAL_TS: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

impl Timestamp {
    /// Truncates to the millisecond: the server's own clock has no business
    /// promising more precision than the record carries.
    pub fn from_datetime(t: DateTime<Utc>) -> Timestamp {
        let ms = t.timestamp_millis();
        Timestamp(DateTime::from_timestamp_millis(ms).unwrap_or(t))
    }

    pub fn now() -> Timestamp {
        Timestamp::from_datetime(Utc::now())
    }

    pub fn from_millis(ms: i64) -> Option<Timestamp> {
        DateTime::from_timestamp_millis(ms).map(Timestamp)
    }

    /// Parses the one canonical spelling, as found in records.
    pub fn parse_canonical(s: &str) -> Result<Timestamp, FieldError> {
        let err = || {
            FieldError::new(
                "timestamp",
                "expected RFC 3339 UTC with milliseconds, like 2025-03-01T09:30:00.000Z",
                s,
            )
        };
        if s.len() != 24 {
            return Err(err());
        }
        let t = NaiveDateTime::parse_from_str(s, CANONICAL_TS)
            .map_err(|_| err())?
            .and_utc();
        let ts = Timestamp(t);
        // chrono encodes a leap second as nanos ≥ 10^9; JavaScript's Date
        // cannot represent one, so records never contain it.
        if ts.to_string() != s || t.timestamp() < 0 || t.timestamp_subsec_nanos() >= 1_000_000_000 {
            return Err(err());
        }
        Ok(ts)
    }

    /// Parses any RFC 3339 instant a platform sends and normalises it to UTC.
    /// Precision finer than a millisecond is refused rather than silently
    /// dropped, since the record would no longer say what was sent.
    pub fn parse_input(field: &'static str, s: &str) -> Result<Timestamp, FieldError> {
        let t = DateTime::parse_from_rfc3339(s)
            .map_err(|_| {
                FieldError::new(
                    field,
                    "expected an RFC 3339 date-time such as 2025-03-01T09:30:00.000Z",
                    s,
                )
            })?
            .with_timezone(&Utc);
        // Check the digits themselves: chrono ignores fraction digits past
        // the ninth, so a tiny nonzero tail would slip through the nanos.
        let fraction = s
            .split_once('.')
            .map(|(_, f)| f.trim_end_matches(|c: char| !c.is_ascii_digit()));
        let fraction =
            fraction.map(|f| f.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""));
        if fraction.is_some_and(|f| f.len() > 3 && f[3..].bytes().any(|b| b != b'0')) {
            return Err(FieldError::new(field, "at most millisecond precision", s));
        }
        if t.timestamp_subsec_nanos() >= 1_000_000_000 {
            return Err(FieldError::new(
                field,
                "leap seconds are not representable; use :59.999",
                s,
            ));
        }
        if t.timestamp() < 0 || t.format("%Y").to_string().len() != 4 {
            return Err(FieldError::new(field, "years 1970 to 9999 only", s));
        }
        Ok(Timestamp(t))
    }

    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn unix_seconds(&self) -> i64 {
        self.0.timestamp()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_canonical(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_one_spelling() {
        let t = Timestamp::parse_canonical("2025-03-01T09:30:00.120Z").unwrap();
        assert_eq!(t.to_string(), "2025-03-01T09:30:00.120Z");
        for bad in [
            "2025-03-01T09:30:00Z",
            "2025-03-01T09:30:00.12Z",
            "2025-03-01T10:30:00.120+01:00",
            "2025-03-01 09:30:00.120Z",
        ] {
            assert!(Timestamp::parse_canonical(bad).is_err(), "{bad}");
        }
        let input = Timestamp::parse_input("occurred_at", "2025-03-01T10:30:00.12+01:00").unwrap();
        assert_eq!(input, t);
        assert!(Timestamp::parse_input("occurred_at", "2025-03-01T10:30:00.1234+01:00").is_err());
        assert!(Timestamp::parse_input("occurred_at", "2025-03-01T10:30:00.0000000001Z").is_err());
        assert!(Timestamp::parse_input("occurred_at", "2025-03-01T10:30:00.120000Z").is_ok());
        assert!(Timestamp::parse_input("occurred_at", "2016-12-31T23:59:60.000Z").is_err());
        assert!(Timestamp::parse_canonical("2016-12-31T23:59:60.000Z").is_err());
        assert!(Timestamp::parse_input("occurred_at", "1969-12-31T23:59:59Z").is_err());
    }

    #[test]
    fn refs_refuse_emails_and_names() {
        assert!(PseudoRef::parse("ref", "agent-17").is_ok());
        assert!(PseudoRef::parse("ref", "jane@example.com").is_err());
        assert!(PseudoRef::parse("ref", "Jane Doe").is_err());
        assert!(PseudoRef::parse("ref", "").is_err());
        assert!(Code::parse("c", "partially_upheld").is_ok());
        assert!(Code::parse("c", "Upheld").is_err());
        assert!(TicketHandle::parse(&format!("tk_{}", "a".repeat(32))).is_ok());
        assert!(TicketHandle::parse(&format!("tk_{}", "A".repeat(32))).is_err());
    }
}
