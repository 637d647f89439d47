//! WAL checkpoints off the append path, for large commits.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
//! past 1,000 pages, on the committing connection. Under bulk ingest that
//! was the append writer, the bottleneck: 10 % of the server's samples went
//! to copying pages back and syncing the database file while every waiting
//! append waited too. After a large commit the writer leaves that work to a
//! thread of its own, on its own connection, which runs a PASSIVE
//! checkpoint (it never waits for a reader or the writer) on the other
//! core: bulk ingest on the harness went from 62,600 to 80,200 events/s
//! (BENCHMARKS.md, "What measuring changed").
//!
//! Small commits keep SQLite's own checkpoint inline: with single appends
//! at c=64, a checkpoint beside the writer raised their p99 from 13 to
//! 22-27 ms (its sync of the database file delays the writer's sync of the
//! WAL), while inline it is one short pause. The writer switches between
//! the two by the size of the group it commits (`Writer::commit`).
//! Durability is the same either way: a commit is durable once its WAL
//! frames are synced, before any checkpoint.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;
use super::sqlite_rows::from_sqlite;

/// The writer's own automatic checkpoint while this thread does the work,
/// a backstop: 64 MiB of WAL at SQLite's 4 KiB pages.
pub(crate) const BACKSTOP_PAGES: u32 = 16_384;

/// SQLite's default automatic checkpoint, and how many pages make a
/// checkpoint here worth its sync of the database file.
pub(crate) const INLINE_PAGES: u32 = 1_000;

/// Events in a group commit from which its checkpoint runs here: single
/// appends group by the tens, bulk requests by the thousand.
pub(crate) const LARGE_COMMIT_EVENTS: usize = 500;

/// Frames in the WAL not yet copied back, asked without copying any.
fn frames_waiting(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(NOOP)", [], |r| {
        Ok(r.get::<_, i64>(1)? - r.get::<_, i64>(2)?)
    })
}

/// How long commits gather before a checkpoint copies them: at bulk rates
/// a few hundred pages, one sync of the database file for all of them.
const GATHER: Duration = Duration::from_millis(100);

/// The checkpoint thread's handle; the thread ends when it is dropped.
pub(crate) struct Checkpointer {
    nudge: SyncSender<()>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path).map_err(from_sqlite)?;
        let (nudge, nudges) = sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, nudges))
            .map_err(|e| StoreError::Unavailable(format!("starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer { nudge })
    }

    /// Called after a commit: a checkpoint follows soon. Never blocks.
    pub fn nudge(&self) {
        let _ = self.nudge.try_send(());
    }
}

fn run(conn: Connection, nudges: Receiver<()>) {
    // Each wait ends with a nudge, or with the store dropped.
    while nudges.recv().is_ok() {
        std::thread::sleep(GATHER);
        match nudges.try_recv() {
            Ok(()) | Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => return,
        }
        // As often as SQLite's own automatic checkpoint, no more: each
        // one syncs the database file.
        match frames_waiting(&conn) {
            Ok(n) if n < i64::from(INLINE_PAGES) => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the WAL's size failed"),
        }
        // PASSIVE copies what no reader still needs and returns; what is
        // left goes at the next nudge. A failure (a full disk) leaves the
        // frames in the WAL, where they are as durable: logged, retried.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; retried after the next commit");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_are_copied_back_by_the_checkpoint_thread_not_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log.db");
        let writer = Connection::open(&file).unwrap();
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES};
                 CREATE TABLE t (x BLOB);"
            ))
            .unwrap();
        let checkpointer = Checkpointer::start(&file).unwrap();
        // Past SQLite's default automatic checkpoint of 1,000 pages.
        for _ in 0..30 {
            writer
                .execute("INSERT INTO t VALUES (randomblob(200000))", [])
                .unwrap();
        }
        let waiting = frames_waiting(&writer).unwrap();
        assert!(
            waiting > i64::from(INLINE_PAGES),
            "the writer did not checkpoint: {waiting} frames wait"
        );
        checkpointer.nudge();
        let mut waited = Duration::ZERO;
        loop {
            let waiting = frames_waiting(&writer).unwrap();
            if waiting == 0 {
                break;
            }
            assert!(
                waited < Duration::from_secs(30),
                "{waiting} frames still wait"
            );
            std::thread::sleep(Duration::from_millis(20));
            waited += Duration::from_millis(20);
        }
        drop(checkpointer);
    }
}
