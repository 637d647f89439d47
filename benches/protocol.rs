//! CPU micro-benchmarks of the pure protocol: canonicalising and hashing a
//! record, building batch trees against the raw SHA-256 work they need, and
//! the offline half of verifying a bundle. Run: `cargo bench --bench protocol`.
//!
//! Each tree size is measured next to its limit in the same run: the n − 1
//! node hashes (65-byte inputs, two SHA-256 compressions each) that any
//! RFC 6962 tree of n leaves must compute, with nothing else around them.

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use sha2::{Digest, Sha256};

use proofdesk::protocol::Hash32;
use proofdesk::protocol::bundle::{Bundle, BundleBatch, BundleEvent, ChainRef, check_offline};
use proofdesk::protocol::canonical::canonicalize;
use proofdesk::protocol::hashing::{batch_head, leaf_hash};
use proofdesk::protocol::record::HashedRecord;
use proofdesk::protocol::state::Policy;
use proofdesk::protocol::tree::BatchTree;

const VECTORS: &str = include_str!("../tests/vectors/protocol-v1.json");

fn vector_records() -> Vec<Value> {
    let v: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["record"].clone())
        .collect()
}

fn leaves(n: usize) -> Vec<Hash32> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// The limit: n − 1 interior hashes of 0x01 ‖ left ‖ right, straight into
/// sha2 from one reused buffer, folded so none can be optimised away.
fn raw_node_hashes(leaves: &[Hash32]) -> u8 {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    let mut fold = 0u8;
    for pair in leaves.windows(2) {
        buf[1..33].copy_from_slice(&pair[0].0);
        buf[33..65].copy_from_slice(&pair[1].0);
        fold ^= Sha256::digest(buf)[0];
    }
    fold
}

fn record(c: &mut Criterion) {
    let records = vector_records();
    // A message with content: the most common event in a ticket's life.
    let message = records
        .iter()
        .find(|r| r["type"] == "message.added" && !r["content"].is_null())
        .expect("a message record in the vectors")
        .clone();
    let text = serde_json::to_string(&message).expect("serialise");
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(1));
    g.bench_function("canonicalize", |b| {
        b.iter(|| canonicalize(black_box(&message)).expect("canonical"))
    });
    g.bench_function("canonicalize_and_hash", |b| {
        b.iter(|| leaf_hash(&canonicalize(black_box(&message)).expect("canonical")))
    });
    g.bench_function("validate_canonicalize_hash", |b| {
        b.iter(|| HashedRecord::from_value(black_box(&message)).expect("valid"))
    });
    g.bench_function("parse_strict_and_hash", |b| {
        b.iter(|| {
            let v = proofdesk::protocol::canonical::parse_strict(black_box(&text)).expect("json");
            HashedRecord::from_value(&v).expect("valid")
        })
    });
    g.finish();
}

fn tree(c: &mut Criterion) {
    let mut g = c.benchmark_group("tree");
    for n in [1_000usize, 100_000, 1_000_000] {
        let l = leaves(n);
        if n >= 100_000 {
            g.sample_size(10);
        }
        g.throughput(Throughput::Elements(n as u64));
        // The sealer hands its leaves over (from_leaves); the copy made
        // here for each run is outside the timing.
        g.bench_with_input(BenchmarkId::new("build", n), &l, |b, l| {
            b.iter_batched(
                || l.clone(),
                |l| BatchTree::from_leaves(l).expect("non-empty").root(),
                BatchSize::LargeInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("sha256_limit", n), &l, |b, l| {
            b.iter(|| raw_node_hashes(black_box(l)))
        });
    }
    // What sealing really does per batch: the tree plus every audit path.
    let n = 4096;
    let l = leaves(n);
    g.sample_size(20);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_with_input(BenchmarkId::new("build_and_all_paths", n), &l, |b, l| {
        b.iter(|| {
            let t = BatchTree::build(black_box(l)).expect("non-empty");
            (0..n as u64)
                .map(|i| t.audit_path(i).expect("in range").len())
                .sum::<usize>()
        })
    });
    g.finish();
}

/// A ticket's bundle as the server would serve it: the vectors' first
/// ticket, its events placed in one final batch of 4096 leaves.
fn sample_bundle() -> Bundle {
    let records = vector_records();
    let ticket = records[0]["ticket"].as_str().expect("ticket").to_owned();
    let mine: Vec<Value> = records
        .into_iter()
        .filter(|r| r["ticket"] == ticket.as_str())
        .collect();
    let size = 4096u64;
    let mut all = leaves(size as usize);
    for r in &mine {
        let h = HashedRecord::from_value(r).expect("valid");
        all[h.record.index as usize] = h.leaf;
    }
    let tree = BatchTree::build(&all).expect("non-empty");
    let root = tree.root();
    let events = mine
        .into_iter()
        .map(|r| {
            let index = r["index"].as_u64().expect("index");
            BundleEvent {
                leaf: all[index as usize],
                record: r,
                batch: Some(0),
                path: tree.audit_path(index).expect("in range"),
            }
        })
        .collect();
    Bundle {
        version: 1,
        ticket: serde_json::from_value(Value::String(ticket)).expect("handle"),
        chain: ChainRef {
            chain_id: 31337,
            contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
            anchorer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
        },
        max_merge_delay_ms: 60_000,
        policy: Policy {
            reopen_closed: true,
        },
        batches: vec![BundleBatch {
            id: 0,
            first_index: 0,
            count: size,
            root,
            head: batch_head(0, 0, size, &root),
            tx: Some(Hash32([7; 32])),
            block: Some(1),
            status: "final".into(),
            map_root: None,
        }],
        events,
        map: None,
    }
}

fn bundle(c: &mut Criterion) {
    let bundle = sample_bundle();
    assert!(check_offline(&bundle).ok(), "the sample bundle must verify");
    let text = serde_json::to_string(&bundle).expect("serialise");
    let mut g = c.benchmark_group("bundle");
    g.throughput(Throughput::Elements(bundle.events.len() as u64));
    g.bench_function("check_offline", |b| {
        b.iter(|| check_offline(black_box(&bundle)))
    });
    g.bench_function("parse_and_check_offline", |b| {
        b.iter_batched(
            || text.clone(),
            |t| {
                let parsed = proofdesk::verify::parse_bundle(&t).expect("parses");
                check_offline(&parsed)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Signing one event's receipt (EIP-191, secp256k1), as every accepted
/// event gets, and recovering its signer, as a verifier does.
fn receipt(c: &mut Criterion) {
    use proofdesk::anchor::OperatorKey;
    use proofdesk::ingest::signing::sign;
    use proofdesk::protocol::fields::Timestamp;
    use proofdesk::protocol::receipt::{RECEIPT_VERSION, Receipt};
    use proofdesk::verify::receipt::signer_of;
    let key = OperatorKey::parse(proofdesk::devnet::DEV_KEYS[0]).expect("dev key");
    let receipt = Receipt {
        v: RECEIPT_VERSION,
        ticket: serde_json::from_value(Value::String("tk_11111111111111111111111111111111".into()))
            .expect("handle"),
        index: 1_234_567,
        seq: 3,
        leaf: Hash32([9; 32]),
        recorded_at: Timestamp::from_millis(1_764_000_000_000).expect("time"),
        anchor_deadline: Timestamp::from_millis(1_764_000_060_000).expect("time"),
        chain_id: 31337,
        contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
    };
    let signed = sign(&key, receipt.clone()).expect("signs");
    let mut g = c.benchmark_group("receipt");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign", |b| {
        b.iter(|| sign(&key, black_box(receipt.clone())).expect("signs"))
    });
    g.bench_function("recover_signer", |b| {
        b.iter(|| signer_of(black_box(&signed)).expect("recovers"))
    });
    // The same EIP-191 signature and recovery through libsecp256k1 (C),
    // against k256 (pure Rust, alloy's signer) above.
    let digest =
        alloy::primitives::eip191_hash_message(receipt.signing_bytes().expect("canonical"));
    let message = secp256k1::Message::from_digest(digest.0);
    let secret = secp256k1::SecretKey::from_byte_array(key.signer().to_bytes().0).expect("key");
    let recoverable = secp256k1::SECP256K1.sign_ecdsa_recoverable(message, &secret);
    g.bench_function("sign_libsecp256k1", |b| {
        b.iter(|| secp256k1::SECP256K1.sign_ecdsa_recoverable(black_box(message), &secret))
    });
    g.bench_function("recover_libsecp256k1", |b| {
        b.iter(|| {
            secp256k1::SECP256K1
                .recover_ecdsa(black_box(message), &recoverable)
                .expect("recovers")
        })
    });
    g.finish();

    // Receipt v2: a group of 1,000 receipts (a bulk request) signed once.
    let group: Vec<Receipt> = (0..1000)
        .map(|i| Receipt {
            v: proofdesk::protocol::receipt::RECEIPT_V2,
            index: 1_000_000 + i,
            ..receipt.clone()
        })
        .collect();
    let mut g = c.benchmark_group("receipt_v2");
    g.throughput(Throughput::Elements(group.len() as u64));
    g.bench_function("sign_group_1000", |b| {
        b.iter(|| {
            proofdesk::ingest::signing::sign_group(&key, black_box(group.clone())).expect("signs")
        })
    });
    g.finish();
}

/// The ticket map of head v2 (PROTOCOL.md §15), against the design it was
/// chosen over: a plain sparse Merkle tree whose every leaf sits at depth
/// 256 (empty subtrees by precomputed defaults, as the key transparency
/// drafts' first trees did). Same keys, same SHA-256; the plain tree
/// hashes about 256 − log2(n) more nodes per entry.
fn map(c: &mut Criterion) {
    use proofdesk::protocol::fields::TicketHandle;
    use proofdesk::protocol::map::{
        MapProof, TicketMap, Tip, key_bit, map_leaf_hash, map_node_hash,
    };

    fn handle(i: u64) -> TicketHandle {
        TicketHandle::parse(&format!("tk_{i:032x}")).unwrap()
    }
    fn tip(i: u64) -> Tip {
        Tip {
            seq: i % 40,
            leaf: Hash32(Sha256::digest(i.to_be_bytes()).into()),
            index: i,
            batch: i / 65_536,
        }
    }
    fn map_of(n: u64) -> TicketMap {
        let mut m = TicketMap::new();
        for i in 0..n {
            m.set(&handle(i), tip(i));
        }
        m
    }
    // The plain tree: default[d] is the root of an empty subtree at depth d.
    let mut defaults = vec![Hash32::ZERO; 257];
    for d in (0..256).rev() {
        defaults[d] = map_node_hash(&defaults[d + 1], &defaults[d + 1]);
    }
    fn plain_root(entries: &[(Hash32, Hash32)], depth: usize, defaults: &[Hash32]) -> Hash32 {
        if entries.is_empty() {
            return defaults[depth];
        }
        if depth == 256 {
            return entries[0].1;
        }
        let split = entries.partition_point(|(k, _)| !key_bit(k, depth));
        map_node_hash(
            &plain_root(&entries[..split], depth + 1, defaults),
            &plain_root(&entries[split..], depth + 1, defaults),
        )
    }
    let small = map_of(4096);
    let mut entries: Vec<(Hash32, Hash32)> = (0..4096)
        .map(|i| {
            let k = proofdesk::protocol::map::map_key(&handle(i));
            (k, map_leaf_hash(&k, &tip(i)))
        })
        .collect();
    entries.sort_unstable();
    let mut g = c.benchmark_group("map");
    g.sample_size(10);
    g.throughput(Throughput::Elements(4096));
    g.bench_function(BenchmarkId::new("root_collapsed", 4096), |b| {
        b.iter(|| black_box(small.root()))
    });
    g.bench_function(BenchmarkId::new("root_plain_depth_256", 4096), |b| {
        b.iter(|| black_box(plain_root(&entries, 0, &defaults)))
    });
    let big = map_of(1 << 20);
    g.throughput(Throughput::Elements(1 << 20));
    g.bench_function(BenchmarkId::new("root_collapsed", 1u64 << 20), |b| {
        b.iter(|| black_box(big.root()))
    });
    let snapshot = big.snapshot();
    let probe = handle(777_777);
    let proof: MapProof = snapshot.prove_key(&proofdesk::protocol::map::map_key(&probe));
    let root = snapshot.root();
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_proof_at_1048576", |b| {
        b.iter(|| black_box(proof.verify(&root, &probe).unwrap()))
    });
    // What sealing adds (issue 26's goal): one batch of 65,536 records,
    // each of a distinct ticket (the worst case: every record moves its own
    // path), half of them new, applied to the persistent map of 2^20
    // tickets the server keeps; the result's root is the head's map root.
    let persistent = proofdesk::protocol::map_tree::MapVersion::new().apply_batch(
        (0..1u64 << 20).map(|i| (proofdesk::protocol::map::map_key(&handle(i)), tip(i))),
    );
    let updates: Vec<(Hash32, Tip)> = ((1u64 << 20) - 32_768..(1u64 << 20) + 32_768)
        .map(|i| (proofdesk::protocol::map::map_key(&handle(i)), tip(i + 7)))
        .collect();
    g.throughput(Throughput::Elements(65_536));
    g.bench_function("apply_65536_over_1048576", |b| {
        b.iter_batched(
            || updates.clone(),
            |u| black_box(persistent.apply_batch(u).root()),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, record, tree, bundle, receipt, map);
criterion_main!(benches);
