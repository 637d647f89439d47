//! Every problem+json answer carries the HTTP status it is sent with, and
//! the layer or framework's own headers (Allow, Retry-After), whichever part
//! of the stack produced it.

mod api_support;
mod common;

use api_support::ApiServer;
use common::TestDb;
use serde_json::Value;

async fn check(resp: reqwest::Response, expect: u16, what: &str) -> Value {
    let status = resp.status().as_u16();
    assert_eq!(status, expect, "{what}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["status"], expect,
        "{what}: body status must equal HTTP status: {body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("https://proofdesk.dev/problems/")
    );
    body
}

#[tokio::test]
async fn every_problem_status_equals_the_http_status() {
    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let ingest = proofdesk::api::auth::create_key(db.store(), &["ingest".into()], "t")
        .await
        .unwrap();
    let audit = proofdesk::api::auth::create_key(db.store(), &["audit".into()], "t")
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let json = "application/json";

    let r = http.get(app.url("/no/such/route")).send().await.unwrap();
    check(r, 404, "unknown route").await;

    let r = http.delete(app.url("/v1/tickets")).send().await.unwrap();
    let allow = r
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = check(r, 405, "wrong method").await;
    assert_eq!(allow.as_deref(), Some("POST"), "405 keeps its Allow header");
    assert!(body["detail"].as_str().unwrap().contains("Allow"), "{body}");

    let big = vec![b' '; proofdesk::api::MAX_BODY_BYTES + 1];
    let r = http
        .post(app.url("/v1/events/bulk"))
        .bearer_auth(&ingest)
        .header("content-type", json)
        .body(big)
        .send()
        .await
        .unwrap();
    check(r, 413, "body over the limit").await;

    let r = http
        .post(app.url("/v1/tickets"))
        .bearer_auth(&ingest)
        .header("content-type", "text/plain")
        .body(r#"{"external_id": "a"}"#)
        .send()
        .await
        .unwrap();
    check(r, 415, "not JSON").await;

    let r = http
        .post(app.url("/v1/tickets"))
        .header("content-type", json)
        .body(r#"{"external_id": "a"}"#)
        .send()
        .await
        .unwrap();
    check(r, 401, "no key").await;

    let r = http
        .post(app.url("/v1/tickets"))
        .bearer_auth(&audit)
        .header("content-type", json)
        .body(r#"{"external_id": "a"}"#)
        .send()
        .await
        .unwrap();
    check(r, 403, "wrong scope").await;

    for (body, status, what) in [
        (r#"{"external_id": ""}"#, 422, "empty external_id"),
        (r#"{"external_id": "   "}"#, 422, "blank external_id"),
        (r#"{"external_id": 7}"#, 422, "wrong type"),
        (r#"{"external_id": "a", "x": 1}"#, 422, "unknown member"),
        (r#"{"external_id": "a""#, 400, "malformed JSON"),
        (
            r#"{"external_id": "a", "external_id": "b"}"#,
            400,
            "duplicate key",
        ),
    ] {
        let r = http
            .post(app.url("/v1/tickets"))
            .bearer_auth(&ingest)
            .header("content-type", json)
            .body(body)
            .send()
            .await
            .unwrap();
        check(r, status, what).await;
    }

    // 200 characters of multi-byte text is within the documented 1-200
    // characters (the limit counts characters, not bytes).
    let long = "é".repeat(200);
    let r = http
        .post(app.url("/v1/tickets"))
        .bearer_auth(&ingest)
        .json(&serde_json::json!({"external_id": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(app.url("/v1/tickets"))
        .bearer_auth(&ingest)
        .json(&serde_json::json!({"external_id": "é".repeat(201)}))
        .send()
        .await
        .unwrap();
    check(r, 422, "201 characters").await;

    let r = http.get(app.url("/v1/batches/x")).send().await.unwrap();
    check(r, 400, "bad batch id").await;
    let r = http
        .get(app.url("/v1/batches?limit=0"))
        .send()
        .await
        .unwrap();
    check(r, 400, "bad limit").await;
    let r = http
        .get(app.url("/v1/batches?nope=1"))
        .send()
        .await
        .unwrap();
    check(r, 400, "unknown query parameter").await;
    db.cleanup().await;
}
