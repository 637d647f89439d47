//! Protocol test vectors (tests/vectors/protocol-v1.json and -v2.json at the
//! workspace root): each checked-in file is exactly what the generator
//! produces, and every value in it checks out through the public
//! verification functions (not through the generator's own code paths).
//!
//! Regenerate only for a new protocol version:
//! `PROOFDESK_UPDATE_VECTORS=1 cargo test -p proofdesk-protocol --test vectors`.

use proofdesk_protocol::Hash32;
use proofdesk_protocol::canonical::{canonicalize, parse_strict};
use proofdesk_protocol::hashing::{batch_head, content_commitment, leaf_hash};
use proofdesk_protocol::record::HashedRecord;
use proofdesk_protocol::tree::{reference, verify_inclusion};
mod generator;

use generator::map::render_map;
use generator::{RFC6962_INPUTS, RFC6962_ROOT, render, render_v2};
use serde_json::Value;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/vectors/protocol-v1.json"
);

fn h(v: &Value) -> Hash32 {
    Hash32::parse(v.as_str().expect("hash is a string")).expect("hash parses")
}

fn load() -> Value {
    let text = std::fs::read_to_string(PATH).expect("tests/vectors/protocol-v1.json exists");
    parse_strict(&text).expect("vectors are strict JSON")
}

#[test]
fn checked_in_vectors_are_what_the_generator_produces() {
    let fresh = render();
    if std::env::var_os("PROOFDESK_UPDATE_VECTORS").is_some() {
        std::fs::write(PATH, &fresh).unwrap();
    }
    let on_disk = std::fs::read_to_string(PATH).expect("vectors file");
    assert!(
        on_disk == fresh,
        "tests/vectors/protocol-v1.json differs from the generator: protocol v1 changed?"
    );
}

#[test]
fn records_hash_to_their_leaves_and_chain_per_ticket() {
    let v = load();
    let records = v["records"].as_array().unwrap();
    assert!(records.len() >= 20);
    let mut tips: std::collections::HashMap<String, (u64, Hash32)> = Default::default();
    let mut types = std::collections::HashSet::new();
    for (i, case) in records.iter().enumerate() {
        let canonical = case["canonical"].as_str().unwrap();
        assert_eq!(
            canonicalize(&case["record"]).unwrap(),
            canonical.as_bytes(),
            "record {i}"
        );
        let leaf = leaf_hash(canonical.as_bytes());
        assert_eq!(leaf, h(&case["leaf"]), "leaf {i}");
        let parsed = HashedRecord::from_value(&case["record"]).unwrap();
        assert_eq!(parsed.leaf, leaf);
        assert_eq!(parsed.record.index, i as u64, "indices are contiguous");
        let tip = tips
            .entry(parsed.record.ticket.to_string())
            .or_insert((0, Hash32::ZERO));
        assert_eq!(
            (parsed.record.seq, parsed.record.prev),
            *tip,
            "chain of record {i}"
        );
        *tip = (tip.0 + 1, leaf);
        types.insert(parsed.record.event_type);
    }
    assert_eq!(types.len(), 12, "every event type is covered");
}

#[test]
fn canonical_and_commitment_cases_hold() {
    let v = load();
    for case in v["canonical"].as_array().unwrap() {
        assert_eq!(
            canonicalize(&case["json"]).unwrap(),
            case["canonical"].as_str().unwrap().as_bytes()
        );
    }
    for case in v["commitments"].as_array().unwrap() {
        let salt = h(&case["salt"]);
        assert_eq!(
            content_commitment(&salt.0, case["content"].as_str().unwrap()),
            h(&case["commitment"])
        );
    }
}

#[test]
fn trees_match_the_rfc6962_definition_and_every_proof_verifies() {
    let v = load();
    let trees = v["trees"].as_array().unwrap();
    let sizes: Vec<usize> = trees
        .iter()
        .map(|t| t["leaves"].as_array().unwrap().len())
        .collect();
    for n in 1..=17 {
        assert!(sizes.contains(&n), "size {n} covered");
    }
    for t in trees {
        let leaves: Vec<Hash32> = t["leaves"].as_array().unwrap().iter().map(h).collect();
        let root = h(&t["root"]);
        assert_eq!(reference::mth(&leaves), root);
        let proofs = t["proofs"].as_array().unwrap();
        assert_eq!(proofs.len(), leaves.len(), "a proof for every index");
        for p in proofs {
            let i = p["index"].as_u64().unwrap();
            let path: Vec<Hash32> = p["path"].as_array().unwrap().iter().map(h).collect();
            assert_eq!(path, reference::path(i as usize, &leaves));
            verify_inclusion(&leaves[i as usize], i, leaves.len() as u64, &path, &root).unwrap();
        }
    }
    let rfc_leaves: Vec<Hash32> = RFC6962_INPUTS
        .iter()
        .map(|x| leaf_hash(&hex::decode(x).unwrap()))
        .collect();
    let rfc = trees
        .iter()
        .find(|t| {
            t["leaves"]
                .as_array()
                .unwrap()
                .iter()
                .map(h)
                .collect::<Vec<_>>()
                == rfc_leaves
        })
        .expect("the RFC 6962 reference tree is included");
    assert_eq!(rfc["root"].as_str().unwrap(), RFC6962_ROOT);
}

#[test]
fn heads_bind_id_range_and_root() {
    let v = load();
    for case in v["heads"].as_array().unwrap() {
        let head = batch_head(
            case["batch_id"].as_u64().unwrap(),
            case["first_index"].as_u64().unwrap(),
            case["count"].as_u64().unwrap(),
            &h(&case["root"]),
        );
        assert_eq!(head, h(&case["head"]));
    }
}

#[test]
fn rejected_records_are_refused_for_their_data() {
    let v = load();
    let rejected = v["rejected_records"].as_array().unwrap();
    assert!(rejected.len() >= 3);
    for (i, case) in rejected.iter().enumerate() {
        let err = HashedRecord::from_value(&case["record"])
            .expect_err(&format!("rejected_records[{i}] must be refused"));
        assert!(
            err.to_string().contains("must be a JSON object"),
            "rejected_records[{i}] refused for the wrong reason: {err}"
        );
    }
}

const PATH_V2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/vectors/protocol-v2.json"
);

/// Protocol v2 (PROTOCOL §4.1): the checked-in file is the generator's, its
/// records hash to their leaves (a CSAT rating as v1, NPS answers as v2),
/// and every rejected record is refused. `PROOFDESK_UPDATE_VECTORS=1`
/// rewrites it.
#[test]
fn v2_vectors_are_what_the_generator_produces_and_hold() {
    let fresh = render_v2();
    if std::env::var_os("PROOFDESK_UPDATE_VECTORS").is_some() {
        std::fs::write(PATH_V2, &fresh).unwrap();
    }
    let text = std::fs::read_to_string(PATH_V2).expect("tests/vectors/protocol-v2.json exists");
    assert_eq!(text, fresh, "protocol-v2.json differs from the generator");
    let v: Value = serde_json::from_str(&text).unwrap();
    let versions: Vec<u64> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let h = HashedRecord::from_value(&r["record"]).unwrap();
            assert_eq!(h.leaf, h_of(&r["leaf"]));
            assert_eq!(
                String::from_utf8(h.canonical).unwrap(),
                r["canonical"].as_str().unwrap()
            );
            h.record.v
        })
        .collect();
    assert_eq!(versions, vec![1, 1, 1, 2, 2, 1]);
    for bad in v["rejected_records"].as_array().unwrap() {
        assert!(
            HashedRecord::from_value(&bad["record"]).is_err(),
            "accepted: {}",
            bad["reason"]
        );
    }
}

fn h_of(v: &Value) -> Hash32 {
    h(v)
}

// ------------------------------------------------------------ head v2

const MAP_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/head-v2.json");

fn load_map() -> Value {
    let text = std::fs::read_to_string(MAP_PATH).expect("tests/vectors/head-v2.json exists");
    parse_strict(&text).expect("vectors are strict JSON")
}

#[test]
fn checked_in_map_vectors_are_what_the_generator_produces() {
    let fresh = render_map();
    if std::env::var_os("PROOFDESK_UPDATE_VECTORS").is_some() {
        std::fs::write(MAP_PATH, &fresh).unwrap();
    }
    let on_disk = std::fs::read_to_string(MAP_PATH).expect("vectors file");
    assert!(
        on_disk == fresh,
        "tests/vectors/head-v2.json differs from the generator: the map or head v2 changed?"
    );
}

#[test]
fn map_roots_and_heads_v2_follow_from_the_records() {
    use proofdesk_protocol::fields::TicketHandle;
    use proofdesk_protocol::map::{
        TicketMap, Tip, anchored_root_v2, batch_head_v2, map_key, map_leaf_hash,
    };
    let v = load_map();
    let t = &v["tips"][0];
    let tip: Tip = serde_json::from_value(t["tip"].clone()).unwrap();
    assert_eq!(
        format!("0x{}", hex::encode(tip.encode())),
        t["encoding"].as_str().unwrap()
    );
    let handle = TicketHandle::parse(t["ticket"].as_str().unwrap()).unwrap();
    assert_eq!(map_key(&handle), h(&t["key"]));
    assert_eq!(map_leaf_hash(&map_key(&handle), &tip), h(&t["leaf"]));
    let mut map = TicketMap::new();
    let mut next = 0;
    for (id, b) in v["batches"].as_array().unwrap().iter().enumerate() {
        let first = b["first_index"].as_u64().unwrap();
        let count = b["count"].as_u64().unwrap();
        assert_eq!((b["batch_id"].as_u64().unwrap(), first), (id as u64, next));
        let mut leaves = Vec::new();
        for r in b["records"].as_array().unwrap() {
            let ticket = TicketHandle::parse(r["ticket"].as_str().unwrap()).unwrap();
            let seq = r["seq"].as_u64().unwrap();
            // Each ticket's seq runs on from its tip.
            assert_eq!(map.get(&ticket).map_or(0, |t| t.seq + 1), seq);
            let leaf = h(&r["leaf"]);
            map.set(
                &ticket,
                Tip {
                    seq,
                    leaf,
                    index: r["index"].as_u64().unwrap(),
                    batch: id as u64,
                },
            );
            leaves.push(leaf);
        }
        assert_eq!(leaves.len() as u64, count);
        let log_root = reference::mth(&leaves);
        assert_eq!(log_root, h(&b["log_root"]));
        assert_eq!(map.root(), h(&b["map_root"]), "map root after batch {id}");
        assert_eq!(
            anchored_root_v2(&log_root, &map.root()),
            h(&b["anchored_root"])
        );
        assert_eq!(
            batch_head_v2(id as u64, first, count, &log_root, &map.root()),
            h(&b["head"])
        );
        assert_eq!(
            batch_head(id as u64, first, count, &h(&b["anchored_root"])),
            h(&b["head"]),
            "a head v2 is a v1 head over the anchored root"
        );
        next += count;
    }
}

#[test]
fn map_proofs_verify_and_forged_ones_are_refused() {
    use proofdesk_protocol::fields::TicketHandle;
    use proofdesk_protocol::map::{MapProof, Terminal, Tip};
    let v = load_map();
    let mut kinds = std::collections::HashSet::new();
    for case in v["proofs"].as_array().unwrap() {
        let handle = TicketHandle::parse(case["ticket"].as_str().unwrap()).unwrap();
        let proof: MapProof = serde_json::from_value(case["proof"].clone()).unwrap();
        let expected: Option<Tip> = serde_json::from_value(case["tip"].clone()).unwrap();
        assert_eq!(
            proof.verify(&h(&case["root"]), &handle),
            Ok(expected),
            "{}",
            case["note"]
        );
        kinds.insert(match proof.terminal {
            Terminal::Tip { .. } => "tip",
            Terminal::Empty {} => "empty",
            Terminal::Other { .. } => "other",
        });
    }
    assert_eq!(kinds.len(), 3, "inclusion and both kinds of absence");
    let rejected = v["rejected_proofs"].as_array().unwrap();
    assert!(rejected.len() >= 7);
    for case in rejected {
        let handle = TicketHandle::parse(case["ticket"].as_str().unwrap()).unwrap();
        let proof: MapProof = serde_json::from_value(case["proof"].clone()).unwrap();
        assert!(
            proof.verify(&h(&case["root"]), &handle).is_err(),
            "{} must be refused",
            case["reason"]
        );
    }
}
