//! Generates tests/vectors/fraud-proofs.json: fraud proofs (docs/PROTOCOL.md
//! §15.7) over a small log of real records. Every input is fixed.
//!
//! The log: 25 records of six tickets (handles as in head-v2.json), sealed
//! in four batches, batch 0 with a v1 head and batches 1–3 with head v2 (the
//! log switched at batch 1; its map covers batch 0 too, §15.2). Batch 3
//! anchors two forks: a second `seq 2` of tickets 0 and 2, with another
//! reply. `batches` gives each batch as the log sealed it, its map root the
//! honest replay of every record as anchored.
//!
//! Then the fraud proofs a checker MUST accept, each with the heads the
//! chain must hold for it (what `fraud::check` returns), and the ones it
//! MUST refuse, each broken in one way (`rule`). A `skipped_record` proof
//! is about a log that committed another map root at its map batch than
//! the replay gives (only that batch's head differs from `batches`).

use serde_json::{Value, json};

use proofdesk_protocol::Hash32;
use proofdesk_protocol::append::{ChainTip, Draft, next_record};
use proofdesk_protocol::canonical::canonicalize;
use proofdesk_protocol::event::{EventData, EventType};
use proofdesk_protocol::fields::TicketHandle;
use proofdesk_protocol::fraud::{
    AnchoredRecord, FRAUD_PROOF_VERSION, FraudBatch, FraudKind, FraudProof, check,
};
use proofdesk_protocol::hashing::{batch_head, content_commitment, leaf_hash};
use proofdesk_protocol::map::{Terminal, TicketMap, Tip, batch_head_v2};
use proofdesk_protocol::record::{Channel, HashedRecord, Role};
use proofdesk_protocol::state::{Policy, TicketState};
use proofdesk_protocol::tree::BatchTree;

use super::map::handle;
use super::{actor, ts};

/// Anvil's chain id and the address of the first contract its dev key 0
/// deploys: what the proofs name (a checker compares them with its own).
pub const CHAIN_ID: u64 = 31337;
pub const CONTRACT: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

/// The ticket of each record at indices 0–21; 22 and 23 are the forks
/// (`FORKS`), 24 is ticket 5's next record.
const ORDER: [u64; 22] = [
    0, 1, 0, 2, 1, 0, // batch 0 (v1)
    3, 2, 0, 4, 1, 3, 5, 2, // batch 1
    0, 4, 3, 5, 1, 2, 4, 0, // batch 2
];
/// (ticket, seq) of the forks at indices 22 and 23.
const FORKS: [(u64, u64); 2] = [(0, 2), (2, 2)];
/// (first_index, count, head v2) of each batch.
const BATCHES: [(u64, u64, bool); 4] = [(0, 6, false), (6, 8, true), (14, 8, true), (22, 3, true)];

/// The text a record's content commits to (salt: 32 bytes each equal to the
/// record's index).
fn reply(t: u64, fork: bool) -> String {
    if fork {
        format!("Ticket {t}: we need more documents before we pay out.")
    } else {
        format!("Ticket {t}: your withdrawal was sent today.")
    }
}

/// Ticket `t`'s event at `seq` (every ticket runs the same course), as the
/// platform reports it for record `index`.
fn draft(t: u64, seq: u64, index: u64, fork: bool) -> Draft {
    use Channel::*;
    use EventType::*;
    use Role::*;
    let customer = format!("cust-{t}");
    let agent = format!("agent-{t}");
    let (role, who, channel, ty, data) = match seq {
        0 => (
            Customer,
            customer.as_str(),
            Web,
            TicketCreated,
            json!({"category": "withdrawal_delay", "priority": "normal", "complaint": true, "labels": {}}),
        ),
        1 => (
            System,
            "autoresponder",
            Email,
            TicketAcknowledged,
            json!({}),
        ),
        2 => (
            Agent,
            agent.as_str(),
            Email,
            MessageAdded,
            json!({"direction": "outbound", "visibility": "public"}),
        ),
        3 => (
            Agent,
            agent.as_str(),
            Web,
            StatusChanged,
            json!({"from": "new", "to": if fork { "pending" } else { "open" }}),
        ),
        4 => (
            Agent,
            agent.as_str(),
            Web,
            TicketResolved,
            json!({"resolution": "answered"}),
        ),
        _ => (System, "auto-close", Api, TicketClosed, json!({})),
    };
    let salt = [index as u8; 32];
    Draft {
        data: EventData::parse(ty, &data).expect("fixed data is valid"),
        actor: actor(role, who),
        channel,
        occurred_at: ts(index as i64 * 61_000),
        content: (ty == MessageAdded).then(|| content_commitment(&salt, &reply(t, fork))),
    }
}

struct Log {
    records: Vec<HashedRecord>,
    /// Each ticket's chain tip before each of its seqs.
    tips: Vec<Vec<ChainTip>>,
    trees: Vec<BatchTree>,
}

impl Log {
    fn build() -> Log {
        let mut tips: Vec<Vec<ChainTip>> = vec![vec![ChainTip::EMPTY]; 6];
        let mut records = Vec::new();
        let mut entries: Vec<(u64, Option<u64>)> = ORDER.iter().map(|t| (*t, None)).collect();
        entries.extend(FORKS.iter().map(|(t, s)| (*t, Some(*s))));
        entries.push((5, None));
        for (index, (t, fork)) in entries.into_iter().enumerate() {
            let index = index as u64;
            let chain = &mut tips[t as usize];
            let before = match fork {
                Some(seq) => chain[seq as usize].clone(),
                None => chain.last().expect("a tip").clone(),
            };
            let (hashed, state) = log_record(t, &before, index, fork.is_some());
            if fork.is_none() {
                chain.push(before.advance(hashed.leaf, state));
            }
            records.push(hashed);
        }
        let trees = BATCHES
            .iter()
            .map(|(first, count, _)| {
                let leaves: Vec<Hash32> = records[*first as usize..(first + count) as usize]
                    .iter()
                    .map(|r| r.leaf)
                    .collect();
                BatchTree::build(&leaves).expect("non-empty")
            })
            .collect();
        Log {
            records,
            tips,
            trees,
        }
    }

    fn batch_of(&self, index: u64) -> usize {
        BATCHES
            .iter()
            .position(|(first, count, _)| index >= *first && index < first + count)
            .expect("in a batch")
    }

    fn ticket(&self, index: u64) -> &TicketHandle {
        &self.records[index as usize].record.ticket
    }

    fn tip(&self, index: u64) -> Tip {
        let r = &self.records[index as usize];
        Tip {
            seq: r.record.seq,
            leaf: r.leaf,
            index,
            batch: self.batch_of(index) as u64,
        }
    }

    /// The map after batch `b`, every record applied in index order through
    /// `edit` (None: the record is skipped).
    fn map_at(&self, b: usize, edit: impl Fn(u64, Tip) -> Option<Tip>) -> TicketMap {
        let mut map = TicketMap::new();
        let (first, count, _) = BATCHES[b];
        for index in 0..first + count {
            if let Some(tip) = edit(index, self.tip(index)) {
                map.set(self.ticket(index), tip);
            }
        }
        map
    }

    fn honest_map(&self, b: usize) -> TicketMap {
        self.map_at(b, |_, tip| Some(tip))
    }

    /// Batch `b` as the log sealed it: its map root the honest one.
    fn batch(&self, b: usize) -> FraudBatch {
        let (first, count, v2) = BATCHES[b];
        FraudBatch {
            id: b as u64,
            first_index: first,
            count,
            root: self.trees[b].root(),
            map_root: v2.then(|| self.honest_map(b).root()),
        }
    }

    fn anchored(&self, index: u64) -> AnchoredRecord {
        let b = self.batch_of(index);
        AnchoredRecord {
            record: self.records[index as usize].record.to_value(),
            batch: self.batch(b),
            path: self.trees[b]
                .audit_path(index - BATCHES[b].0)
                .expect("in range"),
        }
    }

    /// The first record of `ticket`.
    fn first_of(&self, ticket: u64) -> u64 {
        (0..self.records.len() as u64)
            .find(|i| self.ticket(*i) == &handle(ticket))
            .expect("the ticket has a record")
    }

    /// The last record of `ticket` at or before batch `b`.
    fn last_of(&self, ticket: u64, b: usize) -> u64 {
        let (first, count, _) = BATCHES[b];
        (0..first + count)
            .rev()
            .find(|i| self.ticket(*i) == &handle(ticket))
            .expect("the ticket has a record by then")
    }
}

fn log_record(t: u64, before: &ChainTip, index: u64, fork: bool) -> (HashedRecord, TicketState) {
    next_record(
        &handle(t),
        before,
        &draft(t, before.next_seq, index, fork),
        index,
        ts(index as i64 * 61_000 + 250),
        &Policy::default(),
    )
    .expect("the course follows the state machine")
}

fn proof(claim: FraudKind) -> FraudProof {
    FraudProof {
        fraud_proof: FRAUD_PROOF_VERSION,
        chain_id: CHAIN_ID,
        contract: CONTRACT.into(),
        claim,
    }
}

fn equivocation(a: AnchoredRecord, b: AnchoredRecord) -> FraudProof {
    proof(FraudKind::Equivocation { records: [a, b] })
}

/// A skipped_record proof about `record` against `map`, committed by
/// `map_batch`. A record in the map batch itself is given in that batch as
/// the map batch gives it: the chain holds one head per batch.
fn skipped(mut record: AnchoredRecord, map_batch: FraudBatch, map: &TicketMap) -> FraudProof {
    let ticket =
        TicketHandle::parse(record.record["ticket"].as_str().expect("a ticket")).expect("a handle");
    if record.batch.id == map_batch.id {
        record.batch = map_batch.clone();
    }
    proof(FraudKind::SkippedRecord {
        map_proof: map.prove(&ticket),
        record,
        map_batch,
    })
}

/// The head a batch's fields give, computed here from §6 / §15.3 (not by
/// `FraudBatch::head`).
fn head_of(b: &FraudBatch) -> Hash32 {
    match &b.map_root {
        Some(m) => batch_head_v2(b.id, b.first_index, b.count, &b.root, m),
        None => batch_head(b.id, b.first_index, b.count, &b.root),
    }
}

fn heads(p: &FraudProof) -> Value {
    let batches: Vec<&FraudBatch> = match &p.claim {
        FraudKind::Equivocation { records: [a, b] } => vec![&a.batch, &b.batch],
        FraudKind::SkippedRecord {
            record, map_batch, ..
        } => vec![&record.batch, map_batch],
    };
    Value::Array(
        batches
            .into_iter()
            .map(|b| json!({"batch_id": b.id, "head": head_of(b)}))
            .collect(),
    )
}

fn valid(note: &str, p: FraudProof, shows: Value) -> Value {
    let claim = check(&p).unwrap_or_else(|e| panic!("{note}: {e}"));
    let heads = heads(&p);
    assert_eq!(
        serde_json::to_value(&claim.heads).expect("heads serialise"),
        Value::Array(
            heads
                .as_array()
                .expect("heads")
                .iter()
                .map(|h| json!([h["batch_id"], h["head"]]))
                .collect()
        ),
        "{note}"
    );
    json!({"note": note, "proof": p, "heads": heads, "shows": shows})
}

fn equivocation_shows(p: &FraudProof) -> Value {
    let FraudKind::Equivocation { records: [a, b] } = &p.claim else {
        unreachable!()
    };
    let leaf = |r: &AnchoredRecord| HashedRecord::from_value(&r.record).expect("valid").leaf;
    json!({
        "kind": "equivocation",
        "ticket": a.record["ticket"],
        "seq": a.record["seq"],
        "leaves": [leaf(a), leaf(b)],
    })
}

fn skipped_shows(case: &str, map: &TicketMap, ticket: u64) -> Value {
    json!({"kind": "skipped_record", "case": case, "tip": map.get(&handle(ticket))})
}

fn rejected(rule: &str, reason: &str, p: Value) -> Value {
    if let Ok(parsed) = serde_json::from_value::<FraudProof>(p.clone()) {
        assert!(check(&parsed).is_err(), "{reason}: accepted");
    }
    json!({"rule": rule, "reason": reason, "proof": p})
}

fn to_value(p: &FraudProof) -> Value {
    serde_json::to_value(p).expect("a proof serialises")
}

pub fn generate_fraud() -> Value {
    let log = Log::build();
    let mut proofs = Vec::new();

    // Equivocation: a reply in a v1 batch and its fork in a head v2 batch;
    // then a fork given first, its original (both v2) second.
    let e1 = equivocation(log.anchored(5), log.anchored(22));
    proofs.push(valid(
        "equivocation: ticket 0 seq 2 in batch 0 (v1 head) and in batch 3 (head v2)",
        e1.clone(),
        equivocation_shows(&e1),
    ));
    let e2 = equivocation(log.anchored(23), log.anchored(13));
    proofs.push(valid(
        "equivocation: ticket 2 seq 2 in batch 3 and in batch 1 (both head v2), the later one first",
        e2.clone(),
        equivocation_shows(&e2),
    ));

    // Skipped records, the map batch's root from a map that lost the
    // record: no record of its ticket at all (its path ending on an empty
    // subtree, then on another entry), an older tip, another record at its
    // index, a tip from a later batch.
    let mut absent = |empty: bool| {
        for b in [1usize, 2] {
            for t in 0..6u64 {
                let h = handle(t);
                if log.honest_map(b).get(&h).is_none() {
                    continue;
                }
                let map = log.map_at(b, |i, tip| (log.ticket(i) != &h).then_some(tip));
                if matches!(map.prove(&h).terminal, Terminal::Empty {}) != empty {
                    continue;
                }
                // The ticket's first record (in batch 0, a v1 batch, for
                // the first ticket found), or its latest by then.
                let r = if empty {
                    log.first_of(t)
                } else {
                    log.last_of(t, b)
                };
                let mb = FraudBatch {
                    map_root: Some(map.root()),
                    ..log.batch(b)
                };
                let p = skipped(log.anchored(r), mb, &map);
                let what = if empty {
                    "an empty subtree"
                } else {
                    "another ticket's entry"
                };
                proofs.push(valid(
                    &format!(
                        "skipped_record: batch {b}'s map has no record of ticket {t} (its path ends on {what}); its record at index {r} is in batch {} ({})",
                        log.batch_of(r),
                        if BATCHES[log.batch_of(r)].2 { "head v2" } else { "v1 head" }
                    ),
                    p,
                    skipped_shows("no_record", &map, t),
                ));
                return (t, b, r);
            }
        }
        panic!("no ticket of the log is proven absent that way")
    };
    let in_v1 = absent(true);
    absent(false);
    assert!(
        !BATCHES[log.batch_of(in_v1.2)].2,
        "an absence of a record anchored in a v1 batch"
    );

    // Ticket 3's seq 2 (index 16, batch 2) skipped: the map keeps seq 1.
    let older = log.map_at(2, |i, tip| (i != 16).then_some(tip));
    let s_older = skipped(
        log.anchored(16),
        FraudBatch {
            map_root: Some(older.root()),
            ..log.batch(2)
        },
        &older,
    );
    proofs.push(valid(
        "skipped_record: batch 2's map holds ticket 3's seq 1 (index 11) as its tip; its seq 2 is index 16, in batch 2",
        s_older.clone(),
        skipped_shows("older_tip", &older, 3),
    ));

    // Ticket 1's seq 3 at index 18: the map holds another record at that
    // index (the ticket set to pending, not open).
    let (other, _) = log_record(1, &log.tips[1][3], 18, true);
    let other_leaf = log.map_at(2, |i, tip| {
        Some(if i == 18 {
            Tip {
                leaf: other.leaf,
                ..tip
            }
        } else {
            tip
        })
    });
    proofs.push(valid(
        "skipped_record: batch 2's map holds another record at ticket 1's index 18 (status set to pending, not open)",
        skipped(
            log.anchored(18),
            FraudBatch {
                map_root: Some(other_leaf.root()),
                ..log.batch(2)
            },
            &other_leaf,
        ),
        skipped_shows("other_leaf_at_index", &other_leaf, 1),
    ));

    // Batch 1's map already holds ticket 4's seq 2, anchored in batch 2.
    let mut later = log.honest_map(1);
    later.set(&handle(4), log.tip(20));
    let s_later = skipped(
        log.anchored(9),
        FraudBatch {
            map_root: Some(later.root()),
            ..log.batch(1)
        },
        &later,
    );
    proofs.push(valid(
        "skipped_record: batch 1's map holds ticket 4's seq 2 (index 20, batch 2) as its tip; its seq 0 is index 9, in batch 1",
        s_later.clone(),
        skipped_shows("tip_in_later_batch", &later, 4),
    ));

    // ---- rejected: each a valid proof above, or one built as they are,
    // with one thing wrong.
    let mut bad = Vec::new();
    let mut v = to_value(&e1);
    v["fraud_proof"] = json!(2);
    bad.push(rejected(
        "version",
        "fraud proof version 2: this format is version 1",
        v,
    ));
    bad.push(rejected(
        "same_record",
        "the same record twice (ticket 0 seq 2, index 5)",
        to_value(&equivocation(log.anchored(5), log.anchored(5))),
    ));
    bad.push(rejected(
        "different_seq",
        "two records of ticket 0 with seq 2 and seq 3",
        to_value(&equivocation(log.anchored(5), log.anchored(8))),
    ));
    bad.push(rejected(
        "different_ticket",
        "seq 2 of ticket 0 and seq 2 of ticket 2",
        to_value(&equivocation(log.anchored(5), log.anchored(13))),
    ));
    // Record 5 with the zero hash as prev (seq 2), in a batch 0 built over
    // it: anchored, but not a valid record (§3).
    {
        let mut record = log.records[5].record.to_value();
        record["prev"] = json!(Hash32::ZERO);
        let mut leaves: Vec<Hash32> = log.records[..6].iter().map(|r| r.leaf).collect();
        leaves[5] = leaf_hash(&canonicalize(&record).expect("canonical"));
        let tree = BatchTree::build(&leaves).expect("non-empty");
        let a = AnchoredRecord {
            record,
            batch: FraudBatch {
                root: tree.root(),
                ..log.batch(0)
            },
            path: tree.audit_path(5).expect("in range"),
        };
        bad.push(rejected(
            "record",
            "the first record has seq 2 and the zero prev (§3), though its batch anchors it",
            to_value(&equivocation(a, log.anchored(22))),
        ));
    }
    {
        let mut a = log.anchored(5);
        a.batch = log.batch(1);
        bad.push(rejected(
            "outside_batch",
            "the first record (index 5) given in batch 1, which covers indices 6-13",
            to_value(&equivocation(a, log.anchored(22))),
        ));
    }
    {
        let mut b = log.anchored(22);
        b.path[0].0[31] ^= 1;
        bad.push(rejected(
            "path",
            "the second record's path has its lowest sibling altered",
            to_value(&equivocation(log.anchored(5), b)),
        ));
    }
    bad.push(rejected(
        "record_after_map_batch",
        "the fork at index 22 is in batch 3, after the map's batch 2 (whose map holds ticket 0's index 21)",
        to_value(&skipped(log.anchored(22), log.batch(2), &log.honest_map(2))),
    ));
    bad.push(rejected(
        "no_fraud",
        "batch 2's map holds the record itself (ticket 0's index 21) as the ticket's tip",
        to_value(&skipped(log.anchored(21), log.batch(2), &log.honest_map(2))),
    ));
    bad.push(rejected(
        "no_fraud",
        "batch 2's map holds a later record of the ticket (index 21) than this one (index 14)",
        to_value(&skipped(log.anchored(14), log.batch(2), &log.honest_map(2))),
    ));
    {
        let map = log.map_at(0, |i, tip| (log.ticket(i) != &handle(0)).then_some(tip));
        bad.push(rejected(
            "v1_map_batch",
            "the map batch is batch 0, whose v1 head commits no map (the proof is against a map root nobody anchored)",
            to_value(&skipped(log.anchored(5), log.batch(0), &map)),
        ));
    }
    {
        // The older-tip proof, its batch the log's as sealed.
        let FraudKind::SkippedRecord { map_proof, .. } = s_older.claim.clone() else {
            unreachable!()
        };
        let p = proof(FraudKind::SkippedRecord {
            record: log.anchored(16),
            map_batch: log.batch(2),
            map_proof,
        });
        bad.push(rejected(
            "map_proof",
            "the older-tip map proof (ticket 3's seq 1 as its tip) against batch 2 as the log sealed it, whose map holds seq 2",
            to_value(&p),
        ));
    }
    for (pointer, member, base) in [
        ("", "note", &e1),
        ("/claim", "summary", &e1),
        ("/claim/records/0/batch", "head", &e1),
        ("/claim/map_proof/terminal/tip", "note", &s_later),
    ] {
        let mut v = to_value(base);
        v.pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .expect("an object")
            .insert(member.into(), json!(1));
        bad.push(rejected(
            "unknown_member",
            &format!(
                "an unknown member `{member}` in {}",
                if pointer.is_empty() {
                    "the document"
                } else {
                    pointer
                }
            ),
            v,
        ));
    }

    let records: Vec<Value> = log
        .records
        .iter()
        .map(|r| {
            json!({
                "record": r.record.to_value(),
                "canonical": String::from_utf8(r.canonical.clone()).expect("canonical JSON is UTF-8"),
                "leaf": r.leaf,
            })
        })
        .collect();
    let batches: Vec<Value> = (0..BATCHES.len())
        .map(|b| {
            let fb = log.batch(b);
            json!({
                "batch_id": fb.id,
                "first_index": fb.first_index,
                "count": fb.count,
                "log_root": fb.root,
                "map_root": fb.map_root,
                "head": head_of(&fb),
            })
        })
        .collect();
    json!({
        "protocol": "proofdesk/fraud-proof-v1",
        "description": "Test vectors for the fraud proofs of docs/PROTOCOL.md §15.7. `records` is a log of 25 records of six tickets (indices 22 and 23 are forks: a second seq 2 of tickets 0 and 2); `batches` is how it was sealed (batch 0 with a v1 head, map_root null; batches 1-3 head v2, map roots from replaying every record as anchored, from batch 0). Each `fraud_proofs` entry is a document `fraud::check` accepts, with `heads`, the (batch id, head) pairs the chain must hold for it to be confirmed, in the order the claim names the batches (the equivocation's two records' batches; the skipped record's batch, then the map batch), and `shows`, what it shows. A skipped_record proof is about a log that committed another map root at its map batch than the replay gives. Each `rejected` entry MUST be refused, for `rule`. Hashes are 0x + 64 lowercase hex digits.",
        "records": records,
        "batches": batches,
        "fraud_proofs": proofs,
        "rejected": bad,
    })
}

pub fn render_fraud() -> String {
    let mut s = serde_json::to_string_pretty(&generate_fraud()).expect("values serialise");
    s.push('\n');
    s
}
