//! Help-desk integrations: signed webhooks from Zendesk and Zammad turned
//! into Proofdesk events, with a ledger of every delivery.
//!
//! The flow of one delivery (see `deliver`): check the vendor's signature
//! over the raw body → deduplicate by the vendor's delivery id → parse the
//! vendor payload into a neutral `Snapshot` (`zendesk`, `zammad`) → plan the
//! events that move the log's ticket to the vendor's state without ever
//! asking the state machine for an impossible transition (`mapping`) →
//! append them under an idempotency key derived from the delivery → write
//! the delivery's outcome to the ledger.
//!
//! Personal data never reaches a record: vendor user ids become keyed-hash
//! pseudonyms (`pseudonym`), names and e-mail addresses are never read, and
//! comment text is committed like any content (salted hash in the record,
//! text off the log).

pub mod deliver;
pub mod mapping;
pub mod signature;
pub mod zammad;
pub mod zendesk;

use hmac::{KeyInit, Mac};
use rand::RngCore;

pub use crate::log::integration_records::{
    Delivery, Integration, MappingOptions, Outcome, STATE_WORDS, SignatureCheck, Unmapped,
    UnmappedReason, Vendor,
};
use crate::protocol::fields::{Code, FieldError, PseudoRef};

type HmacSha256 = hmac::Hmac<sha2_11::Sha256>;

impl MappingOptions {
    pub fn defaults_for(vendor: Vendor) -> MappingOptions {
        MappingOptions {
            ref_prefix: match vendor {
                Vendor::Zendesk => "zd_".into(),
                Vendor::Zammad => "zm_".into(),
            },
            ..MappingOptions::default()
        }
    }

    pub fn check(&self) -> Result<(), FieldError> {
        Code::parse("category", &self.category)?;
        Code::parse("resolution", &self.resolution)?;
        // They go into public records: the ingest rule on personal data.
        crate::ingest::privacy::check("category", &self.category)?;
        crate::ingest::privacy::check("resolution", &self.resolution)?;
        crate::ingest::privacy::check("ref_prefix", &self.ref_prefix)?;
        // The prefix plus 32 hex digits must still be a valid ref.
        if self.ref_prefix.len() > 32 {
            return Err(FieldError::new(
                "ref_prefix",
                "at most 32 characters",
                &self.ref_prefix,
            ));
        }
        PseudoRef::parse("ref_prefix", &format!("{}0", self.ref_prefix))?;
        if self.timestamp_window_secs == 0 || self.timestamp_window_secs > 3600 {
            return Err(FieldError::new(
                "timestamp_window_secs",
                "1 to 3600 seconds",
                &self.timestamp_window_secs.to_string(),
            ));
        }
        let id = |field: &'static str, k: &str| {
            if k.is_empty() || k.len() > 20 || !k.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FieldError::new(field, "keys are Zammad ids (digits)", k));
            }
            Ok(())
        };
        for (k, v) in &self.states {
            id("states", k)?;
            if !STATE_WORDS.contains(&v.as_str()) {
                return Err(FieldError::new(
                    "states",
                    "a state id maps to new, open, pending, on_hold, solved, closed, merged or ignore",
                    v,
                ));
            }
        }
        for (k, v) in &self.priorities {
            id("priorities", k)?;
            if crate::protocol::event::Priority::parse(v).is_none() {
                return Err(FieldError::new(
                    "priorities",
                    "a priority id maps to low, normal, high or urgent",
                    v,
                ));
            }
        }
        Ok(())
    }
}

/// A vendor's time, ISO 8601 / RFC 3339 with any precision (Zendesk event
/// times have nanoseconds, Zammad's milliseconds), or to the minute as
/// Zendesk's `…_with_timestamp` placeholders may render; truncated to the
/// millisecond records carry.
pub fn vendor_time(s: &str) -> Option<crate::protocol::fields::Timestamp> {
    let s = s.trim();
    let t = match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&chrono::Utc),
        Err(_) => chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ")
            .ok()?
            .and_utc(),
    };
    crate::protocol::fields::Timestamp::from_millis(t.timestamp_millis())
}

/// Exactly what the API document states (`^[!-~]{16,256}$`): no trimming,
/// so a secret is used as given or refused.
pub fn check_secret(field: &'static str, s: &str) -> Result<(), FieldError> {
    if s.len() < 16 || s.len() > 256 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(
            field,
            "a shared secret is 16 to 256 visible ASCII characters (no spaces)",
            "(hidden)",
        ));
    }
    Ok(())
}

impl Integration {
    /// Sets the second signing secret (see `second_secret`).
    pub fn set_second_secret(&mut self, secret: String) -> Result<(), FieldError> {
        check_secret("second_secret", &secret)?;
        self.second_secret = Some(secret);
        Ok(())
    }

    /// A new integration with a fresh pseudonymisation key, and a fresh
    /// secret unless the vendor's is given.
    pub fn new(
        name: &str,
        vendor: Vendor,
        secret: Option<String>,
        options: MappingOptions,
    ) -> Result<Integration, FieldError> {
        Code::parse("name", name)?;
        options.check()?;
        let secret = match secret {
            Some(s) => {
                check_secret("secret", &s)?;
                s
            }
            None => {
                let mut b = [0u8; 32];
                rand::rng().fill_bytes(&mut b);
                hex::encode(b)
            }
        };
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Ok(Integration {
            name: name.to_owned(),
            vendor,
            secret,
            second_secret: None,
            pseudonym_key: key,
            options,
            created_at: crate::protocol::fields::Timestamp::now().to_string(),
        })
    }

    /// The pseudonymous ref of a vendor user id: the prefix and the first
    /// 16 bytes of HMAC-SHA256(key, "user:" ‖ id), hex. Stable for one
    /// integration, unlinkable across integrations, and irreversible
    /// without the key.
    pub fn pseudonym(&self, vendor_user_id: &str) -> PseudoRef {
        let mut mac = HmacSha256::new_from_slice(&self.pseudonym_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"user:");
        mac.update(vendor_user_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let text = format!("{}{}", self.options.ref_prefix, hex::encode(&digest[..16]));
        // The prefix was checked at creation; the hex part is always valid.
        PseudoRef::parse("ref", &text).unwrap_or_else(|_| unreachable!("checked prefix"))
    }

    /// The private external id of the Proofdesk ticket for a vendor ticket:
    /// namespaced, so two help desks never share a ticket.
    pub fn external_id(&self, vendor_ticket: &str) -> String {
        format!("{}:{}:{}", self.vendor, self.name, vendor_ticket)
    }

    pub fn webhook_path(&self) -> String {
        format!("/v1/integrations/{}/{}", self.vendor, self.name)
    }
}
