//! The ticket map as a log and an auditor hold it (PROTOCOL.md §15): the
//! same map as `map::TicketMap`, the reference, but persistent and updated
//! a batch at a time. Each batch's version shares every subtree its batch
//! did not touch with the version before it, so a log keeps the version at
//! the latest anchored batch (the one bundles prove against) beside newer
//! sealed ones for the price of the paths that changed, and applying a batch
//! of k updates over n tickets hashes about k·log2(n) nodes, not n.
//!
//! Pure: no I/O. The server's sealer and prover, the audit's replay and the
//! monitor all apply batches through `MapVersion::apply_batch`, so they
//! cannot disagree about what a batch does to the map.

use std::sync::Arc;

use crate::Hash32;
use crate::map::{EMPTY, MapProof, Terminal, Tip, key_bit, map_leaf_hash, map_node_hash};

#[derive(Debug)]
enum Node {
    /// One entry alone in its subtree, with its leaf hash.
    Leaf { key: Hash32, tip: Tip, hash: Hash32 },
    /// Two or more entries below; a half with none is `None` (Empty).
    Inner {
        hash: Hash32,
        left: Option<Arc<Node>>,
        right: Option<Arc<Node>>,
    },
}

impl Node {
    fn hash(&self) -> Hash32 {
        match self {
            Node::Leaf { hash, .. } | Node::Inner { hash, .. } => *hash,
        }
    }
}

fn hash_of(node: &Option<Arc<Node>>) -> Hash32 {
    node.as_ref().map_or(EMPTY, |n| n.hash())
}

fn inner(left: Option<Arc<Node>>, right: Option<Arc<Node>>) -> Arc<Node> {
    Arc::new(Node::Inner {
        hash: map_node_hash(&hash_of(&left), &hash_of(&right)),
        left,
        right,
    })
}

/// The subtree at `depth` holding `entries` (sorted by key, distinct,
/// sharing their first `depth` bits).
fn build(entries: &[(Hash32, Tip)], depth: usize) -> Option<Arc<Node>> {
    match entries {
        [] => None,
        [(key, tip)] => Some(Arc::new(Node::Leaf {
            key: *key,
            tip: *tip,
            hash: map_leaf_hash(key, tip),
        })),
        _ => {
            let split = entries.partition_point(|(k, _)| !key_bit(k, depth));
            Some(inner(
                build(&entries[..split], depth + 1),
                build(&entries[split..], depth + 1),
            ))
        }
    }
}

/// `node` at `depth` with `updates` (sorted, distinct, on its path) set,
/// and how many of the updates' keys were not in it before.
fn apply(
    node: &Option<Arc<Node>>,
    depth: usize,
    updates: &[(Hash32, Tip)],
) -> (Option<Arc<Node>>, u64) {
    if updates.is_empty() {
        return (node.clone(), 0);
    }
    match node.as_deref() {
        None => (build(updates, depth), updates.len() as u64),
        Some(Node::Leaf { key, tip, .. }) => {
            // The one entry here joins the updates unless one replaces it.
            match updates.binary_search_by(|(k, _)| k.cmp(key)) {
                Ok(_) => (build(updates, depth), updates.len() as u64 - 1),
                Err(at) => {
                    let mut merged = Vec::with_capacity(updates.len() + 1);
                    merged.extend_from_slice(&updates[..at]);
                    merged.push((*key, *tip));
                    merged.extend_from_slice(&updates[at..]);
                    (build(&merged, depth), updates.len() as u64)
                }
            }
        }
        Some(Node::Inner { left, right, .. }) => {
            let split = updates.partition_point(|(k, _)| !key_bit(k, depth));
            let (lu, ru) = updates.split_at(split);
            // A large batch's two halves are independent subtrees: the
            // root's are applied on two threads (sealing a 65,536-event
            // batch on 2 cores takes about half the time).
            let ((l, added_l), (r, added_r)) = if depth == 0 && updates.len() >= PARALLEL_FROM {
                std::thread::scope(|s| {
                    let right_half = s.spawn(|| apply(right, depth + 1, ru));
                    let left_half = apply(left, depth + 1, lu);
                    let right_half = right_half
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                    (left_half, right_half)
                })
            } else {
                (apply(left, depth + 1, lu), apply(right, depth + 1, ru))
            };
            (Some(inner(l, r)), added_l + added_r)
        }
    }
}

/// Batches of at least this many distinct keys apply the root's halves on
/// two threads.
const PARALLEL_FROM: usize = 8192;

/// One version of the map: cheap to clone (it shares its nodes).
#[derive(Debug, Clone, Default)]
pub struct MapVersion {
    root: Option<Arc<Node>>,
    len: u64,
}

impl MapVersion {
    /// The empty map.
    pub fn new() -> MapVersion {
        MapVersion::default()
    }

    /// The map root a head v2 commits.
    pub fn root(&self) -> Hash32 {
        hash_of(&self.root)
    }

    /// How many tickets the map holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The map after a batch: `updates` are `(key, tip)` in the batch's
    /// index order, and the last one for a key wins (§15.2).
    pub fn apply_batch(&self, updates: impl IntoIterator<Item = (Hash32, Tip)>) -> MapVersion {
        let mut updates: Vec<(Hash32, Tip)> = updates.into_iter().collect();
        // A stable sort keeps each key's updates in index order; the last
        // of each run is the one the batch leaves.
        updates.sort_by_key(|u| u.0);
        let mut last: Vec<(Hash32, Tip)> = Vec::with_capacity(updates.len());
        for u in updates {
            match last.last_mut() {
                Some(prev) if prev.0 == u.0 => *prev = u,
                _ => last.push(u),
            }
        }
        let (root, added) = apply(&self.root, 0, &last);
        MapVersion {
            root,
            len: self.len + added,
        }
    }

    /// The key's tip, if the map holds one.
    pub fn get_key(&self, key: &Hash32) -> Option<Tip> {
        let mut node = self.root.as_deref();
        let mut depth = 0;
        loop {
            match node? {
                Node::Leaf { key: k, tip, .. } => return (k == key).then_some(*tip),
                Node::Inner { left, right, .. } => {
                    node = if key_bit(key, depth) { right } else { left }.as_deref();
                    depth += 1;
                }
            }
        }
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> Vec<(Hash32, Tip)> {
        fn walk(node: &Option<Arc<Node>>, out: &mut Vec<(Hash32, Tip)>) {
            match node.as_deref() {
                None => {}
                Some(Node::Leaf { key, tip, .. }) => out.push((*key, *tip)),
                Some(Node::Inner { left, right, .. }) => {
                    walk(left, out);
                    walk(right, out);
                }
            }
        }
        let mut out = Vec::with_capacity(self.len as usize);
        walk(&self.root, &mut out);
        out
    }

    /// An entry of the subtree beside `key`'s path at `depth`: the one
    /// whose keys share `key`'s first `depth` bits and differ in bit
    /// `depth`. None when that subtree is Empty, or when `key`'s path ends
    /// above `depth`. With no depth given: any entry of the map. An auditor
    /// whose replay disagrees with a log's proof walks down to the entry
    /// that differs with it (`proofdesk audit`, skipped records).
    pub fn entry_beside(&self, key: &Hash32, depth: Option<usize>) -> Option<(Hash32, Tip)> {
        let mut node = self.root.as_deref()?;
        if let Some(depth) = depth {
            for level in 0..=depth {
                let Node::Inner { left, right, .. } = node else {
                    return None;
                };
                let toward = key_bit(key, level) != (level == depth);
                node = if toward { right } else { left }.as_deref()?;
            }
        }
        loop {
            match node {
                Node::Leaf { key, tip, .. } => return Some((*key, *tip)),
                Node::Inner { left, right, .. } => {
                    node = left.as_deref().or(right.as_deref())?;
                }
            }
        }
    }

    /// The proof for `key`: its tip, or its absence (§15.4).
    pub fn prove_key(&self, key: &Hash32) -> MapProof {
        let mut top_down: Vec<Option<Hash32>> = Vec::new();
        let mut node = self.root.as_deref();
        let mut depth = 0;
        let terminal = loop {
            match node {
                None => break Terminal::Empty {},
                Some(Node::Leaf { key: k, tip, .. }) => {
                    break if k == key {
                        Terminal::Tip { tip: *tip }
                    } else {
                        Terminal::Other { key: *k, tip: *tip }
                    };
                }
                Some(Node::Inner { left, right, .. }) => {
                    let (next, sibling) = if key_bit(key, depth) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    top_down.push(sibling.as_ref().map(|s| s.hash()));
                    node = next.as_deref();
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

/// A version is written as its entries in key order (an audit's resume
/// file keeps it so), and read back by applying them.
impl serde::Serialize for MapVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.entries())
    }
}

impl<'de> serde::Deserialize<'de> for MapVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MapVersion, D::Error> {
        let entries = Vec::<(Hash32, Tip)>::deserialize(d)?;
        Ok(MapVersion::new().apply_batch(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::TicketHandle;
    use crate::map::{TicketMap, map_key};
    use proptest::prelude::*;

    fn handle(i: u64) -> TicketHandle {
        TicketHandle::parse(&format!("tk_{i:032x}")).unwrap()
    }

    fn tip(i: u64, batch: u64) -> Tip {
        Tip {
            seq: i % 5,
            leaf: crate::hashing::sha256(&i.to_be_bytes()),
            index: i,
            batch,
        }
    }

    #[test]
    fn the_entry_beside_a_path_is_under_the_sibling_the_proof_gives() {
        let v = MapVersion::new().apply_batch((0..300).map(|i| (map_key(&handle(i)), tip(i, 0))));
        assert!(MapVersion::new().entry_beside(&EMPTY, None).is_none());
        assert!(v.entry_beside(&EMPTY, None).is_some());
        for i in [0, 7, 299, 1000] {
            let k = map_key(&handle(i));
            let top_down: Vec<Option<Hash32>> =
                v.prove_key(&k).siblings.into_iter().rev().collect();
            for (d, sibling) in top_down.iter().enumerate() {
                let beside = v.entry_beside(&k, Some(d));
                assert_eq!(beside.is_some(), sibling.is_some(), "key {i} depth {d}");
                if let Some((other, t)) = beside {
                    assert!((0..d).all(|b| key_bit(&other, b) == key_bit(&k, b)));
                    assert_ne!(key_bit(&other, d), key_bit(&k, d));
                    assert_eq!(v.get_key(&other), Some(t));
                }
            }
            // Below the path's end there is nothing beside it.
            assert!(v.entry_beside(&k, Some(top_down.len())).is_none());
        }
    }

    #[test]
    fn an_empty_version_is_the_empty_map() {
        let v = MapVersion::new();
        assert_eq!(v.root(), EMPTY);
        assert_eq!(
            v.prove_key(&map_key(&handle(1))).terminal,
            Terminal::Empty {}
        );
        assert!(v.is_empty());
    }

    #[test]
    fn older_versions_are_unchanged_by_later_batches() {
        let v1 = MapVersion::new().apply_batch((0..20).map(|i| (map_key(&handle(i)), tip(i, 0))));
        let root1 = v1.root();
        let v2 = v1.apply_batch([(map_key(&handle(3)), tip(100, 1))]);
        assert_eq!(v1.root(), root1);
        assert_ne!(v2.root(), root1);
        assert_eq!(v1.get_key(&map_key(&handle(3))), Some(tip(3, 0)));
        assert_eq!(v2.get_key(&map_key(&handle(3))), Some(tip(100, 1)));
        assert_eq!((v1.len(), v2.len()), (20, 20));
        let json = serde_json::to_string(&v2).unwrap();
        let back: MapVersion = serde_json::from_str(&json).unwrap();
        assert_eq!(back.root(), v2.root());
        assert_eq!(back.len(), v2.len());
    }

    #[test]
    fn within_a_batch_the_last_record_of_a_ticket_wins() {
        let k = map_key(&handle(1));
        let v = MapVersion::new().apply_batch([(k, tip(1, 0)), (k, tip(2, 0)), (k, tip(3, 0))]);
        assert_eq!(v.get_key(&k), Some(tip(3, 0)));
        assert_eq!(v.len(), 1);
    }

    proptest! {
        /// Batch by batch, the persistent map has the reference's root,
        /// and its proofs are the reference's proofs.
        #[test]
        fn it_is_the_reference_map_batch_by_batch(
            batches in proptest::collection::vec(
                proptest::collection::vec((0u64..60, 0u64..1000), 0..25), 1..6),
            probes in proptest::collection::vec(0u64..80, 1..10),
        ) {
            let mut reference = TicketMap::new();
            let mut version = MapVersion::new();
            for (b, updates) in batches.iter().enumerate() {
                let tips: Vec<(Hash32, Tip)> = updates
                    .iter()
                    .map(|(t, i)| (map_key(&handle(*t)), tip(*i, b as u64)))
                    .collect();
                for (t, i) in updates {
                    reference.set(&handle(*t), tip(*i, b as u64));
                }
                let before = version.root();
                let next = version.apply_batch(tips);
                prop_assert_eq!(version.root(), before);
                version = next;
                prop_assert_eq!(version.root(), reference.root());
                prop_assert_eq!(version.len(), reference.len() as u64);
                for p in &probes {
                    let key = map_key(&handle(*p));
                    prop_assert_eq!(version.prove_key(&key), reference.prove_key(&key));
                    prop_assert_eq!(version.get_key(&key), reference.get(&handle(*p)).copied());
                }
            }
        }
    }
}
