//! SQLite's append path: a whole group commit runs in one blocking call on
//! one dedicated connection.
//!
//! sqlx's SQLite driver runs each statement on its connection's worker
//! thread and hands the result back, and under load every hand-off waits for
//! a core: a group of ~30 single appends spent 2-3 ms in eight such round
//! trips for well under 1 ms of SQLite work (BENCHMARKS.md, "What measuring
//! changed"). Here the group is one hand-off to the blocking pool. Reads,
//! sealing and everything else stay on the sqlx pool; both open the same
//! file with the same durability settings, and writers take the store's
//! writer lock first, so they never contend inside SQLite.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::group::{GroupOutcome, Job, members};
use super::plan::{KnownKeys, MemberPlan, plan_group};
use super::sqlite_checkpoint::{BACKSTOP_PAGES, Checkpointer, INLINE_PAGES, LARGE_COMMIT_EVENTS};
use super::sqlite_rows::{event_row, from_sqlite, ticket_row};
use super::{Appended, StoreError, StoredEvent, Ticket, WriteResult};
use crate::protocol::fields::Timestamp;

/// The write connection's page cache, MiB, unless configured
/// (`CacheLimits`); SQLite's own default is about 2 MiB.
pub(crate) const WRITE_CACHE_MIB: u32 = 64;

/// The dedicated write connection.
#[derive(Clone)]
pub(crate) struct Writer {
    conn: Arc<Mutex<Connection>>,
    /// Copies committed pages back to the database off this path, after
    /// large commits (`sqlite_checkpoint`).
    checkpoints: Arc<Checkpointer>,
    /// Whether the connection's automatic checkpoint is the backstop (the
    /// last commit was large) rather than SQLite's default.
    deferred: Arc<AtomicBool>,
}

impl Writer {
    /// Opens the file the pool uses (already created and migrated), with
    /// the pool's durability settings: WAL, synchronous FULL, foreign keys,
    /// a busy timeout; and a page cache of `cache_mib` MiB.
    pub fn open(path: &Path, cache_mib: u32) -> Result<Writer, StoreError> {
        let conn = Connection::open(path).map_err(from_sqlite)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(from_sqlite)?;
        // A negative cache_size is in KiB, read as a 32-bit int: capped
        // there (2 TiB) rather than overflowing.
        let cache_kib = (i64::from(cache_mib) * 1024).min(i32::MAX.into());
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{cache_kib}; PRAGMA wal_autocheckpoint = {INLINE_PAGES};"
        ))
        .map_err(from_sqlite)?;
        Ok(Writer {
            conn: Arc::new(Mutex::new(conn)),
            checkpoints: Arc::new(Checkpointer::start(path)?),
            deferred: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Commits the jobs together (blocking). Callers hold the store's
    /// writer lock.
    pub fn commit(&self, jobs: &[Job]) -> GroupOutcome {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        // A COMMIT that failed (a full disk) leaves the transaction open;
        // it is rolled back before the connection is used again.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        // A large commit leaves its checkpoint to the checkpoint thread; a
        // small one lets SQLite checkpoint inline (`sqlite_checkpoint`).
        let events: usize = jobs.iter().map(|j| j.requests.len()).sum();
        let large = events >= LARGE_COMMIT_EVENTS;
        if self.deferred.load(Ordering::Relaxed) != large {
            let pages = if large { BACKSTOP_PAGES } else { INLINE_PAGES };
            conn.pragma_update(None, "wal_autocheckpoint", pages)
                .map_err(|e| (from_sqlite(e), false))?;
            self.deferred.store(large, Ordering::Relaxed);
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| (from_sqlite(e), false))?;
        let answers = append_group(&tx, jobs).map_err(|e| (e, false))?;
        if answers.iter().any(Result::is_ok) {
            tx.commit().map_err(|e| (from_sqlite(e), true))?;
            if large {
                self.checkpoints.nudge();
            }
        }
        Ok(answers)
    }
}

/// The group inside its transaction; the same steps and plan as the sqlx
/// path (`sql_store::impl_sqlx_group_commit`), one row per statement
/// because a prepared statement here costs no round trip.
fn append_group(
    conn: &Connection,
    jobs: &[Job],
) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
    let Some((policy, members)) = members(jobs) else {
        return Ok(Vec::new());
    };

    let mut known = KnownKeys::new();
    {
        let mut get = conn
            .prepare_cached("SELECT request_hash, result FROM idempotency WHERE key = ?1")
            .map_err(from_sqlite)?;
        for idem in members.iter().filter_map(|m| m.idem) {
            let row: Option<(Vec<u8>, String)> = get
                .query_row([idem.key.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(from_sqlite)?;
            if let Some((hash, result)) = row {
                let hash = super::hash_from(&hash, "idempotency request hash")?;
                let result: WriteResult =
                    serde_json::from_str(&result).map_err(StoreError::corrupt)?;
                known.insert(idem.key.clone(), (hash, result));
            }
        }
    }

    let size: i64 = conn
        .query_row("SELECT size FROM log_state WHERE id = 1", [], |r| r.get(0))
        .map_err(from_sqlite)?;
    let mut tips = HashMap::new();
    {
        let mut get = conn
            .prepare_cached(super::rows::sql::TICKET_BY_HANDLE)
            .map_err(from_sqlite)?;
        let mut seen = HashSet::new();
        for req in members.iter().flat_map(|m| m.requests.iter()) {
            if !seen.insert(&req.ticket) {
                continue;
            }
            let row = get
                .query_row([req.ticket.as_str()], ticket_row)
                .optional()
                .map_err(from_sqlite)?;
            if let Some(row) = row {
                let ticket: Ticket = row.try_into()?;
                tips.insert(ticket.handle, ticket.tip);
            }
        }
    }
    // Read under the write lock: recorded_at never decreases along the log.
    let recorded_at = Timestamp::now();
    let mut plan = plan_group(&members, size as u64, tips, known, recorded_at, &policy)?;

    {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO events (idx, ticket, seq, record, leaf, recorded_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(from_sqlite)?;
        for e in &plan.events {
            insert
                .execute(params![
                    e.index as i64,
                    e.ticket.as_str(),
                    e.seq as i64,
                    e.record,
                    e.leaf.0.as_slice(),
                    e.recorded_at_ms
                ])
                .map_err(from_sqlite)?;
        }
    }
    if !plan.contents.is_empty() {
        let mut insert = conn
            .prepare_cached("INSERT INTO content (idx, salt, body) VALUES (?1, ?2, ?3)")
            .map_err(from_sqlite)?;
        for (index, (salt, body)) in &plan.contents {
            insert
                .execute(params![*index as i64, salt.as_slice(), body])
                .map_err(from_sqlite)?;
        }
    }
    {
        let mut update = conn
            .prepare_cached(
                "UPDATE tickets SET next_seq = ?2, last_leaf = ?3, state = ?4 WHERE handle = ?1",
            )
            .map_err(from_sqlite)?;
        for (handle, tip) in &plan.tips {
            let state = tip
                .state
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::corrupt)?;
            update
                .execute(params![
                    handle.as_str(),
                    tip.next_seq as i64,
                    tip.last_leaf.0.as_slice(),
                    state
                ])
                .map_err(from_sqlite)?;
        }
    }
    if plan.grows_by() > 0 {
        conn.prepare_cached("UPDATE log_state SET size = size + ?1 WHERE id = 1")
            .and_then(|mut s| s.execute([plan.grows_by() as i64]))
            .map_err(from_sqlite)?;
    }
    if !plan.remember.is_empty() {
        let now = Timestamp::now().to_string();
        let mut put = conn
            .prepare_cached(
                "INSERT INTO idempotency (key, request_hash, result, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(from_sqlite)?;
        for (idem, result) in &plan.remember {
            let json = serde_json::to_string(result).map_err(StoreError::corrupt)?;
            put.execute(params![idem.key, idem.request_hash.0.as_slice(), json, now])
                .map_err(from_sqlite)?;
        }
    }

    let mut events = plan.events.drain(..);
    let mut answers = Vec::with_capacity(plan.members.len());
    for member in std::mem::take(&mut plan.members) {
        let replayed = match &member {
            MemberPlan::Replayed(WriteResult::Events { first_index, count }) => {
                Some(events_by_range(conn, *first_index, *count)?)
            }
            _ => None,
        };
        answers.push(member.answer(&mut events, replayed));
    }
    Ok(answers)
}

/// A replay's first answer, read back inside the transaction.
fn events_by_range(
    conn: &Connection,
    first: u64,
    count: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut get = conn
        .prepare_cached(super::rows::sql::APPENDED_BY_RANGE)
        .map_err(from_sqlite)?;
    let rows = get
        .query_map([first as i64, (first + count) as i64], event_row)
        .map_err(from_sqlite)?;
    rows.map(|row| row.map_err(from_sqlite).and_then(|r| r.into_event(None)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_cache_is_the_one_configured() {
        let dir = tempfile::tempdir().unwrap();
        let cache_size = |writer: &Writer| -> i64 {
            let conn = writer.conn.lock().unwrap();
            conn.query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap()
        };
        let small = Writer::open(&dir.path().join("small.db"), 3).unwrap();
        assert_eq!(cache_size(&small), -3 * 1024);
        let default = Writer::open(&dir.path().join("default.db"), WRITE_CACHE_MIB).unwrap();
        assert_eq!(cache_size(&default), -65_536);
    }
}
