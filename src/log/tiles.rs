//! How a sealed batch's tree is stored: in tiles, so that sealing writes
//! about one row per 15 events instead of one audit-path row per event, and
//! an audit path is still read, never recomputed.
//!
//! The tree's levels (`BatchTree`: level 0 holds the leaves, each level
//! pairs the one below and promotes an unpaired last node) are cut into
//! strata of `HEIGHT` levels. Tile `(stratum s, index t)` holds, for each of
//! its levels `l = HEIGHT·s + j`, the nodes `t·2^(HEIGHT−j) ..` up to
//! `(t+1)·2^(HEIGHT−j)` (fewer at the right edge), concatenated level by
//! level, 32 bytes each: the subtree under one node of level `HEIGHT·(s+1)`,
//! root excluded (as in Tessera's tiles, but with every level kept, so a
//! path costs no hashing). A leaf's sibling at each of those levels lies in
//! the same tile, so an audit path is one tile per stratum: 4 rows for a
//! 65,536-event batch. The root level is not stored; the batch row holds the
//! root.
//!
//! With `HEIGHT = 4` a full tile is 30 hashes (960 bytes): small enough to
//! stay inside a SQLite page and under PostgreSQL's TOAST threshold.
//!
//! Pure: the layout and its arithmetic only. Storage is in the backends.

use crate::protocol::Hash32;
use crate::protocol::tree::BatchTree;

/// Tree levels per tile.
pub const HEIGHT: u32 = 4;

/// One stored tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub stratum: u32,
    pub index: u64,
    /// The tile's nodes, level by level, bottom first.
    pub hashes: Vec<u8>,
}

/// Where a tile sits in its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileKey {
    pub stratum: u32,
    pub index: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("position {position} is outside a batch of {count} events")]
    OutOfRange { position: u64, count: u64 },
    #[error("tile {stratum}/{index} of a batch of {count} events is missing")]
    Missing {
        stratum: u32,
        index: u64,
        count: u64,
    },
    #[error(
        "tile {stratum}/{index} of a batch of {count} events holds {got} bytes, not {expected}"
    )]
    WrongSize {
        stratum: u32,
        index: u64,
        count: u64,
        got: usize,
        expected: usize,
    },
}

/// Levels below the root: the longest audit path in a batch of `count`.
fn depth(count: u64) -> u32 {
    if count <= 1 {
        0
    } else {
        64 - (count - 1).leading_zeros()
    }
}

/// Nodes at `level` of a batch of `count` leaves.
fn level_len(count: u64, level: u32) -> u64 {
    if level >= 64 {
        return 1;
    }
    count.div_ceil(1u64 << level)
}

/// The levels `HEIGHT·stratum + j` a stratum holds, as `j`.
fn levels_in(count: u64, stratum: u32) -> std::ops::Range<u32> {
    let bottom = HEIGHT * stratum;
    0..depth(count).saturating_sub(bottom).min(HEIGHT)
}

/// The node range `[start, end)` of level `HEIGHT·stratum + j` in a tile.
fn span(count: u64, key: TileKey, j: u32) -> (u64, u64) {
    let width = 1u64 << (HEIGHT - j);
    let start = key.index * width;
    let end = ((key.index + 1) * width).min(level_len(count, HEIGHT * key.stratum + j));
    (start, end.max(start))
}

/// Bytes of a tile, from the batch size alone.
fn tile_len(count: u64, key: TileKey) -> usize {
    levels_in(count, key.stratum)
        .map(|j| {
            let (a, b) = span(count, key, j);
            (b - a) as usize * 32
        })
        .sum()
}

/// Every tile of a batch's tree.
pub fn tiles(tree: &BatchTree) -> Vec<Tile> {
    let levels = tree.levels();
    let count = tree.size();
    let strata = depth(count).div_ceil(HEIGHT);
    let mut out = Vec::new();
    for stratum in 0..strata {
        let n = level_len(count, HEIGHT * stratum).div_ceil(1 << HEIGHT);
        for index in 0..n {
            let key = TileKey { stratum, index };
            let mut hashes = Vec::with_capacity(tile_len(count, key));
            for j in levels_in(count, stratum) {
                let (a, b) = span(count, key, j);
                let level = &levels[(HEIGHT * stratum + j) as usize];
                for node in &level[a as usize..b as usize] {
                    hashes.extend_from_slice(&node.0);
                }
            }
            out.push(Tile {
                stratum,
                index,
                hashes,
            });
        }
    }
    out
}

/// The tiles the audit path of `position` reads, one per stratum.
pub fn keys(count: u64, position: u64) -> impl Iterator<Item = TileKey> {
    let strata = depth(count).div_ceil(HEIGHT);
    (0..strata).map(move |stratum| TileKey {
        stratum,
        index: position >> (HEIGHT * (stratum + 1)),
    })
}

/// The RFC 9162 audit path of `position` in a batch of `count`, bottom-up,
/// read from its tiles.
pub fn path<'a>(
    count: u64,
    position: u64,
    mut tile: impl FnMut(TileKey) -> Option<&'a [u8]>,
) -> Result<Vec<Hash32>, TileError> {
    if position >= count {
        return Err(TileError::OutOfRange { position, count });
    }
    let mut path = Vec::with_capacity(depth(count) as usize);
    for key in keys(count, position) {
        let bytes = tile(key).ok_or(TileError::Missing {
            stratum: key.stratum,
            index: key.index,
            count,
        })?;
        let expected = tile_len(count, key);
        if bytes.len() != expected {
            return Err(TileError::WrongSize {
                stratum: key.stratum,
                index: key.index,
                count,
                got: bytes.len(),
                expected,
            });
        }
        let mut offset = 0usize;
        for j in levels_in(count, key.stratum) {
            let (start, end) = span(count, key, j);
            let sibling = (position >> (HEIGHT * key.stratum + j)) ^ 1;
            // A promoted node has no sibling at this level: nothing to add.
            if sibling < end {
                let at = offset + (sibling - start) as usize * 32;
                let mut h = [0u8; 32];
                h.copy_from_slice(&bytes[at..at + 32]);
                path.push(Hash32(h));
            }
            offset += (end - start) as usize * 32;
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::protocol::hashing::sha256;

    fn leaves(n: u64) -> Vec<Hash32> {
        (0..n).map(|i| sha256(&i.to_be_bytes())).collect()
    }

    fn stored(tree: &BatchTree) -> HashMap<TileKey, Vec<u8>> {
        tiles(tree)
            .into_iter()
            .map(|t| {
                (
                    TileKey {
                        stratum: t.stratum,
                        index: t.index,
                    },
                    t.hashes,
                )
            })
            .collect()
    }

    fn paths_match(n: u64) {
        let tree = BatchTree::build(&leaves(n)).unwrap();
        let tiles = stored(&tree);
        for p in 0..n {
            let got = path(n, p, |k| tiles.get(&k).map(Vec::as_slice)).unwrap();
            assert_eq!(got, tree.audit_path(p).unwrap(), "n={n} p={p}");
        }
    }

    #[test]
    fn paths_from_tiles_equal_the_tree_s_paths_for_every_small_batch() {
        for n in 1..=300 {
            paths_match(n);
        }
    }

    #[test]
    fn paths_from_tiles_equal_the_tree_s_paths_around_tile_edges() {
        for n in [4095, 4096, 4097, 65_535, 65_536, 65_537] {
            paths_match(n);
        }
    }

    #[test]
    fn a_batch_of_one_has_no_tiles_and_an_empty_path() {
        let tree = BatchTree::build(&leaves(1)).unwrap();
        assert!(tiles(&tree).is_empty());
        assert_eq!(path(1, 0, |_| None).unwrap(), Vec::<Hash32>::new());
    }

    #[test]
    fn full_tiles_hold_thirty_hashes_and_there_are_about_n_over_15() {
        let tree = BatchTree::build(&leaves(65_536)).unwrap();
        let all = tiles(&tree);
        // 4,096 + 256 + 16 + 1 tiles for 16 levels.
        assert_eq!(all.len(), 4096 + 256 + 16 + 1);
        assert!(all[..4096].iter().all(|t| t.hashes.len() == 30 * 32));
        assert_eq!(keys(65_536, 12_345).count(), 4);
    }

    #[test]
    fn a_missing_or_truncated_tile_is_an_error_not_a_wrong_path() {
        let tree = BatchTree::build(&leaves(100)).unwrap();
        let tiles = stored(&tree);
        let missing = path(100, 7, |k| {
            (k.stratum == 0)
                .then(|| tiles.get(&k).map(Vec::as_slice))
                .flatten()
        });
        assert!(matches!(
            missing,
            Err(TileError::Missing { stratum: 1, .. })
        ));
        let short = path(100, 7, |k| tiles.get(&k).map(|t| &t[..t.len() - 32]));
        assert!(matches!(short, Err(TileError::WrongSize { .. })));
        assert!(matches!(
            path(100, 100, |k| tiles.get(&k).map(Vec::as_slice)),
            Err(TileError::OutOfRange { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_position_s_path_from_tiles_verifies_against_the_root(n in 1u64..20_000, p in 0u64..20_000) {
            let p = p % n;
            let tree = BatchTree::build(&leaves(n)).unwrap();
            let tiles = stored(&tree);
            let got = path(n, p, |k| tiles.get(&k).map(Vec::as_slice)).unwrap();
            prop_assert_eq!(&got, &tree.audit_path(p).unwrap());
            let lv = leaves(n);
            prop_assert!(crate::protocol::tree::verify_inclusion(&lv[p as usize], p, n, &got, &tree.root()).is_ok());
        }
    }
}
