//! The proof bundle: everything a complainant needs to check a ticket's
//! history against the chain, and the offline half of checking it (every
//! step that needs no RPC). `crate::verify` adds the on-chain half.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Hash32;
use super::canonical::strict_value;
use super::fields::TicketHandle;
use super::map::{MapProof, Tip, batch_head_of};
use super::record::HashedRecord;
use super::state::{Policy, TicketState};
use super::tree::verify_inclusion;

pub use super::bundle_map::{BundleMap, BundleTerminal, MapCheck};
use super::bundle_map::{LastAnchored, MapBatch, check_map, head_versions_in_order};

/// Bundle v1: no ticket map (§13).
pub const BUNDLE_V1: u64 = 1;
/// Bundle v2: v1 plus the ticket's map proof at the latest anchored batch
/// (§15.4). A log serves v2 once a head v2 batch is anchored.
pub const BUNDLE_V2: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChainRef {
    pub chain_id: u64,
    pub contract: String,
    pub anchorer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BundleBatch {
    pub id: u64,
    pub first_index: u64,
    pub count: u64,
    pub root: Hash32,
    pub head: Hash32,
    pub tx: Option<Hash32>,
    pub block: Option<u64>,
    pub status: String,
    /// The map root a head v2 commits (§15.3); absent for a v1 batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_root: Option<Hash32>,
}

impl BundleBatch {
    /// The `root` its anchor() call carried and its BatchAnchored event
    /// gives back: the log root (v1), or H(0x06 ‖ log root ‖ map root).
    pub fn anchored_root(&self) -> Hash32 {
        super::map::anchored_root(&self.root, self.map_root.as_ref())
    }

    /// The head this batch's fields give: v2 when it has a map root.
    pub fn computed_head(&self) -> Hash32 {
        batch_head_of(
            self.id,
            self.first_index,
            self.count,
            &self.root,
            self.map_root.as_ref(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BundleEvent {
    /// The record verbatim as hashed (as a JSON object).
    #[serde(deserialize_with = "strict_value")]
    pub record: Value,
    pub leaf: Hash32,
    pub batch: Option<u64>,
    pub path: Vec<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub version: u64,
    pub ticket: TicketHandle,
    pub chain: ChainRef,
    pub max_merge_delay_ms: u64,
    pub policy: Policy,
    pub batches: Vec<BundleBatch>,
    pub events: Vec<BundleEvent>,
    /// The ticket's map proof (bundle v2 only, §15.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<BundleMap>,
}

impl Bundle {
    /// Whether the log says this event's batch is on chain (`included` or
    /// `final`). The log's own claim, for waiting on it; a verifier asks the
    /// chain instead.
    pub fn log_says_anchored(&self, event: &BundleEvent) -> bool {
        event.batch.is_some_and(|id| {
            self.batches
                .iter()
                .any(|b| b.id == id && matches!(b.status.as_str(), "included" | "final"))
        })
    }

    /// The last event anchored at or before batch `b`, with its seq:
    /// batched events are a prefix in index order, so it is the last whose
    /// batch is at most `b` (§15.4: an inclusion's tip).
    pub fn last_anchored_by(&self, b: u64) -> Option<(u64, &BundleEvent)> {
        self.events
            .iter()
            .enumerate()
            .rfind(|(_, e)| e.batch.is_some_and(|id| id <= b))
            .map(|(seq, e)| (seq as u64, e))
    }

    /// The bundle's map proof with its terminal's tip written out, as a
    /// fraud proof carries it (§15.7). None without a map, or when an
    /// inclusion's tip event has no readable index.
    pub fn map_proof(&self) -> Option<(u64, MapProof)> {
        let m = self.map.as_ref()?;
        let tip = self.last_anchored_by(m.batch).and_then(|(seq, e)| {
            Some(Tip {
                seq,
                leaf: e.leaf,
                index: e.record.get("index")?.as_u64()?,
                batch: e.batch?,
            })
        });
        Some((m.batch, m.proof(tip)?))
    }
}

/// What the offline checks found for one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventCheck {
    pub seq: u64,
    pub index: Option<u64>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub occurred_at: Option<String>,
    pub recorded_at: Option<String>,
    #[serde(skip)]
    pub recorded_at_ms: Option<i64>,
    pub batch: Option<u64>,
    /// Problems found; empty means the event checks out offline.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfflineReport {
    pub events: Vec<EventCheck>,
    /// Problems with the bundle as a whole.
    pub problems: Vec<String>,
    /// The state after each event (None from an event the machine rejects
    /// on): the verifier reports the one after the last event the chain
    /// vouches for (§13.6 c).
    pub states: Vec<Option<TicketState>>,
    /// Batches the events rely on, after their head was recomputed (and
    /// a v2 bundle's map batch).
    pub batches_used: Vec<u64>,
    /// What a v2 bundle's map proof showed, once it checked out.
    pub map: Option<MapCheck>,
}

impl OfflineReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.events.iter().all(|e| e.problems.is_empty())
    }
}

/// Every check that needs no chain: leaves, the per-ticket hash chain, the
/// state machine, audit paths and batch heads.
pub fn check_offline(bundle: &Bundle) -> OfflineReport {
    let mut problems = Vec::new();
    match (bundle.version, &bundle.map) {
        (BUNDLE_V1, None) => {
            if let Some(b) = bundle.batches.iter().find(|b| b.map_root.is_some()) {
                problems.push(format!(
                    "batch {} has a map root, which a version 1 bundle cannot carry",
                    b.id
                ));
            }
        }
        (BUNDLE_V1, Some(_)) => {
            problems.push("a version 1 bundle cannot carry a ticket map proof".into())
        }
        // Without a map (no head v2 batch was final when it was served) the
        // verifier reports completeness as for v1 (§15.4).
        (BUNDLE_V2, _) => {}
        (v, _) => problems.push(format!(
            "bundle version {v} is not supported (this verifier knows {BUNDLE_V1} and {BUNDLE_V2})"
        )),
    }
    problems.extend(head_versions_in_order(
        bundle.batches.iter().map(|b| (b.id, b.map_root.is_some())),
    ));
    // No events: only a proof of the ticket's absence at B says anything
    // (§15.4, absence bundles); the map check below checks that proof.
    let proves_absence = bundle.version == BUNDLE_V2
        && bundle
            .map
            .as_ref()
            .is_some_and(|m| !matches!(m.terminal, BundleTerminal::Tip {}));
    if bundle.events.is_empty() && !proves_absence {
        problems.push("the bundle has no events".into());
    }
    let mut batches: HashMap<u64, &BundleBatch> = HashMap::new();
    let mut batches_used = Vec::new();
    let mut used: HashSet<u64> = HashSet::new();
    for b in &bundle.batches {
        if batches.insert(b.id, b).is_some() {
            problems.push(format!("batch {} is listed twice", b.id));
        }
        if b.count == 0 {
            problems.push(format!("batch {} has count 0", b.id));
        }
        // Untrusted numbers: every sum is checked (a debug build once
        // panicked here on first_index + count above 2^64).
        if b.first_index.checked_add(b.count).is_none() {
            problems.push(format!(
                "batch {}: first_index {} + count {} is past 2^64",
                b.id, b.first_index, b.count
            ));
        }
        if b.computed_head() != b.head {
            problems.push(format!(
                "batch {}: head does not match its id, range, size and {}",
                b.id,
                if b.map_root.is_some() {
                    "roots (head v2)"
                } else {
                    "root"
                }
            ));
        }
    }
    let mut prev_leaf = Hash32::ZERO;
    let mut prev_index: Option<u64> = None;
    let mut state: Option<TicketState> = None;
    let mut state_broken = false;
    let mut states = Vec::with_capacity(bundle.events.len());
    let mut seen_unsealed = false;
    let mut events = Vec::with_capacity(bundle.events.len());
    for (pos, ev) in bundle.events.iter().enumerate() {
        let seq = pos as u64;
        let mut check = EventCheck {
            seq,
            index: None,
            event_type: None,
            occurred_at: None,
            recorded_at: None,
            recorded_at_ms: None,
            batch: ev.batch,
            problems: Vec::new(),
        };
        let hashed = match HashedRecord::from_value(&ev.record) {
            Ok(h) => h,
            Err(e) => {
                check.problems.push(format!("record is invalid: {e}"));
                events.push(check);
                states.push(None);
                state_broken = true;
                // The chain cannot be followed past an unreadable record.
                prev_leaf = ev.leaf;
                continue;
            }
        };
        let r = &hashed.record;
        check.index = Some(r.index);
        check.event_type = Some(r.event_type.to_string());
        check.occurred_at = Some(r.occurred_at.to_string());
        check.recorded_at = Some(r.recorded_at.to_string());
        check.recorded_at_ms = Some(r.recorded_at.millis());
        if hashed.leaf != ev.leaf {
            check.problems.push(format!(
                "leaf mismatch: the record hashes to {}, the bundle says {}",
                hashed.leaf, ev.leaf
            ));
        }
        if r.ticket != bundle.ticket {
            check.problems.push(format!(
                "record belongs to ticket {}, not {}",
                r.ticket, bundle.ticket
            ));
        }
        if r.seq != seq {
            check.problems.push(format!(
                "seq {} found at position {seq}: events are missing or out of order",
                r.seq
            ));
        }
        if r.prev != prev_leaf {
            check.problems.push(format!("prev {} does not match the previous event's leaf {prev_leaf}: the hash chain is broken", r.prev));
        }
        if let Some(p) = prev_index
            && r.index <= p
        {
            check
                .problems
                .push(format!("index {} does not follow index {p}", r.index));
        }
        prev_index = Some(r.index);
        prev_leaf = hashed.leaf;
        if !state_broken {
            let next = match &state {
                None => TicketState::start(&hashed.data),
                Some(s) => s.apply(&hashed.data, &bundle.policy),
            };
            match next {
                Ok(s) => state = Some(s),
                Err(e) => {
                    check
                        .problems
                        .push(format!("state machine rejects this event: {e}"));
                    state_broken = true;
                }
            }
        }
        states.push(if state_broken { None } else { state.clone() });
        // Batches are sealed (and anchored) in index order and a ticket's
        // indices increase with seq, so its batched events are a prefix.
        match ev.batch {
            None => seen_unsealed = true,
            Some(_) if seen_unsealed => check.problems.push(
                "in a batch after an earlier event of the ticket that is in none: \
                 batches are sealed in index order, so that event's proof is being withheld"
                    .into(),
            ),
            Some(_) => {}
        }
        match ev.batch {
            None if !ev.path.is_empty() => {
                check.problems.push("a pending event carries a path".into())
            }
            None => {}
            Some(id) => match batches.get(&id) {
                None => check
                    .problems
                    .push(format!("batch {id} is not in the bundle")),
                Some(b) => {
                    if used.insert(id) {
                        batches_used.push(id);
                    }
                    if r.index < b.first_index || r.index - b.first_index >= b.count {
                        check.problems.push(format!(
                            "index {} is outside batch {id} (first_index {}, count {})",
                            r.index, b.first_index, b.count
                        ));
                    } else if let Err(e) = verify_inclusion(
                        &hashed.leaf,
                        r.index - b.first_index,
                        b.count,
                        &ev.path,
                        &b.root,
                    ) {
                        check
                            .problems
                            .push(format!("inclusion proof fails against batch {id}: {e}"));
                    }
                }
            },
        }
        events.push(check);
    }
    let map = bundle.map.as_ref().and_then(|m| {
        let listed = match batches.get(&m.batch) {
            None => MapBatch::NotListed,
            Some(b) => match b.map_root {
                None => MapBatch::V1,
                Some(root) => MapBatch::V2(root),
            },
        };
        // The last event anchored at or before B (batched events are a
        // prefix in index order: checked above), with its checked index.
        let last = bundle
            .last_anchored_by(m.batch)
            .map(|(seq, e)| LastAnchored {
                seq,
                leaf: e.leaf,
                index: events.get(seq as usize).and_then(|c| c.index),
                batch: e.batch.unwrap_or(m.batch),
            });
        let checked = check_map(&bundle.ticket, m, listed, last);
        if batches.contains_key(&m.batch) && used.insert(m.batch) {
            batches_used.push(m.batch);
        }
        checked.map_err(|p| problems.push(p)).ok()
    });
    OfflineReport {
        events,
        problems,
        states,
        batches_used,
        map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{Tip, map_key};
    use crate::map_tree::MapVersion;

    fn handle(n: u8) -> TicketHandle {
        TicketHandle::from_random([n; 16])
    }

    /// A v2 bundle for `ticket` with no events, proving its map entry at
    /// batch 3 of a map that holds three other tickets.
    fn absence_bundle(ticket: &TicketHandle) -> Bundle {
        let map = MapVersion::new().apply_batch((1..=3).map(|n| {
            let tip = Tip {
                seq: 0,
                leaf: Hash32([n; 32]),
                index: u64::from(n),
                batch: 3,
            };
            (map_key(&handle(n)), tip)
        }));
        let mut batch = BundleBatch {
            id: 3,
            first_index: 0,
            count: 4,
            root: Hash32([9; 32]),
            head: Hash32::ZERO,
            tx: None,
            block: Some(12),
            status: "final".into(),
            map_root: Some(map.root()),
        };
        batch.head = batch.computed_head();
        let proof = map.prove_key(&map_key(ticket));
        Bundle {
            version: BUNDLE_V2,
            ticket: ticket.clone(),
            chain: ChainRef {
                chain_id: 31337,
                contract: "0x0000000000000000000000000000000000000001".into(),
                anchorer: "0x0000000000000000000000000000000000000002".into(),
            },
            max_merge_delay_ms: 60_000,
            policy: Policy::default(),
            batches: vec![batch],
            events: vec![],
            map: Some(BundleMap::new(3, proof)),
        }
    }

    #[test]
    fn a_handle_the_map_does_not_hold_gets_an_absence_bundle_that_checks_out() {
        let b = absence_bundle(&handle(7));
        let report = check_offline(&b);
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(
            report.map,
            Some(MapCheck {
                batch: 3,
                tip_seq: None
            })
        );
        assert_eq!(report.batches_used, vec![3]);
    }

    #[test]
    fn no_events_without_a_proof_of_absence_is_refused() {
        let no_events = |b: &Bundle| {
            check_offline(b)
                .problems
                .iter()
                .any(|p| p == "the bundle has no events")
        };
        // Without a map, or as v1: nothing is proven.
        let mut b = absence_bundle(&handle(7));
        b.map = None;
        assert!(no_events(&b));
        let mut b = absence_bundle(&handle(7));
        b.version = BUNDLE_V1;
        assert!(no_events(&b));
        // A tip terminal with no event to be the tip.
        let b = absence_bundle(&handle(1));
        assert!(matches!(
            b.map.as_ref().unwrap().terminal,
            BundleTerminal::Tip {}
        ));
        let r = check_offline(&b);
        assert!(no_events(&b), "{:?}", r.problems);
        assert!(r.map.is_none());
        // A held handle's proof turned into an absence: the root differs.
        let mut b = absence_bundle(&handle(1));
        b.map.as_mut().unwrap().terminal = BundleTerminal::Empty {};
        assert!(!check_offline(&b).ok());
    }

    #[test]
    fn a_doctored_absence_proof_is_refused() {
        let mut b = absence_bundle(&handle(7));
        let m = b.map.as_mut().unwrap();
        let s = m
            .siblings
            .iter_mut()
            .flatten()
            .next()
            .expect("a non-empty sibling");
        s.0[0] ^= 1;
        let r = check_offline(&b);
        assert!(!r.ok());
        assert!(r.map.is_none());
    }
}
