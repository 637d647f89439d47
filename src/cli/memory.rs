//! The allocator's memory settings, made before anything runs.
//!
//! **Transparent huge pages off for the whole process.** mimalloc (the
//! server's allocator, `main.rs`) marks the memory it reserves for
//! transparent huge pages (`madvise(MADV_HUGEPAGE)`), and the usual kernel
//! settings ("madvise", "always") honour the mark: the first touch of a
//! 2 MiB range makes all of it resident. On the benchmark's SQLite sequence
//! (`scripts/bench/memory-sequence.sh`: a 250,000-event log, then single
//! and bulk appends) the server held up to 100 MiB of huge pages and peaked
//! at 292–298 MiB with them, at 239–272 MiB without, at the same rates
//! (BENCHMARKS.md, "Memory, after the ninth run"). So the process turns
//! them off for itself, as mimalloc does when `MIMALLOC_ALLOW_THP=0` is
//! set. An operator who sets that variable keeps the choice: with
//! `MIMALLOC_ALLOW_THP=1` nothing is changed.
//!
//! **Freed pages go back after 100 ms, not 1 s.** mimalloc 3 keeps the
//! pages it frees for a second before it returns them to the kernel (its
//! purge delay; mimalloc 2 kept them 10 ms). A bulk request's parse and
//! receipts free tens of MiB at once, and under load the next requests
//! arrive well inside that second, so the peak held them all. On the same
//! sequence, three rotated runs of each with huge pages off: 1 s peaked at
//! 250–259 MiB, 100 ms at 207–230 MiB at the same rates, and 10 ms at
//! 194–224 MiB but about an eighth fewer bulk requests (the pages it gives
//! back are faulted in again). An operator's `MIMALLOC_PURGE_DELAY` is
//! kept.

/// The environment variable through which mimalloc reads its own setting.
pub const ALLOW_THP_VAR: &str = "MIMALLOC_ALLOW_THP";

/// Whether to turn huge pages off, given `MIMALLOC_ALLOW_THP`'s value:
/// yes unless the operator set it (mimalloc then acts on it itself).
pub fn turn_off_huge_pages(allow_thp: Option<&std::ffi::OsStr>) -> bool {
    allow_thp.is_none()
}

/// Turns transparent huge pages off for this process and its children,
/// unless `MIMALLOC_ALLOW_THP` says otherwise, and shortens the purge
/// delay unless `MIMALLOC_PURGE_DELAY` is set. A kernel that refuses the
/// first (one without the setting) leaves the process as it was: memory,
/// not correctness, is at stake, so that is not an error.
///
/// Called first thing in `main`, before any thread is started: mimalloc's
/// option setters are not thread-safe.
pub fn apply() {
    if turn_off_huge_pages(std::env::var_os(ALLOW_THP_VAR).as_deref()) {
        #[cfg(target_os = "linux")]
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
    #[cfg(not(feature = "system-alloc"))]
    purge_sooner();
}

/// The purge delay this process sets, in milliseconds.
pub const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// mimalloc's `mi_option_purge_delay`: its place in mimalloc 3's
/// `mi_option_e` (mimalloc.h), for which the Rust declarations have no
/// constant. A test reads the option back by its name
/// (`the_purge_delay_is_shortened`).
#[cfg(not(feature = "system-alloc"))]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the purge delay to [`PURGE_DELAY_MS`] unless the environment set
/// it. mimalloc reads `MIMALLOC_PURGE_DELAY` the first time the option is
/// read, and `mi_option_set_default` changes only an option the
/// environment did not set; the read first makes sure the environment has
/// been looked at.
#[cfg(not(feature = "system-alloc"))]
fn purge_sooner() {
    // SAFETY: both calls take a valid option index and touch one word of
    // mimalloc's option table; `apply` runs before any other thread exists.
    unsafe {
        let _ = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
        libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
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

    /// mimalloc's own list of its options, by name, says the delay is the
    /// one this process set: the option index is the right one.
    #[cfg(not(feature = "system-alloc"))]
    #[test]
    fn the_purge_delay_is_shortened() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the operator's choice, kept
        }
        apply();
        let listed = mimalloc_options();
        let line = format!("option 'purge_delay': {PURGE_DELAY_MS} ");
        assert!(listed.contains(&line), "{line:?} not in:\n{listed}");
    }

    /// What `mi_options_print_out` writes, one option per line.
    #[cfg(not(feature = "system-alloc"))]
    fn mimalloc_options() -> String {
        use std::ffi::{CStr, c_char, c_void};
        unsafe extern "C" {
            // mimalloc.h; exported by the library libmimalloc-sys builds.
            fn mi_options_print_out(out: libmimalloc_sys::mi_output_fun, arg: *mut c_void);
        }
        unsafe extern "C" fn collect(text: *const c_char, arg: *mut c_void) {
            // SAFETY: `arg` is the `String` passed below, alive for the call;
            // mimalloc passes a NUL-terminated message.
            let out = unsafe { &mut *(arg as *mut String) };
            out.push_str(&unsafe { CStr::from_ptr(text) }.to_string_lossy());
        }
        let mut out = String::new();
        // SAFETY: `collect` matches `mi_output_fun`, and `out` outlives the call.
        unsafe { mi_options_print_out(Some(collect), &mut out as *mut String as *mut c_void) };
        out
    }
}
