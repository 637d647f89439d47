//! Three `proofdesk serve` processes on one PostgreSQL database and one
//! anvil. All take writes; one leads (seals and anchors). The leader is
//! killed with SIGKILL mid-load; another takes over, and in the end the log
//! has no gap or duplicate, every batch is on chain exactly once, and every
//! ticket's bundle verifies. Skipped (with a message) without PostgreSQL.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use proofdesk::anchor::{Chain, OperatorKey};
use proofdesk::devnet::{Anvil, DEV_KEYS, free_port};
use proofdesk::protocol::bundle::Bundle;
use proofdesk::verify::{VerifyOptions, verify_bundle};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

struct Server {
    url: String,
    child: Child,
    alive: AtomicBool,
}

async fn spawn_server(db: &str, rpc: &str, contract: &str, from_block: u64) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args([
            "serve",
            "--database",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rpc",
            rpc,
            "--contract",
            contract,
        ])
        .args([
            "--from-block",
            &from_block.to_string(),
            "--batch-size",
            "16",
            "--batch-age-ms",
            "200",
            "--confirmations",
            "1",
            "--rpc-timeout",
            "3",
        ])
        .env("PROOFDESK_OPERATOR_KEY", DEV_KEYS[0])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn proofdesk serve");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Server {
                url,
                child,
                alive: AtomicBool::new(true),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on port {port} did not come up");
}

async fn is_leader(http: &reqwest::Client, s: &Server) -> bool {
    match http.get(format!("{}/metrics", s.url)).send().await {
        Ok(r) => r
            .text()
            .await
            .unwrap_or_default()
            .lines()
            .any(|l| l == "proofdesk_leader 1"),
        Err(_) => false,
    }
}

/// Posts through the live servers, starting at `start`, retrying the same
/// Idempotency-Key on the next server when one fails, as a client would.
async fn post(
    http: &reqwest::Client,
    servers: &[Server],
    start: usize,
    key: &str,
    path: &str,
    idem: &str,
    body: &Value,
) -> Value {
    for attempt in 0..30 {
        let s = &servers[(start + attempt) % servers.len()];
        if !s.alive.load(Ordering::SeqCst) {
            continue;
        }
        let resp = http
            .post(format!("{}{path}", s.url))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .json(body)
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => return r.json().await.unwrap(),
            Ok(r) if r.status().is_client_error() => panic!(
                "{path}: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("{path}: no server accepted the request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_survive_a_killed_leader() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let api_key = proofdesk::api::auth::create_key(db.store(), &["ingest".into()], "failover")
        .await
        .unwrap();
    let anvil = Anvil::start(0, Some(1)).await.expect("anvil");
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    let contract_s = format!("{contract:#x}");
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(spawn_server(&db.url, &anvil.url(), &contract_s, block).await);
    }
    let servers = Arc::new(servers);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // Six tickets, each created through a different server.
    let mut tickets = Vec::new();
    for i in 0..6 {
        let t = post(
            &http,
            &servers,
            i,
            &api_key,
            "/v1/tickets",
            &format!("t{i}"),
            &json!({"external_id": format!("fo-{i}")}),
        )
        .await;
        let handle = t["ticket"].as_str().unwrap().to_owned();
        let created = json!({"type": "ticket.created", "data": {"category": "kyc", "priority": "low", "complaint": false, "labels": {}},
                             "actor": {"role": "customer", "ref": "c"}, "channel": "web", "occurred_at": now_iso()});
        post(
            &http,
            &servers,
            i,
            &api_key,
            &format!("/v1/tickets/{handle}/events"),
            &format!("c{i}"),
            &created,
        )
        .await;
        tickets.push(handle);
    }

    // Concurrent load through all servers; the leader dies a third of the way in.
    let sent = Arc::new(AtomicUsize::new(0));
    let per_writer = 40;
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (http, servers, tickets, key, sent) = (http.clone(), servers.clone(), tickets.clone(), api_key.clone(), sent.clone());
            tokio::spawn(async move {
                for k in 0..per_writer {
                    let handle = &tickets[(w + k) % tickets.len()];
                    let body = json!({"type": "message.added", "data": {"direction": "inbound", "visibility": "public"},
                                      "actor": {"role": "customer", "ref": "c"}, "channel": "web", "occurred_at": now_iso()});
                    post(&http, &servers, w + k, &key, &format!("/v1/tickets/{handle}/events"), &format!("m{w}-{k}"), &body).await;
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    while sent.load(Ordering::SeqCst) < 6 * per_writer / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut leader = None;
    for _ in 0..100 {
        for (i, s) in servers.iter().enumerate() {
            if is_leader(&http, s).await {
                leader = Some(i);
            }
        }
        if leader.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let leader = leader.expect("one server leads");
    servers[leader].alive.store(false, Ordering::SeqCst);
    // SIGKILL: no shutdown hooks, the lock's connection just vanishes.
    let pid = servers[leader].child.id().expect("pid");
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    for w in writers {
        w.await.unwrap();
    }

    // Another server takes over and everything ends anchored and final.
    let live: Vec<&Server> = servers
        .iter()
        .filter(|s| s.alive.load(Ordering::SeqCst))
        .collect();
    let mut settled = false;
    let mut log = Value::Null;
    for _ in 0..240 {
        log = http
            .get(format!("{}/v1/log", live[0].url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if log["log_size"] == json!(6 + 6 * per_writer)
            && log["sealed"] == log["log_size"]
            && log["final_batches"] == log["batches"]
        {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        settled,
        "log did not settle after the leader was killed: {log}"
    );
    let mut new_leaders = 0;
    for s in &live {
        if is_leader(&http, s).await {
            new_leaders += 1;
        }
    }
    assert_eq!(new_leaders, 1, "exactly one survivor leads");

    // No gap, no duplicate, chains intact, paths valid.
    assert_log_invariants(db.store()).await;
    // Every batch is on chain exactly once, with our head.
    let stats = db.store().stats().await.unwrap();
    let chain = Chain::connect(&anvil.url(), contract, Duration::from_secs(5)).unwrap();
    assert_eq!(chain.batch_count().await.unwrap(), stats.batches);
    assert_eq!(chain.next_index().await.unwrap(), stats.size);
    for b in db.store().batches(0, 10_000).await.unwrap() {
        assert_eq!(
            chain.batch_head(b.id).await.unwrap(),
            b.head,
            "batch {}",
            b.id
        );
    }
    // Every ticket's bundle verifies against the chain.
    for handle in &tickets {
        let bundle: Bundle = http
            .get(format!("{}/v1/tickets/{handle}/proof", live[1].url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let report = verify_bundle(&bundle, &VerifyOptions::new(anvil.url(), contract))
            .await
            .unwrap();
        assert!(report.valid && report.pending == 0, "{}", report.render());
    }
    drop(servers);
    anvil.stop().await;
    db.cleanup().await;
}
