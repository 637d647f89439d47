//! A graceful stop (issue 31): the real `proofdesk serve` binary gets
//! SIGTERM, as systemd, Kubernetes and `docker stop` send it, while clients
//! keep ingesting, each request sent once, never retried. It must stop
//! taking requests, answer those in flight, let the sealer and anchorer
//! reach a persisted step, and exit 0 in bounded time. Afterwards every
//! event in the log is one a client holds a 2xx receipt for (nothing
//! written was left unanswered) and every receipt is in the log; after a
//! restart, everything is anchored exactly once. `proofdesk dev` stops its
//! anvil on SIGTERM too.

mod common;
mod faults_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use faults_support::*;
use proofdesk::anchor::{Chain, OperatorKey};
use proofdesk::devnet::{Anvil, DEV_KEYS};
use tokio::io::{AsyncBufReadExt, BufReader};

const WRITERS: usize = 6;

async fn sigterm_under_load(db: &common::TestDb, label: &str) {
    let api_key = proofdesk::api::auth::create_key(db.store(), &["ingest".into()], "stop")
        .await
        .unwrap();
    let anvil = Anvil::start(0, None).await.expect("anvil");
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    let mut server = ServerProc::start(
        &db.url,
        &anvil.url(),
        contract,
        block,
        &ServeOpts::default(),
    )
    .await;
    let base = server.url();
    let http = http_client();
    let ledger = Ledger::default();
    let mut tickets = Vec::new();
    for i in 0..WRITERS {
        tickets.push(open_ticket(&http, &base, &api_key, &format!("{label}-{i}"), &ledger).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (acked, refused, broken) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut writers = Vec::new();
    for (w, handle) in tickets.iter().cloned().enumerate() {
        let (http, base, key, ledger, stop) = (
            http.clone(),
            base.clone(),
            api_key.clone(),
            ledger.clone(),
            stop.clone(),
        );
        let (acked, refused, broken) = (acked.clone(), refused.clone(), broken.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let idem = format!("w{w}-{n}");
                n += 1;
                // Once, never retried: a lost ack would show as an event in
                // the log that no client holds a receipt for.
                let sent = http
                    .post(format!("{base}/v1/tickets/{handle}/events"))
                    .bearer_auth(&key)
                    .header("Idempotency-Key", &idem)
                    .json(&message_event(n))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        let body: serde_json::Value = r.json().await.expect("a 2xx has its body");
                        ledger.record(&idem, &body);
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => {
                        // Anything but a 2xx writes nothing the client is
                        // not told of: 503 while stopping is fine.
                        assert!(
                            r.status().is_server_error() || r.status().as_u16() == 429,
                            "unexpected {}",
                            r.status()
                        );
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => {
                        broken.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = acked.load(Ordering::SeqCst);
    assert!(before > 20, "the writers were ingesting ({before} acks)");
    let status = server.terminate(Duration::from_secs(30)).await;
    let log = server.last_log();
    assert!(status.success(), "exit status {status:?}; log:\n{log}");
    assert!(
        log.contains("SIGTERM: stopping") && log.contains("stopped"),
        "{log}"
    );
    // The port is closed: new requests get a connection error.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    assert!(
        reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );
    eprintln!(
        "graceful_stop[{label}]: {} acks, {} refused, {} connection errors",
        acked.load(Ordering::SeqCst),
        refused.load(Ordering::SeqCst),
        broken.load(Ordering::SeqCst)
    );

    // Every event written was answered with a 2xx, and every 2xx is in
    // the log: no ack was lost either way.
    let accepted = ledger.all();
    check_receipts_in_log(db.store(), &accepted, operator.address()).await;

    // Restarted, the node carries on from the persisted steps: everything
    // is anchored, exactly once, and every ticket verifies.
    server.start_again().await;
    let size = db.store().stats().await.unwrap().size;
    wait_log(&http, &base, settled(size)).await;
    let mut chain = Chain::connect(&anvil.url(), contract, Duration::from_secs(5)).unwrap();
    chain.from_block = block;
    check_chain_exactly_once(db.store(), &chain).await;
    for t in &tickets {
        let report = verify_ticket(&http, &base, t, &anvil.url(), contract).await;
        assert!(
            report.valid && report.pending == 0,
            "{t}: {}",
            report.render()
        );
    }
    server.terminate(Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_and_exits_cleanly_on_sqlite() {
    let db = common::TestDb::sqlite().await;
    sigterm_under_load(&db, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_and_exits_cleanly_on_postgres() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    sigterm_under_load(&db, "postgres").await;
    db.cleanup().await;
}

/// `proofdesk dev` on SIGTERM stops the node and its anvil: no child left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_stops_its_anvil_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (listen, anvil_port) = (
        proofdesk::devnet::free_port(),
        proofdesk::devnet::free_port(),
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args([
            "dev",
            "--listen",
            &format!("127.0.0.1:{listen}"),
            "--anvil-port",
            &anvil_port.to_string(),
            "--data-dir",
            &dir.path().display().to_string(),
            "--no-demo",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.contains("Proofdesk dev is running") {
                return;
            }
        }
        panic!("proofdesk dev ended before it was running");
    })
    .await
    .expect("proofdesk dev runs within 60 s");
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", anvil_port))
            .await
            .is_ok(),
        "its anvil listens"
    );
    let pid = child.id().unwrap();
    // It runs without transparent huge pages (src/cli/memory.rs), as the
    // kernel reports for the process.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("THP_enabled:\t0"), "{status}");
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("proofdesk dev ends within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    // The anvil it started is gone with it.
    let mut gone = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(("127.0.0.1", anvil_port))
            .await
            .is_err()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "anvil still listens on {anvil_port} after dev stopped"
    );
}
