//! The PostgreSQL backend, for several stateless servers on one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::StoreError;
use super::group::Job;
use super::postgres_writer::WriteHandle;
use super::sql_store::impl_sql_store;

/// Bundle reads running at once, each on its own connection, unless
/// configured (`CacheLimits`, `--pg-readers`). Few on purpose: a bundle is a
/// short read, and more at once only queue on the cores as runnable
/// backends. On the harness (2 cores shared with PostgreSQL and wrk, c=16)
/// 8 connections gave 10,000 bundles/s with p99 5.0-5.4 ms, 4 gave
/// 13,000/s with p99 3.9 ms (BENCHMARKS.md, "What measuring changed").
pub(crate) const BUNDLE_READERS: usize = 4;

pub struct PgStore {
    pool: PgPool,
    /// Proof bundles' one statement, planned once per connection
    /// (`bundle_options`).
    bundle_reads: PgPool,
    group: super::group::GroupCommit,
    /// API key lookups, trusted for `keycache::KEY_CACHE_TTL`.
    keys: super::keycache::KeyCache,
    /// Tiles and final batches, which never change (`proof_cache`).
    proofs: super::proof_cache::ProofCache,
}

/// Sessions for the one statement every proof bundle runs
/// (`rows::sql::EVENTS_OF_TICKET`: a ticket's events, in order), and for
/// the ticket counts conditional reads check (`rows::sql::TICKET_COUNTS`,
/// a unique index's lookups). Planning
/// it on every execution, as the main pool's sessions do, was the larger
/// part of PostgreSQL's CPU per bundle once batches and tiles came from
/// memory; a plan kept for the connection's life is safe for it only if it
/// cannot become a scan. With sequential and bitmap scans off, the one plan
/// left is the range scan of the `(ticket, seq)` index, whatever the
/// table's size when it was planned (`tests/pg_sessions.rs` checks this on
/// an empty table). Read-only: these sessions never write.
fn bundle_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    Ok(PgConnectOptions::from_str(url)?.options([
        ("plan_cache_mode", "force_generic_plan"),
        ("enable_seqscan", "off"),
        ("enable_bitmapscan", "off"),
        ("jit", "off"),
        ("max_parallel_workers_per_gather", "0"),
        ("default_transaction_read_only", "on"),
    ]))
}

impl PgStore {
    /// Part of `ping`. PostgreSQL reports a full disk on the write itself
    /// (SQLSTATE 53100, a 503); its server's disk is not this process's.
    fn room_to_write(&self) -> Result<(), StoreError> {
        Ok(())
    }

    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect_with(url, &super::CacheLimits::default()).await
    }

    /// Like `connect`, with the caches bounded by `limits` (the SQLite
    /// store's own are not used here).
    pub async fn connect_with(
        url: &str,
        limits: &super::CacheLimits,
    ) -> Result<PgStore, StoreError> {
        // Every query here is a point or short range lookup, but the
        // planner only sees how big a table is when it plans, and its
        // estimates are poor without statistics (a table never ANALYZEd,
        // as with autovacuum off, is costed at 1/200 of its rows per
        // ticket). Three session settings keep those lookups from turning
        // into scans as the log grows:
        // - plan_cache_mode=force_custom_plan. sqlx prepares every
        //   statement once per connection, and after five executions
        //   PostgreSQL may keep a generic plan for the connection's life; a
        //   growing table does not invalidate it. A connection that served
        //   proofs before the first batch was sealed kept a hash join over a
        //   sequential scan of event_paths (costed as an empty table; audit
        //   paths are in batch_tiles since), so
        //   at 1M events its bundles each read every audit path (0.2-0.4 s)
        //   while newer connections used the index: p50 7 ms, p90 1.2 s.
        //   Planning each execution costs ~0.1 ms.
        // - jit=off. Without statistics the bundle query is costed at
        //   ~144,000 at 1M events, above jit_above_cost (100,000), and
        //   compiled on every execution: 4-9 ms of CPU for a 0.08 ms read
        //   (~350 bundles/s instead of ~3,000/s under load).
        // - max_parallel_workers_per_gather=0: a parallel plan spends
        //   ~10 ms starting workers.
        let options = PgConnectOptions::from_str(url)?.options([
            ("plan_cache_mode", "force_custom_plan"),
            ("jit", "off"),
            ("max_parallel_workers_per_gather", "0"),
        ]);
        let bundle_reads = PgPoolOptions::new()
            .max_connections(limits.pg_readers.max(1) as u32)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(bundle_options(url)?);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            // A connection handed back still inside a transaction (its
            // COMMIT failed half-way) is closed, never reused.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let store = PgStore {
            pool,
            bundle_reads,
            group: Default::default(),
            keys: super::keycache::KeyCache::new(limits.key_entries),
            proofs: super::proof_cache::ProofCache::with_budgets(
                limits.proof_tile_bytes,
                limits.proof_batches,
            ),
        };
        store.backfill_tiles().await?;
        Ok(store)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The sessions that read proof bundles' events (`bundle_options`).
    pub fn bundle_pool(&self) -> &PgPool {
        &self.bundle_reads
    }

    fn write_handle(&self) -> WriteHandle {
        WriteHandle {
            pool: self.pool.clone(),
        }
    }

    /// Several servers may write one PostgreSQL log: what this process
    /// wrote says nothing of the others' writes (`ticket_changes`).
    fn own_changes(&self) -> Option<&super::ticket_changes::TicketChanges> {
        None
    }

    /// Group commit of appends (`postgres_writer`).
    async fn commit_group(handle: WriteHandle, jobs: Vec<Job>) {
        super::postgres_writer::commit_group(handle, jobs).await
    }

    async fn begin_write(&self) -> Result<(Transaction<'static, Postgres>, ()), StoreError> {
        self.write_handle().begin().await
    }

    /// Sealing does not lock the log's counter row up front: it writes
    /// the batch and its tiles first and updates the row last
    /// (`commit_batch`), so appends are not held behind the tiles.
    async fn begin_seal(&self) -> Result<(Transaction<'static, Postgres>, ()), StoreError> {
        Ok((self.pool.begin().await?, ()))
    }

    async fn insert_tiles(
        tx: &mut Transaction<'static, Postgres>,
        batch_id: u64,
        tiles: &[super::tiles::Tile],
    ) -> Result<(), StoreError> {
        // One statement for the whole batch instead of a round trip per row.
        let strata: Vec<i64> = tiles.iter().map(|t| i64::from(t.stratum)).collect();
        let index: Vec<i64> = tiles.iter().map(|t| t.index as i64).collect();
        let hashes: Vec<&[u8]> = tiles.iter().map(|t| t.hashes.as_slice()).collect();
        sqlx::query(
            "INSERT INTO batch_tiles (batch_id, stratum, tile, hashes) \
             SELECT $1, s, t, h FROM UNNEST($2::BIGINT[], $3::BIGINT[], $4::BYTEA[]) AS u(s, t, h)",
        )
        .bind(batch_id as i64)
        .bind(&strata)
        .bind(&index)
        .bind(&hashes)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn read_ticket(
        &self,
        handle: &crate::protocol::fields::TicketHandle,
    ) -> Result<Option<super::Ticket>, StoreError> {
        use super::rows::{TicketRow, sql};
        let row: Option<TicketRow> = sqlx::query_as(sql::TICKET_BY_HANDLE)
            .bind(handle.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Tickets' event counts in one statement, mapped back to the order
    /// asked (a handle asked twice is answered twice).
    async fn read_ticket_counts(
        &self,
        handles: &[crate::protocol::fields::TicketHandle],
    ) -> Result<Vec<Option<u64>>, StoreError> {
        let asked: Vec<&str> = handles.iter().map(|h| h.as_str()).collect();
        // On the bundle sessions, planned once: its only plan there is the
        // unique handle index's scan (`bundle_options`), and not planning
        // each read took the harness's 304s from 22k to 26k/s
        // (BENCHMARKS.md, "What measuring changed").
        let rows: Vec<(String, i64)> = sqlx::query_as(super::rows::sql::TICKET_COUNTS)
            .bind(&asked)
            .fetch_all(&self.bundle_reads)
            .await?;
        let counts: std::collections::HashMap<String, i64> = rows.into_iter().collect();
        Ok(asked
            .iter()
            .map(|h| counts.get(*h).map(|&n| n as u64))
            .collect())
    }

    /// The sealer's read: a range's entries, in index order.
    async fn read_entries(
        &self,
        first_index: u64,
        count: u64,
    ) -> Result<Vec<super::LogEntry>, StoreError> {
        let rows: Vec<(i64, String, i64, Vec<u8>)> = sqlx::query_as(super::rows::sql::ENTRIES)
            .bind(first_index as i64)
            .bind((first_index + count) as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|(index, ticket, seq, leaf)| super::rows::log_entry(index, &ticket, seq, &leaf))
            .collect()
    }

    /// A ticket's events with their batches and audit paths
    /// (`postgres_reader`: what never changes comes from memory).
    async fn read_ticket_proof(
        &self,
        handle: &crate::protocol::fields::TicketHandle,
    ) -> Result<super::TicketProof, StoreError> {
        super::postgres_reader::ticket_proof(&self.bundle_reads, &self.pool, &self.proofs, handle)
            .await
    }

    /// A range's audit paths (`events_by_range`).
    async fn attach_paths(
        &self,
        rows: Vec<super::rows::EventRow>,
    ) -> Result<Vec<super::StoredEvent>, StoreError> {
        // Ranges are what exports and audits read: from the database of
        // record, never from this process's memory, so a row changed
        // behind the server is seen (tests/audit.rs) rather than masked.
        super::postgres_reader::attach_paths(&self.pool, None, rows).await
    }
}

impl_sql_store!(PgStore, Postgres, "postgres");
