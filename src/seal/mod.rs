//! Sealing: closing the unsealed tail of the log into a batch, building its
//! RFC 6962 tree and storing the tree's tiles (`log::tiles`), and applying
//! the batch to the ticket map (`map_state`, PROTOCOL.md §15), all in one
//! transaction: a batch is sealed completely, with its map root, or not at
//! all.

pub mod map_state;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::log::tiles::tiles;
use crate::log::{NewBatch, Store, StoreError};
use crate::protocol::fields::Timestamp;
use crate::protocol::map::batch_head_of;
use crate::protocol::tree::{BatchTree, ProofError};
pub use map_state::{MapState, MapStateError};

#[derive(Debug, Clone, Copy)]
pub struct SealPolicy {
    /// A batch closes as soon as this many events wait.
    pub max_batch: u64,
    /// … or when the oldest waiting event is this old.
    pub max_age: Duration,
}

impl Default for SealPolicy {
    fn default() -> Self {
        SealPolicy {
            max_batch: 65_536,
            max_age: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("tree: {0}")]
    Tree(#[from] ProofError),
    #[error(transparent)]
    Map(#[from] MapStateError),
    #[error("the sealing work stopped: {0}")]
    Task(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub batch_id: u64,
    pub first_index: u64,
    pub count: u64,
}

/// The first batch id whose head is v2 (PROTOCOL.md §15.3). A log that
/// already has batches switches at its next one; once a batch is v2, every
/// later one is.
pub const HEAD_V2_FROM: u64 = 0;

/// What seals: the store, the policy, the batch id heads switch to v2 at,
/// and the ticket map the batches are applied to.
#[derive(Clone)]
pub struct Sealer {
    pub store: Arc<dyn Store>,
    pub policy: SealPolicy,
    pub head_v2_from: u64,
    pub map: Arc<MapState>,
}

impl Sealer {
    pub fn new(store: Arc<dyn Store>, policy: SealPolicy, map: Arc<MapState>) -> Sealer {
        Sealer {
            store,
            policy,
            head_v2_from: HEAD_V2_FROM,
            map,
        }
    }

    /// Seals one batch if one is due (or `force`, if anything waits).
    pub async fn seal_once(&self, force: bool) -> Result<Option<Sealed>, SealError> {
        seal_once_with(self, force).await
    }

    /// Seals everything waiting, in as many batches as the size limit needs.
    pub async fn seal_all(&self) -> Result<Vec<Sealed>, SealError> {
        let mut out = Vec::new();
        while let Some(s) = self.seal_once(true).await? {
            out.push(s);
        }
        Ok(out)
    }
}

/// Seals one batch if one is due (or `force`, if anything waits), with a
/// ticket map rebuilt for the call: for tests and tools that seal once.
pub async fn seal_once(
    store: &dyn Store,
    policy: &SealPolicy,
    force: bool,
) -> Result<Option<Sealed>, SealError> {
    let map = MapState::new();
    map.catch_up(store).await?;
    seal_with(store, policy, HEAD_V2_FROM, &map, force).await
}

async fn seal_once_with(sealer: &Sealer, force: bool) -> Result<Option<Sealed>, SealError> {
    seal_with(
        sealer.store.as_ref(),
        &sealer.policy,
        sealer.head_v2_from,
        &sealer.map,
        force,
    )
    .await
}

async fn seal_with(
    store: &dyn Store,
    policy: &SealPolicy,
    head_v2_from: u64,
    map: &MapState,
    force: bool,
) -> Result<Option<Sealed>, SealError> {
    let waiting = store.unsealed().await?;
    if waiting.count == 0 {
        return Ok(None);
    }
    let now = Timestamp::now().millis();
    let age_ms = waiting.oldest_recorded_at_ms.map_or(0, |t| now - t);
    let due =
        force || waiting.count >= policy.max_batch || age_ms >= policy.max_age.as_millis() as i64;
    if !due {
        return Ok(None);
    }
    let count = waiting.count.min(policy.max_batch.max(1));
    let id = waiting.next_batch_id;
    // The map must stand after batch id − 1: batches sealed elsewhere are
    // applied first.
    if map.latest().0 < id {
        map.catch_up(store).await?;
    }
    let (next, before) = map.latest();
    if next != id {
        return Err(StoreError::Contended {
            expected: format!("the ticket map at batch {id}, not {next}"),
        }
        .into());
    }
    let entries = Arc::new(store.entries(waiting.first_index, count).await?);
    // The tree with its tiles, and the map after the batch: CPU work, off
    // the async workers, the two side by side.
    let tree_work = tokio::task::spawn_blocking({
        let entries = entries.clone();
        move || {
            let tree = BatchTree::from_leaves(entries.iter().map(|e| e.leaf).collect())?;
            Ok::<_, ProofError>((tree.root(), tiles(&tree)))
        }
    });
    let map_work = tokio::task::spawn_blocking({
        let entries = entries.clone();
        move || before.apply_batch(map_state::updates(&entries, id))
    });
    let (tree_done, map_done) = tokio::join!(tree_work, map_work);
    let (root, batch_tiles) = tree_done.map_err(|e| SealError::Task(e.to_string()))??;
    let after = map_done.map_err(|e| SealError::Task(e.to_string()))?;
    let v2 = id >= head_v2_from
        || match id.checked_sub(1) {
            Some(prev) => store
                .batch(prev)
                .await?
                .is_some_and(|b| b.map_root.is_some()),
            None => false,
        };
    let map_root = v2.then(|| after.root());
    let head = batch_head_of(id, waiting.first_index, count, &root, map_root.as_ref());
    let batch = NewBatch {
        id,
        first_index: waiting.first_index,
        count,
        root,
        head,
        sealed_at_ms: now,
        tiles: batch_tiles,
        map_root,
    };
    store.commit_batch(batch).await?;
    map.push(id, after);
    tracing::info!(
        batch = waiting.next_batch_id,
        first_index = waiting.first_index,
        count,
        "sealed batch"
    );
    Ok(Some(Sealed {
        batch_id: waiting.next_batch_id,
        first_index: waiting.first_index,
        count,
    }))
}

/// Seals everything waiting, in as many batches as the size limit needs,
/// with a ticket map rebuilt for the call (tests and tools).
pub async fn seal_all(store: &dyn Store, policy: &SealPolicy) -> Result<Vec<Sealed>, SealError> {
    let map = MapState::new();
    map.catch_up(store).await?;
    let mut out = Vec::new();
    while let Some(s) = seal_with(store, policy, HEAD_V2_FROM, &map, true).await? {
        out.push(s);
    }
    Ok(out)
}

/// Whether the loop should hold the next batch back: the newest batch is
/// not yet included on chain and less than a full batch waits. Events keep
/// arriving meanwhile and the next batch takes them all, so the batch size
/// follows the anchoring rate, and the backlog after a chain outage is
/// anchored in a few transactions, not one per `max_age` of the outage
/// (which the anchorer then submits together, `anchor::worker`).
async fn waits_for_anchoring(store: &dyn Store, policy: &SealPolicy) -> Result<bool, StoreError> {
    let waiting = store.unsealed().await?;
    if waiting.count == 0 || waiting.count >= policy.max_batch || waiting.next_batch_id == 0 {
        return Ok(false);
    }
    let newest = store.batches(waiting.next_batch_id - 1, 1).await?;
    Ok(newest.first().is_some_and(|b| {
        matches!(
            b.status,
            crate::log::BatchStatus::Sealed | crate::log::BatchStatus::Submitted
        )
    }))
}

/// The sealing loop: seals due batches until `stop` turns true, holding a
/// batch back while the one before it is not yet on chain.
pub async fn run(
    sealer: Sealer,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let store = sealer.store.clone();
    let policy = sealer.policy;
    let tick = (policy.max_age / 4).clamp(Duration::from_millis(20), Duration::from_millis(500));
    loop {
        let hold = waits_for_anchoring(store.as_ref(), &policy)
            .await
            .unwrap_or(false);
        let sealed = if hold {
            Ok(None)
        } else {
            sealer.seal_once(false).await
        };
        match sealed {
            Ok(Some(_)) => {
                metrics.batches_sealed.inc();
                continue;
            }
            Ok(None) => {}
            // Contention means another sealer won the race: harmless.
            Err(SealError::Store(StoreError::Contended { .. })) => {}
            Err(e) => tracing::error!(error = %e, "sealing failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
