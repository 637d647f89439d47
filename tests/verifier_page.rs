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

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::browser::{file_page, run_browser};
use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk_testkit::TestApp;
use serde_json::{Value, json};

/// The page's node, with the maximum merge delay the log declares (in
/// every bundle). Batches of 4 seal at once; a lone later event waits ten
/// minutes, so the test can show a pending event for sure. The log
/// suggests its own anvil as public RPC, and the key is an admin's.
async fn spawn_with(max_merge_delay: Duration) -> TestApp {
    TestApp::builder()
        .seal(4, Duration::from_secs(600))
        .public_rpc()
        .scopes(&["admin"])
        .with_config(move |c| c.max_merge_delay = max_merge_delay)
        .spawn()
        .await
}

async fn spawn() -> TestApp {
    spawn_with(Duration::from_secs(60)).await
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

/// The CLI's verdict class for a bundle file (PROTOCOL §13.1): from its
/// `--json` report, or `error` when it could not verify (exit 2).
fn cli_verdict(bundle: &Path, rpc: &str, contract: &str, extra: &[String]) -> String {
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
    if out.status.code() == Some(2) {
        return "error".into();
    }
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "proofdesk verify --json: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["verdict"].as_str().unwrap_or_default().to_owned()
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
    let app = spawn().await;
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
    assert_eq!(log["chain"]["contract"], json!(app.contract_hex()));

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
    // A bundle that stops before the last event, without the map proof
    // that would expose it once the last event's batch is final (a log
    // that withholds events withholds that proof too), is self-consistent;
    // the complainant's receipt for that event exposes it.
    let mut short = bundle.clone();
    short["events"].as_array_mut().unwrap().pop();
    short.as_object_mut().unwrap().remove("map");
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
        {"name": "good", "url": format!("{base}{verify_url}"), "rpc": rpc, "contract": app.contract_hex(), "screenshot": shots.join("verify-good.png")},
        {"name": "good-zh", "url": format!("{base}/verify/{h}"), "lang": "zh", "rpc": rpc, "contract": app.contract_hex(), "screenshot": shots.join("verify-good-zh.png")},
        {"name": "changed", "url": page, "rpc": rpc, "contract": app.contract_hex(), "ticket": "", "files": [changed], "screenshot": shots.join("verify-tampered.png")},
        {"name": "dropped", "url": page, "rpc": rpc, "contract": app.contract_hex(), "ticket": "", "files": [dropped]},
        {"name": "wrong-contract", "url": page, "rpc": rpc, "contract": wrong_contract, "ticket": "", "files": [good]},
        {"name": "wrong-chain", "url": page, "rpc": rpc, "contract": app.contract_hex(), "ticket": "", "files": [chain]},
        {"name": "withheld", "url": page, "rpc": rpc, "contract": app.contract_hex(), "ticket": "", "files": [short, last_receipt], "screenshot": shots.join("verify-withheld.png")},
        {"name": "unproven", "url": page, "rpc": rpc, "contract": app.contract_hex(), "ticket": "", "files": [unproven]},
        {"name": "untrusted", "url": file_page, "rpc": rpc, "contract": "", "files": [good]},
        {"name": "disclosure", "url": page, "rpc": rpc, "contract": app.contract_hex(), "ticket": "", "files": [good, disclosure_file]},
        {"name": "wrong-disclosure", "url": page, "rpc": rpc, "contract": app.contract_hex(), "ticket": "", "files": [good, wrong_disclosure]},
        {"name": "from-disk", "url": file_page, "rpc": rpc, "contract": app.contract_hex(), "files": [good]},
        {"name": "from-disk-link", "url": file_page, "rpc": rpc, "contract": app.contract_hex(), "ticket": format!("{base}/verify/{h}")},
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

    // No contract typed: the bundle's own is the dev chain's, on the list
    // built into the page (marked development), so the list vouches for it
    // as it does in the CLI (PROTOCOL §13.2).
    let r = find(&results, "untrusted");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    let contract = r["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["input"] == "contract")
        .unwrap_or_else(|| panic!("the contract's source is named: {r:#}"));
    assert_eq!(contract["source"], "list", "{r:#}");
    assert!(
        contract["text"]
            .as_str()
            .unwrap()
            .contains("the development deployment (not a platform's)"),
        "{r:#}"
    );

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
        ("good", good.clone(), app.contract_hex(), tk(&[])),
        ("changed", changed.clone(), app.contract_hex(), tk(&[])),
        ("dropped", dropped.clone(), app.contract_hex(), tk(&[])),
        (
            "wrong-contract",
            good.clone(),
            wrong_contract.to_owned(),
            tk(&[]),
        ),
        ("wrong-chain", chain.clone(), app.contract_hex(), tk(&[])),
    ];
    // Receipts, disclosures, a withheld proof and no trusted contract.
    agreement.push(("unproven", unproven.clone(), app.contract_hex(), tk(&[])));
    // No contract typed: the deployment list's (both verifiers, §13.2).
    agreement.push(("untrusted", good.clone(), String::new(), tk(&[])));
    agreement.push((
        "withheld",
        short.clone(),
        app.contract_hex(),
        tk(&["--receipt", &last_receipt]),
    ));
    agreement.push((
        "disclosure",
        good.clone(),
        app.contract_hex(),
        tk(&["--disclose", &disclosure_file]),
    ));
    agreement.push((
        "wrong-disclosure",
        good.clone(),
        app.contract_hex(),
        tk(&["--disclose", &wrong_disclosure]),
    ));
    for (name, file, contract, extra) in agreement {
        let page = find(&results, name)["verdict"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let cli = cli_verdict(Path::new(&file), &rpc, &contract, &extra);
        assert_eq!(cli, page, "{name}: the page says {page}, the CLI {cli}");
    }

    app.stop().await;
}

// ---- Issue 25: what the page trusts, and the rules it shares with the CLI ----

/// An event that says it happened at `occurred_at`.
fn event_at(t: &str, data: Value, role: &str, occurred_at: &str) -> Value {
    let mut e = event(t, data, role, None);
    e["occurred_at"] = json!(occurred_at);
    e
}

/// A complaint's lifecycle, every step said to happen `days_ago` days ago
/// (0: now), one second apart.
fn complaint_events(days_ago: i64) -> Vec<Value> {
    let start = proofdesk::protocol::fields::Timestamp::now().millis() - days_ago * 86_400_000;
    let at = |k: i64| {
        proofdesk::protocol::fields::Timestamp::from_millis(start + k * 1000)
            .unwrap()
            .to_string()
    };
    vec![
        event_at(
            "ticket.created",
            json!({"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {}}),
            "customer",
            &at(0),
        ),
        event_at("ticket.acknowledged", json!({}), "system", &at(1)),
        event_at(
            "ticket.assigned",
            json!({"assignee": "agent-9", "group": "payments"}),
            "agent",
            &at(2),
        ),
        event_at(
            "final_response.issued",
            json!({"outcome": "upheld", "referral_rights": true}),
            "agent",
            &at(3),
        ),
        event_at(
            "ticket.resolved",
            json!({"resolution": "upheld"}),
            "agent",
            &at(4),
        ),
        event_at(
            "satisfaction.rated",
            json!({"score": 2, "scale": 5}),
            "customer",
            &at(5),
        ),
        event_at(
            "message.added",
            json!({"direction": "outbound", "visibility": "public"}),
            "agent",
            &at(6),
        ),
        event_at(
            "message.added",
            json!({"direction": "inbound", "visibility": "public"}),
            "customer",
            &at(7),
        ),
    ]
}

/// A support request (not a complaint) with one event.
fn request_events() -> Vec<Value> {
    vec![event(
        "ticket.created",
        json!({"category": "kyc", "priority": "normal", "complaint": false, "labels": {}}),
        "customer",
        None,
    )]
}

/// Creates a ticket and appends `events`; the append answers, verbatim.
async fn record(app: &TestApp, external_id: &str, events: &[Value]) -> (String, Vec<Value>) {
    let (status, created) = app
        .call(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"external_id": external_id})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let h = created["ticket"].as_str().unwrap().to_owned();
    let mut answers = Vec::new();
    for e in events {
        let (status, body) = app
            .call(
                reqwest::Method::POST,
                &format!("/v1/tickets/{h}/events"),
                Some(e.clone()),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        answers.push(body);
    }
    (h, answers)
}

async fn proof(app: &TestApp, h: &str) -> Value {
    let (status, b) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/tickets/{h}/proof"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{b}");
    b
}

/// The bundle once every event is in a batch final on chain (bounded wait).
async fn anchored_proof(app: &TestApp, h: &str) -> Value {
    for _ in 0..150 {
        let b = proof(app, h).await;
        let batches_final = b["batches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["status"] == "final");
        let all_in = b["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["batch"].is_null());
        if batches_final && all_in {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("ticket {h} not anchored within 30 s");
}

fn write_json(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p.display().to_string()
}

fn sources(r: &Value, input: &str) -> Vec<String> {
    r["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["input"] == input)
        .map(|s| s["source"].as_str().unwrap().to_owned())
        .collect()
}

fn source_text(r: &Value, input: &str) -> String {
    r["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["input"] == input)
        .map(|s| s["text"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Issue 25 §1: what the log serves (/v1/log) and what a link carries
/// (#contract=, #rpc=, #ticket=) is shown with its source and never enough
/// for "Verified"; the ticket is the one in the page's URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_trusts_only_what_the_complainant_brings() {
    let app = spawn().await;
    let work = tempfile::tempdir().unwrap();
    let (h, _) = record(&app, "zd-trust", &complaint_events(0)).await;
    let good = anchored_proof(&app, &h).await;
    let (other, _) = record(&app, "zd-other", &request_events()).await;
    let other_bundle = proof(&app, &other).await;
    let good = write_json(work.path(), "good.json", &good);
    let other_file = write_json(work.path(), "other.json", &other_bundle);
    let (base, rpc, contract) = (app.node.url(), app.anvil.url(), app.contract_hex());
    let dev_entry = format!("31337/{contract}");
    assert_eq!(
        contract, "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "the dev chain's listed contract"
    );
    let evil = "0x4242424242424242424242424242424242424242";
    let percent = format!("{base}/verify/%74k_{}", &h[3..]);
    let cases = json!([
        // Opened as the log hands it out, nothing typed: the log's own contract and RPC.
        {"name": "log-only", "url": format!("{base}/verify/{h}"), "screenshot": screenshots_dir().join("verify-consistent.png")},
        {"name": "rpc-from-log", "url": format!("{base}/verify/{h}"), "contract": contract},
        {"name": "contract-from-log", "url": format!("{base}/verify/{h}"), "rpc": rpc},
        {"name": "link-fragments", "url": format!("{base}/verify/{h}#contract={contract}&rpc={rpc}")},
        {"name": "link-fragments-overridden", "url": format!("{base}/verify/{h}#contract={evil}&rpc=http://127.0.0.1:9"), "rpc": rpc, "contract": contract},
        {"name": "ticket-swap", "url": format!("{base}/verify/{h}#ticket={base}/v1/tickets/{other}/proof"), "rpc": rpc, "contract": contract},
        {"name": "ticket-swap-file", "url": format!("{base}/verify/{h}"), "rpc": rpc, "contract": contract, "files": [other_file]},
        {"name": "percent-encoded", "url": percent, "rpc": rpc, "contract": contract},
        {"name": "disk-link", "url": format!("{}#ticket={base}/verify/{h}", file_page())},
        {"name": "disk-link-typed", "url": format!("{}#ticket={base}/verify/{h}", file_page()), "rpc": rpc, "contract": contract},
        {"name": "list-pick", "url": file_page(), "rpc": rpc, "deployment": dev_entry, "files": [good]},
        {"name": "stored-rpc", "url": format!("{base}/verify/{h}"), "storage": {"proofdesk.rpc": rpc}, "contract": contract},
    ]);
    let results = run_browser(&cases, work.path());

    // This log anchors on the dev chain's contract, which is on the list
    // built into the page: the list, not the log or the link, vouches for
    // the contract (PROTOCOL §13.2), and the RPC from the log or the link
    // still keeps every verdict below Verified. (An unlisted contract from
    // the log or a link runs through the page in the attack table, below.)
    for name in ["log-only", "link-fragments", "disk-link"] {
        let r = find(&results, name);
        assert_eq!(r["verdict"], "consistent", "{name}: never Verified: {r:#}");
        assert!(
            r["verdictText"]
                .as_str()
                .unwrap()
                .contains("NOT independently checked"),
            "{r:#}"
        );
        assert_eq!(r["bring"].as_array().unwrap().len(), 1, "{r:#}");
        assert!(marks(r).iter().all(|m| m != "ok"), "no ✓: {r:#}");
        assert!(
            r["resolution"].is_string(),
            "the log's claims are shown: {r:#}"
        );
    }
    let r = find(&results, "log-only");
    assert_eq!(sources(r, "contract"), ["list"], "{r:#}");
    assert_eq!(sources(r, "rpc"), ["log"], "{r:#}");
    assert!(
        r["offers"].to_string().contains("suggested by the log"),
        "the log's suggestion is shown, unused: {r:#}"
    );
    assert_eq!(sources(r, "ticket"), ["path"], "{r:#}");
    let r = find(&results, "link-fragments");
    assert_eq!(sources(r, "contract"), ["list"], "{r:#}");
    assert_eq!(sources(r, "rpc"), ["link"], "{r:#}");
    assert!(source_text(r, "rpc").contains("from the link"), "{r:#}");
    let r = find(&results, "disk-link");
    assert_eq!(sources(r, "ticket"), ["link"], "{r:#}");
    assert_eq!(sources(r, "contract"), ["list"], "{r:#}");

    // Only the RPC, or only the contract, from the log: still not Verified.
    let r = find(&results, "rpc-from-log");
    assert_eq!(r["verdict"], "consistent", "{r:#}");
    assert_eq!(sources(r, "rpc"), ["log"], "{r:#}");
    assert_eq!(r["bring"].as_array().unwrap().len(), 1, "{r:#}");
    // The RPC typed, the contract only suggested by the log: the list
    // vouches for the bundle's (listed) contract.
    let r = find(&results, "contract-from-log");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(sources(r, "contract"), ["list"], "{r:#}");

    // What the user typed wins over the link's; the link's are shown, unused.
    let r = find(&results, "link-fragments-overridden");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(sources(r, "contract"), ["typed"], "{r:#}");
    assert!(
        source_text(r, "contract")
            .contains("you typed it; it is the development deployment (not a platform's)"),
        "{r:#}"
    );
    assert!(r["offers"].to_string().contains(evil), "{r:#}");

    // A link cannot swap in another ticket: tk_A's page verifies tk_A.
    let r = find(&results, "ticket-swap");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert!(
        source_text(r, "ticket").contains(&format!("Ticket {h}: the handle in the page's URL")),
        "{r:#}"
    );
    assert!(
        source_text(r, "ticket").contains(&format!(
            "The link names ticket {other}, but this page is for {h}"
        )),
        "{r:#}"
    );
    assert_eq!(marks(r).len(), 8, "tk_A's eight events: {r:#}");
    let r = find(&results, "ticket-swap-file");
    assert_eq!(r["verdict"], "invalid", "{r:#}");
    assert!(has_key(r, "wrong_ticket"), "{r:#}");
    assert!(marks(r).iter().all(|m| m != "ok"), "{r:#}");
    // The handle is decoded as the server decodes the path.
    let r = find(&results, "percent-encoded");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert!(source_text(r, "ticket").contains(&h), "{r:#}");

    // The page from disk verifies a ticket from a server URL (CORS on the
    // public reads), the user's contract and RPC making it Verified.
    let r = find(&results, "disk-link-typed");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(sources(r, "ticket"), ["link"], "{r:#}");

    let r = find(&results, "list-pick");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(sources(r, "contract"), ["list"], "{r:#}");
    assert!(
        source_text(r, "contract")
            .contains("from the deployment list: the development deployment (not a platform's)"),
        "{r:#}"
    );

    let r = find(&results, "stored-rpc");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(sources(r, "rpc"), ["stored"], "{r:#}");

    app.stop().await;
}

/// Issue 25 §1, several RPCs: read at one common block, any disagreement
/// fails with both answers and both RPCs named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_rpcs_are_compared_and_a_disagreement_fails() {
    let app = spawn().await;
    let work = tempfile::tempdir().unwrap();
    let (h, _) = record(&app, "zd-rpcs", &complaint_events(0)).await;
    anchored_proof(&app, &h).await;
    // A second chain with the same contract at the same address (the same
    // deployer's first transaction) and nothing anchored on it.
    let other = Anvil::start(0, Some(1)).await.unwrap();
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (twin, _) =
        proofdesk::anchor::deploy::deploy(&other.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    assert_eq!(format!("{twin:#x}"), app.contract_hex());
    let (base, rpc) = (app.node.url(), app.anvil.url());
    let same_node = rpc.replace("127.0.0.1", "localhost");
    let cases = json!([
        {"name": "agree", "url": format!("{base}/verify/{h}"), "contract": app.contract_hex(), "rpc": format!("{rpc}\n{same_node}")},
        {"name": "disagree", "url": format!("{base}/verify/{h}"), "contract": app.contract_hex(), "rpc": format!("{rpc}, {}", other.url())},
    ]);
    let results = run_browser(&cases, work.path());
    let r = find(&results, "agree");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(sources(r, "rpc"), ["typed", "typed"], "{r:#}");
    let r = find(&results, "disagree");
    assert_eq!(r["verdict"], "invalid", "{r:#}");
    assert!(has_key(r, "rpc_disagree"), "{r:#}");
    let said = r["problems"].to_string();
    assert!(
        said.contains(&rpc) && said.contains(&other.url()),
        "both RPCs named: {said}"
    );
    assert!(said.contains("Your RPCs disagree on nextIndex()"), "{said}");
    other.stop().await;
    app.stop().await;
}

/// Issue 25 §2/§4: steps reported 60 days ago but recorded and anchored now,
/// with the bundle declaring a 60-day merge delay for itself. A deadline is
/// met only when the anchor bounds it; the bundle's MMD bounds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_count_as_met_only_when_the_anchor_bounds_them() {
    let sixty_days = Duration::from_secs(60 * 86_400);
    let app = spawn_with(sixty_days).await;
    let work = tempfile::tempdir().unwrap();
    let (h, _) = record(&app, "zd-backdated", &complaint_events(60)).await;
    let bundle = anchored_proof(&app, &h).await;
    assert_eq!(bundle["max_merge_delay_ms"], json!(5_184_000_000u64));
    let (base, rpc) = (app.node.url(), app.anvil.url());
    let cases = json!([
        {"name": "backdated", "url": format!("{base}/verify/{h}"), "rpc": rpc, "contract": app.contract_hex(), "readBody": true},
        {"name": "backdated-zh", "url": format!("{base}/verify/{h}"), "lang": "zh", "rpc": rpc, "contract": app.contract_hex()},
    ]);
    let results = run_browser(&cases, work.path());
    let r = find(&results, "backdated");
    assert_eq!(r["verdict"], "valid", "nothing is forged, only late: {r:#}");
    for which in ["clockAck", "clockFinal"] {
        assert_eq!(r[which]["judged"], "met_late", "{which}: {r:#}");
        assert!(
            r[which]["text"].as_str().unwrap().contains("reported met"),
            "{r:#}"
        );
    }
    assert_eq!(r["mmdBound"], "nobody", "{r:#}");
    let body = r["body"].as_str().unwrap();
    assert!(
        body.contains("the log claims 5184000 s (unsigned, its own claim)"),
        "{body}"
    );
    assert!(!body.contains("recorded at the time shown"), "{body}");
    let r = find(&results, "backdated-zh");
    assert!(
        r["clockAck"]["text"]
            .as_str()
            .unwrap()
            .contains("报告为按时完成"),
        "{r:#}"
    );
    app.stop().await;
}

/// Issue 25 §2/§5: the three cases where the page and the CLI disagreed
/// follow one rule, and the page agrees with `proofdesk verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_disputed_cases_follow_one_rule() {
    let app = spawn().await;
    let work = tempfile::tempdir().unwrap();
    let (h, _) = record(&app, "zd-rules", &complaint_events(0)).await;
    let bundle = anchored_proof(&app, &h).await;
    // The claimed block off by five: only a search hint.
    let mut moved = bundle.clone();
    for b in moved["batches"].as_array_mut().unwrap() {
        b["block"] = json!(b["block"].as_u64().unwrap() + 5);
    }
    let moved = write_json(work.path(), "moved.json", &moved);
    // The bundle's own MMD at 2^53 − 1: shown, never used.
    let mut mmd_max = bundle.clone();
    mmd_max["max_merge_delay_ms"] = json!(9_007_199_254_740_991u64);
    let mmd_max = write_json(work.path(), "mmd-max.json", &mmd_max);
    let good = write_json(work.path(), "good.json", &bundle);
    let (rpc, contract) = (app.anvil.url(), app.contract_hex());
    let page = format!("{}/verify", app.node.url());
    let cases = json!([
        {"name": "moved", "url": page, "rpc": rpc, "contract": contract, "files": [moved]},
        {"name": "mmd-max", "url": page, "rpc": rpc, "contract": contract, "files": [mmd_max]},
        {"name": "mmd-refused", "url": page, "rpc": rpc, "contract": contract, "files": [good], "mmd": "9007199254740991"},
    ]);
    let results = run_browser(&cases, work.path());
    let r = find(&results, "moved");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert!(
        r["noteKeys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k == "block_moved")
            && !r["notes"].as_array().unwrap().is_empty(),
        "{r:#}"
    );
    assert!(
        r["notes"][0]
            .as_str()
            .unwrap()
            .contains("the log claimed block"),
        "{r:#}"
    );
    let r = find(&results, "mmd-max");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(r["mmdBound"], "nobody", "{r:#}");
    let r = find(&results, "mmd-refused");
    assert_eq!(r["verdict"], "error", "{r:#}");
    assert!(
        r["mmdError"].as_str().unwrap().contains("is refused"),
        "the field says why: {r:#}"
    );
    for (name, file) in [("moved", &moved), ("mmd-max", &mmd_max)] {
        assert_eq!(
            cli_verdict(Path::new(file), &rpc, &contract, &[]),
            "valid",
            "{name}: the CLI agrees"
        );
    }
    app.stop().await;
}

/// Issue 25 §4: what a new user trips over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_new_user_trips_over() {
    let app = spawn().await;
    let work = tempfile::tempdir().unwrap();
    let shots = screenshots_dir();
    let (h, answers) = record(&app, "zd-user", &complaint_events(0)).await;
    let bundle = anchored_proof(&app, &h).await;
    // A support request whose only event is not anchored yet.
    let (req, _) = record(&app, "zd-request", &request_events()).await;
    let good = write_json(work.path(), "good.json", &bundle);
    // The append answer exactly as POST …/events returned it.
    assert!(answers[7]["record"].is_object() && answers[7]["replayed"] == json!(false));
    let answer = write_json(work.path(), "answer.json", &answers[7]);
    // A receipt whose signature is not the anchorer's.
    let mut bad = proofdesk::verify::receipt::from_append_answer(&answers[6]).unwrap();
    let sig = bad.signature.clone();
    bad.signature = format!(
        "{}{}",
        &sig[..10],
        &sig[10..].replacen(
            &sig[10..12],
            if &sig[10..12] == "00" { "01" } else { "00" },
            1
        )
    );
    let bad = write_json(
        work.path(),
        "bad-receipt.json",
        &serde_json::to_value(&bad).unwrap(),
    );
    let (status, ticket) = app
        .call(reqwest::Method::GET, &format!("/v1/tickets/{h}"), None)
        .await;
    assert_eq!(status, 200);
    let qr = ticket["verify_qr_url"].as_str().unwrap();
    let long = ticket["verify_url"].as_str().unwrap();
    assert!(qr.starts_with(&format!("/verify/{h}#q=")), "{qr}");
    assert!(
        qr.len() * 2 < long.len(),
        "the QR form is compact: {} vs {}",
        qr.len(),
        long.len()
    );
    let (base, rpc, contract) = (app.node.url(), app.anvil.url(), app.contract_hex());
    let page = format!("{base}/verify");
    let cases = json!([
        {"name": "append-answer", "url": page, "rpc": rpc, "contract": contract, "files": [good, answer]},
        {"name": "bad-receipt", "url": page, "rpc": rpc, "contract": contract, "files": [good, bad]},
        {"name": "pending-zh", "url": format!("{base}/verify/{req}?lang=zh-CN"), "lang": null, "rpc": rpc, "contract": contract, "readBody": true},
        {"name": "request", "url": format!("{base}/verify/{req}"), "rpc": rpc, "contract": contract, "readBody": true},
        {"name": "phone", "url": format!("{base}/verify/{h}"), "viewport": {"width": 390, "height": 844}, "rpc": rpc, "contract": contract, "screenshot": shots.join("verify-phone.png")},
        {"name": "qr", "url": format!("{base}{qr}"), "rpc": rpc, "contract": contract},
    ]);
    let results = run_browser(&cases, work.path());

    let r = find(&results, "append-answer");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(r["receipts"][0]["ok"], true, "{r:#}");
    assert!(
        r["receipts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Receipt 1 (event 8)"),
        "{r:#}"
    );

    // A bad receipt is that receipt's problem: the ticket stays as it is.
    let r = find(&results, "bad-receipt");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(r["receipts"][0]["ok"], false, "{r:#}");
    assert!(r["receiptsTrouble"].is_string(), "{r:#}");
    assert!(marks(r).iter().all(|m| m == "ok"), "{r:#}");
    // Whatever the changed signature recovers to (a wrong signer, or none),
    // the receipt is named as the problem.
    let said = r["receipts"][0]["text"].as_str().unwrap();
    assert!(
        said.starts_with("✗ Receipt 1")
            && (said.contains("not by the log's anchorer") || said.contains("cannot be read")),
        "{r:#}"
    );

    // Pending reads "not yet anchored", in Chinese too, chosen by the URL.
    let r = find(&results, "pending-zh");
    assert_eq!(r["lang"], "zh-CN", "{r:#}");
    assert_eq!(r["verdict"], "pending", "{r:#}");
    assert!(
        r["verdictText"].as_str().unwrap().starts_with("尚未锚定"),
        "{r:#}"
    );
    let body = r["body"].as_str().unwrap();
    assert!(
        !body.contains("未通过核验") && !body.contains("失败"),
        "{body}"
    );
    assert_eq!(r["title"], "核验您的支持请求记录", "{r:#}");
    assert_eq!(marks(r), ["pending"], "{r:#}");
    // A support request is never titled a complaint.
    let r = find(&results, "request");
    assert_eq!(r["verdict"], "pending", "{r:#}");
    assert_eq!(r["title"], "Check your support request's record", "{r:#}");
    assert!(
        !r["body"].as_str().unwrap().contains("complaint record"),
        "{r:#}"
    );
    assert_eq!(
        r["kind"],
        "This ticket is a support request, not a complaint."
    );

    // At 390 px the verdict comes first after a check.
    let r = find(&results, "phone");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    let top = r["verdictTop"].as_f64().unwrap();
    assert!(
        (0.0..r["viewportHeight"].as_f64().unwrap()).contains(&top),
        "in view: {r:#}"
    );
    assert!(
        r["verdictPageY"].as_f64().unwrap() < 400.0,
        "first on the page, not below the form: {}",
        r["verdictPageY"]
    );

    // The QR link carries every receipt.
    let r = find(&results, "qr");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    let receipts = r["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 8, "{r:#}");
    assert!(receipts.iter().all(|x| x["ok"] == true), "{r:#}");
    // The caveats the CLI states: completeness as of the map's batch (head
    // v2), what it rests on, and equivocation.
    let comp = r["completeness"].as_str().unwrap();
    assert!(
        comp.contains("complete as of batch")
            && comp.contains("proofdesk audit")
            && comp.contains("different version of an event"),
        "{comp}"
    );
    assert!(!comp.contains("Later events are not ruled out"), "{comp}");

    app.stop().await;
}

/// The public reads the page fetches (the bundle, /v1/log) answer any
/// origin, so a saved copy of the page works from disk or another host;
/// nothing that needs an API key does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_reads_allow_any_origin_and_authenticated_routes_do_not() {
    let app = spawn().await;
    let (h, _) = record(&app, "zd-cors", &request_events()).await;
    let url = app.node.url();
    let get = |path: String, key: bool| {
        let mut req = app
            .http
            .get(format!("{url}{path}"))
            .header("Origin", "null");
        if key {
            req = req.bearer_auth(&app.key);
        }
        req.send()
    };
    for path in [format!("/v1/tickets/{h}/proof"), "/v1/log".to_owned()] {
        let resp = get(path.clone(), false).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(
            resp.headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
    for path in [
        format!("/v1/tickets/{h}"),
        format!("/v1/tickets/{h}/events/0/receipt"),
        "/v1/keys".to_owned(),
        "/v1/export".to_owned(),
    ] {
        let resp = get(path.clone(), true).await.unwrap();
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{path}: {:?}",
            resp.headers()
        );
    }
    // A preflight for a write from another origin is not granted.
    let resp = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{url}/v1/tickets/{h}/events"),
        )
        .header("Origin", "https://elsewhere.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        resp.headers()
    );
    app.stop().await;
}

/// The operator serves the page, so the sha256 a complainant compares with
/// is published outside it: in the README and web/dist/verify.html.sha256,
/// equal to the committed page's. The page itself names no hash of its own
/// (it cannot: the hash would change the file) and says where to look.
#[test]
fn the_readme_publishes_the_pages_sha256() {
    use sha2::{Digest, Sha256};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read(root.join("web/dist/verify.html")).unwrap();
    let hash = hex::encode(Sha256::digest(&page));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("\nPage sha256: `{hash}`\n")),
        "README.md must publish {hash} (run scripts/build-page.sh)"
    );
    let file = std::fs::read_to_string(root.join("web/dist/verify.html.sha256")).unwrap();
    assert_eq!(file, format!("{hash}  verify.html\n"));
    let text = String::from_utf8(page).unwrap();
    assert!(
        text.contains("sha256sum verify.html") && text.contains("published in Proofdesk's README"),
        "the page says how to check it"
    );
}
