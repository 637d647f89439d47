//! SQLite's proof reads: a ticket's events, their batches and their tiles,
//! read in one blocking call on a pooled rusqlite connection.
//!
//! The public proof endpoint is the busiest read. Through sqlx's SQLite
//! driver every statement, and every row it returns, is a hand-off to the
//! connection's worker thread: under proof load (c=16, a log of 100k
//! events) 47 % of the server's samples were in the kernel, mostly
//! `finish_task_switch` on those threads (BENCHMARKS.md, "What measuring
//! changed"). Here a bundle's reads are one hand-off to the blocking pool.
//! Connections are opened on the store's file with `query_only`, so this
//! path cannot write; WAL lets them read beside the writer.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::Semaphore;

use super::rows::{EventRow, log_entry, sql, tile_keys, with_paths};
use super::sqlite_rows::{batch_row, event_row, from_sqlite, ticket_row};
use super::tiles::TileKey;
use super::{Batch, LogEntry, StoreError, StoredEvent, Ticket, TicketProof};
use crate::protocol::fields::TicketHandle;

/// Reads running at once, each on its own connection, unless configured
/// (`CacheLimits`): by default as many as the sqlx pool's connections.
/// Further reads wait for one to finish, so at most this many connections
/// (and blocking threads) ever serve proofs, and none is opened and closed
/// per request under load.
pub(crate) const CONNECTIONS: usize = 8;

#[derive(Clone)]
pub(crate) struct Reader {
    path: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Connection>>>,
    slots: Arc<Semaphore>,
}

impl Reader {
    /// A pool of at most `connections` connections (at least one).
    pub fn new(path: &Path, connections: usize) -> Reader {
        Reader {
            path: Arc::new(path.to_owned()),
            idle: Default::default(),
            slots: Arc::new(Semaphore::new(connections.max(1))),
        }
    }

    /// Runs `read` on a pooled connection, on the blocking pool.
    async fn run<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the store is closing".into()))?;
        let reader = self.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let conn = reader.take()?;
            let out = read(&conn);
            reader.give_back(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the read was interrupted: {e}")))?
    }

    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle().pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            self.path.as_path(),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(from_sqlite)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(from_sqlite)?;
        conn.execute_batch("PRAGMA query_only = ON;")
            .map_err(from_sqlite)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        self.idle().push(conn);
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A ticket's events with their batches and audit paths. Both reads
    /// run in one transaction, so the tiles are those of the batches the
    /// events were read with.
    pub async fn ticket_proof(&self, handle: &TicketHandle) -> Result<TicketProof, StoreError> {
        let handle = handle.as_str().to_owned();
        self.run(move |conn| {
            let tx = conn.unchecked_transaction().map_err(from_sqlite)?;
            let mut events = Vec::new();
            let mut batches = BTreeMap::new();
            {
                let mut get = tx
                    .prepare_cached(sql::EVENTS_BY_TICKET)
                    .map_err(from_sqlite)?;
                let mut rows = get.query([handle.as_str()]).map_err(from_sqlite)?;
                while let Some(row) = rows.next().map_err(from_sqlite)? {
                    let event = event_row(row).map_err(from_sqlite)?;
                    if let Some(id) = event.batch_id
                        && !batches.contains_key(&(id as u64))
                    {
                        let batch: Batch = batch_row(row, 9).map_err(from_sqlite)?.try_into()?;
                        batches.insert(batch.id, batch);
                    }
                    events.push(event);
                }
            }
            let events = attach_paths(&tx, events)?;
            Ok(TicketProof { events, batches })
        })
        .await
    }

    /// A ticket's row, one statement on a pooled connection rather than
    /// through sqlx's per-connection worker thread.
    pub async fn ticket(&self, handle: &TicketHandle) -> Result<Option<Ticket>, StoreError> {
        let handle = handle.as_str().to_owned();
        self.run(move |conn| {
            let row = conn
                .prepare_cached(sql::TICKET_BY_HANDLE)
                .map_err(from_sqlite)?
                .query_row([handle.as_str()], ticket_row)
                .optional()
                .map_err(from_sqlite)?;
            row.map(TryInto::try_into).transpose()
        })
        .await
    }

    /// Tickets' event counts, in the order asked: what conditional bundle
    /// requests read (`prove::tips`), one hand-off for all of them. A
    /// cached point lookup per handle: in-process it costs no round trip,
    /// and its text does not vary with the number of handles as an `IN`
    /// list's would.
    pub async fn ticket_counts(
        &self,
        handles: &[TicketHandle],
    ) -> Result<Vec<Option<u64>>, StoreError> {
        let handles = handles.to_vec();
        self.run(move |conn| {
            let mut get = conn
                .prepare_cached(sql::TICKET_COUNT)
                .map_err(from_sqlite)?;
            handles
                .iter()
                .map(|h| {
                    let count: Option<i64> = get
                        .query_row([h.as_str()], |r| r.get(0))
                        .optional()
                        .map_err(from_sqlite)?;
                    Ok(count.map(|n| n as u64))
                })
                .collect()
        })
        .await
    }

    /// A range's entries in index order (the sealer's read).
    pub async fn entries(&self, first_index: u64, count: u64) -> Result<Vec<LogEntry>, StoreError> {
        self.run(move |conn| {
            let mut get = conn.prepare_cached(sql::ENTRIES).map_err(from_sqlite)?;
            let mut rows = get
                .query(params![first_index as i64, (first_index + count) as i64])
                .map_err(from_sqlite)?;
            let mut out = Vec::with_capacity(count.min(1 << 20) as usize);
            while let Some(row) = rows.next().map_err(from_sqlite)? {
                let ticket: String = row.get(1).map_err(from_sqlite)?;
                let leaf: Vec<u8> = row.get(3).map_err(from_sqlite)?;
                out.push(log_entry(
                    row.get(0).map_err(from_sqlite)?,
                    &ticket,
                    row.get(2).map_err(from_sqlite)?,
                    &leaf,
                )?);
            }
            Ok(out)
        })
        .await
    }

    /// The events' audit paths, from their tiles.
    pub async fn attach_paths(&self, rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StoreError> {
        self.run(move |conn| attach_paths(conn, rows)).await
    }
}

fn attach_paths(conn: &Connection, rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StoreError> {
    let keys = tile_keys(&rows)?;
    let mut found: HashMap<(u64, TileKey), Vec<u8>> = HashMap::with_capacity(keys.len());
    // One point lookup per tile: in-process, a prepared statement costs no
    // round trip, and a bundle needs a handful of tiles.
    let mut get = conn.prepare_cached(TILE_BY_KEY).map_err(from_sqlite)?;
    for (batch, key) in keys {
        let mut rows = get
            .query(params![
                batch as i64,
                i64::from(key.stratum),
                key.index as i64
            ])
            .map_err(from_sqlite)?;
        if let Some(row) = rows.next().map_err(from_sqlite)? {
            found.insert((batch, key), row.get(0).map_err(from_sqlite)?);
        }
    }
    with_paths(rows, &found)
}

const TILE_BY_KEY: &str =
    "SELECT hashes FROM batch_tiles WHERE batch_id = ?1 AND stratum = ?2 AND tile = ?3";

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_configured_connections_are_open() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log.db");
        Connection::open(&file).unwrap();
        let reader = Reader::new(&file, 2);
        let (active, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let reads: Vec<_> = (0..6)
            .map(|_| {
                let (reader, active, most) = (reader.clone(), active.clone(), most.clone());
                tokio::spawn(async move {
                    reader
                        .run(move |_conn| {
                            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            // Long enough for every read to start at once
                            // if nothing held them back.
                            std::thread::sleep(Duration::from_millis(50));
                            active.fetch_sub(1, Ordering::SeqCst);
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for read in reads {
            read.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert!(reader.idle().len() <= 2);
        // Each keeps SQLite's default page cache, 2,000 KiB (README, "Memory").
        let cache_size = reader
            .run(|conn| {
                conn.query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0))
                    .map_err(from_sqlite)
            })
            .await
            .unwrap();
        assert_eq!(cache_size, -2000);
    }
}
