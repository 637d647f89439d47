//! Limits that must hold as documented, against the real router on
//! 127.0.0.1 over a real store: the bulk body limit (16 MiB, 10,000 events),
//! the 413 that states it, and the per-IP rate limit behind a reverse proxy
//! (X-Forwarded-For read from the named proxies only).

mod api_support;
mod common;

use api_support::ApiServer;
use common::TestDb;
use proofdesk::api::auth::create_key;
use proofdesk::api::limits::{Limits, Rate, TrustedProxies};
use proofdesk::protocol::fields::Timestamp;
use serde_json::{Value, json};

/// 100 tickets × (ticket.created + 99 message.added): a bulk request of
/// exactly 10,000 events, every one valid.
fn ten_thousand_events(tickets: &[String]) -> Value {
    let at = Timestamp::now().to_string();
    let mut events = Vec::with_capacity(10_000);
    for t in tickets {
        events.push(json!({"ticket": t, "event": {
            "type": "ticket.created",
            "data": {"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}},
            "actor": {"role": "customer", "ref": "cust-1"}, "channel": "email", "occurred_at": at}}));
        for _ in 0..99 {
            events.push(json!({"ticket": t, "event": {
                "type": "message.added",
                "data": {"direction": "inbound", "visibility": "public"},
                "actor": {"role": "customer", "ref": "cust-1"}, "channel": "email", "occurred_at": at}}));
        }
    }
    json!({ "events": events })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10000_event_bulk_request_succeeds_and_a_larger_body_is_refused_naming_the_limit() {
    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let key = create_key(db.store(), &["ingest".into()], "bulk")
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let mut tickets = Vec::new();
    for i in 0..100 {
        let r: Value = http
            .post(app.url("/v1/tickets"))
            .bearer_auth(&key)
            .json(&json!({"external_id": format!("bulk-{i}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tickets.push(r["ticket"].as_str().unwrap().to_owned());
    }
    let body = serde_json::to_vec(&ten_thousand_events(&tickets)).unwrap();
    // Above axum's 2 MiB default for buffered bodies, which used to apply.
    assert!(body.len() > 2 * 1024 * 1024, "{} bytes", body.len());
    let r = http
        .post(app.url("/v1/events/bulk"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{}", answer["detail"]);
    assert_eq!(answer["receipts"].as_array().unwrap().len(), 10_000);
    assert_eq!(db.store().stats().await.unwrap().size, 10_000);

    // Over 16 MiB: 413, and the problem says what the limit is.
    let answer = raw_post(&app.url, "/v1/events/bulk", &key, 16 * MIB + 1, false).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let p: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(p["status"], 413);
    assert_eq!(
        p["detail"],
        "the request body exceeds the limit of 16 MiB (16,777,216 bytes)"
    );
    // Streamed without a Content-Length (chunked), it is cut at the same
    // limit by the extractor, which now carries the same 16 MiB.
    let answer = raw_post(&app.url, "/v1/events/bulk", &key, 17 * MIB, true).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("16 MiB"), "{answer}");
    db.cleanup().await;
}

const MIB: usize = 1024 * 1024;

/// POSTs `len` bytes of spaces on a raw socket, with a Content-Length or
/// chunked; returns the answer as text. The answer is read while the body
/// is still being written: a server that refuses early stops reading, and
/// a client that only reads at the end could lose the answer to a reset.
async fn raw_post(base: &str, path: &str, key: &str, len: usize, chunked: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let (mut rx, mut tx) = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap()
        .into_split();
    let reader = tokio::spawn(async move {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = rx.read(&mut buf).await {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    let framing = if chunked {
        "transfer-encoding: chunked".to_owned()
    } else {
        format!("content-length: {len}")
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\ncontent-type: application/json\r\n{framing}\r\nconnection: close\r\n\r\n"
    );
    tx.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; MIB];
    let mut left = len;
    while left > 0 {
        let n = left.min(MIB);
        let mut piece = Vec::with_capacity(n + 16);
        if chunked {
            piece.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        }
        piece.extend_from_slice(&chunk[..n]);
        if chunked {
            piece.extend_from_slice(b"\r\n");
        }
        if tx.write_all(&piece).await.is_err() {
            break;
        }
        left -= n;
    }
    if chunked {
        let _ = tx.write_all(b"0\r\n\r\n").await;
    }
    reader.await.unwrap()
}

fn one_per_address(trusted: &str) -> Limits {
    Limits {
        per_key: Rate {
            per_second: 0,
            burst: 0,
        },
        per_ip: Rate {
            per_second: 1,
            burst: 1,
        },
        trusted_proxies: TrustedProxies::parse(trusted).unwrap(),
    }
}

async fn status_from(http: &reqwest::Client, app: &ApiServer, forwarded: &str) -> u16 {
    http.get(app.url("/v1/log"))
        .header("x-forwarded-for", forwarded)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let db = TestDb::sqlite().await;
    let http = reqwest::Client::new();

    // The test's own address (127.0.0.1) is the proxy: each client behind
    // it has its own budget, read from the right of X-Forwarded-For,
    // skipping the proxies named.
    let app =
        ApiServer::start_with_limits(db.store.clone(), one_per_address("127.0.0.0/8, 10.1.2.3"))
            .await;
    assert_eq!(status_from(&http, &app, "203.0.113.5").await, 200);
    assert_eq!(status_from(&http, &app, "203.0.113.5").await, 429);
    assert_eq!(status_from(&http, &app, "198.51.100.7").await, 200);
    // A client that sends its own header: the proxy appends the real
    // address, and that is the one counted, not the forged one.
    assert_eq!(
        status_from(&http, &app, "192.0.2.99, 203.0.113.5").await,
        429
    );
    // Two proxies (the inner one trusted too): the hop before them counts.
    assert_eq!(
        status_from(&http, &app, "198.51.100.8, 10.1.2.3").await,
        200
    );
    assert_eq!(
        status_from(&http, &app, "198.51.100.8, 10.1.2.3").await,
        429
    );
    drop(app);

    // Nobody trusted (the default), or a proxy that is not this peer: the
    // header is ignored and every request counts against the peer, whatever
    // address it claims.
    for trusted in ["", "10.0.0.0/8"] {
        let app = ApiServer::start_with_limits(db.store.clone(), one_per_address(trusted)).await;
        assert_eq!(status_from(&http, &app, "203.0.113.1").await, 200);
        assert_eq!(
            status_from(&http, &app, "203.0.113.2").await,
            429,
            "a spoofed X-Forwarded-For from an untrusted peer ({trusted:?}) is ignored"
        );
    }
    db.cleanup().await;
}
