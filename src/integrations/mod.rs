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
pub mod unmapped;
pub mod zammad;
pub mod zendesk;

use std::collections::BTreeMap;

use hmac::{KeyInit, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::protocol::fields::{Code, FieldError, PseudoRef};
pub use unmapped::{Unmapped, UnmappedReason};

type HmacSha256 = hmac::Hmac<sha2_11::Sha256>;

/// The help desks Proofdesk accepts webhooks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    Zendesk,
    Zammad,
}

impl Vendor {
    pub const ALL: [Vendor; 2] = [Vendor::Zendesk, Vendor::Zammad];

    /// Position in `ALL`, for counters.
    pub fn index(self) -> usize {
        match self {
            Vendor::Zendesk => 0,
            Vendor::Zammad => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Zendesk => "zendesk",
            Vendor::Zammad => "zammad",
        }
    }

    pub fn parse(s: &str) -> Option<Vendor> {
        match s {
            "zendesk" => Some(Vendor::Zendesk),
            "zammad" => Some(Vendor::Zammad),
            _ => None,
        }
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How vendor tickets become Proofdesk tickets. Every member has a default,
/// so `{}` is a valid set of options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MappingOptions {
    /// `category` of every ticket.created (a code).
    pub category: String,
    /// Whether tickets from this help desk are formal complaints.
    pub complaint: bool,
    /// `resolution` of the ticket.resolved a vendor "solved" becomes.
    pub resolution: String,
    /// Zendesk only: how far the signature timestamp may be from the
    /// server's clock, in seconds, before a delivery is refused as a replay.
    pub timestamp_window_secs: u64,
    /// Prefix of the pseudonymous refs made from vendor user ids.
    pub ref_prefix: String,
    /// Zammad (Zendesk sends fixed names and no state id, so it never
    /// consults this): state id → what it means here (`new`, `open`,
    /// `pending`, `on_hold`, `solved`, `closed`, `merged`, or `ignore`).
    /// Zammad's admins rename and add states; a state whose id is not here
    /// is read by its default name, and one with neither is unmapped.
    pub states: BTreeMap<String, String>,
    /// Zammad, likewise: priority id → `low`, `normal`, `high` or `urgent`; the
    /// same fallback to the default names ("1 low", "2 normal", "3 high").
    pub priorities: BTreeMap<String, String>,
}

/// What a vendor state may be mapped to (`MappingOptions::states`).
pub const STATE_WORDS: [&str; 8] = [
    "new", "open", "pending", "on_hold", "solved", "closed", "merged", "ignore",
];

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

impl Default for MappingOptions {
    fn default() -> MappingOptions {
        MappingOptions {
            category: "support".into(),
            complaint: false,
            resolution: "solved".into(),
            timestamp_window_secs: 300,
            ref_prefix: "hd_".into(),
            states: BTreeMap::new(),
            priorities: BTreeMap::new(),
        }
    }
}

/// One connected help desk.
#[derive(Clone, PartialEq, Eq)]
pub struct Integration {
    /// A code; the last segment of the webhook URL.
    pub name: String,
    pub vendor: Vendor,
    /// The shared HMAC secret. Zendesk generates it (the event webhook's
    /// signing secret); for Zammad Proofdesk generates it and the admin
    /// pastes it.
    pub secret: String,
    /// A second signing secret deliveries may carry. Zendesk: the webhook
    /// the satisfaction-rating triggers notify (a Zendesk webhook is either
    /// subscribed to events or connected to triggers, never both, and each
    /// has its own secret). Zammad: the next secret, while rotating.
    pub second_secret: Option<String>,
    /// Key of the keyed hash that turns vendor user ids into refs. Never
    /// leaves the server.
    pub pseudonym_key: [u8; 32],
    pub options: MappingOptions,
    pub created_at: String,
}

// Secrets stay out of logs and panics.
impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("name", &self.name)
            .field("vendor", &self.vendor)
            .field("options", &self.options)
            .finish_non_exhaustive()
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

/// What became of a delivery, as the ledger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Events were appended (or, on a replay, had been).
    Recorded,
    /// The same vendor delivery id was already handled.
    Duplicate,
    /// Refused: signature, timestamp or payload (reason says which).
    Rejected,
    /// Authentic, but nothing in it maps to a Proofdesk event (`unmapped`
    /// says what and why).
    Unmapped,
    /// Authentic and understood, and already what the log says: nothing to
    /// append (a second event of one vendor update, a repeated snapshot).
    Unchanged,
    /// The database failed while handling it; the vendor was told to retry.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Recorded => "recorded",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected => "rejected",
            Outcome::Unmapped => "unmapped",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed => "failed",
        }
    }

    pub const ALL: [Outcome; 6] = [
        Outcome::Recorded,
        Outcome::Duplicate,
        Outcome::Rejected,
        Outcome::Unmapped,
        Outcome::Unchanged,
        Outcome::Failed,
    ];

    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "recorded" => Outcome::Recorded,
            "duplicate" => Outcome::Duplicate,
            "rejected" => Outcome::Rejected,
            "unmapped" => Outcome::Unmapped,
            "unchanged" => Outcome::Unchanged,
            "failed" => Outcome::Failed,
            _ => return None,
        })
    }
}

/// The result of the signature check, as the ledger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureCheck {
    Valid,
    Invalid,
    Missing,
    /// The signature matched but its timestamp is outside the window.
    Stale,
}

impl SignatureCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureCheck::Valid => "valid",
            SignatureCheck::Invalid => "invalid",
            SignatureCheck::Missing => "missing",
            SignatureCheck::Stale => "stale",
        }
    }
    pub fn parse(s: &str) -> Option<SignatureCheck> {
        Some(match s {
            "valid" => SignatureCheck::Valid,
            "invalid" => SignatureCheck::Invalid,
            "missing" => SignatureCheck::Missing,
            "stale" => SignatureCheck::Stale,
            _ => return None,
        })
    }
}

/// One row of the delivery ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Ledger id (0 before it is stored).
    pub id: i64,
    pub integration: String,
    pub received_at: String,
    /// The vendor's delivery id, when it sent one.
    pub delivery_id: Option<String>,
    pub signature: SignatureCheck,
    /// SHA-256 of the raw body, 0x-hex. The body itself is not kept: it
    /// carries personal data.
    pub body_sha256: String,
    pub outcome: Outcome,
    /// Why it was rejected or unmapped.
    pub reason: Option<String>,
    pub vendor_ticket: Option<String>,
    pub ticket: Option<String>,
    pub first_index: Option<u64>,
    pub count: Option<u64>,
    /// Vendor changes that were skipped or translated, and why.
    pub notes: Vec<String>,
    /// What the delivery held that is not in the log, by reason (also on a
    /// recorded delivery, for the part that did not map).
    #[serde(default)]
    pub unmapped: Vec<Unmapped>,
}
