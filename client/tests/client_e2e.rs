//! The typed client against a real server on 127.0.0.1 (SQLite), anchoring
//! on a real anvil: a platform records a complaint with the client, keeps
//! its receipts, and verifies the anchored bundle. A proxy that swallows
//! the first answer shows a timed-out write retried with the same
//! Idempotency-Key is recorded once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proofdesk_client::{Client, Error, EventInput};
use proofdesk_testkit::TestApp;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// A platform's node: its key may only ingest.
async fn spawn() -> TestApp {
    TestApp::builder().scopes(&["ingest"]).spawn().await
}

fn event(t: &str, data: Value, role: &str, text: Option<&str>) -> EventInput {
    let mut v = json!({"type": t, "data": data, "actor": {"role": role, "ref": format!("{role}-7")},
        "channel": "web", "occurred_at": proofdesk::protocol::fields::Timestamp::now().to_string()});
    if let Some(text) = text {
        v["content"] = json!({"text": text});
    }
    serde_json::from_value(v).unwrap()
}

/// A TCP proxy to `upstream` that forwards the first connection's request
/// but never returns its answer (the client times out while the server
/// commits); later connections pass straight through.
async fn swallow_first_answer(upstream: std::net::SocketAddr) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut server = TcpStream::connect(upstream).await.unwrap();
                if n > 0 {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let (mut cr, _cw) = client.split();
                let (mut sr, mut sw) = server.split();
                // Request goes through; the answer is read and dropped.
                let up = tokio::io::copy(&mut cr, &mut sw);
                let mut sink = Vec::new();
                let down = sr.read_to_end(&mut sink);
                let _ = tokio::join!(up, down);
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_records_and_verifies_a_complaint_with_the_client() {
    let server = spawn().await;
    let client = Client::new(&server.node.url(), Some(server.key.clone())).unwrap();

    let t = client.create_ticket("crm-5521").await.unwrap();
    assert!(t.created);
    let again = client.create_ticket("crm-5521").await.unwrap();
    assert_eq!(
        (again.ticket.clone(), again.created),
        (t.ticket.clone(), false)
    );

    let created = event(
        "ticket.created",
        json!({"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {}}),
        "customer",
        Some("My withdrawal is late."),
    );
    let first = client
        .append(&t.ticket, &created, "crm-5521-created")
        .await
        .unwrap();
    assert!(!first.replayed);
    assert_eq!(first.receipt.receipt.seq, 0);
    let anchorer = format!("{:#x}", server.node.chain.anchorer().await.unwrap());
    assert_eq!(Client::receipt_signer(&first.receipt).unwrap(), anchorer);
    assert!(!first.record.to_string().contains("withdrawal is late"));

    // The same key again: the original receipt, not a second record.
    let replay = client
        .append(&t.ticket, &created, "crm-5521-created")
        .await
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.receipt, first.receipt);

    // A refusal is a typed problem with the server's reason.
    let closed = event("ticket.closed", json!({}), "agent", None);
    match client
        .append(&t.ticket, &closed, "crm-5521-close-early")
        .await
    {
        Err(Error::Api(p)) => {
            assert_eq!(p.status, 409);
            assert!(
                p.detail.contains("ticket.closed needs a solved ticket"),
                "{}",
                p.detail
            );
        }
        other => panic!("expected a 409 problem, got {other:?}"),
    }

    // Bulk: all or nothing, one receipt per event.
    let bulk = client
        .bulk(
            &[
                (
                    t.ticket.clone(),
                    event("ticket.acknowledged", json!({}), "system", None),
                ),
                (
                    t.ticket.clone(),
                    event(
                        "message.added",
                        json!({"direction": "outbound", "visibility": "public"}),
                        "agent",
                        Some("On it."),
                    ),
                ),
                (
                    t.ticket.clone(),
                    event(
                        "ticket.resolved",
                        json!({"resolution": "paid_out"}),
                        "agent",
                        None,
                    ),
                ),
            ],
            "crm-5521-bulk-1",
        )
        .await
        .unwrap();
    assert_eq!(bulk.receipts.len(), 3);
    assert_eq!(
        bulk.receipts
            .iter()
            .map(|r| r.receipt.seq)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // The client asks for the compact answer (the group once) and puts each
    // receipt back whole: each checks out against the operator on its own.
    for r in &bulk.receipts {
        assert_eq!(Client::receipt_signer(r).unwrap(), anchorer);
        assert_eq!(r.group.as_ref().map(|g| g.size >= 3), Some(true));
    }

    // A write whose answer is lost: the client times out and retries with
    // the same key, and the server answers with the original receipt.
    let proxy = swallow_first_answer(server.node.addr).await;
    let flaky = Client::with_timeout(&proxy, Some(server.key.clone()), Duration::from_millis(700))
        .unwrap()
        .attempts(3)
        .backoff(Duration::from_millis(50));
    let rated = event(
        "satisfaction.rated",
        json!({"score": 5, "scale": 5}),
        "customer",
        None,
    );
    let after_timeout = flaky
        .append(&t.ticket, &rated, "crm-5521-rated")
        .await
        .unwrap();
    assert!(
        after_timeout.replayed,
        "the first attempt landed; the retry replays it"
    );
    assert_eq!(after_timeout.receipt.receipt.seq, 4);
    let state = client.ticket(&t.ticket).await.unwrap();
    let types: Vec<&str> = state["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ticket.created",
            "ticket.acknowledged",
            "message.added",
            "ticket.resolved",
            "satisfaction.rated"
        ],
        "recorded once"
    );

    // Wait (bounded) until anchored, then verify against the chain.
    let mut report = None;
    for _ in 0..160 {
        let b = client.bundle(&t.ticket).await.unwrap();
        if b.events.iter().all(|e| b.log_says_anchored(e)) {
            report = Some(
                client
                    .verify(
                        &t.ticket,
                        &server.anvil.url(),
                        Some(&format!("{:#x}", server.contract)),
                    )
                    .await
                    .unwrap(),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let report = report.expect("anchored within 40 s");
    assert!(report.valid, "{:?}", report.problems);
    // Pinned to another contract: not valid.
    let wrong = client
        .verify(
            &t.ticket,
            &server.anvil.url(),
            Some("0x4242424242424242424242424242424242424242"),
        )
        .await
        .unwrap();
    assert!(!wrong.valid);

    server.stop().await;
}

#[tokio::test]
async fn nobody_listening_is_unavailable_after_the_retries() {
    // A port that was just free: connection refused on every attempt.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::with_timeout(
        &format!("http://127.0.0.1:{port}"),
        None,
        Duration::from_secs(2),
    )
    .unwrap()
    .attempts(2)
    .backoff(Duration::from_millis(10));
    match client.create_ticket("x").await {
        Err(Error::Unavailable { attempts, .. }) => assert_eq!(attempts, 2),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(matches!(
        Client::new("ftp://x", None),
        Err(Error::Config(_))
    ));
}
