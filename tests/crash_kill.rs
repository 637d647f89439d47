//! Crash safety: the real `proofdesk serve` binary is SIGKILLed at random
//! (seeded, printed) moments while clients keep ingesting, single events
//! and bulk requests, and retry every request with the same
//! Idempotency-Key until they get a 2xx; sealing and anchoring run against
//! a real anvil the whole time. The server is restarted after every kill.
//!
//! Afterwards: every receipt a client got is in the log with its index, seq
//! and leaf; the retries duplicated nothing; the index has no gap; every
//! batch is on chain exactly once; every receipt's promise was kept within
//! the maximum merge delay counted from the restart; every ticket's bundle
//! verifies, complete as of the batch its map proof is at. Each batch's
//! ticket map root is written by the transaction that seals the batch, and
//! every restart replays the map and refuses to start on a root that
//! disagrees with the records; so does `assert_log_invariants` at the end
//! (PROTOCOL.md §15): a SIGKILL while sealing never leaves a map root that
//! disagrees with the records.
//!
//! CI: 20 kills per backend. Soak: `PROOFDESK_CRASH_KILLS=200 cargo test
//! --release --test crash_kill -- --nocapture` (PROOFDESK_CRASH_SEED replays
//! a run; PROOFDESK_CRASH_MAX_GAP_MS sets the longest pause between kills).

mod common;
mod faults_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use faults_support::*;
use proofdesk::anchor::{Chain, OperatorKey};
use proofdesk::devnet::{Anvil, DEV_KEYS};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const SINGLE_WRITERS: usize = 3;
const TICKETS_PER_WRITER: usize = 2;
const BULK_SIZE: u64 = 12;

struct Figures {
    kills: u64,
    events: u64,
    receipts: usize,
    batches: u64,
    attempts: u64,
    failed_attempts: u64,
    replayed: u64,
}

async fn crash_run(db: &common::TestDb, label: &str) -> Figures {
    let kills = env_u64("PROOFDESK_CRASH_KILLS", 20);
    let max_gap = env_u64("PROOFDESK_CRASH_MAX_GAP_MS", 1500).max(100);
    let seed = env_u64("PROOFDESK_CRASH_SEED", rand::rng().random());
    eprintln!(
        "crash_kill[{label}]: seed {seed} (replay with PROOFDESK_CRASH_SEED={seed}), {kills} kills"
    );
    let mut rng = StdRng::seed_from_u64(seed);

    let api_key = proofdesk::api::auth::create_key(db.store(), &["ingest".into()], "crash")
        .await
        .unwrap();
    let anvil = Anvil::start(0, None).await.expect("anvil");
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    let opts = ServeOpts::default();
    let mut server = ServerProc::start(&db.url, &anvil.url(), contract, block, &opts).await;
    let base = server.url();
    let http = http_client();
    let ledger = Ledger::default();

    // Each single writer owns its tickets; the bulk writer owns two more.
    let mut tickets = Vec::new();
    for i in 0..(SINGLE_WRITERS + 1) * TICKETS_PER_WRITER {
        tickets.push(open_ticket(&http, &base, &api_key, &format!("{label}-{i}"), &ledger).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let replayed = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for w in 0..SINGLE_WRITERS {
        let mine: Vec<String> =
            tickets[w * TICKETS_PER_WRITER..(w + 1) * TICKETS_PER_WRITER].to_vec();
        let (http, base, key, ledger, stop, attempts, failed, replayed) = (
            http.clone(),
            base.clone(),
            api_key.clone(),
            ledger.clone(),
            stop.clone(),
            attempts.clone(),
            failed.clone(),
            replayed.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let handle = &mine[n as usize % mine.len()];
                let idem = format!("w{w}-{n}");
                let mut tries = Tries::default();
                let v = post_until_ok(
                    &http,
                    &base,
                    &key,
                    &format!("/v1/tickets/{handle}/events"),
                    &idem,
                    &message_event(n),
                    &mut tries,
                )
                .await;
                if v["replayed"] == json!(true) {
                    replayed.fetch_add(1, Ordering::SeqCst);
                }
                ledger.record(&idem, &v);
                attempts.fetch_add(tries.attempts, Ordering::SeqCst);
                failed.fetch_add(tries.failures, Ordering::SeqCst);
                n += 1;
            }
        }));
    }
    {
        let mine: Vec<String> = tickets[SINGLE_WRITERS * TICKETS_PER_WRITER..].to_vec();
        let (http, base, key, ledger, stop, attempts, failed, replayed) = (
            http.clone(),
            base.clone(),
            api_key.clone(),
            ledger.clone(),
            stop.clone(),
            attempts.clone(),
            failed.clone(),
            replayed.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let events: Vec<_> = (0..BULK_SIZE)
                    .map(|k| json!({"ticket": mine[k as usize % mine.len()], "event": message_event(n * BULK_SIZE + k)}))
                    .collect();
                let idem = format!("bulk-{n}");
                let mut tries = Tries::default();
                let v = post_until_ok(
                    &http,
                    &base,
                    &key,
                    "/v1/events/bulk",
                    &idem,
                    &json!({ "events": events }),
                    &mut tries,
                )
                .await;
                assert_eq!(v["receipts"].as_array().map(|a| a.len()), Some(BULK_SIZE as usize));
                if v["replayed"] == json!(true) {
                    replayed.fetch_add(1, Ordering::SeqCst);
                }
                ledger.record(&idem, &v);
                attempts.fetch_add(tries.attempts, Ordering::SeqCst);
                failed.fetch_add(tries.failures, Ordering::SeqCst);
                n += 1;
            }
        }));
    }

    // The kills: a random pause (seeded), SIGKILL, restart.
    for k in 0..kills {
        let pause = rng.random_range(50..=max_gap);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.restart().await;
        if (k + 1) % 10 == 0 {
            eprintln!(
                "crash_kill[{label}]: {} kills, {} receipts so far",
                k + 1,
                ledger.all().len()
            );
        }
    }
    // Let the clients finish the request each has in flight.
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.expect("client task");
    }
    let accepted = ledger.all();
    let expected = accepted.len() as u64;
    wait_log(&http, &base, settled(expected)).await;
    let settled_at = now_ms();

    // Every receipt in the log, nothing duplicated, no gap.
    check_receipts_in_log(db.store(), &accepted, operator.address()).await;
    common::assert_log_invariants(db.store()).await;
    // Every batch on chain exactly once.
    let mut chain = Chain::connect(&anvil.url(), contract, Duration::from_secs(5)).unwrap();
    chain.from_block = block;
    check_chain_exactly_once(db.store(), &chain).await;
    // Every promise kept, counted from the restart before the anchoring.
    let anchored = anchor_times_ms(db.store(), &chain).await;
    let ranges = batch_of(db.store()).await;
    let delay_ms = opts.max_merge_delay_s as i64 * 1000;
    for a in &accepted {
        let r = &a.signed.receipt;
        let at = anchored[find_batch(&ranges, r.index)];
        let start = r.recorded_at.millis().max(server.up_before(at));
        // Block times have a 1 s grain.
        assert!(
            at <= start + delay_ms + 999,
            "receipt {} ({}): recorded {}, anchored at {at} ms, more than {delay_ms} ms after {start}",
            r.index,
            a.idem,
            r.recorded_at
        );
        assert!(at <= settled_at + 1000, "anchored in the future?");
    }
    // Every ticket's bundle verifies.
    for handle in &tickets {
        let report = verify_ticket(&http, &base, handle, &anvil.url(), contract).await;
        assert!(report.valid && report.pending == 0, "{}", report.render());
        let complete = report
            .complete_as_of
            .unwrap_or_else(|| panic!("complete as of a batch: {}", report.render()));
        if complete.later_batch_on_chain.is_none() {
            assert_eq!(
                complete.tip_seq,
                report.complete_through_seq,
                "the map's tip is the last event: {}",
                report.render()
            );
        }
    }
    let stats = db.store().stats().await.unwrap();
    let figures = Figures {
        kills,
        events: stats.size,
        receipts: accepted.len(),
        batches: stats.batches,
        attempts: attempts.load(Ordering::SeqCst),
        failed_attempts: failed.load(Ordering::SeqCst),
        replayed: replayed.load(Ordering::SeqCst),
    };
    server.kill9().await;
    anvil.stop().await;
    figures
}

fn report(label: &str, f: &Figures) {
    eprintln!(
        "crash_kill[{label}]: survived {} SIGKILLs; {} events, {} receipts checked, {} batches on chain exactly once; \
         {} requests sent, {} failed and retried, {} answered as replays; losses 0, duplicates 0",
        f.kills, f.events, f.receipts, f.batches, f.attempts, f.failed_attempts, f.replayed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_repeated_sigkill_during_ingest_and_anchoring() {
    let db = common::TestDb::sqlite().await;
    let f = crash_run(&db, "sqlite").await;
    report("sqlite", &f);
    assert!(
        f.kills == 0 || f.failed_attempts > 0,
        "the kills were felt by the clients"
    );
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_repeated_sigkill_during_ingest_and_anchoring() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    let f = crash_run(&db, "postgres").await;
    report("postgres", &f);
    assert!(
        f.kills == 0 || f.failed_attempts > 0,
        "the kills were felt by the clients"
    );
    db.cleanup().await;
}
