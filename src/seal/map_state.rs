//! The ticket map (PROTOCOL.md §15) as this node holds it: in memory,
//! rebuilt from the records when the node starts, one version per batch.
//!
//! Nothing of the map is stored but each batch's root, written in the
//! batch's own row by the transaction that seals it (`Store::commit_batch`).
//! The map follows from the records, so a SIGKILL at any point while
//! sealing leaves either the batch with its root, or neither; the next
//! start replays every batch and checks each stored root against the
//! replay, and refuses to go on if one disagrees (a map root that does not
//! follow from the records would be a lie to every verifier).
//!
//! Versions share their untouched subtrees (`protocol::map_tree`), so the
//! node keeps the map at the latest anchored batch, which bundles prove
//! against, beside the newer sealed ones for the price of what they changed.

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::log::{Batch, LogEntry, Store, StoreError};
use crate::protocol::Hash32;
use crate::protocol::map::{Tip, map_key};
use crate::protocol::map_tree::MapVersion;

#[derive(Debug, thiserror::Error)]
pub enum MapStateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "batch {batch}'s stored map root {stored} is not the root {replayed} its records give: \
         the ticket map disagrees with the log, and no further batch is sealed on it"
    )]
    Disagrees {
        batch: u64,
        stored: Hash32,
        replayed: Hash32,
    },
}

#[derive(Default)]
struct Versions {
    /// The map after each kept batch; the newest is after batch `next - 1`.
    after: BTreeMap<u64, MapVersion>,
    /// The next batch to apply.
    next: u64,
    /// Versions before this batch are dropped: the latest batch the store
    /// has final, which bundles prove against, only moves on.
    keep_from: u64,
}

impl Versions {
    fn prune(&mut self) {
        let keep_from = self.keep_from.min(self.next.saturating_sub(1));
        if self
            .after
            .first_key_value()
            .is_some_and(|(id, _)| *id < keep_from)
        {
            self.after = self.after.split_off(&keep_from);
        }
    }
}

/// How long the latest final batch read from the store is used before it
/// is read again. A bundle served meanwhile proves against a batch at most
/// this much older, which PROTOCOL.md §15.4 allows (it says so).
const ANCHORED_FRESH_FOR: Duration = Duration::from_millis(500);

/// The map's versions on this node.
#[derive(Default)]
pub struct MapState {
    versions: RwLock<Versions>,
    /// One catch-up at a time: the others then find nothing to do.
    catching_up: tokio::sync::Mutex<()>,
    /// The latest final batch as last read, and when.
    anchored: Mutex<Option<(Instant, Option<Batch>)>>,
}

/// What a batch's entries set in the map: each entry's ticket gets the
/// entry as its tip, in index order (the last of a ticket wins).
pub fn updates(entries: &[LogEntry], batch: u64) -> impl Iterator<Item = (Hash32, Tip)> + '_ {
    entries.iter().map(move |e| {
        (
            map_key(&e.ticket),
            Tip {
                seq: e.seq,
                leaf: e.leaf,
                index: e.index,
                batch,
            },
        )
    })
}

impl MapState {
    pub fn new() -> MapState {
        MapState::default()
    }

    /// A state that has applied every batch up to `after_batch`, with `map`
    /// as the map after it: for tools and benchmarks that start from a
    /// known map instead of replaying the store.
    pub fn seeded(after_batch: u64, map: MapVersion) -> MapState {
        let state = MapState::default();
        {
            let mut v = state.versions.write().unwrap_or_else(|e| e.into_inner());
            v.after.insert(after_batch, map);
            v.next = after_batch + 1;
            v.keep_from = after_batch;
        }
        state
    }

    /// The next batch id this node has not applied, and the map before it.
    pub fn latest(&self) -> (u64, MapVersion) {
        let v = self.versions.read().unwrap_or_else(|e| e.into_inner());
        let map = v.after.values().next_back().cloned().unwrap_or_default();
        (v.next, map)
    }

    /// The map after batch `id`, if this node has applied it and kept it.
    pub fn after(&self, id: u64) -> Option<MapVersion> {
        let v = self.versions.read().unwrap_or_else(|e| e.into_inner());
        v.after.get(&id).cloned()
    }

    /// Records the map after batch `id`, once the batch is committed.
    /// Ignored unless `id` is the next batch (another path got there).
    pub fn push(&self, id: u64, map: MapVersion) {
        let mut v = self.versions.write().unwrap_or_else(|e| e.into_inner());
        if v.next == id {
            v.after.insert(id, map);
            v.next = id + 1;
            v.prune();
        }
    }

    fn keep_from(&self, id: u64) {
        let mut v = self.versions.write().unwrap_or_else(|e| e.into_inner());
        v.keep_from = v.keep_from.max(id);
        v.prune();
    }

    /// The latest batch the store has final (None before the first), read
    /// again at most every ANCHORED_FRESH_FOR.
    pub async fn latest_final(&self, store: &dyn Store) -> Result<Option<Batch>, StoreError> {
        if let Some((at, b)) = &*self.anchored.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < ANCHORED_FRESH_FOR
        {
            return Ok(b.clone());
        }
        let id = match store.first_unfinal_batch().await? {
            Some(b) => b.id.checked_sub(1),
            None => store.unsealed().await?.next_batch_id.checked_sub(1),
        };
        let batch = match id {
            Some(id) => store.batch(id).await?,
            None => None,
        };
        *self.anchored.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), batch.clone()));
        if let Some(id) = id {
            self.keep_from(id);
        }
        Ok(batch)
    }

    /// What a bundle proves against (PROTOCOL.md §15.4): the latest batch
    /// the store has final (anchored and confirmed), if it is a head v2
    /// batch, and the map after it.
    pub async fn proof_point(
        &self,
        store: &dyn Store,
    ) -> Result<Option<(Batch, MapVersion)>, MapStateError> {
        let Some(b) = self.latest_final(store).await? else {
            return Ok(None);
        };
        if b.map_root.is_none() {
            return Ok(None);
        }
        if self.latest().0 <= b.id {
            // Sealed by another node since this one last looked.
            self.catch_up(store).await?;
        }
        Ok(self.after(b.id).map(|m| (b, m)))
    }

    /// Applies the batches the store holds and this node has not, in
    /// order, checking each one's stored map root. Returns how many.
    pub async fn catch_up(&self, store: &dyn Store) -> Result<u64, MapStateError> {
        let _one = self.catching_up.lock().await;
        let latest_final = match store.first_unfinal_batch().await? {
            Some(b) => b.id.saturating_sub(1),
            None => store.unsealed().await?.next_batch_id.saturating_sub(1),
        };
        self.keep_from(latest_final);
        let (mut next, mut map) = self.latest();
        let mut applied = 0;
        loop {
            let batches = store.batches(next, 64).await?;
            if batches.is_empty() {
                return Ok(applied);
            }
            for b in batches {
                if b.id != next {
                    return Err(StoreError::corrupt(format!(
                        "batch {next} is missing: the store's next batch is {}",
                        b.id
                    ))
                    .into());
                }
                let entries = store.entries(b.first_index, b.count).await?;
                map = map.apply_batch(updates(&entries, b.id));
                if let Some(stored) = b.map_root
                    && stored != map.root()
                {
                    return Err(MapStateError::Disagrees {
                        batch: b.id,
                        stored,
                        replayed: map.root(),
                    });
                }
                self.push(b.id, map.clone());
                next += 1;
                applied += 1;
            }
        }
    }
}
