//! rusqlite's side of the row mapping both SQLite paths share (the proof
//! reads of sqlite_reader.rs and the appends of sqlite_writer.rs): rows
//! into `rows.rs`'s types, and rusqlite's errors in the store's terms.

use rusqlite::{ErrorCode, Row};

use super::StoreError;
use super::rows::{BatchRow, EventRow, TicketRow};

/// The columns of `sql::event_columns!` (or `sql::APPENDED_BY_RANGE`), in
/// order.
pub(crate) fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        idx: r.get(0)?,
        ticket: r.get(1)?,
        seq: r.get(2)?,
        record: r.get(3)?,
        leaf: r.get(4)?,
        recorded_at_ms: r.get(5)?,
        batch_id: r.get(6)?,
        batch_first: r.get(7)?,
        batch_count: r.get(8)?,
    })
}

/// The columns of `sql::batch_columns!`, in order, from column `at` on.
/// A `tickets` row, selected as `sql::TICKET_BY_HANDLE` lists its columns.
pub(crate) fn ticket_row(r: &Row<'_>) -> rusqlite::Result<TicketRow> {
    Ok(TicketRow {
        handle: r.get(0)?,
        external_id: r.get(1)?,
        created_at: r.get(2)?,
        next_seq: r.get(3)?,
        last_leaf: r.get(4)?,
        state: r.get(5)?,
    })
}

pub(crate) fn batch_row(r: &Row<'_>, at: usize) -> rusqlite::Result<BatchRow> {
    Ok(BatchRow {
        id: r.get(at)?,
        first_index: r.get(at + 1)?,
        count: r.get(at + 2)?,
        root: r.get(at + 3)?,
        head: r.get(at + 4)?,
        sealed_at_ms: r.get(at + 5)?,
        status: r.get(at + 6)?,
        tx_hash: r.get(at + 7)?,
        nonce: r.get(at + 8)?,
        max_fee_per_gas: r.get(at + 9)?,
        max_priority_fee_per_gas: r.get(at + 10)?,
        submitted_at_ms: r.get(at + 11)?,
        attempts: r.get(at + 12)?,
        block_number: r.get(at + 13)?,
        block_hash: r.get(at + 14)?,
        block_time: r.get(at + 15)?,
        included_at_ms: r.get(at + 16)?,
        final_at_ms: r.get(at + 17)?,
        last_error: r.get(at + 18)?,
        map_root: r.get(at + 19)?,
    })
}

/// rusqlite's errors in the store's terms: the codes that mean "try again
/// later" become `Unavailable` with the same reasons the sqlx path gives
/// (`availability.rs`); anything else is a database error, logged and
/// answered as a 500.
pub(crate) fn from_sqlite(e: rusqlite::Error) -> StoreError {
    let reason = match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => Some("the database disk is full"),
        Some(ErrorCode::SystemIoFailure) => Some("the database could not write to disk"),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Some("the database is busy"),
        _ => None,
    };
    match reason {
        Some(reason) => {
            tracing::warn!(error = %e, "sqlite write failed");
            StoreError::Unavailable(reason.into())
        }
        None => StoreError::Database(sqlx::Error::Protocol(format!("sqlite: {e}"))),
    }
}
