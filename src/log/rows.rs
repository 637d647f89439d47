//! Row shapes shared by both backends (the column types are the same in
//! SQLite and PostgreSQL: BIGINT/INTEGER, BYTEA/BLOB, TEXT) and their
//! conversion into domain types.

use std::collections::{BTreeSet, HashMap};

use super::tiles::{self, TileKey};
use super::{Batch, BatchStatus, Inclusion, StoreError, StoredEvent, Submission, hash_from};
use crate::protocol::Hash32;
use crate::protocol::fields::TicketHandle;

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub idx: i64,
    pub ticket: String,
    pub seq: i64,
    pub record: String,
    pub leaf: Vec<u8>,
    pub recorded_at_ms: i64,
    /// The batch holding the event, once sealed: id, first index, size.
    pub batch_id: Option<i64>,
    pub batch_first: Option<i64>,
    pub batch_count: Option<i64>,
}

/// Where a sealed event sits: its batch, the batch's size, its position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    pub batch: u64,
    pub count: u64,
    pub position: u64,
}

impl EventRow {
    pub fn placement(&self) -> Result<Option<Placement>, StoreError> {
        match (self.batch_id, self.batch_first, self.batch_count) {
            (Some(batch), Some(first), Some(count))
                if first <= self.idx && self.idx < first + count =>
            {
                Ok(Some(Placement {
                    batch: batch as u64,
                    count: count as u64,
                    position: (self.idx - first) as u64,
                }))
            }
            (None, None, None) => Ok(None),
            _ => Err(StoreError::corrupt(format!(
                "event {} has an inconsistent batch",
                self.idx
            ))),
        }
    }

    pub fn into_event(self, sealed: Option<(u64, Vec<Hash32>)>) -> Result<StoredEvent, StoreError> {
        Ok(StoredEvent {
            index: self.idx as u64,
            ticket: TicketHandle::parse(&self.ticket).map_err(StoreError::corrupt)?,
            seq: self.seq as u64,
            record: self.record,
            leaf: hash_from(&self.leaf, "leaf")?,
            recorded_at_ms: self.recorded_at_ms,
            sealed,
        })
    }
}

/// A log entry from its row (`sql::ENTRIES`: idx, ticket, seq, leaf).
pub(crate) fn log_entry(
    index: i64,
    ticket: &str,
    seq: i64,
    leaf: &[u8],
) -> Result<super::LogEntry, StoreError> {
    Ok(super::LogEntry {
        index: index as u64,
        ticket: TicketHandle::parse(ticket)
            .map_err(|e| StoreError::corrupt(format!("entry {index}: {e}")))?,
        seq: seq as u64,
        leaf: hash_from(leaf, "leaf")?,
    })
}

/// The tiles a list of events' audit paths read, each once.
pub(crate) fn tile_keys(rows: &[EventRow]) -> Result<Vec<(u64, TileKey)>, StoreError> {
    let mut keys = BTreeSet::new();
    for row in rows {
        if let Some(p) = row.placement()? {
            keys.extend(tiles::keys(p.count, p.position).map(|k| (p.batch, k)));
        }
    }
    Ok(keys.into_iter().collect())
}

/// The events, each with its audit path read from `found` tiles.
pub(crate) fn with_paths<T: AsRef<[u8]>>(
    rows: Vec<EventRow>,
    found: &HashMap<(u64, TileKey), T>,
) -> Result<Vec<StoredEvent>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let sealed = match row.placement()? {
                Some(p) => {
                    let path = tiles::path(p.count, p.position, |k| {
                        found.get(&(p.batch, k)).map(AsRef::as_ref)
                    })
                    .map_err(|e| StoreError::corrupt(format!("batch {}: {e}", p.batch)))?;
                    Some((p.batch, path))
                }
                None => None,
            };
            row.into_event(sealed)
        })
        .collect()
}

/// A tile row: (batch_id, stratum, tile, hashes).
pub(crate) fn tile_from_row(
    (batch, stratum, index, hashes): (i64, i64, i64, Vec<u8>),
) -> ((u64, TileKey), Vec<u8>) {
    (
        (
            batch as u64,
            TileKey {
                stratum: stratum as u32,
                index: index as u64,
            },
        ),
        hashes,
    )
}

#[derive(sqlx::FromRow)]
pub(crate) struct BatchRow {
    pub id: i64,
    pub first_index: i64,
    pub count: i64,
    pub root: Vec<u8>,
    pub head: Vec<u8>,
    pub sealed_at_ms: i64,
    pub status: String,
    pub tx_hash: Option<Vec<u8>>,
    pub nonce: Option<i64>,
    pub max_fee_per_gas: Option<String>,
    pub max_priority_fee_per_gas: Option<String>,
    pub submitted_at_ms: Option<i64>,
    pub attempts: i64,
    pub block_number: Option<i64>,
    pub block_hash: Option<Vec<u8>>,
    pub block_time: Option<i64>,
    pub included_at_ms: Option<i64>,
    pub final_at_ms: Option<i64>,
    pub last_error: Option<String>,
    pub map_root: Option<Vec<u8>>,
}

fn fee(s: &Option<String>) -> Result<u128, StoreError> {
    s.as_deref()
        .unwrap_or("0")
        .parse()
        .map_err(|_| StoreError::corrupt("fee is not an integer"))
}

impl TryFrom<BatchRow> for Batch {
    type Error = StoreError;
    fn try_from(r: BatchRow) -> Result<Batch, StoreError> {
        let submission = match (&r.tx_hash, r.nonce, r.submitted_at_ms) {
            (Some(tx), Some(nonce), Some(at_ms)) => Some(Submission {
                tx_hash: hash_from(tx, "tx_hash")?,
                nonce: nonce as u64,
                max_fee_per_gas: fee(&r.max_fee_per_gas)?,
                max_priority_fee_per_gas: fee(&r.max_priority_fee_per_gas)?,
                at_ms,
            }),
            _ => None,
        };
        let inclusion = match (
            r.block_number,
            &r.block_hash,
            r.block_time,
            r.included_at_ms,
        ) {
            (Some(n), Some(h), Some(t), Some(at_ms)) => Some(Inclusion {
                block_number: n as u64,
                block_hash: hash_from(h, "block_hash")?,
                block_time: t as u64,
                at_ms,
            }),
            _ => None,
        };
        Ok(Batch {
            id: r.id as u64,
            first_index: r.first_index as u64,
            count: r.count as u64,
            root: hash_from(&r.root, "root")?,
            head: hash_from(&r.head, "head")?,
            sealed_at_ms: r.sealed_at_ms,
            status: BatchStatus::parse(&r.status)?,
            submission,
            attempts: r.attempts as u32,
            inclusion,
            final_at_ms: r.final_at_ms,
            last_error: r.last_error,
            map_root: r
                .map_root
                .as_deref()
                .map(|m| hash_from(m, "map_root"))
                .transpose()?,
        })
    }
}

/// SQL shared by both backends. sqlx binds `$N` placeholders on SQLite as on
/// PostgreSQL, so one text serves both.
pub(crate) mod sql {
    macro_rules! event_columns {
        () => {
            "SELECT e.idx, e.ticket, e.seq, e.record, e.leaf, e.recorded_at_ms, \
             b.id AS batch_id, b.first_index AS batch_first, b.count AS batch_count"
        };
    }
    /// An event's columns, then its whole batch row (as in `BatchRow`).
    macro_rules! event_and_batch_columns {
        () => {
            concat!(
                event_columns!(),
                ", b.id, b.first_index, b.count, b.root, b.head, b.sealed_at_ms, b.status, b.tx_hash, b.nonce, \
                 b.max_fee_per_gas, b.max_priority_fee_per_gas, b.submitted_at_ms, b.attempts, b.block_number, \
                 b.block_hash, b.block_time, b.included_at_ms, b.final_at_ms, b.last_error, b.map_root"
            )
        };
    }
    macro_rules! events_with_batch {
        // An event's batch is the last one starting at or before it, if
        // the event is inside it (else it is not sealed yet).
        () => {
            " FROM events e LEFT JOIN batches b ON b.id = \
             (SELECT id FROM batches WHERE first_index <= e.idx ORDER BY first_index DESC LIMIT 1) \
             AND e.idx < b.first_index + b.count"
        };
    }
    /// Events with the columns of `EventRow`, their batch left NULL.
    macro_rules! events_unplaced {
        () => {
            "SELECT idx, ticket, seq, record, leaf, recorded_at_ms, \
             CAST(NULL AS BIGINT) AS batch_id, CAST(NULL AS BIGINT) AS batch_first, \
             CAST(NULL AS BIGINT) AS batch_count FROM events"
        };
    }
    macro_rules! batch_columns {
        () => {
            "id, first_index, count, root, head, sealed_at_ms, status, tx_hash, nonce, \
             max_fee_per_gas, max_priority_fee_per_gas, submitted_at_ms, attempts, block_number, block_hash, \
             block_time, included_at_ms, final_at_ms, last_error, map_root"
        };
    }
    macro_rules! batch_select {
        () => {
            concat!("SELECT ", batch_columns!(), " FROM batches")
        };
    }
    /// A ticket's events, each with its whole batch row (columns as in
    /// `BatchRow`), so a proof bundle is this and one tile read.
    pub const EVENTS_BY_TICKET: &str = concat!(
        event_and_batch_columns!(),
        events_with_batch!(),
        " WHERE e.ticket = $1 ORDER BY e.seq"
    );
    pub const EVENTS_BY_RANGE: &str = concat!(
        event_columns!(),
        events_with_batch!(),
        " WHERE e.idx >= $1 AND e.idx < $2 ORDER BY e.idx"
    );
    /// A ticket's events without their batches, which the PostgreSQL
    /// reader places from its cache of final batches (`proof_cache`) and
    /// reads with `BATCHES_AT_INDICES` for the rest: one index range scan,
    /// cheap to plan.
    pub const EVENTS_OF_TICKET: &str =
        concat!(events_unplaced!(), " WHERE ticket = $1 ORDER BY seq");
    /// For each index in the array, the batch holding it (none if it is
    /// not sealed yet), as `at_index` and the columns of `BatchRow`.
    pub const BATCHES_AT_INDICES: &str = concat!(
        "SELECT u.i AS at_index, ",
        batch_columns!(),
        " FROM UNNEST($1::BIGINT[]) AS u(i) JOIN batches b ON b.id = \
         (SELECT id FROM batches WHERE first_index <= u.i ORDER BY first_index DESC LIMIT 1) \
         AND u.i < b.first_index + b.count"
    );
    /// Events without their batch: a replay's answer, read back inside
    /// its append transaction, which reports no batch (as when first sent).
    pub const APPENDED_BY_RANGE: &str = concat!(
        events_unplaced!(),
        " WHERE idx >= $1 AND idx < $2 ORDER BY idx"
    );
    pub const BATCH_BY_ID: &str = concat!(batch_select!(), " WHERE id = $1");
    pub const BATCHES_FROM: &str = concat!(batch_select!(), " WHERE id >= $1 ORDER BY id LIMIT $2");
    pub const FIRST_UNFINAL: &str = concat!(
        batch_select!(),
        " WHERE status <> 'final' ORDER BY id LIMIT 1"
    );
    pub const INSERT_TICKET: &str = "INSERT INTO tickets (handle, external_id, created_at, next_seq, last_leaf, state) \
         VALUES ($1, $2, $3, 0, $4, NULL) ON CONFLICT (external_id) DO NOTHING";
    pub const TICKET_BY_EXTERNAL: &str = "SELECT handle, external_id, created_at, next_seq, last_leaf, state FROM tickets WHERE external_id = $1";
    pub const TICKET_BY_HANDLE: &str = "SELECT handle, external_id, created_at, next_seq, last_leaf, state FROM tickets WHERE handle = $1";
    /// A ticket's event count (SQLite: run once per handle of a
    /// `ticket_counts` read, in one hand-off).
    pub const TICKET_COUNT: &str = "SELECT next_seq FROM tickets WHERE handle = $1";
    /// The event counts of the tickets in a text array (PostgreSQL: a
    /// `ticket_counts` read in one statement; absent tickets give no row).
    pub const TICKET_COUNTS: &str = "SELECT handle, next_seq FROM tickets WHERE handle = ANY($1)";
    pub const GROW_LOG: &str = "UPDATE log_state SET size = size + $1 WHERE id = 1";
    pub const LOG_STATE: &str = "SELECT size, sealed FROM log_state WHERE id = 1";
    pub const BATCH_COUNTS: &str = "SELECT COUNT(*), \
         COALESCE(SUM(CASE WHEN status IN ('included', 'final') THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN status = 'final' THEN 1 ELSE 0 END), 0) FROM batches";
    /// Batch ids are contiguous from 0, so the next one is MAX + 1 (an
    /// index lookup, unlike counting every batch).
    pub const NEXT_BATCH_ID: &str = "SELECT COALESCE(MAX(id) + 1, 0) FROM batches";
    pub const RECORDED_AT: &str = "SELECT recorded_at_ms FROM events WHERE idx = $1";
    pub const INDEX_RANGE_BY_TIME: &str =
        "SELECT MIN(idx), MAX(idx) FROM events WHERE recorded_at_ms >= $1 AND recorded_at_ms < $2";
    pub const ENTRIES: &str =
        "SELECT idx, ticket, seq, leaf FROM events WHERE idx >= $1 AND idx < $2 ORDER BY idx";
    pub const LEAVES: &str = "SELECT leaf FROM events WHERE idx >= $1 AND idx < $2 ORDER BY idx";
    pub const ADVANCE_SEALED: &str =
        "UPDATE log_state SET sealed = $1 WHERE id = 1 AND sealed = $2 AND size >= $1";
    pub const ALL_TICKETS: &str = "SELECT handle, external_id, created_at, next_seq, last_leaf, state FROM tickets ORDER BY handle";
    /// Imported tickets' tips (src/log/import.rs), created or moved on:
    /// the head of a multi-row `VALUES` list of (handle, external_id,
    /// created_at, next_seq, last_leaf, state), then `UPSERT_TIPS_TAIL`.
    pub const UPSERT_TIPS: &str =
        "INSERT INTO tickets (handle, external_id, created_at, next_seq, last_leaf, state) ";
    pub const UPSERT_TIPS_TAIL: &str = " ON CONFLICT (handle) DO UPDATE SET \
         next_seq = excluded.next_seq, last_leaf = excluded.last_leaf, state = excluded.state";
    /// Imported records: the head of a multi-row `VALUES` list of (idx,
    /// ticket, seq, record, leaf, recorded_at_ms).
    pub const INSERT_EVENTS: &str =
        "INSERT INTO events (idx, ticket, seq, record, leaf, recorded_at_ms) ";
    pub const SET_LOG_STATE: &str = "UPDATE log_state SET size = $1, sealed = $2 WHERE id = 1";
    /// An imported batch, final, with where the chain anchored it.
    pub const INSERT_FINAL_BATCH: &str = "INSERT INTO batches (id, first_index, count, root, head, sealed_at_ms, status, \
         tx_hash, nonce, max_fee_per_gas, max_priority_fee_per_gas, submitted_at_ms, attempts, \
         block_number, block_hash, block_time, included_at_ms, final_at_ms, map_root) \
         VALUES ($1, $2, $3, $4, $5, $6, 'final', $7, $8, $9, $10, $11, 1, $12, $13, $14, $15, $16, $17)";
    pub const INSERT_BATCH: &str = "INSERT INTO batches (id, first_index, count, root, head, sealed_at_ms, status, map_root) \
         VALUES ($1, $2, $3, $4, $5, $6, 'sealed', $7)";
    /// Followed by a VALUES list.
    pub const INSERT_TILES: &str = "INSERT INTO batch_tiles (batch_id, stratum, tile, hashes) ";
    /// Batches sealed before tiles existed (migration 0006): more than one
    /// event, no tile.
    pub const BATCHES_WITHOUT_TILES: &str = "SELECT b.id FROM batches b WHERE b.count > 1 \
         AND NOT EXISTS (SELECT 1 FROM batch_tiles t WHERE t.batch_id = b.id) ORDER BY b.id";
    pub const TILE_COUNT: &str = "SELECT COUNT(*) FROM batch_tiles WHERE batch_id = $1";
    pub const DROP_LEGACY_PATHS: &str = "DELETE FROM event_paths WHERE batch_id = $1";
    pub const STEP_SUBMITTED: &str = "UPDATE batches SET status = 'submitted', tx_hash = $1, nonce = $2, \
         max_fee_per_gas = $3, max_priority_fee_per_gas = $4, submitted_at_ms = $5, attempts = attempts + 1 \
         WHERE id = $6 AND status = $7";
    pub const STEP_INCLUDED: &str = "UPDATE batches SET status = 'included', block_number = $1, block_hash = $2, \
         block_time = $3, included_at_ms = $4 WHERE id = $5 AND status = $6";
    pub const STEP_FINAL: &str = "UPDATE batches SET status = 'final', final_at_ms = $1, last_error = NULL WHERE id = $2 AND status = $3";
    pub const STEP_RESET: &str = "UPDATE batches SET status = 'sealed', tx_hash = NULL, nonce = NULL, \
         max_fee_per_gas = NULL, max_priority_fee_per_gas = NULL, submitted_at_ms = NULL, block_number = NULL, \
         block_hash = NULL, block_time = NULL, included_at_ms = NULL, last_error = $1 WHERE id = $2 AND status = $3";
    pub const NOTE_ERROR: &str = "UPDATE batches SET last_error = $1 WHERE id = $2";
    pub const INSERT_KEY: &str = "INSERT INTO api_keys (id, key_hash, scopes, label, created_at) VALUES ($1, $2, $3, $4, $5)";
    pub const KEY_BY_HASH: &str =
        "SELECT id, scopes, label FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL";
    pub const LIST_KEYS: &str = "SELECT id, scopes, label, created_at, revoked_at, replaced_by FROM api_keys ORDER BY created_at, id";
    pub const ACTIVE_KEY: &str =
        "SELECT scopes, label FROM api_keys WHERE id = $1 AND revoked_at IS NULL";
    pub const REVOKE_KEY: &str = "UPDATE api_keys SET revoked_at = $1, replaced_by = $2 WHERE id = $3 AND revoked_at IS NULL";
}

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
    pub handle: String,
    pub external_id: String,
    pub created_at: String,
    pub next_seq: i64,
    pub last_leaf: Vec<u8>,
    pub state: Option<String>,
}

impl TryFrom<TicketRow> for super::Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> Result<super::Ticket, StoreError> {
        Ok(super::Ticket {
            handle: TicketHandle::parse(&r.handle).map_err(StoreError::corrupt)?,
            external_id: r.external_id,
            created_at: r.created_at,
            tip: super::tip_from_parts(r.next_seq, &r.last_leaf, r.state.as_deref())?,
        })
    }
}
