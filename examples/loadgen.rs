//! The parts of scripts/bench.sh that a generic HTTP load tool cannot do:
//! set up tickets, fill a log with realistic ticket lifecycles, time an
//! append to its final anchor, and measure the limit: the raw insert rate of
//! the same rows straight into the same database.
//!
//! Single appends, bulk appends and proof fetches are driven by wrk, from
//! another process; see scripts/bench.sh. `steady` is the background ingest
//! (a fixed rate, not as fast as possible) while wrk fetches proofs.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use serde_json::{Value, json};

use proofdesk::ingest::EventInput;
use proofdesk::protocol::append::{ChainTip, next_record};
use proofdesk::protocol::fields::{TicketHandle, Timestamp};
use proofdesk::protocol::state::Policy;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Server {
    #[arg(long)]
    url: String,
    /// API key with the ingest scope.
    #[arg(long, env = "PD_KEY")]
    key: String,
}

#[derive(Subcommand)]
enum Command {
    /// Create tickets, each with its ticket.created event; print the handles.
    Tickets {
        #[command(flatten)]
        server: Server,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Grow the log to at least `--until` events with whole ticket
    /// lifecycles sent in bulk; append the new handles to `--out`.
    Fill {
        #[command(flatten)]
        server: Server,
        #[arg(long)]
        until: u64,
        #[arg(long, default_value_t = 10)]
        events_per_ticket: usize,
        #[arg(long, default_value_t = 100)]
        tickets_per_request: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Append events one per second and time each until its batch is final.
    ToFinal {
        #[command(flatten)]
        server: Server,
        #[arg(long, default_value_t = 10)]
        samples: usize,
        #[arg(long, default_value_t = 600)]
        timeout_s: u64,
    },
    /// Append at a fixed rate for a while, as a help desk would, while
    /// something else measures reads: `--rate` events/s in requests of
    /// `--per-request` message events (1: single appends to
    /// POST /v1/tickets/{h}/events; more: POST /v1/events/bulk, all to one
    /// ticket) on random tickets from `--tickets`. Prints one JSON line with
    /// the rate achieved and the append latencies.
    Steady {
        #[command(flatten)]
        server: Server,
        /// Events per second to send.
        #[arg(long)]
        rate: u64,
        #[arg(long)]
        duration_s: f64,
        #[arg(long, default_value_t = 1)]
        per_request: u64,
        /// A file of ticket handles, one per line.
        #[arg(long)]
        tickets: PathBuf,
        /// Requests in flight at most; when the server falls behind, the
        /// achieved rate drops below `--rate` instead of piling up.
        #[arg(long, default_value_t = 64)]
        max_in_flight: usize,
    },
    /// The limit: insert API-shaped rows straight into a fresh database of
    /// the same kind, `--per-tx` rows per durable transaction.
    RawInsert {
        /// A fresh database (sqlite:… or postgres://…); migrated first.
        #[arg(long)]
        database: String,
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        per_tx: u64,
        /// Concurrent writers (PostgreSQL can commit in parallel).
        #[arg(long, default_value_t = 1)]
        writers: u64,
        /// The tickets the rows go to. With 1 (the default) every row lands
        /// on one ticket and no tip is updated: the plain insert rate. With
        /// more, each commit is spread as the bench's bulk requests are: 10
        /// rows for each of `per_tx / 10` random tickets among them, and one
        /// statement updates those tickets' tips.
        #[arg(long, default_value_t = 1)]
        tickets: u64,
    },
}

const TEXT: &str = "Hello, my withdrawal of 0.5 BTC has been pending for three days.";

fn event(kind: &str) -> Value {
    let data = match kind {
        "ticket.created" => {
            json!({"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}})
        }
        _ => json!({"direction": "inbound", "visibility": "public"}),
    };
    json!({
        "type": kind,
        "data": data,
        "actor": {"role": "customer", "ref": "cust-4711"},
        "channel": "web",
        "occurred_at": Timestamp::now().to_string(),
        "content": {"text": TEXT},
    })
}

struct Api {
    http: reqwest::Client,
    server: Server,
}

impl Api {
    fn new(server: Server) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
            server,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.server.url);
        let request = self.http.post(url).bearer_auth(&self.server.key).json(body);
        Self::send("POST", path, request).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let request = self.http.get(format!("{}{path}", self.server.url));
        Self::send("GET", path, request).await
    }

    /// The JSON answer, or an error naming the request and the problem.
    async fn send(
        method: &str,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<Value> {
        let res = request.send().await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {body}");
        }
        Ok(body)
    }

    async fn new_ticket(&self, external_id: &str) -> anyhow::Result<String> {
        let t = self
            .post("/v1/tickets", &json!({"external_id": external_id}))
            .await?;
        Ok(t["ticket"].as_str().context("ticket handle")?.to_owned())
    }
}

fn run_id() -> String {
    format!("{:x}", Timestamp::now().millis())
}

async fn tickets(server: Server, count: usize, out: PathBuf) -> anyhow::Result<()> {
    let api = Arc::new(Api::new(server));
    let run = run_id();
    let handles: Vec<String> = futures::stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let run = run.clone();
            async move {
                let h = api.new_ticket(&format!("bench-{run}-{i}")).await?;
                api.post(&format!("/v1/tickets/{h}/events"), &event("ticket.created"))
                    .await?;
                anyhow::Ok(h)
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    std::fs::write(&out, handles.join("\n") + "\n")?;
    eprintln!("loadgen: {count} tickets in {}", out.display());
    Ok(())
}

async fn fill(
    server: Server,
    until: u64,
    per_ticket: usize,
    tickets_per_request: usize,
    concurrency: usize,
    out: PathBuf,
) -> anyhow::Result<()> {
    let api = Arc::new(Api::new(server));
    let size = api.get("/v1/log").await?["log_size"]
        .as_u64()
        .context("log size")?;
    if size >= until {
        eprintln!("loadgen: log already holds {size} events");
        return Ok(());
    }
    let per_request = (per_ticket * tickets_per_request) as u64;
    let requests = (until - size).div_ceil(per_request);
    let run = run_id();
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let results = futures::stream::iter(0..requests)
        .map(|r| {
            let (api, run, sent) = (api.clone(), run.clone(), sent.clone());
            async move {
                let mut handles = Vec::with_capacity(tickets_per_request);
                for t in 0..tickets_per_request {
                    handles.push(api.new_ticket(&format!("fill-{run}-{r}-{t}")).await?);
                }
                let mut items = Vec::with_capacity(per_request as usize);
                for h in &handles {
                    items.push(json!({"ticket": h, "event": event("ticket.created")}));
                    for _ in 1..per_ticket {
                        items.push(json!({"ticket": h, "event": event("message.added")}));
                    }
                }
                api.post("/v1/events/bulk", &json!({"events": items}))
                    .await?;
                let done = sent.fetch_add(per_request, Ordering::Relaxed) + per_request;
                if r % 50 == 0 {
                    let secs = started.elapsed().as_secs_f64();
                    eprintln!(
                        "loadgen: fill {} / {} events, {:.0} events/s (ticket creation included)",
                        size + done,
                        until,
                        done as f64 / secs
                    );
                }
                anyhow::Ok(handles)
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut all = String::new();
    for r in results {
        for h in r? {
            all.push_str(&h);
            all.push('\n');
        }
    }
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out)?
        .write_all(all.as_bytes())?;
    let secs = started.elapsed().as_secs_f64();
    let n = sent.load(Ordering::Relaxed);
    println!(
        "{}",
        json!({"events": n, "seconds": secs, "events_per_s": n as f64 / secs})
    );
    Ok(())
}

async fn to_final(server: Server, samples: usize, timeout_s: u64) -> anyhow::Result<()> {
    let api = Arc::new(Api::new(server));
    let mut waits = Vec::new();
    for i in 0..samples {
        let h = api.new_ticket(&format!("final-{}-{i}", run_id())).await?;
        let receipt = api
            .post(&format!("/v1/tickets/{h}/events"), &event("ticket.created"))
            .await?;
        let t0 = Instant::now();
        let index = receipt["receipt"]["index"]
            .as_u64()
            .context("receipt index")?;
        let api = api.clone();
        waits.push(tokio::spawn(async move {
            loop {
                if t0.elapsed() > Duration::from_secs(timeout_s) {
                    bail!("event {index} not final after {timeout_s} s");
                }
                let bundle = api.get(&format!("/v1/tickets/{h}/proof")).await?;
                let batch = bundle["events"][0]["batch"].as_u64();
                let status = batch.and_then(|b| {
                    bundle["batches"]
                        .as_array()?
                        .iter()
                        .find(|x| x["id"].as_u64() == Some(b))
                        .and_then(|x| x["status"].as_str().map(str::to_owned))
                });
                if status.as_deref() == Some("final") {
                    return Ok(t0.elapsed().as_secs_f64());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut secs = Vec::new();
    for w in waits {
        secs.push(w.await??);
    }
    secs.sort_by(f64::total_cmp);
    let max_merge_delay_s = api
        .get("/v1/log")
        .await?
        .get("max_merge_delay_ms")
        .and_then(Value::as_u64)
        .map(|ms| ms as f64 / 1000.0);
    println!(
        "{}",
        json!({
            "samples": secs.len(),
            "min_s": secs[0],
            "median_s": secs[secs.len() / 2],
            "max_s": secs[secs.len() - 1],
            "max_merge_delay_s": max_merge_delay_s,
        })
    );
    Ok(())
}

async fn steady(
    server: Server,
    rate: u64,
    duration_s: f64,
    per_request: u64,
    tickets: PathBuf,
    max_in_flight: usize,
) -> anyhow::Result<()> {
    if rate == 0 || per_request == 0 || duration_s <= 0.0 {
        bail!("--rate, --per-request and --duration-s must be positive");
    }
    let handles: Vec<String> = std::fs::read_to_string(&tickets)
        .with_context(|| format!("reading {}", tickets.display()))?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if handles.is_empty() {
        bail!("no ticket handles in {}", tickets.display());
    }
    let api = Arc::new(Api::new(server));
    let interval = Duration::from_secs_f64(per_request as f64 / rate as f64);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let started = tokio::time::Instant::now();
    let end = started + Duration::from_secs_f64(duration_s);
    let mut next = started;
    // Requests go out on a fixed schedule; one that finds every slot busy
    // waits for a slot, so a slow server lowers the achieved rate.
    while next < end {
        tokio::time::sleep_until(next).await;
        let slot = slots.clone().acquire_owned().await?;
        let (api, errors) = (api.clone(), errors.clone());
        let ticket = handles[rand::random_range(0..handles.len())].clone();
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let result = if per_request == 1 {
                api.post(
                    &format!("/v1/tickets/{ticket}/events"),
                    &event("message.added"),
                )
                .await
            } else {
                let items: Vec<Value> = (0..per_request)
                    .map(|_| json!({"ticket": ticket, "event": event("message.added")}))
                    .collect();
                api.post("/v1/events/bulk", &json!({"events": items})).await
            };
            drop(slot);
            if let Err(e) = result {
                if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("loadgen: steady: {e:#}");
                }
                return None;
            }
            Some(t0.elapsed().as_secs_f64() * 1000.0)
        }));
        next += interval;
    }
    let mut ms = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Some(v) = t.await? {
            ms.push(v);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        ms.get(((ms.len() as f64 * p) as usize).min(ms.len().saturating_sub(1)))
            .copied()
    };
    let events = ms.len() as u64 * per_request;
    println!(
        "{}",
        json!({
            "target_events_per_s": rate,
            "per_request": per_request,
            "requests": ms.len(),
            "errors": errors.load(Ordering::Relaxed),
            "events": events,
            "seconds": secs,
            "events_per_s": events as f64 / secs,
            "append_p50_ms": pct(0.50),
            "append_p99_ms": pct(0.99),
        })
    );
    Ok(())
}

/// One raw row: (index, canonical record, leaf, recorded_at ms).
type RawRow = (i64, String, Vec<u8>, i64);

/// Rows shaped exactly like the API's: a message with salted content, and
/// the ticket state a tip update writes.
fn rows(first: u64, count: u64, ticket: &TicketHandle) -> anyhow::Result<(Vec<RawRow>, String)> {
    let input: EventInput = serde_json::from_value(event("message.added"))?;
    let request = input.into_request(ticket.clone())?;
    let mut tip = ChainTip::EMPTY;
    let created: EventInput = serde_json::from_value(event("ticket.created"))?;
    let created = created.into_request(ticket.clone())?;
    let now = Timestamp::now();
    let mut out = Vec::with_capacity(count as usize);
    let mut last_state = String::new();
    for i in first..first + count {
        let draft = if i == first {
            &created.draft
        } else {
            &request.draft
        };
        let (h, state) = next_record(ticket, &tip, draft, i, now, &Policy::default())?;
        if i == first + 1 || count == 1 {
            last_state = serde_json::to_string(&state)?;
        }
        tip = tip.advance(h.leaf, state);
        out.push((
            i as i64,
            String::from_utf8(h.canonical)?,
            h.leaf.0.to_vec(),
            now.millis(),
        ));
    }
    Ok((out, last_state))
}

/// Where each row of a commit goes: (ticket, seq), and the tips to update.
/// One ticket: seq is the row's index, nothing to update. Spread: 10 rows
/// for each of `rows / 10` distinct random tickets, seqs continuing.
struct Spread {
    handles: Vec<TicketHandle>,
    next_seq: Vec<i64>,
    state: String,
}

impl Spread {
    fn assign(&mut self, rows: &[&RawRow]) -> (Vec<(usize, i64)>, Vec<usize>) {
        if self.handles.len() == 1 {
            return (rows.iter().map(|r| (0, r.0)).collect(), Vec::new());
        }
        let picked = rand::seq::index::sample(
            &mut rand::rng(),
            self.handles.len(),
            rows.len().div_ceil(10),
        )
        .into_vec();
        let places = (0..rows.len())
            .map(|i| {
                let t = picked[i / 10];
                self.next_seq[t] += 1;
                (t, self.next_seq[t] - 1)
            })
            .collect();
        (places, picked)
    }
}

macro_rules! raw_insert_into {
    ($pool:expr, $rows:expr, $per_tx:expr, $writers:expr, $spread:expr, $update_tips:expr) => {{
        let pool = $pool.clone();
        let rows = Arc::new($rows);
        let per_tx = $per_tx as usize;
        let writers = $writers as usize;
        let spread = Arc::new(std::sync::Mutex::new($spread));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (pool, rows, spread) = (pool.clone(), rows.clone(), spread.clone());
            tasks.push(tokio::spawn(async move {
                let mine: Vec<_> = rows.iter().skip(w).step_by(writers).collect();
                for chunk in mine.chunks(per_tx) {
                    let (places, tips, handles, state) = {
                        let mut s = spread.lock().unwrap();
                        let (places, tips) = s.assign(chunk);
                        let tips: Vec<_> = tips.iter().map(|&t| (t, s.next_seq[t])).collect();
                        (places, tips, s.handles.clone(), s.state.clone())
                    };
                    let mut tx = pool.begin().await?;
                    // Multi-row statements, 500 rows each, as the store writes.
                    for (rows, places) in chunk.chunks(500).zip(places.chunks(500)) {
                        let mut q = sqlx::QueryBuilder::new(
                            "INSERT INTO events (idx, ticket, seq, record, leaf, recorded_at_ms) ",
                        );
                        q.push_values(
                            rows.iter().zip(places),
                            |mut b, ((idx, record, leaf, at), (t, seq))| {
                                b.push_bind(*idx)
                                    .push_bind(handles[*t].as_str())
                                    .push_bind(*seq)
                                    .push_bind(record.as_str())
                                    .push_bind(leaf.as_slice())
                                    .push_bind(*at);
                            },
                        );
                        q.build().execute(&mut *tx).await?;
                        let mut q =
                            sqlx::QueryBuilder::new("INSERT INTO content (idx, salt, body) ");
                        q.push_values(rows, |mut b, (idx, _, _, _)| {
                            b.push_bind(*idx)
                                .push_bind([7u8; 32].as_slice())
                                .push_bind(TEXT);
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                    if !tips.is_empty() {
                        let (head, tail) = $update_tips;
                        let mut q = sqlx::QueryBuilder::new(head);
                        q.push_values(&tips, |mut b, (t, next_seq)| {
                            b.push_bind(handles[*t].as_str())
                                .push_bind(*next_seq)
                                .push_bind([9u8; 32].as_slice())
                                .push_bind(state.as_str());
                        });
                        q.push(tail);
                        q.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        started.elapsed().as_secs_f64()
    }};
}

/// One `UPDATE … FROM (VALUES …)` for a commit's tips, in each dialect
/// (SQLite names a VALUES list's columns column1, column2, …).
const SQLITE_TIPS: (&str, &str) = (
    "UPDATE tickets SET next_seq = v.column2, last_leaf = v.column3, state = v.column4 FROM (",
    ") AS v WHERE tickets.handle = v.column1",
);
const PG_TIPS: (&str, &str) = (
    "UPDATE tickets SET next_seq = v.next_seq, last_leaf = v.last_leaf, state = v.state FROM (",
    ") AS v(handle, next_seq, last_leaf, state) WHERE tickets.handle = v.handle",
);

async fn raw_insert(
    database: String,
    n: u64,
    per_tx: u64,
    writers: u64,
    tickets: u64,
) -> anyhow::Result<()> {
    if tickets > 1 && (writers != 1 || !per_tx.is_multiple_of(10) || per_tx / 10 > tickets) {
        bail!(
            "--tickets above 1 needs one writer and --per-tx a multiple of 10, at most 10 × --tickets"
        );
    }
    let handles: Vec<TicketHandle> = (0..tickets.max(1))
        .map(|_| proofdesk::ingest::new_handle())
        .collect();
    let (rows, state) = rows(0, n, &handles[0])?;
    let spread = Spread {
        next_seq: vec![0; handles.len()],
        handles: handles.clone(),
        state,
    };
    // The store's own connect: same migrations, pragmas and pool settings.
    use proofdesk::log::Store;
    let secs = if database.starts_with("sqlite:") {
        let store = proofdesk::log::sqlite::SqliteStore::connect(&database).await?;
        for (i, h) in handles.iter().enumerate() {
            store
                .create_ticket(&format!("raw-{i}"), h.clone(), Timestamp::now())
                .await?;
        }
        raw_insert_into!(store.pool(), rows, per_tx, writers, spread, SQLITE_TIPS)
    } else {
        let store = proofdesk::log::postgres::PgStore::connect(&database).await?;
        for (i, h) in handles.iter().enumerate() {
            store
                .create_ticket(&format!("raw-{i}"), h.clone(), Timestamp::now())
                .await?;
        }
        raw_insert_into!(store.pool(), rows, per_tx, writers, spread, PG_TIPS)
    };
    println!(
        "{}",
        json!({"rows": n, "per_tx": per_tx, "writers": writers, "tickets": tickets, "seconds": secs, "rows_per_s": n as f64 / secs})
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Tickets { server, count, out } => tickets(server, count, out).await,
        Command::Fill {
            server,
            until,
            events_per_ticket,
            tickets_per_request,
            concurrency,
            out,
        } => {
            fill(
                server,
                until,
                events_per_ticket,
                tickets_per_request,
                concurrency,
                out,
            )
            .await
        }
        Command::ToFinal {
            server,
            samples,
            timeout_s,
        } => to_final(server, samples, timeout_s).await,
        Command::Steady {
            server,
            rate,
            duration_s,
            per_request,
            tickets,
            max_in_flight,
        } => {
            steady(
                server,
                rate,
                duration_s,
                per_request,
                tickets,
                max_in_flight,
            )
            .await
        }
        Command::RawInsert {
            database,
            rows,
            per_tx,
            writers,
            tickets,
        } => raw_insert(database, rows, per_tx, writers, tickets).await,
    }
}
