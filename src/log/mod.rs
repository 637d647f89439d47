//! The log: durable, append-only storage of records, batches and anchoring
//! state, behind one `Store` trait with a SQLite and a PostgreSQL backend.

mod availability;
pub mod backup;
mod cache_limits;
pub mod content;
mod disk;
mod error;
pub(crate) mod group;
pub mod import;
pub mod integration_records;
pub mod integration_store;
mod integration_unmapped;
pub mod keycache;
pub mod plan;
pub mod postgres;
mod postgres_reader;
mod postgres_writer;
pub mod proof_cache;
mod rows;
pub mod serving_lock;
pub(crate) mod sql_store;
pub mod sqlite;
mod sqlite_checkpoint;
mod sqlite_reader;
mod sqlite_rows;
mod sqlite_writer;
pub mod ticket_changes;
pub mod tiles;

/// The statement every PostgreSQL proof-bundle read runs (its batches and
/// tiles mostly come from `proof_cache`), for the test that checks how the
/// database plans it (tests/pg_sessions.rs).
#[doc(hidden)]
pub const PG_BUNDLE_EVENTS_SQL: &str = rows::sql::EVENTS_OF_TICKET;
/// The ticket counts a conditional read checks (`prove::tips`), which run
/// on the same sessions on PostgreSQL (`tests/pg_sessions.rs`).
#[doc(hidden)]
pub const PG_TICKET_COUNTS_SQL: &str = rows::sql::TICKET_COUNTS;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use cache_limits::CacheLimits;
pub use error::StoreError;

use crate::protocol::Hash32;
use crate::protocol::append::{ChainTip, Draft};
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::state::{Policy, TicketState};

/// One event to append.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub ticket: TicketHandle,
    pub draft: Draft,
    /// Salt and text of the content the draft's commitment was made from,
    /// when the platform sent the text rather than its own commitment.
    pub content: Option<([u8; 32], String)>,
}

/// Idempotency of a write: the platform's key and a hash of its request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: Hash32,
}

/// What a write stored, or what the first write with the same key stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WriteResult {
    Ticket { handle: String },
    Events { first_index: u64, count: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied(WriteResult),
    Replayed(WriteResult),
}

impl Outcome {
    pub fn result(&self) -> &WriteResult {
        match self {
            Outcome::Applied(r) | Outcome::Replayed(r) => r,
        }
    }
    pub fn replayed(&self) -> bool {
        matches!(self, Outcome::Replayed(_))
    }
}

/// What `Store::append` answers: the outcome, and the events it names as
/// stored (read back only for a replay), so receipts need no second read.
#[derive(Debug, Clone)]
pub struct Appended {
    pub outcome: Outcome,
    pub events: Vec<StoredEvent>,
}

impl Appended {
    pub fn result(&self) -> &WriteResult {
        self.outcome.result()
    }
    pub fn replayed(&self) -> bool {
        self.outcome.replayed()
    }
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub handle: TicketHandle,
    pub external_id: String,
    pub created_at: String,
    pub tip: ChainTip,
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub index: u64,
    pub ticket: TicketHandle,
    pub seq: u64,
    /// Canonical record bytes, exactly as hashed.
    pub record: String,
    pub leaf: Hash32,
    pub recorded_at_ms: i64,
    /// Batch and audit path once sealed.
    pub sealed: Option<(u64, Vec<Hash32>)>,
}

/// A ticket's events and the batches the sealed ones are in.
#[derive(Debug, Clone, Default)]
pub struct TicketProof {
    pub events: Vec<StoredEvent>,
    /// By id; every batch an event's `sealed` names is here.
    pub batches: std::collections::BTreeMap<u64, Batch>,
}

/// Where a batch is in its lifecycle. Each step is persisted before the next
/// begins, so a restart resumes at the step it stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Tree built, its tiles stored; not yet sent to the chain.
    Sealed,
    /// A transaction was sent; hash, nonce and fees are stored.
    Submitted,
    /// Mined in a block whose hash is stored (may still be reorged out).
    Included,
    /// Deep enough (or finalized) that it is treated as permanent.
    Final,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Sealed => "sealed",
            BatchStatus::Submitted => "submitted",
            BatchStatus::Included => "included",
            BatchStatus::Final => "final",
        }
    }
    pub fn parse(s: &str) -> Result<BatchStatus, StoreError> {
        Ok(match s {
            "sealed" => BatchStatus::Sealed,
            "submitted" => BatchStatus::Submitted,
            "included" => BatchStatus::Included,
            "final" => BatchStatus::Final,
            other => {
                return Err(StoreError::corrupt(format!(
                    "unknown batch status {other:?}"
                )));
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub tx_hash: Hash32,
    pub nonce: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    pub block_number: u64,
    pub block_hash: Hash32,
    pub block_time: u64,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
    pub head: Hash32,
    pub sealed_at_ms: i64,
    pub status: BatchStatus,
    pub submission: Option<Submission>,
    pub attempts: u32,
    pub inclusion: Option<Inclusion>,
    pub final_at_ms: Option<i64>,
    pub last_error: Option<String>,
    /// The ticket map's root after this batch, which its head v2 commits
    /// (PROTOCOL.md §15); None for a v1 batch.
    pub map_root: Option<Hash32>,
}

impl Batch {
    /// The `root` its `anchor()` call carries and its BatchAnchored event
    /// gives back: the log root for v1, H(0x06 ‖ log root ‖ map root) for v2.
    pub fn anchored_root(&self) -> Hash32 {
        crate::protocol::map::anchored_root(&self.root, self.map_root.as_ref())
    }
}

/// One entry of the log as the ticket map sees it (PROTOCOL.md §15.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub index: u64,
    pub ticket: TicketHandle,
    pub seq: u64,
    pub leaf: Hash32,
}

/// A batch about to be committed by the sealer, with its tree's tiles.
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
    pub head: Hash32,
    pub sealed_at_ms: i64,
    pub tiles: Vec<tiles::Tile>,
    /// The map root after the batch (head v2), or None (v1).
    pub map_root: Option<Hash32>,
}

/// Events not yet in any batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsealed {
    pub first_index: u64,
    pub count: u64,
    pub oldest_recorded_at_ms: Option<i64>,
    pub next_batch_id: u64,
}

/// A lifecycle step of a batch, applied only from the expected status.
#[derive(Debug, Clone)]
pub enum BatchStep {
    Submitted(Submission),
    Included(Inclusion),
    Final {
        at_ms: i64,
    },
    /// The transaction was dropped or its block reorged out: back to sealed,
    /// to be anchored again.
    Reset {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub scopes: Vec<String>,
    pub label: String,
}

/// An API key as an operator sees it (never its secret or hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiKeyInfo {
    pub id: String,
    pub scopes: Vec<String>,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The key that replaced this one, if it was rotated.
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LogStats {
    pub size: u64,
    pub sealed: u64,
    pub batches: u64,
    pub anchored_batches: u64,
    pub final_batches: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> &'static str;

    /// Creates the ticket, or returns the existing one for the same
    /// platform id (the bool says whether it was created now).
    async fn create_ticket(
        &self,
        external_id: &str,
        handle: TicketHandle,
        now: Timestamp,
    ) -> Result<(Ticket, bool), StoreError>;
    async fn ticket(&self, handle: &TicketHandle) -> Result<Option<Ticket>, StoreError>;
    /// Each ticket's event count (its `next_seq`), in the order asked, None
    /// for a ticket that does not exist: in one read, so that conditional
    /// bundle requests arriving together cost one statement
    /// (`prove::tips`).
    async fn ticket_counts(&self, handles: &[TicketHandle])
    -> Result<Vec<Option<u64>>, StoreError>;
    /// This process's own marks of the tickets it writes, where it is the
    /// log's only writer (SQLite, under its serving lock): a conditional
    /// read then needs no `ticket_counts` (`ticket_changes`). None where
    /// other processes write the same log (PostgreSQL).
    fn ticket_changes(&self) -> Option<&ticket_changes::TicketChanges>;

    /// Appends all events or none, assigning index, seq and prev inside one
    /// transaction. With an idempotency key, a retry of the same request
    /// returns the original result and a different request is a conflict.
    async fn append(
        &self,
        requests: Vec<AppendRequest>,
        idem: Option<Idempotency>,
        policy: &Policy,
    ) -> Result<Appended, StoreError>;

    /// A ticket's events in order, with their batches: what a proof
    /// bundle is made of, in one read of events and one of tiles.
    async fn ticket_proof(&self, handle: &TicketHandle) -> Result<TicketProof, StoreError>;
    async fn events_by_ticket(
        &self,
        handle: &TicketHandle,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.ticket_proof(handle).await?.events)
    }
    async fn events_by_range(
        &self,
        first_index: u64,
        count: u64,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The stored content of a ticket's event `seq`, or None when the event
    /// has none stored (no such event, no content, or only the platform's
    /// own commitment was sent).
    async fn content(
        &self,
        ticket: &TicketHandle,
        seq: u64,
    ) -> Result<Option<content::StoredContent>, StoreError>;
    /// Erases an event's content (salt and text) and records when and by
    /// which key; a second erasure keeps the first one's time. Returns the
    /// content row afterwards, or None when the event has none stored.
    async fn erase_content(
        &self,
        ticket: &TicketHandle,
        seq: u64,
        erased_by: &str,
        now: Timestamp,
    ) -> Result<Option<content::StoredContent>, StoreError>;

    async fn stats(&self) -> Result<LogStats, StoreError>;
    async fn unsealed(&self) -> Result<Unsealed, StoreError>;
    async fn leaves(&self, first_index: u64, count: u64) -> Result<Vec<Hash32>, StoreError>;
    /// The entries at `first_index..first_index + count`, in index order,
    /// as sealing and the ticket map need them (all `count`, else Corrupt).
    async fn entries(&self, first_index: u64, count: u64) -> Result<Vec<LogEntry>, StoreError>;
    /// Lowest and highest index of the records with `recorded_at` in
    /// [from_ms, to_ms), if any (for time-range exports).
    async fn index_range_by_time(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<(u64, u64)>, StoreError>;
    /// Commits a sealed batch with all its tiles, atomically, only if it
    /// starts exactly where the sealed part of the log ends.
    async fn commit_batch(&self, batch: NewBatch) -> Result<(), StoreError>;
    /// Writes an anchored batch verified elsewhere (a mirror, a recovery):
    /// its records, the tickets' tips, the batch (final) and its tiles, in
    /// one transaction. It must start where the log's sealed part ends;
    /// records the store already holds must be identical.
    async fn import_batch(&self, batch: import::ImportedBatch) -> Result<(), StoreError>;
    /// Every ticket with its tip (for seeding a checker that continues a
    /// log this store holds).
    async fn all_tickets(&self) -> Result<Vec<Ticket>, StoreError>;

    async fn batch(&self, id: u64) -> Result<Option<Batch>, StoreError>;
    async fn batches(&self, from_id: u64, limit: u64) -> Result<Vec<Batch>, StoreError>;
    /// Oldest batch that is not final, if any: the anchorer works in order.
    async fn first_unfinal_batch(&self) -> Result<Option<Batch>, StoreError>;
    /// Moves a batch one lifecycle step, only from the status given.
    async fn step_batch(
        &self,
        id: u64,
        from: BatchStatus,
        step: BatchStep,
    ) -> Result<(), StoreError>;
    async fn note_batch_error(&self, id: u64, error: &str) -> Result<(), StoreError>;

    async fn insert_api_key(
        &self,
        id: &str,
        key_hash: Hash32,
        scopes: &[String],
        label: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn api_key_by_hash(&self, key_hash: Hash32) -> Result<Option<ApiKey>, StoreError>;
    /// Every key, active or not, oldest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError>;
    /// Revokes an active key; false if there is no active key with this id.
    async fn revoke_api_key(&self, id: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// Replaces an active key by a new one with the same scopes and label,
    /// in one transaction: the new key is stored and the old one revoked
    /// with `replaced_by` set. None if there is no active key with this id
    /// (or a concurrent rotation won).
    async fn rotate_api_key(
        &self,
        id: &str,
        new_id: &str,
        new_hash: Hash32,
        now: Timestamp,
    ) -> Result<Option<ApiKeyInfo>, StoreError>;

    async fn ping(&self) -> Result<(), StoreError>;

    /// Help-desk integrations and their delivery ledger (integration_store.rs).
    fn integration_store(&self) -> &dyn integration_store::IntegrationStore;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the backend named by the URL scheme: `sqlite:` or `postgres://`.
/// A plain file path (no scheme) is a SQLite database, as `proofdesk dev`
/// prints it: every `--database` takes either.
pub async fn connect(url: &str) -> Result<DynStore, StoreError> {
    connect_with(url, &CacheLimits::default()).await
}

/// Like `connect`, with the caches bounded by `limits` (`serve` and
/// `mirror` take them from their flags).
pub async fn connect_with(url: &str, limits: &CacheLimits) -> Result<DynStore, StoreError> {
    match database_url(url)? {
        Backend::Postgres(url) => Ok(Arc::new(
            postgres::PgStore::connect_with(&url, limits).await?,
        )),
        Backend::Sqlite(url) => Ok(Arc::new(
            sqlite::SqliteStore::connect_with(&url, limits).await?,
        )),
    }
}

/// Opens a database that must already exist, for the admin commands (keys,
/// integrations): a key written into a new, empty SQLite file would belong
/// to no server, so a missing file is an error, never created.
pub async fn connect_existing(url: &str) -> Result<DynStore, StoreError> {
    if let Backend::Sqlite(sqlite) = database_url(url)? {
        let file = sqlite::file_of(&sqlite)?;
        if !file.exists() {
            return Err(StoreError::Url(format!(
                "no database at {}: this command changes a server's database and never creates one; give the server's --database (proofdesk dev prints its own), or for a first key before the server's first start, keys create --new-database",
                file.display()
            )));
        }
    }
    connect(url).await
}

/// Which backend a `--database` value names, as the URL its driver takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(String),
    Postgres(String),
}

pub fn database_url(given: &str) -> Result<Backend, StoreError> {
    let url = given.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Backend::Postgres(url.to_owned()));
    }
    if url.starts_with("sqlite:") {
        return Ok(Backend::Sqlite(url.to_owned()));
    }
    if url.is_empty() {
        return Err(StoreError::Url(
            "--database is empty: give a SQLite file (proofdesk.db, sqlite://proofdesk.db) or postgres://…".into(),
        ));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(StoreError::Url(format!(
            "{scheme}:// is not a database Proofdesk knows: give a SQLite file (a path, or sqlite://PATH) or postgres://USER@HOST/DB"
        )));
    }
    // A path; `?` would start the URL's options.
    if url.contains('?') {
        return Err(StoreError::Url(format!(
            "{url:?}: a SQLite path with options is written sqlite://PATH?OPTIONS"
        )));
    }
    Ok(Backend::Sqlite(format!("sqlite://{url}")))
}

pub(crate) fn tip_from_parts(
    next_seq: i64,
    last_leaf: &[u8],
    state: Option<&str>,
) -> Result<ChainTip, StoreError> {
    let last_leaf = Hash32::from_slice(last_leaf)
        .ok_or_else(|| StoreError::corrupt("last_leaf is not 32 bytes"))?;
    let state: Option<TicketState> = match state {
        Some(s) => Some(
            serde_json::from_str(s)
                .map_err(|e| StoreError::corrupt(format!("ticket state: {e}")))?,
        ),
        None => None,
    };
    Ok(ChainTip {
        next_seq: next_seq as u64,
        last_leaf,
        state,
    })
}

pub(crate) fn hash_from(bytes: &[u8], what: &str) -> Result<Hash32, StoreError> {
    Hash32::from_slice(bytes).ok_or_else(|| StoreError::corrupt(format!("{what} is not 32 bytes")))
}

pub(crate) fn split_scopes(scopes: &str) -> Vec<String> {
    scopes
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
