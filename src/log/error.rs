//! Errors of the log (storage) layer.

use crate::protocol::append::AppendRuleError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("ticket {0} not found")]
    TicketNotFound(String),
    #[error("event {item} of the request was rejected: {reason}")]
    Rejected {
        item: usize,
        reason: AppendRuleError,
    },
    /// The key was stored for another request; `first` is what that one
    /// wrote (the API names its ticket).
    #[error(
        "idempotency key {key:?} was already used for another request (another ticket, endpoint or body)"
    )]
    IdempotencyConflict {
        key: String,
        first: crate::log::WriteResult,
    },
    #[error("another writer sealed or moved this batch first (expected {expected})")]
    Contended { expected: String },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A write whose outcome is unknown (interrupted, or its group's
    /// commit failed because the database went away).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The `--database` value names no database Proofdesk can open.
    #[error("{0}")]
    Url(String),
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(what.to_string())
    }
}
