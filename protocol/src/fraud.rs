//! Fraud proofs (PROTOCOL.md §15.7): small documents that show a log broke
//! its own map or its tickets' chains, checkable by anyone against the
//! chain. This module holds the format and the offline half of the check;
//! what it returns is the list of batch heads that must be on chain for the
//! fraud to be confirmed (`proofdesk verify --fraud-proof` reads them).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Hash32;
use super::canonical::strict_value;
use super::map::{MapProof, Tip, map_key};
use super::record::HashedRecord;
use super::tree::verify_inclusion;

pub const FRAUD_PROOF_VERSION: u64 = 1;

/// A batch as a fraud proof names it: enough to recompute its head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudBatch {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    /// The batch's log root (RFC 6962, §6).
    pub root: Hash32,
    /// Its map root, for a head v2 batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_root: Option<Hash32>,
}

impl FraudBatch {
    pub fn head(&self) -> Hash32 {
        super::map::batch_head_of(
            self.id,
            self.first_index,
            self.count,
            &self.root,
            self.map_root.as_ref(),
        )
    }
}

/// A record with its audit path in its batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchoredRecord {
    #[serde(deserialize_with = "strict_value")]
    pub record: Value,
    pub batch: FraudBatch,
    pub path: Vec<Hash32>,
}

/// What a fraud proof shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum FraudKind {
    /// Two different records anchored with the same (ticket, seq): the log
    /// can show one to the complainant and the other to a regulator.
    Equivocation { records: [AnchoredRecord; 2] },
    /// A record anchored at or before batch B that B's ticket map does not
    /// have: the map holds no record of its ticket, or an older one, or
    /// another at the same index. Bundles can then withhold the record.
    SkippedRecord {
        record: AnchoredRecord,
        map_batch: FraudBatch,
        map_proof: MapProof,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudProof {
    /// The format's version, FRAUD_PROOF_VERSION.
    pub fraud_proof: u64,
    /// The chain and contract the log anchors to, as the prover read them;
    /// a checker uses the contract it trusts and compares.
    pub chain_id: u64,
    pub contract: String,
    /// What the proof shows, tagged by `kind`.
    pub claim: FraudKind,
}

/// A fraud proof that checks out offline: what it shows, and the heads the
/// chain must hold for it to be confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudClaim {
    pub summary: String,
    /// (batch id, head): each must equal the contract's batchHead(id).
    pub heads: Vec<(u64, Hash32)>,
}

/// The record, checked to be in its batch; its parsed form.
fn anchored(r: &AnchoredRecord, what: &str) -> Result<HashedRecord, String> {
    let hashed = HashedRecord::from_value(&r.record)
        .map_err(|e| format!("{what}: not a valid record: {e}"))?;
    let index = hashed.record.index;
    let b = &r.batch;
    if b.count == 0 || b.first_index.checked_add(b.count).is_none() {
        return Err(format!("{what}: batch {} has an impossible range", b.id));
    }
    if index < b.first_index || index - b.first_index >= b.count {
        return Err(format!(
            "{what}: index {index} is outside batch {} (first_index {}, count {})",
            b.id, b.first_index, b.count
        ));
    }
    verify_inclusion(
        &hashed.leaf,
        index - b.first_index,
        b.count,
        &r.path,
        &b.root,
    )
    .map_err(|e| {
        format!(
            "{what}: its inclusion proof fails against batch {}: {e}",
            b.id
        )
    })?;
    Ok(hashed)
}

/// Two batches a proof names with one id must be the same batch: the chain
/// holds one head per id.
fn one_batch_per_id(a: &FraudBatch, b: &FraudBatch) -> Result<(), String> {
    if a.id == b.id && a != b {
        return Err(format!(
            "batch {} is given twice with different fields: the chain holds one head for it",
            a.id
        ));
    }
    Ok(())
}

/// Every check that needs no chain. Err says why this is not a fraud proof.
pub fn check(proof: &FraudProof) -> Result<FraudClaim, String> {
    if proof.fraud_proof != FRAUD_PROOF_VERSION {
        return Err(format!(
            "fraud proof version {} is not supported (this checker knows {FRAUD_PROOF_VERSION})",
            proof.fraud_proof
        ));
    }
    match &proof.claim {
        FraudKind::Equivocation { records: [a, b] } => {
            one_batch_per_id(&a.batch, &b.batch)?;
            let ra = anchored(a, "the first record")?;
            let rb = anchored(b, "the second record")?;
            let (ta, tb) = (&ra.record, &rb.record);
            if ta.ticket != tb.ticket || ta.seq != tb.seq {
                return Err(format!(
                    "the records are ticket {} seq {} and ticket {} seq {}: equivocation needs the same ticket and seq",
                    ta.ticket, ta.seq, tb.ticket, tb.seq
                ));
            }
            if ra.leaf == rb.leaf {
                return Err("the two records are the same record".into());
            }
            Ok(FraudClaim {
                summary: format!(
                    "the log anchored two different records as ticket {} seq {}: index {} in batch {} and index {} in batch {}",
                    ta.ticket, ta.seq, ta.index, a.batch.id, tb.index, b.batch.id
                ),
                heads: vec![(a.batch.id, a.batch.head()), (b.batch.id, b.batch.head())],
            })
        }
        FraudKind::SkippedRecord {
            record,
            map_batch,
            map_proof,
        } => {
            one_batch_per_id(&record.batch, map_batch)?;
            let r = anchored(record, "the record")?;
            let map_root = map_batch.map_root.ok_or_else(|| {
                format!(
                    "batch {} has a v1 head, which commits no ticket map",
                    map_batch.id
                )
            })?;
            if record.batch.id > map_batch.id {
                return Err(format!(
                    "the record is in batch {}, after the map's batch {}: the map need not have it",
                    record.batch.id, map_batch.id
                ));
            }
            let key = map_key(&r.record.ticket);
            let tip = map_proof
                .verify_key(&map_root, &key)
                .map_err(|e| format!("the map proof fails against batch {}: {e}", map_batch.id))?;
            let rec = &r.record;
            let what = match tip {
                None => "holds no record of the ticket".to_owned(),
                Some(Tip { index, .. }) if index < rec.index => {
                    format!("holds an older record as its latest (index {index})")
                }
                Some(Tip { index, leaf, .. }) if index == rec.index && leaf != r.leaf => {
                    "holds another record at the same index".to_owned()
                }
                Some(Tip { batch, .. }) if batch > map_batch.id => {
                    format!("names batch {batch}, later than its own")
                }
                Some(_) => {
                    return Err(format!(
                        "batch {}'s map has this record or a later one as the ticket's latest: no fraud shown",
                        map_batch.id
                    ));
                }
            };
            Ok(FraudClaim {
                summary: format!(
                    "ticket {} seq {} (index {}) is anchored in batch {}, but the ticket map of batch {} {what}",
                    rec.ticket, rec.seq, rec.index, record.batch.id, map_batch.id
                ),
                heads: vec![
                    (record.batch.id, record.batch.head()),
                    (map_batch.id, map_batch.head()),
                ],
            })
        }
    }
}
