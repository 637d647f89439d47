//! Shared parts of the fault suites (crash_kill, chain_faults, db_faults):
//! a `proofdesk serve` process that can be SIGKILLed and restarted, HTTP
//! clients that retry with the same Idempotency-Key as a real platform
//! would, a ledger of every 2xx receipt a client was given, and the checks
//! run afterwards (every receipt in the log, no duplicate, no gap, every
//! batch on chain exactly once, every bundle verifying).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use proofdesk::anchor::Chain;
use proofdesk::devnet::{DEV_KEYS, free_port};
use proofdesk::log::Store;
use proofdesk::protocol::bundle::Bundle;
use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::receipt::SignedReceipt;
use proofdesk::verify::{VerifyReport, verify_bundle};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// A generous failure timeout for "eventually" conditions. Never a speed
/// assertion: a passing run polls far less than this.
pub const SETTLE: Duration = Duration::from_secs(180);

pub fn now_ms() -> i64 {
    Timestamp::now().millis()
}

/// Reads a number from the environment, or a default.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ------------------------------------------------------------- the server

#[derive(Debug, Clone)]
pub struct ServeOpts {
    pub batch_size: u64,
    pub batch_age_ms: u64,
    pub confirmations: u64,
    pub max_merge_delay_s: u64,
    pub rpc_timeout_s: u64,
}

impl Default for ServeOpts {
    fn default() -> Self {
        ServeOpts {
            batch_size: 256,
            batch_age_ms: 200,
            confirmations: 1,
            max_merge_delay_s: 30,
            rpc_timeout_s: 3,
        }
    }
}

/// The real `proofdesk serve` binary on a fixed port, so clients keep
/// their URL across restarts.
pub struct ServerProc {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
    /// When the process was last seen up (healthz 200), in ms.
    pub up_at_ms: Vec<i64>,
    log_dir: tempfile::TempDir,
    starts: u32,
}

impl ServerProc {
    pub async fn start(
        db: &str,
        rpc: &str,
        contract: Address,
        from_block: u64,
        o: &ServeOpts,
    ) -> ServerProc {
        let port = free_port();
        let args: Vec<String> = [
            "serve",
            "--database",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rpc",
            rpc,
            "--contract",
            &format!("{contract:#x}"),
            "--from-block",
            &from_block.to_string(),
            "--batch-size",
            &o.batch_size.to_string(),
            "--batch-age-ms",
            &o.batch_age_ms.to_string(),
            "--confirmations",
            &o.confirmations.to_string(),
            "--max-merge-delay",
            &o.max_merge_delay_s.to_string(),
            "--rpc-timeout",
            &o.rpc_timeout_s.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut s = ServerProc {
            port,
            args,
            child: None,
            up_at_ms: Vec::new(),
            log_dir: tempfile::tempdir().unwrap(),
            starts: 0,
        };
        s.spawn_and_wait().await;
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    async fn spawn_and_wait(&mut self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.starts += 1;
            let log = std::fs::File::create(
                self.log_dir
                    .path()
                    .join(format!("serve-{}.log", self.starts)),
            )
            .unwrap();
            let mut child = Command::new(env!("CARGO_BIN_EXE_proofdesk"))
                .args(&self.args)
                .env("PROOFDESK_OPERATOR_KEY", DEV_KEYS[0])
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .expect("spawn proofdesk serve");
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    // Most likely the port is still held for a moment:
                    // start again, on the same port, until the deadline.
                    assert!(
                        Instant::now() < deadline,
                        "proofdesk serve keeps exiting ({status}); last log:\n{}",
                        self.last_log()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
                if http
                    .get(format!("{}/healthz", self.url()))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    self.up_at_ms.push(now_ms());
                    self.child = Some(child);
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "proofdesk serve did not come up within 60 s; log:\n{}",
                    self.last_log()
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }

    pub fn last_log(&self) -> String {
        std::fs::read_to_string(
            self.log_dir
                .path()
                .join(format!("serve-{}.log", self.starts)),
        )
        .unwrap_or_default()
    }

    /// SIGKILL: no shutdown hook runs, nothing is flushed.
    pub async fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.expect("SIGKILL proofdesk serve");
        }
    }

    /// SIGTERM, as systemd, Kubernetes and `docker stop` send it; waits
    /// (bounded) for the process to end and returns how it ended.
    pub async fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("the server is running");
        let pid = c.id().expect("a pid");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}");
        tokio::time::timeout(within, c.wait())
            .await
            .unwrap_or_else(|_| panic!("proofdesk serve still running {within:?} after SIGTERM"))
            .unwrap()
    }

    /// Starts the server again after it stopped.
    pub async fn start_again(&mut self) {
        self.spawn_and_wait().await;
    }

    pub async fn restart(&mut self) {
        self.kill9().await;
        self.spawn_and_wait().await;
    }

    /// The latest time the server came (back) up at or before `t_ms`.
    pub fn up_before(&self, t_ms: i64) -> i64 {
        self.up_at_ms
            .iter()
            .copied()
            .filter(|u| *u <= t_ms)
            .max()
            .unwrap_or(i64::MIN)
    }
}

// ----------------------------------------------------------- the clients

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn created_event() -> Value {
    json!({"type": "ticket.created",
           "data": {"category": "withdrawal_delay", "priority": "normal", "complaint": true, "labels": {}},
           "actor": {"role": "customer", "ref": "cust-1"}, "channel": "web", "occurred_at": Timestamp::now().to_string()})
}

pub fn message_event(n: u64) -> Value {
    json!({"type": "message.added", "data": {"direction": "inbound", "visibility": "public"},
           "actor": {"role": "customer", "ref": "cust-1"}, "channel": "web",
           "occurred_at": Timestamp::now().to_string(),
           "content": {"text": format!("message {n}")}})
}

/// Appends `message_event(n)` to `ticket` with `key`, which must answer 201.
pub async fn append(http: &reqwest::Client, base: &str, key: &str, ticket: &str, n: u64) {
    let r = http
        .post(format!("{base}/v1/tickets/{ticket}/events"))
        .bearer_auth(key)
        .json(&message_event(n))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
}

/// One receipt a client was given with a 2xx.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub idem: String,
    pub signed: SignedReceipt,
    /// When the client got it.
    pub at_ms: i64,
}

/// Every 2xx receipt, keyed by the Idempotency-Key it was requested with
/// (a bulk key holds several).
#[derive(Default, Clone)]
pub struct Ledger(pub Arc<Mutex<BTreeMap<String, Vec<Accepted>>>>);

impl Ledger {
    /// Records a response's receipts; a replay must repeat the original.
    pub fn record(&self, idem: &str, body: &Value) {
        let list: Vec<SignedReceipt> = if let Some(rs) = body["receipts"].as_array() {
            rs.iter()
                .map(|r| serde_json::from_value(r.clone()).expect("bulk receipt"))
                .collect()
        } else {
            vec![proofdesk::verify::receipt::from_append_answer(body).expect("receipt")]
        };
        let at_ms = now_ms();
        let mut map = self.0.lock().unwrap();
        let fresh: Vec<Accepted> = list
            .into_iter()
            .map(|signed| Accepted {
                idem: idem.to_owned(),
                signed,
                at_ms,
            })
            .collect();
        match map.get(idem) {
            Some(before) => {
                let a: Vec<_> = before.iter().map(|x| &x.signed.receipt).collect();
                let b: Vec<_> = fresh.iter().map(|x| &x.signed.receipt).collect();
                assert_eq!(
                    a.iter()
                        .map(|r| (r.index, r.seq, r.leaf))
                        .collect::<Vec<_>>(),
                    b.iter()
                        .map(|r| (r.index, r.seq, r.leaf))
                        .collect::<Vec<_>>(),
                    "a replay of {idem} gave different receipts"
                );
            }
            None => {
                map.insert(idem.to_owned(), fresh);
            }
        }
    }

    pub fn all(&self) -> Vec<Accepted> {
        self.0.lock().unwrap().values().flatten().cloned().collect()
    }
}

#[derive(Debug, Default, Clone)]
pub struct Tries {
    pub attempts: u64,
    pub failures: u64,
    /// 503 answers (the database or chain is unavailable: expected in an outage).
    pub unavailable: u64,
    /// 500 answers: never acceptable for an outage the server can name.
    pub internal: u64,
    /// Every 503 `detail` seen (shared with whoever watches the clients).
    pub problems: Arc<Mutex<Vec<String>>>,
}

/// POSTs until a 2xx, with the same Idempotency-Key and the same bytes each
/// time, as a platform retries. Connection errors and 5xx are retried; any
/// 4xx is a bug in the server (the body is valid) and panics. Every non-2xx
/// 5xx must be problem+json with a reason.
pub async fn post_until_ok(
    http: &reqwest::Client,
    base: &str,
    api_key: &str,
    path: &str,
    idem: &str,
    body: &Value,
    tries: &mut Tries,
) -> Value {
    let deadline = Instant::now() + SETTLE;
    let bytes = serde_json::to_vec(body).unwrap();
    loop {
        tries.attempts += 1;
        let resp = http
            .post(format!("{base}{path}"))
            .bearer_auth(api_key)
            .header("Idempotency-Key", idem)
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => {
                if let Ok(v) = r.json::<Value>().await {
                    return v;
                }
                // The body was cut mid-way (killed): the outcome is unknown, retry.
            }
            Ok(r) if r.status().is_client_error() => panic!(
                "POST {path} ({idem}): {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            Ok(r) => {
                let status = r.status();
                let ctype = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let text = r.text().await.unwrap_or_default();
                if !text.is_empty() {
                    assert!(
                        ctype.starts_with("application/problem+json"),
                        "{status} without problem+json: {text}"
                    );
                }
                match status.as_u16() {
                    503 => {
                        tries.unavailable += 1;
                        let detail = serde_json::from_str::<Value>(&text)
                            .ok()
                            .and_then(|v| v["detail"].as_str().map(str::to_owned))
                            .unwrap_or_default();
                        tries.problems.lock().unwrap().push(detail);
                    }
                    500 => {
                        tries.internal += 1;
                        eprintln!("POST {path} ({idem}): 500 {text}");
                    }
                    _ => {}
                }
            }
            Err(_) => {}
        }
        tries.failures += 1;
        assert!(
            Instant::now() < deadline,
            "POST {path} ({idem}) never succeeded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates a ticket and its ticket.created event, retrying like a client.
pub async fn open_ticket(
    http: &reqwest::Client,
    base: &str,
    api_key: &str,
    name: &str,
    ledger: &Ledger,
) -> String {
    let mut tries = Tries::default();
    let t = post_until_ok(
        http,
        base,
        api_key,
        "/v1/tickets",
        &format!("t-{name}"),
        &json!({"external_id": name}),
        &mut tries,
    )
    .await;
    let handle = t["ticket"].as_str().expect("ticket handle").to_owned();
    let idem = format!("created-{name}");
    let r = post_until_ok(
        http,
        base,
        api_key,
        &format!("/v1/tickets/{handle}/events"),
        &idem,
        &created_event(),
        &mut tries,
    )
    .await;
    ledger.record(&idem, &r);
    handle
}

pub async fn get_json(http: &reqwest::Client, url: &str) -> Option<(u16, Value)> {
    let r = http.get(url).send().await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.unwrap_or(Value::Null)))
}

/// Polls /v1/log until `done` holds; panics after SETTLE with the last state.
pub async fn wait_log(http: &reqwest::Client, base: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SETTLE;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Some((200, v)) = get_json(http, &format!("{base}/v1/log")).await {
            if done(&v) {
                return v;
            }
            last = v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the log did not settle: {last}");
}

pub fn settled(size: u64) -> impl Fn(&Value) -> bool {
    move |v: &Value| {
        v["log_size"] == json!(size)
            && v["sealed"] == v["log_size"]
            && v["final_batches"] == v["batches"]
    }
}

// ------------------------------------------------------------ the checks

/// Every receipt is in the log with its index, seq and leaf; no two
/// receipts share an index; the receipts cover the whole log (so retries
/// duplicated nothing and there is no gap); each is signed by the operator.
pub async fn check_receipts_in_log(store: &dyn Store, accepted: &[Accepted], operator: Address) {
    let stats = store.stats().await.unwrap();
    let events = store.events_by_range(0, stats.size).await.unwrap();
    assert_eq!(events.len() as u64, stats.size, "no gap in the index");
    let mut seen = HashSet::new();
    for a in accepted {
        let r = &a.signed.receipt;
        assert!(seen.insert(r.index), "two receipts claim index {}", r.index);
        let e = events
            .get(r.index as usize)
            .unwrap_or_else(|| panic!("receipt {} ({}) is not in the log", r.index, a.idem));
        assert_eq!(
            (&e.ticket, e.seq, e.leaf),
            (&r.ticket, r.seq, r.leaf),
            "receipt {} ({}) differs from the log",
            r.index,
            a.idem
        );
        assert_eq!(
            proofdesk::verify::receipt::signer_of(&a.signed).unwrap(),
            operator,
            "receipt {} signed by someone else",
            r.index
        );
    }
    assert_eq!(
        seen.len() as u64,
        stats.size,
        "the log holds events no client got a receipt for: a retry duplicated an event"
    );
}

/// Every batch is on chain exactly once: the contract's counters equal the
/// log's, and each batch head on chain is the log's.
pub async fn check_chain_exactly_once(store: &dyn Store, chain: &Chain) {
    let stats = store.stats().await.unwrap();
    assert_eq!(
        chain.batch_count().await.unwrap(),
        stats.batches,
        "batchCount"
    );
    assert_eq!(chain.next_index().await.unwrap(), stats.size, "nextIndex");
    for b in store.batches(0, u64::MAX >> 1).await.unwrap() {
        assert_eq!(
            chain.batch_head(b.id).await.unwrap(),
            b.head,
            "batchHead({})",
            b.id
        );
    }
}

/// Anchoring block time (ms) of every batch, from the contract's own log.
pub async fn anchor_times_ms(store: &dyn Store, chain: &Chain) -> Vec<i64> {
    let mut out = Vec::new();
    for b in store.batches(0, u64::MAX >> 1).await.unwrap() {
        let log = chain
            .anchored_log(b.id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no BatchAnchored log for batch {}", b.id));
        let (_, t) = chain.block(log.block_number).await.unwrap().unwrap();
        out.push(t as i64 * 1000);
    }
    out
}

/// The batch id holding log index `index`.
pub async fn batch_of(store: &dyn Store) -> Vec<(u64, u64)> {
    store
        .batches(0, u64::MAX >> 1)
        .await
        .unwrap()
        .iter()
        .map(|b| (b.first_index, b.count))
        .collect()
}

pub fn find_batch(ranges: &[(u64, u64)], index: u64) -> usize {
    ranges
        .iter()
        .position(|(f, c)| index >= *f && index < f + c)
        .unwrap_or_else(|| panic!("index {index} is in no batch"))
}

/// Fetches a ticket's bundle and verifies it against the chain through the
/// verify library, with the options the hammer uses.
pub async fn verify_ticket(
    http: &reqwest::Client,
    base: &str,
    handle: &str,
    rpc: &str,
    contract: Address,
) -> VerifyReport {
    let text = http
        .get(format!("{base}/v1/tickets/{handle}/proof"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bundle: Bundle = proofdesk::verify::parse_bundle(&text).expect("bundle parses");
    let options = proofdesk::hammer::verify_options(rpc, Some(contract));
    verify_bundle(&bundle, &options).await.expect("verify")
}
