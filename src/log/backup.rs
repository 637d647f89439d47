//! `proofdesk backup`: an online, consistent copy of a SQLite log while the
//! server runs, through SQLite's backup API (it copies pages in steps and
//! restarts a step a writer changed, so the copy is one committed state of
//! the file). PostgreSQL is backed up with its own tools: the README's
//! pg_basebackup and WAL-archiving recipe.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;

use super::StoreError;

/// Pages copied per step: small enough that appends wait at most a few
/// milliseconds for the source's read lock between steps.
const PAGES_PER_STEP: i32 = 1024;

/// Copies the SQLite database at `url` to a new file `out`, calling
/// `progress(copied_pages, total_pages)` after each step.
pub fn sqlite_backup(
    url: &str,
    out: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<(), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(StoreError::Unavailable(
            "proofdesk backup copies SQLite logs; back up PostgreSQL with pg_basebackup and WAL archiving (README, \"Mirrors and recovery\")".into(),
        ));
    }
    if out.exists() {
        return Err(StoreError::Unavailable(format!(
            "{} exists: a backup never overwrites a file",
            out.display()
        )));
    }
    let source = SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_owned();
    if !source.exists() {
        return Err(StoreError::Unavailable(format!(
            "no database at {}",
            source.display()
        )));
    }
    let fail = |e: rusqlite::Error| StoreError::Unavailable(format!("backup: {e}"));
    let src =
        Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(fail)?;
    src.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
    let mut dst = Connection::open(out).map_err(fail)?;
    {
        let backup = Backup::new(&src, &mut dst).map_err(fail)?;
        loop {
            match backup.step(PAGES_PER_STEP).map_err(fail)? {
                StepResult::Done => break,
                StepResult::More => {}
                // A writer holds the file for a moment: try again shortly.
                StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
            let p = backup.progress();
            let total = p.pagecount.max(0) as u64;
            progress(total.saturating_sub(p.remaining.max(0) as u64), total);
        }
    }
    // The copy is a database of its own: WAL like the log, checked whole.
    dst.pragma_update(None, "journal_mode", "WAL")
        .map_err(fail)?;
    let ok: String = dst
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(fail)?;
    if ok != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the backup at {} fails SQLite's integrity check: {ok}",
            out.display()
        )));
    }
    Ok(())
}
