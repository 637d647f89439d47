//! `proofdesk hammer`: a verifying load generator, like Tessera's hammer.
//!
//! Writers append events at a set total rate and keep every signed receipt
//! they are given. Readers meanwhile fetch random tickets' proof bundles and
//! verify each one against the chain through the verify library (the same
//! path as `proofdesk verify`), and check every receipt they hold for that
//! ticket against the bundle: same index, seq and leaf, signed by the log's
//! anchorer, and anchored by its deadline (or still inside it).
//!
//! It runs for a set duration, prints progress and a final report, and the
//! command exits non-zero if anything failed to verify or a write failed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::protocol::bundle::Bundle;
use crate::protocol::fields::Timestamp;
use crate::protocol::receipt::SignedReceipt;
use crate::verify::{EventStatus, VerifyOptions, parse_bundle, verify_bundle};

async fn fetch_bundle(
    http: &reqwest::Client,
    args: &HammerArgs,
    handle: &str,
) -> Result<Bundle, String> {
    let text = match http
        .get(format!("{}/v1/tickets/{handle}/proof", args.url))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r
            .text()
            .await
            .map_err(|e| format!("{handle}: reading the bundle: {e}"))?,
        Ok(r) => return Err(format!("{handle}: GET proof: {}", r.status())),
        Err(e) => return Err(format!("{handle}: GET proof: {e}")),
    };
    parse_bundle(&text).map_err(|e| format!("{handle}: {e}"))
}

/// The one place the hammer (and the fault suites) build verifier options.
/// `VerifyOptions` is growing new fields; adapt them here only.
pub fn verify_options(rpc_url: &str, contract: Option<Address>) -> VerifyOptions {
    let mut options = VerifyOptions::new(rpc_url, Address::ZERO);
    options.expected_contract = contract;
    options.timeout = Duration::from_secs(20);
    options
}

#[derive(Debug, Clone, clap::Args)]
pub struct HammerArgs {
    /// Base URL of the log (its API), as monitor and audit take it.
    #[arg(long = "log", alias = "url", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API key with the ingest scope.
    #[arg(long = "key", alias = "api-key", env = "PROOFDESK_API_KEY")]
    pub api_key: String,
    /// Your own RPC, to verify against.
    #[arg(long)]
    pub rpc: String,
    /// The contract you expect the log to anchor to (default: what /v1/log says).
    #[arg(long)]
    pub contract: Option<Address>,
    /// How long to run, seconds.
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Total events per second across all writers.
    #[arg(long, default_value_t = 20.0)]
    pub write_rate: f64,
    /// Concurrent writers (the write rate is shared among them).
    #[arg(long, default_value_t = 4)]
    pub writers: usize,
    /// Concurrent readers, each fetching and verifying random tickets' bundles.
    #[arg(long, default_value_t = 2)]
    pub readers: usize,
    /// Tickets to spread the events over.
    #[arg(long, default_value_t = 32)]
    pub tickets: usize,
    /// How long past its anchor deadline a pending event is tolerated
    /// before it counts as a broken promise, seconds.
    #[arg(long, default_value_t = 0)]
    pub grace: u64,
    /// Print the final report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct HammerReport {
    pub seconds: f64,
    pub tickets: usize,
    pub writes: u64,
    pub write_errors: u64,
    pub writes_per_s: f64,
    pub bundles_verified: u64,
    pub bundles_per_s: f64,
    pub events_verified: u64,
    pub receipts_checked: u64,
    pub pending_seen: u64,
    pub failures: u64,
    /// The first few failures, with their reasons.
    pub failure_samples: Vec<String>,
}

impl HammerReport {
    pub fn ok(&self) -> bool {
        self.failures == 0 && self.write_errors == 0 && self.bundles_verified > 0
    }

    pub fn render(&self) -> String {
        let mut s = format!(
            "hammer: {:.0} s, {} tickets\n  writes: {} ({:.1}/s), {} failed\n  bundles verified: {} ({:.2}/s), events verified: {}, receipts checked: {}, pending seen: {}\n  verification failures: {}\n",
            self.seconds,
            self.tickets,
            self.writes,
            self.writes_per_s,
            self.write_errors,
            self.bundles_verified,
            self.bundles_per_s,
            self.events_verified,
            self.receipts_checked,
            self.pending_seen,
            self.failures
        );
        for f in &self.failure_samples {
            s.push_str(&format!("  ✗ {f}\n"));
        }
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HammerError {
    #[error("cannot reach {0}: {1}")]
    Setup(String, String),
}

#[derive(Default)]
struct Shared {
    /// Receipts per ticket handle.
    receipts: Mutex<HashMap<String, Vec<SignedReceipt>>>,
    handles: Mutex<Vec<String>>,
    writes: AtomicU64,
    write_errors: AtomicU64,
    bundles: AtomicU64,
    events: AtomicU64,
    receipts_checked: AtomicU64,
    pending: AtomicU64,
    failures: AtomicU64,
    samples: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Shared {
    fn fail(&self, what: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if s.len() < 20 {
            s.push(what);
        }
    }
}

fn message(n: u64) -> Value {
    json!({"type": "message.added", "data": {"direction": "inbound", "visibility": "public"},
           "actor": {"role": "customer", "ref": "hammer"}, "channel": "web",
           "occurred_at": Timestamp::now().to_string(),
           "content": {"text": format!("hammer message {n}")}})
}

/// POSTs with an Idempotency-Key, retrying (same key, same bytes) on a
/// connection error or a 5xx, up to 5 times.
async fn post(
    http: &reqwest::Client,
    args: &HammerArgs,
    path: &str,
    idem: &str,
    body: &Value,
) -> Result<Value, String> {
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let mut last = String::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        let resp = http
            .post(format!("{}{path}", args.url))
            .bearer_auth(&args.api_key)
            .header("Idempotency-Key", idem)
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => {
                return r.json().await.map_err(|e| e.to_string());
            }
            Ok(r) if r.status().is_client_error() => {
                return Err(format!(
                    "POST {path}: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ));
            }
            Ok(r) => last = format!("POST {path}: {}", r.status()),
            Err(e) => last = format!("POST {path}: {e}"),
        }
    }
    Err(last)
}

/// The signed receipt (v1 or v2) in an append response or a bulk item.
fn receipt_of(v: &Value) -> Result<SignedReceipt, String> {
    crate::verify::receipt::from_append_answer(v).map_err(|e| format!("unreadable receipt: {e}"))
}

async fn open_ticket(
    http: &reqwest::Client,
    args: &HammerArgs,
    run: &str,
    i: usize,
    shared: &Shared,
) -> Result<(), String> {
    let name = format!("hammer-{run}-{i}");
    let t = post(
        http,
        args,
        "/v1/tickets",
        &format!("{name}-t"),
        &json!({"external_id": name}),
    )
    .await?;
    let handle = t["ticket"]
        .as_str()
        .ok_or("no ticket handle in the response")?
        .to_owned();
    let created = json!({"type": "ticket.created",
        "data": {"category": "withdrawal_delay", "priority": "normal", "complaint": true, "labels": {}},
        "actor": {"role": "customer", "ref": "hammer"}, "channel": "web",
        "occurred_at": Timestamp::now().to_string()});
    let r = post(
        http,
        args,
        &format!("/v1/tickets/{handle}/events"),
        &format!("{name}-c"),
        &created,
    )
    .await?;
    let receipt = receipt_of(&r)?;
    shared.writes.fetch_add(1, Ordering::Relaxed);
    lock(&shared.receipts).insert(handle.clone(), vec![receipt]);
    lock(&shared.handles).push(handle);
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn writer(
    http: reqwest::Client,
    args: Arc<HammerArgs>,
    shared: Arc<Shared>,
    w: usize,
    run: String,
) {
    let per_writer = (args.write_rate / args.writers.max(1) as f64).max(0.001);
    let interval = Duration::from_secs_f64(1.0 / per_writer);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let handle = {
            let hs = lock(&shared.handles);
            hs[rand::rng().random_range(0..hs.len())].clone()
        };
        n += 1;
        let idem = format!("hammer-{run}-w{w}-{n}");
        match post(
            &http,
            &args,
            &format!("/v1/tickets/{handle}/events"),
            &idem,
            &message(n),
        )
        .await
        .and_then(|v| receipt_of(&v))
        {
            Ok(receipt) => {
                shared.writes.fetch_add(1, Ordering::Relaxed);
                lock(&shared.receipts)
                    .entry(handle)
                    .or_default()
                    .push(receipt);
            }
            Err(e) => {
                shared.write_errors.fetch_add(1, Ordering::Relaxed);
                let mut s = lock(&shared.samples);
                if s.len() < 20 {
                    s.push(format!("write: {e}"));
                }
            }
        }
    }
}

/// Verifies one ticket: the bundle against the chain, then every receipt
/// held for it against the bundle. Returns failure reasons.
async fn check_ticket(
    http: &reqwest::Client,
    args: &HammerArgs,
    contract: Address,
    handle: &str,
    shared: &Shared,
) -> Vec<String> {
    // Receipts first: every one of them was issued before the bundle is read.
    let receipts = lock(&shared.receipts)
        .get(handle)
        .cloned()
        .unwrap_or_default();
    // A batch can be anchored between reading the bundle and reading the
    // chain: a pending event below nextIndex() is then re-read once.
    let mut attempt = 0;
    let (bundle, report) = loop {
        let bundle = match fetch_bundle(http, args, handle).await {
            Ok(b) => b,
            Err(e) => return vec![e],
        };
        let report = match verify_bundle(&bundle, &verify_options(&args.rpc, Some(contract))).await
        {
            Ok(r) => r,
            Err(e) => return vec![format!("{handle}: verification could not run: {e}")],
        };
        attempt += 1;
        if report.withheld_pending == 0 || attempt == 2 {
            break (bundle, report);
        }
    };
    let mut problems = Vec::new();
    // A ticket whose first events are not anchored yet proves nothing yet;
    // it is not a failure unless something in it is wrong.
    let clean = report.problems.is_empty() && report.events.iter().all(|e| e.ok);
    let too_early = report.unproven && clean;
    if !report.valid && !too_early {
        problems.push(format!("{handle}: bundle invalid:\n{}", report.render()));
    }
    shared.bundles.fetch_add(1, Ordering::Relaxed);
    shared
        .events
        .fetch_add(report.events.len() as u64, Ordering::Relaxed);
    shared
        .pending
        .fetch_add(report.pending as u64, Ordering::Relaxed);
    if report.broken_promises > 0 {
        problems.push(format!(
            "{handle}: {} broken promise(s): anchored after the maximum merge delay",
            report.broken_promises
        ));
    }
    let anchorer: Option<Address> = bundle.chain.anchorer.parse().ok();
    let now = Timestamp::now().millis();
    for signed in &receipts {
        let r = &signed.receipt;
        shared.receipts_checked.fetch_add(1, Ordering::Relaxed);
        match crate::verify::receipt::signer_of(signed) {
            Ok(a) if Some(a) == anchorer => {}
            Ok(a) => problems.push(format!(
                "{handle}: receipt {} signed by {a}, not the anchorer",
                r.index
            )),
            Err(e) => problems.push(format!("{handle}: receipt {}: {e}", r.index)),
        }
        let Some(ev) = report.events.iter().find(|e| e.check.seq == r.seq) else {
            problems.push(format!(
                "{handle}: receipt for seq {} (index {}) has no event in the bundle",
                r.seq, r.index
            ));
            continue;
        };
        let leaf = bundle.events.get(r.seq as usize).map(|e| e.leaf);
        if ev.check.index != Some(r.index) || leaf != Some(r.leaf) {
            problems.push(format!(
                "{handle}: receipt seq {} promises index {} leaf {}, the bundle has {:?} {:?}",
                r.seq, r.index, r.leaf, ev.check.index, leaf
            ));
        }
        if ev.status == EventStatus::Pending
            && now > r.anchor_deadline.millis() + args.grace as i64 * 1000
        {
            problems.push(format!(
                "{handle}: receipt {} is still pending after its anchor deadline {}",
                r.index, r.anchor_deadline
            ));
        }
    }
    problems
}

async fn reader(
    http: reqwest::Client,
    args: Arc<HammerArgs>,
    shared: Arc<Shared>,
    contract: Address,
) {
    while !shared.stop.load(Ordering::Relaxed) {
        let handle = {
            let hs = lock(&shared.handles);
            hs[rand::rng().random_range(0..hs.len())].clone()
        };
        for p in check_ticket(&http, &args, contract, &handle, &shared).await {
            shared.fail(p);
        }
    }
}

/// Runs the hammer for `args.duration` seconds and returns what it saw.
pub async fn run(args: HammerArgs) -> Result<HammerReport, HammerError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| HammerError::Setup(args.url.clone(), e.to_string()))?;
    let info: Value = http
        .get(format!("{}/v1/log", args.url))
        .send()
        .await
        .map_err(|e| HammerError::Setup(args.url.clone(), e.to_string()))?
        .json()
        .await
        .map_err(|e| HammerError::Setup(args.url.clone(), e.to_string()))?;
    let contract = match args.contract {
        Some(c) => c,
        None => info["chain"]["contract"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                HammerError::Setup(args.url.clone(), "/v1/log names no contract".into())
            })?,
    };
    let shared = Arc::new(Shared::default());
    let run: String = format!("{:x}", rand::rng().random::<u64>());
    for i in 0..args.tickets.max(1) {
        if let Err(e) = open_ticket(&http, &args, &run, i, &shared).await {
            return Err(HammerError::Setup(args.url.clone(), e));
        }
    }
    let started = Instant::now();
    let args = Arc::new(args);
    let mut tasks = Vec::new();
    for w in 0..args.writers.max(1) {
        tasks.push(tokio::spawn(writer(
            http.clone(),
            args.clone(),
            shared.clone(),
            w,
            run.clone(),
        )));
    }
    for _ in 0..args.readers.max(1) {
        tasks.push(tokio::spawn(reader(
            http.clone(),
            args.clone(),
            shared.clone(),
            contract,
        )));
    }
    let end = started + Duration::from_secs(args.duration);
    let mut next_progress = started + Duration::from_secs(10);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if Instant::now() >= next_progress {
            next_progress += Duration::from_secs(10);
            eprintln!(
                "hammer: {:>4} s  writes {}  bundles verified {}  failures {}",
                started.elapsed().as_secs(),
                shared.writes.load(Ordering::Relaxed),
                shared.bundles.load(Ordering::Relaxed),
                shared.failures.load(Ordering::Relaxed),
            );
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let writes = shared.writes.load(Ordering::Relaxed);
    let bundles = shared.bundles.load(Ordering::Relaxed);
    Ok(HammerReport {
        seconds,
        tickets: lock(&shared.handles).len(),
        writes,
        write_errors: shared.write_errors.load(Ordering::Relaxed),
        writes_per_s: writes as f64 / seconds,
        bundles_verified: bundles,
        bundles_per_s: bundles as f64 / seconds,
        events_verified: shared.events.load(Ordering::Relaxed),
        receipts_checked: shared.receipts_checked.load(Ordering::Relaxed),
        pending_seen: shared.pending.load(Ordering::Relaxed),
        failures: shared.failures.load(Ordering::Relaxed),
        failure_samples: lock(&shared.samples).clone(),
    })
}

/// The `proofdesk hammer` command: runs, prints, and exits 1 on any failure.
pub async fn command(args: HammerArgs) -> anyhow::Result<std::process::ExitCode> {
    let json = args.json;
    let report = run(args).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.ok() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}
