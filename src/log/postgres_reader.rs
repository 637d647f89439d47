//! PostgreSQL proof reads, with what can never change taken from memory
//! (`proof_cache`: tiles and final batches).
//!
//! A bundle of a ticket whose batches are final and whose tiles were read
//! before is one statement: the ticket's events, an index range scan on
//! sessions that plan it once (`postgres::bundle_options`). It was two
//! (events joined to their batch rows through a correlated subquery, then
//! tiles through an `UNNEST` join), each planned on every execution
//! (`plan_cache_mode=force_custom_plan`, see `PgStore::connect`): planning
//! was a quarter of all CPU samples at 3,000 bundles/s, more than executing.
//!
//! Only bundles read through the cache; ranges (exports, audits) read the
//! database of record, so a row changed behind the server shows there.
//!
//! Statements need no common transaction: a batch's membership and tiles
//! are fixed when it is sealed, so events, batches and tiles read apart
//! still agree; only a batch's status moves on, and whatever status is
//! read was true.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sqlx::{FromRow, PgPool, Row};

use super::proof_cache::ProofCache;
use super::rows::{self, BatchRow, EventRow, sql};
use super::tiles::TileKey;
use super::{Batch, StoreError, StoredEvent, TicketProof};
use crate::protocol::fields::TicketHandle;

/// `bundle_reads` runs the events' statement (a generic plan,
/// `postgres::bundle_options`); `pool` whatever the cache lacks.
pub(super) async fn ticket_proof(
    bundle_reads: &PgPool,
    pool: &PgPool,
    cache: &ProofCache,
    handle: &TicketHandle,
) -> Result<TicketProof, StoreError> {
    let mut events: Vec<EventRow> = sqlx::query_as(sql::EVENTS_OF_TICKET)
        .bind(handle.as_str())
        .fetch_all(bundle_reads)
        .await?;
    let mut batches = BTreeMap::new();
    let mut unplaced = Vec::new();
    for event in &mut events {
        match cache.final_batch_at(event.idx as u64) {
            Some(batch) => {
                place(event, &batch);
                batches.entry(batch.id).or_insert(batch);
            }
            None => unplaced.push(event.idx),
        }
    }
    if !unplaced.is_empty() {
        let at = batches_at(pool, &unplaced).await?;
        for event in &mut events {
            if let Some(batch) = at.get(&event.idx) {
                place(event, batch);
                batches.entry(batch.id).or_insert_with(|| {
                    cache.offer_batch(batch);
                    batch.clone()
                });
            }
        }
    }
    Ok(TicketProof {
        events: attach_paths(pool, Some(cache), events).await?,
        batches,
    })
}

/// The events' audit paths: tiles from the cache when one is given, the
/// rest in one read (and then kept in it).
pub(super) async fn attach_paths(
    pool: &PgPool,
    cache: Option<&ProofCache>,
    events: Vec<EventRow>,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut found: HashMap<(u64, TileKey), Arc<[u8]>> = HashMap::new();
    let mut missing = Vec::new();
    for (batch, key) in rows::tile_keys(&events)? {
        match cache.and_then(|c| c.tile(batch, key)) {
            Some(tile) => {
                found.insert((batch, key), tile);
            }
            None => missing.push((batch, key)),
        }
    }
    if !missing.is_empty() {
        let batch: Vec<i64> = missing.iter().map(|(b, _)| *b as i64).collect();
        let stratum: Vec<i64> = missing.iter().map(|(_, k)| i64::from(k.stratum)).collect();
        let index: Vec<i64> = missing.iter().map(|(_, k)| k.index as i64).collect();
        let tiles: Vec<(i64, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT t.batch_id, t.stratum, t.tile, t.hashes FROM batch_tiles t \
             JOIN UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS k(b, s, i) \
             ON t.batch_id = k.b AND t.stratum = k.s AND t.tile = k.i",
        )
        .bind(&batch)
        .bind(&stratum)
        .bind(&index)
        .fetch_all(pool)
        .await?;
        for row in tiles {
            let ((batch, key), hashes) = rows::tile_from_row(row);
            if let Some(cache) = cache {
                cache.offer_tile(batch, key, &hashes);
            }
            found.insert((batch, key), hashes.into());
        }
    }
    // A tile still missing is named by `with_paths` as corruption.
    rows::with_paths(events, &found)
}

/// The batch holding each of `indices`, for those that are sealed.
async fn batches_at(pool: &PgPool, indices: &[i64]) -> Result<HashMap<i64, Batch>, StoreError> {
    let rows = sqlx::query(sql::BATCHES_AT_INDICES)
        .bind(indices)
        .fetch_all(pool)
        .await?;
    let mut at = HashMap::with_capacity(rows.len());
    for row in &rows {
        let index: i64 = row.try_get("at_index")?;
        let batch: Batch = BatchRow::from_row(row)?.try_into()?;
        at.insert(index, batch);
    }
    Ok(at)
}

fn place(event: &mut EventRow, batch: &Batch) {
    event.batch_id = Some(batch.id as i64);
    event.batch_first = Some(batch.first_index as i64);
    event.batch_count = Some(batch.count as i64);
}
