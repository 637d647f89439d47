//! The complainant's verifier page in a real browser: headless Chromium
//! (Debian's) driven by playwright-core (tests/browser/verify-page.mjs),
//! against a real `proofdesk` node and anvil on 127.0.0.1.
//!
//! A platform records a complaint's lifecycle; once it is anchored, the
//! complainant's link shows every event ✓ with the resolution in words.
//! Then each tampering shows ✗ naming the event or the reason, and
//! `proofdesk verify --json` agrees with the page on valid/invalid for every
//! bundle. The page also passes the protocol vectors in the browser, and the
//! content disclosure and erasure endpoints work as the page expects.
//! Screenshots land in $CARGO_TARGET_DIR/screenshots (or target/screenshots).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use proofdesk::anchor::{AnchorPolicy, OperatorKey};
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk::node::{Node, NodeConfig};
use proofdesk::protocol::state::Policy;
use proofdesk::seal::SealPolicy;
use serde_json::{Value, json};

struct App {
    node: Node,
    anvil: Anvil,
    http: reqwest::Client,
    key: String,
    contract: String,
    _dir: tempfile::TempDir,
}

impl App {
    async fn spawn() -> App {
        App::spawn_with(Duration::from_secs(60)).await
    }

    /// With the maximum merge delay the log declares (in every bundle).
    async fn spawn_with(max_merge_delay: Duration) -> App {
        let anvil = Anvil::start(0, Some(1))
            .await
            .expect("anvil (run scripts/install-toolchain.sh)");
        let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
        let (contract, block) = proofdesk::anchor::deploy::deploy(
            &anvil.url(),
            &operator,
            None,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            database_url: format!("sqlite://{}", dir.path().join("page.db").display()),
            listen: "127.0.0.1:0".parse().unwrap(),
            rpc_url: anvil.url(),
            contract,
            from_block: block,
            rpc_timeout: Duration::from_secs(5),
            max_merge_delay,
            seal: SealPolicy {
                max_batch: 4,
                // Batches of 4 seal at once; a lone later event waits ten
                // minutes, so the test can show a pending event for sure.
                max_age: Duration::from_secs(600),
            },
            anchor: AnchorPolicy {
                confirmations: 1,
                poll: Duration::from_millis(100),
                ..AnchorPolicy::default()
            },
            policy: Policy::default(),
            leader: Default::default(),
            public_rpc: Some(anvil.url()),
        };
        let node = Node::start(config, operator).await.unwrap();
        let key = proofdesk::api::auth::create_key(node.store.as_ref(), &["admin".into()], "page")
            .await
            .unwrap();
        App {
            node,
            anvil,
            http: reqwest::Client::new(),
            key,
            contract: format!("{contract:#x}"),
            _dir: dir,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.node.url()))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

fn event(t: &str, data: Value, role: &str, content: Option<&str>) -> Value {
    let mut e = json!({"type": t, "data": data, "actor": {"role": role, "ref": format!("{role}-1")}, "channel": "web",
           "occurred_at": proofdesk::protocol::fields::Timestamp::now().to_string()});
    if let Some(text) = content {
        e["content"] = json!({"text": text});
    }
    e
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// Runs the browser driver over all cases at once (one browser launch).
fn run_browser(cases: &Value, dir: &Path) -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join(".tools/node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/install-browser.sh"
    );
    let file = dir.join("cases.json");
    std::fs::write(&file, serde_json::to_vec_pretty(cases).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(root.join("tests/browser/verify-page.mjs"))
        .arg(&file)
        .env("TMPDIR", dir)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "browser driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "driver output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `proofdesk verify --json` (with `--contract` unless empty): Some(valid)
/// when it ran (exit 0 or 1).
fn cli_valid(bundle: &Path, rpc: &str, contract: &str, extra: &[String]) -> Option<bool> {
    let out = Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .arg("verify")
        .arg(bundle)
        .args(["--rpc", rpc, "--json"])
        .args(if contract.is_empty() {
            vec![]
        } else {
            vec!["--contract", contract]
        })
        .args(extra)
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => {
            eprintln!(
                "proofdesk verify could not run: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
    }
}

fn find<'a>(results: &'a [Value], name: &str) -> &'a Value {
    let r = results
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no result for {name}"));
    assert!(
        r["failure"].is_null(),
        "{name}: the driver failed: {}",
        r["failure"]
    );
    assert_eq!(r["errors"], json!([]), "{name}: page errors");
    r
}

fn marks(r: &Value) -> Vec<String> {
    r["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mark"].as_str().unwrap().to_owned())
        .collect()
}

fn has_key(r: &Value, key: &str) -> bool {
    r["problemKeys"]
        .as_array()
        .is_some_and(|k| k.iter().any(|k| k == key))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complainant_checks_the_record_in_a_browser() {
    let app = App::spawn().await;
    let work = tempfile::tempdir().unwrap();
    let shots = screenshots_dir();

    // The platform records a complaint's lifecycle.
    let (status, created) = app
        .call(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"external_id": "zd-page-1"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let h = created["ticket"].as_str().unwrap().to_owned();
    let lifecycle = [
        event(
            "ticket.created",
            json!({"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {}}),
            "customer",
            None,
        ),
        event(
            "message.added",
            json!({"direction": "inbound", "visibility": "public"}),
            "customer",
            Some("My withdrawal has been pending for 9 days. 我的提现已经九天了。"),
        ),
        event("ticket.acknowledged", json!({}), "system", None),
        event(
            "ticket.assigned",
            json!({"assignee": "agent-9", "group": "payments"}),
            "agent",
            None,
        ),
        event(
            "ticket.escalated",
            json!({"level": 1, "reason": "sla_risk"}),
            "agent",
            None,
        ),
        event(
            "final_response.issued",
            json!({"outcome": "upheld", "referral_rights": true}),
            "agent",
            None,
        ),
        event(
            "ticket.resolved",
            json!({"resolution": "upheld"}),
            "agent",
            None,
        ),
        event(
            "message.added",
            json!({"direction": "outbound", "visibility": "public"}),
            "agent",
            Some("We have returned your funds."),
        ),
    ];
    let mut appended = Vec::new();
    for e in &lifecycle {
        let (status, body) = app
            .call(
                reqwest::Method::POST,
                &format!("/v1/tickets/{h}/events"),
                Some(e.clone()),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        // The v2 receipt as the append returned it.
        let receipt = proofdesk::verify::receipt::from_append_answer(&body).unwrap();
        appended.push(serde_json::to_value(receipt).unwrap());
    }

    // The ticket API hands out each event's receipt again (re-issued as v1,
    // one signature each, for the same promise), a compact form, and a
    // verifier link carrying them all.
    let (status, ticket) = app
        .call(reqwest::Method::GET, &format!("/v1/tickets/{h}"), None)
        .await;
    assert_eq!(status, 200, "{ticket}");
    let events = ticket["events"].as_array().unwrap();
    let compacts: Vec<String> = events
        .iter()
        .map(|e| e["receipt_compact"].as_str().unwrap().to_owned())
        .collect();
    for (seq, e) in events.iter().enumerate() {
        let (status, receipt) = app
            .call(
                reqwest::Method::GET,
                e["receipt_url"].as_str().unwrap(),
                None,
            )
            .await;
        assert_eq!(status, 200, "{receipt}");
        let mut promise = receipt["receipt"].clone();
        let mut original = appended[seq]["receipt"].clone();
        assert_eq!(
            (promise["v"].take(), original["v"].take()),
            (json!(1), json!(2))
        );
        assert_eq!(
            promise, original,
            "receipt {seq} promises what the append's did"
        );
    }
    let verify_url = ticket["verify_url"].as_str().unwrap();
    assert_eq!(verify_url, format!("/verify/{h}#r={}", compacts.join(",")));

    // Disclosure: the text and salt of the complainant's message.
    let (status, disclosure) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/tickets/{h}/events/1/content"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{disclosure}");
    assert_eq!(disclosure["seq"], 1);
    assert!(disclosure["content"].as_str().unwrap().contains("九天"));
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/tickets/{h}/events/0/content"),
            None,
        )
        .await;
    assert_eq!(
        status, 404,
        "an event without content has nothing to disclose"
    );

    // Wait (bounded) until every event is anchored.
    let mut bundle = Value::Null;
    for _ in 0..150 {
        let (status, b) = app
            .call(
                reqwest::Method::GET,
                &format!("/v1/tickets/{h}/proof"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        // Sealed is not enough: the page checks the chain, so every batch
        // must be final there (a sealed batch still shows as pending).
        let final_batches = b["batches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|batch| batch["status"] == "final");
        if final_batches
            && b["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| !e["batch"].is_null())
        {
            bundle = b;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!bundle.is_null(), "every event anchored within 30 s");

    // Erasure (GDPR Art. 17) of the agent's reply: 410 afterwards with the
    // time, and the bundle is unchanged (it still verifies below).
    let (status, erased) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/tickets/{h}/events/7/content"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    let (status, gone) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/tickets/{h}/events/7/content"),
            None,
        )
        .await;
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["erased_at"], erased["erased_at"]);
    let (_, after) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/tickets/{h}/proof"),
            None,
        )
        .await;
    assert_eq!(after, bundle, "erasure leaves the bundle unchanged");
    let ingest_only =
        proofdesk::api::auth::create_key(app.node.store.as_ref(), &["ingest".into()], "helpdesk")
            .await
            .unwrap();
    let resp = app
        .http
        .delete(format!(
            "{}/v1/tickets/{h}/events/1/content",
            app.node.url()
        ))
        .bearer_auth(&ingest_only)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403, "erasure needs the admin scope");

    // The complainant rates the outcome: the log holds it, not yet anchored
    // (the batch waits for more events), so the page shows it as pending.
    let (status, rated) = app
        .call(
            reqwest::Method::POST,
            &format!("/v1/tickets/{h}/events"),
            Some(event(
                "satisfaction.rated",
                json!({"score": 4, "scale": 5}),
                "customer",
                None,
            )),
        )
        .await;
    assert_eq!(status, 201, "{rated}");

    // The page is served with its own Content-Security-Policy, exactly the
    // one built with it; a bad handle is a problem, not a page.
    for path in ["/verify".to_owned(), format!("/verify/{h}")] {
        let resp = app
            .http
            .get(format!("{}{path}", app.node.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let headers = resp.headers().clone();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().unwrap();
        let built = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dist/verify.csp"),
        )
        .unwrap();
        assert_eq!(csp, built.trim_end());
        assert!(
            csp.starts_with("default-src 'none'; script-src 'sha256-"),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self' http: https:"), "{csp}");
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("<script src") && !body.contains("<link"),
            "no external resource"
        );
    }
    let resp = app
        .http
        .get(format!("{}/verify/tk_nope", app.node.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let (_, log) = app.call(reqwest::Method::GET, "/v1/log", None).await;
    assert_eq!(log["public_rpc"], json!(app.anvil.url()));
    assert_eq!(log["chain"]["contract"], json!(app.contract));

    // Bundles and files the complainant might hold.
    let write = |name: &str, v: &Value| -> String {
        let p = work.path().join(name);
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p.display().to_string()
    };
    let good = write("good.json", &bundle);
    let mut changed = bundle.clone();
    changed["events"][3]["record"]["actor"]["ref"] = json!("agent-8");
    let changed = write("changed.json", &changed);
    let mut dropped = bundle.clone();
    dropped["events"].as_array_mut().unwrap().remove(2);
    let dropped = write("dropped.json", &dropped);
    let mut chain = bundle.clone();
    chain["chain"]["chain_id"] = json!(1);
    let chain = write("chain.json", &chain);
    // A bundle that stops before the last event is self-consistent; the
    // complainant's receipt for that event exposes it.
    let mut short = bundle.clone();
    short["events"].as_array_mut().unwrap().pop();
    let short = write("short.json", &short);
    let last_receipt = write("receipt-7.json", &appended[7]);
    // The log shows the last event as pending although the contract has
    // anchored its position: it withholds the proof.
    let mut unproven = bundle.clone();
    let last = unproven["events"].as_array().unwrap().len() - 1;
    unproven["events"][last]["batch"] = Value::Null;
    unproven["events"][last]["path"] = json!([]);
    let unproven = write("unproven.json", &unproven);
    let disclosure_file = write("disclosure.json", &disclosure);
    let mut wrong = disclosure.clone();
    wrong["content"] = json!("My withdrawal has been pending for 2 days.");
    let wrong_disclosure = write("wrong-disclosure.json", &wrong);

    let base = app.node.url();
    let rpc = app.anvil.url();
    let page = format!("{base}/verify");
    let wrong_contract = "0x4242424242424242424242424242424242424242";
    let file_page = format!(
        "file://{}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("web/dist/verify.html")
            .display()
    );
    let cases = json!([
        {"name": "good", "url": format!("{base}{verify_url}"), "rpc": rpc, "contract": app.contract, "screenshot": shots.join("verify-good.png")},
        {"name": "good-zh", "url": format!("{base}/verify/{h}"), "lang": "zh", "rpc": rpc, "contract": app.contract, "screenshot": shots.join("verify-good-zh.png")},
        {"name": "changed", "url": page, "rpc": rpc, "contract": app.contract, "ticket": "", "files": [changed], "screenshot": shots.join("verify-tampered.png")},
        {"name": "dropped", "url": page, "rpc": rpc, "contract": app.contract, "ticket": "", "files": [dropped]},
        {"name": "wrong-contract", "url": page, "rpc": rpc, "contract": wrong_contract, "ticket": "", "files": [good]},
        {"name": "wrong-chain", "url": page, "rpc": rpc, "contract": app.contract, "ticket": "", "files": [chain]},
        {"name": "withheld", "url": page, "rpc": rpc, "contract": app.contract, "ticket": "", "files": [short, last_receipt], "screenshot": shots.join("verify-withheld.png")},
        {"name": "unproven", "url": page, "rpc": rpc, "contract": app.contract, "ticket": "", "files": [unproven]},
        {"name": "untrusted", "url": file_page, "rpc": rpc, "contract": "", "files": [good]},
        {"name": "disclosure", "url": page, "rpc": rpc, "contract": app.contract, "ticket": "", "files": [good, disclosure_file]},
        {"name": "wrong-disclosure", "url": page, "rpc": rpc, "contract": app.contract, "ticket": "", "files": [good, wrong_disclosure]},
        {"name": "from-disk", "url": file_page, "rpc": rpc, "contract": app.contract, "files": [good]},
        {"name": "from-disk-link", "url": file_page, "rpc": rpc, "contract": app.contract, "ticket": format!("{base}/verify/{h}")},
        {"name": "conformance", "url": format!("{file_page}#conformance"), "conformance": true},
    ]);
    let results = run_browser(&cases, work.path());
    let n = lifecycle.len();

    // The good ticket, from the link with every receipt in its fragment.
    let r = find(&results, "good");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    let mut want = vec!["ok"; n];
    want.push("pending");
    assert_eq!(marks(r), want, "the last event is pending, never ✓: {r:#}");
    assert!(
        r["verdictText"]
            .as_str()
            .unwrap()
            .contains("1 recent step(s) are not yet anchored"),
        "{r:#}"
    );
    assert_eq!(r["resolution"], "Resolution: upheld.", "{r:#}");
    let texts = r["marks"].to_string();
    assert!(
        texts.contains("Final response: upheld; you were told of your right to refer"),
        "{texts}"
    );
    assert!(texts.contains("Escalated to level 1: sla_risk"), "{texts}");
    assert!(
        texts.contains("acknowledged") && texts.contains("after you wrote"),
        "{texts}"
    );
    // People count from 1: the eight events are events 1 through 8.
    assert!(
        r["completeness"]
            .as_str()
            .unwrap()
            .contains(&format!("Events 1 through {n} are anchored and complete")),
        "{r:#}"
    );
    assert!(
        r["completeness"]
            .as_str()
            .unwrap()
            .contains(&format!("up to event {n}")),
        "{r:#}"
    );
    assert_eq!(r["receipts"].as_array().unwrap().len(), n);
    // Reported in time and anchored by the deadline: met.
    assert_eq!(r["clockAck"]["judged"], "met", "{r:#}");
    assert_eq!(r["clockFinal"]["judged"], "met", "{r:#}");

    let r = find(&results, "good-zh");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert!(
        r["verdictText"].as_str().unwrap().contains("已核验"),
        "{r:#}"
    );
    assert_eq!(r["resolution"], "解决方式：投诉成立（upheld）。");

    // Each tampering: ✗, naming the event or the reason.
    let r = find(&results, "changed");
    assert_eq!(r["verdict"], "invalid");
    assert_eq!(marks(r)[3], "bad", "{r:#}");
    assert!(has_key(r, "leaf_mismatch"), "{r:#}");
    assert!(
        r["problems"].to_string().contains("Event 4 was changed"),
        "{r:#}"
    );
    assert_eq!(
        r["status"],
        "Status not established: the record did not verify."
    );

    let r = find(&results, "dropped");
    assert_eq!(r["verdict"], "invalid");
    assert!(has_key(r, "seq_gap") && has_key(r, "prev_broken"), "{r:#}");
    assert!(
        r["problems"].to_string().contains("events are missing"),
        "{r:#}"
    );

    let r = find(&results, "wrong-contract");
    assert_eq!(r["verdict"], "invalid");
    assert!(has_key(r, "contract_mismatch"), "{r:#}");
    // Not anchored on the contract the user trusts: no step shows ✓.
    assert!(marks(r).iter().all(|m| m != "ok"), "{r:#}");

    let r = find(&results, "wrong-chain");
    assert_eq!(r["verdict"], "invalid");
    assert!(has_key(r, "chain_mismatch"), "{r:#}");
    assert!(
        r["problems"]
            .to_string()
            .contains("The bundle says chain 1; your RPC serves chain 31337."),
        "{r:#}"
    );

    let r = find(&results, "withheld");
    assert_eq!(r["verdict"], "invalid");
    assert!(has_key(r, "receipt_withheld"), "{r:#}");
    assert!(
        r["problems"]
            .to_string()
            .contains("withheld or never recorded"),
        "{r:#}"
    );
    let mut want = vec!["ok"; n - 1];
    want.push("withheld");
    assert_eq!(
        marks(r),
        want,
        "the events shown are fine; the receipt exposes the gap"
    );

    let r = find(&results, "unproven");
    assert_eq!(r["verdict"], "invalid");
    assert!(has_key(r, "pending_but_anchored"), "{r:#}");
    assert_eq!(
        marks(r)[n - 1],
        "bad",
        "a withheld proof is never shown as pending or ✓"
    );

    let r = find(&results, "untrusted");
    assert_eq!(
        r["verdict"], "invalid",
        "no contract from anywhere, no verdict: {r:#}"
    );
    assert!(has_key(r, "no_trusted_contract"), "{r:#}");

    let r = find(&results, "disclosure");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert!(
        r["disclosures"][0]
            .as_str()
            .unwrap()
            .contains("is exactly this text"),
        "{r:#}"
    );
    assert!(
        r["disclosures"][0].as_str().unwrap().contains("九天"),
        "{r:#}"
    );

    let r = find(&results, "wrong-disclosure");
    assert_eq!(r["verdict"], "invalid");
    assert!(has_key(r, "disclosure_mismatch"), "{r:#}");

    let r = find(&results, "from-disk");
    assert_eq!(
        r["verdict"], "valid",
        "the saved page works from disk: {r:#}"
    );

    let r = find(&results, "from-disk-link");
    assert_eq!(
        r["verdict"], "valid",
        "the saved page fetches a typed link: {r:#}"
    );
    assert_eq!(marks(r).len(), n + 1, "{r:#}");

    let r = find(&results, "conformance");
    assert_eq!(r["conformance"]["state"], "pass", "{r:#}");

    // The CLI agrees with the page on every bundle.
    let tk = |extra: &[&str]| extra.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut agreement = vec![
        ("good", good.clone(), app.contract.clone(), tk(&[])),
        ("changed", changed.clone(), app.contract.clone(), tk(&[])),
        ("dropped", dropped.clone(), app.contract.clone(), tk(&[])),
        (
            "wrong-contract",
            good.clone(),
            wrong_contract.to_owned(),
            tk(&[]),
        ),
        ("wrong-chain", chain.clone(), app.contract.clone(), tk(&[])),
    ];
    // Receipts, disclosures, a withheld proof and no trusted contract.
    agreement.push(("unproven", unproven.clone(), app.contract.clone(), tk(&[])));
    // No trusted contract: not valid (the CLI's default, like the page's).
    agreement.push(("untrusted", good.clone(), String::new(), tk(&[])));
    agreement.push((
        "withheld",
        short.clone(),
        app.contract.clone(),
        tk(&["--receipt", &last_receipt]),
    ));
    agreement.push((
        "disclosure",
        good.clone(),
        app.contract.clone(),
        tk(&["--disclose", &disclosure_file]),
    ));
    agreement.push((
        "wrong-disclosure",
        good.clone(),
        app.contract.clone(),
        tk(&["--disclose", &wrong_disclosure]),
    ));
    for (name, file, contract, extra) in agreement {
        let page_valid = find(&results, name)["verdict"] == "valid";
        let cli = cli_valid(Path::new(&file), &rpc, &contract, &extra);
        assert_eq!(
            cli,
            Some(page_valid),
            "{name}: the page says valid={page_valid}, the CLI {cli:?}"
        );
    }

    app.node.shutdown().await;
    app.anvil.stop().await;
}
