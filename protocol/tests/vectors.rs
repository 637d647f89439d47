//! Protocol test vectors (tests/vectors/protocol-v1.json, -v2.json,
//! head-v2.json and fraud-proofs.json at the workspace root): each
//! checked-in file is exactly what the generator produces, and every value
//! in it checks out through the public verification functions (not through
//! the generator's own code paths).
//!
//! Regenerate only for a new protocol version:
//! `PROOFDESK_UPDATE_VECTORS=1 cargo test -p proofdesk-protocol --test vectors`.

use proofdesk_protocol::Hash32;
use proofdesk_protocol::canonical::{canonicalize, parse_strict};
use proofdesk_protocol::hashing::{batch_head, content_commitment, leaf_hash};
use proofdesk_protocol::record::HashedRecord;
use proofdesk_protocol::tree::{reference, verify_inclusion};
mod generator;

use generator::fraud::render_fraud;
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

// ------------------------------------------------------------ fraud proofs

const FRAUD_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/vectors/fraud-proofs.json"
);

fn load_fraud() -> Value {
    let text = std::fs::read_to_string(FRAUD_PATH).expect("tests/vectors/fraud-proofs.json exists");
    parse_strict(&text).expect("vectors are strict JSON")
}

/// A proof as a file holds it: parsed from its text, strictly.
fn fraud_proof(v: &Value) -> Result<proofdesk_protocol::fraud::FraudProof, serde_json::Error> {
    serde_json::from_str(&serde_json::to_string(v).unwrap())
}

#[test]
fn checked_in_fraud_vectors_are_what_the_generator_produces() {
    let fresh = render_fraud();
    if std::env::var_os("PROOFDESK_UPDATE_VECTORS").is_some() {
        std::fs::write(FRAUD_PATH, &fresh).unwrap();
    }
    let on_disk = std::fs::read_to_string(FRAUD_PATH).expect("vectors file");
    assert!(
        on_disk == fresh,
        "tests/vectors/fraud-proofs.json differs from the generator: the fraud proof format, the map or head v2 changed?"
    );
}

#[test]
fn the_fraud_vectors_log_hashes_and_seals_as_its_batches_say() {
    use proofdesk_protocol::map::{TicketMap, Tip, batch_head_v2};
    let v = load_fraud();
    let records: Vec<HashedRecord> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let r = HashedRecord::from_value(&c["record"]).unwrap();
            assert_eq!(
                String::from_utf8(r.canonical.clone()).unwrap(),
                c["canonical"].as_str().unwrap()
            );
            assert_eq!(r.leaf, h(&c["leaf"]), "leaf {i}");
            assert_eq!(r.record.index, i as u64, "indices are contiguous");
            r
        })
        .collect();
    // Two forks: a (ticket, seq) anchored twice, with different leaves.
    let mut seen = std::collections::HashMap::new();
    let mut forks = 0;
    for r in &records {
        if let Some(leaf) = seen.insert((r.record.ticket.to_string(), r.record.seq), r.leaf) {
            assert_ne!(leaf, r.leaf);
            forks += 1;
        }
    }
    assert_eq!(forks, 2);
    let mut map = TicketMap::new();
    let mut next = 0;
    let mut versions = Vec::new();
    for (id, b) in v["batches"].as_array().unwrap().iter().enumerate() {
        let (first, count) = (
            b["first_index"].as_u64().unwrap(),
            b["count"].as_u64().unwrap(),
        );
        assert_eq!((b["batch_id"].as_u64().unwrap(), first), (id as u64, next));
        let batch = &records[first as usize..(first + count) as usize];
        for r in batch {
            // Every record counts, v1 batches' too (§15.2).
            map.set(
                &r.record.ticket,
                Tip {
                    seq: r.record.seq,
                    leaf: r.leaf,
                    index: r.record.index,
                    batch: id as u64,
                },
            );
        }
        let log_root = reference::mth(&batch.iter().map(|r| r.leaf).collect::<Vec<_>>());
        assert_eq!(log_root, h(&b["log_root"]));
        let head = if b["map_root"].is_null() {
            batch_head(id as u64, first, count, &log_root)
        } else {
            assert_eq!(map.root(), h(&b["map_root"]), "map root after batch {id}");
            batch_head_v2(id as u64, first, count, &log_root, &map.root())
        };
        assert_eq!(head, h(&b["head"]), "head of batch {id}");
        versions.push(!b["map_root"].is_null());
        next += count;
    }
    assert_eq!(next, records.len() as u64);
    assert_eq!(
        versions,
        [false, true, true, true],
        "one v1 batch, then head v2"
    );
}

/// What a skipped_record proof's map shows about its record, worked out
/// here from the map proof (not by `fraud::check`).
fn skipped_case(
    record: &HashedRecord,
    map_batch: &proofdesk_protocol::fraud::FraudBatch,
    proof: &proofdesk_protocol::map::MapProof,
) -> (&'static str, Option<proofdesk_protocol::map::Tip>) {
    let tip = proof
        .verify(&map_batch.map_root.unwrap(), &record.record.ticket)
        .unwrap();
    let case = match tip {
        None => "no_record",
        Some(t) if t.index < record.record.index => "older_tip",
        Some(t) if t.index == record.record.index && t.leaf != record.leaf => "other_leaf_at_index",
        Some(t) if t.batch > map_batch.id => "tip_in_later_batch",
        Some(_) => "none",
    };
    (case, tip)
}

#[test]
fn valid_fraud_proofs_check_out_with_exactly_their_heads() {
    use proofdesk_protocol::fraud::{FraudKind, check};
    use proofdesk_protocol::map::{Terminal, Tip, batch_head_v2};
    let v = load_fraud();
    let batches = v["batches"].as_array().unwrap();
    let mut cases = std::collections::BTreeSet::new();
    let mut absences = std::collections::BTreeSet::new();
    let mut mixed_heads = false;
    for case in v["fraud_proofs"].as_array().unwrap() {
        let note = case["note"].as_str().unwrap();
        let proof = fraud_proof(&case["proof"]).unwrap_or_else(|e| panic!("{note}: {e}"));
        assert_eq!(
            serde_json::to_value(&proof).unwrap(),
            case["proof"],
            "{note}: round trip"
        );
        let claim = check(&proof).unwrap_or_else(|e| panic!("{note}: refused: {e}"));
        let expected: Vec<(u64, Hash32)> = case["heads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["batch_id"].as_u64().unwrap(), h(&x["head"])))
            .collect();
        assert_eq!(claim.heads, expected, "{note}");
        // One head per batch id: the chain holds one.
        for (id, head) in &expected {
            assert!(
                expected.iter().all(|(i, h)| i != id || h == head),
                "{note}: two heads for batch {id}"
            );
        }
        // Each head, recomputed from §6 / §15.3.
        let mut named = Vec::new();
        let shows = &case["shows"];
        match &proof.claim {
            FraudKind::Equivocation { records } => {
                let [a, b] = records
                    .each_ref()
                    .map(|r| HashedRecord::from_value(&r.record).unwrap());
                assert_eq!(shows["kind"], "equivocation");
                assert_eq!(
                    (a.record.ticket.as_str(), a.record.seq),
                    (
                        shows["ticket"].as_str().unwrap(),
                        shows["seq"].as_u64().unwrap()
                    )
                );
                assert_eq!(
                    (b.record.ticket.as_str(), b.record.seq),
                    (
                        shows["ticket"].as_str().unwrap(),
                        shows["seq"].as_u64().unwrap()
                    )
                );
                assert_ne!(a.leaf, b.leaf);
                assert_eq!(
                    vec![a.leaf, b.leaf],
                    shows["leaves"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(h)
                        .collect::<Vec<_>>()
                );
                let v2: Vec<bool> = records.iter().map(|r| r.batch.map_root.is_some()).collect();
                mixed_heads |= v2 == [false, true] || v2 == [true, false];
                cases.insert("equivocation");
                named.extend(records.iter().map(|r| r.batch.clone()));
                // Both batches are the log's, as sealed.
                for r in records {
                    assert_eq!(
                        batches[r.batch.id as usize]["head"],
                        json_hash(&head_of(&r.batch)),
                        "{note}"
                    );
                }
            }
            FraudKind::SkippedRecord {
                record,
                map_batch,
                map_proof,
            } => {
                let r = HashedRecord::from_value(&record.record).unwrap();
                assert_eq!(shows["kind"], "skipped_record");
                let (kind, tip) = skipped_case(&r, map_batch, map_proof);
                assert_eq!(kind, shows["case"].as_str().unwrap(), "{note}");
                assert_eq!(
                    tip,
                    serde_json::from_value::<Option<Tip>>(shows["tip"].clone()).unwrap(),
                    "{note}"
                );
                if tip.is_none() {
                    absences.insert(match map_proof.terminal {
                        Terminal::Empty {} => "empty",
                        Terminal::Other { .. } => "other",
                        Terminal::Tip { .. } => unreachable!(),
                    });
                }
                cases.insert(kind);
                // The map batch differs from the log's only by its map
                // root, which the replay does not give; the record's batch
                // is the log's, or the map batch itself.
                if record.batch.id == map_batch.id {
                    assert_eq!(&record.batch, map_batch, "{note}");
                } else {
                    assert_eq!(
                        batches[record.batch.id as usize]["head"],
                        json_hash(&head_of(&record.batch)),
                        "{note}"
                    );
                }
                let sealed = &batches[map_batch.id as usize];
                assert_eq!(map_batch.root, h(&sealed["log_root"]));
                assert_ne!(
                    map_batch.map_root.unwrap(),
                    h(&sealed["map_root"]),
                    "{note}"
                );
                assert_eq!(
                    head_of(map_batch),
                    batch_head_v2(
                        map_batch.id,
                        map_batch.first_index,
                        map_batch.count,
                        &map_batch.root,
                        &map_batch.map_root.unwrap()
                    )
                );
                named.push(record.batch.clone());
                named.push(map_batch.clone());
            }
        }
        assert_eq!(
            named.iter().map(|b| (b.id, head_of(b))).collect::<Vec<_>>(),
            expected,
            "{note}"
        );
    }
    assert!(
        mixed_heads,
        "an equivocation across a v1 and a head v2 batch"
    );
    assert_eq!(
        cases.into_iter().collect::<Vec<_>>(),
        [
            "equivocation",
            "no_record",
            "older_tip",
            "other_leaf_at_index",
            "tip_in_later_batch"
        ],
        "every case fraud::check accepts"
    );
    assert_eq!(absences.len(), 2, "both kinds of absence");
}

fn head_of(b: &proofdesk_protocol::fraud::FraudBatch) -> Hash32 {
    match &b.map_root {
        Some(m) => proofdesk_protocol::map::batch_head_v2(b.id, b.first_index, b.count, &b.root, m),
        None => batch_head(b.id, b.first_index, b.count, &b.root),
    }
}

fn json_hash(x: &Hash32) -> Value {
    serde_json::to_value(x).unwrap()
}

/// Every object of a valid proof but the records themselves (a record is
/// checked by `check`, as in v1) refuses a member it does not define.
#[test]
fn valid_fraud_proofs_refuse_an_unknown_member_anywhere() {
    fn objects(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                out.push(at.clone());
                for (k, x) in m {
                    // The record itself, beside its path.
                    if !(k == "record" && m.contains_key("path")) {
                        objects(x, format!("{at}/{k}"), out);
                    }
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    objects(x, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let v = load_fraud();
    for case in v["fraud_proofs"].as_array().unwrap() {
        let mut pointers = Vec::new();
        objects(&case["proof"], String::new(), &mut pointers);
        assert!(pointers.len() >= 5);
        for p in pointers {
            let mut bad = case["proof"].clone();
            bad.pointer_mut(&p)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert("x_unknown".into(), Value::Bool(true));
            let err = fraud_proof(&bad).expect_err(&format!(
                "{}: accepted an unknown member at {p:?}",
                case["note"]
            ));
            assert!(err.to_string().contains("unknown field"), "{p}: {err}");
        }
    }
}

#[test]
fn rejected_fraud_proofs_fail_for_their_stated_rule() {
    use proofdesk_protocol::fraud::check;
    let v = load_fraud();
    let mut rules = std::collections::BTreeSet::new();
    for case in v["rejected"].as_array().unwrap() {
        let rule = case["rule"].as_str().unwrap();
        let reason = case["reason"].as_str().unwrap();
        rules.insert(rule);
        if rule == "unknown_member" {
            let err = fraud_proof(&case["proof"]).expect_err(reason);
            assert!(err.to_string().contains("unknown field"), "{reason}: {err}");
            continue;
        }
        let proof =
            fraud_proof(&case["proof"]).unwrap_or_else(|e| panic!("{reason}: does not parse: {e}"));
        let err = check(&proof).expect_err(reason);
        // What fraud::check says for each rule.
        let says = match rule {
            "version" => "fraud proof version 2 is not supported",
            "record" => "the first record: not a valid record",
            "outside_batch" => "is outside batch",
            "path" => "the second record: its inclusion proof fails",
            "same_record" => "the same record",
            "different_seq" | "different_ticket" => "needs the same ticket and seq",
            "v1_map_batch" => "has a v1 head, which commits no ticket map",
            "record_after_map_batch" => "the map need not have it",
            "map_proof" => "the map proof fails",
            "no_fraud" => "no fraud shown",
            other => panic!("unknown rule {other}"),
        };
        assert!(
            err.contains(says),
            "{reason}: refused for another reason: {err}"
        );
        // check names both in one message: which one differs.
        if let proofdesk_protocol::fraud::FraudKind::Equivocation { records: [a, b] } = &proof.claim
            && (rule == "different_seq" || rule == "different_ticket")
        {
            let (a, b) = (&a.record, &b.record);
            assert_eq!(
                (a["ticket"] != b["ticket"], a["seq"] != b["seq"]),
                (rule == "different_ticket", rule == "different_seq"),
                "{reason}"
            );
        }
    }
    assert_eq!(rules.len(), 12, "every rule: {rules:?}");
}
