//! What a delivery held that maps to no Proofdesk event, and why. Never
//! silent: each one is kept in the delivery's ledger row, counted by reason
//! in /metrics (`proofdesk_webhook_unmapped_total`), listed by
//! `proofdesk integrations deliveries --outcome unmapped`, and its `detail`
//! says what the admin can do about it (README "Connect Zendesk",
//! "Connect Zammad").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedReason {
    /// Authentic, but not a ticket payload (a Zammad user webhook, a Zendesk
    /// user event).
    NotATicket,
    /// A Zendesk trigger body of a template this server does not map.
    UnknownTemplate,
    /// A Zendesk ticket event type that carries nothing Proofdesk records.
    UnknownEventType,
    /// A vendor state or status with no Proofdesk equivalent (a renamed or
    /// custom Zammad state not mapped by id, a localised template value).
    UnknownState,
    /// A vendor priority with no Proofdesk equivalent.
    UnknownPriority,
    /// A satisfaction value that is neither good nor bad.
    UnknownRating,
    /// A comment on a ticket the log has closed: the state machine takes no
    /// message there (PROTOCOL §10), so the reply is not in the log.
    CommentOnClosedTicket,
    /// The vendor reopened a ticket the log has closed, and this log's
    /// policy does not allow reopening closed tickets.
    ReopenNotAllowed,
}

impl UnmappedReason {
    pub const ALL: [UnmappedReason; 8] = [
        UnmappedReason::NotATicket,
        UnmappedReason::UnknownTemplate,
        UnmappedReason::UnknownEventType,
        UnmappedReason::UnknownState,
        UnmappedReason::UnknownPriority,
        UnmappedReason::UnknownRating,
        UnmappedReason::CommentOnClosedTicket,
        UnmappedReason::ReopenNotAllowed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnmappedReason::NotATicket => "not_a_ticket",
            UnmappedReason::UnknownTemplate => "unknown_template",
            UnmappedReason::UnknownEventType => "unknown_event_type",
            UnmappedReason::UnknownState => "unknown_state",
            UnmappedReason::UnknownPriority => "unknown_priority",
            UnmappedReason::UnknownRating => "unknown_rating",
            UnmappedReason::CommentOnClosedTicket => "comment_on_closed_ticket",
            UnmappedReason::ReopenNotAllowed => "reopen_not_allowed",
        }
    }

    /// Position in `ALL`, for counters.
    pub fn index(self) -> usize {
        UnmappedReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or_else(|| unreachable!("every reason is in ALL"))
    }
}

/// One thing a delivery held that is not in the log, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unmapped {
    pub reason: UnmappedReason,
    /// What it was and what the admin can do.
    pub detail: String,
}

impl Unmapped {
    pub fn new(reason: UnmappedReason, detail: impl Into<String>) -> Unmapped {
        Unmapped {
            reason,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_names() {
        for r in UnmappedReason::ALL {
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::Value::String(r.as_str().into())
            );
            assert_eq!(UnmappedReason::ALL[r.index()], r);
        }
    }
}
