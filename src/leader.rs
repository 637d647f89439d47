//! Leadership: exactly one process seals and anchors at a time.
//!
//! On PostgreSQL the leader holds a session advisory lock on a dedicated
//! connection (not a pooled one, whose lifetime the pool decides). If that
//! connection drops, PostgreSQL releases the lock and another instance,
//! retrying every `retry`, takes over within seconds; the old leader finds
//! out at its next health probe and stops its loops. During that short
//! overlap nothing can go wrong twice: a batch commits only where sealing
//! ended, batch steps apply only from their expected status, and the
//! contract accepts each batch id once.
//!
//! SQLite is embedded in one process, which is always the leader.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// The advisory lock key: "proofdesk" in ASCII, as a bigint.
pub const LOCK_KEY: i64 = 0x7072_6f6f_6664_6573;

#[derive(Debug, Clone, Copy)]
pub struct LeaderTiming {
    /// How often a follower tries to take the lock, and the leader probes
    /// its connection.
    pub retry: Duration,
}

impl Default for LeaderTiming {
    fn default() -> Self {
        LeaderTiming {
            retry: Duration::from_secs(1),
        }
    }
}

/// Runs `lead` whenever this process is the leader, until `stop`. `lead`
/// gets a stop signal of its own that fires when leadership is lost.
pub async fn run<F, Fut>(
    database_url: String,
    timing: LeaderTiming,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
    lead: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let postgres =
        database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
    if !postgres {
        metrics.leader.set(1);
        lead(stop).await;
        return;
    }
    loop {
        if *stop.borrow() {
            return;
        }
        if let Some(mut conn) = try_acquire(&database_url).await {
            tracing::info!("leadership acquired: this instance seals and anchors");
            metrics.leader.set(1);
            let (term_stop, term_rx) = watch::channel(false);
            let term = tokio::spawn(lead(term_rx));
            // Probe the lock's connection until it fails or we are told to stop.
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(timing.retry) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    break;
                }
                let alive =
                    tokio::time::timeout(timing.retry, sqlx::query("SELECT 1").execute(&mut conn))
                        .await;
                if !matches!(alive, Ok(Ok(_))) {
                    tracing::warn!("leadership lost: the lock's connection failed");
                    break;
                }
            }
            metrics.leader.set(0);
            let _ = term_stop.send(true);
            let _ = term.await;
            let _ = tokio::time::timeout(timing.retry, conn.close()).await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.retry) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn try_acquire(url: &str) -> Option<PgConnection> {
    let mut conn = match PgConnection::connect(url).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the leadership connection");
            return None;
        }
    };
    let got: Result<bool, _> = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut conn)
        .await;
    match got {
        Ok(true) => Some(conn),
        _ => {
            let _ = conn.close().await;
            None
        }
    }
}
