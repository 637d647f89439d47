//! Real databases for tests: a fresh SQLite file, or a brand-new database
//! on the PostgreSQL server named by PROOFDESK_TEST_PG, so parallel tests
//! never share state.

use proofdesk::ingest::new_handle;
use proofdesk::log::{DynStore, Store};

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

    /// A brand-new database on the server named by PROOFDESK_TEST_PG; None
    /// (and a SKIPPED line) when the variable is unset.
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

    /// SQLite, and PostgreSQL when it is configured: the backends a story
    /// runs against.
    pub async fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        v.extend(TestDb::postgres().await);
        v
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
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

/// `url` with its database name replaced by `name` (query kept).
pub fn replace_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    format!("{base}/{name}{query}")
}
