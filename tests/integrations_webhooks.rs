//! Help-desk webhooks end to end: real HTTP on 127.0.0.1, a real anvil, and
//! both stores (SQLite, and PostgreSQL when PROOFDESK_TEST_PG is set).
//! Fixture deliveries under tests/fixtures/ are shaped like the vendors'
//! documented payloads (tests/fixtures/README.md: Zendesk's ticket events
//! and rating trigger, the legacy Zendesk template, Zammad's default trigger
//! payload) and signed here with the test secrets exactly as each vendor
//! signs.

mod common;

use std::path::Path;
use std::time::Duration;

use proofdesk::integrations::signature::{zammad_sign, zendesk_sign};
use proofdesk::protocol::bundle::Bundle;
use proofdesk::verify::verify_bundle;
use proofdesk_testkit::TestApp;
use serde_json::{Value, json};

use common::TestDb;

const ZENDESK_SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
/// The rating trigger webhook's secret (Zendesk's second webhook).
const ZENDESK_SECOND_SECRET: &str = "c2Vjb25kX3dlYmhvb2tfZm9yX3JhdGluZ3Nfb25seQ==";

/// Everything that must never reach a record, a bundle or the ledger.
const PERSONAL: [&str; 14] = [
    "Jane",
    "Doe",
    "jane.doe@example.com",
    "+44 20 7946 0958",
    "Mark Agent",
    "mark.agent",
    "John Smith",
    "Erika",
    "Mustermann",
    "erika@example.org",
    "Nicole",
    "Braun",
    "nicole.braun@zammad.org",
    "+49 30 1234567",
];

/// The node of these stories (batches of 8; an admin's key, which
/// connects integrations and reads their ledger) and the vendors' calls.
struct App(TestApp);

impl std::ops::Deref for App {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.0
    }
}

impl App {
    async fn spawn(db: TestDb) -> App {
        let app = TestApp::builder()
            .database(db)
            .scopes(&["admin"])
            .seal(8, Duration::from_millis(200))
            .spawn()
            .await;
        App(app)
    }

    async fn stop(self) {
        self.0.stop().await;
    }

    async fn admin_get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Posts a body the way Zendesk does: signature over timestamp ‖ body.
    async fn zendesk(
        &self,
        name: &str,
        body: &[u8],
        invocation: &str,
        signed_at: chrono::DateTime<chrono::Utc>,
        secret: &str,
    ) -> (u16, Value) {
        let ts = signed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let r = self
            .http
            .post(format!(
                "{}/v1/integrations/zendesk/{name}",
                self.node.url()
            ))
            .header("content-type", "application/json")
            .header("x-zendesk-webhook-id", "01GK8E6BKWMJZD2T8Y5AXJQMG5")
            .header("x-zendesk-webhook-invocation-id", invocation)
            .header("x-zendesk-webhook-signature-timestamp", &ts)
            .header(
                "x-zendesk-webhook-signature",
                zendesk_sign(secret, &ts, body),
            )
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Posts a body the way Zammad does: X-Hub-Signature sha1=hex.
    async fn zammad(&self, name: &str, body: &[u8], delivery: &str, secret: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/integrations/zammad/{name}", self.node.url()))
            .header("content-type", "application/json")
            .header("user-agent", "Zammad User Agent")
            .header("x-zammad-trigger", "Proofdesk")
            .header("x-zammad-delivery", delivery)
            .header("x-hub-signature", zammad_sign(secret, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Every stored record, every ledger row and every public bundle is
    /// free of the personal data in the fixtures.
    async fn assert_no_personal_data(&self, handles: &[&str]) {
        let store = self.node.store.as_ref();
        let stats = store.stats().await.unwrap();
        let records: Vec<String> = store
            .events_by_range(0, stats.size)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.record)
            .collect();
        assert!(!records.is_empty());
        let mut stored = records.join("\n");
        for i in store.integration_store().integrations().await.unwrap() {
            for d in store
                .integration_store()
                .deliveries(&i.name, None, None, 1000)
                .await
                .unwrap()
            {
                stored.push_str(&serde_json::to_string(&d).unwrap());
            }
        }
        for h in handles {
            let r = self
                .http
                .get(format!("{}/v1/tickets/{h}/proof", self.node.url()))
                .send()
                .await
                .unwrap();
            stored.push_str(&r.text().await.unwrap());
        }
        for p in PERSONAL {
            assert!(
                !stored.contains(p),
                "{p:?} reached a record, a bundle or the ledger"
            );
        }
        // Vendor user ids never appear as refs either: only keyed hashes.
        for r in &records {
            let v: Value = serde_json::from_str(r).unwrap();
            let actor = v["actor"]["ref"].as_str().unwrap();
            assert!(
                actor.starts_with("zd_") || actor.starts_with("zm_"),
                "actor ref {actor} is a pseudonym"
            );
            assert!(!["1001", "1003", "2002", "3", "7"].contains(&actor));
        }
    }

    /// Checks a ticket's bundle with verify_bundle and with the binary.
    async fn assert_verifies(&self, bundle: &Bundle) {
        let report = verify_bundle(bundle, &self.options()).await.unwrap();
        assert!(report.valid, "bundle verifies: {:?}", report.problems);
    }
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

async fn ticket_state(app: &App, handle: &str) -> Value {
    let (s, t) = app.admin_get(&format!("/v1/tickets/{handle}")).await;
    assert_eq!(s, 200, "{t}");
    t
}

fn types(t: &Value) -> Vec<String> {
    t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record"]["type"].as_str().unwrap().to_owned())
        .collect()
}

const ZENDESK_LIFE: [&str; 8] = [
    "life-01-created",
    "life-02-assigned-open",
    "life-03-private-note-high",
    "life-04-pending",
    "life-05-customer-reply",
    "life-06-solved",
    "life-07-rated-good",
    "life-08-closed-by-automation",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zendesk_ticket_life_is_recorded_anchored_and_verifies() {
    for db in TestDb::all().await {
        let backend = db.store.backend();
        let app = App::spawn(db).await;
        let (s, created) = app
            .post(
                "/v1/integrations",
                json!({"name": "support", "vendor": "zendesk", "secret": ZENDESK_SECRET, "options": {"complaint": true, "category": "withdrawal"}}),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        assert_eq!(created["webhook_path"], "/v1/integrations/zendesk/support");

        let mut handle = String::new();
        for (i, name) in ZENDESK_LIFE.iter().enumerate() {
            let body = fixture(&format!("zendesk/{name}.json"));
            let (s, r) = app
                .zendesk("support", &body, &format!("inv-{i}"), now(), ZENDESK_SECRET)
                .await;
            assert_eq!(
                (s, r["outcome"].as_str()),
                (200, Some("recorded")),
                "{backend} {name}: {r}"
            );
            handle = r["ticket"].as_str().unwrap().to_owned();
        }
        // Zendesk retries a delivery (same invocation id): nothing new.
        let again = fixture("zendesk/life-03-private-note-high.json");
        let (s, r) = app
            .zendesk("support", &again, "inv-2", now(), ZENDESK_SECRET)
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("duplicate")), "{r}");

        let t = ticket_state(&app, &handle).await;
        assert_eq!(
            types(&t),
            [
                "ticket.created",
                "message.added",
                "message.added",
                "ticket.assigned",
                "status.changed",
                "message.added",
                "priority.changed",
                "message.added",
                "status.changed",
                "message.added",
                "status.changed",
                "message.added",
                "ticket.resolved",
                "satisfaction.rated",
                "ticket.closed",
            ],
            "{backend}"
        );
        // The vendor's final state: closed, solved, high priority.
        assert_eq!(t["state"]["status"], "closed");
        assert_eq!(t["state"]["resolution"], "solved");
        assert_eq!(t["state"]["priority"], "high");
        assert_eq!(t["state"]["complaint"], true);
        let ev = t["events"].as_array().unwrap();
        assert_eq!(
            ev[1]["record"]["data"],
            json!({"direction": "inbound", "visibility": "public"})
        );
        assert_eq!(
            ev[5]["record"]["data"],
            json!({"direction": "outbound", "visibility": "internal"})
        );
        assert_eq!(ev[3]["record"]["data"]["group"], "group-360001");
        assert_eq!(ev[13]["record"]["data"], json!({"score": 1, "scale": 1}));
        // The requester's ref is the same pseudonym on every event of theirs.
        assert_eq!(ev[0]["record"]["actor"], ev[1]["record"]["actor"]);
        assert_eq!(ev[0]["record"]["actor"]["role"], "customer");
        assert!(
            ev[1]["record"]["content"]
                .as_str()
                .unwrap()
                .starts_with("0x")
        );

        let bundle = app.anchored_bundle(&handle).await;
        assert_eq!(bundle.events.len(), 15);
        app.assert_verifies(&bundle).await;
        app.assert_no_personal_data(&[&handle]).await;

        // The replayed Zendesk life's bundle is accepted by `proofdesk verify`.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bundle.json");
        std::fs::write(&file, serde_json::to_vec(&bundle).unwrap()).unwrap();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
            .arg("verify")
            .arg(&file)
            .args([
                "--rpc",
                &app.anvil.url(),
                "--contract",
                &format!("{:#x}", app.contract),
            ])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "proofdesk verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zammad_ticket_life_is_recorded_anchored_and_verifies() {
    for db in TestDb::all().await {
        let backend = db.store.backend();
        let url = db.url.clone();
        let app = App::spawn(db).await;
        // No secret given: the server generates the token to paste into Zammad.
        let (s, created) = app
            .post(
                "/v1/integrations",
                json!({"name": "helpdesk", "vendor": "zammad"}),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert_eq!(secret.len(), 64);
        let (_, listed) = app.admin_get("/v1/integrations").await;
        assert!(
            !listed.to_string().contains(&secret),
            "secrets are shown once"
        );

        let life = [
            "life-01-created",
            "life-02-open-assigned-reply",
            "life-03-internal-note-high",
            "life-04-pending-reminder",
            "life-05-closed",
        ];
        let mut handle = String::new();
        for name in life {
            let body = fixture(&format!("zammad/{name}.json"));
            let (s, r) = app
                .zammad("helpdesk", &body, &format!("d-{name}"), &secret)
                .await;
            assert_eq!(
                (s, r["outcome"].as_str()),
                (200, Some("recorded")),
                "{backend} {name}: {r}"
            );
            handle = r["ticket"].as_str().unwrap().to_owned();
            if name == "life-05-closed" {
                // Zammad closes without a "solved" step: translated, and said so.
                assert!(
                    r["notes"]
                        .to_string()
                        .contains("ticket.resolved then ticket.closed"),
                    "{r}"
                );
            }
        }
        let t = ticket_state(&app, &handle).await;
        assert_eq!(
            types(&t),
            [
                "ticket.created",
                "message.added",
                "ticket.assigned",
                "message.added",
                "ticket.assigned",
                "status.changed",
                "message.added",
                "priority.changed",
                "status.changed",
                "message.added",
                "ticket.resolved",
                "ticket.closed",
            ],
            "{backend}"
        );
        assert_eq!(t["state"]["status"], "closed");
        assert_eq!(t["state"]["priority"], "high");
        let ev = t["events"].as_array().unwrap();
        assert_eq!(
            ev[2]["record"]["data"],
            json!({"assignee": "unassigned", "group": "group-1"})
        );
        assert_eq!(
            ev[6]["record"]["data"],
            json!({"direction": "outbound", "visibility": "internal"})
        );
        assert_eq!(
            ev[6]["record"]["channel"], "email",
            "a note takes the ticket's channel"
        );
        assert_eq!(
            ev[8]["record"]["data"],
            json!({"from": "open", "to": "pending"})
        );

        let bundle = app.anchored_bundle(&handle).await;
        assert_eq!(bundle.events.len(), 12);
        app.assert_verifies(&bundle).await;
        app.assert_no_personal_data(&[&handle]).await;

        // The CLI creates integrations too: Zendesk's secret on stdin,
        // Zammad's generated and printed once.
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
            .args([
                "integrations",
                "create",
                "--vendor",
                "zendesk",
                "--name",
                "cli-zd",
                "--secret-stdin",
                "--database",
                &url,
            ])
            .args(["--options", r#"{"complaint": true}"#])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use tokio::io::AsyncWriteExt;
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all(format!("{ZENDESK_SECRET}\n").as_bytes())
                .await
                .unwrap();
        }
        let out = child.wait_with_output().await.unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("/v1/integrations/zendesk/cli-zd"));
        let (s, r) = app
            .zendesk(
                "cli-zd",
                &fixture("zendesk/life-01-created.json"),
                "inv-cli",
                now(),
                ZENDESK_SECRET,
            )
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
        let t = ticket_state(&app, r["ticket"].as_str().unwrap()).await;
        assert_eq!(t["state"]["complaint"], true, "options from the CLI apply");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
            .args([
                "integrations",
                "create",
                "--vendor",
                "zammad",
                "--name",
                "cli-zm",
                "--database",
                &url,
            ])
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let secret = stdout
            .lines()
            .find_map(|l| l.strip_prefix("secret:"))
            .unwrap()
            .trim()
            .to_owned();
        let (s, r) = app
            .zammad(
                "cli-zm",
                &fixture("zammad/life-01-created.json"),
                "d-cli",
                &secret,
            )
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
        // A second integration with a taken name, and a bad option, fail.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
            .args([
                "integrations",
                "create",
                "--vendor",
                "zammad",
                "--name",
                "cli-zm",
                "--database",
                &url,
            ])
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
        let (s, r) = app
            .post(
                "/v1/integrations",
                json!({"name": "x", "vendor": "zammad", "options": {"colour": "red"}}),
            )
            .await;
        assert_eq!(s, 422, "{r}");
        assert!(r["detail"].as_str().unwrap().contains("unknown option"));
        // The list, as a table and as JSON: three integrations, no secret.
        for json in [false, true] {
            let mut args = vec!["integrations", "list", "--database", &url];
            if json {
                args.push("--json");
            }
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
                .args(&args)
                .output()
                .await
                .unwrap();
            assert!(out.status.success());
            let listed = String::from_utf8_lossy(&out.stdout);
            assert!(!listed.contains(&secret) && !listed.contains(ZENDESK_SECRET));
            if json {
                let all: Vec<Value> = serde_json::from_str(&listed).unwrap();
                assert_eq!(all.len(), 3, "{listed}");
                assert!(
                    all.iter().all(|i| i["webhook_path"].is_string()),
                    "{listed}"
                );
            } else {
                assert_eq!(
                    listed.lines().count(),
                    1 + 3,
                    "a header and three rows: {listed}"
                );
            }
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_unmapped_duplicate_and_out_of_order_deliveries_are_all_in_the_ledger() {
    for db in TestDb::all().await {
        let backend = db.store.backend();
        let url = db.url.clone();
        let app = App::spawn(db).await;
        let (s, _) = app
            .post("/v1/integrations", json!({"name": "zd", "vendor": "zendesk", "secret": ZENDESK_SECRET, "options": {"timestamp_window_secs": 120}}))
            .await;
        assert_eq!(s, 201);
        let (_, zm) = app
            .post(
                "/v1/integrations",
                json!({"name": "zm", "vendor": "zammad"}),
            )
            .await;
        let zm_secret = zm["secret"].as_str().unwrap().to_owned();
        // Integrations are an admin matter: an ingest key may not create one.
        let ingest =
            proofdesk::api::auth::create_key(app.node.store.as_ref(), &["ingest".into()], "it")
                .await
                .unwrap();
        let r = app
            .http
            .post(format!("{}/v1/integrations", app.node.url()))
            .bearer_auth(&ingest)
            .json(&json!({"name": "mine", "vendor": "zammad"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let (s, dup) = app
            .post(
                "/v1/integrations",
                json!({"name": "zd", "vendor": "zammad"}),
            )
            .await;
        assert_eq!(s, 409, "{dup}");
        let body = fixture("zendesk/life-01-created.json");

        // A captured delivery replayed ten minutes later: stale.
        let (s, r) = app
            .zendesk(
                "zd",
                &body,
                "inv-old",
                now() - chrono::Duration::minutes(10),
                ZENDESK_SECRET,
            )
            .await;
        assert_eq!(s, 401, "{r}");
        assert_eq!(r["outcome"], "rejected");
        assert!(
            r["detail"].as_str().unwrap().contains("more than 120 s"),
            "{r}"
        );
        // Signed with another secret.
        let (s, r) = app
            .zendesk("zd", &body, "inv-forged", now(), "not-the-secret-at-all!")
            .await;
        assert_eq!(s, 401, "{r}");
        assert_eq!(r["status"], 401);
        // Not signed at all, to the Zammad route.
        let resp = app
            .http
            .post(format!("{}/v1/integrations/zammad/zm", app.node.url()))
            .header("x-zammad-delivery", "d-unsigned")
            .body(fixture("zammad/life-01-created.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        // An integration that does not exist, or of the other vendor.
        let (s, _) = app
            .zendesk("nope", &body, "inv-x", now(), ZENDESK_SECRET)
            .await;
        assert_eq!(s, 404);
        let (s, _) = app.zammad("zd", &body, "d-x", ZENDESK_SECRET).await;
        assert_eq!(s, 404);
        // An event Proofdesk does not read: authentic, unmapped, and why.
        let unknown = fixture("zendesk/unknown-event-type.json");
        let (s, r) = app
            .zendesk("zd", &unknown, "inv-tags", now(), ZENDESK_SECRET)
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("unmapped")), "{r}");
        assert_eq!(r["unmapped"][0]["reason"], "unknown_event_type");
        assert!(
            r["reason"]
                .as_str()
                .unwrap()
                .contains("zen:event-type:ticket.tags_changed")
        );
        let (s, r) = app
            .zammad(
                "zm",
                &fixture("zammad/not-a-ticket.json"),
                "d-user",
                &zm_secret,
            )
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("unmapped")), "{r}");
        // Not JSON at all, correctly signed: rejected with the parser's reason.
        let (s, r) = app.zammad("zm", b"ticket=1", "d-form", &zm_secret).await;
        assert_eq!(s, 400, "{r}");
        assert!(r["detail"].as_str().unwrap().contains("not JSON"));

        // Created and solved in one update: new → solved is ticket.resolved.
        let (s, r) = app
            .zendesk(
                "zd",
                &fixture("zendesk/skip-created-solved.json"),
                "inv-skip",
                now(),
                ZENDESK_SECRET,
            )
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
        let t = ticket_state(&app, r["ticket"].as_str().unwrap()).await;
        assert_eq!(
            types(&t),
            [
                "ticket.created",
                "message.added",
                "ticket.assigned",
                "ticket.resolved"
            ]
        );
        assert_eq!(t["state"]["status"], "solved");

        // Out of order: the close arrives first, the older "open" later.
        let (s, first) = app
            .zammad(
                "zm",
                &fixture("zammad/ooo-1-closed-first.json"),
                "d-close",
                &zm_secret,
            )
            .await;
        assert_eq!(
            (s, first["outcome"].as_str()),
            (200, Some("recorded")),
            "{first}"
        );
        let handle = first["ticket"].as_str().unwrap().to_owned();
        let (s, late) = app
            .zammad(
                "zm",
                &fixture("zammad/ooo-2-older-open-late.json"),
                "d-open",
                &zm_secret,
            )
            .await;
        assert_eq!(
            (s, late["outcome"].as_str()),
            (200, Some("unmapped")),
            "{late}"
        );
        let notes = late["notes"].to_string();
        assert!(notes.contains("older than one already applied"), "{notes}");
        // The late reply is not lost silently: it is unmapped, with why.
        assert_eq!(
            late["unmapped"][0]["reason"], "comment_on_closed_ticket",
            "{late}"
        );
        assert!(
            late["unmapped"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("the ticket is closed in the log")
        );
        // And Zammad retries the close: a duplicate, nothing appended.
        let (s, again) = app
            .zammad(
                "zm",
                &fixture("zammad/ooo-1-closed-first.json"),
                "d-close",
                &zm_secret,
            )
            .await;
        assert_eq!(
            (s, again["outcome"].as_str()),
            (200, Some("duplicate")),
            "{again}"
        );
        assert_eq!(again["first_index"], first["first_index"]);
        let t = ticket_state(&app, &handle).await;
        assert_eq!(
            types(&t),
            [
                "ticket.created",
                "message.added",
                "ticket.assigned",
                "ticket.resolved",
                "ticket.closed"
            ],
            "{backend}"
        );
        assert_eq!(t["state"]["status"], "closed");
        let bundle = app.anchored_bundle(&handle).await;
        app.assert_verifies(&bundle).await;

        // The ledger lists every refusal with its reason, to a key holder only.
        let unauth = app
            .http
            .get(format!("{}/v1/integrations/zd/deliveries", app.node.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(unauth.status().as_u16(), 401);
        let (s, l) = app
            .admin_get("/v1/integrations/zd/deliveries?outcome=rejected")
            .await;
        assert_eq!(s, 200, "{l}");
        let rows = l["deliveries"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{l}");
        let sigs: Vec<&str> = rows
            .iter()
            .map(|d| d["signature"].as_str().unwrap())
            .collect();
        assert_eq!(sigs, ["invalid", "stale"]);
        assert!(
            rows.iter()
                .all(|d| d["reason"].is_string() && d["body_sha256"].as_str().unwrap().len() == 66)
        );
        let (_, all) = app.admin_get("/v1/integrations/zm/deliveries").await;
        let outcomes: Vec<&str> = all["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            [
                "duplicate",
                "unmapped",
                "recorded",
                "rejected",
                "unmapped",
                "rejected"
            ],
            "{all}"
        );
        // Paging back: two rows at a time, by ledger id.
        let rows_all = all["deliveries"].as_array().unwrap();
        let (_, page1) = app
            .admin_get("/v1/integrations/zm/deliveries?limit=2")
            .await;
        let last = page1["deliveries"][1]["id"].as_i64().unwrap();
        let (_, page2) = app
            .admin_get(&format!(
                "/v1/integrations/zm/deliveries?limit=2&before={last}"
            ))
            .await;
        assert_eq!(page2["deliveries"][0], rows_all[2]);
        assert_eq!(page2["deliveries"][1], rows_all[3]);
        let (s, _) = app
            .admin_get("/v1/integrations/zm/deliveries?outcome=lost")
            .await;
        assert_eq!(s, 400);

        // … and so does the CLI, from the database directly.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
            .args([
                "integrations",
                "deliveries",
                "zm",
                "--database",
                &url,
                "--outcome",
                "unmapped",
            ])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("no \"ticket\" object"), "{text}");
        assert!(text.contains("older than one already applied"), "{text}");
        assert!(text.contains("delivery=d-open"), "{text}");
        app.assert_no_personal_data(&[&handle]).await;
        app.stop().await;
    }
}

/// The database goes away mid-operation (PostgreSQL refuses connections):
/// the vendor is told 503 with Retry-After, so it retries; once the
/// database is back the same delivery is recorded, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_and_the_vendors_retry_is_recorded() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let name = db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let admin_url = std::env::var(common::PG_ENV).unwrap();
    let app = App::spawn(db).await;
    let (_, zm) = app
        .post(
            "/v1/integrations",
            json!({"name": "zm", "vendor": "zammad"}),
        )
        .await;
    let secret = zm["secret"].as_str().unwrap().to_owned();
    let body = fixture("zammad/life-01-created.json");

    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let set = |allow: bool| {
        sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {allow}"
        ))
    };
    sqlx::query(set(false)).execute(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    )))
    .execute(&admin)
    .await
    .unwrap();
    let resp = app
        .http
        .post(format!("{}/v1/integrations/zammad/zm", app.node.url()))
        .header("x-zammad-delivery", "d-outage")
        .header("x-hub-signature", zammad_sign(&secret, &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], "10");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");

    sqlx::query(set(true)).execute(&admin).await.unwrap();
    admin.close().await;
    let (s, r) = app.zammad("zm", &body, "d-outage", &secret).await;
    assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
    let t = ticket_state(&app, r["ticket"].as_str().unwrap()).await;
    assert_eq!(
        types(&t),
        ["ticket.created", "message.added", "ticket.assigned"]
    );
    app.stop().await;
}

/// Delivers one Zendesk update (a fixture file: the deliveries it gives, in
/// the order sent): ticket events signed with the event webhook's secret,
/// rating bodies with the rating trigger webhook's.
async fn zendesk_update(app: &App, name: &str, file: &str) -> Vec<Value> {
    let deliveries: Vec<Value> = serde_json::from_slice(&fixture(file)).unwrap();
    let mut answers = Vec::new();
    for (i, d) in deliveries.iter().enumerate() {
        let body = serde_json::to_vec(d).unwrap();
        let secret = if d.get("proofdesk_template").is_some() {
            ZENDESK_SECOND_SECRET
        } else {
            ZENDESK_SECRET
        };
        let (s, r) = app
            .zendesk(name, &body, &format!("{file}#{i}"), now(), secret)
            .await;
        assert_eq!(s, 200, "{file} #{i}: {r}");
        answers.push(r);
    }
    answers
}

/// A labelled counter from /metrics, e.g.
/// `proofdesk_webhook_unmapped_total{vendor="zammad",reason="unknown_state"}`.
async fn counter(app: &App, series: &str) -> u64 {
    let text = app
        .http
        .get(format!("{}/metrics", app.node.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{series} ")))
        .unwrap_or_else(|| panic!("{series} not in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// A record without what differs between two tickets of the same life:
/// the ticket, its place in the log and its chain, when it was recorded, and
/// the content's salted commitment.
fn comparable(t: &Value) -> Vec<Value> {
    t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut r = e["record"].clone();
            let o = r.as_object_mut().unwrap();
            for k in ["ticket", "index", "prev", "recorded_at", "content"] {
                o.remove(k);
            }
            r
        })
        .collect()
}

async fn content_text(app: &App, handle: &str, seq: u64) -> String {
    let (s, c) = app
        .admin_get(&format!("/v1/tickets/{handle}/events/{seq}/content"))
        .await;
    assert_eq!(s, 200, "{c}");
    c["content"].as_str().unwrap().to_owned()
}

const ZENDESK_EVENT_LIFE: [&str; 8] = [
    "01-created",
    "02-assigned-open-reply",
    "03-private-note-high",
    "04-pending",
    "05-customer-reply",
    "06-solved",
    "07-rated-good",
    "08-closed-by-automation",
];

/// Issue 28 §1: a Chinese-speaking requester's ticket, from Zendesk's event
/// webhook, records exactly the events an English one does. The values the
/// adapter maps are Zendesk's own names and ids in every account; only
/// what people wrote differs, and it is committed as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_event_webhooks_record_the_same_events_in_every_language() {
    for db in TestDb::all().await {
        let backend = db.store.backend();
        let app = App::spawn(db).await;
        let (s, created) = app
            .post(
                "/v1/integrations",
                json!({"name": "support", "vendor": "zendesk", "secret": ZENDESK_SECRET,
                       "second_secret": ZENDESK_SECOND_SECRET, "options": {"complaint": true}}),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        assert_eq!(created["second_secret_set"], true);
        let mut handles = Vec::new();
        for lang in ["en", "zh"] {
            let mut outcomes = Vec::new();
            let mut handle = String::new();
            for step in ZENDESK_EVENT_LIFE {
                let file = format!("zendesk-events/{lang}/{step}.json");
                for r in zendesk_update(&app, "support", &file).await {
                    assert_eq!(r["unmapped"], json!([]), "{backend} {file}: {r}");
                    outcomes.push(r["outcome"].as_str().unwrap().to_owned());
                    handle = r["ticket"].as_str().unwrap().to_owned();
                }
            }
            // A reply and the status it set come as separate events: the
            // first records both, the second finds them there.
            assert_eq!(
                outcomes,
                [
                    "recorded",
                    "recorded", // created, first comment
                    "recorded",
                    "unchanged",
                    "unchanged",
                    "unchanged", // reply, open, group, agent
                    "recorded",
                    "recorded", // priority, private note
                    "recorded",
                    "unchanged", // question, pending
                    "recorded",
                    "recorded", // open again, reply
                    "recorded",
                    "unchanged", // last reply, solved
                    "recorded",  // rating (trigger)
                    "recorded",  // closed by the automation
                ],
                "{backend} {lang}"
            );
            handles.push(handle);
        }
        let en = ticket_state(&app, &handles[0]).await;
        let zh = ticket_state(&app, &handles[1]).await;
        assert_eq!(
            types(&zh),
            [
                "ticket.created",
                "message.added",
                "message.added",
                "ticket.assigned",
                "status.changed",
                "priority.changed",
                "message.added",
                "message.added",
                "status.changed",
                "status.changed",
                "message.added",
                "message.added",
                "ticket.resolved",
                "satisfaction.rated",
                "ticket.closed",
            ],
            "{backend}"
        );
        assert_eq!(comparable(&en), comparable(&zh), "{backend}: the same life");
        assert_eq!(zh["state"]["status"], "closed");
        assert_eq!(zh["state"]["resolution"], "solved");
        assert_eq!(zh["state"]["priority"], "high");
        let ev = zh["events"].as_array().unwrap();
        assert_eq!(
            ev[6]["record"]["data"],
            json!({"direction": "outbound", "visibility": "internal"})
        );
        assert_eq!(
            ev[10]["record"]["data"],
            json!({"direction": "inbound", "visibility": "public"})
        );
        assert_eq!(ev[13]["record"]["data"], json!({"score": 1, "scale": 1}));
        assert_eq!(ev[13]["record"]["actor"]["role"], "customer");
        assert_eq!(
            ev[14]["record"]["actor"]["role"], "integration",
            "the automation"
        );

        // Every reply is committed exactly as written: CJK, emoji, a newline.
        let mut written = Vec::new();
        for step in ZENDESK_EVENT_LIFE {
            let deliveries: Vec<Value> =
                serde_json::from_slice(&fixture(&format!("zendesk-events/zh/{step}.json")))
                    .unwrap();
            for d in deliveries {
                if let Some(body) = d["event"]["comment"]["body"].as_str() {
                    written.push(body.to_owned());
                }
            }
        }
        let mut committed = Vec::new();
        for e in ev.iter().filter(|e| e["record"]["type"] == "message.added") {
            committed.push(content_text(&app, &handles[1], e["seq"].as_u64().unwrap()).await);
        }
        assert_eq!(committed, written, "{backend}");

        // Quotes, backslashes, line breaks, emoji and CJK in one reply:
        // Zendesk writes the event's JSON itself, so nothing breaks it.
        let tricky =
            "She wrote \"refund\" and C:\\wallet\\keys\\ then\nline two\r\n🚀 提现 ❤️ \u{2028}end";
        let mut event: Vec<Value> =
            serde_json::from_slice(&fixture("zendesk-events/en/02-assigned-open-reply.json"))
                .unwrap();
        let mut reply = event.remove(0);
        reply["detail"]["id"] = json!("4799");
        reply["subject"] = json!("zen:ticket:4799");
        reply["event"]["comment"]["id"] = json!("7001");
        reply["event"]["comment"]["body"] = json!(tricky);
        let body = serde_json::to_vec(&reply).unwrap();
        let (s, r) = app
            .zendesk("support", &body, "inv-tricky", now(), ZENDESK_SECRET)
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
        let h = r["ticket"].as_str().unwrap();
        let t = ticket_state(&app, h).await;
        let seq = t["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["record"]["type"] == "message.added")
            .unwrap()["seq"]
            .as_u64()
            .unwrap();
        assert_eq!(content_text(&app, h, seq).await, tricky, "{backend}");

        // The rating webhook's secret does not sign for anyone else.
        let (s, _) = app
            .zendesk(
                "support",
                &body,
                "inv-other",
                now(),
                "yet-another-secret-000",
            )
            .await;
        assert_eq!(s, 401);
        assert_eq!(
            counter(
                &app,
                r#"proofdesk_webhook_deliveries_total{vendor="zendesk",outcome="unchanged"}"#
            )
            .await,
            10
        );
        assert_eq!(
            counter(
                &app,
                r#"proofdesk_webhook_deliveries_total{vendor="zendesk",outcome="rejected"}"#
            )
            .await,
            1
        );

        let bundle = app.anchored_bundle(&handles[1]).await;
        assert_eq!(bundle.events.len(), 15);
        app.assert_verifies(&bundle).await;
        app.assert_no_personal_data(&[&handles[0], &handles[1]])
            .await;
        app.stop().await;
    }
}

/// Issue 28 §1 and §2: what does not map is never silent. It is in the
/// delivery's ledger row with its reason and the fix, counted in /metrics by
/// reason, listed by `--outcome unmapped` (recorded deliveries too, for the
/// part that did not map), and mapped once the admin follows the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_does_not_map_is_never_silent() {
    for db in TestDb::all().await {
        let backend = db.store.backend();
        let url = db.url.clone();
        let app = App::spawn(db).await;
        let (_, zm) = app
            .post(
                "/v1/integrations",
                json!({"name": "helpdesk", "vendor": "zammad"}),
            )
            .await;
        let secret = zm["secret"].as_str().unwrap().to_owned();
        let deliver = |name: &'static str, id: &'static str| {
            let (app, secret) = (&app, secret.clone());
            async move {
                app.zammad(
                    "helpdesk",
                    &fixture(&format!("zammad/{name}.json")),
                    id,
                    &secret,
                )
                .await
            }
        };
        // A renamed state (2 is "in Bearbeitung" here): the article is
        // recorded, the state is unmapped, and the ledger says how to map it.
        let (s, r) = deliver("states-01-renamed-open", "d-1").await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
        assert_eq!(r["unmapped"][0]["reason"], "unknown_state", "{r}");
        let detail = r["unmapped"][0]["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Zammad state 2 (\"in Bearbeitung\") has no Proofdesk equivalent: map it with the integration option"),
            "{detail}"
        );
        assert!(detail.contains(
            r#"proofdesk integrations update helpdesk --options '{"states": {"2": "closed"}}'"#
        ));
        let handle = r["ticket"].as_str().unwrap().to_owned();
        // A state nobody mapped, with nothing else: unmapped as a whole.
        let (s, r) = deliver("states-02-custom-waiting", "d-2").await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("unmapped")), "{r}");
        assert!(
            r["unmapped"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("Zammad state 8 (\"waiting for vendor\")")
        );
        assert_eq!(
            counter(
                &app,
                r#"proofdesk_webhook_unmapped_total{vendor="zammad",reason="unknown_state"}"#
            )
            .await,
            2
        );
        // Listed, the recorded one too, over the API and the CLI.
        let (_, l) = app
            .admin_get("/v1/integrations/helpdesk/deliveries?outcome=unmapped")
            .await;
        let ids: Vec<&str> = l["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["delivery_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["d-2", "d-1"], "{backend}: {l}");
        let cli = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
                .args(args)
                .args(["--database", &url])
                .output()
                .unwrap()
        };
        let out = cli(&[
            "integrations",
            "deliveries",
            "helpdesk",
            "--outcome",
            "unmapped",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("delivery=d-1") && text.contains("delivery=d-2"),
            "{text}"
        );
        assert!(
            text.contains("    unmapped (unknown_state): Zammad state 8 (\"waiting for vendor\")"),
            "{text}"
        );

        // The admin follows the fix; a wrong option is refused, saying why.
        let out = cli(&[
            "integrations",
            "update",
            "helpdesk",
            "--options",
            r#"{"states": {"8": "paused"}}"#,
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(
            "a state id maps to new, open, pending, on_hold, solved, closed, merged or ignore"
        ));
        let out = cli(&[
            "integrations",
            "update",
            "helpdesk",
            "--options",
            r#"{"states": {"2": "open", "8": "on_hold"}}"#,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (s, r) = deliver("states-03-custom-waiting-again", "d-3").await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
        let t = ticket_state(&app, &handle).await;
        assert_eq!(
            types(&t),
            [
                "ticket.created",
                "message.added",
                "ticket.assigned",
                "status.changed"
            ],
            "{backend}"
        );
        assert_eq!(t["state"]["status"], "on_hold");
        // Zammad's built-in "removed" maps to nothing by default; the admin
        // may say to ignore it (over the API this time).
        let (_, r) = deliver("states-04-removed", "d-4").await;
        assert_eq!(r["outcome"], "unmapped", "{r}");
        let resp = app
            .http
            .patch(format!("{}/v1/integrations/helpdesk", app.node.url()))
            .bearer_auth(&app.key)
            .json(&json!({"options": {"states": {"2": "open", "8": "on_hold", "6": "ignore"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let (_, r) = deliver("states-04-removed", "d-5").await;
        assert_eq!(r["outcome"], "unchanged", "{r}");
        assert!(
            r["notes"][0].as_str().unwrap().contains("mapped to ignore"),
            "{r}"
        );

        // The legacy Zendesk template, rendered in the requester's language:
        // status, priority and rating are unmapped, each said.
        let (s, _) = app
            .post(
                "/v1/integrations",
                json!({"name": "legacy", "vendor": "zendesk", "secret": ZENDESK_SECRET}),
            )
            .await;
        assert_eq!(s, 201);
        let (s, r) = app
            .zendesk(
                "legacy",
                &fixture("zendesk/localised-zh-update.json"),
                "inv-zh",
                now(),
                ZENDESK_SECRET,
            )
            .await;
        assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
        let reasons: Vec<&str> = r["unmapped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            ["unknown_rating", "unknown_priority", "unknown_state"],
            "{r}"
        );
        assert!(
            r["unmapped"][2]["detail"]
                .as_str()
                .unwrap()
                .contains("connect the event webhook instead")
        );
        for reason in ["unknown_rating", "unknown_priority", "unknown_state"] {
            assert_eq!(
                counter(
                    &app,
                    &format!(
                        r#"proofdesk_webhook_unmapped_total{{vendor="zendesk",reason="{reason}"}}"#
                    )
                )
                .await,
                1,
                "{reason}"
            );
        }
        app.stop().await;
    }
}

/// Issue 28 §2: Zammad retries every answer that is not 2xx, 4xx included
/// (five attempts, 10 s × attempt apart: app/jobs/trigger_webhook_job.rb).
/// Each retry of a refused delivery is refused again: a ledger row, and
/// nothing in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zammad_retries_of_a_refused_delivery_add_only_ledger_rows() {
    let db = TestDb::sqlite().await;
    let app = App::spawn(db).await;
    let (_, zm) = app
        .post(
            "/v1/integrations",
            json!({"name": "zm", "vendor": "zammad"}),
        )
        .await;
    let secret = zm["secret"].as_str().unwrap().to_owned();
    let body = fixture("zammad/life-01-created.json");
    let mut broken: Value = serde_json::from_slice(&body).unwrap();
    broken["ticket"]["id"] = json!("31; DROP");
    let broken = serde_json::to_vec(&broken).unwrap();
    for attempt in 1..=5 {
        let (s, r) = app
            .zammad("zm", &body, "d-forged", "a-wrong-secret-0000")
            .await;
        assert_eq!(
            (s, r["outcome"].as_str()),
            (401, Some("rejected")),
            "attempt {attempt}"
        );
        let (s, r) = app.zammad("zm", &broken, "d-broken", &secret).await;
        assert_eq!(
            (s, r["outcome"].as_str()),
            (422, Some("rejected")),
            "attempt {attempt}"
        );
    }
    let store = app.node.store.as_ref();
    assert_eq!(
        store.stats().await.unwrap().size,
        0,
        "nothing reached the log"
    );
    let (_, l) = app
        .admin_get("/v1/integrations/zm/deliveries?outcome=rejected")
        .await;
    assert_eq!(l["deliveries"].as_array().unwrap().len(), 10, "{l}");
    // The real delivery, and Zammad retrying it after a lost answer.
    let (s, r) = app.zammad("zm", &body, "d-real", &secret).await;
    assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
    let size = store.stats().await.unwrap().size;
    let (s, r) = app.zammad("zm", &body, "d-real", &secret).await;
    assert_eq!((s, r["outcome"].as_str()), (200, Some("duplicate")), "{r}");
    assert_eq!(store.stats().await.unwrap().size, size);
    // Rotating the token: a second secret is accepted beside the first.
    let next = "the-next-zammad-token-0123456789";
    let resp = app
        .http
        .patch(format!("{}/v1/integrations/zm", app.node.url()))
        .bearer_auth(&app.key)
        .json(&json!({ "second_secret": next }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["second_secret_set"], true);
    assert!(!view.to_string().contains(next), "never shown");
    let (s, r) = app
        .zammad(
            "zm",
            &fixture("zammad/life-02-open-assigned-reply.json"),
            "d-next",
            next,
        )
        .await;
    assert_eq!((s, r["outcome"].as_str()), (200, Some("recorded")), "{r}");
    app.stop().await;
}
