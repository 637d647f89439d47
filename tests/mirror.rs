//! Mirrors (issue 31): the real `proofdesk mirror` follows a live log into
//! a database of its own, verifying every batch against the chain, and
//! serves the public routes. Its bundles are the log's, byte for byte;
//! after the log's server is gone, `proofdesk verify` accepts a bundle
//! fetched from the mirror. When the log rewrites a record it already
//! served, the mirror reports it, with both versions in its evidence file.

mod common;
mod faults_support;

use std::process::Stdio;
use std::time::Duration;

use faults_support::*;
use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::{Anvil, DEV_KEYS, free_port};
use serde_json::Value;

fn bin() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"));
    c.env("RUST_LOG", "warn").kill_on_drop(true);
    c
}

/// Waits (bounded) until the mirror's metrics show `records` copied.
async fn mirrored(http: &reqwest::Client, mirror: &str, records: u64) {
    let want = format!("proofdesk_mirror_records {records}\n");
    let mut last = String::new();
    for _ in 0..240 {
        if let Ok(r) = http.get(format!("{mirror}/metrics")).send().await {
            last = r.text().await.unwrap_or_default();
            if last.contains(&want) && last.contains("proofdesk_mirror_lag_records 0\n") {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the mirror did not catch up to {records} records within 60 s:\n{last}");
}

async fn story(db: &common::TestDb, mirror_db: String) {
    let key = proofdesk::api::auth::create_key(db.store(), &["ingest".into(), "audit".into()], "m")
        .await
        .unwrap();
    let anvil = Anvil::start(0, None).await.expect("anvil");
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    let mut server = ServerProc::start(
        &db.url,
        &anvil.url(),
        contract,
        block,
        &ServeOpts::default(),
    )
    .await;
    let base = server.url();
    let http = http_client();
    let ledger = Ledger::default();
    let a = open_ticket(&http, &base, &key, "A", &ledger).await;
    let b = open_ticket(&http, &base, &key, "B", &ledger).await;
    for n in 0..3 {
        append(&http, &base, &key, &a, n).await;
    }
    let size = db.store().stats().await.unwrap().size;
    wait_log(&http, &base, settled(size)).await;

    let chain_args = |c: &mut tokio::process::Command| {
        c.args([
            "--rpc",
            &anvil.url(),
            "--contract",
            &format!("{contract:#x}"),
            "--from-block",
            &block.to_string(),
        ]);
    };
    // A mirror, following, serving the public routes.
    let port = free_port();
    let evidence = tempfile::tempdir().unwrap();
    let mut follow = bin();
    follow.args([
        "mirror",
        "--log",
        &base,
        "--key",
        &key,
        "--database",
        &mirror_db,
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--follow",
        "--interval",
        "1",
        "--evidence-dir",
        &evidence.path().display().to_string(),
    ]);
    chain_args(&mut follow);
    let mut follower = follow.stdout(Stdio::null()).spawn().unwrap();
    let mirror = format!("http://127.0.0.1:{port}");
    mirrored(&http, &mirror, size).await;
    // A's bundle there is settled: a client holding it gets a 304.
    let a_path = format!("{mirror}/v1/tickets/{a}/proof");
    let held = http.get(&a_path).send().await.unwrap();
    let tag = held.headers()["etag"].to_str().unwrap().to_owned();
    let conditional = || http.get(&a_path).header("if-none-match", &tag).send();
    assert_eq!(conditional().await.unwrap().status().as_u16(), 304);

    // It keeps up as the log grows.
    let c = open_ticket(&http, &base, &key, "C", &ledger).await;
    for n in 3..5 {
        append(&http, &base, &key, &a, n).await;
        append(&http, &base, &key, &c, n).await;
    }
    let size = db.store().stats().await.unwrap().size;
    wait_log(&http, &base, settled(size)).await;
    mirrored(&http, &mirror, size).await;
    // The batches it imported wrote to A: the tag held before gets the
    // new bundle, never a 304.
    let after = conditional().await.unwrap();
    assert_eq!(after.status().as_u16(), 200, "A changed on the mirror");
    assert_ne!(after.headers()["etag"].to_str().unwrap(), tag);

    // Its bundles and description are the log's, byte for byte.
    for t in [&a, &b, &c] {
        let path = format!("/v1/tickets/{t}/proof");
        let theirs = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let ours = http
            .get(format!("{mirror}{path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(ours, theirs, "{t}'s bundle from the mirror");
    }
    // It serves nothing behind a key, and no writes.
    for (method, path) in [
        ("GET", "/v1/export".to_owned()),
        ("GET", format!("/v1/tickets/{a}")),
        ("GET", format!("/v1/tickets/{a}/events/0/content")),
        ("POST", "/v1/tickets".to_owned()),
    ] {
        let r = http
            .request(method.parse().unwrap(), format!("{mirror}{path}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{method} {path} on a mirror");
    }

    // The log's server is gone: a complainant verifies from the mirror.
    server.terminate(Duration::from_secs(30)).await;
    let verify = bin()
        .args([
            "verify",
            &format!("{mirror}/v1/tickets/{a}/proof"),
            "--rpc",
            &anvil.url(),
            "--contract",
            &format!("{contract:#x}"),
        ])
        .output()
        .await
        .unwrap();
    assert!(
        verify.status.success(),
        "verify from the mirror: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let _ = follower.kill().await;

    // The log comes back having rewritten a record it had served: the
    // mirror's one-shot pass reports it, with both versions.
    let victim = db
        .store()
        .events_by_ticket(&proofdesk::protocol::fields::TicketHandle::parse(&b).unwrap())
        .await
        .unwrap()[0]
        .index;
    tamper(&db.url, victim).await;
    server.start_again().await;
    let mut once = bin();
    once.args([
        "mirror",
        "--log",
        &base,
        "--key",
        &key,
        "--database",
        &mirror_db,
        "--spot-checks",
        "10",
        "--evidence-dir",
        &evidence.path().display().to_string(),
    ]);
    chain_args(&mut once);
    let out = once.output().await.unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("Rewritten"), "{said}");
    let file = std::fs::read_dir(evidence.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("rewritten")
        })
        .expect("an evidence file");
    let ev: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(ev["evidence"]["index"], victim);
    assert_eq!(ev["evidence"]["mirrored"]["channel"], "web");
    assert_eq!(ev["evidence"]["served"]["channel"], "sms");
    server.terminate(Duration::from_secs(30)).await;
}

/// Rewrites a record's channel behind the server's back.
async fn tamper(url: &str, index: u64) {
    let sql = format!(
        "UPDATE events SET record = replace(record, '\"channel\":\"web\"', '\"channel\":\"sms\"') WHERE idx = {index}"
    );
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_follows_verifies_serves_and_catches_a_rewrite_on_sqlite() {
    let db = common::TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    story(
        &db,
        format!("sqlite://{}", dir.path().join("mirror.db").display()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_follows_verifies_serves_and_catches_a_rewrite_on_postgres() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    let Some(mirror) = common::TestDb::postgres().await else {
        return;
    };
    let url = mirror.url.clone();
    story(&db, url).await;
    mirror.cleanup().await;
    db.cleanup().await;
}
