//! End to end through real HTTP on 127.0.0.1 and a real anvil: a platform
//! records a complaint's whole lifecycle, it gets anchored, and the proof
//! bundle verifies through the same code path as `proofdesk verify`; then
//! every kind of tampering is caught with the right reason.

mod common;

use std::time::Duration;

use alloy::primitives::Address;
use proofdesk::protocol::bundle::Bundle;
use proofdesk::protocol::receipt::SignedReceipt;
use proofdesk_testkit::{TestApp, event, problems};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_is_recorded_anchored_and_proven() {
    let app = TestApp::spawn().await;

    // The platform opens a ticket and records its lifecycle.
    let (status, created) = app
        .post("/v1/tickets", json!({"external_id": "zd-77"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let handle = created["ticket"].as_str().unwrap().to_owned();
    let lifecycle = [
        event(
            "ticket.created",
            json!({"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {}}),
            "customer",
        ),
        event("ticket.acknowledged", json!({}), "system"),
        json!({"type": "message.added", "data": {"direction": "inbound", "visibility": "public"}, "actor": {"role": "customer", "ref": "c-1"},
               "channel": "email", "occurred_at": "2026-01-05T10:00:00.000+01:00", "content": {"text": "Where is my withdrawal?"}}),
        event(
            "ticket.assigned",
            json!({"assignee": "agent-9", "group": "payments"}),
            "agent",
        ),
        event(
            "ticket.escalated",
            json!({"level": 1, "reason": "regulatory_complaint"}),
            "agent",
        ),
        event(
            "final_response.issued",
            json!({"outcome": "upheld", "referral_rights": true}),
            "agent",
        ),
        event("ticket.resolved", json!({"resolution": "upheld"}), "agent"),
        event(
            "satisfaction.rated",
            json!({"score": 4, "scale": 5}),
            "customer",
        ),
    ];
    let anchorer = app.node.chain.anchorer().await.unwrap();
    for (seq, e) in lifecycle.iter().enumerate() {
        let (status, body) = app
            .post(&format!("/v1/tickets/{handle}/events"), e.clone())
            .await;
        assert_eq!(status, 201, "{body}");
        let signed: SignedReceipt = proofdesk_testkit::receipt_in(&body);
        assert_eq!(signed.receipt.seq, seq as u64);
        assert_eq!(
            proofdesk::verify::receipt::signer_of(&signed).unwrap(),
            anchorer,
            "receipt signed by the anchorer"
        );
        assert!(body["record"].get("content").is_some());
        assert!(
            !body.to_string().contains("Where is my withdrawal"),
            "content text never leaves in records"
        );
    }

    // The platform retries the last write with the same key: same receipt.
    let retry = event("ticket.closed", json!({}), "system");
    let (s1, first) = post_idem(&app, &handle, &retry, "close-1").await;
    let (s2, again) = post_idem(&app, &handle, &retry, "close-1").await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(first["receipt"], again["receipt"]);

    // Bad input gets problem+json, never a 5xx, and writes nothing.
    for (body, expect) in [
        (
            json!({"type": "ticket.reopened", "data": {"reason": null}, "actor": {"role": "agent", "ref": "a"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z", "extra": 1}),
            422,
        ),
        (
            json!({"type": "ticket.created", "data": {"category": "x", "priority": "low", "complaint": false, "labels": {}}, "actor": {"role": "agent", "ref": "a"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z"}),
            409,
        ),
        (
            json!({"type": "message.added", "data": {"direction": "sideways", "visibility": "public"}, "actor": {"role": "agent", "ref": "a"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z"}),
            422,
        ),
        (
            json!({"type": "message.added", "data": {"direction": "inbound", "visibility": "public"}, "actor": {"role": "agent", "ref": "jane@example.com"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z"}),
            422,
        ),
    ] {
        let (status, problem) = app
            .post(&format!("/v1/tickets/{handle}/events"), body)
            .await;
        assert_eq!(status, expect, "{problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
    }
    // Personal data in any free-text member of a public record is refused
    // like an e-mail address in an actor ref: 422, the same problem shape
    // (issue 25 §5; the rule's table is in src/ingest/privacy.rs).
    for (body, field) in [
        (
            json!({"type": "ticket.created", "data": {"category": "withdrawal", "priority": "low", "complaint": true, "labels": {"customer_email": "jane.doe@exchange.com"}}, "actor": {"role": "customer", "ref": "c-1"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z"}),
            "data.labels.customer_email",
        ),
        (
            json!({"type": "ticket.assigned", "data": {"assignee": "13812345678", "group": null}, "actor": {"role": "agent", "ref": "a"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z"}),
            "data.assignee",
        ),
        (
            json!({"type": "message.added", "data": {"direction": "inbound", "visibility": "public"}, "actor": {"role": "customer", "ref": "+86-139-1234-5678"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z"}),
            "actor.ref",
        ),
    ] {
        let (status, problem) = app
            .post(&format!("/v1/tickets/{handle}/events"), body)
            .await;
        assert_eq!(status, 422, "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with(&format!("{field}: public records hold no personal data")),
            "{problem}"
        );
    }
    let (status, _) = app
        .post(
            "/v1/tickets/tk_00000000000000000000000000000000/events",
            lifecycle[1].clone(),
        )
        .await;
    assert_eq!(status, 404);
    let unauth = app
        .http
        .get(format!("{}/v1/tickets/{handle}", app.node.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
    assert_eq!(unauth.headers()["content-type"], "application/problem+json");

    // Wait (bounded) until every event is in an anchored batch and the map
    // proof is at the last one: the proof point is the latest *final* batch,
    // which can trail an included one by a confirmation or two.
    let mut bundle: Option<Bundle> = None;
    for _ in 0..120 {
        let (status, body) = app.get(&format!("/v1/tickets/{handle}/proof")).await;
        assert_eq!(status, 200);
        let b: Bundle = serde_json::from_value(body).unwrap();
        let last_batch = b.events.last().and_then(|e| e.batch);
        if b.events.iter().all(|e| b.log_says_anchored(e))
            && b.map.as_ref().is_some_and(|m| Some(m.batch) >= last_batch)
        {
            bundle = Some(b);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let bundle = bundle.expect("every event anchored, its map proof at the last, within 30 s");
    assert_eq!(bundle.events.len(), 9);
    assert!(bundle.batches.len() >= 2, "several batches");

    // The honest bundle verifies, through verify_bundle like the CLI.
    let report = app.verify(&bundle, app.contract).await;
    assert!(report.valid, "{}", report.render());
    // Bundle v2: the history is complete as of the batch the map proof is
    // at (PROTOCOL.md §15.4), whose map has seq 8 as the ticket's tip.
    assert_eq!(bundle.version, 2);
    let complete = report.complete_as_of.expect("complete as of a batch");
    assert_eq!(complete.tip_seq, Some(8), "{}", report.render());
    assert!(
        report.caveats.iter().any(|c| c.contains(&format!(
            "the history is complete as of batch {}",
            complete.batch
        )) && c.contains("proofdesk audit")),
        "{}",
        report.render()
    );
    assert!(
        !report.render().contains("Later events are not ruled out"),
        "{}",
        report.render()
    );
    eprintln!("{}", report.render());
    assert_eq!(report.status.as_deref(), Some("closed"));
    assert_eq!(report.resolution.as_deref(), Some("upheld"));
    assert_eq!(
        (report.pending, report.broken_promises, report.backdated),
        (0, 0, 0)
    );

    // /metrics: each batch made final is one sample of how long its oldest
    // record waited to be final, which is never less than the chain's
    // share alone (seal to final).
    let mut text = String::new();
    for _ in 0..120 {
        text = app
            .http
            .get(format!("{}/metrics", app.node.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metric(&text, "proofdesk_anchor_final_total") >= bundle.batches.len() as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let finals = metric(&text, "proofdesk_anchor_final_total");
    assert!(finals >= bundle.batches.len() as f64, "{text}");
    assert_eq!(
        metric(&text, "proofdesk_append_to_final_seconds_count"),
        finals,
        "{text}"
    );
    assert_eq!(
        metric(&text, "proofdesk_seal_to_final_seconds_count"),
        finals,
        "{text}"
    );
    assert!(
        metric(&text, "proofdesk_append_to_final_seconds_sum")
            >= metric(&text, "proofdesk_seal_to_final_seconds_sum"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text");

    // Every tampering is rejected with its reason.
    type Tamper = Box<dyn Fn(&mut Bundle)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "a changed byte in a record",
            Box::new(|b| b.events[3].record["actor"]["ref"] = json!("agent-8")),
            "leaf mismatch",
        ),
        (
            "a dropped event",
            Box::new(|b| {
                b.events.remove(2);
            }),
            "events are missing or out of order",
        ),
        (
            "reordered events",
            Box::new(|b| b.events.swap(1, 2)),
            "out of order",
        ),
        (
            "a swapped batch root",
            Box::new(|b| b.batches[0].root = b.batches[1].root),
            "head does not match",
        ),
        (
            "a wrong batch size",
            Box::new(|b| b.batches[0].count += 1),
            "head does not match",
        ),
        (
            "the wrong chain",
            Box::new(|b| b.chain.chain_id = 1),
            "the bundle says chain 1; your RPC serves chain 31337",
        ),
    ];
    for (what, tamper, reason) in cases {
        let mut forged = bundle.clone();
        tamper(&mut forged);
        let r = app.verify(&forged, app.contract).await;
        assert!(!r.valid, "{what} was not detected");
        assert!(
            problems(&r).contains(reason),
            "{what}: expected {reason:?} in {}",
            problems(&r)
        );
    }
    let r = app.verify(&bundle, Address::repeat_byte(0x42)).await;
    assert!(
        !r.valid && problems(&r).contains("not the contract you typed"),
        "wrong contract: {}",
        problems(&r)
    );

    app.stop().await;
}

/// An append with an Idempotency-Key, as a platform retries one.
async fn post_idem(app: &TestApp, handle: &str, body: &Value, key: &str) -> (u16, Value) {
    let resp = app
        .http
        .post(format!("{}/v1/tickets/{handle}/events", app.url()))
        .bearer_auth(&app.key)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_a_key_before_anything_else() {
    let app = TestApp::spawn().await;
    let url = app.node.url();
    for (path, body) in [
        ("/v1/tickets", "{\"external_id\": \"x\"}"),
        (
            "/v1/tickets/tk_00000000000000000000000000000000/events",
            "not json",
        ),
        ("/v1/events/bulk", "{}"),
    ] {
        let resp = app
            .http
            .post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
    // With a key, a malformed body is a 400 problem, and nothing was created.
    let resp = app
        .http
        .post(format!("{url}/v1/tickets"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let (_, log) = app.get("/v1/log").await;
    assert_eq!(log["log_size"], 0);
    app.stop().await;
}

/// One sample's value in OpenMetrics text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing from\n{text}"))
}

/// `?receipts=compact` gives a bulk answer's group and signature once; each
/// receipt put back whole checks out against the operator, as in the full
/// form. A form the API does not know is a 400 problem that names it, and
/// writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compact_bulk_answer_gives_the_group_once() {
    let app = TestApp::spawn().await;
    let handle = app.create_ticket("compact-bulk").await;
    let anchorer = app.node.chain.anchorer().await.unwrap();
    let item =
        |t: &str, data: Value, role: &str| json!({"ticket": handle, "event": event(t, data, role)});
    let body = json!({"events": [
        item("ticket.created", json!({"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {}}), "customer"),
        item("ticket.acknowledged", json!({}), "system"),
        item("ticket.assigned", json!({"assignee": "agent-9", "group": "payments"}), "agent"),
    ]});

    let (status, refused) = app
        .post("/v1/events/bulk?receipts=short", body.clone())
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("short"),
        "{refused}"
    );
    let (_, log) = app.get("/v1/log").await;
    assert_eq!(log["log_size"], 0, "a refused query writes nothing");

    let (status, compact) = app.post("/v1/events/bulk?receipts=compact", body).await;
    assert_eq!(status, 201, "{compact}");
    let items = compact["receipts"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for (seq, item) in items.iter().enumerate() {
        let keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["path", "position", "receipt"],
            "no group or signature per item"
        );
        let whole: SignedReceipt = serde_json::from_value(json!({
            "receipt": item["receipt"],
            "group": compact["group"],
            "position": item["position"],
            "path": item["path"],
            "signature": compact["signature"],
        }))
        .unwrap();
        assert_eq!(whole.receipt.seq, seq as u64);
        assert_eq!(
            proofdesk::verify::receipt::signer_of(&whole).unwrap(),
            anchorer,
            "receipt {seq}"
        );
    }
    assert_eq!(compact["replayed"], false);
    app.stop().await;
}
