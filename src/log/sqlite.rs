//! The embedded SQLite backend: one file, WAL journal, full sync.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::StoreError;
use super::group::Job;
use super::sql_store::impl_sql_store;
use super::sqlite_reader::Reader;
use super::sqlite_writer::Writer;

pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time. Queueing writers here, in order,
    /// beats letting them spin in SQLite's busy handler.
    writer: Arc<Mutex<()>>,
    group: super::group::GroupCommit,
    /// API key lookups, trusted for `keycache::KEY_CACHE_TTL`.
    keys: super::keycache::KeyCache,
    /// The connection appends are written on (see `sqlite_writer`).
    appender: Writer,
    /// The connections proofs are read on (see `sqlite_reader`).
    reader: Reader,
    /// The database file, whose disk /readyz watches (`disk`).
    file: std::path::PathBuf,
    /// Marks of the tickets this store writes: it is the log's only writer
    /// (the serving lock), so a conditional read needs no database read
    /// (`ticket_changes`).
    changes: Arc<super::ticket_changes::TicketChanges>,
}

/// The file a `sqlite:` URL names.
/// An in-memory database, which the store refuses: its append writer is a
/// second connection and could not see it.
pub(crate) fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

pub(crate) fn file_of(url: &str) -> Result<std::path::PathBuf, StoreError> {
    Ok(SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_owned())
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        SqliteStore::connect_with(url, &super::CacheLimits::default()).await
    }

    /// Like `connect`, with the caches bounded by `limits`.
    pub async fn connect_with(
        url: &str,
        limits: &super::CacheLimits,
    ) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        // Appends are written on a second connection to the same file.
        let file = options.get_filename().to_owned();
        if in_memory(url) {
            return Err(StoreError::Unavailable(
                "an in-memory SQLite database cannot be shared by the append writer; give a file (sqlite://PATH)".into(),
            ));
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a receipt is a promise, so an acknowledged append must
            // survive power loss, not just a process crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            // A COMMIT that fails (SQLITE_FULL, an I/O error) leaves the
            // connection inside its transaction, and every later BEGIN on
            // it fails: a full disk would outlive the freed space. Such a
            // connection is closed instead of going back to the pool.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let reader = Reader::new(&file, limits.sqlite_readers);
        let path = file.clone();
        let cache_mib = limits.sqlite_write_cache_mib;
        let appender = tokio::task::spawn_blocking(move || Writer::open(&file, cache_mib))
            .await
            .map_err(|e| StoreError::Unavailable(format!("opening the append writer: {e}")))??;
        let store = SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(())),
            group: Default::default(),
            keys: super::keycache::KeyCache::new(limits.key_entries),
            appender,
            reader,
            file: path,
            changes: Default::default(),
        };
        store.backfill_tiles().await?;
        Ok(store)
    }

    /// The pool, with the settings above: for tools that measure the raw
    /// database beside the store (scripts/bench.sh).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Part of `ping`: a disk too full for the next append is not ready,
    /// even while reads still answer.
    fn room_to_write(&self) -> Result<(), StoreError> {
        match super::disk::full(&self.file) {
            Some(reason) => Err(StoreError::Unavailable(reason)),
            None => Ok(()),
        }
    }

    fn write_handle(&self) -> WriteHandle {
        WriteHandle {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            appender: self.appender.clone(),
            changes: self.changes.clone(),
        }
    }

    /// Every event of this log is written by this process (`serving_lock`).
    fn own_changes(&self) -> Option<&super::ticket_changes::TicketChanges> {
        Some(&self.changes)
    }

    /// Commits a group of appends in one transaction, in one blocking call
    /// (`sqlite_writer`). An append the rules reject writes nothing and is
    /// answered alone; if the database fails mid-group, every append is
    /// retried in its own transaction, so one bad request never sinks the
    /// others.
    async fn commit_group(handle: WriteHandle, jobs: Vec<Job>) {
        let _turn = handle.writer.clone().lock_owned().await;
        let appender = handle.appender.clone();
        let changes = handle.changes.clone();
        let done = tokio::task::spawn_blocking(move || {
            let result = appender.commit(&jobs);
            // However the transaction ended (a failed COMMIT may have
            // landed), and before anyone is answered.
            changes.written(tickets_of(&jobs));
            (jobs, result)
        })
        .await;
        // A panic in the writer drops the senders: callers see an error.
        let Ok((jobs, result)) = done else { return };
        let retry = super::group::settle(jobs, result);
        if retry.is_empty() {
            return;
        }
        let appender = handle.appender.clone();
        let changes = handle.changes.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for job in retry {
                let answer = match appender.commit(std::slice::from_ref(&job)) {
                    Ok(mut answers) => answers.pop().unwrap_or_else(|| {
                        Err(StoreError::corrupt("a group of one gave no answer"))
                    }),
                    Err((e, true)) => Err(e.for_group()),
                    Err((e, false)) => Err(e),
                };
                changes.written(tickets_of(std::slice::from_ref(&job)));
                let _ = job.done.send(answer);
            }
        })
        .await;
    }

    async fn begin_write(
        &self,
    ) -> Result<(Transaction<'static, Sqlite>, OwnedMutexGuard<()>), StoreError> {
        self.write_handle().begin().await
    }

    /// Sealing writes as any writer does: SQLite has one writer at a time.
    async fn begin_seal(
        &self,
    ) -> Result<(Transaction<'static, Sqlite>, OwnedMutexGuard<()>), StoreError> {
        self.begin_write().await
    }

    async fn insert_tiles(
        tx: &mut Transaction<'static, Sqlite>,
        batch_id: u64,
        tiles: &[super::tiles::Tile],
    ) -> Result<(), StoreError> {
        // Multi-row statements: each statement is a round trip to the
        // connection's worker thread, and a 65,536-event batch has 4,369
        // tiles.
        for chunk in tiles.chunks(super::sql_store::ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(super::rows::sql::INSERT_TILES);
            q.push_values(chunk, |mut row, tile| {
                row.push_bind(batch_id as i64)
                    .push_bind(i64::from(tile.stratum))
                    .push_bind(tile.index as i64)
                    .push_bind(tile.hashes.as_slice());
            });
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn read_ticket(
        &self,
        handle: &crate::protocol::fields::TicketHandle,
    ) -> Result<Option<super::Ticket>, StoreError> {
        self.reader.ticket(handle).await
    }

    async fn read_ticket_counts(
        &self,
        handles: &[crate::protocol::fields::TicketHandle],
    ) -> Result<Vec<Option<u64>>, StoreError> {
        self.reader.ticket_counts(handles).await
    }

    /// The sealer's read of a batch's entries: tens of thousands of rows,
    /// each of which through sqlx would be a hand-off to its connection's
    /// worker thread (9.6 % of the server's samples under bulk ingest, most
    /// of it futex waits), read here in one blocking call.
    async fn read_entries(
        &self,
        first_index: u64,
        count: u64,
    ) -> Result<Vec<super::LogEntry>, StoreError> {
        self.reader.entries(first_index, count).await
    }

    async fn read_ticket_proof(
        &self,
        handle: &crate::protocol::fields::TicketHandle,
    ) -> Result<super::TicketProof, StoreError> {
        self.reader.ticket_proof(handle).await
    }

    async fn attach_paths(
        &self,
        rows: Vec<super::rows::EventRow>,
    ) -> Result<Vec<super::StoredEvent>, StoreError> {
        self.reader.attach_paths(rows).await
    }
}

/// The tickets a group's appends write to.
fn tickets_of(jobs: &[Job]) -> impl Iterator<Item = &crate::protocol::fields::TicketHandle> {
    jobs.iter()
        .flat_map(|j| j.requests.iter().map(|r| &r.ticket))
}

/// What a write transaction needs, owned, so a group commit can run in its
/// own task.
#[derive(Clone)]
pub struct WriteHandle {
    pool: SqlitePool,
    writer: Arc<Mutex<()>>,
    appender: Writer,
    changes: Arc<super::ticket_changes::TicketChanges>,
}

impl WriteHandle {
    /// BEGIN IMMEDIATE takes SQLite's write lock up front, so a transaction
    /// never fails half-way trying to upgrade a read lock.
    pub(crate) async fn begin(
        &self,
    ) -> Result<(Transaction<'static, Sqlite>, OwnedMutexGuard<()>), StoreError> {
        let guard = self.writer.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((tx, guard))
    }
}

impl_sql_store!(SqliteStore, Sqlite, "sqlite");
