//! The ticket map of head v2 (docs/PROTOCOL.md §15): from each ticket's
//! handle to its tip, the latest anchored
//! record of that ticket. A batch head v2 commits the map's root as it
//! stands after the batch, so a bundle can prove that its last record is
//! the ticket's latest (nothing withheld after it) and that no other
//! version of it was anchored, and a handle the log never logged can be
//! proven absent.
//!
//! The map is a sparse Merkle tree over 256-bit keys (`key = SHA-256(handle)`,
//! bits read from the most significant) in which a subtree holding exactly
//! one entry is that entry's leaf, placed where its key first parts from
//! every other key (as in the Jellyfish Merkle tree and the key
//! transparency drafts' compressed trees). An entry sits about log2(n)
//! levels deep, so a proof at a million tickets is about 21 hashes, and a
//! batch of k updates costs about k·log2(n) hashes, not k·256.
//!
//! Every hash has its own one-byte prefix beside v1's four (§6): a map leaf
//! can be neither a record leaf, an RFC 6962 node, a head nor a map node.
//!
//! This module is the reference: the root is computed from the sorted
//! entries (O(n) hashing), and proofs come from a snapshot that hashes
//! every subtree once. It is what the vectors and every verifier check
//! against.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Hash32;
use crate::fields::TicketHandle;
use crate::hashing::batch_head;

pub const MAP_LEAF_PREFIX: u8 = 0x04;
pub const MAP_NODE_PREFIX: u8 = 0x05;
pub const HEAD_V2_ROOT_PREFIX: u8 = 0x06;

/// The root of an empty subtree (and of an empty map): 32 zero bytes. No
/// SHA-256 output is known to be zero, so it cannot stand for a subtree
/// that holds an entry.
pub const EMPTY: Hash32 = Hash32::ZERO;

/// A ticket's latest anchored record: what the map holds for its handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tip {
    /// The record's `seq` (the ticket has `seq + 1` records).
    pub seq: u64,
    /// The record's leaf hash (§6).
    pub leaf: Hash32,
    /// The record's global index.
    pub index: u64,
    /// The batch the record was anchored in.
    pub batch: u64,
}

impl Tip {
    /// u64be(seq) ‖ leaf ‖ u64be(index) ‖ u64be(batch): 56 bytes.
    pub fn encode(&self) -> [u8; 56] {
        let mut out = [0u8; 56];
        out[..8].copy_from_slice(&self.seq.to_be_bytes());
        out[8..40].copy_from_slice(&self.leaf.0);
        out[40..48].copy_from_slice(&self.index.to_be_bytes());
        out[48..].copy_from_slice(&self.batch.to_be_bytes());
        out
    }
}

/// key = SHA-256(the handle's ASCII bytes).
pub fn map_key(handle: &TicketHandle) -> Hash32 {
    Hash32(Sha256::digest(handle.as_str().as_bytes()).into())
}

/// Map leaf = SHA-256(0x04 ‖ key ‖ tip encoding).
pub fn map_leaf_hash(key: &Hash32, tip: &Tip) -> Hash32 {
    let mut h = Sha256::new();
    h.update([MAP_LEAF_PREFIX]);
    h.update(key.0);
    h.update(tip.encode());
    Hash32(h.finalize().into())
}

/// Map node = SHA-256(0x05 ‖ left ‖ right); either child may be EMPTY.
pub fn map_node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([MAP_NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash32(h.finalize().into())
}

/// The root a head v2 anchors = SHA-256(0x06 ‖ log root ‖ map root). It
/// takes the place of v1's batch root in the head (§6), so the contract's
/// `anchor()` and its stored `bytes32` do not change.
pub fn anchored_root_v2(log_root: &Hash32, map_root: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([HEAD_V2_ROOT_PREFIX]);
    h.update(log_root.0);
    h.update(map_root.0);
    Hash32(h.finalize().into())
}

/// The root a batch anchors: its log root (v1, no map root), or the v2
/// fold of its log and map roots.
pub fn anchored_root(log_root: &Hash32, map_root: Option<&Hash32>) -> Hash32 {
    match map_root {
        Some(m) => anchored_root_v2(log_root, m),
        None => *log_root,
    }
}

/// A batch's head: v1 without a map root, head v2 with one.
pub fn batch_head_of(
    batch_id: u64,
    first_index: u64,
    count: u64,
    log_root: &Hash32,
    map_root: Option<&Hash32>,
) -> Hash32 {
    batch_head(
        batch_id,
        first_index,
        count,
        &anchored_root(log_root, map_root),
    )
}

/// Head v2 = the v1 head (§6) over `anchored_root_v2(log_root, map_root)`.
pub fn batch_head_v2(
    batch_id: u64,
    first_index: u64,
    count: u64,
    log_root: &Hash32,
    map_root: &Hash32,
) -> Hash32 {
    batch_head(
        batch_id,
        first_index,
        count,
        &anchored_root_v2(log_root, map_root),
    )
}

/// Bit `depth` of a key, from the most significant bit of byte 0.
pub fn key_bit(key: &Hash32, depth: usize) -> bool {
    (key.0[depth / 8] >> (7 - depth % 8)) & 1 == 1
}

/// The root of the subtree at `depth` holding `entries` (sorted by key,
/// distinct, sharing their first `depth` bits): EMPTY for none, the leaf
/// itself for one, else the node over both halves.
fn subtree_root(entries: &[(Hash32, Hash32)], depth: usize) -> Hash32 {
    match entries {
        [] => EMPTY,
        [(_, leaf)] => *leaf,
        _ => {
            let split = entries.partition_point(|(k, _)| !key_bit(k, depth));
            map_node_hash(
                &subtree_root(&entries[..split], depth + 1),
                &subtree_root(&entries[split..], depth + 1),
            )
        }
    }
}

/// What a proof ends on, where the key's path stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Terminal {
    /// The key's own leaf: the map holds `tip` for it.
    Tip { tip: Tip },
    /// An empty subtree: the key is absent. (Written `{}`: serde checks
    /// unknown members only of struct variants.)
    Empty {},
    /// Another key's leaf, alone in the subtree the key would be in: the
    /// key is absent. The other entry's tip is given so the verifier hashes
    /// the leaf itself (a bare hash could be a node's, hiding the key).
    Other { key: Hash32, tip: Tip },
}

/// A proof about one key against a map root: the siblings on the key's
/// path from the terminal's level up to the root's children (`None` for an
/// empty sibling), and the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapProof {
    pub siblings: Vec<Option<Hash32>>,
    pub terminal: Terminal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("the proof is {0} levels deep; keys have 256 bits")]
    TooDeep(usize),
    #[error(
        "the proof is not in its one canonical form: an entry or an empty subtree alone under its parent stands in the parent's place, so the lowest sibling cannot be empty"
    )]
    NotCanonical,
    #[error("the other entry has the proven key itself; that is an inclusion, not an absence")]
    OtherIsTheKey,
    #[error(
        "the other entry's key does not share the first {0} bits of the proven key, so it does not sit on its path"
    )]
    OtherOffPath(usize),
    #[error("the proof leads to root {computed}, not to the map root {expected}")]
    RootMismatch { computed: Hash32, expected: Hash32 },
}

impl MapProof {
    /// Checks the proof for `handle` against `root`: the handle's tip when
    /// the map holds one, None when it proves the handle absent.
    pub fn verify(&self, root: &Hash32, handle: &TicketHandle) -> Result<Option<Tip>, MapError> {
        self.verify_key(root, &map_key(handle))
    }

    pub fn verify_key(&self, root: &Hash32, key: &Hash32) -> Result<Option<Tip>, MapError> {
        let depth = self.siblings.len();
        if depth > 256 {
            return Err(MapError::TooDeep(depth));
        }
        if depth > 0 && self.siblings[0].is_none() {
            return Err(MapError::NotCanonical);
        }
        let (mut h, found) = match &self.terminal {
            Terminal::Tip { tip } => (map_leaf_hash(key, tip), Some(*tip)),
            Terminal::Empty {} => (EMPTY, None),
            Terminal::Other { key: other, tip } => {
                if other == key {
                    return Err(MapError::OtherIsTheKey);
                }
                if (0..depth).any(|d| key_bit(other, d) != key_bit(key, d)) {
                    return Err(MapError::OtherOffPath(depth));
                }
                (map_leaf_hash(other, tip), None)
            }
        };
        for (i, sibling) in self.siblings.iter().enumerate() {
            let level = depth - 1 - i;
            let s = sibling.unwrap_or(EMPTY);
            h = if key_bit(key, level) {
                map_node_hash(&s, &h)
            } else {
                map_node_hash(&h, &s)
            };
        }
        if &h != root {
            return Err(MapError::RootMismatch {
                computed: h,
                expected: *root,
            });
        }
        Ok(found)
    }

    /// The proof's size as a bundle carries it: each sibling as a 0x-hex
    /// string or null, and the terminal (JSON, compact).
    pub fn json_len(&self) -> usize {
        serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0)
    }
}

/// The map itself, as the reference holds it: every key's tip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketMap {
    entries: BTreeMap<Hash32, Tip>,
}

impl TicketMap {
    pub fn new() -> TicketMap {
        TicketMap::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ticket's tip, if it has one.
    pub fn get(&self, handle: &TicketHandle) -> Option<&Tip> {
        self.entries.get(&map_key(handle))
    }

    /// Sets the ticket's tip (sealing applies a batch's records in index
    /// order, so the last record of each ticket wins).
    pub fn set(&mut self, handle: &TicketHandle, tip: Tip) {
        self.entries.insert(map_key(handle), tip);
    }

    fn leaves(&self) -> Vec<(Hash32, Hash32)> {
        self.entries
            .iter()
            .map(|(k, t)| (*k, map_leaf_hash(k, t)))
            .collect()
    }

    pub fn root(&self) -> Hash32 {
        subtree_root(&self.leaves(), 0)
    }

    /// The proof for `handle`: its tip, or its absence.
    pub fn prove(&self, handle: &TicketHandle) -> MapProof {
        self.prove_key(&map_key(handle))
    }

    pub fn prove_key(&self, key: &Hash32) -> MapProof {
        self.snapshot().prove_key(key)
    }
}

/// Every subtree of a map, hashed once: proofs in O(depth) lookups
/// instead of re-deriving siblings. A subtree is named by its depth and its
/// keys' common prefix (the key's bits below `depth` cleared).
#[derive(Debug, Clone)]
pub struct MapSnapshot {
    root: Hash32,
    nodes: std::collections::HashMap<(u16, Hash32), Subtree>,
    entries: BTreeMap<Hash32, Tip>,
}

#[derive(Debug, Clone, Copy)]
enum Subtree {
    /// One entry, at the place where its key parts from all others.
    Leaf(Hash32),
    /// Two or more entries below: the node's hash.
    Node(Hash32),
}

/// `key` with every bit from `depth` on cleared.
fn prefix(key: &Hash32, depth: usize) -> Hash32 {
    let mut out = *key;
    for (i, byte) in out.0.iter_mut().enumerate() {
        let first = i * 8;
        if first >= depth {
            *byte = 0;
        } else if first + 8 > depth {
            *byte &= 0xffu8 << (first + 8 - depth);
        }
    }
    out
}

impl MapSnapshot {
    fn build(
        entries: &[(Hash32, Hash32)],
        depth: usize,
        nodes: &mut std::collections::HashMap<(u16, Hash32), Subtree>,
    ) -> Hash32 {
        match entries {
            [] => EMPTY,
            [(k, leaf)] => {
                nodes.insert((depth as u16, prefix(k, depth)), Subtree::Leaf(*k));
                *leaf
            }
            _ => {
                let split = entries.partition_point(|(k, _)| !key_bit(k, depth));
                let left = Self::build(&entries[..split], depth + 1, nodes);
                let right = Self::build(&entries[split..], depth + 1, nodes);
                let h = map_node_hash(&left, &right);
                nodes.insert(
                    (depth as u16, prefix(&entries[0].0, depth)),
                    Subtree::Node(h),
                );
                h
            }
        }
    }

    pub fn root(&self) -> Hash32 {
        self.root
    }

    fn hash_of(&self, depth: usize, prefix_key: &Hash32) -> Option<(Hash32, Subtree)> {
        let sub = *self.nodes.get(&(depth as u16, *prefix_key))?;
        let h = match sub {
            Subtree::Leaf(k) => map_leaf_hash(&k, &self.entries[&k]),
            Subtree::Node(h) => h,
        };
        Some((h, sub))
    }

    /// The same proof `TicketMap::prove_key` gives.
    pub fn prove_key(&self, key: &Hash32) -> MapProof {
        let mut top_down: Vec<Option<Hash32>> = Vec::new();
        let mut depth = 0;
        let terminal = loop {
            match self.hash_of(depth, &prefix(key, depth)) {
                None => break Terminal::Empty {},
                Some((_, Subtree::Leaf(k))) => {
                    let tip = self.entries[&k];
                    break if &k == key {
                        Terminal::Tip { tip }
                    } else {
                        Terminal::Other { key: k, tip }
                    };
                }
                Some((_, Subtree::Node(_))) => {
                    let mut sibling = prefix(key, depth + 1);
                    sibling.0[depth / 8] ^= 1 << (7 - depth % 8);
                    top_down.push(self.hash_of(depth + 1, &sibling).map(|(h, _)| h));
                    depth += 1;
                }
            }
        };
        top_down.reverse();
        MapProof {
            siblings: top_down,
            terminal,
        }
    }
}

impl TicketMap {
    /// Hashes every subtree once, for many proofs against one root.
    pub fn snapshot(&self) -> MapSnapshot {
        let mut nodes = std::collections::HashMap::new();
        let root = MapSnapshot::build(&self.leaves(), 0, &mut nodes);
        MapSnapshot {
            root,
            nodes,
            entries: self.entries.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn handle(i: u64) -> TicketHandle {
        TicketHandle::parse(&format!("tk_{i:032x}")).unwrap()
    }

    fn tip(i: u64) -> Tip {
        Tip {
            seq: i % 7,
            leaf: crate::hashing::sha256(&i.to_be_bytes()),
            index: i * 3,
            batch: i / 4,
        }
    }

    fn map_of(n: u64) -> TicketMap {
        let mut m = TicketMap::new();
        for i in 0..n {
            m.set(&handle(i), tip(i));
        }
        m
    }

    #[test]
    fn an_empty_map_has_the_empty_root_and_proves_every_key_absent() {
        let m = TicketMap::new();
        assert_eq!(m.root(), EMPTY);
        let p = m.prove(&handle(1));
        assert_eq!(p.siblings, vec![]);
        assert_eq!(p.terminal, Terminal::Empty {});
        assert_eq!(p.verify(&EMPTY, &handle(1)), Ok(None));
    }

    #[test]
    fn one_entry_is_its_own_leaf_at_the_root() {
        let m = map_of(1);
        let key = map_key(&handle(0));
        assert_eq!(m.root(), map_leaf_hash(&key, &tip(0)));
        let p = m.prove(&handle(0));
        assert!(p.siblings.is_empty());
        assert_eq!(p.verify(&m.root(), &handle(0)), Ok(Some(tip(0))));
        // Any other key's path ends on that leaf.
        let q = m.prove(&handle(5));
        assert!(matches!(q.terminal, Terminal::Other { .. }));
        assert_eq!(q.verify(&m.root(), &handle(5)), Ok(None));
    }

    #[test]
    fn the_root_does_not_depend_on_the_order_of_updates_only_on_the_last_tip() {
        let mut a = map_of(50);
        let mut b = TicketMap::new();
        for i in (0..50).rev() {
            b.set(&handle(i), tip(i + 1000));
            b.set(&handle(i), tip(i));
        }
        assert_eq!(a.root(), b.root());
        a.set(&handle(3), tip(99));
        assert_ne!(a.root(), b.root());
    }

    #[test]
    fn the_snapshot_has_the_reference_root_and_its_proofs_verify() {
        let m = map_of(300);
        let snap = m.snapshot();
        assert_eq!(snap.root(), m.root());
        for i in 0..320 {
            let h = handle(i * 7 + 1);
            let expected = m.get(&h).copied();
            assert_eq!(
                snap.prove_key(&map_key(&h)).verify(&m.root(), &h),
                Ok(expected),
                "key {i}"
            );
        }
        let empty = TicketMap::new().snapshot();
        assert_eq!(
            empty.prove_key(&map_key(&handle(1))).terminal,
            Terminal::Empty {}
        );
    }

    #[test]
    fn proofs_at_a_million_tickets_measured() {
        // 2^20 random keys; the size of 1,000 inclusion proofs as a bundle
        // carries them (compact JSON), printed for PROTOCOL.md §15.
        let mut m = TicketMap::new();
        for i in 0..(1u64 << 20) {
            m.entries.insert(
                crate::hashing::sha256(&i.to_le_bytes()),
                Tip {
                    seq: i % 40,
                    leaf: crate::hashing::sha256(&i.to_be_bytes()),
                    index: 40_000_000 + i,
                    batch: 600 + i / 65_536,
                },
            );
        }
        let snap = m.snapshot();
        let keys: Vec<Hash32> = m.entries.keys().step_by(1049).copied().collect();
        let mut sizes: Vec<(usize, usize, usize, usize, usize)> = keys
            .iter()
            .map(|k| {
                let p = snap.prove_key(k);
                assert!(p.verify_key(&snap.root(), k).unwrap().is_some());
                let present = p.siblings.iter().filter(|s| s.is_some()).count();
                // A bundle's inclusion proof gives the siblings only: the
                // tip is the bundle's last record (PROTOCOL.md §15.4).
                let siblings = serde_json::to_vec(&p.siblings).unwrap().len();
                // The whole `map` member of a bundle v2, as served.
                let member = crate::bundle_map::BundleMap {
                    batch: 615,
                    siblings: p.siblings.clone(),
                    terminal: crate::bundle_map::BundleTerminal::Tip {},
                };
                let member = serde_json::to_vec(&member).unwrap().len();
                (siblings, p.siblings.len(), present, p.json_len(), member)
            })
            .collect();
        sizes.sort_unstable();
        let n = sizes.len();
        let mean = sizes.iter().map(|s| s.0).sum::<usize>() / n;
        eprintln!(
            "map proofs at 2^20 tickets ({n} proofs): siblings as a bundle carries them: mean {mean} B, p50 {} B, p99 {} B, max {} B; depth p50 {}, max {}; non-empty siblings p50 {}; whole self-contained proof (with the tip) max {} B",
            sizes[n / 2].0,
            sizes[n * 99 / 100].0,
            sizes[n - 1].0,
            sizes[n / 2].1,
            sizes.iter().map(|s| s.1).max().unwrap(),
            sizes[n / 2].2,
            sizes.iter().map(|s| s.3).max().unwrap(),
        );
        let mut members: Vec<usize> = sizes.iter().map(|s| s.4).collect();
        members.sort_unstable();
        // One line for scripts/bench.sh (its map_proof_bytes row).
        println!(
            "BENCH {{\"measure\":\"map_proof_bytes\",\"tickets\":{},\"proofs\":{n},\"p50\":{},\"p99\":{},\"max\":{},\"depth_p50\":{}}}",
            1u64 << 20,
            members[n / 2],
            members[n * 99 / 100],
            members[n - 1],
            sizes[n / 2].1,
        );
        // A key sits where it parts from its nearest neighbour: about
        // log2(n) + 1.3 levels, rarely past 40 at a million.
        assert!(sizes.iter().all(|s| s.1 <= 48), "{sizes:?}");
    }

    #[test]
    fn forged_proofs_are_refused() {
        let m = map_of(40);
        let root = m.root();
        let h = handle(7);
        let good = m.prove(&h);
        assert_eq!(good.verify(&root, &h), Ok(Some(tip(7))));
        // Another tip for the same key.
        let mut other_tip = good.clone();
        other_tip.terminal = Terminal::Tip { tip: tip(8) };
        assert!(matches!(
            other_tip.verify(&root, &h),
            Err(MapError::RootMismatch { .. })
        ));
        // Absence claimed where the key is present: an empty terminal, or
        // the key's own leaf passed off as another's.
        let mut empty = good.clone();
        empty.terminal = Terminal::Empty {};
        assert!(empty.verify(&root, &h).is_err());
        let mut own = good.clone();
        own.terminal = Terminal::Other {
            key: map_key(&h),
            tip: tip(7),
        };
        assert_eq!(own.verify(&root, &h), Err(MapError::OtherIsTheKey));
        // A sibling dropped or an empty level added below the leaf.
        let mut short = good.clone();
        short.siblings.remove(0);
        assert!(short.verify(&root, &h).is_err());
        let mut deeper = good.clone();
        deeper.siblings.insert(0, None);
        assert_eq!(deeper.verify(&root, &h), Err(MapError::NotCanonical));
        // Another key's leaf that does not sit on the proven key's path.
        let absent = handle(1000);
        let p = m.prove(&absent);
        assert_eq!(p.verify(&root, &absent), Ok(None));
        if let Terminal::Other { .. } = p.terminal {
            let mut off = p.clone();
            off.terminal = Terminal::Other {
                key: map_key(&handle(7)),
                tip: tip(7),
            };
            assert!(off.verify(&root, &absent).is_err());
        }
    }

    #[test]
    fn a_proof_has_one_spelling_as_the_page_reads_it() {
        let m = map_of(5);
        let p = serde_json::to_value(m.prove(&handle(2))).unwrap();
        assert!(serde_json::from_value::<MapProof>(p.clone()).is_ok());
        let empty = serde_json::json!({"siblings": [], "terminal": {"kind": "empty", "note": 1}});
        assert!(serde_json::from_value::<MapProof>(empty).is_err());
        for (path, extra) in [
            ("", "note"),
            ("/terminal", "note"),
            ("/terminal/tip", "note"),
        ] {
            let mut q = p.clone();
            q.pointer_mut(path)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert(extra.into(), serde_json::json!(1));
            assert!(
                serde_json::from_value::<MapProof>(q).is_err(),
                "an unknown member at {path:?} is refused"
            );
        }
    }

    proptest! {
        #[test]
        fn every_key_proves_its_tip_and_every_other_key_its_absence(
            n in 0u64..80, probe in 0u64..200, seed in any::<u64>()
        ) {
            let mut m = TicketMap::new();
            for i in 0..n {
                m.set(&handle(i ^ seed), tip(i));
            }
            let root = m.root();
            for i in 0..n {
                let p = m.prove(&handle(i ^ seed));
                prop_assert_eq!(p.verify(&root, &handle(i ^ seed)), Ok(Some(tip(i))));
            }
            let h = handle(probe.wrapping_add(1 << 40) ^ seed);
            let p = m.prove(&h);
            prop_assert_eq!(p.verify(&root, &h), Ok(None));
            // Once a key's tip changes, what the old proof said of it (its
            // old tip, or its absence) no longer verifies.
            let changed = handle(seed);
            let old = m.prove(&changed);
            let mut later = m.clone();
            later.set(&changed, tip(12345));
            prop_assert!(old.verify(&later.root(), &changed).is_err());
        }
    }
}
