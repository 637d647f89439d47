//! Messages that tell the user what to fix (issue 28 §5): each message a
//! new user hit, asserted word for word, against the real router on
//! 127.0.0.1 over a real SQLite store, and the real binary for the CLI.

mod api_support;
mod common;

use api_support::ApiServer;
use common::TestDb;
use proofdesk::api::auth::create_key;
use proofdesk::protocol::fields::Timestamp;
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    app: ApiServer,
    key: String,
}

fn event(t: &str, data: Value) -> Value {
    json!({"type": t, "data": data, "actor": {"role": "agent", "ref": "agent-1"},
           "channel": "email", "occurred_at": Timestamp::now().to_string()})
}

fn created(priority: &str) -> Value {
    event(
        "ticket.created",
        json!({"category": "withdrawal", "priority": priority, "complaint": true, "labels": {}}),
    )
}

impl Client {
    async fn start(db: &TestDb) -> Client {
        let key = create_key(db.store(), &["ingest".into()], "msg")
            .await
            .unwrap();
        Client {
            http: reqwest::Client::new(),
            app: ApiServer::start(db.store.clone()).await,
            key,
        }
    }

    async fn ticket(&self, external: &str) -> String {
        let r: Value = self
            .http
            .post(self.app.url("/v1/tickets"))
            .bearer_auth(&self.key)
            .json(&json!({ "external_id": external }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["ticket"].as_str().unwrap().to_owned()
    }

    /// Posts raw bytes as an event; returns the status and the problem's detail.
    async fn raw(&self, ticket: &str, body: &str, idem: Option<&str>) -> (u16, String) {
        let mut req = self
            .http
            .post(self.app.url(&format!("/v1/tickets/{ticket}/events")))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        (status, v["detail"].as_str().unwrap_or("").to_owned())
    }

    async fn post(&self, ticket: &str, body: &Value) -> (u16, String) {
        self.raw(ticket, &body.to_string(), None).await
    }
}

#[tokio::test]
async fn priority_values_name_the_member_and_the_words_the_api_takes() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let t = c.ticket("prio").await;
    assert_eq!(c.post(&t, &created("urgent")).await.0, 201);

    let (s, d) = c
        .post(
            &t,
            &event("priority.changed", json!({"from": "urgent", "to": 5})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        d,
        "data of priority.changed: to: invalid type: integer `5`, expected priority (low, normal, high or urgent)"
    );
    let (s, d) = c
        .post(
            &t,
            &event("priority.changed", json!({"from": "Urgent", "to": "low"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        d,
        "data of priority.changed: from: unknown priority \"Urgent\": use low, normal, high or urgent"
    );
    // A wrong `from` is named as the API writes priorities.
    let (s, d) = c
        .post(
            &t,
            &event("priority.changed", json!({"from": "low", "to": "high"})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        d,
        "priority.changed claims from=low but the ticket's priority is urgent"
    );
    let (s, d) = c
        .post(
            &t,
            &event(
                "status.changed",
                json!({"from": "open", "to": {"open": null}}),
            ),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        d,
        "data of status.changed: to: invalid type: map, expected status (new, open, pending, on_hold, solved or closed)"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn the_single_event_endpoint_names_no_item_and_a_closed_ticket_names_what_it_takes() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let t = c.ticket("single").await;
    // Not "event 0: …": the request has one event.
    let (s, d) = c
        .post(
            &t,
            &event(
                "message.added",
                json!({"direction": "inbound", "visibility": "public"}),
            ),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        d,
        "the first event of a ticket must be ticket.created, not message.added"
    );

    assert_eq!(c.post(&t, &created("normal")).await.0, 201);
    let resolved = event("ticket.resolved", json!({"resolution": "refunded"}));
    assert_eq!(c.post(&t, &resolved).await.0, 201);
    assert_eq!(c.post(&t, &event("ticket.closed", json!({}))).await.0, 201);
    let (s, d) = c
        .post(
            &t,
            &event(
                "message.added",
                json!({"direction": "inbound", "visibility": "public"}),
            ),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        d,
        "message.added is not accepted on a closed ticket: only satisfaction.rated is, and ticket.reopened when the policy allows reopening closed tickets"
    );
    // As it says: a late rating is accepted.
    let rated = event("satisfaction.rated", json!({"score": 4, "scale": 5}));
    assert_eq!(c.post(&t, &rated).await.0, 201);

    // A bulk request still names the item.
    let r: Value = c
        .http
        .post(c.app.url("/v1/events/bulk"))
        .bearer_auth(&c.key)
        .json(&json!({"events": [
            {"ticket": t, "event": event("message.added", json!({"direction": "inbound", "visibility": "public"}))}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .starts_with("event 0: message.added is not accepted on a closed ticket"),
        "{r}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn an_idempotency_key_reused_on_another_ticket_says_so() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let (a, b) = (c.ticket("idem-a").await, c.ticket("idem-b").await);
    let body = created("normal").to_string();
    assert_eq!(c.raw(&a, &body, Some("evt-1")).await.0, 201);
    // The same key and body: the first answer again.
    assert_eq!(c.raw(&a, &body, Some("evt-1")).await.0, 200);
    // The same key and body on another ticket: not "a different body".
    let (s, d) = c.raw(&b, &body, Some("evt-1")).await;
    assert_eq!(s, 409);
    assert_eq!(
        d,
        format!(
            "Idempotency-Key \"evt-1\" was already used for an event on ticket {a}: a key names one request, so send this one with a new key"
        )
    );
    // The same key on the same ticket with another body.
    let other = created("high").to_string();
    let (s, d) = c.raw(&a, &other, Some("evt-1")).await;
    assert_eq!(s, 409);
    assert_eq!(
        d,
        "Idempotency-Key \"evt-1\" was already used on this ticket with a different request body: a retry sends the same body, a new request a new key"
    );
    db.cleanup().await;
}

/// A body is read in one pass unless it carries an Idempotency-Key, whose
/// hash is the canonical bytes of the body's strict tree: so a retry written
/// another way (members in another order, other spacing, 4.0 for 4) is the
/// same request, and whole numbers are integers whichever way it is read.
#[tokio::test]
async fn a_retry_written_another_way_is_the_same_request() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let at = Timestamp::now().to_string();
    let first = format!(
        r#"{{"type":"satisfaction.rated","data":{{"score":4,"scale":5}},"actor":{{"role":"customer","ref":"c-1"}},"channel":"web","occurred_at":"{at}"}}"#
    );
    let again = format!(
        r#"{{ "occurred_at": "{at}", "channel": "web",
             "actor": {{ "ref": "c-1", "role": "customer" }},
             "data": {{ "scale": 5.0, "score": 4e0 }}, "type": "satisfaction.rated" }}"#
    );
    // A rating follows a resolution.
    let resolved = event("ticket.resolved", json!({"resolution": "refunded"}));
    let t = c.ticket("idem-written").await;
    assert_eq!(c.post(&t, &created("normal")).await.0, 201);
    assert_eq!(c.post(&t, &resolved).await.0, 201);
    assert_eq!(c.raw(&t, &first, Some("rate-1")).await.0, 201);
    assert_eq!(c.raw(&t, &again, Some("rate-1")).await.0, 200);

    let u = c.ticket("whole-numbers").await;
    assert_eq!(c.post(&u, &created("normal")).await.0, 201);
    assert_eq!(c.post(&u, &resolved).await.0, 201);
    let r = c
        .http
        .post(c.app.url(&format!("/v1/tickets/{u}/events")))
        .bearer_auth(&c.key)
        .header("content-type", "application/json")
        .body(again)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let r: Value = r.json().await.unwrap();
    assert_eq!(r["record"]["data"], json!({"score": 4, "scale": 5}));
    db.cleanup().await;
}

#[tokio::test]
async fn a_body_that_is_not_an_object_says_so() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let t = c.ticket("not-an-object").await;
    // serde would read the event's members from an array, in order.
    let (s, d) = c
        .raw(
            &t,
            &json!(["ticket.created", {}, {}, "web", "2026-01-01T00:00:00Z"]).to_string(),
            None,
        )
        .await;
    assert_eq!(
        (s, d.as_str()),
        (422, "the body must be a JSON object, not an array")
    );
    db.cleanup().await;
}

#[tokio::test]
async fn an_unpaired_surrogate_is_reported_as_one() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let t = c.ticket("surrogate").await;
    let body = r#"{"type": "ticket.created", "data": {"category": "x\ud800", "priority": "normal", "complaint": true, "labels": {}}}"#;
    let (s, d) = c.raw(&t, body, None).await;
    assert_eq!(s, 400);
    assert_eq!(
        d,
        "invalid JSON: a string has an unpaired surrogate escape (\\ud800 to \\udfff) at line 1 column 57: JSON strings must be Unicode text, so write the character itself or a high surrogate (\\ud800-\\udbff) followed by a low one (\\udc00-\\udfff)"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_401_names_the_scheme_that_would_work() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let http = reqwest::Client::new();
    for req in [
        http.post(c.app.url("/v1/tickets"))
            .json(&json!({"external_id": "x"})),
        http.post(c.app.url("/v1/tickets"))
            .bearer_auth("pdk_nope_nope")
            .json(&json!({"external_id": "x"})),
        http.get(c.app.url("/v1/keys")),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"proofdesk\""
        );
    }
    // A webhook's 401 names its signature header.
    db.store
        .integration_store()
        .insert_integration(
            &proofdesk::integrations::Integration::new(
                "zm",
                proofdesk::integrations::Vendor::Zammad,
                None,
                proofdesk::integrations::MappingOptions::defaults_for(
                    proofdesk::integrations::Vendor::Zammad,
                ),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let r = http
        .post(c.app.url("/v1/integrations/zammad/zm"))
        .header("x-zammad-delivery", "d-1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "X-Hub-Signature realm=\"proofdesk\""
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_browser_opening_a_bad_verify_link_gets_a_page() {
    let db = TestDb::sqlite().await;
    let c = Client::start(&db).await;
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let r = c
        .http
        .get(c.app.url("/verify/tk_zz"))
        .header("accept", browser_accept)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(r.headers().contains_key("content-security-policy"));
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<h1>This is not a ticket link</h1>"),
        "{page}"
    );
    assert!(page.contains("<code>tk_zz</code> is not a ticket handle"));
    assert!(page.contains("这不是工单链接"));
    // What the path says is shown, never run.
    let r = c
        .http
        .get(c.app.url("/verify/%3Cscript%3Ealert(1)%3C%2Fscript%3E"))
        .header("accept", browser_accept)
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // A program still gets the problem.
    let r = c.http.get(c.app.url("/verify/tk_zz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // A good handle is the verifier page, as before.
    let good = format!("/verify/tk_{}", "ab".repeat(16));
    let r = c
        .http
        .get(c.app.url(&good))
        .header("accept", browser_accept)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    db.cleanup().await;
}

fn proofdesk(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args(args)
        .env_remove("PROOFDESK_DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn every_database_option_takes_a_plain_path_as_dev_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dev.db");
    let path = path.to_str().unwrap();
    // A missing database is refused, not quietly created: a key in a new
    // file would belong to no server.
    let out = proofdesk(&["keys", "create", "--database", path, "--scopes", "audit"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("no database at {path}")) && said.contains("--new-database"),
        "{said}"
    );
    assert!(!std::path::Path::new(path).exists(), "nothing was created");
    for args in [
        vec!["keys", "list", "--database", path],
        vec!["integrations", "list", "--database", path],
    ] {
        let out = proofdesk(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!std::path::Path::new(path).exists(), "{args:?} created it");
    }
    // A first key before the server's first start says so.
    let out = proofdesk(&[
        "keys",
        "create",
        "--database",
        path,
        "--new-database",
        "--scopes",
        "audit",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let id = key.split('_').nth(1).unwrap().to_owned();
    // The same database, as a path and as a URL.
    for db in [path.to_owned(), format!("sqlite://{path}")] {
        let out = proofdesk(&["keys", "list", "--database", &db]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    }
    let out = proofdesk(&["integrations", "list", "--database", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = proofdesk(&["keys", "list", "--database", "mysql://db/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: mysql:// is not a database Proofdesk knows: give a SQLite file (a path, or sqlite://PATH) or postgres://USER@HOST/DB"
    );
}

#[test]
fn an_unreachable_rpc_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rpc = format!("http://127.0.0.1:{port}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args([
            "serve",
            "--database",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args([
            "--rpc",
            &rpc,
            "--contract",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        ])
        .env("PROOFDESK_OPERATOR_KEY", proofdesk::devnet::DEV_KEYS[0])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(
        line.starts_with("error: chain: RPC call eth_getCode failed: "),
        "{line}"
    );
    assert_eq!(line.matches("eth_getCode").count(), 1, "{line}");
    assert_eq!(line.matches(&rpc).count(), 1, "{line}");
}

/// A second server on a SQLite file would be a second leader, sealing and
/// anchoring the same batches from one key: `serve` and `mirror` refuse,
/// name the process that serves it, and touch nothing (no database is
/// created). Here the test itself holds the file, as a running server does.
#[test]
fn a_second_server_on_one_sqlite_file_is_refused_and_told_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let held = proofdesk::log::serving_lock::take(db.to_str().unwrap())
        .unwrap()
        .expect("a SQLite file is locked");
    let serve = [
        "serve",
        "--database",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--rpc",
        "http://127.0.0.1:1",
        "--contract",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ];
    let url = format!("sqlite://{}", db.display());
    let mirror = [
        "mirror",
        "--database",
        &url,
        "--log",
        "http://127.0.0.1:1",
        "--key",
        "pdk_000000000000_000000000000000000000000000000000000000000000000",
        "--rpc",
        "http://127.0.0.1:1",
        "--contract",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ];
    for args in [&serve[..], &mirror[..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
            .args(args)
            .env("PROOFDESK_OPERATOR_KEY", proofdesk::devnet::DEV_KEYS[0])
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or("");
        assert!(
            line.contains(&format!(
                "another process (pid {}) already serves the SQLite database {}",
                std::process::id(),
                db.display()
            )) && line.contains("use PostgreSQL for several servers"),
            "{args:?}: {err}"
        );
        assert!(!db.exists(), "{args:?} opened the database it was refused");
    }
    drop(held);
}

#[test]
fn a_pasted_placeholder_contract_says_what_an_address_looks_like() {
    for args in [
        vec![
            "verify",
            "bundle.json",
            "--rpc",
            "http://127.0.0.1:1",
            "--contract",
            "0x…",
        ],
        vec![
            "audit",
            "--log",
            "http://127.0.0.1:1",
            "--rpc",
            "http://127.0.0.1:1",
            "--contract",
            "0x…",
        ],
    ] {
        let out = proofdesk(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("\"0x…\" is not a contract address: give 0x and 40 hex digits"),
            "{args:?}: {said}"
        );
        assert!(!said.contains("odd number of digits"), "{said}");
    }
}

#[test]
fn verify_given_the_pages_link_points_to_the_bundle() {
    let h = "tk_0123456789abcdef0123456789abcdef";
    let out = proofdesk(&[
        "verify",
        &format!("http://127.0.0.1:1/verify/{h}#contract=0x1"),
        "--rpc",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("is the verifier page's link (for a browser), not a bundle")
            && said.contains(&format!(
                "the bundle is at http://127.0.0.1:1/v1/tickets/{h}/proof"
            )),
        "{said}"
    );
    assert!(!said.contains("invalid JSON"), "{said}");
}
