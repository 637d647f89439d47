//! The settings every pooled PostgreSQL session of the store runs with
//! (src/log/postgres.rs), whatever the server's defaults: no parallel plans
//! and no JIT compilation. Without statistics the planner costs the proof
//! bundle query in proportion to the log, and at ~1M events it crossed
//! jit_above_cost, so every bundle compiled its plan. Skipped (with a
//! message) without PostgreSQL.

mod common;

use common::*;
use proofdesk::log::postgres::PgStore;

#[tokio::test]
async fn every_session_runs_without_jit_or_parallel_plans() {
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
        let jit: String = sqlx::query_scalar("SHOW jit")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(jit, "off");
        let workers: String = sqlx::query_scalar("SHOW max_parallel_workers_per_gather")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(workers, "0");
        // Even a plan costed above every JIT threshold is not compiled.
        sqlx::query("SET jit_above_cost = 0")
            .execute(&mut **conn)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE) {}",
            "SELECT e.idx, e.ticket, e.seq, e.record, e.leaf, e.recorded_at_ms, p.batch_id, p.path \
             FROM events e LEFT JOIN event_paths p ON p.idx = e.idx WHERE e.ticket = 'tk_none' ORDER BY e.seq"
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
