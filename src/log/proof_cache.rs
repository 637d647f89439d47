//! What a proof bundle reads that can never change, kept in memory: a
//! sealed batch's tiles (its tree is fixed at sealing), and final batches
//! (final is the last step of a batch's lifecycle; nothing moves a batch
//! out of it). Bundles then read from the database only what may still
//! change: a ticket's events, and batches not yet final.
//!
//! Only immutable facts are cached, so several servers on one database
//! each keep their own cache with no invalidation, as tiles are cached by
//! anyone who serves them (Tessera, CT tile logs).
//!
//! Bounded by a budget per kind; eviction is generational: entries go into
//! a young map, a hit in the old one moves the entry back to the young,
//! and when the young map holds half the budget the old one is dropped
//! and the young becomes old. Lookups and inserts stay O(log n), and the
//! entries read since the last turn over survive it (an approximate LRU,
//! without a list to maintain on every hit).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Batch;
use super::tiles::TileKey;

/// Bytes of tiles kept unless configured (`CacheLimits`): the whole tree
/// of about a million events (two hashes per event), or the tiles of the
/// most read tickets past that.
pub const TILE_BUDGET_BYTES: usize = 64 << 20;
/// Final batches kept unless configured (a few hundred bytes each).
pub const BATCH_BUDGET: usize = 16_384;

/// A bounded map with generational eviction (see the module docs).
struct Generations<K, V> {
    young: BTreeMap<K, V>,
    old: BTreeMap<K, V>,
    young_cost: usize,
    /// Both generations together stay within this.
    budget: usize,
    cost: fn(&V) -> usize,
}

impl<K: Ord + Copy, V: Clone> Generations<K, V> {
    fn new(budget: usize, cost: fn(&V) -> usize) -> Self {
        Generations {
            young: BTreeMap::new(),
            old: BTreeMap::new(),
            young_cost: 0,
            budget,
            cost,
        }
    }

    fn get(&mut self, key: &K) -> Option<V> {
        if let Some(v) = self.young.get(key) {
            return Some(v.clone());
        }
        let v = self.old.remove(key)?;
        self.insert(*key, v.clone());
        Some(v)
    }

    /// The entry with the greatest key at or below `key`, if `accept` takes
    /// it (in the young generation, else in the old).
    fn get_at_or_below(&mut self, key: &K, accept: impl Fn(&K, &V) -> bool) -> Option<V> {
        let below = |m: &BTreeMap<K, V>| {
            m.range((Bound::Unbounded, Bound::Included(*key)))
                .next_back()
                .filter(|(k, v)| accept(k, v))
                .map(|(k, _)| *k)
        };
        if let Some(k) = below(&self.young) {
            return self.young.get(&k).cloned();
        }
        let k = below(&self.old)?;
        let v = self.old.remove(&k)?;
        self.insert(k, v.clone());
        Some(v)
    }

    fn insert(&mut self, key: K, value: V) {
        let cost = (self.cost)(&value);
        if cost > self.budget / 2 {
            return;
        }
        if self.young_cost + cost > self.budget / 2 {
            self.old = std::mem::take(&mut self.young);
            self.young_cost = 0;
        }
        self.old.remove(&key);
        if let Some(previous) = self.young.insert(key, value) {
            self.young_cost -= (self.cost)(&previous);
        }
        self.young_cost += cost;
    }

    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

/// Hit and miss counts, for /metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub tile_hits: u64,
    pub tile_misses: u64,
    pub tiles: u64,
    pub batch_hits: u64,
    pub batch_misses: u64,
    pub batches: u64,
}

/// Tiles keyed by (batch id, tile).
type Tiles = Generations<(u64, TileKey), std::sync::Arc<[u8]>>;

pub struct ProofCache {
    tiles: Mutex<Tiles>,
    /// Final batches, keyed by first index.
    batches: Mutex<Generations<u64, Batch>>,
    tile_hits: AtomicU64,
    tile_misses: AtomicU64,
    batch_hits: AtomicU64,
    batch_misses: AtomicU64,
}

impl Default for ProofCache {
    fn default() -> Self {
        ProofCache::with_budgets(TILE_BUDGET_BYTES, BATCH_BUDGET)
    }
}

impl ProofCache {
    pub fn with_budgets(tile_bytes: usize, batches: usize) -> Self {
        ProofCache {
            tiles: Mutex::new(Generations::new(tile_bytes, |t: &std::sync::Arc<[u8]>| {
                t.len() + 48
            })),
            batches: Mutex::new(Generations::new(batches, |_| 1)),
            tile_hits: AtomicU64::new(0),
            tile_misses: AtomicU64::new(0),
            batch_hits: AtomicU64::new(0),
            batch_misses: AtomicU64::new(0),
        }
    }

    /// The final batch holding log index `index`, if cached.
    pub fn final_batch_at(&self, index: u64) -> Option<Batch> {
        let found = lock(&self.batches).get_at_or_below(&index, |first, b| index < first + b.count);
        count(&self.batch_hits, &self.batch_misses, found.is_some());
        found
    }

    /// Keeps `batch` if it is final; any other status may still change.
    pub fn offer_batch(&self, batch: &Batch) {
        if batch.status == super::BatchStatus::Final {
            lock(&self.batches).insert(batch.first_index, batch.clone());
        }
    }

    pub fn tile(&self, batch: u64, key: TileKey) -> Option<std::sync::Arc<[u8]>> {
        let found = lock(&self.tiles).get(&(batch, key));
        count(&self.tile_hits, &self.tile_misses, found.is_some());
        found
    }

    /// Keeps a tile read from a sealed batch.
    pub fn offer_tile(&self, batch: u64, key: TileKey, hashes: &[u8]) {
        lock(&self.tiles).insert((batch, key), hashes.into());
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            tile_hits: self.tile_hits.load(Ordering::Relaxed),
            tile_misses: self.tile_misses.load(Ordering::Relaxed),
            tiles: lock(&self.tiles).len() as u64,
            batch_hits: self.batch_hits.load(Ordering::Relaxed),
            batch_misses: self.batch_misses.load(Ordering::Relaxed),
            batches: lock(&self.batches).len() as u64,
        }
    }
}

fn count(hits: &AtomicU64, misses: &AtomicU64, hit: bool) {
    let counter = if hit { hits } else { misses };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A panic while holding the lock cannot leave a half-updated entry (each
/// update is one map operation), so a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::BatchStatus;
    use crate::protocol::Hash32;

    fn batch(id: u64, first_index: u64, count: u64, status: BatchStatus) -> Batch {
        Batch {
            id,
            first_index,
            count,
            root: Hash32([1; 32]),
            head: Hash32([2; 32]),
            sealed_at_ms: 0,
            status,
            submission: None,
            attempts: 0,
            inclusion: None,
            final_at_ms: None,
            last_error: None,
            map_root: None,
        }
    }

    fn key(index: u64) -> TileKey {
        TileKey { stratum: 0, index }
    }

    #[test]
    fn only_final_batches_are_kept_and_found_by_any_index_inside() {
        let cache = ProofCache::default();
        cache.offer_batch(&batch(0, 0, 10, BatchStatus::Final));
        cache.offer_batch(&batch(1, 10, 5, BatchStatus::Included));
        cache.offer_batch(&batch(2, 15, 5, BatchStatus::Final));
        for i in 0..10 {
            assert_eq!(cache.final_batch_at(i).unwrap().id, 0);
        }
        // Batch 1 may still be reorged out: never cached, so read each time.
        for i in 10..15 {
            assert!(cache.final_batch_at(i).is_none(), "index {i}");
        }
        for i in 15..20 {
            assert_eq!(cache.final_batch_at(i).unwrap().id, 2);
        }
        // Past the last batch: not sealed yet, not in any batch.
        assert!(cache.final_batch_at(20).is_none());
        let s = cache.stats();
        assert_eq!((s.batch_hits, s.batch_misses, s.batches), (15, 6, 2));
    }

    #[test]
    fn tiles_stay_within_budget_and_recently_read_ones_survive() {
        // Room for 8 tiles of 952 + 48 bytes: 4 per generation.
        let cache = ProofCache::with_budgets(8_000, 16);
        let tile = vec![7u8; 952];
        for i in 0..4 {
            cache.offer_tile(0, key(i), &tile);
        }
        // Filling the young generation turns it over: 0..4 become old.
        for i in 4..8 {
            cache.offer_tile(0, key(i), &tile);
        }
        assert_eq!(cache.stats().tiles, 8);
        // Reading tile 0 brings it back into the young generation...
        assert_eq!(cache.tile(0, key(0)).as_deref(), Some(tile.as_slice()));
        // ...so it survives the next turn over, which drops 1..4.
        for i in 8..12 {
            cache.offer_tile(0, key(i), &tile);
        }
        assert!(cache.tile(0, key(0)).is_some());
        for i in 1..4 {
            assert!(cache.tile(0, key(i)).is_none(), "tile {i}");
        }
        assert!(cache.stats().tiles <= 8);
        // Another batch's tile with the same key is another entry.
        assert!(cache.tile(1, key(0)).is_none());
    }

    #[test]
    fn final_batches_stay_within_their_budget() {
        let small = ProofCache::with_budgets(TILE_BUDGET_BYTES, 4);
        let default = ProofCache::default();
        for id in 0..10 {
            small.offer_batch(&batch(id, id * 10, 10, BatchStatus::Final));
            default.offer_batch(&batch(id, id * 10, 10, BatchStatus::Final));
            assert!(small.stats().batches <= 4, "after batch {id}");
        }
        assert_eq!(default.stats().batches, 10);
        // The latest are the ones kept.
        assert_eq!(small.final_batch_at(95).unwrap().id, 9);
        assert!(small.final_batch_at(5).is_none());
    }

    #[test]
    fn an_entry_larger_than_half_the_budget_is_not_kept() {
        let cache = ProofCache::with_budgets(1_000, 16);
        cache.offer_tile(0, key(0), &[0u8; 600]);
        assert!(cache.tile(0, key(0)).is_none());
        assert_eq!(cache.stats().tiles, 0);
    }
}
