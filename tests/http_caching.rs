//! Reads that scale past one server (issue 29 §4): bundles carry a strong
//! ETag (the SHA-256 of their bytes) and a short Cache-Control, and are
//! answered 304 to a client (or a CDN) that holds the current one; a
//! conditional read after the ticket changed gets the new bundle, never a
//! stale one. A final batch's leaves may be cached forever; what a key
//! reads is private and never stored. On SQLite, whose only writer is the
//! serving process, those 304s read nothing (`log::ticket_changes`); on
//! PostgreSQL (when PROOFDESK_TEST_PG is set) each reads the ticket's count.

mod common;

use std::time::Duration;

use proofdesk_testkit::{TestApp, TestDb, event};
use serde_json::json;

async fn get(app: &TestApp, path: &str, tag: Option<&str>, key: bool) -> reqwest::Response {
    let mut r = app.http.get(format!("{}{path}", app.node.url()));
    if let Some(t) = tag {
        r = r.header("if-none-match", t);
    }
    if key {
        r = r.bearer_auth(&app.key);
    }
    r.send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Waits (bounded) until every event of the ticket is in a final batch.
async fn settled(app: &TestApp, h: &str) {
    for _ in 0..120 {
        let (_, b) = app.get(&format!("/v1/tickets/{h}/proof")).await;
        let events = b["events"].as_array().unwrap();
        if events.iter().all(|e| !e["batch"].is_null())
            && b["batches"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["status"] == "final")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{h} did not settle within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_are_revalidated_never_stale_and_keyed_reads_are_private_on_sqlite() {
    story(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_are_revalidated_never_stale_and_keyed_reads_are_private_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        story(db).await;
    }
}

/// 304s so far, and how many of them read nothing.
fn not_modified(app: &TestApp) -> (u64, u64) {
    let m = &app.node.metrics;
    (
        m.bundles_not_modified.get(),
        m.bundles_not_modified_unread.get(),
    )
}

async fn story(db: TestDb) {
    let app = TestApp::builder().database(db).spawn().await;
    let sqlite = app.node.store.backend() == "sqlite";
    let h = app.create_ticket("cache-1").await;
    app.append(&h, event("ticket.created", json!({"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}}), "customer")).await;
    app.append(&h, event("ticket.acknowledged", json!({}), "agent"))
        .await;
    let path = format!("/v1/tickets/{h}/proof");

    // Not settled yet: a tag, a short public lifetime; it matches itself.
    let first = get(&app, &path, None, false).await;
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(
        header(&first, "cache-control"),
        "public, max-age=5, must-revalidate"
    );
    let tag = header(&first, "etag");
    assert!(tag.starts_with('"') && tag.len() == 66, "{tag}");

    // Settled: the tag of the bytes served, and a 304 for it, with no body.
    settled(&app, &h).await;
    let full = get(&app, &path, None, false).await;
    let tag = header(&full, "etag");
    let body = full.bytes().await.unwrap();
    assert_eq!(
        tag,
        format!(
            "\"{}\"",
            hex::encode(proofdesk::protocol::hashing::sha256(&body).0)
        ),
        "the tag is the SHA-256 of the served bytes"
    );
    let (before, unread_before) = not_modified(&app);
    for _ in 0..3 {
        let again = get(&app, &path, Some(&tag), false).await;
        assert_eq!(again.status().as_u16(), 304);
        assert_eq!(header(&again, "etag"), tag);
        assert!(again.bytes().await.unwrap().is_empty());
    }
    let (after, unread_after) = not_modified(&app);
    assert_eq!(after - before, 3, "three 304s counted");
    // Nothing was written since the bundle was read: on SQLite the ticket's
    // mark says so and no 304 read the database; on PostgreSQL, where other
    // servers may write, each read the ticket's count.
    let unread = if sqlite { 3 } else { 0 };
    assert_eq!(unread_after - unread_before, unread, "304s without a read");
    // Another tag, or none: the bundle.
    assert_eq!(
        get(&app, &path, Some("\"x\""), false)
            .await
            .status()
            .as_u16(),
        200
    );

    // The ticket changes: the old tag gets the new bundle, never a 304.
    app.append(
        &h,
        event(
            "message.added",
            json!({"direction": "outbound", "visibility": "public"}),
            "agent",
        ),
    )
    .await;
    let (before, _) = not_modified(&app);
    let changed = get(&app, &path, Some(&tag), false).await;
    assert_eq!(changed.status().as_u16(), 200);
    assert_eq!(not_modified(&app).0, before, "no 304 for a changed ticket");
    let new_tag = header(&changed, "etag");
    assert_ne!(new_tag, tag);
    let b: serde_json::Value = changed.json().await.unwrap();
    assert_eq!(
        b["events"].as_array().unwrap().len(),
        3,
        "the new event is there"
    );

    // A final batch's leaves never change; keyed reads are private.
    let (_, batch) = app.get("/v1/batches/0").await;
    assert_eq!(batch["status"], "final");
    let leaves = get(&app, "/v1/batches/0/leaves", None, false).await;
    assert_eq!(
        header(&leaves, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let keyed = get(&app, &format!("/v1/tickets/{h}"), None, true).await;
    assert_eq!(keyed.status().as_u16(), 200);
    assert_eq!(header(&keyed, "cache-control"), "private, no-store");
    assert!(header(&keyed, "vary").contains("Authorization"));
    // A bundle asked for with a key is private too.
    let keyed_bundle = get(&app, &path, None, true).await;
    assert_eq!(header(&keyed_bundle, "cache-control"), "private, no-store");
    // Everything else public sets no lifetime: not stored.
    assert_eq!(
        header(&get(&app, "/v1/log", None, false).await, "cache-control"),
        "no-store"
    );
    app.stop().await;
}
