//! Whether the disk holding a SQLite database has room for a write, for
//! /readyz. A full disk does not stop `SELECT 1`, and a small write can
//! still succeed in WAL pages already allocated, so neither says whether the
//! next append will commit; the file system's free space does.

use std::path::Path;

/// Below this much free space the database counts as full: a group commit
/// of a few large appends, its WAL frames and a checkpoint need about this.
pub const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// Why the disk holding `db` cannot take a write, or None if it can (or if
/// the file system cannot be asked, which is left to the write itself).
pub fn full(db: &Path) -> Option<String> {
    let dir = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let st = rustix::fs::statvfs(dir).ok()?;
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    (free < MIN_FREE_BYTES).then(|| {
        format!(
            "the database disk is full: {free} bytes free on the file system of {}, below the {MIN_FREE_BYTES} a write may need",
            db.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roomy_disk_is_not_full() {
        let dir = tempfile::tempdir().unwrap();
        // The test machine's temporary directory has more than 1 MiB free.
        assert_eq!(full(&dir.path().join("log.db")), None);
        assert_eq!(full(Path::new("log.db")), None);
    }
}
