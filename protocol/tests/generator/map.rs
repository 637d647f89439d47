//! Generates tests/vectors/head-v2.json: the ticket map of head v2
//! (docs/PROTOCOL.md §15). A log of 60 records over 12 tickets, sealed in
//! three batches; after each, the map root, the root a head v2 anchors and
//! the head. Then proofs against the last map: one inclusion per ticket,
//! absences of both kinds, an absence at an older batch, and forged proofs
//! a verifier must refuse. Every input is fixed.

use serde_json::{Value, json};

use proofdesk_protocol::Hash32;
use proofdesk_protocol::fields::TicketHandle;
use proofdesk_protocol::hashing::{leaf_hash, sha256};
use proofdesk_protocol::map::{
    MapProof, Terminal, TicketMap, Tip, anchored_root_v2, batch_head_v2, map_key, map_leaf_hash,
};
use proofdesk_protocol::tree;

/// Ticket `t`'s handle: tk_ + the first 16 bytes of SHA-256("ticket t"), hex.
pub fn handle(t: u64) -> TicketHandle {
    let h = sha256(format!("ticket {t}").as_bytes());
    TicketHandle::parse(&format!("tk_{}", &h.to_hex()[2..34])).unwrap()
}

/// Record `i`: leaf H(0x00 ‖ "map record i"), of ticket (7·i) mod 12.
pub fn record(i: u64) -> (u64, Hash32) {
    (
        (i * 7) % 12,
        leaf_hash(format!("map record {i}").as_bytes()),
    )
}

pub const BATCHES: [(u64, u64); 3] = [(0, 16), (16, 24), (40, 20)];

fn proof_case(map: &TicketMap, root: &Hash32, h: &TicketHandle, note: &str) -> Value {
    let proof = map.prove(h);
    json!({
        "note": note,
        "ticket": h.as_str(),
        "key": map_key(h),
        "root": root,
        "proof": proof,
        "tip": proof.verify(root, h).expect("the generator's proofs verify"),
    })
}

/// A deterministic absent handle whose proof ends on `want` (an empty
/// subtree or another entry).
fn absent(map: &TicketMap, empty: bool) -> TicketHandle {
    (1000..)
        .map(handle)
        .find(|h| {
            map.get(h).is_none() && matches!(map.prove(h).terminal, Terminal::Empty {}) == empty
        })
        .unwrap()
}

fn rejected(map: &TicketMap, root: &Hash32, older_root: &Hash32) -> Value {
    let h = handle(3);
    let good = map.prove(&h);
    let tip = *map.get(&h).unwrap();
    let case = |proof: &MapProof, root: &Hash32, reason: &str| json!({"ticket": h.as_str(), "root": root, "proof": proof, "reason": reason});
    let mut other_tip = good.clone();
    other_tip.terminal = Terminal::Tip {
        tip: Tip {
            seq: tip.seq - 1,
            ..tip
        },
    };
    let mut dropped = good.clone();
    dropped.siblings.remove(1);
    let mut padded = good.clone();
    padded.siblings.insert(0, None);
    let mut hidden = good.clone();
    hidden.terminal = Terminal::Empty {};
    let mut itself = good.clone();
    itself.terminal = Terminal::Other {
        key: map_key(&h),
        tip,
    };
    let far = handle(5);
    let mut off_path = good.clone();
    off_path.terminal = Terminal::Other {
        key: map_key(&far),
        tip: *map.get(&far).unwrap(),
    };
    json!([
        case(&other_tip, root, "another tip for the ticket: an older seq"),
        case(&dropped, root, "a sibling dropped"),
        case(&padded, root, "not canonical: an empty lowest sibling"),
        case(
            &hidden,
            root,
            "the ticket's own leaf hidden as an empty subtree"
        ),
        case(
            &itself,
            root,
            "the ticket's own leaf passed off as another's"
        ),
        case(
            &off_path,
            root,
            "another entry that is not on the ticket's path"
        ),
        case(
            &good,
            older_root,
            "a proof checked against another batch's map root"
        ),
    ])
}

pub fn generate_map() -> Value {
    let mut map = TicketMap::new();
    let mut seqs = [0u64; 12];
    let mut batches = Vec::new();
    let mut roots = Vec::new();
    for (id, (first, count)) in BATCHES.iter().enumerate() {
        let mut leaves = Vec::new();
        let mut records = Vec::new();
        for i in *first..first + count {
            let (t, leaf) = record(i);
            let tip = Tip {
                seq: seqs[t as usize],
                leaf,
                index: i,
                batch: id as u64,
            };
            seqs[t as usize] += 1;
            map.set(&handle(t), tip);
            leaves.push(leaf);
            records.push(
                json!({"index": i, "ticket": handle(t).as_str(), "seq": tip.seq, "leaf": leaf}),
            );
        }
        let log_root = tree::root(&leaves).unwrap();
        let map_root = map.root();
        roots.push(map_root);
        batches.push(json!({
            "batch_id": id,
            "first_index": first,
            "count": count,
            "records": records,
            "log_root": log_root,
            "map_root": map_root,
            "anchored_root": anchored_root_v2(&log_root, &map_root),
            "head": batch_head_v2(id as u64, *first, *count, &log_root, &map_root),
            "entries": map.len(),
        }));
    }
    let root = *roots.last().unwrap();
    let tip0 = *map.get(&handle(0)).unwrap();
    let mut proofs: Vec<Value> = (0..12)
        .map(|t| proof_case(&map, &root, &handle(t), "inclusion"))
        .collect();
    proofs.push(proof_case(
        &map,
        &root,
        &absent(&map, true),
        "absence: an empty subtree",
    ));
    proofs.push(proof_case(
        &map,
        &root,
        &absent(&map, false),
        "absence: another entry on the path",
    ));
    // At batch 0 ticket 4 had fewer records: the map as it stood then
    // proves its older tip (a bundle's proof is at one batch, §15.4).
    let mut at_first = TicketMap::new();
    let mut s = [0u64; 12];
    for i in 0..BATCHES[0].1 {
        let (t, leaf) = record(i);
        at_first.set(
            &handle(t),
            Tip {
                seq: s[t as usize],
                leaf,
                index: i,
                batch: 0,
            },
        );
        s[t as usize] += 1;
    }
    proofs.push(proof_case(
        &at_first,
        &roots[0],
        &handle(4),
        "inclusion at batch 0: an older tip",
    ));
    json!({
        "protocol": "proofdesk/head-v2",
        "status": "in force: a log seals head v2 batches and serves bundle v2 (docs/PROTOCOL.md §15)",
        "description": "Test vectors for the ticket map and head v2 of docs/PROTOCOL.md §15. Hashes are 0x + 64 lowercase hex digits; a proof's siblings run from the terminal's level up to the root's children, null for an empty subtree.",
        "tips": [{
            "ticket": handle(0).as_str(),
            "key": map_key(&handle(0)),
            "tip": tip0,
            "encoding": format!("0x{}", hex::encode(tip0.encode())),
            "leaf": map_leaf_hash(&map_key(&handle(0)), &tip0),
        }],
        "batches": batches,
        "proofs": proofs,
        "rejected_proofs": rejected(&map, &root, &roots[0]),
    })
}

pub fn render_map() -> String {
    let mut s = serde_json::to_string_pretty(&generate_map()).expect("values serialise");
    s.push('\n');
    s
}
