//! Sealing: closing the unsealed tail of the log into a batch, building its
//! RFC 6962 tree and storing the tree's tiles (`log::tiles`), all in one
//! transaction: a batch is sealed completely or not at all.

use std::time::Duration;

use tokio::sync::watch;

use crate::log::tiles::tiles;
use crate::log::{NewBatch, Store, StoreError};
use crate::protocol::fields::Timestamp;
use crate::protocol::hashing::batch_head;
use crate::protocol::tree::{BatchTree, ProofError};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub batch_id: u64,
    pub first_index: u64,
    pub count: u64,
}

/// Seals one batch if one is due (or `force`, if anything waits).
pub async fn seal_once(
    store: &dyn Store,
    policy: &SealPolicy,
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
    let leaves = store.leaves(waiting.first_index, count).await?;
    let tree = BatchTree::from_leaves(leaves)?;
    let root = tree.root();
    let batch = NewBatch {
        id: waiting.next_batch_id,
        first_index: waiting.first_index,
        count,
        root,
        head: batch_head(waiting.next_batch_id, waiting.first_index, count, &root),
        sealed_at_ms: now,
        tiles: tiles(&tree),
    };
    store.commit_batch(batch).await?;
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

/// Seals everything waiting, in as many batches as the size limit needs.
pub async fn seal_all(store: &dyn Store, policy: &SealPolicy) -> Result<Vec<Sealed>, SealError> {
    let mut out = Vec::new();
    while let Some(s) = seal_once(store, policy, true).await? {
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
    store: std::sync::Arc<dyn Store>,
    policy: SealPolicy,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let tick = (policy.max_age / 4).clamp(Duration::from_millis(20), Duration::from_millis(500));
    loop {
        let hold = waits_for_anchoring(store.as_ref(), &policy)
            .await
            .unwrap_or(false);
        let sealed = if hold {
            Ok(None)
        } else {
            seal_once(store.as_ref(), &policy, false).await
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
