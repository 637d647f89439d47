//! The embedded SQLite backend: one file, WAL journal, full sync.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use super::StoreError;
use super::sql_store::{Backend, impl_sql_store};

pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time. Queueing writers here, in order,
    /// beats letting them spin in SQLite's busy handler.
    writer: Mutex<()>,
}

impl Backend for SqliteStore {
    type Db = Sqlite;
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a receipt is a promise, so an acknowledged append must
            // survive power loss, not just a process crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            writer: Mutex::new(()),
        })
    }

    /// The pool, with the settings above: for tools that measure the raw
    /// database beside the store (scripts/bench.sh).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// BEGIN IMMEDIATE takes SQLite's write lock up front, so a transaction
    /// never fails half-way trying to upgrade a read lock.
    async fn begin_write(
        &self,
    ) -> Result<(Transaction<'static, Sqlite>, MutexGuard<'_, ()>), StoreError> {
        let guard = self.writer.lock().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((tx, guard))
    }

    async fn insert_paths(
        tx: &mut Transaction<'static, Sqlite>,
        batch: &super::NewBatch,
    ) -> Result<(), StoreError> {
        for (i, path) in batch.paths.iter().enumerate() {
            sqlx::query(super::rows::sql::INSERT_PATH)
                .bind((batch.first_index + i as u64) as i64)
                .bind(batch.id as i64)
                .bind(super::path_to_bytes(path))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

impl_sql_store!(SqliteStore, "sqlite");
