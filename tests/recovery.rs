//! Disaster recovery (issue 31): a backup taken while the real `proofdesk
//! serve` runs, more events appended and anchored after it, then the
//! backup restored. The node refuses to start on a database older than the
//! chain (it would give anchored indices to new records and fork the log).
//! `proofdesk recover` brings the missing records back from a mirror's
//! export (`proofdesk mirror`, then `mirror-export`), verifying every batch
//! against the chain first; a copy that is too old, or edited, is refused. Afterwards the node starts, every
//! ticket verifies, and new events are appended and anchored on top.
//! SQLite is copied with `proofdesk backup` (SQLite's backup API, online);
//! PostgreSQL with pg_dump (a consistent snapshot, also online).

mod common;
mod faults_support;

use std::path::Path;
use std::time::Duration;

use alloy::primitives::Address;
use faults_support::*;
use proofdesk::anchor::{Chain, OperatorKey};
use proofdesk::audit::http::LogClient;
use proofdesk::audit::progress::ProgressStyle;
use proofdesk::audit::run::{AuditOptions, CHECKPOINT_EVERY, ExportLimits};
use proofdesk::devnet::{Anvil, DEV_KEYS};

fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"));
    c.env("PROOFDESK_OPERATOR_KEY", DEV_KEYS[0])
        .env("RUST_LOG", "warn");
    c
}

/// An auditor's saved audit of the whole log, through its HTTP export.
async fn saved_audit(base: &str, key: &str, chain: &Chain, out: &Path) {
    let r = proofdesk::audit::run::run(AuditOptions {
        log: LogClient::new(base, Some(key.to_owned())).unwrap(),
        log_url: base.to_owned(),
        chain: chain.clone(),
        from: None,
        to: None,
        resume: None,
        out: Some(out.to_owned()),
        progress: ProgressStyle::Quiet,
        max_merge_delay_ms: None,
        limits: ExportLimits::default(),
        checkpoint_every: CHECKPOINT_EVERY,
    })
    .await
    .unwrap();
    assert!(r.ok, "{:#?}", r.failures);
}

async fn settle(http: &reqwest::Client, base: &str, store: &dyn proofdesk::log::Store) -> u64 {
    let size = store.stats().await.unwrap().size;
    wait_log(http, base, settled(size)).await;
    size
}

/// `proofdesk recover`, and what it printed.
fn recover(
    db: &str,
    rpc: &str,
    contract: Address,
    from_block: u64,
    source: &Path,
) -> (bool, String) {
    let out = bin()
        .args([
            "recover",
            "--database",
            db,
            "--rpc",
            rpc,
            "--contract",
            &format!("{contract:#x}"),
            "--from-block",
            &from_block.to_string(),
            "--from",
            &source.display().to_string(),
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn story(db: &common::TestDb, backup: impl AsyncFnOnce() -> String) {
    let key = proofdesk::api::auth::create_key(db.store(), &["ingest".into(), "audit".into()], "r")
        .await
        .unwrap();
    let anvil = Anvil::start(0, None).await.expect("anvil");
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    let mut chain = Chain::connect(&anvil.url(), contract, Duration::from_secs(5)).unwrap();
    chain.from_block = block;
    let opts = ServeOpts::default();
    let mut server = ServerProc::start(&db.url, &anvil.url(), contract, block, &opts).await;
    let base = server.url();
    let http = http_client();
    let ledger = Ledger::default();
    let a = open_ticket(&http, &base, &key, "A", &ledger).await;
    let b = open_ticket(&http, &base, &key, "B", &ledger).await;
    for n in 0..3 {
        append(&http, &base, &key, &a, n).await;
        append(&http, &base, &key, &b, n).await;
    }
    settle(&http, &base, db.store()).await;
    let dir = tempfile::tempdir().unwrap();
    let old_audit = dir.path().join("old.jsonl");
    saved_audit(&base, &key, &chain, &old_audit).await;

    // The backup, while the server runs.
    let restored = backup().await;

    // Life goes on after it: more events on A, a new ticket C, anchored.
    for n in 3..6 {
        append(&http, &base, &key, &a, n).await;
    }
    let c = open_ticket(&http, &base, &key, "C", &ledger).await;
    append(&http, &base, &key, &c, 0).await;
    let size = settle(&http, &base, db.store()).await;
    let audit = dir.path().join("audit.jsonl");
    saved_audit(&base, &key, &chain, &audit).await;
    // A regulator's mirror has copied the log (one pass), and exports its
    // copy for the recovery.
    let mirror_db = format!("sqlite://{}", dir.path().join("mirror.db").display());
    let chain_args = [
        "--rpc".to_owned(),
        anvil.url(),
        "--contract".to_owned(),
        format!("{contract:#x}"),
        "--from-block".to_owned(),
        block.to_string(),
    ];
    let mirrored = bin()
        .args([
            "mirror",
            "--log",
            &base,
            "--key",
            &key,
            "--database",
            &mirror_db,
        ])
        .args(&chain_args)
        .output()
        .unwrap();
    assert!(
        mirrored.status.success(),
        "{}",
        String::from_utf8_lossy(&mirrored.stdout)
    );
    let from_mirror = dir.path().join("mirror.jsonl");
    let exported = bin()
        .args(["mirror-export", "--database", &mirror_db, "--out"])
        .arg(&from_mirror)
        .args(&chain_args)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    server.terminate(Duration::from_secs(30)).await;

    // The restored database is older than the chain: the node refuses.
    let refused = bin()
        .args([
            "serve",
            "--database",
            &restored,
            "--listen",
            "127.0.0.1:0",
            "--rpc",
            &anvil.url(),
            "--contract",
            &format!("{contract:#x}"),
            "--from-block",
            &block.to_string(),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains("this database is older than the chain")
            && said.contains("proofdesk recover"),
        "{said}"
    );

    // A copy from before the loss cannot bring it back; an edited one is
    // refused before anything is written.
    let (ok, text) = recover(&restored, &anvil.url(), contract, block, &old_audit);
    assert!(!ok && text.contains("bring a newer copy"), "{text}");
    let edited = dir.path().join("edited.jsonl");
    let original = std::fs::read_to_string(&audit).unwrap();
    std::fs::write(
        &edited,
        original.replacen("\"channel\":\"web\"", "\"channel\":\"sms\"", 1),
    )
    .unwrap();
    let (ok, text) = recover(&restored, &anvil.url(), contract, block, &edited);
    assert!(!ok && text.contains("changed after the audit"), "{text}");

    // Recovered from the mirror's copy, every batch checked on chain; the
    // auditor's copy then has nothing left to bring.
    let (ok, text) = recover(&restored, &anvil.url(), contract, block, &from_mirror);
    assert!(ok, "{text}");
    assert!(text.contains("recovered"), "{text}");
    let (ok, text) = recover(&restored, &anvil.url(), contract, block, &audit);
    assert!(ok && text.contains("nothing to recover"), "{text}");

    // The node starts on it, every ticket verifies, and the log goes on.
    let mut server = ServerProc::start(&restored, &anvil.url(), contract, block, &opts).await;
    let base = server.url();
    let store = proofdesk::log::connect(&restored).await.unwrap();
    assert_eq!(store.stats().await.unwrap().size, size);
    for t in [&a, &b, &c] {
        let report = verify_ticket(&http, &base, t, &anvil.url(), contract).await;
        assert!(
            report.valid && report.pending == 0,
            "{t}: {}",
            report.render()
        );
    }
    append(&http, &base, &key, &a, 6).await;
    append(&http, &base, &key, &c, 1).await;
    settle(&http, &base, store.as_ref()).await;
    check_chain_exactly_once(store.as_ref(), &chain).await;
    for t in [&a, &c] {
        let report = verify_ticket(&http, &base, t, &anvil.url(), contract).await;
        assert!(
            report.valid && report.pending == 0,
            "{t}: {}",
            report.render()
        );
    }
    server.terminate(Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_older_than_the_chain_is_refused_then_recovered_on_sqlite() {
    let db = common::TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let url = db.url.clone();
    story(&db, async || {
        let out = bin()
            .args([
                "backup",
                "--database",
                &url,
                "--out",
                &copy.display().to_string(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A backup never overwrites a file.
        let again = bin()
            .args([
                "backup",
                "--database",
                &url,
                "--out",
                &copy.display().to_string(),
            ])
            .output()
            .unwrap();
        assert!(!again.status.success());
        format!("sqlite://{}", copy.display())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_older_than_the_chain_is_refused_then_recovered_on_postgres() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    let admin = std::env::var(common::PG_ENV).unwrap();
    let name = format!(
        "{}_bak",
        db.url
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
    );
    let copy = common::replace_db(&admin, &name);
    let url = db.url.clone();
    story(&db, async || {
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let dump = std::process::Command::new("pg_dump")
            .args(["--dbname", &url, "--no-owner"])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let mut psql = std::process::Command::new("psql")
            .args(["--quiet", "--dbname", &copy, "-v", "ON_ERROR_STOP=1"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        psql.stdin.take().unwrap().write_all(&dump.stdout).unwrap();
        assert!(psql.wait().unwrap().success());
        copy.clone()
    })
    .await;
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await;
    db.cleanup().await;
}
