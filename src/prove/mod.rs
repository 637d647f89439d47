//! Proving: assembling a ticket's self-contained proof bundle from the log.
//! Every sealed event carries its batch and audit path, whatever the
//! batch's anchoring step: the log may not have seen yet that the chain
//! holds a batch, and a verifier decides "anchored" from the chain alone
//! (a batch with no head on chain is pending). Events not yet sealed have
//! batch null.

pub mod export;
pub mod tags;
pub mod tips;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::log::Batch;
use crate::log::{Store, StoreError};
use crate::protocol::Hash32;
use crate::protocol::bundle::{
    BUNDLE_V1, BUNDLE_V2, Bundle, BundleBatch, BundleEvent, BundleMap, ChainRef,
};
use crate::protocol::canonical::parse_strict;
use crate::protocol::fields::TicketHandle;
use crate::protocol::map::map_key;
use crate::protocol::state::Policy;
use crate::seal::{MapState, MapStateError};

/// What a bundle says about the log it came from.
#[derive(Debug, Clone)]
pub struct LogIdentity {
    pub chain: ChainRef,
    pub max_merge_delay_ms: u64,
    pub policy: Policy,
}

/// A bundle as the log serves it: the fields of `protocol::bundle::Bundle`
/// (PROTOCOL §13), with each record written out as stored, the canonical
/// bytes its leaf hashes, rather than parsed and written again. Parsing
/// and re-serialising records was a fifth of the CPU of a bundle request.
/// `into_bundle` gives the parsed form; a test holds the two equal.
#[derive(Debug, Serialize)]
pub struct ServedBundle {
    pub version: u64,
    pub ticket: TicketHandle,
    pub chain: ChainRef,
    pub max_merge_delay_ms: u64,
    pub policy: Policy,
    pub batches: Vec<BundleBatch>,
    pub events: Vec<ServedEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<BundleMap>,
}

/// `protocol::bundle::BundleEvent`, with the record as stored.
#[derive(Debug, Serialize)]
pub struct ServedEvent {
    pub record: Box<RawValue>,
    pub leaf: Hash32,
    pub batch: Option<u64>,
    pub path: Vec<Hash32>,
}

impl ServedBundle {
    /// The bundle with its records parsed, as a verifier reads it.
    pub fn into_bundle(self) -> Result<Bundle, StoreError> {
        let events = self
            .events
            .into_iter()
            .map(|e| {
                Ok(BundleEvent {
                    record: parse_strict(e.record.get()).map_err(StoreError::corrupt)?,
                    leaf: e.leaf,
                    batch: e.batch,
                    path: e.path,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Bundle {
            version: self.version,
            ticket: self.ticket,
            chain: self.chain,
            max_merge_delay_ms: self.max_merge_delay_ms,
            policy: self.policy,
            batches: self.batches,
            events,
            map: self.map,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Map(#[from] MapStateError),
}

fn bundle_batch(b: &Batch) -> BundleBatch {
    BundleBatch {
        id: b.id,
        first_index: b.first_index,
        count: b.count,
        root: b.root,
        head: b.head,
        tx: b.submission.as_ref().map(|s| s.tx_hash),
        block: b.inclusion.as_ref().map(|i| i.block_number),
        status: b.status.as_str().to_owned(),
        map_root: b.map_root,
    }
}

/// The ticket's bundle, with the map proof at the latest final head v2
/// batch when there is one (bundle v2). A handle the log never created
/// gets the proof of its absence at that batch, with no events (§15.4);
/// None while no head v2 batch is final, when there is nothing to prove.
pub async fn bundle(
    store: &dyn Store,
    identity: &LogIdentity,
    map: &MapState,
    ticket: &TicketHandle,
) -> Result<Option<ServedBundle>, ProveError> {
    // The proof point is read before the ticket: every record anchored by
    // it is then in what the ticket read returns.
    let point = map.proof_point(store).await?;
    let crate::log::TicketProof {
        events: stored,
        batches,
    } = store.ticket_proof(ticket).await?;
    if stored.is_empty() && point.is_none() && store.ticket(ticket).await?.is_none() {
        return Ok(None);
    }
    let mut events = Vec::with_capacity(stored.len());
    for e in stored {
        let anchored = e
            .sealed
            .filter(|(batch_id, _)| batches.contains_key(batch_id));
        // Stored records are canonical JSON (written by this log); a row
        // that is not JSON at all is refused rather than served.
        let record = RawValue::from_string(e.record)
            .map_err(|err| StoreError::corrupt(format!("stored record {}: {err}", e.index)))?;
        let (batch, path) = match anchored {
            Some((id, path)) => (Some(id), path),
            None => (None, Vec::new()),
        };
        events.push(ServedEvent {
            record,
            leaf: e.leaf,
            batch,
            path,
        });
    }
    let mut batches: Vec<BundleBatch> = batches.values().map(bundle_batch).collect();
    let map = point.map(|(at, version)| {
        if !batches.iter().any(|b| b.id == at.id) {
            batches.push(bundle_batch(&at));
            batches.sort_by_key(|b| b.id);
        }
        // PROTOCOL.md §15.4: the ticket's map proof at the proof point.
        BundleMap::new(at.id, version.prove_key(&map_key(ticket)))
    });
    let version = if map.is_some() || batches.iter().any(|b| b.map_root.is_some()) {
        BUNDLE_V2
    } else {
        BUNDLE_V1
    };
    Ok(Some(ServedBundle {
        version,
        ticket: ticket.clone(),
        chain: identity.chain.clone(),
        max_merge_delay_ms: identity.max_merge_delay_ms,
        policy: identity.policy,
        batches,
        events,
        map,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::canonical::canonicalize;

    /// A served bundle, as JSON, reads back as exactly the bundle
    /// `into_bundle` gives: the two forms cannot drift apart.
    #[test]
    fn served_json_reads_back_as_the_parsed_bundle() {
        let record = serde_json::json!({
            "v": 1, "index": 7, "ticket": "tk_00000000000000000000000000000000",
            "text": "quote \" backslash \\ tab \t é 😀", "n": [1, -2, 9_007_199_254_740_991_u64]
        });
        let canonical = String::from_utf8(canonicalize(&record).unwrap()).unwrap();
        let served = ServedBundle {
            version: BUNDLE_V1,
            ticket: TicketHandle::parse("tk_00000000000000000000000000000000").unwrap(),
            chain: ChainRef {
                chain_id: 31337,
                contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
                anchorer: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266".into(),
            },
            max_merge_delay_ms: 60_000,
            policy: Policy::default(),
            batches: vec![BundleBatch {
                id: 0,
                first_index: 0,
                count: 8,
                root: Hash32([1; 32]),
                head: Hash32([2; 32]),
                tx: Some(Hash32([3; 32])),
                block: Some(9),
                status: "final".into(),
                map_root: None,
            }],
            events: vec![ServedEvent {
                record: RawValue::from_string(canonical.clone()).unwrap(),
                leaf: Hash32([4; 32]),
                batch: Some(0),
                path: vec![Hash32([5; 32]), Hash32([6; 32])],
            }],
            map: None,
        };
        let json = serde_json::to_string(&served).unwrap();
        // The record goes out byte for byte as stored.
        assert!(json.contains(&canonical));
        let read: Bundle = serde_json::from_str(&json).unwrap();
        assert_eq!(read, served.into_bundle().unwrap());
        assert_eq!(read.events[0].record, record);
    }
}
