//! Transparent huge pages off for the whole process, before anything runs.
//!
//! mimalloc (the server's allocator, `main.rs`) marks the memory it reserves
//! for transparent huge pages (`madvise(MADV_HUGEPAGE)`), and the usual
//! kernel settings ("madvise", "always") honour the mark: the first touch
//! of a 2 MiB range makes all of it resident. On the benchmark's SQLite
//! sequence (`scripts/bench/memory-sequence.sh`: a 250,000-event log, then
//! single and bulk appends) the server held up to 100 MiB of huge pages
//! and peaked at 292–298 MiB with them, at 239–272 MiB without, at the
//! same rates (BENCHMARKS.md, "Memory, after the ninth run").
//!
//! So the process turns them off for itself, as mimalloc does when
//! `MIMALLOC_ALLOW_THP=0` is set. An operator who sets that variable keeps
//! the choice: with `MIMALLOC_ALLOW_THP=1` nothing is changed.

/// The environment variable through which mimalloc reads its own setting.
pub const ALLOW_THP_VAR: &str = "MIMALLOC_ALLOW_THP";

/// Whether to turn huge pages off, given `MIMALLOC_ALLOW_THP`'s value:
/// yes unless the operator set it (mimalloc then acts on it itself).
pub fn turn_off_huge_pages(allow_thp: Option<&std::ffi::OsStr>) -> bool {
    allow_thp.is_none()
}

/// Turns transparent huge pages off for this process and its children,
/// unless `MIMALLOC_ALLOW_THP` says otherwise. A kernel that refuses
/// (one without the setting) leaves the process as it was: memory, not
/// correctness, is at stake, so that is not an error.
pub fn apply() {
    if turn_off_huge_pages(std::env::var_os(ALLOW_THP_VAR).as_deref()) {
        #[cfg(target_os = "linux")]
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_operator_setting_keeps_huge_pages() {
        assert!(turn_off_huge_pages(None));
        assert!(!turn_off_huge_pages(Some("1".as_ref())));
        assert!(!turn_off_huge_pages(Some("0".as_ref())));
    }

    /// The kernel reports the setting back; the test process takes it too.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_reports_huge_pages_off() {
        if std::env::var_os(ALLOW_THP_VAR).is_some() {
            return; // the operator's choice, kept (the test above)
        }
        apply();
        assert!(rustix::thread::transparent_huge_pages_are_disabled().unwrap());
    }
}
