//! The records of help-desk integrations, as the store keeps them: the
//! integrations, their mapping options and the delivery ledger's rows with
//! what each delivery left unmapped. Plain data beside the store's trait
//! (integration_store.rs), as atuin keeps its models beside its `Database`;
//! what acts on them (secrets, HMAC pseudonyms, the mapping) is
//! `crate::integrations`'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::integration_unmapped::{Unmapped, UnmappedReason};

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
