//! Generates tests/vectors/protocol-v1.json and protocol-v2.json (at the
//! workspace root; the submodules `map` and `fraud` generate head-v2.json
//! and fraud-proofs.json): every input is fixed, so the output is the same
//! on every machine. It is test code, not the library's: the checked-in files are
//! compared with its output by protocol/tests/vectors.rs, and any independent implementation of
//! docs/PROTOCOL.md must reproduce the file byte for byte.

pub mod fraud;
pub mod map;

use serde_json::{Value, json};

use proofdesk_protocol::Hash32;
use proofdesk_protocol::append::{ChainTip, Draft, next_record};
use proofdesk_protocol::canonical::canonicalize;
use proofdesk_protocol::event::{EventData, EventType};
use proofdesk_protocol::fields::{PseudoRef, TicketHandle, Timestamp};
use proofdesk_protocol::hashing::{batch_head, content_commitment, leaf_hash};
use proofdesk_protocol::record::{Actor, Channel, Role};
use proofdesk_protocol::state::Policy;
use proofdesk_protocol::tree::BatchTree;

/// The eight RFC 6962 reference inputs and the root they must give.
pub const RFC6962_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
pub const RFC6962_ROOT: &str = "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_740_821_400_000 + ms).expect("fixed instant")
}

fn actor(role: Role, r: &str) -> Actor {
    Actor {
        role,
        reference: PseudoRef::parse("ref", r).expect("fixed ref"),
    }
}

fn fixed_salt(n: u8) -> [u8; 32] {
    [n; 32]
}

/// One scripted event: (ticket number, role, actor, channel, type, data, content).
type ScriptedEvent = (
    usize,
    Role,
    &'static str,
    Channel,
    EventType,
    Value,
    Option<&'static str>,
);

/// The script of the sample log.
fn script() -> Vec<ScriptedEvent> {
    use Channel::*;
    use EventType::*;
    use Role::*;
    vec![
        (
            0,
            Customer,
            "cust-8842",
            Web,
            TicketCreated,
            json!({"category": "withdrawal_delay", "priority": "normal", "complaint": true,
            "labels": {"language": "de", "product": "Auszahlung – SEPA (Überweisung)", "quote": "she said \"wait\"", "path": "C:\\temp\\x", "ctl": "tab\there\nnew\u{0001}\u{001f}\u{007f}", "emoji": "😀 ✓ 日本語"}}),
            Some("My withdrawal of 2 BTC has been pending for 9 days."),
        ),
        (
            1,
            Integration,
            "zendesk:acct-17",
            Email,
            TicketCreated,
            json!({"category": "kyc", "priority": "low", "complaint": false, "labels": {}}),
            None,
        ),
        (
            0,
            System,
            "autoresponder",
            Email,
            TicketAcknowledged,
            json!({}),
            None,
        ),
        (
            0,
            Agent,
            "agent-17",
            Web,
            TicketAssigned,
            json!({"assignee": "agent-17", "group": "payments"}),
            None,
        ),
        (
            1,
            Bot,
            "triage-bot",
            Chat,
            TicketAssigned,
            json!({"assignee": "queue:\"kyc\"\\level-1", "group": null}),
            None,
        ),
        (
            0,
            Agent,
            "agent-17",
            Email,
            MessageAdded,
            json!({"direction": "outbound", "visibility": "public"}),
            Some("Wir prüfen Ihre Auszahlung. «Merci» — 谢谢"),
        ),
        (
            0,
            Agent,
            "agent-17",
            Web,
            MessageAdded,
            json!({"direction": "outbound", "visibility": "internal"}),
            Some("Checked chain: tx stuck\t(nonce gap)\nescalate?"),
        ),
        (
            0,
            Agent,
            "agent-17",
            Web,
            StatusChanged,
            json!({"from": "new", "to": "open"}),
            None,
        ),
        (
            0,
            Agent,
            "lead-3",
            Web,
            PriorityChanged,
            json!({"from": "normal", "to": "urgent"}),
            None,
        ),
        (
            1,
            Customer,
            "cust-0193",
            Chat,
            MessageAdded,
            json!({"direction": "inbound", "visibility": "public"}),
            Some(""),
        ),
        (
            0,
            Agent,
            "lead-3",
            Web,
            TicketEscalated,
            json!({"level": 1, "reason": "regulatory_complaint"}),
            None,
        ),
        (
            1,
            Agent,
            "agent-5",
            Chat,
            StatusChanged,
            json!({"from": "new", "to": "pending"}),
            None,
        ),
        (
            0,
            Agent,
            "lead-3",
            Web,
            StatusChanged,
            json!({"from": "open", "to": "on_hold"}),
            None,
        ),
        (
            0,
            Customer,
            "cust-8842",
            Phone,
            MessageAdded,
            json!({"direction": "inbound", "visibility": "public"}),
            None,
        ),
        (
            0,
            Agent,
            "lead-3",
            Web,
            TicketEscalated,
            json!({"level": 2, "reason": "compliance"}),
            None,
        ),
        (
            0,
            Agent,
            "lead-3",
            Email,
            FinalResponseIssued,
            json!({"outcome": "upheld", "referral_rights": true}),
            Some("Final response: we uphold your complaint."),
        ),
        (
            0,
            Agent,
            "lead-3",
            Web,
            TicketResolved,
            json!({"resolution": "upheld"}),
            None,
        ),
        (
            1,
            Agent,
            "agent-5",
            Sms,
            TicketResolved,
            json!({"resolution": "answered"}),
            None,
        ),
        (
            0,
            Customer,
            "cust-8842",
            Web,
            SatisfactionRated,
            json!({"score": 4, "scale": 5}),
            None,
        ),
        (0, System, "auto-close", Api, TicketClosed, json!({}), None),
        (
            1,
            Customer,
            "cust-0193",
            Social,
            TicketReopened,
            json!({"reason": "customer_reply"}),
            None,
        ),
        (
            1,
            Agent,
            "agent-5",
            Chat,
            TicketResolved,
            json!({"resolution": "answered"}),
            None,
        ),
        (
            1,
            Customer,
            "cust-0193",
            Chat,
            SatisfactionRated,
            json!({"score": 0, "scale": 10}),
            None,
        ),
        (
            0,
            Customer,
            "cust-8842",
            Email,
            TicketReopened,
            json!({"reason": null}),
            None,
        ),
    ]
}

fn records() -> Value {
    let handles = [
        TicketHandle::from_random([0x11; 16]),
        TicketHandle::from_random([0xa7; 16]),
    ];
    let mut tips = [ChainTip::EMPTY, ChainTip::EMPTY];
    let policy = Policy {
        reopen_closed: true,
    };
    let mut out = Vec::new();
    for (index, (t, role, who, channel, ty, data, content)) in script().into_iter().enumerate() {
        let data = EventData::parse(ty, &data).expect("script data is valid");
        let commitment = content.map(|c| content_commitment(&fixed_salt(index as u8), c));
        let draft = Draft {
            data,
            actor: actor(role, who),
            channel,
            occurred_at: ts(index as i64 * 61_000),
            content: commitment,
        };
        let recorded = ts(index as i64 * 61_000 + 250);
        let (hashed, state) = next_record(
            &handles[t],
            &tips[t],
            &draft,
            index as u64,
            recorded,
            &policy,
        )
        .expect("script follows the state machine");
        tips[t] = tips[t].advance(hashed.leaf, state);
        out.push(json!({
            "record": hashed.record.to_value(),
            "canonical": String::from_utf8(hashed.canonical).expect("canonical JSON is UTF-8"),
            "leaf": hashed.leaf,
        }));
    }
    Value::Array(out)
}

fn commitments() -> Value {
    let cases: [(&[u8; 32], &str); 3] = [
        (&[0u8; 32], ""),
        (
            &[0x42; 32],
            "My withdrawal of 2 BTC has been pending for 9 days.",
        ),
        (&fixed_salt(5), "Wir prüfen Ihre Auszahlung. «Merci» — 谢谢"),
    ];
    Value::Array(
        cases
            .iter()
            .map(|(salt, content)| json!({"salt": Hash32(**salt), "content": content, "commitment": content_commitment(salt, content)}))
            .collect(),
    )
}

fn canonical_cases() -> Value {
    let cases = [
        json!({"b": [1, {"z": null, "a": true}], "a": {"d": {"c": "x"}}, "": 0}),
        json!({"\u{fb01}": 1, "😀": 2, "é": 3, "e": 4, "E": 5}),
        json!([
            "\"\\/\u{08}\u{0c}\n\r\t\u{00}\u{1f}\u{7f}\u{2028}",
            -9007199254740991i64,
            9007199254740991u64,
            false
        ]),
    ];
    Value::Array(
        cases
            .iter()
            .map(|v| json!({"json": v, "canonical": String::from_utf8(canonicalize(v).expect("integers only")).expect("utf-8")}))
            .collect(),
    )
}

fn tree_vector(leaves: &[Hash32]) -> Value {
    let tree = BatchTree::build(leaves).expect("non-empty");
    let proofs: Vec<Value> = (0..leaves.len() as u64)
        .map(|i| json!({"index": i, "path": tree.audit_path(i).expect("in range")}))
        .collect();
    json!({"leaves": leaves, "root": tree.root(), "proofs": proofs})
}

fn trees() -> Value {
    let mut out = Vec::new();
    for size in 1..=17u32 {
        let leaves: Vec<Hash32> = (0..size)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect();
        out.push(tree_vector(&leaves));
    }
    let rfc: Vec<Hash32> = RFC6962_INPUTS
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).expect("fixed hex")))
        .collect();
    out.push(tree_vector(&rfc));
    Value::Array(out)
}

fn heads() -> Value {
    let cases: [(u64, u64, u64, Hash32); 4] = [
        (0, 0, 1, leaf_hash(b"")),
        (1, 1, 17, Hash32([0x5a; 32])),
        (41, 1_000_000, 4096, Hash32([0xff; 32])),
        (9007199254740991, 9007199254740990, 1, Hash32::ZERO),
    ];
    Value::Array(
        cases
            .iter()
            .map(|(id, first, count, root)| {
                json!({"batch_id": id, "first_index": first, "count": count, "root": root, "head": batch_head(*id, *first, *count, root)})
            })
            .collect(),
    )
}

/// Records a verifier MUST reject, each a valid record from `records`
/// with one rule broken. `data` given as an array of its members is the
/// case serde would otherwise accept (§4: `data` is an object).
fn rejected_records(records: &Value) -> Value {
    let first_of = |ty: &str| {
        records
            .as_array()
            .and_then(|all| all.iter().find(|r| r["record"]["type"] == ty))
            .map(|r| r["record"].clone())
            .expect("the script has every type")
    };
    let cases = [
        (
            "ticket.created",
            json!(["withdrawal_delay", "normal", true, {}]),
        ),
        ("ticket.acknowledged", json!([])),
        ("message.added", json!(["inbound", "public"])),
    ];
    Value::Array(
        cases
            .into_iter()
            .map(|(ty, data)| {
                let mut record = first_of(ty);
                record["data"] = data;
                json!({"record": record, "reason": "data is an array, not an object (§4)"})
            })
            .collect(),
    )
}

/// The whole vectors document.
pub fn generate() -> Value {
    let records = records();
    json!({
        "protocol": "proofdesk/v1",
        "description": "Test vectors for docs/PROTOCOL.md. Hashes are 0x + 64 lowercase hex digits.",
        "canonical": canonical_cases(),
        "commitments": commitments(),
        "rejected_records": rejected_records(&records),
        "records": records,
        "trees": trees(),
        "heads": heads(),
    })
}

/// The file's exact text: pretty JSON with a final newline.
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&generate()).expect("values serialise");
    s.push('\n');
    s
}

/// Protocol v2 records (PROTOCOL §4.1): one ticket, resolved, rated by its
/// customer for CSAT (written as v1 writes it) and twice for NPS (v2
/// records, the later answer replacing the first for the figures).
fn records_v2() -> Value {
    use Channel::*;
    use EventType::*;
    use Role::*;
    let handle = TicketHandle::from_random([0x2b; 16]);
    let script: [(Role, &str, EventType, Value); 6] = [
        (
            Customer,
            "cust-77",
            TicketCreated,
            json!({"category": "deposit", "priority": "normal", "complaint": false, "labels": {}}),
        ),
        (
            Agent,
            "agent-3",
            TicketResolved,
            json!({"resolution": "answered"}),
        ),
        (
            Customer,
            "cust-77",
            SatisfactionRated,
            json!({"score": 4, "scale": 5, "survey": "csat"}),
        ),
        (
            Customer,
            "cust-77",
            SatisfactionRated,
            json!({"score": 6, "scale": 10, "survey": "nps"}),
        ),
        (
            Customer,
            "cust-77",
            SatisfactionRated,
            json!({"score": 9, "scale": 10, "survey": "nps"}),
        ),
        (Agent, "agent-3", TicketClosed, json!({})),
    ];
    let mut tip = ChainTip::EMPTY;
    let mut out = Vec::new();
    for (i, (role, who, ty, data)) in script.into_iter().enumerate() {
        let draft = Draft {
            data: EventData::parse(ty, &data).expect("script data is valid"),
            actor: actor(role, who),
            channel: Web,
            occurred_at: ts(i as i64 * 61_000),
            content: None,
        };
        let index = 100 + i as u64;
        let (hashed, state) = next_record(
            &handle,
            &tip,
            &draft,
            index,
            ts(i as i64 * 61_000 + 250),
            &Policy::default(),
        )
        .expect("script follows the state machine");
        tip = tip.advance(hashed.leaf, state);
        out.push(json!({
            "record": hashed.record.to_value(),
            "canonical": String::from_utf8(hashed.canonical).expect("canonical JSON is UTF-8"),
            "leaf": hashed.leaf,
        }));
    }
    Value::Array(out)
}

/// Ratings a v2 verifier MUST reject, each a valid record with one rule
/// broken.
fn rejected_v2(records: &Value) -> Value {
    let all = records.as_array().expect("records");
    let csat_v1 = all[2]["record"].clone();
    let nps = all[3]["record"].clone();
    let with = |base: &Value, f: &dyn Fn(&mut Value)| {
        let mut r = base.clone();
        f(&mut r);
        r
    };
    let cases = [
        (
            with(&csat_v1, &|r| r["data"]["survey"] = json!("csat")),
            "a v1 record names no survey (§4.1)",
        ),
        (
            with(&nps, &|r| {
                r["data"].as_object_mut().map(|d| d.remove("survey"));
            }),
            "a v2 rating names its survey (§4.1)",
        ),
        (
            with(&nps, &|r| r["data"]["scale"] = json!(5)),
            "an NPS answer is on the 0-10 scale (§4.1)",
        ),
        (
            with(&nps, &|r| r["data"]["survey"] = json!("ces")),
            "the survey is csat or nps (§4.1)",
        ),
        (
            with(&nps, &|r| r["v"] = json!(3)),
            "record versions are 1 and 2 (§1)",
        ),
    ];
    Value::Array(
        cases
            .into_iter()
            .map(|(record, reason)| json!({"record": record, "reason": reason}))
            .collect(),
    )
}

/// The protocol v2 vectors document.
pub fn generate_v2() -> Value {
    let records = records_v2();
    json!({
        "protocol": "proofdesk/v2",
        "description": "Test vectors for the v2 records of docs/PROTOCOL.md (§4.1). Every v1 vector still holds; these add ratings that name their survey. Hashes are 0x + 64 lowercase hex digits.",
        "rejected_records": rejected_v2(&records),
        "records": records,
    })
}

/// The v2 file's exact text.
pub fn render_v2() -> String {
    let mut s = serde_json::to_string_pretty(&generate_v2()).expect("values serialise");
    s.push('\n');
    s
}
