//! Receipt test vectors (tests/vectors/receipts.json): v1 and v2 receipts
//! for the first records of protocol-v1.json, signed with anvil's public
//! dev key 0 (a test key; RFC 6979 makes the signatures deterministic).
//! An implementation that follows PROTOCOL.md §12 MUST reproduce every
//! leaf, root and canonical text, and recover the signer from every
//! signature. The generator is test code: the checked-in file is what it
//! produces (`PROOFDESK_UPDATE_VECTORS=1 cargo test --test receipt_vectors`
//! rewrites it), and its signatures recover through the verifier.

use serde_json::{Value, json};

use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::DEV_KEYS;
use proofdesk::ingest::signing::{sign, sign_group};
use proofdesk::protocol::canonical::{canonicalize, parse_strict};
use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::receipt::{RECEIPT_V2, RECEIPT_VERSION, Receipt, SignedReceipt};
use proofdesk::protocol::record::HashedRecord;
use proofdesk::verify::receipt::signer_of;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/receipts.json");
/// The records the receipts are for: the protocol's own vectors.
const RECORDS: &str = include_str!("vectors/protocol-v1.json");

/// The contract address the vectors name (anvil's first deployment).
const CONTRACT: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

fn receipts(v: u64, n: usize) -> Vec<Receipt> {
    let records: Value = parse_strict(RECORDS).expect("protocol-v1.json is strict JSON");
    records["records"]
        .as_array()
        .expect("records")
        .iter()
        .take(n)
        .map(|c| {
            let h = HashedRecord::from_value(&c["record"]).expect("vector records are valid");
            let r = h.record;
            Receipt {
                v,
                ticket: r.ticket,
                index: r.index,
                seq: r.seq,
                leaf: h.leaf,
                recorded_at: r.recorded_at,
                anchor_deadline: Timestamp::from_millis(r.recorded_at.millis() + 60_000)
                    .expect("in range"),
                chain_id: 31337,
                contract: CONTRACT.into(),
            }
        })
        .collect()
}

fn text(v: &Value) -> String {
    String::from_utf8(canonicalize(v).expect("canonical")).expect("UTF-8")
}

fn generate() -> Value {
    let key = OperatorKey::parse(DEV_KEYS[0]).expect("dev key");
    let v1: Vec<Value> = receipts(RECEIPT_VERSION, 2)
        .into_iter()
        .map(|r| {
            let message = text(&serde_json::to_value(&r).expect("serialises"));
            let signed = sign(&key, r).expect("signs");
            json!({"signed": signed, "message": message})
        })
        .collect();
    let group = sign_group(&key, receipts(RECEIPT_V2, 5)).expect("signs");
    let leaves: Vec<Value> = group
        .iter()
        .map(|s| json!(s.receipt.leaf_hash().expect("canonical")))
        .collect();
    let group_object = group[0].group.clone().expect("v2 has a group");
    let group_canonical = text(&serde_json::to_value(&group_object).expect("serialises"));
    // A receipt moved to another position: its path no longer leads to the
    // signed root, so the signature says nothing about it.
    let mut moved = serde_json::to_value(&group[1]).expect("serialises");
    moved["position"] = json!(2);
    let mut v1_with_group = serde_json::to_value(&v1[0]["signed"]).expect("serialises");
    v1_with_group["group"] = serde_json::to_value(&group_object).expect("serialises");
    v1_with_group["position"] = json!(0);
    v1_with_group["path"] = json!([]);
    json!({
        "description": "Receipt vectors for docs/PROTOCOL.md §12, signed with anvil's public dev key 0 (a test key).",
        "signer": format!("{:#x}", key.address()),
        "v1": v1,
        "v2": {
            "signed": group,
            "leaves": leaves,
            "group_canonical": group_canonical,
        },
        "rejected": [
            {"signed": moved, "reason": "position changed: the path does not lead to the signed root"},
            {"signed": v1_with_group, "reason": "a v1 receipt carries no group"},
        ],
    })
}

/// The file's exact text: pretty JSON with a final newline.
fn render() -> String {
    let mut s = serde_json::to_string_pretty(&generate()).expect("values serialise");
    s.push('\n');
    s
}

#[test]
fn checked_in_receipt_vectors_are_what_the_generator_produces() {
    let fresh = render();
    if std::env::var_os("PROOFDESK_UPDATE_VECTORS").is_some() {
        std::fs::write(PATH, &fresh).unwrap();
    }
    let on_disk = std::fs::read_to_string(PATH).expect("receipt vectors file");
    assert!(on_disk == fresh, "{PATH} differs from the generator");
}

#[test]
fn receipt_vectors_recover_their_signer_and_rejected_ones_do_not() {
    let v: Value = parse_strict(&std::fs::read_to_string(PATH).unwrap()).expect("strict JSON");
    let signer = v["signer"].as_str().unwrap();
    let mut signed: Vec<SignedReceipt> = v["v1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::from_value(c["signed"].clone()).unwrap())
        .collect();
    signed.extend(
        v["v2"]["signed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::from_value::<SignedReceipt>(s.clone()).unwrap()),
    );
    assert_eq!(signed.len(), 7);
    for s in &signed {
        assert_eq!(format!("{:#x}", signer_of(s).unwrap()), signer);
    }
    for c in v["rejected"].as_array().unwrap() {
        let s: SignedReceipt = serde_json::from_value(c["signed"].clone()).unwrap();
        assert!(signer_of(&s).is_err(), "{}", c["reason"]);
    }
}
