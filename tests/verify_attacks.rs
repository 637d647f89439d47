//! Five ways a dishonest log once made `proofdesk verify` print VALID for a
//! rewritten history, each replayed against a real anvil (and, where the
//! log's own pipeline matters, a real node over HTTP). Every attack must now
//! fail verification, or be reported with the caveat the protocol states
//! where it cannot decide (PROTOCOL.md §13).

mod common;

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::primitives::Address;
use common::attacks::{Class, FakeLog, World, judge, run_cli};
use common::forge::{ForgedTicket, Forger, ago};
use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk::protocol::Hash32;
use proofdesk::protocol::bundle::Bundle;
use proofdesk::protocol::disclosure::Disclosure;
use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::receipt::{Receipt, SignedReceipt};
use proofdesk::verify::{
    ContractSource, MmdSource, Verdict, VerifyOptions, VerifyReport, verify_bundle,
};
use proofdesk_testkit::{TestApp, event, problems};
use serde_json::{Value, json};

fn key(i: usize) -> OperatorKey {
    OperatorKey::parse(DEV_KEYS[i]).unwrap()
}

async fn verify(bundle: &Bundle, options: &VerifyOptions) -> VerifyReport {
    verify_bundle(bundle, options).await.unwrap()
}

/// A forged complaint: created, acknowledged, final response, resolved
/// with `outcome`, all recorded at `at`.
fn complaint(f: &mut Forger, t: &mut ForgedTicket, outcome: &str, at: Timestamp) {
    f.record(
        t,
        "ticket.created",
        json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
        at,
    );
    f.record(t, "ticket.acknowledged", json!({}), at);
    f.record(
        t,
        "final_response.issued",
        json!({"outcome": outcome, "referral_rights": true}),
        at,
    );
    f.record(t, "ticket.resolved", json!({"resolution": outcome}), at);
}

/// Runs the real `proofdesk verify` binary.
async fn cli(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .arg("verify")
        .args(args)
        .output()
        .await
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write_json(dir: &tempfile::TempDir, name: &str, v: &impl serde::Serialize) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    path.display().to_string()
}

// ---------------------------------------------------------------- attack 1

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_1_pending_records_cannot_replace_anchored_history() {
    let app = TestApp::spawn().await;
    let handle = app.create_ticket("zd-1").await;
    for e in [
        event(
            "ticket.created",
            json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
            "customer",
        ),
        event("ticket.acknowledged", json!({}), "system"),
        event(
            "final_response.issued",
            json!({"outcome": "upheld", "referral_rights": true}),
            "agent",
        ),
        event("ticket.resolved", json!({"resolution": "upheld"}), "agent"),
    ] {
        app.append(&handle, e).await;
    }
    let honest = app.anchored_bundle(&handle).await;
    assert!(app.verify_with(&honest, &app.options()).await.valid);

    // The operator rewrites the outcome of seq 2 and 3 and serves the new
    // records as "pending", at the indices the chain has already anchored.
    let mut forged = honest.clone();
    let mut prev: Hash32 = honest.events[1].leaf;
    for (seq, ty, data) in [
        (
            2,
            "final_response.issued",
            json!({"outcome": "rejected", "referral_rights": false}),
        ),
        (3, "ticket.resolved", json!({"resolution": "rejected"})),
    ] {
        let mut record = honest.events[seq].record.clone();
        record["type"] = json!(ty);
        record["data"] = data;
        record["prev"] = json!(prev);
        let hashed = proofdesk::protocol::record::HashedRecord::from_value(&record).unwrap();
        prev = hashed.leaf;
        forged.events[seq].record = record;
        forged.events[seq].leaf = hashed.leaf;
        forged.events[seq].batch = None;
        forged.events[seq].path.clear();
    }
    forged
        .batches
        .retain(|b| honest.events[..2].iter().any(|e| e.batch == Some(b.id)));
    let r = app.verify_with(&forged, &app.options()).await;
    assert!(!r.valid, "forged pending records passed:\n{}", r.render());
    assert_eq!(r.withheld_pending, 2, "{}", r.render());
    assert!(problems(&r).contains("the contract has anchored every index below"));
    assert!(
        r.events[2..].iter().all(|e| !e.verified),
        "pending is never ✓"
    );
    assert_eq!(r.status, None, "an invalid report states no status");
    let text = r.render();
    assert!(text.contains("Status: not established"), "{text}");
    assert!(!text.contains("resolution rejected"), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_1_an_honest_pending_tail_is_shown_apart_from_the_status() {
    // Batches of 3, never sealed by age: the 4th event stays pending.
    let app = TestApp::builder()
        .seal(3, Duration::from_secs(3600))
        .spawn()
        .await;
    let handle = app.create_ticket("zd-2").await;
    for e in [
        event(
            "ticket.created",
            json!({"category": "kyc", "priority": "normal", "complaint": true, "labels": {}}),
            "customer",
        ),
        event("ticket.acknowledged", json!({}), "system"),
        event(
            "status.changed",
            json!({"from": "new", "to": "open"}),
            "agent",
        ),
        event(
            "ticket.resolved",
            json!({"resolution": "answered"}),
            "agent",
        ),
    ] {
        app.append(&handle, e).await;
    }
    let bundle = app.bundle_anchored_through(&handle, 3).await;
    assert!(!bundle.log_says_anchored(&bundle.events[3]));
    let r = app.verify_with(&bundle, &app.options()).await;
    assert!(r.valid, "{}", r.render());
    assert_eq!(r.complete_through_seq, Some(2));
    assert_eq!(r.pending, 1);
    assert!(!r.events[3].verified && r.events[3].ok);
    assert_eq!(
        r.status.as_deref(),
        Some("open"),
        "the pending resolution does not count"
    );
    assert_eq!(r.resolution, None);
    let text = r.render();
    assert!(
        text.contains("  … #3"),
        "pending is shown as …, not ✓:\n{text}"
    );
    assert!(text.contains("pending event(s) are not anchored yet"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_1_a_ticket_made_only_of_pending_records_proves_nothing() {
    let anvil = Anvil::start(0, None).await.unwrap();
    let mut f = Forger::deploy(&anvil.url(), key(0)).await;
    // Past the contract's next index, so "pending" cannot be disproved,
    // but recorded an hour ago: the promise to anchor within 60 s is broken.
    f.skip(1_000);
    let mut t = f.ticket();
    complaint(&mut f, &mut t, "upheld", ago(3600));
    let bundle = f.bundle(&t.handle, &t.records);
    let r = verify(&bundle, &VerifyOptions::new(anvil.url(), f.contract)).await;
    assert!(!r.valid, "{}", r.render());
    assert!(r.unproven, "nothing is anchored, so nothing is proven");
    assert!(r.render().contains("NOT YET ANCHORED"), "{}", r.render());
    assert_eq!(r.verdict, Verdict::Pending);
    assert_eq!(r.broken_promises, 4, "{}", r.render());
    assert!(r.events.iter().all(|e| !e.verified));
    assert!(
        r.events[0]
            .flags
            .iter()
            .any(|f| f.contains("still not anchored"))
    );
    assert_eq!(r.status, None);
    anvil.stop().await;
}

// ---------------------------------------------------------------- attack 2

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_2_the_operators_own_contract_is_not_trusted() {
    let anvil = Anvil::start(0, None).await.unwrap();
    // The contract the platform publishes …
    let (published, _) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &key(0), None, Duration::from_secs(30))
            .await
            .unwrap();
    // … and one the operator deployed on the side, where it anchors a
    // history that never happened.
    let mut own = Forger::deploy(&anvil.url(), key(0)).await;
    let mut t = own.ticket();
    complaint(&mut own, &mut t, "upheld", ago(5));
    let records: Vec<_> = t.records.iter().collect();
    own.anchor(&records).await;
    let bundle = own.bundle(&t.handle, &t.records);

    // No contract given and the bundle's is on no deployment list: there
    // is nothing to check against, an error rather than a verdict.
    let mut no_trust = VerifyOptions::new(anvil.url(), published);
    no_trust.expected_contract = None;
    let err = verify_bundle(&bundle, &no_trust).await.unwrap_err();
    assert!(
        err.to_string().contains("no contract to check against"),
        "{err}"
    );

    // Accepted knowingly: at best consistent, never valid.
    let mut knowingly = no_trust.clone();
    knowingly.trust_bundle_contract = true;
    let r = verify(&bundle, &knowingly).await;
    assert!(!r.valid, "{}", r.render());
    assert_eq!(r.verdict, Verdict::Consistent, "{}", r.render());
    assert_eq!(r.contract_source, ContractSource::Bundle);
    assert!(r.render().contains("UNTRUSTED CONTRACT"));
    assert!(r.render().contains("CONSISTENT, NOT INDEPENDENTLY CHECKED"));

    let r = verify(&bundle, &VerifyOptions::new(anvil.url(), published)).await;
    assert!(!r.valid);
    assert!(problems(&r).contains("not the contract you typed"));

    // The bundle's claimed anchorer is checked against anchorer().
    let mut wrong_anchorer = bundle.clone();
    wrong_anchorer.chain.anchorer = format!("{:#x}", key(1).address());
    let r = verify(
        &wrong_anchorer,
        &VerifyOptions::new(anvil.url(), own.contract),
    )
    .await;
    assert!(!r.valid);
    assert!(problems(&r).contains("the contract's anchorer() is"));

    // The CLI: no --contract is an error that says why (exit 2), the
    // bundle's contract accepted knowingly is consistent (exit 3).
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(&dir, "bundle.json", &bundle);
    let out = cli(&[&file, "--rpc", &anvil.url()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no contract to check against"));
    let out = cli(&[&file, "--rpc", &anvil.url(), "--trust-bundle-contract"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains("UNTRUSTED"));
    let published = format!("{published:#x}");
    let out = cli(&[&file, "--rpc", &anvil.url(), "--contract", &published]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    anvil.stop().await;
}

// ---------------------------------------------------------------- attack 3

/// The chain, as an auditor connects to the app's.
fn audit_chain(app: &TestApp) -> proofdesk::anchor::Chain {
    let mut chain =
        proofdesk::anchor::Chain::connect(&app.anvil.url(), app.contract, Duration::from_secs(5))
            .unwrap();
    chain.from_block = app.from_block;
    chain
}

/// `proofdesk audit` of the app's whole log, with its audit key.
async fn audit_whole_log(app: &TestApp) -> proofdesk::audit::result::AuditResult {
    audit_log_served_at(app, &app.url()).await
}

/// `proofdesk audit` of the app's whole log as `url` serves it.
async fn audit_log_served_at(app: &TestApp, url: &str) -> proofdesk::audit::result::AuditResult {
    use proofdesk::audit::http::LogClient;
    use proofdesk::audit::progress::ProgressStyle;
    use proofdesk::audit::run::{AuditOptions, ExportLimits};
    proofdesk::audit::run::run(AuditOptions {
        log: LogClient::new(url, Some(app.key.clone())).unwrap(),
        log_url: url.to_owned(),
        chain: audit_chain(app),
        from: None,
        to: None,
        resume: None,
        out: None,
        progress: ProgressStyle::Quiet,
        max_merge_delay_ms: None,
        limits: ExportLimits::default(),
        checkpoint_every: proofdesk::audit::run::CHECKPOINT_EVERY,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_3_withheld_events_are_caught_by_receipts_or_stated_as_a_limit() {
    let app = TestApp::spawn().await;
    let handle = app.create_ticket("zd-3").await;
    let mut receipts = Vec::new();
    for e in [
        event(
            "ticket.created",
            json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
            "customer",
        ),
        event("ticket.acknowledged", json!({}), "system"),
        event(
            "ticket.escalated",
            json!({"level": 1, "reason": "regulatory_complaint"}),
            "agent",
        ),
        event(
            "final_response.issued",
            json!({"outcome": "upheld", "referral_rights": true}),
            "agent",
        ),
        event("ticket.resolved", json!({"resolution": "upheld"}), "agent"),
    ] {
        receipts.push(app.append(&handle, e).await);
    }
    let honest = app.complete_bundle(&handle).await;
    let mut truncated = honest.clone();
    truncated.events.truncate(3);

    // Bundle v2: the map proof at the latest anchored batch has seq 4 as the
    // ticket's tip, so the truncated history fails without any receipt.
    let r = app.verify_with(&truncated, &app.options()).await;
    assert!(!r.valid, "{}", r.render());
    assert!(
        problems(&r).contains("does not hold seq 2")
            && problems(&r).contains("as this ticket's latest record"),
        "{}",
        problems(&r)
    );
    assert_eq!(r.complete_as_of, None);
    let r = app.verify_with(&honest, &app.options()).await;
    assert!(r.valid, "{}", r.render());
    assert_eq!(r.complete_as_of.map(|c| c.tip_seq), Some(Some(4)));

    // A log that strips the map proof gets no completeness: the limit is
    // said, with the warning that the batches commit a map.
    let mut truncated = truncated.clone();
    truncated.map = None;
    truncated
        .batches
        .retain(|b| truncated.events.iter().any(|e| e.batch == Some(b.id)));
    let r = app.verify_with(&truncated, &app.options()).await;
    assert!(r.valid, "{}", r.render());
    assert_eq!(r.complete_through_seq, Some(2));
    assert_eq!(r.complete_as_of, None);
    assert!(
        r.render()
            .contains("events seq 0 through 2 are anchored and complete"),
        "{}",
        r.render()
    );
    assert!(r.render().contains("Later events are not ruled out"));
    assert!(
        r.render()
            .contains("though its batches commit a ticket map"),
        "{}",
        r.render()
    );

    // Receipts for seq 0–2 are all found.
    let mut held = app.options();
    held.receipts = receipts[..3].to_vec();
    let r = app.verify_with(&truncated, &held).await;
    assert!(r.valid, "{}", r.render());
    assert_eq!(r.max_merge_delay_source, Some(MmdSource::Receipts));
    assert!(
        r.render()
            .contains("every receipt you hold (3, up to seq 2)")
    );

    // The complainant's receipt for seq 4 is evidence of withholding.
    held.receipts = receipts.clone();
    let r = app.verify_with(&truncated, &held).await;
    assert!(!r.valid);
    assert!(
        problems(&r).contains("the event was withheld or changed after it was recorded"),
        "{}",
        problems(&r)
    );
    assert!(r.receipts.iter().filter(|x| !x.found).count() == 2);
    // The honest bundle satisfies every receipt.
    let r = app.verify_with(&honest, &held).await;
    assert!(r.valid, "{}", r.render());

    // A receipt not signed by the anchorer proves nothing and is refused.
    let fake =
        proofdesk::ingest::signing::sign_group(&key(1), vec![receipts[4].receipt.clone()]).unwrap();
    held.receipts = fake;
    let r = app.verify_with(&honest, &held).await;
    assert!(!r.valid);
    assert!(problems(&r).contains("not by the contract's anchorer"));

    // The CLI takes receipts from files and exits 1 on the withheld event.
    let dir = tempfile::tempdir().unwrap();
    let bundle_file = write_json(&dir, "bundle.json", &truncated);
    let receipt_file = write_json(&dir, "receipt-4.json", &receipts[4]);
    let contract = format!("{:#x}", app.contract);
    let out = cli(&[
        &bundle_file,
        "--rpc",
        &app.anvil.url(),
        "--contract",
        &contract,
        "--receipt",
        &receipt_file,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("receipt for seq 4 (index"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_3_equivocation_is_beyond_one_bundle_and_the_report_says_so() {
    let anvil = Anvil::start(0, None).await.unwrap();
    let mut f = Forger::deploy(&anvil.url(), key(0)).await;
    let mut t = f.ticket();
    let at = ago(5);
    f.record(
        &mut t,
        "ticket.created",
        json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
        at,
    );
    f.record(&mut t, "ticket.acknowledged", json!({}), at);
    let prefix: Vec<_> = t.records.iter().collect();
    f.anchor(&prefix).await;
    // Two different seq-2 records, same prev, both anchored in the trusted
    // contract: one reader is told "upheld", another "rejected".
    let mut other = t.fork_before_last(0);
    let a = f.record(
        &mut t,
        "ticket.resolved",
        json!({"resolution": "upheld"}),
        at,
    );
    f.anchor(&[&a]).await;
    let b = f.record(
        &mut other,
        "ticket.resolved",
        json!({"resolution": "rejected"}),
        at,
    );
    f.anchor(&[&b]).await;
    assert_eq!((a.record.seq, b.record.seq), (2, 2));
    assert_eq!(a.record.prev, b.record.prev);

    let options = VerifyOptions::new(anvil.url(), f.contract);
    let ra = verify(&f.bundle(&t.handle, &t.records), &options).await;
    let rb = verify(&f.bundle(&other.handle, &other.records), &options).await;
    assert!(ra.valid && rb.valid, "{}\n{}", ra.render(), rb.render());
    assert_eq!(ra.resolution.as_deref(), Some("upheld"));
    assert_eq!(rb.resolution.as_deref(), Some("rejected"));
    for r in [&ra, &rb] {
        assert!(
            r.render()
                .contains("a full audit of the log (proofdesk audit) can"),
            "the report states the limit"
        );
    }
    anvil.stop().await;
}

/// A log that anchors two versions of one (ticket, seq): the operator
/// drops the database's UNIQUE (ticket, seq) and writes a second seq 2
/// beside the first, which the node then seals and anchors. The map takes
/// the later one as the ticket's tip, so the complainant's bundle of the
/// first version fails; `proofdesk audit` finds the pair and writes a fraud
/// proof, which `proofdesk verify --fraud-proof` confirms against the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_3_equivocation_yields_a_fraud_proof_that_the_chain_confirms() {
    use proofdesk::protocol::append::{ChainTip, next_record};
    use proofdesk::protocol::fraud::FraudKind;
    use proofdesk::protocol::record::HashedRecord;
    use proofdesk::protocol::state::{Policy, TicketState};

    let app = TestApp::spawn().await;
    let handle = app.create_ticket("zd-equivocation").await;
    for e in [
        event(
            "ticket.created",
            json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
            "customer",
        ),
        event("ticket.acknowledged", json!({}), "system"),
        event("ticket.resolved", json!({"resolution": "upheld"}), "agent"),
    ] {
        app.append(&handle, e).await;
    }
    let first = app.complete_bundle(&handle).await;
    assert!(app.verify_with(&first, &app.options()).await.valid);

    // The operator's second seq 2: "rejected", chained to the same seq 1.
    let records: Vec<HashedRecord> = first
        .events
        .iter()
        .map(|e| HashedRecord::from_value(&e.record).unwrap())
        .collect();
    let state =
        TicketState::replay(records[..2].iter().map(|r| &r.data), &Policy::default()).unwrap();
    let tip = ChainTip {
        next_seq: 2,
        last_leaf: records[1].leaf,
        state: Some(state),
    };
    let index = app.db.store().stats().await.unwrap().size;
    let ticket = records[0].record.ticket.clone();
    let draft = common::req(
        &ticket,
        common::input("ticket.resolved", json!({"resolution": "rejected"})),
    )
    .draft;
    let now = Timestamp::now();
    let (other, _) = next_record(&ticket, &tip, &draft, index, now, &Policy::default()).unwrap();
    // One connection: the pragma and the table's rebuild belong together.
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
    for sql in [
        "PRAGMA foreign_keys = OFF",
        "CREATE TABLE events_forked (idx INTEGER PRIMARY KEY, ticket TEXT NOT NULL, seq INTEGER NOT NULL, \
         record TEXT NOT NULL, leaf BLOB NOT NULL, recorded_at_ms INTEGER NOT NULL)",
        "INSERT INTO events_forked SELECT idx, ticket, seq, record, leaf, recorded_at_ms FROM events",
        "DROP TABLE events",
        "ALTER TABLE events_forked RENAME TO events",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut db)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO events (idx, ticket, seq, record, leaf, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(index as i64)
        .bind(ticket.as_str())
        .bind(2i64)
        .bind(String::from_utf8(other.canonical.clone()).unwrap())
        .bind(other.leaf.0.to_vec())
        .bind(now.millis())
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE log_state SET size = size + 1 WHERE id = 1")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();

    // The node seals and anchors it; its map now has the second seq 2 as
    // the ticket's tip, so the complainant's first version fails.
    let mut refused = None;
    for _ in 0..120 {
        let b = app.bundle(&handle).await;
        if b.map.as_ref().is_some_and(|m| {
            b.batches
                .iter()
                .any(|x| x.id == m.batch && x.first_index + x.count > index)
        }) {
            let mut shown = b.clone();
            shown.events = first.events.clone();
            refused = Some(app.verify_with(&shown, &app.options()).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let r = refused.expect("the forked record anchored within 30 s");
    assert!(!r.valid, "{}", r.render());
    assert!(
        problems(&r).contains("another version of this one was anchored"),
        "{}",
        problems(&r)
    );

    // The audit finds the pair and writes a fraud proof.
    let result = audit_whole_log(&app).await;
    assert!(!result.ok);
    assert!(result.failures.iter().any(|f| f.kind == "duplicate"));
    let proof = result
        .fraud_proofs
        .first()
        .expect("a fraud proof for the equivocation")
        .clone();
    let FraudKind::Equivocation { records } = &proof.claim else {
        panic!("an equivocation proof: {proof:?}");
    };
    assert_ne!(records[0].record, records[1].record);

    // Anyone confirms it against the chain, with their own RPC and the
    // contract they trust; a doctored one is not confirmed.
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(&dir, "fraud-proof.json", &proof);
    let contract = format!("{:#x}", app.contract);
    let out = cli(&[
        "--fraud-proof",
        &file,
        "--rpc",
        &app.anvil.url(),
        "--contract",
        &contract,
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("CONFIRMED"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("two different records as ticket"),
        "{}",
        stdout(&out)
    );
    let mut doctored = serde_json::to_value(&proof).unwrap();
    doctored["claim"]["records"][1]["batch"]["root"] = json!(format!("0x{}", "11".repeat(32)));
    let file = write_json(&dir, "doctored.json", &doctored);
    let out = cli(&[
        "--fraud-proof",
        &file,
        "--rpc",
        &app.anvil.url(),
        "--contract",
        &contract,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("NOT CONFIRMED"), "{}", stdout(&out));
    app.stop().await;
}

/// A log whose ticket map skips a ticket: its second batch is sealed with a
/// map that lacks a ticket anchored in the first, so that ticket's bundles
/// could stop anywhere and still "prove" completeness. Both auditors catch
/// it: the audit replays the map from index 0, and the monitor with an
/// audit key replays it batch by batch. Without a key the monitor checks
/// the leaves only and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_3_a_map_that_skips_a_ticket_is_caught_by_audit_and_monitor() {
    use proofdesk::audit::http::LogClient;
    use proofdesk::audit::monitor::{DEFAULT_MAX_BATCH_LEAVES, MonitorOptions, Stop};
    use proofdesk::protocol::fraud::FraudKind;
    use proofdesk::protocol::map::map_key;
    use proofdesk::protocol::map_tree::MapVersion;
    use proofdesk::seal::{MapState, SealPolicy, Sealer, map_state::updates};

    // The node never seals on its own here: the operator seals by hand.
    let app = TestApp::builder()
        .seal(1 << 20, Duration::from_secs(3600))
        .spawn()
        .await;
    let created = || {
        event(
            "ticket.created",
            json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
            "customer",
        )
    };
    let hidden = app.create_ticket("zd-hidden").await;
    app.append(&hidden, created()).await;
    app.append(&hidden, event("ticket.acknowledged", json!({}), "system"))
        .await;
    let store = app.db.store.clone();
    let policy = SealPolicy {
        max_batch: 1 << 20,
        ..SealPolicy::default()
    };
    Sealer::new(store.clone(), policy, Arc::new(MapState::new()))
        .seal_once(true)
        .await
        .unwrap()
        .expect("batch 0");
    // Batch 1 holds another ticket's record; the map it is sealed on lacks
    // the hidden ticket.
    let other = app.create_ticket("zd-other").await;
    app.append(&other, created()).await;
    let batch0 = store.batch(0).await.unwrap().unwrap();
    let entries = store.entries(0, batch0.count).await.unwrap();
    let key = map_key(&proofdesk::protocol::fields::TicketHandle::parse(&hidden).unwrap());
    let lying = MapVersion::new().apply_batch(updates(&entries, 0).filter(|(k, _)| *k != key));
    Sealer::new(
        store.clone(),
        policy,
        Arc::new(MapState::seeded(0, lying.clone())),
    )
    .seal_once(true)
    .await
    .unwrap()
    .expect("batch 1");
    // The node anchors both.
    let chain = audit_chain(&app);
    for _ in 0..120 {
        if chain.batch_count().await.unwrap() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        chain.batch_count().await.unwrap(),
        2,
        "both batches anchored"
    );

    let result = audit_whole_log(&app).await;
    assert!(!result.ok);
    let f = result
        .failures
        .iter()
        .find(|f| f.kind == "map_root")
        .unwrap_or_else(|| panic!("a map_root failure: {:?}", result.failures));
    assert_eq!(f.batch, Some(1));
    assert!(f.detail.contains("does not follow from the records"), "{f}");

    let monitor = |key: Option<String>| {
        let chain = chain.clone();
        let url = app.url();
        async move {
            proofdesk::audit::monitor::run(MonitorOptions {
                replay_map: key.is_some(),
                log: LogClient::new(&url, key).unwrap(),
                chain,
                state_file: None,
                follow: false,
                interval: Duration::from_secs(1),
                metrics_listen: None,
                verbose: false,
                give_up_after: Duration::from_secs(60),
                max_batch_leaves: DEFAULT_MAX_BATCH_LEAVES,
            })
            .await
            .unwrap()
        }
    };
    match monitor(Some(app.key.clone())).await {
        Stop::Inconsistent { batch, detail } => {
            assert_eq!(batch, 1);
            assert!(
                detail.contains("does not follow from the records"),
                "{detail}"
            );
        }
        other => panic!("the monitor with a key catches the map: {other:?}"),
    }
    assert!(
        matches!(monitor(None).await, Stop::CaughtUp(_)),
        "without a key the leaves are checked, not the map"
    );
    // This node's own code refuses to serve from a map that disagrees with
    // the records, so the audit has no map proof to turn into a fraud
    // proof: the map_root failure stands alone.
    assert!(result.fraud_proofs.is_empty(), "{:?}", result.fraud_proofs);

    // The operator serves bundles from the map it sealed on: the hidden
    // ticket's bundle shows its events, and a map proof at batch 1 that it
    // has none. The audit walks the log's map proofs down to that ticket
    // and writes the record and the proof as a skipped-record fraud proof.
    let lying_api = serve_from_map(&app, MapState::seeded(0, lying)).await;
    let served: Bundle = app
        .http
        .get(format!("{lying_api}/v1/tickets/{hidden}/proof"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        matches!(
            served.map.as_ref().map(|m| (&m.terminal, m.batch)),
            Some((
                proofdesk::protocol::bundle::BundleTerminal::Empty {}
                    | proofdesk::protocol::bundle::BundleTerminal::Other { .. },
                1
            ))
        ),
        "{:?}",
        served.map
    );
    let result = audit_log_served_at(&app, &lying_api).await;
    assert!(result.failures.iter().any(|f| f.kind == "map_root"));
    let proof = result
        .fraud_proofs
        .iter()
        .find(|p| matches!(p.claim, FraudKind::SkippedRecord { .. }))
        .unwrap_or_else(|| panic!("a skipped-record proof: {:?}", result.fraud_proofs))
        .clone();
    let FraudKind::SkippedRecord {
        record, map_batch, ..
    } = &proof.claim
    else {
        unreachable!()
    };
    assert_eq!(record.record["ticket"], json!(hidden));
    assert_eq!((record.batch.id, map_batch.id), (0, 1));
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(&dir, "skipped.json", &proof);
    let contract = format!("{:#x}", app.contract);
    let confirm = |file: String| {
        let (rpc, contract) = (app.anvil.url(), contract.clone());
        async move {
            cli(&[
                "--fraud-proof",
                &file,
                "--rpc",
                &rpc,
                "--contract",
                &contract,
            ])
            .await
        }
    };
    let out = confirm(file).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("but the ticket map of batch 1 holds no record of the ticket"),
        "{}",
        stdout(&out)
    );
    // The map root it names must be the one the chain holds.
    let mut doctored = serde_json::to_value(&proof).unwrap();
    doctored["claim"]["map_batch"]["map_root"] = json!(format!("0x{}", "22".repeat(32)));
    let out = confirm(write_json(&dir, "doctored.json", &doctored)).await;
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    app.stop().await;
}

/// The node's public API over the same store, serving bundles from `map`:
/// what an operator who lies about the map runs.
async fn serve_from_map(app: &TestApp, map: proofdesk::seal::MapState) -> String {
    use proofdesk::api::{AppParts, AppState, router};
    use proofdesk::prove::LogIdentity;
    let chain = audit_chain(app);
    let identity = LogIdentity {
        chain: proofdesk::protocol::bundle::ChainRef {
            chain_id: chain.chain_id().await.unwrap(),
            contract: format!("{:#x}", app.contract),
            anchorer: format!("{:#x}", chain.anchorer().await.unwrap()),
        },
        max_merge_delay_ms: 60_000,
        policy: Default::default(),
    };
    let state = AppState::new(AppParts {
        store: app.db.store.clone(),
        key: None,
        receipts: None,
        identity,
        policy: Default::default(),
        chain: Some(chain),
        metrics: Default::default(),
        public_rpc: None,
        limits: Arc::new(proofdesk::api::limits::RateLimits::new(Default::default())),
        bundle_tags: Default::default(),
        ticket_counts: Default::default(),
        map: Arc::new(map),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    url
}

// ---------------------------------------------------------------- attack 4

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_4_a_bundle_is_bound_to_the_handle_asked_for() {
    let app = TestApp::spawn().await;
    let mine = app.create_ticket("zd-mine").await;
    let theirs = app.create_ticket("zd-theirs").await;
    for h in [&mine, &theirs] {
        app.append(
            h,
            event(
                "ticket.created",
                json!({"category": "kyc", "priority": "low", "complaint": false, "labels": {}}),
                "customer",
            ),
        )
        .await;
    }
    let other = app.anchored_bundle(&theirs).await;
    app.anchored_bundle(&mine).await;

    // A log that serves another ticket's (valid) bundle under my handle.
    let body = serde_json::to_string(&other).unwrap();
    let router = axum::Router::new().route(
        "/v1/tickets/{handle}/proof",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://{addr}/v1/tickets/{mine}/proof");
    let contract = format!("{:#x}", app.contract);
    let out = cli(&[&url, "--rpc", &app.anvil.url(), "--contract", &contract]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("not of the ticket you asked for"),
        "{}",
        stdout(&out)
    );
    // The honest log's URL verifies.
    let honest = format!("{}/v1/tickets/{mine}/proof", app.node.url());
    let out = cli(&[&honest, "--rpc", &app.anvil.url(), "--contract", &contract]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // In file mode, --ticket binds it.
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(&dir, "b.json", &other);
    let out = cli(&[
        &file,
        "--rpc",
        &app.anvil.url(),
        "--contract",
        &contract,
        "--ticket",
        &mine,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    server.abort();
    app.stop().await;
}

// ---------------------------------------------------------------- attack 5

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_5_an_inflated_merge_delay_does_not_hide_a_broken_promise() {
    let anvil = Anvil::start(0, None).await.unwrap();
    let mut f = Forger::deploy(&anvil.url(), key(0)).await;
    let mut t = f.ticket();
    // Recorded an hour ago, anchored only now: a promise of 60 s broken.
    complaint(&mut f, &mut t, "upheld", ago(3600));
    let records: Vec<_> = t.records.iter().collect();
    f.anchor(&records).await;
    f.max_merge_delay_ms = 1_000_000_000_000; // the operator's "promise"
    let bundle = f.bundle(&t.handle, &t.records);
    let options = VerifyOptions::new(anvil.url(), f.contract);

    // Only the bundle's word: nothing bounds the delay, no event is called
    // timely, and the lag is shown.
    let r = verify(&bundle, &options).await;
    assert!(r.valid);
    assert_eq!((r.broken_promises, r.max_merge_delay_source), (0, None));
    assert!(r.events.iter().all(|e| e.timely.is_none()));
    assert!(r.events.iter().all(|e| e.anchoring_lag_s.unwrap() >= 3600));
    assert!(r.render().contains("not bounded by anything you hold"));

    // The user's own bound exposes it …
    let mut user = options.clone();
    user.max_merge_delay_ms = Some(60_000);
    let r = verify(&bundle, &user).await;
    assert_eq!(
        (r.broken_promises, r.max_merge_delay_source),
        (4, Some(MmdSource::User))
    );

    // … and so does a receipt, whose deadline is signed.
    let first = &t.records[0].record;
    let receipt = Receipt {
        v: 1,
        ticket: t.handle.clone(),
        index: first.index,
        seq: 0,
        leaf: t.records[0].leaf,
        recorded_at: first.recorded_at,
        anchor_deadline: Timestamp::from_millis(first.recorded_at.millis() + 60_000).unwrap(),
        chain_id: f.chain_id,
        contract: format!("{:#x}", f.contract),
    };
    let signed: SignedReceipt = proofdesk::ingest::signing::sign(&f.key, receipt).unwrap();
    let mut with_receipt = options.clone();
    with_receipt.receipts = vec![signed];
    let r = verify(&bundle, &with_receipt).await;
    assert!(r.valid, "{}", r.render());
    assert_eq!(
        (r.broken_promises, r.max_merge_delay_source),
        (4, Some(MmdSource::Receipts))
    );

    // Absurd delays in the bundle are only displayed: never a panic, a
    // wrap, or a reason to call anything timely.
    for mmd in [(1 << 53) - 1, i64::MAX as u64, u64::MAX] {
        let mut huge = bundle.clone();
        huge.max_merge_delay_ms = mmd;
        let r = verify(&huge, &options).await;
        assert!(r.valid, "mmd {mmd}: {}", r.render());
        assert_eq!(r.claimed_max_merge_delay_ms, mmd);
        assert!(r.events.iter().all(|e| e.timely.is_none()));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(&dir, "b.json", &bundle);
    let contract = format!("{:#x}", f.contract);
    let out = cli(&[
        &file,
        "--rpc",
        &anvil.url(),
        "--contract",
        &contract,
        "--max-merge-delay",
        "18446744073709551615",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "a clear error, not a panic");
    assert!(String::from_utf8_lossy(&out.stderr).contains("too large"));
    anvil.stop().await;
}

// ------------------------------------------------------------ and the rest

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchoring_blocks_are_searched_near_the_claimed_block_only() {
    let anvil = Anvil::start(0, None).await.unwrap();
    let mut f = Forger::deploy(&anvil.url(), key(0)).await;
    let mut t = f.ticket();
    complaint(&mut f, &mut t, "upheld", ago(5));
    let records: Vec<_> = t.records.iter().collect();
    let batch = f.anchor(&records).await;
    // Thousands of blocks later, as on a real chain.
    let control =
        proofdesk::anchor::Chain::connect(&anvil.url(), Address::ZERO, Duration::from_secs(5))
            .unwrap();
    let _: Value = alloy::providers::Provider::raw_request(
        control.provider(),
        "anvil_mine".into(),
        (alloy::primitives::U256::from(3000),),
    )
    .await
    .unwrap();
    let bundle = f.bundle(&t.handle, &t.records);
    let options = VerifyOptions::new(anvil.url(), f.contract);
    let claimed = batch.block.unwrap();
    for (claim, ok) in [
        (Some(claimed), true),
        (Some(claimed + 3), true),      // within the window
        (Some(claimed + 2_000), false), // beyond it: not searched
        (None, false),                  // no claim: nothing to search near
    ] {
        let mut b = bundle.clone();
        b.batches[0].block = claim;
        let r = verify(&b, &options).await;
        assert_eq!(r.valid, ok, "claim {claim:?}: {}", r.render());
        if ok {
            assert_eq!(
                r.events[0].block,
                Some(claimed),
                "the chain's block, not the claim"
            );
            // A wrong claim is a note, not a failure.
            let noted = r.notes.iter().any(|n| {
                n.contains(&format!(
                    "the log claimed block {}; anchored in block {claimed}",
                    claimed + 3
                ))
            });
            assert_eq!(noted, claim != Some(claimed), "{}", r.render());
        }
    }
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disclosed_content_is_checked_against_its_commitment() {
    let anvil = Anvil::start(0, None).await.unwrap();
    let mut f = Forger::deploy(&anvil.url(), key(0)).await;
    let mut t = f.ticket();
    let at = ago(5);
    f.record(
        &mut t,
        "ticket.created",
        json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
        at,
    );
    let text = "My withdrawal of 2 BTC has been pending for 9 days.";
    let (message, salt) = f.record_with_text(
        &mut t,
        "message.added",
        json!({"direction": "inbound", "visibility": "public"}),
        at,
        Some(text),
    );
    let records: Vec<_> = t.records.iter().collect();
    f.anchor(&records).await;
    let bundle = f.bundle(&t.handle, &t.records);
    let disclosure = Disclosure {
        ticket: t.handle.clone(),
        index: message.record.index,
        seq: 1,
        salt: salt.unwrap(),
        content: text.into(),
    };
    let mut options = VerifyOptions::new(anvil.url(), f.contract);
    options.disclosures = vec![disclosure.clone()];
    let r = verify(&bundle, &options).await;
    assert!(r.valid, "{}", r.render());
    assert!(r.render().contains("is exactly this text"));

    let mut altered = disclosure;
    altered.content = text.replace('2', "20");
    options.disclosures = vec![altered.clone()];
    let r = verify(&bundle, &options).await;
    assert!(!r.valid);
    assert!(problems(&r).contains("not what was recorded"));

    let dir = tempfile::tempdir().unwrap();
    let b = write_json(&dir, "b.json", &bundle);
    let d = write_json(&dir, "d.json", &altered);
    let contract = format!("{:#x}", f.contract);
    let out = cli(&[
        &b,
        "--rpc",
        &anvil.url(),
        "--contract",
        &contract,
        "--disclose",
        &d,
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    anvil.stop().await;
}

// ------------------------------------------------- the table (issue 25)

/// Every case of tests/common/attacks.rs through the real `proofdesk
/// verify` binary: its verdict class (`--json`), its exit status, and what
/// its report says and never says. `PROOFDESK_VERIFY_BIN` runs the table
/// against another build (an older one, to see each case fail there);
/// `PROOFDESK_ATTACKS_SHOW=1` prints every report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_case_gets_its_verdict_class_from_the_cli() {
    let world = World::build().await;
    let cases = world.cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    for class in [
        Class::Valid,
        Class::Consistent,
        Class::Invalid,
        Class::Pending,
        Class::Absent,
        Class::Error,
    ] {
        assert!(
            cases.iter().any(|c| c.expect == class),
            "no case expects {}",
            class.as_str()
        );
    }
    let log = FakeLog::serve(&cases).await;
    let dir = tempfile::tempdir().unwrap();
    let bin = std::env::var("PROOFDESK_VERIFY_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_proofdesk").to_owned());
    let mut failures = Vec::new();
    for case in &cases {
        let got = run_cli(&bin, case, &log.url, dir.path()).await;
        let wrong = judge(case, &got);
        eprintln!(
            "{:<36} expected {:<10} got {:<10} {}",
            case.name,
            case.expect.as_str(),
            got.class.map(Class::as_str).unwrap_or("?"),
            if wrong.is_empty() { "ok" } else { "WRONG" }
        );
        if std::env::var_os("PROOFDESK_ATTACKS_SHOW").is_some() {
            eprintln!("{}\n", got.text);
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} ({}; before issue 25: {}): {}\n{}\n--- output:\n{}",
                case.name,
                case.finding,
                case.before,
                wrong.join("; "),
                serde_json::to_string(&case.describe(&log.url)).unwrap(),
                got.text
            ));
        }
    }
    log.stop();
    world.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// SPEC of issue 25 §7: one table drives both verifiers. Every case a
/// browser can meet runs through the verifier page (opened from disk, as a
/// complainant saves it) and through the CLI; both must give the case's
/// class. The cases only the CLI has (a deployment list of the user's own,
/// a download cap, a body too large for a browser test) are listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_the_cli_give_every_attack_case_the_same_class() {
    let world = World::build().await;
    let cases = world.cases();
    let log = FakeLog::serve(&cases).await;
    let dir = tempfile::tempdir().unwrap();
    let mut page_cases = Vec::new();
    let mut cli_only = Vec::new();
    for c in &cases {
        match c.page_case(&log.url, dir.path()) {
            Some(p) => page_cases.push(p),
            None => cli_only.push(c.name),
        }
    }
    eprintln!("CLI only: {cli_only:?}");
    assert!(
        page_cases.len() >= cases.len() - 3,
        "most cases run through the page: {cli_only:?}"
    );
    let seen = common::browser::run_browser(&json!(page_cases), dir.path());
    let bin = env!("CARGO_BIN_EXE_proofdesk");
    let mut disagree = Vec::new();
    for c in cases.iter().filter(|c| !cli_only.contains(&c.name)) {
        let page = seen
            .iter()
            .find(|r| r["name"] == c.name)
            .unwrap_or_else(|| panic!("no page result for {}", c.name));
        let page_class = page["verdict"].as_str().unwrap_or("?").to_owned();
        let cli = run_cli(bin, c, &log.url, dir.path()).await;
        let cli_class = cli.class.map(Class::as_str).unwrap_or("?").to_owned();
        eprintln!(
            "{:<36} expected {:<10} page {:<10} cli {:<10}",
            c.name,
            c.expect.as_str(),
            page_class,
            cli_class
        );
        if page_class != c.expect.as_str() || cli_class != c.expect.as_str() {
            disagree.push(format!(
                "{}: expected {}, the page says {page_class}, the CLI {cli_class}\npage: {}\nCLI: {}",
                c.name,
                c.expect.as_str(),
                serde_json::to_string(&page).unwrap(),
                cli.text
            ));
        }
    }
    log.stop();
    world.stop().await;
    assert!(disagree.is_empty(), "{}", disagree.join("\n\n"));
}

// --------------------------------------------------- batched chain reads

/// Counts the HTTP requests and JSON-RPC calls an RPC endpoint receives,
/// forwarding each to anvil. With `refuse_batches`, a batch request gets
/// the error object some public endpoints answer instead.
struct CountingRpc {
    url: String,
    requests: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingRpc {
    async fn start(target: String) -> CountingRpc {
        CountingRpc::start_with(target, false).await
    }

    async fn start_with(target: String, refuse_batches: bool) -> CountingRpc {
        let requests = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let (r, c) = (requests.clone(), calls.clone());
        let client = reqwest::Client::new();
        let router = axum::Router::new().route(
            "/",
            axum::routing::post(move |body: axum::body::Bytes| {
                let (r, c, client, target) = (r.clone(), c.clone(), client.clone(), target.clone());
                async move {
                    r.fetch_add(1, Ordering::Relaxed);
                    let n = match serde_json::from_slice::<Value>(&body) {
                        Ok(Value::Array(a)) => a.len(),
                        _ => 1,
                    };
                    c.fetch_add(n, Ordering::Relaxed);
                    if refuse_batches && body.first() == Some(&b'[') {
                        let refusal = json!({"jsonrpc": "2.0", "id": null,
                            "error": {"code": -32600, "message": "batch requests are not supported"}});
                        return (
                            [("content-type", "application/json")],
                            axum::body::Bytes::from(refusal.to_string()),
                        );
                    }
                    let answer = client
                        .post(&target)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    ([("content-type", "application/json")], answer)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        CountingRpc {
            url,
            requests,
            calls,
            task,
        }
    }
}

/// A ticket whose every event is its own one-leaf batch (issue 25 §3:
/// 20,000 of them made 20,000 sequential eth_calls). The reads are
/// batched: the HTTP requests grow by one per 100 batches, not by several
/// per batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leaf_batches_are_read_in_batched_requests() {
    const N: usize = 120;
    let anvil = Anvil::start(0, None).await.unwrap();
    let mut f = Forger::deploy(&anvil.url(), key(0)).await;
    let mut t = f.ticket();
    let at = ago(5);
    f.record(
        &mut t,
        "ticket.created",
        json!({"category": "withdrawal", "priority": "high", "complaint": true, "labels": {}}),
        at,
    );
    for _ in 1..N {
        f.record(
            &mut t,
            "message.added",
            json!({"direction": "inbound", "visibility": "public"}),
            at,
        );
    }
    for r in t.records.clone() {
        f.anchor(&[&r]).await;
    }
    let bundle = f.bundle(&t.handle, &t.records);
    assert_eq!(bundle.batches.len(), N);
    let rpc = CountingRpc::start(anvil.url()).await;
    let r = verify(&bundle, &VerifyOptions::new(rpc.url.clone(), f.contract)).await;
    assert!(r.valid, "{}", r.render());
    let (requests, calls) = (
        rpc.requests.load(Ordering::Relaxed),
        rpc.calls.load(Ordering::Relaxed),
    );
    // 1 (chain id, head) + 2 (state and 120 heads) + 1 (logs) + 2 (120
    // block times): 6 requests; before, about 5 per batch (600).
    eprintln!("{N} one-leaf batches: {requests} HTTP requests, {calls} JSON-RPC calls");
    assert!(requests <= 8, "{requests} HTTP requests for {N} batches");
    assert!(calls <= 2 + 4 + N + 2 * N, "{calls} calls");

    // PROOFDESK_VERIFY_RPC may hold several RPCs, comma-separated: both are
    // read and named (here the same chain, directly and through the proxy).
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(&dir, "bundle.json", &bundle);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args([
            "verify",
            &file,
            "--json",
            "--contract",
            &format!("{:#x}", f.contract),
        ])
        .env(
            "PROOFDESK_VERIFY_RPC",
            format!("{},{}", anvil.url(), rpc.url),
        )
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "valid");
    let urls: Vec<&str> = report["rpcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, [anvil.url().as_str(), rpc.url.as_str()]);

    // An endpoint that refuses batch requests gets the calls one by one.
    let single = CountingRpc::start_with(anvil.url(), true).await;
    let r = verify(&bundle, &VerifyOptions::new(single.url.clone(), f.contract)).await;
    assert!(r.valid, "{}", r.render());
    let (requests, calls) = (
        single.requests.load(Ordering::Relaxed),
        single.calls.load(Ordering::Relaxed),
    );
    assert!(
        requests > N,
        "{requests} requests: the calls went one by one"
    );
    assert!(calls > N, "{calls}");
    single.task.abort();
    rpc.task.abort();
    anvil.stop().await;
}

/// `verify --help` lists every exit status and its class.
#[tokio::test]
async fn verify_help_lists_every_exit_code() {
    let out = cli(&["--help"]).await;
    let help = stdout(&out);
    for line in [
        "0  valid",
        "1  invalid",
        "pending",
        "2  error",
        "3  consistent",
        "--max-bundle-bytes",
        "--deployments",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}:\n{help}");
    }
}
