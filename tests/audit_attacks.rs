//! Auditor soundness (issue 32): a dishonest HTTP front stands between
//! `proofdesk audit`, `monitor` and `report` and an honest node, on a real
//! anvil and a real database (SQLite, and PostgreSQL when
//! PROOFDESK_TEST_PG is set). The front has the operator's powers over
//! what the auditor reads: it rewrites `/v1/export`, `/v1/batches…` and
//! their headers. Each attack of the red team is run through it, and the
//! audit must fail naming the indices, the report must refuse (or, with
//! `--partial`, exclude and say why), and the monitor must name the batch.
//! The honest control runs first, with KPIs worked out by hand, including
//! the rules against gaming the figures and the maximum merge delay.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use common::TestDb;
use proofdesk::anchor::Chain;
use proofdesk::audit::check::Failure;
use proofdesk::audit::http::LogClient;
use proofdesk::audit::kpi::{Limits, Period};
use proofdesk::audit::monitor::{DEFAULT_MAX_BATCH_LEAVES, MonitorOptions, Stop};
use proofdesk::audit::progress::ProgressStyle;
use proofdesk::audit::render::{self, Report, ReportOptions};
use proofdesk::audit::result::{AuditResult, CoverageKind};
use proofdesk::audit::run::{AuditOptions, Bound, ExportLimits};
use proofdesk::protocol::fields::Timestamp;
use proofdesk_testkit::TestApp;
use serde_json::{Value, json};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

// ------------------------------------------------------------ the front

/// What the dishonest front does to what it relays.
#[derive(Debug, Clone)]
enum Attack {
    Honest,
    /// Export: every line from this index on withheld, and the range
    /// header says the log ends there.
    EndAt(u64),
    /// Export: nothing, with a range header to match.
    Empty,
    /// Export: every line below this index withheld, the header starting
    /// there.
    StartAt(u64),
    /// Export: the lines of these indices labelled "not sealed", and the
    /// record at `alter` replaced by a made-up one.
    NullLabels {
        from: u64,
        to: u64,
        alter: Option<u64>,
    },
    /// Export: the line of this index served with an audit_result member
    /// in front, as the report's old skip rule matched.
    ResultPrefix(u64),
    /// Export: the line of this index withheld, the header honest.
    Omit(u64),
    /// Export: a line that never ends.
    EndlessLine,
    /// Export: this many lines, then nothing, ever.
    StallAfter(usize),
    /// Export: this many lines, then the connection breaks.
    CutAfter(usize),
    /// Batch 0's leaves: page after page, forever; with `inflate`, the
    /// batch also claims 10^12 leaves.
    EndlessLeaves {
        inflate: bool,
    },
    /// Everything about this batch answers 503.
    Fail503(u64),
}

#[derive(Clone)]
struct FrontState {
    upstream: String,
    http: reqwest::Client,
    attack: Arc<Mutex<Attack>>,
}

struct Front {
    url: String,
    attack: Arc<Mutex<Attack>>,
}

impl Front {
    async fn start(upstream: String) -> Front {
        let attack = Arc::new(Mutex::new(Attack::Honest));
        let state = FrontState {
            upstream,
            http: reqwest::Client::new(),
            attack: attack.clone(),
        };
        let app = axum::Router::new().fallback(relay).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Front { url, attack }
    }

    fn set(&self, a: Attack) {
        *self.attack.lock().unwrap() = a;
    }
}

fn index_of(line: &str) -> u64 {
    let v: Value = serde_json::from_str(line).unwrap();
    v["record"]["index"].as_u64().unwrap()
}

fn export_response(lines: Vec<String>, range: (u64, u64)) -> Response {
    let mut body = lines.join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        "proofdesk-range",
        HeaderValue::from_str(&format!("{}-{}", range.0, range.1)).unwrap(),
    );
    r
}

fn streamed(
    chunks: impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    Response::new(Body::from_stream(chunks))
}

async fn relay(State(s): State<FrontState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let attack = s.attack.lock().unwrap().clone();
    if let Attack::Fail503(b) = attack
        && path.starts_with(&format!("/v1/batches/{b}"))
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
    }
    if let Attack::EndlessLeaves { inflate } = attack {
        if path == "/v1/batches/0/leaves" {
            let from: u64 = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("from="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let leaves: Vec<String> = (0..10_000)
                .map(|_| format!("0x{}", "ab".repeat(32)))
                .collect();
            return axum::Json(json!({"leaves": leaves, "next": from + 10_000})).into_response();
        }
        if inflate && path == "/v1/batches/0" {
            let up = s
                .http
                .get(format!("{}{path}", s.upstream))
                .send()
                .await
                .unwrap();
            let mut b: Value = up.json().await.unwrap();
            b["count"] = json!(1_000_000_000_000u64);
            return axum::Json(b).into_response();
        }
    }
    let mut url = format!("{}{path}", s.upstream);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    let mut up = s.http.get(url);
    if let Some(a) = req.headers().get("authorization") {
        up = up.header("authorization", a.clone());
    }
    let up = up.send().await.unwrap();
    let status = up.status();
    let range = up
        .headers()
        .get("proofdesk-range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once('-'))
        .map(|(a, z)| (a.parse::<u64>().unwrap(), z.parse::<u64>().unwrap()));
    let content_type = up.headers().get("content-type").cloned();
    let body = up.bytes().await.unwrap();
    if path != "/v1/export" || !status.is_success() {
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = status;
        if let Some(ct) = content_type {
            r.headers_mut().insert("content-type", ct);
        }
        return r;
    }
    let (first, end) = range.unwrap();
    let lines: Vec<String> = String::from_utf8(body.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    match attack {
        Attack::EndAt(i) => {
            let kept = lines.into_iter().filter(|l| index_of(l) < i).collect();
            export_response(kept, (first, i.min(end)))
        }
        Attack::Empty => export_response(Vec::new(), (first, first)),
        Attack::StartAt(i) => {
            let kept = lines.into_iter().filter(|l| index_of(l) >= i).collect();
            export_response(kept, (i.max(first), end))
        }
        Attack::NullLabels { from, to, alter } => {
            let lines = lines
                .into_iter()
                .map(|l| {
                    let i = index_of(&l);
                    if !(from..=to).contains(&i) {
                        return l;
                    }
                    let mut v: Value = serde_json::from_str(&l).unwrap();
                    v["batch"] = Value::Null;
                    v["path"] = Value::Null;
                    if alter == Some(i) {
                        v["record"]["channel"] = json!("phone");
                    }
                    v.to_string()
                })
                .collect();
            export_response(lines, (first, end))
        }
        Attack::ResultPrefix(i) => {
            let lines = lines
                .into_iter()
                .map(|l| {
                    if index_of(&l) == i {
                        format!(r#"{{"audit_result":{{"ok":true}},{}"#, &l[1..])
                    } else {
                        l
                    }
                })
                .collect();
            export_response(lines, (first, end))
        }
        Attack::Omit(i) => {
            let kept = lines.into_iter().filter(|l| index_of(l) != i).collect();
            export_response(kept, (first, end))
        }
        Attack::EndlessLine => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            streamed(futures::stream::repeat_with(move || Ok(chunk.clone())))
        }
        Attack::StallAfter(n) => {
            let head: Vec<Result<Bytes, std::io::Error>> = lines
                .into_iter()
                .take(n)
                .map(|l| Ok(Bytes::from(format!("{l}\n"))))
                .collect();
            use futures::StreamExt;
            streamed(futures::stream::iter(head).chain(futures::stream::pending()))
        }
        Attack::CutAfter(n) => {
            let items: Vec<Result<Bytes, std::io::Error>> = lines
                .into_iter()
                .take(n)
                .map(|l| Ok(Bytes::from(format!("{l}\n"))))
                .collect();
            // The lines go out first (the auditor reads them), then the
            // connection breaks mid-body.
            use futures::StreamExt;
            let cut = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Err(std::io::Error::other("connection cut by the front"))
            });
            streamed(futures::stream::iter(items).chain(cut))
        }
        Attack::Honest | Attack::EndlessLeaves { .. } | Attack::Fail503(_) => {
            export_response(lines, (first, end))
        }
    }
}

// ------------------------------------------------------------ the auditor

struct Auditor<'a> {
    app: &'a TestApp,
    front: Front,
    dir: tempfile::TempDir,
    from_block: u64,
}

impl Auditor<'_> {
    fn chain(&self) -> Chain {
        let mut c = Chain::connect(
            &self.app.anvil.url(),
            self.app.contract,
            Duration::from_secs(5),
        )
        .unwrap();
        c.from_block = self.from_block;
        c
    }

    fn options(&self, name: &str) -> AuditOptions {
        AuditOptions {
            log: LogClient::new(&self.front.url, Some(self.app.key.clone())).unwrap(),
            log_url: self.front.url.clone(),
            chain: self.chain(),
            from: None,
            to: None,
            resume: None,
            out: Some(self.saved(name)),
            progress: ProgressStyle::Quiet,
            max_merge_delay_ms: Some(60_000),
            limits: ExportLimits::default(),
            checkpoint_every: proofdesk::audit::run::CHECKPOINT_EVERY,
        }
    }

    fn saved(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.jsonl"))
    }

    async fn audit(&self, name: &str) -> AuditResult {
        self.audit_with(self.options(name)).await
    }

    async fn audit_with(&self, opts: AuditOptions) -> AuditResult {
        tokio::time::timeout(Duration::from_secs(60), proofdesk::audit::run::run(opts))
            .await
            .expect("the audit ends, whatever the log does")
            .unwrap()
    }

    fn report(&self, name: &str, partial: bool) -> anyhow::Result<Report> {
        render::report_from_saved(
            &self.saved(name),
            Period::default(),
            Limits::default(),
            ReportOptions {
                partial,
                ..ReportOptions::default()
            },
        )
    }

    async fn monitor(&self, follow: bool) -> Stop {
        let fut = proofdesk::audit::monitor::run(MonitorOptions {
            log: LogClient::new(&self.front.url, None).unwrap(),
            chain: self.chain(),
            state_file: None,
            follow,
            interval: Duration::from_millis(200),
            metrics_listen: None,
            verbose: false,
            give_up_after: Duration::from_secs(2),
            max_batch_leaves: DEFAULT_MAX_BATCH_LEAVES,
            replay_map: false,
        });
        tokio::time::timeout(Duration::from_secs(60), fut)
            .await
            .expect("the monitor stops, whatever the log does")
            .unwrap()
    }
}

fn failure<'a>(r: &'a AuditResult, kind: &str, index: u64) -> &'a Failure {
    r.failures
        .iter()
        .find(|f| f.kind == kind && f.index == Some(index))
        .unwrap_or_else(|| panic!("no {kind} failure at index {index}: {:#?}", r.failures))
}

/// The audit failed, and the report refuses to give figures over it.
fn refused(a: &Auditor<'_>, name: &str, r: &AuditResult) {
    assert!(!r.ok, "{name}: the audit passed a dishonest log");
    let e = a.report(name, false).unwrap_err().to_string();
    assert!(e.contains("the audit failed"), "{name}: {e}");
}

// ------------------------------------------------------------ the scenario

fn ts(ms: i64) -> String {
    Timestamp::from_millis(ms).unwrap().to_string()
}

fn ev(t: &str, data: Value, role: &str, at: i64) -> Value {
    json!({"type": t, "data": data, "actor": {"role": role, "ref": format!("{role}-9")},
           "channel": "email", "occurred_at": ts(at)})
}

fn created(complaint: bool, at: i64) -> Value {
    ev(
        "ticket.created",
        json!({"category": "withdrawal", "priority": "high", "complaint": complaint, "labels": {}}),
        "customer",
        at,
    )
}

/// Appends and returns the record's index.
async fn add(app: &TestApp, handle: &str, event: Value) -> u64 {
    let (status, body) = app
        .post(&format!("/v1/tickets/{handle}/events"), event)
        .await;
    assert_eq!(status, 201, "{body}");
    body["record"]["index"].as_u64().unwrap()
}

async fn wait_anchored(app: &TestApp, chain: &Chain) -> u64 {
    for _ in 0..240 {
        let (_, info) = app.get("/v1/log").await;
        let size = info["log_size"].as_u64().unwrap();
        if size > 0 && chain.next_index().await.unwrap() == size {
            return size;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the log was not anchored within 60 s");
}

struct Scenario {
    a: String,
    b: String,
    g: String,
    l: String,
    b_reopen: u64,
    g_ack: u64,
    g_message: u64,
    g_agent_rating: u64,
    l_ack: u64,
    size: u64,
}

/// Four tickets, timed from `t0` (now):
/// - A, complaint: created t0−10 d, acknowledged 1 h later, final response
///   t0−9 d, resolved an hour after that.
/// - B, complaint: created t0−10 d, resolved t0−8 d; reopened now, in a
///   batch of its own.
/// - G, support request, games its figures: created t0−5 d; acknowledged
///   "t0−4 d" though recorded now; an agent reply dated before the ticket
///   was created; resolved; rated 2/5 by the customer, then 5/5 by an agent.
/// - L, complaint: created t0−5 d+30 min (acknowledgement due at t0+30
///   min), acknowledged now, but anchored two hours later (the chain's
///   clock moved on before the anchor): recorded in time by its own clock,
///   not by the chain's.
async fn scenario(app: &TestApp, chain: &Chain) -> Scenario {
    let t0 = Timestamp::now().millis();
    let a = app.create_ticket("A").await;
    add(app, &a, created(true, t0 - 10 * D)).await;
    add(
        app,
        &a,
        ev("ticket.acknowledged", json!({}), "agent", t0 - 10 * D + H),
    )
    .await;
    add(
        app,
        &a,
        ev(
            "final_response.issued",
            json!({"outcome": "upheld", "referral_rights": true}),
            "agent",
            t0 - 9 * D,
        ),
    )
    .await;
    add(
        app,
        &a,
        ev(
            "ticket.resolved",
            json!({"resolution": "refunded"}),
            "agent",
            t0 - 9 * D + H,
        ),
    )
    .await;
    let b = app.create_ticket("B").await;
    add(app, &b, created(true, t0 - 10 * D)).await;
    add(
        app,
        &b,
        ev(
            "ticket.resolved",
            json!({"resolution": "rejected"}),
            "agent",
            t0 - 8 * D,
        ),
    )
    .await;
    let g = app.create_ticket("G").await;
    add(app, &g, created(false, t0 - 5 * D)).await;
    let g_ack = add(
        app,
        &g,
        ev("ticket.acknowledged", json!({}), "agent", t0 - 4 * D),
    )
    .await;
    let g_message = add(
        app,
        &g,
        ev(
            "message.added",
            json!({"direction": "outbound", "visibility": "public"}),
            "agent",
            t0 - 6 * D,
        ),
    )
    .await;
    add(
        app,
        &g,
        ev(
            "ticket.resolved",
            json!({"resolution": "answered"}),
            "agent",
            t0,
        ),
    )
    .await;
    add(
        app,
        &g,
        ev(
            "satisfaction.rated",
            json!({"score": 2, "scale": 5}),
            "customer",
            t0,
        ),
    )
    .await;
    let g_agent_rating = add(
        app,
        &g,
        ev(
            "satisfaction.rated",
            json!({"score": 5, "scale": 5}),
            "agent",
            t0,
        ),
    )
    .await;
    wait_anchored(app, chain).await;
    let b_reopen = add(
        app,
        &b,
        ev(
            "ticket.reopened",
            json!({"reason": "customer_disputes"}),
            "agent",
            t0,
        ),
    )
    .await;
    wait_anchored(app, chain).await;
    let l = app.create_ticket("L").await;
    add(app, &l, created(true, t0 - 5 * D + 30 * 60_000)).await;
    wait_anchored(app, chain).await;
    // The chain's clock jumps two hours: the next anchor's block is that
    // late.
    let rpc = reqwest::Client::new();
    let moved: Value = rpc
        .post(app.anvil.url())
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "evm_increaseTime", "params": [2 * 3600]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(moved.get("error").is_none(), "{moved}");
    let l_ack = add(app, &l, ev("ticket.acknowledged", json!({}), "agent", t0)).await;
    let size = wait_anchored(app, chain).await;
    Scenario {
        a,
        b,
        g,
        l,
        b_reopen,
        g_ack,
        g_message,
        g_agent_rating,
        l_ack,
        size,
    }
}

fn tickets(list: &[proofdesk::audit::kpi::Breach]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|b| b.ticket.clone()).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The honest control: every figure worked out by hand from the scenario.
fn assert_honest(r: &Report, s: &Scenario) {
    let o = &r.kpis.overall;
    assert_eq!((o.tickets, o.complaints), (4, 3));
    // Finding 8: G's rating by an agent does not count; its customer gave 2/5.
    assert_eq!((o.csat.numerator, o.csat.denominator), (0, 1));
    let flagged = |f: &proofdesk::audit::kpi::Flags| -> Vec<u64> {
        f.first.iter().map(|x| x.index).collect()
    };
    let integrity = &r.kpis.integrity;
    assert_eq!(
        flagged(&integrity.rating_not_by_customer),
        vec![s.g_agent_rating]
    );
    // G's reply dated before G was created is flagged and not a 0 ms first
    // response: no ticket has a first response.
    assert_eq!(flagged(&integrity.dated_before_creation), vec![s.g_message]);
    assert_eq!(o.first_response_time.count, 0);
    // G's acknowledgement says "4 days ago" but was told to the log now.
    assert!(flagged(&integrity.reported_earlier_than_recorded).contains(&s.g_ack));
    assert_eq!(o.time_to_acknowledgement.count, 3);
    // Resolved at the end: A and G (B was reopened).
    assert_eq!(o.time_to_resolution.count, 2);
    assert_eq!((o.reopen_rate.numerator, o.reopen_rate.denominator), (1, 3));
    // Regulatory acknowledgement, 5 days: A met (recorded now, long after
    // its deadline), B never acknowledged, L met by its own clock but
    // anchored after its deadline (finding 5): the log cannot vouch for it.
    let ack = &r.kpis.regulatory.acknowledgement;
    assert_eq!((ack.due, ack.met), (3, 2));
    assert_eq!(tickets(&ack.open_past_limit), vec![s.b.clone()]);
    assert_eq!(
        tickets(&ack.recorded_after_limit),
        sorted(vec![s.a.clone(), s.l.clone()])
    );
    // The late anchor itself is flagged by the audit.
    assert!(
        r.late_anchors.first.contains(&s.l_ack),
        "{:?}",
        r.late_anchors
    );
    let _ = &s.g;
}

// ------------------------------------------------------------ the story

async fn story(app: TestApp) {
    let from_block = 0;
    let chain = {
        let mut c = Chain::connect(&app.anvil.url(), app.contract, Duration::from_secs(5)).unwrap();
        c.from_block = from_block;
        c
    };
    let s = scenario(&app, &chain).await;
    let a = Auditor {
        front: Front::start(app.node.url()).await,
        app: &app,
        dir: tempfile::tempdir().unwrap(),
        from_block,
    };
    let last = s.size - 1;

    // The honest control.
    let clean = a.audit("clean").await;
    assert!(clean.ok, "{:#?}", clean.failures);
    assert_eq!(clean.coverage.kind, CoverageKind::WholeLog);
    assert_eq!((clean.first_index, clean.end_index), (0, s.size));
    assert_eq!(clean.verified_records, s.size);
    let report = a.report("clean", false).unwrap();
    assert_honest(&report, &s);
    match a.monitor(false).await {
        Stop::CaughtUp(m) => assert_eq!(m.next_index, s.size),
        other => panic!("monitor on an honest log: {other:?}"),
    }

    // Finding 1: the range comes from the chain, not the Proofdesk-Range
    // header. B's reopen and everything after it withheld, the header
    // ending the log there: the indices are named and the report refuses.
    a.front.set(Attack::EndAt(s.b_reopen));
    let r = a.audit("end_at").await;
    let gap = failure(&r, "index_gap", s.b_reopen);
    assert_eq!(gap.last_index, Some(last));
    refused(&a, "end_at", &r);
    // "0-0" and an empty body.
    a.front.set(Attack::Empty);
    let r = a.audit("empty").await;
    assert_eq!(failure(&r, "index_gap", 0).last_index, Some(last));
    refused(&a, "empty", &r);
    // Starting at batch 1: batch 0's records are missing, not "before the
    // range".
    let (_, b1) = app.get("/v1/batches/1").await;
    let b1_first = b1["first_index"].as_u64().unwrap();
    a.front.set(Attack::StartAt(b1_first));
    let r = a.audit("start_at").await;
    assert_eq!(failure(&r, "index_gap", 0).last_index, Some(b1_first - 1));
    assert!(r.partial_tickets.is_empty(), "{:?}", r.partial_tickets);
    refused(&a, "start_at", &r);
    // A resumed audit answered with an empty range at its resume point.
    let resume = a.dir.path().join("resume.json");
    a.front.set(Attack::CutAfter(5));
    let mut opts = a.options("resumed");
    opts.resume = Some(resume.clone());
    opts.checkpoint_every = Duration::ZERO;
    let r = a.audit_with(opts).await;
    assert!(!r.ok && r.stopped_early.is_some(), "{r:?}");
    assert!(resume.exists(), "a broken-off export keeps its place");
    // Finding 9: the resume file is bound to its range and checksummed.
    let mut other = a.options("resumed");
    other.resume = Some(resume.clone());
    other.from = Some(Bound::Index(3));
    let e = proofdesk::audit::run::run(other)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("for the range"), "{e}");
    let original = std::fs::read(&resume).unwrap();
    let mut damaged = original.clone();
    let at = damaged.len() / 2;
    damaged[at] = if damaged[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&resume, &damaged).unwrap();
    let mut opts = a.options("resumed");
    opts.resume = Some(resume.clone());
    let e = proofdesk::audit::run::run(opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("damaged"), "{e}");
    std::fs::write(&resume, &original).unwrap();
    a.front.set(Attack::Empty);
    let mut opts = a.options("resumed");
    opts.resume = Some(resume.clone());
    let r = a.audit_with(opts).await;
    let gap = r
        .failures
        .iter()
        .find(|f| f.kind == "index_gap")
        .expect("the resumed range is missing");
    assert!(
        gap.index.unwrap() >= 4 && gap.last_index == Some(last),
        "{gap:?}"
    );
    refused(&a, "resumed", &r);

    // Finding 2: lines labelled "not sealed" are still checked against the
    // batch the chain anchored them in. Batch 0 relabelled; the last batch
    // relabelled with its record replaced.
    let (_, b0) = app.get("/v1/batches/0").await;
    let b0_last = b0["count"].as_u64().unwrap() - 1;
    a.front.set(Attack::NullLabels {
        from: 0,
        to: b0_last,
        alter: None,
    });
    let r = a.audit("null_first").await;
    failure(&r, "batch_label", 0);
    failure(&r, "batch_label", b0_last);
    refused(&a, "null_first", &r);
    a.front.set(Attack::NullLabels {
        from: s.l_ack,
        to: s.l_ack,
        alter: Some(s.l_ack),
    });
    let r = a.audit("null_last").await;
    failure(&r, "batch_label", s.l_ack);
    failure(&r, "batch_head", s.l_ack);
    refused(&a, "null_last", &r);

    // Finding 3: a record line dressed as a result line is a bad line for
    // the audit (and would have been skipped by the old report).
    a.front.set(Attack::ResultPrefix(s.b_reopen));
    let r = a.audit("prefix").await;
    assert!(
        failure(&r, "record", s.b_reopen)
            .detail
            .contains("unknown member \"audit_result\""),
        "{:#?}",
        r.failures
    );
    refused(&a, "prefix", &r);
    // …and the report reads only the lines the audit verified: a saved
    // audit edited afterwards is refused.
    let clean_file = a.saved("clean");
    let text = std::fs::read_to_string(&clean_file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let dropped = lines.remove(s.b_reopen as usize);
    assert!(dropped.contains("ticket.reopened"));
    std::fs::write(a.saved("clean_edited"), lines.join("\n") + "\n").unwrap();
    let e = a.report("clean_edited", false).unwrap_err().to_string();
    assert!(e.contains("changed after the audit"), "{e}");

    // Finding 4: B's reopen withheld, the header honest. The report gives
    // no figures; with --partial it lists the missing index and says what
    // it cannot exclude.
    a.front.set(Attack::Omit(s.b_reopen));
    let r = a.audit("omit").await;
    failure(&r, "index_gap", s.b_reopen);
    refused(&a, "omit", &r);
    let partial = a.report("omit", true).unwrap();
    assert!(partial.unverified.partial_report);
    assert!(
        partial
            .unverified
            .ranges
            .iter()
            .any(|(x, z)| *x <= s.b_reopen && s.b_reopen <= *z),
        "{:?}",
        partial.unverified.ranges
    );
    assert!(
        partial
            .unverified
            .caveat
            .as_deref()
            .unwrap()
            .contains("withheld")
    );

    // Finding 7: the export's lines, waits and length are bounded.
    a.front.set(Attack::EndlessLine);
    let mut opts = a.options("endless");
    opts.limits.max_line = 256 * 1024;
    let r = a.audit_with(opts).await;
    assert!(
        r.stopped_early.as_deref().unwrap().contains("longer than"),
        "{r:?}"
    );
    assert_eq!(failure(&r, "index_gap", 0).last_index, Some(last));
    a.front.set(Attack::StallAfter(3));
    let mut opts = a.options("stall");
    opts.limits.idle = Duration::from_secs(1);
    let r = a.audit_with(opts).await;
    assert!(
        r.stopped_early.as_deref().unwrap().contains("sent nothing"),
        "{r:?}"
    );
    failure(&r, "index_gap", 3);
    let mut opts = a.options("slow");
    opts.limits.idle = Duration::from_secs(30);
    opts.limits.overall = Some(Duration::from_secs(1));
    let r = a.audit_with(opts).await;
    assert!(
        r.stopped_early
            .as_deref()
            .unwrap()
            .contains("longer than 1 s"),
        "{r:?}"
    );

    // Finding 6: the monitor takes a batch's size from the chain.
    a.front.set(Attack::EndlessLeaves { inflate: true });
    match a.monitor(false).await {
        Stop::Inconsistent { batch, detail } => {
            assert_eq!(batch, 0);
            assert!(detail.contains("1000000000000"), "{detail}");
        }
        other => panic!("monitor on inflated leaves: {other:?}"),
    }
    a.front.set(Attack::EndlessLeaves { inflate: false });
    match a.monitor(false).await {
        Stop::Inconsistent { batch, detail } => {
            assert_eq!(batch, 0);
            assert!(detail.contains("more than the"), "{detail}");
        }
        other => panic!("monitor on endless leaves: {other:?}"),
    }
    // Finding 9: a batch the log keeps failing to serve is reported.
    a.front.set(Attack::Fail503(1));
    match a.monitor(true).await {
        Stop::Unverifiable { batch, detail } => {
            assert_eq!(batch, 1);
            assert!(detail.contains("--give-up-after"), "{detail}");
        }
        other => panic!("monitor on a batch answering 503: {other:?}"),
    }

    // An index range is stated as such, never as the whole log.
    a.front.set(Attack::Honest);
    let mut opts = a.options("range");
    opts.from = Some(Bound::Index(b1_first));
    let r = a.audit_with(opts).await;
    assert!(r.ok, "{:#?}", r.failures);
    assert_eq!(r.coverage.kind, CoverageKind::IndexRange);
    assert!(
        r.coverage.why.contains("Not the whole log"),
        "{}",
        r.coverage.why
    );

    let _ = (&s.a, Path::new("."));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dishonest_log_fails_the_audit_on_sqlite() {
    story(TestApp::builder().spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dishonest_log_fails_the_audit_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    story(TestApp::builder().database(db).spawn().await).await;
}
