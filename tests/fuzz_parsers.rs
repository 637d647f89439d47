//! Fuzzing, as property tests, of the parsers that face strangers: record
//! parsing and canonicalisation, bundle parsing and offline verification,
//! and receipt parsing and signer recovery. (cargo-fuzz needs nightly plus a
//! libFuzzer build; these run on stable in the normal test command.)
//!
//! Inputs are arbitrary bytes, and structure-aware mutations of valid
//! inputs: the records of tests/vectors/protocol-v1.json, a bundle built
//! here through the protocol's own append path, and a signed receipt. No
//! input may panic; where a mutation changes what was signed or hashed, the
//! check must fail.
//!
//! The normal test command runs PROPTEST_CASES (default 256) cases per
//! property; `scripts/fuzz.sh` runs a large count. Every file in
//! tests/fuzz/corpus/ is replayed too, and every crash found is kept there
//! and as a named regression test below.

use std::path::Path;

use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::DEV_KEYS;
use proofdesk::ingest::signing::sign;
use proofdesk::protocol::Hash32;
use proofdesk::protocol::append::{ChainTip, Draft, next_record};
use proofdesk::protocol::bundle::{Bundle, BundleBatch, BundleEvent, ChainRef, check_offline};
use proofdesk::protocol::canonical::{canonicalize, parse_strict};
use proofdesk::protocol::event::{EventData, EventType};
use proofdesk::protocol::fields::{TicketHandle, Timestamp};
use proofdesk::protocol::hashing::batch_head;
use proofdesk::protocol::receipt::{Receipt, SignedReceipt};
use proofdesk::protocol::record::HashedRecord;
use proofdesk::protocol::state::Policy;
use proofdesk::protocol::tree::BatchTree;
use proofdesk::verify::parse_bundle;
use proofdesk::verify::receipt::signer_of;
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------- seeds

fn vector_records() -> Vec<Value> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/protocol-v1.json"),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"].clone())
        .collect()
}

/// A valid three-event bundle built through the protocol's append path.
fn valid_bundle() -> Bundle {
    let ticket = TicketHandle::from_random([7; 16]);
    let policy = Policy::default();
    let mut tip = ChainTip {
        next_seq: 0,
        last_leaf: Hash32::ZERO,
        state: None,
    };
    let steps = [
        (
            EventType::TicketCreated,
            json!({"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {"region": "eu"}}),
        ),
        (EventType::TicketAcknowledged, json!({})),
        (EventType::TicketResolved, json!({"resolution": "upheld"})),
    ];
    let t0 = Timestamp::parse_canonical("2026-01-05T10:00:00.000Z").unwrap();
    let mut records = Vec::new();
    for (i, (t, data)) in steps.into_iter().enumerate() {
        let draft = Draft {
            data: EventData::parse(t, &data).unwrap(),
            actor: serde_json::from_value(json!({"role": "agent", "ref": "agent-1"})).unwrap(),
            channel: serde_json::from_value(json!("web")).unwrap(),
            occurred_at: t0,
            content: (i == 0).then_some(Hash32([9; 32])),
        };
        let recorded = Timestamp::from_millis(t0.millis() + 1000 * i as i64).unwrap();
        let (rec, state) = next_record(&ticket, &tip, &draft, i as u64, recorded, &policy).unwrap();
        tip = tip.advance(rec.leaf, state);
        records.push(rec);
    }
    let leaves: Vec<Hash32> = records.iter().map(|r| r.leaf).collect();
    let tree = BatchTree::build(&leaves).unwrap();
    let root = tree.root();
    let n = leaves.len() as u64;
    let events = records
        .iter()
        .enumerate()
        .map(|(i, r)| BundleEvent {
            record: r.record.to_value(),
            leaf: r.leaf,
            batch: Some(0),
            path: tree.audit_path(i as u64).unwrap(),
        })
        .collect();
    let bundle = Bundle {
        version: 1,
        ticket,
        chain: ChainRef {
            chain_id: 31337,
            contract: format!("0x{}", "42".repeat(20)),
            anchorer: format!("0x{}", "17".repeat(20)),
        },
        max_merge_delay_ms: 60_000,
        policy,
        batches: vec![BundleBatch {
            id: 0,
            first_index: 0,
            count: n,
            root,
            head: batch_head(0, 0, n, &root),
            tx: Some(Hash32([1; 32])),
            block: Some(5),
            status: "final".into(),
            map_root: None,
        }],
        events,
        map: None,
    };
    assert!(check_offline(&bundle).ok(), "the seed bundle is valid");
    bundle
}

fn operator() -> OperatorKey {
    OperatorKey::parse(DEV_KEYS[0]).unwrap()
}

fn valid_receipt() -> SignedReceipt {
    let receipt = Receipt {
        v: 1,
        ticket: TicketHandle::from_random([3; 16]),
        index: 41,
        seq: 2,
        leaf: Hash32([5; 32]),
        recorded_at: Timestamp::parse_canonical("2026-01-05T10:00:00.000Z").unwrap(),
        anchor_deadline: Timestamp::parse_canonical("2026-01-05T10:01:00.000Z").unwrap(),
        chain_id: 31337,
        contract: format!("0x{}", "42".repeat(20)),
    };
    sign(&operator(), receipt).unwrap()
}

// ------------------------------------------------------- the parsers

/// Every stranger-facing parser on one text. Must never panic.
fn feed_text(text: &str) {
    if let Ok(value) = parse_strict(text) {
        feed_value(&value);
        // Canonical form is a fixed point.
        if let Ok(c) = canonicalize(&value) {
            let again = parse_strict(std::str::from_utf8(&c).unwrap()).unwrap();
            assert_eq!(canonicalize(&again).unwrap(), c, "canonical form is stable");
        }
    }
    if let Ok(bundle) = parse_bundle(text) {
        let _ = check_offline(&bundle);
    }
    if let Ok(signed) = serde_json::from_str::<SignedReceipt>(text) {
        let _ = signer_of(&signed);
    }
}

fn feed_value(value: &Value) {
    let _ = HashedRecord::from_value(value);
    if let Ok(bundle) = serde_json::from_value::<Bundle>(value.clone()) {
        let _ = check_offline(&bundle);
    }
    if let Ok(signed) = serde_json::from_value::<SignedReceipt>(value.clone()) {
        let _ = signer_of(&signed);
    }
}

// ------------------------------------------------- structure mutations

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e300f64..1e300).prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::String),
        ".{0,8}".prop_map(Value::String),
        prop_oneof![
            Just("0x0000000000000000000000000000000000000000000000000000000000000000"),
            Just("tk_00000000000000000000000000000000"),
            Just("2026-01-05T10:00:00.000Z"),
            Just("9999-12-31T23:59:59.999Z"),
            Just("ticket.created"),
            Just("ticket.reopened"),
            Just("satisfaction.rated"),
            Just("\u{0}"),
            Just("\u{feff}"),
            Just("\u{10ffff}"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every location in a value, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out)
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Op {
    Replace(Value),
    Remove,
    AddMember(String, Value),
    Nudge(i64),
    Truncate(usize),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        arb_json().prop_map(Op::Replace),
        Just(Op::Remove),
        ("[a-z_]{1,8}", arb_json()).prop_map(|(k, v)| Op::AddMember(k, v)),
        (-3i64..=3).prop_map(Op::Nudge),
        (0usize..8).prop_map(Op::Truncate),
    ]
}

fn mutate(mut v: Value, choices: &[(usize, Op)]) -> Value {
    for (pick, op) in choices {
        let mut ptrs = Vec::new();
        pointers(&v, String::new(), &mut ptrs);
        let ptr = ptrs[pick % ptrs.len()].clone();
        if ptr.is_empty() {
            if let Op::Replace(x) = op {
                v = x.clone();
            }
            continue;
        }
        let (parent_ptr, last) = ptr.rsplit_once('/').unwrap();
        let last = last.replace("~1", "/").replace("~0", "~");
        match op {
            Op::Replace(x) => *v.pointer_mut(&ptr).unwrap() = x.clone(),
            Op::Remove => match v.pointer_mut(parent_ptr).unwrap() {
                Value::Object(m) => {
                    m.remove(&last);
                }
                Value::Array(a) => {
                    a.remove(last.parse::<usize>().unwrap());
                }
                _ => {}
            },
            Op::AddMember(k, x) => {
                if let Value::Object(m) = v.pointer_mut(&ptr).unwrap() {
                    m.insert(k.clone(), x.clone());
                }
            }
            Op::Nudge(d) => {
                let target = v.pointer_mut(&ptr).unwrap();
                if let Some(n) = target.as_i64() {
                    *target = json!(n.saturating_add(*d));
                } else if let Some(n) = target.as_u64() {
                    *target = json!(n.saturating_add_signed(*d));
                }
            }
            Op::Truncate(n) => {
                let target = v.pointer_mut(&ptr).unwrap();
                if let Value::String(s) = target {
                    let keep: String = s
                        .chars()
                        .take(s.chars().count().saturating_sub(*n))
                        .collect();
                    *s = keep;
                } else if let Value::Array(a) = target {
                    a.truncate(a.len().saturating_sub(*n));
                }
            }
        }
    }
    v
}

/// Byte-level damage on the text form: flips, cuts and insertions.
fn damage(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(at, kind, b) in edits {
        if bytes.is_empty() {
            bytes.push(b);
            continue;
        }
        let i = at % bytes.len();
        match kind % 3 {
            0 => bytes[i] = b,
            1 => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, b),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn choices() -> impl Strategy<Value = Vec<(usize, Op)>> {
    prop::collection::vec((any::<usize>(), arb_op()), 1..4)
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        feed_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_json_never_panics_a_parser(v in arb_json()) {
        feed_value(&v);
        feed_text(&v.to_string());
    }

    #[test]
    fn mutated_records_never_panic_and_a_changed_record_changes_its_leaf(
        which in any::<usize>(), ops in choices(), edits in edits(),
    ) {
        let records = vector_records();
        let original = records[which % records.len()].clone();
        let leaf = HashedRecord::from_value(&original).unwrap().leaf;
        let mutated = mutate(original.clone(), &ops);
        if let Ok(h) = HashedRecord::from_value(&mutated) {
            prop_assert_eq!(h.leaf == leaf, canonicalize(&mutated).unwrap() == canonicalize(&original).unwrap());
        }
        feed_text(&damage(&mutated.to_string(), &edits));
    }

    #[test]
    fn mutated_bundles_never_panic_and_a_changed_record_fails_the_offline_check(
        ops in choices(), edits in edits(),
    ) {
        let bundle = valid_bundle();
        let original = serde_json::to_value(&bundle).unwrap();
        let mutated = mutate(original.clone(), &ops);
        let text = mutated.to_string();
        if let Ok(b) = parse_bundle(&text) {
            let report = check_offline(&b);
            // A bundle cut short after some event is a valid bundle of an
            // earlier moment: offline checks cannot tell (a receipt for a
            // later event can; that is the verifier's --receipt). An event
            // marked unsealed (batch null) carries no path to check and is
            // reported pending. Any other change to a record, leaf, batch
            // or path must fail.
            let same = |x: &BundleEvent, y: &BundleEvent| {
                x.record == y.record
                    && x.leaf == y.leaf
                    && (x.batch.is_none() || (x.batch == y.batch && x.path == y.path))
            };
            let prefix = b.events.len() <= bundle.events.len()
                && b.events.iter().zip(&bundle.events).all(|(x, y)| same(x, y));
            if !prefix || b.events.is_empty() {
                prop_assert!(!report.ok(), "a changed record, leaf or path passed the offline check");
            }
        }
        feed_text(&damage(&text, &edits));
    }

    /// Two integers of a valid bundle at extremes at once (sums of two
    /// untrusted numbers), then byte damage.
    #[test]
    fn bundles_with_extreme_integers_never_panic(
        a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(),
        x in prop::sample::select(EXTREMES.to_vec()), y in prop::sample::select(EXTREMES.to_vec()),
        edits in edits(),
    ) {
        let mut v = serde_json::to_value(valid_bundle()).unwrap();
        let ptrs = integer_pointers(&v);
        *v.pointer_mut(&ptrs[a.index(ptrs.len())]).unwrap() = json!(x);
        *v.pointer_mut(&ptrs[b.index(ptrs.len())]).unwrap() = json!(y);
        let text = v.to_string();
        feed_text(&text);
        feed_text(&damage(&text, &edits));
    }

    #[test]
    fn mutated_receipts_never_panic_and_never_verify_as_the_operator(
        ops in choices(), edits in edits(),
    ) {
        let signed = valid_receipt();
        let anchorer = operator().address();
        let original = serde_json::to_value(&signed).unwrap();
        let mutated = mutate(original, &ops);
        let text = mutated.to_string();
        if let Ok(parsed) = serde_json::from_str::<SignedReceipt>(&text)
            && parsed != signed
        {
            // The same receipt with the signature's hex in another case is
            // the same signature; anything else must not verify.
            let signer = signer_of(&parsed).ok();
            let same_signature = parsed.receipt == signed.receipt
                && parsed.signature.to_lowercase() == signed.signature.to_lowercase();
            prop_assert!(same_signature || signer != Some(anchorer), "a changed receipt still recovers the anchorer");
        }
        feed_text(&damage(&text, &edits));
    }
}

/// Boundary values for the untrusted integers of a bundle: sums of two of
/// them overflow u64 (a debug build once panicked on first_index + count,
/// issue 25), and 2^53 ± 1 straddle the protocol's integer range.
const EXTREMES: [u64; 7] = [
    u64::MAX,
    u64::MAX - 1,
    1 << 63,
    i64::MAX as u64,
    1 << 53,
    (1 << 53) - 1,
    0,
];

/// JSON pointers to every integer in a value.
fn integer_pointers(v: &Value) -> Vec<String> {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    all.into_iter()
        .filter(|p| v.pointer(p).is_some_and(|x| x.is_u64()))
        .collect()
}

/// Every integer of a valid bundle at every extreme, one at a time,
/// through the bundle parser and the offline checks. Tests run in a debug
/// build, with overflow checks on: a wrapping sum panics here.
#[test]
fn every_integer_of_a_bundle_at_its_extremes_never_panics() {
    let original = serde_json::to_value(valid_bundle()).unwrap();
    let ptrs = integer_pointers(&original);
    assert!(ptrs.iter().any(|p| p.ends_with("/first_index")), "{ptrs:?}");
    for p in &ptrs {
        for x in EXTREMES {
            let mut v = original.clone();
            *v.pointer_mut(p).unwrap() = json!(x);
            feed_text(&v.to_string());
        }
    }
}

/// The bundle of issue 25: a batch with first_index + count past 2^64 and
/// an index outside it. It fails the offline check with a reason, and the
/// debug build does not panic.
#[test]
fn regression_first_index_plus_count_past_u64() {
    let mut b = valid_bundle();
    b.batches[0].first_index = u64::MAX - 1;
    b.batches[0].count = 3;
    let report = check_offline(&b);
    assert!(!report.ok());
    assert!(
        report.problems.iter().any(|p| p.contains("is past 2^64")),
        "{:?}",
        report.problems
    );
    let outside = report
        .events
        .iter()
        .flat_map(|e| &e.problems)
        .any(|p| p.contains("is outside batch"));
    assert!(outside, "{report:?}");
}

#[test]
fn the_corpus_replays_without_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        feed_text(&String::from_utf8_lossy(&bytes));
        n += 1;
    }
    assert!(
        n >= 3,
        "the corpus has its seeds ({n} files in {})",
        dir.display()
    );
}

/// Writes the seeds to the corpus (run with `--ignored` after a format change).
#[test]
#[ignore]
fn write_corpus_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    std::fs::write(
        dir.join("seed-bundle.json"),
        serde_json::to_string_pretty(&valid_bundle()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("seed-receipt.json"),
        serde_json::to_string_pretty(&valid_receipt()).unwrap(),
    )
    .unwrap();
    for (i, r) in vector_records().iter().enumerate().take(4) {
        std::fs::write(dir.join(format!("seed-record-{i}.json")), r.to_string()).unwrap();
    }
}
