//! Database faults, against the real `proofdesk serve` binary.
//!
//! PostgreSQL: the server's database URL points at a TCP proxy of the
//! test's own, which is cut under load and restored. While it is cut,
//! /readyz answers 503 and writes get 503 problem+json (never 500, never a
//! 2xx); afterwards the same process serves again, without a restart, and
//! every 2xx receipt any client got is durable in the log.
//!
//! SQLite: the database lives on a small tmpfs that is filled up. Writes get
//! 503 problem+json saying the disk is full, and so does /readyz; when space
//! returns the service
//! resumes by itself; PRAGMA integrity_check is "ok" and the log
//! invariants hold.

mod common;
mod faults_support;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::anvil::Proxy;
use faults_support::*;
use proofdesk::anchor::{Chain, OperatorKey};
use proofdesk::devnet::{Anvil, DEV_KEYS};
use serde_json::json;

struct Load {
    problems: Arc<std::sync::Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Tries>>,
    done: Arc<AtomicU64>,
}

/// `writers` clients, each on its own ticket, appending until stopped and
/// retrying each event with the same Idempotency-Key until a 2xx.
fn start_load(
    base: &str,
    api_key: &str,
    tickets: &[String],
    ledger: &Ledger,
    text_bytes: usize,
) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let problems = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (w, handle) in tickets.iter().enumerate() {
        let problems = problems.clone();
        let (base, key, handle, ledger, stop, done) = (
            base.to_owned(),
            api_key.to_owned(),
            handle.clone(),
            ledger.clone(),
            stop.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = http_client();
            let mut tries = Tries {
                problems,
                ..Tries::default()
            };
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let idem = format!("load-{w}-{n}");
                let mut body = message_event(n);
                if text_bytes > 0 {
                    body["content"] = json!({"text": "x".repeat(text_bytes)});
                }
                let v = post_until_ok(
                    &http,
                    &base,
                    &key,
                    &format!("/v1/tickets/{handle}/events"),
                    &idem,
                    &body,
                    &mut tries,
                )
                .await;
                ledger.record(&idem, &v);
                done.fetch_add(1, Ordering::SeqCst);
                n += 1;
            }
            tries
        }));
    }
    Load {
        problems,
        stop,
        tasks,
        done,
    }
}

impl Load {
    async fn finish(self) -> Tries {
        self.stop.store(true, Ordering::SeqCst);
        let mut sum = Tries::default();
        for t in self.tasks {
            let t = t.await.expect("client");
            sum.attempts += t.attempts;
            sum.failures += t.failures;
            sum.unavailable += t.unavailable;
            sum.internal += t.internal;
        }
        sum
    }

    async fn wait_more(&self, n: u64) {
        let target = self.done.load(Ordering::SeqCst) + n;
        let deadline = Instant::now() + SETTLE;
        while self.done.load(Ordering::SeqCst) < target {
            assert!(Instant::now() < deadline, "writes did not progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn readyz(http: &reqwest::Client, base: &str) -> Option<(u16, String)> {
    let r = http.get(format!("{base}/readyz")).send().await.ok()?;
    Some((r.status().as_u16(), r.text().await.unwrap_or_default()))
}

async fn wait_ready(http: &reqwest::Client, base: &str, want: u16) -> String {
    let deadline = Instant::now() + SETTLE;
    loop {
        if let Some((s, body)) = readyz(http, base).await
            && s == want
        {
            return body;
        }
        assert!(Instant::now() < deadline, "/readyz never answered {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn chain_with_contract() -> (Anvil, alloy::primitives::Address, u64) {
    let anvil = Anvil::start(0, None).await.expect("anvil");
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    (anvil, contract, block)
}

/// After the fault: everything settles, every 2xx receipt is in the log,
/// no duplicate, no gap, every batch once on chain, every bundle verifies.
#[allow(clippy::too_many_arguments)]
async fn check_everything(
    store: &dyn proofdesk::log::Store,
    http: &reqwest::Client,
    base: &str,
    ledger: &Ledger,
    tickets: &[String],
    anvil: &Anvil,
    contract: alloy::primitives::Address,
    from_block: u64,
) {
    let accepted = ledger.all();
    wait_log(http, base, settled(accepted.len() as u64)).await;
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    check_receipts_in_log(store, &accepted, operator.address()).await;
    common::assert_log_invariants(store).await;
    let mut chain = Chain::connect(&anvil.url(), contract, Duration::from_secs(5)).unwrap();
    chain.from_block = from_block;
    check_chain_exactly_once(store, &chain).await;
    for handle in tickets {
        let report = verify_ticket(http, base, handle, &anvil.url(), contract).await;
        assert!(report.valid && report.pending == 0, "{}", report.render());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_under_load_never_acknowledges_a_lost_write_and_recovers_in_place() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    let outage = env_u64("PROOFDESK_DB_OUTAGE_SECS", 10);
    let api_key = proofdesk::api::auth::create_key(db.store(), &["ingest".into()], "dbfault")
        .await
        .unwrap();
    // The server reaches PostgreSQL only through the proxy.
    let pg = url_host_port(&db.url);
    let proxy = Proxy::start(pg.1).await;
    let proxied = db.url.replacen(
        &format!("{}:{}", pg.0, pg.1),
        &proxy.url()["http://".len()..],
        1,
    );
    let (anvil, contract, block) = chain_with_contract().await;
    let server = ServerProc::start(
        &proxied,
        &anvil.url(),
        contract,
        block,
        &ServeOpts::default(),
    )
    .await;
    let pid = server.pid();
    let base = server.url();
    let http = http_client();
    let ledger = Ledger::default();
    let mut tickets = Vec::new();
    for i in 0..4 {
        tickets.push(open_ticket(&http, &base, &api_key, &format!("pgcut-{i}"), &ledger).await);
    }
    let load = start_load(&base, &api_key, &tickets, &ledger, 0);
    load.wait_more(100).await;

    proxy.down();
    let cut_at = now_ms();
    let reason = wait_ready(&http, &base, 503).await;
    assert!(
        reason.contains("database"),
        "/readyz names the database: {reason}"
    );
    eprintln!("db_faults[postgres]: cut for {outage} s; /readyz: {reason}");
    // Clients keep retrying during the cut.
    while now_ms() < cut_at + outage as i64 * 1000 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let during = ledger.all().len();
    proxy.up();
    wait_ready(&http, &base, 200).await;
    load.wait_more(100).await;
    let tries = load.finish().await;
    assert_eq!(server.pid(), pid, "the same process recovered, no restart");
    eprintln!(
        "db_faults[postgres]: survived a {outage} s database cut; {} receipts ({} by the end of the cut), {} attempts, {} answered 503, {} answered 500",
        ledger.all().len(),
        during,
        tries.attempts,
        tries.unavailable,
        tries.internal
    );
    assert!(tries.failures > 0, "the cut was felt by the clients");
    assert_eq!(tries.internal, 0, "a database outage is a 503, not a 500");
    check_everything(
        db.store(),
        &http,
        &base,
        &ledger,
        &tickets,
        &anvil,
        contract,
        block,
    )
    .await;
    drop(server);
    anvil.stop().await;
    db.cleanup().await;
}

fn url_host_port(url: &str) -> (String, u16) {
    let rest = url.split("://").nth(1).unwrap();
    let hostport = rest.split('/').next().unwrap();
    let hostport = hostport.rsplit('@').next().unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
    (host.to_owned(), port.parse().unwrap())
}

/// A small tmpfs, or None (with a message) where mounting is not allowed.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the filesystem with a ballast file until ENOSPC.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.path().join("ballast");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_full_disk_answers_503_corrupts_nothing_and_resumes() {
    let Some(fs) = Tmpfs::mount("16m") else {
        return;
    };
    let url = format!("sqlite://{}", fs.path().join("log.db").display());
    let store = proofdesk::log::connect(&url).await.unwrap();
    let api_key = proofdesk::api::auth::create_key(store.as_ref(), &["ingest".into()], "disk")
        .await
        .unwrap();
    let (anvil, contract, block) = chain_with_contract().await;
    let server =
        ServerProc::start(&url, &anvil.url(), contract, block, &ServeOpts::default()).await;
    let pid = server.pid();
    let base = server.url();
    let http = http_client();
    let ledger = Ledger::default();
    let mut tickets = Vec::new();
    for i in 0..2 {
        tickets.push(open_ticket(&http, &base, &api_key, &format!("disk-{i}"), &ledger).await);
    }
    let load = start_load(&base, &api_key, &tickets, &ledger, 8 * 1024);
    load.wait_more(20).await;

    // The disk fills up; writes must be refused with a clear 503.
    let before = load.problems.lock().unwrap().len();
    let ballast = fs.fill();
    let deadline = Instant::now() + SETTLE;
    while load.problems.lock().unwrap().len() < before + 5 {
        assert!(
            Instant::now() < deadline,
            "a full disk never produced a 503"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let details: Vec<String> = load.problems.lock().unwrap()[before..].to_vec();
    eprintln!("db_faults[sqlite]: disk full; first 503: {}", details[0]);
    assert!(
        details
            .iter()
            .all(|d| d.contains("disk is full") || d.contains("could not write to disk")),
        "503s name the disk: {details:?}"
    );
    // Readiness says so while it lasts: the load balancer stops sending.
    let not_ready = wait_ready(&http, &base, 503).await;
    assert!(not_ready.contains("disk is full"), "{not_ready}");
    // Stay full a while longer: sealing and anchoring fail too meanwhile.
    let full_until = now_ms() + env_u64("PROOFDESK_DISK_FULL_SECS", 3) as i64 * 1000;
    while now_ms() < full_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Space returns: the same process resumes.
    std::fs::remove_file(&ballast).unwrap();
    wait_ready(&http, &base, 200).await;
    load.wait_more(20).await;
    let tries = load.finish().await;
    assert_eq!(server.pid(), pid, "the same process resumed, no restart");
    eprintln!(
        "db_faults[sqlite]: survived a full disk; {} receipts, {} attempts, {} answered 503, {} answered 500",
        ledger.all().len(),
        tries.attempts,
        tries.unavailable,
        tries.internal
    );
    if tries.internal > 0 {
        let log = server.last_log();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        eprintln!(
            "server log (last lines, newest first):\n{}",
            tail.join("\n")
        );
    }
    assert_eq!(tries.internal, 0, "a full disk is a 503, not a 500");
    check_everything(
        store.as_ref(),
        &http,
        &base,
        &ledger,
        &tickets,
        &anvil,
        contract,
        block,
    )
    .await;
    let integrity: String = {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(integrity, "ok");
    drop(server);
    drop(store);
    anvil.stop().await;
}
