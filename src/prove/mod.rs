//! Proving: assembling a ticket's self-contained proof bundle from the log.
//! Every sealed event carries its batch and audit path, whatever the
//! batch's anchoring step: the log may not have seen yet that the chain
//! holds a batch, and a verifier decides "anchored" from the chain alone
//! (a batch with no head on chain is pending). Events not yet sealed have
//! batch null.

use crate::log::{Store, StoreError};
use crate::protocol::bundle::{BUNDLE_VERSION, Bundle, BundleBatch, BundleEvent, ChainRef};
use crate::protocol::canonical::parse_strict;
use crate::protocol::fields::TicketHandle;
use crate::protocol::state::Policy;

/// What a bundle says about the log it came from.
#[derive(Debug, Clone)]
pub struct LogIdentity {
    pub chain: ChainRef,
    pub max_merge_delay_ms: u64,
    pub policy: Policy,
}

/// The ticket's bundle, or None for an unknown handle.
pub async fn bundle(
    store: &dyn Store,
    identity: &LogIdentity,
    ticket: &TicketHandle,
) -> Result<Option<Bundle>, StoreError> {
    let crate::log::TicketProof { events: stored, batches } = store.ticket_proof(ticket).await?;
    if stored.is_empty() && store.ticket(ticket).await?.is_none() {
        return Ok(None);
    }
    let mut events = Vec::with_capacity(stored.len());
    for e in stored {
        let anchored = e
            .sealed
            .filter(|(batch_id, _)| batches.contains_key(batch_id));
        let record = parse_strict(&e.record)
            .map_err(|err| StoreError::corrupt(format!("stored record {}: {err}", e.index)))?;
        let (batch, path) = match anchored {
            Some((id, path)) => (Some(id), path),
            None => (None, Vec::new()),
        };
        events.push(BundleEvent {
            record,
            leaf: e.leaf,
            batch,
            path,
        });
    }
    let batches = batches
        .into_values()
        .map(|b| BundleBatch {
            id: b.id,
            first_index: b.first_index,
            count: b.count,
            root: b.root,
            head: b.head,
            tx: b.submission.as_ref().map(|s| s.tx_hash),
            block: b.inclusion.as_ref().map(|i| i.block_number),
            status: b.status.as_str().to_owned(),
        })
        .collect();
    Ok(Some(Bundle {
        version: BUNDLE_VERSION,
        ticket: ticket.clone(),
        chain: identity.chain.clone(),
        max_merge_delay_ms: identity.max_merge_delay_ms,
        policy: identity.policy,
        batches,
        events,
    }))
}
