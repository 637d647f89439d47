//! Auditing from the outside, through real HTTP on 127.0.0.1, a real anvil
//! and a real database (SQLite, and PostgreSQL when PROOFDESK_TEST_PG is
//! set): five ticket lifecycles with known timings are recorded and
//! anchored; `proofdesk audit` verifies them and the report's KPIs equal
//! the values worked out by hand below from the scenario. Then the database
//! is tampered with behind the server's back (a record edited, a record
//! duplicated, an audit path and a root altered, a row deleted) and each
//! time the audit fails naming the index. The monitor passes on the real
//! contract and names the batch on a second contract anchored with a wrong
//! root. The HTML report is opened in headless Chromium.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256};
use alloy::providers::ProviderBuilder;
use chrono::{DateTime, Months, Utc};
use common::TestDb;
use proofdesk::anchor::contract::SupportAnchor;
use proofdesk::anchor::{Chain, OperatorKey};
use proofdesk::audit::check::Failure;
use proofdesk::audit::http::LogClient;
use proofdesk::audit::kpi::{Limits, Period};
use proofdesk::audit::monitor::{MonitorOptions, Stop};
use proofdesk::audit::progress::ProgressStyle;
use proofdesk::audit::render::{self, Report, ReportOptions};
use proofdesk::audit::result::AuditResult;
use proofdesk::audit::run::{AuditOptions, ExportLimits};
use proofdesk::devnet::DEV_KEYS;
use proofdesk::protocol::fields::Timestamp;
use proofdesk_testkit::TestApp;
use serde_json::{Value, json};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

/// The node of these stories, with a platform's key (`key`: ingest) and an
/// auditor's (`audit_key`), and what an auditor does with them.
struct App {
    app: TestApp,
    audit_key: String,
}

impl std::ops::Deref for App {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl App {
    async fn spawn(db: TestDb) -> App {
        let app = TestApp::builder()
            .database(db)
            .scopes(&["ingest"])
            .spawn()
            .await;
        let audit_key = app.create_key(&["audit"], "auditor").await;
        App { app, audit_key }
    }

    async fn stop(self) {
        self.app.stop().await;
    }

    /// POST with the platform's key, which must answer 201.
    async fn post_created(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.app.post(path, body).await;
        assert!(status == 201, "{path}: {status} {body}");
        body
    }

    /// Creates a ticket and records its events; returns the handle and the
    /// index of its first record.
    async fn ticket(&self, external: &str, events: Vec<Value>) -> (String, u64) {
        let created = self
            .post_created("/v1/tickets", json!({"external_id": external}))
            .await;
        let handle = created["ticket"].as_str().unwrap().to_owned();
        let mut first = None;
        for e in events {
            let r = self
                .post_created(&format!("/v1/tickets/{handle}/events"), e)
                .await;
            first.get_or_insert(r["record"]["index"].as_u64().unwrap());
        }
        (handle, first.unwrap())
    }

    fn chain(&self) -> Chain {
        let mut c =
            Chain::connect(&self.anvil.url(), self.contract, Duration::from_secs(5)).unwrap();
        c.from_block = self.from_block;
        c
    }

    /// Waits (bounded) until the chain anchors every record of the log.
    async fn wait_anchored(&self) -> u64 {
        let chain = self.chain();
        for _ in 0..240 {
            let (_, info) = self.get("/v1/log").await;
            let size = info["log_size"].as_u64().unwrap();
            if size > 0 && chain.next_index().await.unwrap() == size {
                return size;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("the log was not anchored within 60 s");
    }

    async fn audit(&self, out: &Path) -> AuditResult {
        proofdesk::audit::run::run(AuditOptions {
            log: LogClient::new(&self.node.url(), Some(self.audit_key.clone())).unwrap(),
            log_url: self.node.url(),
            chain: self.chain(),
            from: None,
            to: None,
            resume: None,
            out: Some(out.to_owned()),
            progress: ProgressStyle::Quiet,
            max_merge_delay_ms: Some(60_000),
            limits: ExportLimits::default(),
            checkpoint_every: proofdesk::audit::run::CHECKPOINT_EVERY,
        })
        .await
        .unwrap()
    }

    async fn monitor(&self, contract: Address, state: Option<PathBuf>) -> Stop {
        let mut chain = self.chain();
        chain.contract = contract;
        proofdesk::audit::monitor::run(MonitorOptions {
            log: LogClient::new(&self.node.url(), None).unwrap(),
            chain,
            state_file: state,
            follow: false,
            interval: Duration::from_secs(1),
            metrics_listen: None,
            verbose: false,
            give_up_after: Duration::from_secs(60),
            max_batch_leaves: proofdesk::audit::monitor::DEFAULT_MAX_BATCH_LEAVES,
            replay_map: false,
        })
        .await
        .unwrap()
    }

    /// Runs SQL on the server's database behind its back.
    async fn sql(&self, statement: &str) {
        if self.db.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&self.db.url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }

    async fn sql_text(&self, query: &str) -> String {
        if self.db.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.db.url).await.unwrap();
            let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            v
        } else {
            let pool = sqlx::PgPool::connect(&self.db.url).await.unwrap();
            let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            v
        }
    }

    fn sqlite(&self) -> bool {
        self.db.url.starts_with("sqlite:")
    }

    /// A blob column as lowercase hex, and the SQL literal to write one back.
    async fn blob_hex(&self, table: &str, column: &str, key: &str, id: u64) -> String {
        self.blob_hex_where(table, column, &format!("{key} = {id}"))
            .await
    }

    async fn blob_hex_where(&self, table: &str, column: &str, filter: &str) -> String {
        let q = if self.sqlite() {
            format!("SELECT lower(hex({column})) FROM {table} WHERE {filter}")
        } else {
            format!("SELECT encode({column}, 'hex') FROM {table} WHERE {filter}")
        };
        self.sql_text(&q).await
    }

    fn blob_literal(&self, hex: &str) -> String {
        if self.sqlite() {
            format!("X'{hex}'")
        } else {
            format!("decode('{hex}', 'hex')")
        }
    }
}

fn ts(ms: i64) -> String {
    Timestamp::from_millis(ms).unwrap().to_string()
}

fn ev(t: &str, data: Value, role: &str, channel: &str, at: i64) -> Value {
    json!({"type": t, "data": data, "actor": {"role": role, "ref": format!("{role}-7")},
           "channel": channel, "occurred_at": ts(at)})
}

fn created(category: &str, priority: &str, complaint: bool, channel: &str, at: i64) -> Value {
    ev(
        "ticket.created",
        json!({"category": category, "priority": priority, "complaint": complaint, "labels": {}}),
        "customer",
        channel,
        at,
    )
}

fn msg(role: &str, direction: &str, visibility: &str, at: i64) -> Value {
    ev(
        "message.added",
        json!({"direction": direction, "visibility": visibility}),
        role,
        "email",
        at,
    )
}

fn simple(t: &str, data: Value, at: i64) -> Value {
    ev(t, data, "agent", "email", at)
}

struct Scenario {
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
    t0: i64,
    first_index: u64,
}

/// Five lifecycles with known timings (see the table in each comment).
async fn record_scenario(app: &App) -> Scenario {
    let now = Timestamp::now().millis();
    // 90 days ago, on the hour: every limit of A, B and D has passed.
    let t0 = (now - 90 * D) / H * H;
    // A: complaint, withdrawal, high, email. ack 1 h, first response 2 h,
    // final response 10 d, resolved 10 d 1 h, rated 5/5, closed.
    let (a, first_index) = app
        .ticket(
            "A",
            vec![
                created("withdrawal", "high", true, "email", t0),
                simple("ticket.acknowledged", json!({}), t0 + H),
                msg("agent", "outbound", "public", t0 + 2 * H),
                simple(
                    "final_response.issued",
                    json!({"outcome": "upheld", "referral_rights": true}),
                    t0 + 10 * D,
                ),
                simple(
                    "ticket.resolved",
                    json!({"resolution": "refunded"}),
                    t0 + 10 * D + H,
                ),
                ev(
                    "satisfaction.rated",
                    json!({"score": 5, "scale": 5}),
                    "customer",
                    "email",
                    t0 + 11 * D,
                ),
                simple("ticket.closed", json!({}), t0 + 11 * D + H),
            ],
        )
        .await;
    // B: complaint, withdrawal, normal, web, created t0 + 1 d. First agent
    // reply 4 h (the customer's message and an internal note do not count),
    // ack 3 d, second public reply 2 d, escalated, final response 60 d,
    // resolved 61 d, reopened, resolved again 62 d, rated 3/5.
    let b0 = t0 + D;
    let (b, _) = app
        .ticket(
            "B",
            vec![
                created("withdrawal", "normal", true, "web", b0),
                msg("customer", "inbound", "public", b0 + H),
                msg("agent", "outbound", "public", b0 + 4 * H),
                msg("agent", "outbound", "internal", b0 + D),
                msg("agent", "outbound", "public", b0 + 2 * D),
                simple("ticket.acknowledged", json!({}), b0 + 3 * D),
                simple(
                    "ticket.escalated",
                    json!({"level": 1, "reason": "ombudsman_threat"}),
                    b0 + 5 * D,
                ),
                simple(
                    "final_response.issued",
                    json!({"outcome": "rejected", "referral_rights": true}),
                    b0 + 60 * D,
                ),
                simple(
                    "ticket.resolved",
                    json!({"resolution": "rejected"}),
                    b0 + 61 * D,
                ),
                simple(
                    "ticket.reopened",
                    json!({"reason": "customer_disputes"}),
                    b0 + 61 * D + 2 * H,
                ),
                simple(
                    "ticket.resolved",
                    json!({"resolution": "rejected"}),
                    b0 + 62 * D,
                ),
                ev(
                    "satisfaction.rated",
                    json!({"score": 3, "scale": 5}),
                    "customer",
                    "web",
                    b0 + 62 * D + H,
                ),
            ],
        )
        .await;
    // C: support request, account, low, chat, created t0 + 30 d. A bot
    // replies at 1 min (not an agent), the agent at 30 min, resolved 2 h,
    // rated 4/5.
    let c0 = t0 + 30 * D;
    let (c, _) = app
        .ticket(
            "C",
            vec![
                created("account", "low", false, "chat", c0),
                msg("bot", "outbound", "public", c0 + 60_000),
                msg("agent", "outbound", "public", c0 + 30 * 60_000),
                simple(
                    "ticket.resolved",
                    json!({"resolution": "answered"}),
                    c0 + 2 * H,
                ),
                ev(
                    "satisfaction.rated",
                    json!({"score": 4, "scale": 5}),
                    "customer",
                    "chat",
                    c0 + 3 * H,
                ),
            ],
        )
        .await;
    // D: complaint, account, urgent, email, created t0 + 5 d. ack 7 d (late),
    // agent reply 8 d, moved to pending, never answered finally.
    let d0 = t0 + 5 * D;
    let (d, _) = app
        .ticket(
            "D",
            vec![
                created("account", "urgent", true, "email", d0),
                simple("ticket.acknowledged", json!({}), d0 + 7 * D),
                msg("agent", "outbound", "public", d0 + 8 * D),
                simple(
                    "status.changed",
                    json!({"from": "new", "to": "pending"}),
                    d0 + 9 * D,
                ),
            ],
        )
        .await;
    // E: complaint, other, normal, api, created an hour ago: nothing due yet.
    let (e, _) = app
        .ticket("E", vec![created("other", "normal", true, "api", now - H)])
        .await;
    Scenario {
        a,
        b,
        c,
        d,
        e,
        t0,
        first_index,
    }
}

fn month(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m")
        .to_string()
}

fn add_months(ms: i64, n: u32) -> i64 {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .checked_add_months(Months::new(n))
        .unwrap()
        .timestamp_millis()
}

fn tickets_of(list: &[proofdesk::audit::kpi::Breach]) -> Vec<&str> {
    let mut v: Vec<&str> = list.iter().map(|b| b.ticket.as_str()).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort();
    v
}

/// The KPIs, each worked out by hand from the scenario above.
fn assert_hand_computed(r: &Report, s: &Scenario) {
    let o = &r.kpis.overall;
    assert_eq!((o.tickets, o.complaints, o.support_requests), (5, 4, 1));
    // Acknowledgement: A 1 h, B 3 d, D 7 d → p50 = 2nd of 3, p90 = 3rd.
    let ack = &o.time_to_acknowledgement;
    assert_eq!(
        (ack.count, ack.p50_ms, ack.p90_ms, ack.max_ms),
        (3, Some(3 * D), Some(7 * D), Some(7 * D))
    );
    // First response: C 30 min, A 2 h, B 4 h, D 8 d (bot and internal excluded).
    let fr = &o.first_response_time;
    assert_eq!(
        (fr.count, fr.p50_ms, fr.p90_ms, fr.max_ms),
        (4, Some(2 * H), Some(8 * D), Some(8 * D))
    );
    // Final response: A 10 d, B 60 d.
    let f = &o.time_to_final_response;
    assert_eq!(
        (f.count, f.p50_ms, f.p90_ms),
        (2, Some(10 * D), Some(60 * D))
    );
    // Resolution in effect: C 2 h, A 10 d 1 h, B 62 d (after its reopen).
    let res = &o.time_to_resolution;
    assert_eq!(
        (res.count, res.p50_ms, res.p90_ms, res.max_ms),
        (3, Some(10 * D + H), Some(62 * D), Some(62 * D))
    );
    // Reopened: B of A, B, C. Escalated: B of all five.
    assert_eq!((o.reopen_rate.numerator, o.reopen_rate.denominator), (1, 3));
    assert_eq!(
        (o.escalation_rate.numerator, o.escalation_rate.denominator),
        (1, 5)
    );
    // FCR: A (one reply) and C (one agent reply; the bot's does not count);
    // not B (reopened, escalated, two replies).
    assert_eq!(
        (
            o.first_contact_resolution.numerator,
            o.first_contact_resolution.denominator
        ),
        (2, 3)
    );
    // CSAT: 5/5 and 4/5 are good (≥ 0.8), 3/5 is not.
    assert_eq!((o.csat.numerator, o.csat.denominator), (2, 3));
    assert_eq!(
        o.score_distribution
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        vec![("3/5", 1), ("4/5", 1), ("5/5", 1)]
    );
    // What the overall figures rest on: five tickets from A's first record.
    assert_eq!(o.basis.tickets, 5);
    assert_eq!(o.basis.first_index, Some(s.first_index));
    assert!(o.basis.first_batch.is_some() && o.basis.last_batch.is_some());

    // Groups.
    let g = &r.kpis.groups;
    let w = &g["category"]["withdrawal"];
    assert_eq!((w.tickets, w.complaints), (2, 2));
    assert_eq!(
        (w.first_response_time.p50_ms, w.first_response_time.p90_ms),
        (Some(2 * H), Some(4 * H))
    );
    let acc = &g["category"]["account"];
    assert_eq!(
        (
            acc.tickets,
            acc.time_to_resolution.count,
            acc.time_to_resolution.p50_ms
        ),
        (2, 1, Some(2 * H))
    );
    let count = |dim: &str, key: &str| g[dim].get(key).map_or(0, |f| f.tickets);
    assert_eq!(
        (
            count("priority", "high"),
            count("priority", "normal"),
            count("priority", "low"),
            count("priority", "urgent")
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(
        (
            count("channel", "email"),
            count("channel", "web"),
            count("channel", "chat"),
            count("channel", "api")
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(
        (count("kind", "complaint"), count("kind", "support_request")),
        (4, 1)
    );
    let mut by_month = std::collections::BTreeMap::new();
    for at in [
        s.t0,
        s.t0 + D,
        s.t0 + 30 * D,
        s.t0 + 5 * D,
        Timestamp::now().millis() - H,
    ] {
        *by_month.entry(month(at)).or_insert(0u64) += 1;
    }
    for (m, n) in &by_month {
        assert_eq!(count("month", m), *n, "month {m}");
    }

    // Regulatory, complaints A, B, D, E; "now" is the latest recorded_at.
    let reg = &r.kpis.regulatory;
    assert_eq!(reg.complaints, 4);
    // Ack within 5 days: A and B met, D late (7 d), E not yet due.
    let a = &reg.acknowledgement;
    assert_eq!((a.due, a.met, a.pending), (3, 2, 1));
    assert_eq!(tickets_of(&a.late), vec![s.d.as_str()]);
    assert!(a.open_past_limit.is_empty());
    // Both were recorded (today) after their 5-day deadline had passed.
    assert_eq!(
        tickets_of(&a.recorded_after_limit),
        sorted(vec![&s.a, &s.b])
    );
    // DISP 56 days: A met (10 d), B late (60 d), D open past its limit.
    let disp = &reg.final_response_disp;
    assert_eq!((disp.due, disp.met, disp.pending), (3, 1, 1));
    assert_eq!(tickets_of(&disp.late), vec![s.b.as_str()]);
    assert_eq!(tickets_of(&disp.open_past_limit), vec![s.d.as_str()]);
    assert_eq!(disp.share_met, Some(1.0 / 3.0));
    // MiCA 2 calendar months: A met; B (60 d) met only if its two months
    // from t0 + 1 d are at least 60 days long; D open past its limit.
    let b_met = s.t0 + D + 60 * D <= add_months(s.t0 + D, 2);
    let mica = &reg.final_response_mica;
    assert_eq!((mica.due, mica.met), (3, 1 + b_met as u64));
    assert_eq!(tickets_of(&mica.open_past_limit), vec![s.d.as_str()]);
    assert_eq!(mica.late.len(), (!b_met) as usize);
    let _ = (&s.c, &s.e);
}

fn failure<'a>(r: &'a AuditResult, kind: &str, index: u64) -> &'a Failure {
    r.failures
        .iter()
        .find(|f| f.kind == kind && f.index == Some(index))
        .unwrap_or_else(|| panic!("no {kind} failure at index {index}: {:#?}", r.failures))
}

async fn story(app: App) {
    let scenario = record_scenario(&app).await;
    let size = app.wait_anchored().await;
    assert_eq!(size, 7 + 12 + 5 + 4 + 1);
    let dir = tempfile::tempdir().unwrap();

    // The leaves endpoint: hashes only, paged, bounded, problem+json.
    let (_, b0) = app.get("/v1/batches/0").await;
    let count0 = b0["count"].as_u64().unwrap();
    let (status, page) = app.get("/v1/batches/0/leaves?from=0&limit=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["leaves"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["next"],
        if count0 > 1 { json!(1) } else { Value::Null }
    );
    assert!(!page.to_string().contains("tk_"), "no handles in leaves");
    let past_end = format!("/v1/batches/0/leaves?from={count0}");
    for bad in [
        "/v1/batches/0/leaves?limit=0",
        "/v1/batches/0/leaves?limit=100000",
        past_end.as_str(),
        "/v1/batches/x/leaves",
        "/v1/batches/0/leaves?from=-1",
    ] {
        let (status, problem) = app.get(bad).await;
        assert_eq!(status, 400, "{bad}: {problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{bad}"
        );
    }
    assert_eq!(app.get("/v1/batches/999/leaves").await.0, 404);
    // The export needs the audit scope.
    let (status, _) = app.get("/v1/export").await;
    assert_eq!(status, 401);
    let forbidden = app
        .http
        .get(format!("{}/v1/export", app.node.url()))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status().as_u16(), 403);
    let bad_range = app
        .http
        .get(format!(
            "{}/v1/export?from=1&since=2026-01-01T00:00:00Z",
            app.node.url()
        ))
        .bearer_auth(&app.audit_key)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_range.status().as_u16(), 400);

    // A clean audit, and the report computed from it.
    let saved = dir.path().join("clean.jsonl");
    let clean = app.audit(&saved).await;
    assert!(clean.ok, "{:#?}", clean.failures);
    assert_eq!(
        (clean.first_index, clean.end_index, clean.records),
        (0, size, size)
    );
    assert_eq!(clean.tickets, 5);
    assert!(
        clean.batches.iter().all(|b| b.tx.is_some()),
        "every batch has its anchoring tx"
    );
    let report = render::report_from_saved(
        &saved,
        Period::default(),
        Limits::default(),
        ReportOptions::default(),
    )
    .unwrap();
    assert_hand_computed(&report, &scenario);
    assert!(report.unverified.failures.is_empty());

    // Time and index ranges: the served range is in the header, widened to
    // whole batches on request; a range audit from mid-log lists the
    // tickets created before it instead of failing them.
    let range_of = |query: &'static str| {
        let (http, url, key) = (app.http.clone(), app.node.url(), app.audit_key.clone());
        async move {
            let resp = http
                .get(format!("{url}/v1/export?{query}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{query}");
            let range = resp.headers()["proofdesk-range"]
                .to_str()
                .unwrap()
                .to_owned();
            let lines = resp.text().await.unwrap().lines().count();
            (range, lines)
        }
    };
    assert_eq!(
        range_of("since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z").await,
        (format!("0-{size}"), size as usize)
    );
    assert_eq!(
        range_of("since=2099-01-01T00:00:00Z").await,
        ("0-0".to_owned(), 0)
    );
    let (widened, _) = range_of("from=5&to=6&whole_batches=true").await;
    let (a, z) = widened.split_once('-').unwrap();
    let (a, z): (u64, u64) = (a.parse().unwrap(), z.parse().unwrap());
    assert!(a <= 5 && z >= 6 && z - a >= 1, "{widened}");
    let mid = proofdesk::audit::run::run(AuditOptions {
        log: LogClient::new(&app.node.url(), Some(app.audit_key.clone())).unwrap(),
        log_url: app.node.url(),
        chain: app.chain(),
        from: Some(proofdesk::audit::run::Bound::Index(
            scenario.first_index + 8,
        )),
        to: None,
        resume: None,
        out: None,
        progress: ProgressStyle::Lines,
        max_merge_delay_ms: Some(60_000),
        limits: ExportLimits::default(),
        checkpoint_every: proofdesk::audit::run::CHECKPOINT_EVERY,
    })
    .await
    .unwrap();
    assert!(mid.ok, "{:#?}", mid.failures);
    assert!(mid.first_index <= scenario.first_index + 8 && mid.first_index > 0);
    assert!(
        mid.partial_tickets.contains(&scenario.b),
        "B started before the range"
    );

    // The monitor agrees with the real contract and keeps its place.
    let state = dir.path().join("monitor.json");
    match app.monitor(app.contract, Some(state.clone())).await {
        Stop::CaughtUp(s) => assert_eq!(s.next_index, size),
        other => panic!("monitor on the real contract: {other:?}"),
    }
    let saved_state: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved_state["next_index"], size);

    // 1. A record edited in the database: the audit names its index.
    let k = scenario.first_index + 1; // A's ticket.acknowledged
    app.sql(&format!(
        "UPDATE events SET record = replace(record, '\"channel\":\"email\"', '\"channel\":\"phone\"') WHERE idx = {k}"
    ))
    .await;
    let r = app.audit(&dir.path().join("edited.jsonl")).await;
    assert!(!r.ok);
    assert!(
        failure(&r, "leaf", k)
            .detail
            .contains("changed after it was anchored")
    );
    // The report over that audit refuses figures, and with --partial
    // leaves ticket A out and lists it.
    let edited = dir.path().join("edited.jsonl");
    let refused = render::report_from_saved(
        &edited,
        Period::default(),
        Limits::default(),
        ReportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("the audit failed") && refused.contains("--partial"),
        "{refused}"
    );
    let tampered = render::report_from_saved(
        &edited,
        Period::default(),
        Limits::default(),
        ReportOptions {
            partial: true,
            ..ReportOptions::default()
        },
    )
    .unwrap();
    assert!(tampered.unverified.partial_report);
    assert_eq!(tampered.kpis.overall.tickets, 4);
    assert!(tampered.unverified.excluded_tickets.contains(&scenario.a));
    app.sql(&format!(
        "UPDATE events SET record = replace(record, '\"channel\":\"phone\"', '\"channel\":\"email\"') WHERE idx = {k}"
    ))
    .await;
    assert!(app.audit(&dir.path().join("restored.jsonl")).await.ok);

    // 2. Equivocation: another record rewritten to claim A's (ticket, seq 1).
    let original = app
        .sql_text(&format!("SELECT record FROM events WHERE idx = {k}"))
        .await;
    let victim = size - 1; // E's ticket.created
    let victim_text = app
        .sql_text(&format!("SELECT record FROM events WHERE idx = {victim}"))
        .await;
    let mut forged: Value = serde_json::from_str(&original).unwrap();
    forged["index"] = json!(victim);
    let forged =
        String::from_utf8(proofdesk::protocol::canonical::canonicalize(&forged).unwrap()).unwrap();
    app.sql(&format!(
        "UPDATE events SET record = '{forged}' WHERE idx = {victim}"
    ))
    .await;
    let r = app.audit(&dir.path().join("dup.jsonl")).await;
    let dup = failure(&r, "duplicate", victim);
    assert_eq!(dup.ticket.as_deref(), Some(scenario.a.as_str()));
    assert!(dup.detail.contains(&format!("index {k}")), "{}", dup.detail);
    app.sql(&format!(
        "UPDATE events SET record = '{victim_text}' WHERE idx = {victim}"
    ))
    .await;

    // 3. A stored tree tile altered (the audit paths of the first 16
    // events of a batch read it): named by the batch's first index.
    let b: u64 = app
        .sql_text("SELECT CAST(MIN(batch_id) AS TEXT) FROM batch_tiles")
        .await
        .parse()
        .unwrap();
    let (_, tiled) = app.get(&format!("/v1/batches/{b}")).await;
    let p = tiled["first_index"].as_u64().unwrap();
    let tile = format!("batch_id = {b} AND stratum = 0 AND tile = 0");
    let tile_hex = app.blob_hex_where("batch_tiles", "hashes", &tile).await;
    let zeros = "0".repeat(tile_hex.len());
    app.sql(&format!(
        "UPDATE batch_tiles SET hashes = {} WHERE {tile}",
        app.blob_literal(&zeros)
    ))
    .await;
    let r = app.audit(&dir.path().join("path.jsonl")).await;
    failure(&r, "path", p);
    app.sql(&format!(
        "UPDATE batch_tiles SET hashes = {} WHERE {tile}",
        app.blob_literal(&tile_hex)
    ))
    .await;

    // 4. A batch root altered: named by the batch's first index; the
    // monitor names the batch too.
    let (_, b1) = app.get("/v1/batches/1").await;
    let first1 = b1["first_index"].as_u64().unwrap();
    let root_hex = app.blob_hex("batches", "root", "id", 1).await;
    app.sql(&format!(
        "UPDATE batches SET root = {} WHERE id = 1",
        app.blob_literal(&"0".repeat(64))
    ))
    .await;
    let r = app.audit(&dir.path().join("root.jsonl")).await;
    assert_eq!(failure(&r, "batch_root", first1).batch, Some(1));
    let fresh_state = dir.path().join("monitor2.json");
    match app.monitor(app.contract, Some(fresh_state)).await {
        Stop::Inconsistent { batch, detail } => assert_eq!(batch, 1, "{detail}"),
        other => panic!("monitor missed the altered root: {other:?}"),
    }
    app.sql(&format!(
        "UPDATE batches SET root = {} WHERE id = 1",
        app.blob_literal(&root_hex)
    ))
    .await;

    // The monitor: a second contract anchored with a wrong root for the
    // log's batch 0 is a fake chain state, and the monitor names batch 0.
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (fake, _) = proofdesk::anchor::deploy::deploy(
        &app.anvil.url(),
        &operator,
        None,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let (_, b0) = app.get("/v1/batches/0").await;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(operator.signer().clone()))
        .connect_http(app.anvil.url().parse().unwrap());
    let pending = SupportAnchor::new(fake, &provider)
        .anchor(0, 0, b0["count"].as_u64().unwrap(), B256::repeat_byte(0x42))
        .send()
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), pending.get_receipt())
        .await
        .expect("anchor on the fake contract mined")
        .unwrap();
    match app.monitor(fake, None).await {
        Stop::Inconsistent { batch, detail } => {
            assert_eq!(batch, 0);
            assert!(detail.contains("batchHead(0) on chain"), "{detail}");
        }
        other => panic!("monitor missed the wrong head: {other:?}"),
    }

    // The HTML report of the clean audit opens in headless Chromium with
    // every chart painted. One folder per backend: the two stories run at
    // once, and a shared report.html was read by one while the other
    // rewrote it (Chromium then found no finished chart script).
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/audit-report")
        .join(app.node.store.backend());
    proofdesk::audit::report_files::write_all(&report, &out).unwrap();
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert!(
        csv.lines().any(|l| l.starts_with("all,all,csat,,,,,2,3,")),
        "{csv}"
    );
    check_html_in_chromium(&out);

    // 5. An event row deleted: the gap is named by its index.
    let j = scenario.first_index + 3;
    app.sql(&format!("DELETE FROM content WHERE idx = {j}"))
        .await;
    app.sql(&format!("DELETE FROM events WHERE idx = {j}"))
        .await;
    let r = app.audit(&dir.path().join("deleted.jsonl")).await;
    assert!(!r.ok);
    assert!(
        failure(&r, "index_gap", j)
            .detail
            .contains(&format!("records {j}..={j}"))
    );

    app.stop().await;
}

fn chromium() -> Option<String> {
    if let Ok(p) = std::env::var("PROOFDESK_CHROMIUM") {
        return Some(p);
    }
    let ok = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| "chromium".to_owned())
}

fn check_html_in_chromium(dir: &Path) {
    let Some(bin) = chromium() else {
        eprintln!("SKIPPED: no chromium (set PROOFDESK_CHROMIUM): HTML report not opened");
        return;
    };
    let url = format!("file://{}", dir.join("report.html").display());
    // Desktop, then a phone's 390 px: every chart paints at both, and the
    // chart grid wraps to one column on the phone.
    for (width, height, columns) in [(1200, 1400, "2"), (390, 844, "1")] {
        let profile = tempfile::tempdir().unwrap();
        let run = |extra: &str| {
            let out = std::process::Command::new(&bin)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ])
                .arg(format!("--window-size={width},{height}"))
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg(extra)
                .arg(&url)
                .output()
                .expect("chromium runs");
            assert!(
                out.status.success(),
                "chromium: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let dom = run("--dump-dom");
        assert!(
            dom.contains("data-charts=\"rendered\""),
            "the chart script did not finish at {width} px; the DOM ends: {}",
            dom.chars()
                .skip(dom.chars().count().saturating_sub(2000))
                .collect::<String>()
        );
        assert!(
            dom.contains(&format!("data-grid-columns=\"{columns}\"")),
            "{columns} chart column(s) expected at {width} px"
        );
        let painted: Vec<u64> = dom
            .split("data-painted-pixels=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(painted.len(), 5, "five charts");
        assert!(
            painted.iter().all(|&n| n > 1000),
            "every chart painted pixels at {width} px: {painted:?}"
        );
        assert!(
            dom.contains("class=\"heat\""),
            "the round-the-clock heat map"
        );
        let png = dir.join(format!("report-{width}.png"));
        run(&format!("--screenshot={}", png.display()));
        assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
    }
}

/// Issue 30's lives, from a Monday 10:00 UTC about two months ago (`m`):
/// - P waits on the customer twice: created Mon 10:00, assigned to the
///   payments team at 11:00, pending 12:00–14:00, on hold Tue 10:00–16:00,
///   resolved Tue 18:00. Handling time: 31 h − 8 h = 23 h.
/// - R is reassigned: created Mon 10:00, assigned (payments) 10:30,
///   reassigned (kyc) 13:00, resolved 15:30. Handling time 5 h, team kyc.
/// - U is never assigned: created Wed 09:00, resolved 10:00. Handling
///   time from creation: 1 h.
/// - Ratings: P's customer gives CSAT 4/5 and NPS 6, then NPS 9 (the
///   later answer counts); R's customer NPS 3, U's NPS 7.
/// - N is opened at night: Tue 03:00, acknowledged 03:20, answered 03:40.
/// - W is opened at the weekend: Sun 14:00, acknowledged Mon 09:00 (19 h),
///   answered Mon 10:00 (20 h).
async fn handling(app: App) {
    let now = Timestamp::now().millis();
    let day = (now - 60 * D) / D * D;
    let weekday = DateTime::<Utc>::from_timestamp_millis(day)
        .unwrap()
        .format("%u")
        .to_string()
        .parse::<i64>()
        .unwrap(); // 1 = Monday
    let m = day - (weekday - 1) * D + 10 * H;
    let assigned = |group: &str, at: i64| {
        simple(
            "ticket.assigned",
            json!({"assignee": "agent-3", "group": group}),
            at,
        )
    };
    let status = |from: &str, to: &str, at: i64| {
        simple("status.changed", json!({"from": from, "to": to}), at)
    };
    let resolved = |at: i64| simple("ticket.resolved", json!({"resolution": "answered"}), at);
    let rated = |data: Value, at: i64| ev("satisfaction.rated", data, "customer", "email", at);
    let (p, _) = app
        .ticket(
            "P",
            vec![
                created("withdrawal", "normal", false, "email", m),
                assigned("payments", m + H),
                status("new", "pending", m + 2 * H),
                status("pending", "open", m + 4 * H),
                status("open", "on_hold", m + D),
                status("on_hold", "open", m + D + 6 * H),
                resolved(m + D + 8 * H),
                // CSAT and NPS on one ticket; the NPS answer replaced.
                rated(json!({"score": 4, "scale": 5}), m + D + 9 * H),
                rated(
                    json!({"score": 6, "scale": 10, "survey": "nps"}),
                    m + D + 9 * H,
                ),
                rated(json!({"score": 9, "scale": 10, "survey": "nps"}), m + 2 * D),
            ],
        )
        .await;
    let (r, _) = app
        .ticket(
            "R",
            vec![
                created("account", "normal", false, "email", m),
                assigned("payments", m + H / 2),
                assigned("kyc", m + 3 * H),
                resolved(m + 5 * H + H / 2),
                rated(json!({"score": 3, "scale": 10, "survey": "nps"}), m + 6 * H),
            ],
        )
        .await;
    let (u, _) = app
        .ticket(
            "U",
            vec![
                created("account", "low", false, "web", m + 2 * D - H),
                resolved(m + 2 * D),
                rated(
                    json!({"score": 7, "scale": 10, "survey": "nps"}),
                    m + 2 * D + H,
                ),
            ],
        )
        .await;
    let n0 = m + D - 7 * H; // Tue 03:00
    let (n, _) = app
        .ticket(
            "N",
            vec![
                created("withdrawal", "high", true, "chat", n0),
                simple("ticket.acknowledged", json!({}), n0 + 20 * 60_000),
                msg("agent", "outbound", "public", n0 + 40 * 60_000),
            ],
        )
        .await;
    let w0 = m - D + 4 * H; // the Sunday before, 14:00
    let (w, _) = app
        .ticket(
            "W",
            vec![
                created("withdrawal", "high", true, "web", w0),
                simple("ticket.acknowledged", json!({}), w0 + 19 * H),
                msg("agent", "outbound", "public", w0 + 20 * H),
            ],
        )
        .await;
    app.wait_anchored().await;
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("handling.jsonl");
    assert!(app.audit(&saved).await.ok);
    let report = render::report_from_saved(
        &saved,
        Period::default(),
        Limits::default(),
        ReportOptions {
            zone: Some("Asia/Shanghai".parse().unwrap()),
            ..ReportOptions::default()
        },
    )
    .unwrap();
    let o = &report.kpis.overall;

    // Handling time: P 23 h, R 5 h, U 1 h (N and W are not resolved).
    let aht = &o.handling_time;
    assert_eq!(
        (aht.count, aht.p50_ms, aht.p90_ms, aht.max_ms),
        (3, Some(5 * H), Some(23 * H), Some(23 * H))
    );
    assert_eq!(aht.mean_ms, Some((23 + 5 + 1) * H / 3));
    assert_eq!(aht.basis.tickets, 3);
    let team = |t: &str| report.kpis.groups["team"][t].handling_time;
    assert_eq!(
        (team("payments").count, team("payments").mean_ms),
        (1, Some(23 * H))
    );
    assert_eq!((team("kyc").count, team("kyc").mean_ms), (1, Some(5 * H)));
    assert_eq!(
        (team("unassigned").count, team("unassigned").mean_ms),
        (1, Some(H))
    );
    assert_eq!(
        report.kpis.groups["team"]["unassigned"].tickets, 3,
        "U, N, W"
    );

    // NPS over each ticket's latest answer: P 9 (its 6 replaced), R 3, U 7:
    // one promoter, one passive, one detractor; CSAT counts P's 4/5 only.
    let nps = &o.nps;
    assert_eq!(
        (
            nps.answers,
            nps.promoters,
            nps.passives,
            nps.detractors,
            nps.score
        ),
        (3, 1, 1, 1, Some(0.0))
    );
    assert_eq!(nps.basis.tickets, 3);
    assert_eq!((o.csat.numerator, o.csat.denominator), (1, 1));

    // Round the clock, UTC then Asia/Shanghai (UTC+8, no DST).
    let [utc, cst] = &report.kpis.coverage[..] else {
        panic!("two zones: {:?}", report.kpis.coverage.len())
    };
    assert_eq!(
        (utc.zone.as_str(), cst.zone.as_str()),
        ("UTC", "Asia/Shanghai")
    );
    let tickets_by_hour = |c: &proofdesk::audit::kpi::Coverage| -> Vec<(usize, u64)> {
        c.by_hour
            .iter()
            .enumerate()
            .filter(|(_, s)| s.tickets > 0)
            .map(|(h, s)| (h, s.tickets))
            .collect()
    };
    assert_eq!(tickets_by_hour(utc), vec![(3, 1), (9, 1), (10, 2), (14, 1)]);
    assert_eq!(
        tickets_by_hour(cst),
        vec![(11, 1), (17, 1), (18, 2), (22, 1)]
    );
    let night = &utc.by_hour[3];
    assert_eq!(night.time_to_acknowledgement.p50_ms, Some(20 * 60_000));
    assert_eq!(night.first_response_time.p50_ms, Some(40 * 60_000));
    let weekend = &utc.by_weekday[6];
    assert_eq!(weekend.tickets, 1);
    assert_eq!(weekend.time_to_acknowledgement.p50_ms, Some(19 * H));
    assert_eq!(weekend.first_response_time.p50_ms, Some(20 * H));
    let days: Vec<u64> = utc.by_weekday.iter().map(|s| s.tickets).collect();
    assert_eq!(days, vec![2, 1, 1, 0, 0, 0, 1]);
    // Sunday 14:00 UTC is Sunday 22:00 in Shanghai; Tuesday 03:00 is 11:00.
    assert_eq!(cst.grid[6][22].first_response_time.p50_ms, Some(20 * H));
    assert_eq!(cst.grid[1][11].tickets, 1);

    // JSON, CSV and HTML carry them, each with its basis.
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/audit-report")
        .join(format!("handling-{}", app.node.store.backend()));
    proofdesk::audit::report_files::write_all(&report, &out).unwrap();
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        json["kpis"]["overall"]["handling_time"]["basis"]["tickets"],
        3
    );
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let mean = (23 + 5 + 1) * H / 3;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("all,all,handling_time,3,") && l.ends_with(&format!(",{mean}"))),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("hour_of_day:UTC,03,first_response_time,1,2400000,")),
        "{csv}"
    );
    assert!(
        csv.contains("weekday:Asia/Shanghai,Sun,tickets,1,"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("all,all,nps,3,,,,1,1,0.00,3,")),
        "{csv}"
    );
    assert_eq!(json["kpis"]["overall"]["nps"]["score"], 0.0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"nps\""), "the NPS row");
    assert!(
        html.contains("Handling time") && html.contains("9.7 h"),
        "the mean, in hours"
    );
    // minijinja escapes the zone's "/" in the attribute.
    assert!(
        html.contains("data-zone=\"Asia&#x2f;Shanghai\""),
        "the zone's heat map"
    );
    check_html_in_chromium(&out);
    let _ = (p, r, u, n, w);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handling_time_and_round_the_clock_on_sqlite() {
    handling(App::spawn(TestDb::sqlite().await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handling_time_and_round_the_clock_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    handling(App::spawn(db).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_report_and_monitor_on_sqlite() {
    story(App::spawn(TestDb::sqlite().await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_report_and_monitor_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    story(App::spawn(db).await).await;
}
