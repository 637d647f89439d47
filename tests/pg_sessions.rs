//! The settings every pooled PostgreSQL session of the store runs with
//! (src/log/postgres.rs), whatever the server's defaults: a fresh plan for
//! every execution, no JIT compilation and no parallel plans. Each guards a
//! proof-bundle slowdown seen at 1M events (see the comment there). The
//! sessions that read bundles' events keep one plan instead, and it must be
//! the index range scan even when planned on an empty table.
//! Skipped (with a message) without PostgreSQL.

mod common;

use common::*;
use proofdesk::log::postgres::PgStore;

use proofdesk::log::PG_BUNDLE_EVENTS_SQL as BUNDLE_QUERY;

#[tokio::test]
async fn every_session_plans_each_execution_without_jit_or_parallel_plans() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = PgStore::connect(&db.url).await.unwrap();
    // Several connections at once, so the check is not about one session.
    let mut conns = Vec::new();
    for _ in 0..4 {
        conns.push(store.pool().acquire().await.unwrap());
    }
    for conn in &mut conns {
        assert_settings(
            conn,
            &[
                ("plan_cache_mode", "force_custom_plan"),
                ("jit", "off"),
                ("max_parallel_workers_per_gather", "0"),
            ],
        )
        .await;

        // The bundle query, prepared once on this connection as the store
        // does and run more than the five times after which PostgreSQL
        // would otherwise switch to a generic plan (kept for the
        // connection's life, however the tables grow).
        for i in 0..8 {
            sqlx::query(BUNDLE_QUERY)
                .bind(format!("tk_{i}"))
                .fetch_all(&mut **conn)
                .await
                .unwrap();
        }
        let (generic, custom): (i64, i64) = sqlx::query_as(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
        )
        .bind(BUNDLE_QUERY)
        .fetch_one(&mut **conn)
        .await
        .unwrap();
        assert_eq!((generic, custom), (0, 8));

        // Even a plan costed above every JIT threshold is not compiled.
        sqlx::query("SET jit_above_cost = 0")
            .execute(&mut **conn)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE) {}",
            BUNDLE_QUERY.replace("$1", "'tk_none'")
        )))
        .fetch_all(&mut **conn)
        .await
        .unwrap();
        assert!(
            !plan.iter().any(|l| l.trim_start().starts_with("JIT:")),
            "{}",
            plan.join("\n")
        );
        sqlx::query("RESET jit_above_cost")
            .execute(&mut **conn)
            .await
            .unwrap();
    }
    drop(conns);
    drop(store);
    db.cleanup().await;
}

#[tokio::test]
async fn bundle_sessions_plan_once_and_the_plan_is_the_index_scan_even_on_an_empty_log() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = PgStore::connect(&db.url).await.unwrap();
    let mut conn = store.bundle_pool().acquire().await.unwrap();
    assert_settings(
        &mut conn,
        &[
            ("plan_cache_mode", "force_generic_plan"),
            ("enable_seqscan", "off"),
            ("enable_bitmapscan", "off"),
            ("jit", "off"),
            ("default_transaction_read_only", "on"),
        ],
    )
    .await;
    for i in 0..3 {
        sqlx::query(BUNDLE_QUERY)
            .bind(format!("tk_{i}"))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    }
    let (name, generic, custom): (String, i64, i64) = sqlx::query_as(
        "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
    )
    .bind(BUNDLE_QUERY)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!((generic, custom), (3, 0));

    // The plan kept, made while the events table is empty (where the
    // planner's own choice is a bitmap scan and a sort): it must stay a
    // range scan of the (ticket, seq) index however the log grows.
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN EXECUTE {name}('tk_none')"
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.starts_with("Index Scan using events_ticket_seq_key on events"),
        "{plan}"
    );
    assert!(
        !plan.contains("Seq Scan") && !plan.contains("Bitmap") && !plan.contains("Sort"),
        "{plan}"
    );

    // The ticket counts a conditional read checks (prove/tips.rs) run on
    // these sessions too: planned once on the empty log, their plan is
    // the unique handle index's lookups.
    let counts = proofdesk::log::PG_TICKET_COUNTS_SQL;
    for _ in 0..3 {
        sqlx::query(counts)
            .bind(vec!["tk_none".to_owned()])
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    }
    let (name, generic): (String, i64) = sqlx::query_as(
        "SELECT name, generic_plans FROM pg_prepared_statements WHERE statement = $1",
    )
    .bind(counts)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(generic, 3);
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN EXECUTE {name}('{{tk_none}}')"
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.starts_with("Index Scan using tickets_pkey on tickets")
            || plan.starts_with("Index Only Scan using tickets_pkey on tickets"),
        "{plan}"
    );
    assert!(
        !plan.contains("Seq Scan") && !plan.contains("Bitmap"),
        "{plan}"
    );

    // Read-only: a write on these sessions is refused.
    let write = sqlx::query("UPDATE log_state SET size = size WHERE id = 1")
        .execute(&mut *conn)
        .await;
    assert!(write.is_err(), "a bundle session wrote");
    drop(conn);
    drop(store);
    db.cleanup().await;
}

/// Each `(setting, value)` as the session reports it (`SHOW`).
/// Bundle reads run on `--pg-readers` connections at most: a third
/// acquire on a pool of two waits until one is handed back.
#[tokio::test]
async fn bundle_reads_hold_at_most_the_configured_connections() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let limits = proofdesk::log::CacheLimits {
        pg_readers: 2,
        ..Default::default()
    };
    let store = PgStore::connect_with(&db.url, &limits).await.unwrap();
    let pool = store.bundle_pool();
    assert_eq!(pool.options().get_max_connections(), 2);
    let first = pool.acquire().await.unwrap();
    let _second = pool.acquire().await.unwrap();
    let third = tokio::time::timeout(std::time::Duration::from_millis(300), pool.acquire()).await;
    assert!(third.is_err(), "a third bundle connection was opened");
    drop(first);
    tokio::time::timeout(std::time::Duration::from_secs(10), pool.acquire())
        .await
        .expect("a connection handed back is reused")
        .unwrap();
    assert_eq!(
        proofdesk::log::CacheLimits::DEFAULT.pg_readers,
        4,
        "README, Memory, gives the default"
    );
}

async fn assert_settings(conn: &mut sqlx::PgConnection, expected: &[(&str, &str)]) {
    for (setting, expected) in expected {
        let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(&value, expected, "{setting}");
    }
}
