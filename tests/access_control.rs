//! Access control an operator can run: keys listed, revoked and rotated on
//! both backends; a revoked key refused at once (or within the documented
//! cache time on another server); scopes enforced on every route, tried
//! with no key, a wrong-scope key, a revoked key and the right key; rate
//! limits with 429 + Retry-After; security headers on HTML.

mod api_support;
mod common;

use std::time::Duration;

use api_support::ApiServer;
use common::TestDb;
use proofdesk::api::auth::{create_key, lookup, revoke_key, rotate_key};
use proofdesk::api::limits::{Limits, Rate};
use proofdesk::log::keycache::KEY_CACHE_TTL;
use serde_json::{Value, json};

fn id_of(key: &str) -> String {
    key.split('_').nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn keys_are_listed_revoked_and_rotated_on_every_backend() {
    for db in TestDb::all().await {
        let store = db.store();
        let a = create_key(store, &["ingest".into()], "helpdesk")
            .await
            .unwrap();
        let b = create_key(store, &["audit".into(), "ingest".into()], "auditor")
            .await
            .unwrap();
        let keys = store.list_api_keys().await.unwrap();
        assert_eq!(keys.len(), 2, "{}", store.backend());
        let listed = serde_json::to_string(&keys).unwrap();
        assert!(
            !listed.contains(&a) && !listed.contains(&a[20..]),
            "a listing never shows a secret"
        );
        let kb = keys.iter().find(|k| k.id == id_of(&b)).unwrap();
        assert_eq!(
            (kb.scopes.clone(), kb.label.as_str()),
            (vec!["audit".to_owned(), "ingest".to_owned()], "auditor")
        );
        assert!(kb.revoked_at.is_none());

        // Revoke: refused at once by this process, and only once.
        assert!(lookup(store, &a).await.unwrap().is_some());
        assert!(revoke_key(store, &id_of(&a)).await.unwrap());
        assert!(
            lookup(store, &a).await.unwrap().is_none(),
            "{}",
            store.backend()
        );
        assert!(
            !revoke_key(store, &id_of(&a)).await.unwrap(),
            "already revoked"
        );
        assert!(!revoke_key(store, "nosuchkey").await.unwrap());

        // Rotate: the new key has the old one's scopes and label; the old
        // one is revoked with a pointer to its successor.
        assert!(lookup(store, &b).await.unwrap().is_some());
        let (new, info) = rotate_key(store, &id_of(&b)).await.unwrap().unwrap();
        assert_ne!(new, b);
        assert_eq!(info.scopes, vec!["audit".to_owned(), "ingest".to_owned()]);
        assert!(
            lookup(store, &b).await.unwrap().is_none(),
            "the rotated key is refused"
        );
        let k = lookup(store, &new).await.unwrap().unwrap();
        assert_eq!(
            (k.id.as_str(), k.label.as_str()),
            (info.id.as_str(), "auditor")
        );
        let keys = store.list_api_keys().await.unwrap();
        let old = keys.iter().find(|k| k.id == id_of(&b)).unwrap();
        assert_eq!(old.replaced_by.as_deref(), Some(info.id.as_str()));
        assert!(old.revoked_at.is_some());
        assert!(
            rotate_key(store, &id_of(&b)).await.unwrap().is_none(),
            "a revoked key cannot be rotated"
        );
        assert!(rotate_key(store, &id_of(&a)).await.unwrap().is_none());
        assert_eq!(store.list_api_keys().await.unwrap().len(), 3);
        db.cleanup().await;
    }
}

/// `proofdesk keys rotate` runs in its own process beside a server that
/// keeps writing. A rotation reads the old key and then writes; on SQLite
/// that must be one write transaction from the start, or a commit by the
/// other process between the two fails it with SQLITE_BUSY_SNAPSHOT
/// ("database is locked", which no busy timeout waits out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_while_another_process_writes_the_same_database() {
    let db = TestDb::sqlite().await;
    let server = db.store.clone();
    let cli = proofdesk::log::connect(&db.url).await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut written = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                create_key(server.as_ref(), &["ingest".into()], "busy")
                    .await
                    .unwrap();
                written += 1;
            }
            written
        }
    });
    let mut key = create_key(cli.as_ref(), &["audit".into()], "rotated")
        .await
        .unwrap();
    for i in 0..200 {
        let (new, _) = rotate_key(cli.as_ref(), &id_of(&key))
            .await
            .unwrap_or_else(|e| panic!("rotation {i}: {e}"))
            .expect("the key is active");
        key = new;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0, "the other writer really wrote meanwhile");
    assert!(lookup(cli.as_ref(), &key).await.unwrap().is_some());
    db.cleanup().await;
}

#[tokio::test]
async fn a_key_revoked_elsewhere_is_refused_within_the_cache_time() {
    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let key = create_key(db.store(), &["ingest".into()], "t")
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let create = |k: String| {
        let http = http.clone();
        let url = app.url("/v1/tickets");
        async move {
            http.post(url)
                .bearer_auth(k)
                .json(&json!({"external_id": "x"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(create(key.clone()).await, 201);
    // Another process (the CLI) revokes it through its own connection.
    let other = proofdesk::log::connect(&db.url).await.unwrap();
    assert!(revoke_key(other.as_ref(), &id_of(&key)).await.unwrap());
    let mut refused = false;
    for _ in 0..(3 * KEY_CACHE_TTL.as_millis() / 100) {
        if create(key.clone()).await == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused,
        "a key revoked elsewhere is refused once the cache expires"
    );
    db.cleanup().await;
}

/// One row per route: who may call it. `None` = public. `signature`: a
/// help-desk webhook, authenticated by the vendor's HMAC signature over the
/// body and never by an API key. For those, "no key" means an unsigned
/// delivery (401), an API key of any scope, even admin, changes nothing
/// (still 401: a key is no substitute for the signature), and the "right
/// key" is a correctly signed delivery.
fn route_table() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    vec![
        (
            "GET",
            "/v1/tickets/{handle}/events/{seq}/receipt",
            Some("ingest|audit"),
        ),
        (
            "GET",
            "/v1/tickets/{handle}/events/{seq}/content",
            Some("ingest|audit"),
        ),
        (
            "DELETE",
            "/v1/tickets/{handle}/events/{seq}/content",
            Some("admin"),
        ),
        ("GET", "/v1/export", Some("audit")),
        (
            "GET",
            "/v1/integrations/{integration}/deliveries",
            Some("audit"),
        ),
        ("POST", "/v1/integrations", Some("admin")),
        ("GET", "/v1/integrations", Some("admin")),
        ("PATCH", "/v1/integrations/{integration}", Some("admin")),
        (
            "POST",
            "/v1/integrations/zendesk/{integration}",
            Some("signature"),
        ),
        (
            "POST",
            "/v1/integrations/zammad/{integration}",
            Some("signature"),
        ),
        ("GET", "/v1/batches/{id}/leaves", None),
        ("GET", "/verify", None),
        ("GET", "/verify/{handle}", None),
        ("POST", "/v1/tickets", Some("ingest")),
        ("POST", "/v1/tickets/{handle}/events", Some("ingest")),
        ("POST", "/v1/events/bulk", Some("ingest")),
        ("GET", "/v1/tickets/{handle}", Some("ingest|audit")),
        ("GET", "/v1/keys", Some("admin")),
        ("POST", "/v1/keys/{id}/revoke", Some("admin")),
        ("POST", "/v1/keys/{id}/rotate", Some("admin")),
        ("GET", "/v1/tickets/{handle}/proof", None),
        ("GET", "/v1/log", None),
        ("GET", "/v1/batches", None),
        ("GET", "/v1/batches/{id}", None),
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
        ("GET", "/docs/redoc.js", None),
        ("GET", "/docs/init.js", None),
    ]
}

#[tokio::test]
async fn every_route_enforces_its_scope_against_every_kind_of_caller() {
    // The table covers every documented operation: a route added later
    // must be added here too.
    let doc = proofdesk::api::openapi::document();
    let table = route_table();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let row = table
                .iter()
                .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && p == path)
                .unwrap_or_else(|| panic!("{method} {path} is missing from the scope table"));
            assert_eq!(
                row.2.is_some_and(|s| s != "signature"),
                op.get("security").is_some(),
                "{method} {path}: the table and the document disagree on whether it needs a key"
            );
        }
    }

    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let store = db.store();
    let ingest = create_key(store, &["ingest".into()], "i").await.unwrap();
    let audit = create_key(store, &["audit".into()], "a").await.unwrap();
    let admin = create_key(store, &["admin".into()], "x").await.unwrap();
    let none = create_key(store, &[], "no scopes").await.unwrap();
    let revoked = create_key(store, &["admin".into()], "r").await.unwrap();
    assert!(revoke_key(store, &id_of(&revoked)).await.unwrap());
    let http = reqwest::Client::new();
    let (_, ticket) = {
        let r = http
            .post(app.url("/v1/tickets"))
            .bearer_auth(&ingest)
            .json(&json!({"external_id": "scope-table"}))
            .send()
            .await
            .unwrap();
        (
            r.status(),
            r.json::<Value>().await.unwrap()["ticket"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    // One integration per vendor, with a known secret, so the webhook
    // routes reach their signature check (an unknown name is a 404).
    let secret = "scope-table-secret-0123456789";
    for (name, vendor) in [
        ("scope-zd", proofdesk::integrations::Vendor::Zendesk),
        ("scope-zm", proofdesk::integrations::Vendor::Zammad),
    ] {
        let i = proofdesk::integrations::Integration::new(
            name,
            vendor,
            Some(secret.into()),
            proofdesk::integrations::MappingOptions::defaults_for(vendor),
        )
        .unwrap();
        assert!(
            store
                .integration_store()
                .insert_integration(&i)
                .await
                .unwrap()
        );
    }
    let event = json!({"type": "ticket.created", "data": {"category": "x", "priority": "low", "complaint": false, "labels": {}},
                       "actor": {"role": "agent", "ref": "a"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z"});

    for (method, path, scope) in route_table() {
        let id = if path.starts_with("/v1/keys/") {
            "000000000000"
        } else {
            "0"
        };
        let integration = if path.contains("zammad") {
            "scope-zm"
        } else {
            "scope-zd"
        };
        let url = app.url(
            &path
                .replace("{handle}", &ticket)
                .replace("{id}", id)
                .replace("{seq}", "0")
                .replace("{integration}", integration),
        );
        let body = match path {
            "/v1/tickets" => json!({"external_id": "scope-table"}),
            "/v1/events/bulk" => json!({"events": [{"ticket": ticket, "event": event}]}),
            _ => event.clone(),
        };
        let call = |key: Option<&str>| {
            let mut req = match method {
                "POST" => http.post(&url).json(&body),
                "PATCH" => http
                    .patch(&url)
                    .json(&json!({"options": {"complaint": true}})),
                "DELETE" => http.delete(&url),
                _ => http.get(&url),
            };
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            async move { req.send().await.unwrap().status().as_u16() }
        };
        if scope == Some("signature") {
            let anonymous = call(None).await;
            assert_eq!(anonymous, 401, "{method} {path}: an unsigned delivery");
            for k in [&revoked, &ingest, &audit, &admin] {
                assert_eq!(
                    call(Some(k)).await,
                    401,
                    "{method} {path}: an API key is no substitute for the signature"
                );
            }
            // Signed as the vendor signs: past the authentication, whatever
            // the payload then becomes (here: not a ticket, so 422).
            let raw = serde_json::to_vec(&body).unwrap();
            let req = http.post(&url).body(raw.clone());
            let req = if path.contains("zammad") {
                req.header("x-zammad-delivery", "scope-1").header(
                    "x-hub-signature",
                    proofdesk::integrations::signature::zammad_sign(secret, &raw),
                )
            } else {
                let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
                req.header("x-zendesk-webhook-invocation-id", "scope-1")
                    .header("x-zendesk-webhook-signature-timestamp", &ts)
                    .header(
                        "x-zendesk-webhook-signature",
                        proofdesk::integrations::signature::zendesk_sign(secret, &ts, &raw),
                    )
            };
            let s = req.send().await.unwrap().status().as_u16();
            assert!(
                s != 401 && s != 403 && s < 500,
                "{method} {path} correctly signed: {s}"
            );
            continue;
        }
        let (wrong, right) = match scope {
            Some("ingest") => (
                vec![audit.as_str(), none.as_str()],
                vec![ingest.as_str(), admin.as_str()],
            ),
            Some("audit") => (
                vec![ingest.as_str(), none.as_str()],
                vec![audit.as_str(), admin.as_str()],
            ),
            Some("ingest|audit") => (
                vec![none.as_str()],
                vec![ingest.as_str(), audit.as_str(), admin.as_str()],
            ),
            Some("admin") => (
                vec![ingest.as_str(), audit.as_str(), none.as_str()],
                vec![admin.as_str()],
            ),
            Some(other) => panic!("unknown scope {other}"),
            None => (vec![], vec![admin.as_str()]),
        };
        let anonymous = call(None).await;
        let with_revoked = call(Some(&revoked)).await;
        if scope.is_some() {
            assert_eq!(anonymous, 401, "{method} {path} without a key");
            assert_eq!(with_revoked, 401, "{method} {path} with a revoked key");
            for k in &wrong {
                assert_eq!(
                    call(Some(k)).await,
                    403,
                    "{method} {path} with a wrong-scope key"
                );
            }
        } else {
            assert!(
                anonymous < 400 || anonymous == 404,
                "{method} {path} is public: {anonymous}"
            );
            assert_eq!(
                with_revoked, anonymous,
                "{method} {path}: a key changes nothing on a public route"
            );
        }
        for k in right {
            let s = call(Some(k)).await;
            assert!(
                s != 401 && s != 403 && s < 500,
                "{method} {path} with the right key: {s}"
            );
        }
    }
    db.cleanup().await;
}

#[tokio::test]
async fn limits_answer_429_with_retry_after_per_key_and_per_address() {
    let db = TestDb::sqlite().await;
    let limits = Limits {
        per_key: Rate {
            per_second: 1,
            burst: 3,
        },
        per_ip: Rate {
            per_second: 1,
            burst: 2,
        },
        ..Limits::default()
    };
    let app = ApiServer::start_with_limits(db.store.clone(), limits).await;
    let http = reqwest::Client::new();

    // Public reads, per address: the burst, then 429.
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let r = http.get(app.url("/v1/log")).send().await.unwrap();
        statuses.push(r.status().as_u16());
        last = Some(r);
    }
    assert_eq!(&statuses[..2], &[200, 200]);
    assert_eq!(statuses[3], 429, "{statuses:?}");
    let r = last.unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 429);
    let r = http
        .get(app.url("/v1/tickets/tk_00000000000000000000000000000000/proof"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "proof reads are limited per address too");
    // Operations endpoints are never limited.
    for _ in 0..5 {
        assert_eq!(
            http.get(app.url("/healthz")).send().await.unwrap().status(),
            200
        );
    }

    // Per key: a key's own burst, independent of the address's and of
    // other keys.
    let k1 = create_key(db.store(), &["ingest".into()], "1")
        .await
        .unwrap();
    let k2 = create_key(db.store(), &["ingest".into()], "2")
        .await
        .unwrap();
    let post = |k: String| {
        let req = http
            .post(app.url("/v1/tickets"))
            .bearer_auth(k)
            .json(&json!({"external_id": "rl"}));
        async move { req.send().await.unwrap() }
    };
    let mut s1 = Vec::new();
    for _ in 0..5 {
        s1.push(post(k1.clone()).await.status().as_u16());
    }
    assert!(s1[..3].iter().all(|s| *s == 200 || *s == 201), "{s1:?}");
    assert_eq!(s1[4], 429, "{s1:?}");
    let other = post(k2.clone()).await;
    assert!(
        other.status().is_success(),
        "another key has its own budget"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn html_pages_carry_security_headers_and_keep_their_own_csp() {
    use axum::response::IntoResponse;
    use proofdesk::api::headers::{DEFAULT_HTML_CSP, security_headers};

    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let r = reqwest::get(app.url("/docs")).await.unwrap();
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'"),
        "the page's own CSP is kept: {csp}"
    );
    let r = reqwest::get(app.url("/v1/log")).await.unwrap();
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().get("content-security-policy").is_none());

    // An HTML page whose handler set no CSP gets the default one.
    let page = axum::response::Html("<p>hi</p>").into_response();
    let out = security_headers(page).await;
    assert_eq!(out.headers()["content-security-policy"], DEFAULT_HTML_CSP);
    assert_eq!(out.headers()["x-frame-options"], "DENY");
    db.cleanup().await;
}

#[tokio::test]
async fn the_admin_api_lists_revokes_and_rotates_keys_at_once() {
    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let admin = create_key(db.store(), &["admin".into()], "ops")
        .await
        .unwrap();
    let victim = create_key(db.store(), &["ingest".into()], "helpdesk")
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let get_ticket = |k: String| {
        let req = http
            .get(app.url("/v1/tickets/tk_00000000000000000000000000000000"))
            .bearer_auth(k);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get_ticket(victim.clone()).await, 404, "the key works");

    let list: Value = http
        .get(app.url("/v1/keys"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["keys"].as_array().unwrap().len(), 2);
    assert!(
        !list.to_string().contains(&victim[20..]),
        "no secret listed"
    );

    // Rotate through the API: the new key works, the old one is refused
    // by this server at once.
    let r = http
        .post(app.url(&format!("/v1/keys/{}/rotate", id_of(&victim))))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let rotated: Value = r.json().await.unwrap();
    let new = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["info"]["label"], "helpdesk");
    assert_eq!(get_ticket(victim.clone()).await, 401);
    assert_eq!(get_ticket(new.clone()).await, 404);

    // Revoke through the API: refused at once, and a second time is a 404.
    let revoke = |id: String| {
        let req = http
            .post(app.url(&format!("/v1/keys/{id}/revoke")))
            .bearer_auth(&admin);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(revoke(id_of(&new)).await, 204);
    assert_eq!(get_ticket(new.clone()).await, 401);
    assert_eq!(revoke(id_of(&new)).await, 404);
    assert_eq!(revoke("not-an-id".into()).await, 400);
    db.cleanup().await;
}
