//! One serving process per SQLite database.
//!
//! SQLite is embedded: the process that serves a SQLite log is its only
//! writer of records and always its leader (`leader.rs`), sealing and
//! anchoring with the operator key. A second `serve` (or `dev`, or
//! `mirror`) on the same file would be a second leader: two sealers racing
//! for the same batches and two anchorers sending transactions for them
//! from one key. Nothing stopped that; this lock does. It is an advisory
//! lock (`flock`) on a file beside the database, `<database>-serving.lock`,
//! never on the database itself: closing any other handle on a SQLite file
//! drops the POSIX locks SQLite holds on it. The kernel releases the lock
//! when the process ends, however it ends, so a crash leaves nothing to
//! clean up.
//!
//! `recover`, which writes records in, takes it too. `keys` and
//! `integrations`, which change only keys and settings, take no lock and
//! work beside a running server. PostgreSQL needs none: several
//! servers share one database by design, with one leader elected
//! (`leader.rs`).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held for as long as the process serves the database: dropping it
/// releases the lock.
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum ServingLockError {
    #[error(
        "another process{holder} already serves the SQLite database {database}: SQLite is embedded in one process, which seals and anchors its log. Stop that process first, or use PostgreSQL for several servers on one log"
    )]
    Held { database: PathBuf, holder: String },
    #[error("cannot take the serving lock {lock}: {source}")]
    Io {
        lock: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the SQLite database's file name: {0}")]
    Url(String),
}

/// Takes the serving lock of the database `--database` names if it is a
/// SQLite one (None for PostgreSQL), or says which process holds it.
pub fn take(database: &str) -> Result<Option<ServingLock>, ServingLockError> {
    let url = match super::database_url(database) {
        Ok(super::Backend::Sqlite(url)) => url,
        // PostgreSQL; a bad URL is the store's to report.
        _ => return Ok(None),
    };
    // An in-memory database is refused by the store itself.
    if super::sqlite::in_memory(&url) {
        return Ok(None);
    }
    let file = super::sqlite::file_of(&url).map_err(|e| ServingLockError::Url(e.to_string()))?;
    take_for(&file).map(Some)
}

/// Takes the serving lock of the SQLite database file `database`.
pub fn take_for(database: &Path) -> Result<ServingLock, ServingLockError> {
    let lock = lock_path(database);
    let io = |source| ServingLockError::Io {
        lock: lock.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(ServingLockError::Held {
                database: database.to_owned(),
                holder: if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Who holds it, for the message a second process gives.
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    Ok(ServingLock { _file: file })
}

/// `<database>-serving.lock`, beside SQLite's own `-wal` and `-shm`.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-serving.lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let url = format!("sqlite://{}", db.display());
        let first = take(db.to_str().unwrap())
            .unwrap()
            .expect("a SQLite URL takes the lock");
        let err = take(&url).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ServingLockError::Held { .. }), "{msg}");
        assert!(
            msg.contains(&format!("(pid {})", std::process::id()))
                && msg.contains(&db.display().to_string()),
            "the refusal names the holder and the database: {msg}"
        );
        // A plain path and its sqlite:// URL are the same database.
        assert!(matches!(
            take(db.to_str().unwrap()),
            Err(ServingLockError::Held { .. })
        ));
        // Another database is not held by this one's lock.
        take_for(&dir.path().join("other.db")).unwrap();
        drop(first);
        take(&url).unwrap().expect("free again once dropped");
        assert!(dir.path().join("log.db-serving.lock").exists());
    }

    #[test]
    fn postgres_takes_no_lock() {
        assert!(take("postgres://u@127.0.0.1/db").unwrap().is_none());
        assert!(take("postgresql://u@127.0.0.1/db").unwrap().is_none());
    }
}
