//! Writing anchored batches that were verified elsewhere: a mirror's copy
//! of a log (`proofdesk mirror`), or the records a restored node lost,
//! brought back from a mirror or an auditor's saved audit
//! (`proofdesk recover`). The caller has checked every record, ticket
//! chain, replay and batch head against the chain; the store writes the
//! batch, its records, the tickets' tips and the tree's tiles in one
//! transaction, with the batch final, so its proofs read as the log's.

use std::collections::HashSet;

use crate::protocol::Hash32;
use crate::protocol::append::ChainTip;
use crate::protocol::fields::TicketHandle;

use super::{NewBatch, StoreError};

/// One record of an imported batch, as hashed.
#[derive(Debug, Clone)]
pub struct ImportedRecord {
    pub index: u64,
    pub ticket: TicketHandle,
    pub seq: u64,
    /// The canonical record bytes (UTF-8), exactly as hashed.
    pub record: String,
    pub leaf: Hash32,
    pub recorded_at_ms: i64,
}

/// A ticket's tip after the batch.
#[derive(Debug, Clone)]
pub struct ImportedTip {
    pub handle: TicketHandle,
    /// The platform's id, for a ticket the store does not know yet. A
    /// mirror or a recovery never learns the platform's own ids (they are
    /// private), so it writes a placeholder the operator can re-link.
    pub external_id: String,
    pub created_at: String,
    pub tip: ChainTip,
}

/// Where the chain anchored the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnchorFacts {
    pub tx: Hash32,
    /// The anchoring transaction's nonce and fees, as the chain has them.
    pub nonce: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub block_number: u64,
    pub block_hash: Hash32,
    /// Block timestamp, seconds.
    pub block_time: u64,
}

#[derive(Debug, Clone)]
pub struct ImportedBatch {
    /// The batch, with its tree's tiles.
    pub batch: NewBatch,
    pub anchored: AnchorFacts,
    /// Its records in index order. Those the store already holds (a
    /// restored node kept them) must be identical, leaf for leaf.
    pub records: Vec<ImportedRecord>,
    /// The tips of the tickets the batch touched.
    pub tips: Vec<ImportedTip>,
}

impl ImportedBatch {
    /// What the store relies on before writing: the batch's own records,
    /// all of them, in index order, and each ticket's tip given once (the
    /// tips are written as one multi-row upsert, which must not touch a
    /// row twice).
    pub(crate) fn check_shape(&self) -> Result<(), StoreError> {
        let b = &self.batch;
        if self.records.len() as u64 != b.count
            || self
                .records
                .iter()
                .enumerate()
                .any(|(i, r)| r.index != b.first_index + i as u64)
        {
            return Err(StoreError::corrupt(format!(
                "an imported batch {} must carry its {} records in index order",
                b.id, b.count
            )));
        }
        let mut seen = HashSet::with_capacity(self.tips.len());
        if let Some(t) = self.tips.iter().find(|t| !seen.insert(&t.handle)) {
            return Err(StoreError::corrupt(format!(
                "an imported batch {} gives the tip of ticket {} twice",
                b.id, t.handle
            )));
        }
        Ok(())
    }
}
