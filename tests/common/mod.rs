//! Shared test fixtures: real databases (a fresh SQLite file, or a fresh
//! PostgreSQL database per test) and event builders.
#![allow(dead_code)]

pub mod anvil;

use std::sync::Arc;

use proofdesk::ingest::{EventInput, new_handle};
use proofdesk::log::{AppendRequest, DynStore, Store};
use proofdesk::protocol::fields::{TicketHandle, Timestamp};
use serde_json::{Value, json};

/// Where tests find PostgreSQL. The README's test command sets it; when it
/// is unset the PostgreSQL variants say so and skip.
pub const PG_ENV: &str = "PROOFDESK_TEST_PG";

pub struct TestDb {
    pub store: DynStore,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let store = proofdesk::log::connect(&url).await.unwrap();
        TestDb {
            store,
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A brand-new database on the server named by PROOFDESK_TEST_PG, so
    /// parallel tests never share state.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin) = std::env::var(PG_ENV) else {
            eprintln!("SKIPPED: {PG_ENV} is not set, PostgreSQL variant not run");
            return None;
        };
        let name = format!("pd_test_{}", &new_handle().as_str()[3..19]);
        let pool = sqlx::PgPool::connect(&admin)
            .await
            .expect("PostgreSQL reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let url = replace_db(&admin, &name);
        let store = proofdesk::log::connect(&url).await.unwrap();
        Some(TestDb {
            store,
            url,
            _dir: None,
            pg: Some((admin, name)),
        })
    }

    pub async fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        v.extend(TestDb::postgres().await);
        v
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Drops a PostgreSQL test database. Call at the end of a test.
    pub async fn cleanup(self) {
        let TestDb { store, pg, .. } = self;
        drop(store);
        if let Some((admin, name)) = pg {
            let pool = sqlx::PgPool::connect(&admin).await.unwrap();
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&pool)
            .await;
        }
    }
}

pub fn replace_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    format!("{base}/{name}{query}")
}

pub fn now_iso() -> String {
    Timestamp::now().to_string()
}

pub fn input(event_type: &str, data: Value) -> EventInput {
    serde_json::from_value(json!({
        "type": event_type,
        "data": data,
        "actor": {"role": "agent", "ref": "agent-1"},
        "channel": "web",
        "occurred_at": now_iso(),
    }))
    .unwrap()
}

pub fn created() -> EventInput {
    input(
        "ticket.created",
        json!({"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}}),
    )
}

pub fn message() -> EventInput {
    input(
        "message.added",
        json!({"direction": "inbound", "visibility": "public"}),
    )
}

pub fn req(ticket: &TicketHandle, e: EventInput) -> AppendRequest {
    e.into_request(ticket.clone()).unwrap()
}

pub async fn new_ticket(store: &dyn Store, external: &str) -> TicketHandle {
    store
        .create_ticket(external, new_handle(), Timestamp::now())
        .await
        .unwrap()
        .0
        .handle
}

pub type Shared = Arc<dyn Store>;
