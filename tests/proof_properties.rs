//! Property tests of trees and inclusion proofs: every honest proof verifies,
//! and any changed byte, position, size or path hash makes it fail.

use proofdesk::protocol::Hash32;
use proofdesk::protocol::hashing::leaf_hash;
use proofdesk::protocol::tree::{BatchTree, reference, verify_inclusion};
use proptest::prelude::*;

fn leaves_strategy() -> impl Strategy<Value = Vec<Hash32>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..200)
        .prop_map(|items| items.iter().map(|d| leaf_hash(d)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn honest_proofs_verify_and_match_the_definition(leaves in leaves_strategy(), pick in any::<prop::sample::Index>()) {
        let tree = BatchTree::build(&leaves).unwrap();
        prop_assert_eq!(tree.root(), reference::mth(&leaves));
        let i = pick.index(leaves.len());
        let path = tree.audit_path(i as u64).unwrap();
        prop_assert_eq!(&path, &reference::path(i, &leaves));
        prop_assert!(verify_inclusion(&leaves[i], i as u64, leaves.len() as u64, &path, &tree.root()).is_ok());
    }

    #[test]
    fn any_tampering_fails(
        leaves in leaves_strategy(),
        pick in any::<prop::sample::Index>(),
        byte in 0usize..32,
        bit in 0u8..8,
        delta in 1u64..1000,
        which in 0u8..6,
    ) {
        let n = leaves.len() as u64;
        let tree = BatchTree::build(&leaves).unwrap();
        let root = tree.root();
        let i = pick.index(leaves.len()) as u64;
        let mut leaf = leaves[i as usize];
        let mut path = tree.audit_path(i).unwrap();
        let mut root_used = root;
        let mut pos = i;
        let mut size = n;
        match which {
            0 => leaf.0[byte] ^= 1 << bit,
            1 => root_used.0[byte] ^= 1 << bit,
            2 => {
                prop_assume!(!path.is_empty());
                let k = byte % path.len();
                path[k].0[byte] ^= 1 << bit;
            }
            3 => {
                pos = (i + delta) % (n + delta);
                prop_assume!(pos != i && leaves.get(pos as usize) != Some(&leaves[i as usize]));
            }
            4 => {
                size = n + delta;
                // A path only fixes the size up to its shape: e.g. leaf 0 of
                // 3 and leaf 0 of 4 both take two right-hand siblings. The
                // batch head on chain binds the exact size; here we check that
                // a size whose path has another length is always refused.
                let dummy = vec![Hash32::ZERO; size as usize];
                prop_assume!(reference::path(i as usize, &dummy).len() != path.len());
            }
            _ => {
                path.push(leaf);
            }
        }
        prop_assert!(verify_inclusion(&leaf, pos, size, &path, &root_used).is_err());
    }
}
