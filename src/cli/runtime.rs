//! The tokio runtime every subcommand runs on, with its blocking pool
//! bounded (`--blocking-threads`).
//!
//! The server's blocking work is SQLite's append writer, its proof reads,
//! the sealer's tree and map, and receipt signing: CPU work and fsyncs, a
//! few at a time. Tokio's pool may grow to 512 threads, and under load it
//! keeps tens of them alive (51 threads in all after the benchmark's proof
//! phase on 2 cores), each allocating in turn. Every thread keeps its own
//! allocator pages, so memory that one frees stays resident on its thread
//! until that thread runs again: on the benchmark's SQLite sequence the
//! server peaked at 601 MiB with the default pool and at 317 MiB with four
//! threads, and every rate rose, from fewer context switches
//! (BENCHMARKS.md, "What measuring changed").

use tokio::runtime::{Builder, Runtime};

/// At least this many blocking threads, whatever the core count: the
/// append writer, a proof read, and the sealer's two halves side by side.
const MIN_BLOCKING_THREADS: usize = 4;

/// The pool's default bound: two per core, at least `MIN_BLOCKING_THREADS`.
pub fn default_blocking_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (2 * cores).max(MIN_BLOCKING_THREADS)
}

/// A multi-threaded runtime whose blocking pool holds at most
/// `blocking_threads` threads (the default when None).
pub fn build(blocking_threads: Option<usize>) -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads.unwrap_or_else(default_blocking_threads))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_bounded_by_what_was_asked() {
        let rt = build(Some(2)).unwrap();
        let peak = rt.block_on(async {
            let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (running, peak) = (running.clone(), peak.clone());
                    tokio::task::spawn_blocking(move || {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, SeqCst);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            peak.load(std::sync::atomic::Ordering::SeqCst)
        });
        // Sixteen 20 ms tasks at once: unbounded, they would all overlap.
        assert_eq!(peak, 2);
    }

    #[test]
    fn the_default_is_two_per_core_and_at_least_four() {
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(default_blocking_threads(), (2 * cores).max(4));
    }
}
