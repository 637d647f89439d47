//! The fraud proofs an audit hands out (PROTOCOL.md §15.7): small
//! documents anyone checks against the chain with `proofdesk verify
//! --fraud-proof`. Each is built from what the log itself serves (its
//! export, its bundles) and kept only if it checks out offline.
//!
//! - **Equivocation**: for each pair of records with one (ticket, seq) the
//!   audit found, both records with their paths.
//! - **Skipped record**: when the audit's replay of the ticket map disagrees
//!   with a root the chain holds (`map_root`), the log's own map proofs show
//!   where. Starting from any entry, the audit asks the log for that
//!   ticket's bundle, compares the bundle's map proof with its replay
//!   sibling by sibling from the root down, and moves to an entry of the
//!   first subtree that differs; each step goes at least one level deeper,
//!   so about log2(tickets) bundles lead to the entry the log's map lacks or
//!   holds stale. That entry's record and the log's proof are the fraud
//!   proof.

use alloy::primitives::Address;

use super::check::{Checker, ClosedBatch, Line};
use super::http::LogClient;
use crate::protocol::Hash32;
use crate::protocol::bundle::Bundle;
use crate::protocol::fields::TicketHandle;
use crate::protocol::fraud::{
    AnchoredRecord, FRAUD_PROOF_VERSION, FraudBatch, FraudKind, FraudProof, check,
};
use crate::protocol::map::{MapProof, Tip};
use crate::protocol::map_tree::MapVersion;

/// At most this many equivocation proofs are built per run: one is enough
/// to show a log broke its promise, and each costs two reads from the log.
const EQUIVOCATIONS_KEPT: usize = 10;

/// At most this many bundles are read looking for a skipped record: one
/// per level of the map, with room to spare (2^20 tickets are about 22
/// levels deep, 33 at most).
const SKIPPED_RECORD_PROBES: usize = 64;

/// What the audit found, and where to read more.
pub struct Found<'a> {
    pub log: &'a LogClient,
    pub checker: &'a Checker,
    pub chain_id: u64,
    pub contract: Address,
}

/// Every fraud proof the audit's findings support.
pub async fn proofs(found: Found<'_>) -> Vec<FraudProof> {
    let mut out = equivocations(&found).await;
    if found.checker.failures.iter().any(|f| f.kind == "map_root")
        && let Some(p) = skipped_record(&found).await
    {
        out.push(p);
    }
    out
}

impl Found<'_> {
    fn proof(&self, claim: FraudKind) -> FraudProof {
        FraudProof {
            fraud_proof: FRAUD_PROOF_VERSION,
            chain_id: self.chain_id,
            contract: format!("{:#x}", self.contract),
            claim,
        }
    }

    /// A batch whose head matched the chain.
    fn verified(&self, id: u64) -> Option<&ClosedBatch> {
        self.checker.verified_batches.iter().find(|b| b.id == id)
    }

    /// The record at `index` as the log exports it, with its path, in a
    /// batch that verified against the chain; None otherwise.
    async fn anchored_record(&self, index: u64) -> Option<AnchoredRecord> {
        let batch = self
            .checker
            .verified_batches
            .iter()
            .find(|b| index >= b.first_index && index - b.first_index < b.count)?;
        let (resp, _) = self
            .log
            .export(&format!("from={index}&to={}", index + 1))
            .await
            .ok()?;
        let text = resp.text().await.ok()?;
        let line = Line::parse(text.lines().next()?).ok()?;
        Some(AnchoredRecord {
            record: line.record,
            batch: fraud_batch(batch),
            path: line.path?,
        })
    }
}

fn fraud_batch(b: &ClosedBatch) -> FraudBatch {
    FraudBatch {
        id: b.id,
        first_index: b.first_index,
        count: b.count,
        root: b.root,
        map_root: b.map_root,
    }
}

/// A proof for each equivocation whose two batches verified against the
/// chain: both records, as the log exports them.
async fn equivocations(found: &Found<'_>) -> Vec<FraudProof> {
    let mut out = Vec::new();
    for (a, b) in found.checker.equivocations.iter().take(EQUIVOCATIONS_KEPT) {
        let (Some(ra), Some(rb)) = (
            found.anchored_record(*a).await,
            found.anchored_record(*b).await,
        ) else {
            continue;
        };
        let proof = found.proof(FraudKind::Equivocation { records: [ra, rb] });
        // Only what checks out offline is handed out.
        match check(&proof) {
            Ok(_) => out.push(proof),
            Err(e) => tracing::warn!(a, b, error = %e, "no fraud proof for this equivocation"),
        }
    }
    out
}

/// A record the log's map skipped, found by walking down from the root to
/// where the log's proofs and the replay part (module docs). None when the
/// log serves no map proof at the batch the replay stands after (it moved
/// on, or serves none), or when the difference is an entry the replay does
/// not have (no record was skipped: the map root failure stands alone).
async fn skipped_record(found: &Found<'_>) -> Option<FraudProof> {
    let (at, replay) = found.checker.map_at()?;
    let map_batch = fraud_batch(found.verified(at)?);
    let (mut key, mut tip) = replay.entry_beside(&Hash32::ZERO, None)?;
    for _ in 0..SKIPPED_RECORD_PROBES {
        let record = found.anchored_record(tip.index).await?;
        let handle = record
            .record
            .get("ticket")
            .and_then(|t| t.as_str())
            .and_then(|t| TicketHandle::parse(t).ok())?;
        let bundle: Bundle = match found
            .log
            .get_json(&format!("/v1/tickets/{handle}/proof"))
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "no bundle to look for a skipped record in");
                return None;
            }
        };
        let Some((_, theirs)) = bundle.map_proof().filter(|(b, _)| *b == at) else {
            tracing::warn!(
                at,
                "the log's bundles carry no map proof at the batch the audit replayed to: no skipped-record proof"
            );
            return None;
        };
        let proof = found.proof(FraudKind::SkippedRecord {
            record,
            map_batch: map_batch.clone(),
            map_proof: theirs.clone(),
        });
        if check(&proof).is_ok() {
            return Some(proof);
        }
        (key, tip) = next_probe(replay, &key, &theirs)?;
    }
    None
}

/// The entry to ask about next: one under the topmost sibling where the
/// log's proof for `key` and the replay's differ, or, when they agree all
/// along the log's shorter path, under the replay's next sibling (the log
/// holds `key` alone where the replay has more). None when the proofs are
/// the same, or when the replay has nothing there (the log holds entries
/// the replay does not: no record was skipped there).
fn next_probe(replay: &MapVersion, key: &Hash32, theirs: &MapProof) -> Option<(Hash32, Tip)> {
    let ours: Vec<Option<Hash32>> = replay.prove_key(key).siblings.into_iter().rev().collect();
    let theirs: Vec<Option<Hash32>> = theirs.siblings.iter().rev().copied().collect();
    let depth = ours
        .iter()
        .zip(&theirs)
        .position(|(a, b)| a != b)
        .or_else(|| {
            // Below the log's leaf, the replay's first subtree that is not
            // Empty holds what the log's map lacks.
            (theirs.len()..ours.len()).find(|&d| ours[d].is_some())
        })?;
    replay.entry_beside(key, Some(depth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::map::map_key;

    fn handle(i: u64) -> TicketHandle {
        TicketHandle::parse(&format!("tk_{i:032x}")).unwrap()
    }

    fn tip(i: u64) -> Tip {
        Tip {
            seq: 0,
            leaf: crate::protocol::hashing::sha256(&i.to_be_bytes()),
            index: i,
            batch: 0,
        }
    }

    /// The walk the audit makes against a log whose map lacks one entry:
    /// from any entry, each step goes deeper, and it ends at the entry the
    /// log's proof shows absent.
    #[test]
    fn the_walk_reaches_the_skipped_entry_in_about_log2_steps() {
        let all: Vec<(Hash32, Tip)> = (0..4096).map(|i| (map_key(&handle(i)), tip(i))).collect();
        let replay = MapVersion::new().apply_batch(all.iter().copied());
        for (skipped, stale) in [(0usize, false), (1234, false), (4095, false), (77, true)] {
            let (gone, gone_tip) = all[skipped];
            // The log's map lacks the entry, or holds an older record of it.
            let lying = if stale {
                replay.apply_batch([(
                    gone,
                    Tip {
                        index: 0,
                        ..gone_tip
                    },
                )])
            } else {
                MapVersion::new().apply_batch(all.iter().copied().filter(|(k, _)| *k != gone))
            };
            let (mut key, mut t) = replay.entry_beside(&Hash32::ZERO, None).unwrap();
            let mut steps = 0;
            while key != gone {
                steps += 1;
                assert!(steps <= 20, "the walk does not converge");
                (key, t) = next_probe(&replay, &key, &lying.prove_key(&key)).unwrap();
            }
            assert_eq!(t, gone_tip);
            let shown = lying
                .prove_key(&gone)
                .verify_key(&lying.root(), &gone)
                .unwrap();
            assert_eq!(
                shown.map(|t| t.index),
                stale.then_some(0),
                "absent, or stale"
            );
        }
        // A log whose map agrees with the replay leads nowhere.
        let (k, _) = all[7];
        assert!(next_probe(&replay, &k, &replay.prove_key(&k)).is_none());
    }
}
