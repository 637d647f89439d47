//! The cache bounds `serve` and `mirror` take (README, "Memory"); their
//! defaults are `CacheLimits::DEFAULT`, the constants beside each cache.

use clap::builder::RangedU64ValueParser;
use proofdesk::log::CacheLimits;

/// A bound from 1 to `max`. 0 is refused: it would leave no proof reader
/// at all, and it would not switch a cache off (the key and tag caches
/// still keep their latest entry).
fn from_one_to<T: TryFrom<u64>>(max: u64) -> RangedU64ValueParser<T> {
    RangedU64ValueParser::new().range(1..=max)
}

/// The largest count a flag takes: far above any useful bound, and low
/// enough that clap's error names the range readably.
const MAX_COUNT: u64 = u32::MAX as u64;

/// The largest MiB flag: 1 TiB (SQLite takes its cache size as a 32-bit
/// count of KiB, so 2 TiB at most).
const MAX_MIB: u64 = 1 << 20;

const DEFAULT: CacheLimits = CacheLimits::DEFAULT;

#[derive(clap::Args, Clone, Debug)]
pub struct CacheArgs {
    /// SQLite only (ignored on PostgreSQL): page cache of the connection
    /// appends are written on, MiB.
    #[arg(
        long,
        env = "PROOFDESK_SQLITE_CACHE_MIB",
        value_name = "MIB",
        default_value_t = DEFAULT.sqlite_write_cache_mib,
        value_parser = from_one_to::<u32>(MAX_MIB)
    )]
    sqlite_cache_mib: u32,
    /// SQLite only (ignored on PostgreSQL): connections proof bundles are
    /// read on, at most this many at once; each has SQLite's default page
    /// cache (up to about 2 MiB).
    #[arg(
        long,
        env = "PROOFDESK_SQLITE_READERS",
        value_name = "N",
        default_value_t = DEFAULT.sqlite_readers,
        // Each read runs on one of the blocking threads
        // (`--blocking-threads`); reads past their number wait for one.
        value_parser = from_one_to::<usize>(512)
    )]
    sqlite_readers: usize,
    /// PostgreSQL only (ignored on SQLite): connections proof bundles are
    /// read on, at most this many at once (a pool of its own, beside the
    /// 16 connections of everything else).
    #[arg(
        long,
        env = "PROOFDESK_PG_READERS",
        value_name = "N",
        default_value_t = DEFAULT.pg_readers,
        value_parser = from_one_to::<usize>(1024)
    )]
    pg_readers: usize,
    /// PostgreSQL only (ignored on SQLite): sealed batches' tiles kept in
    /// memory for proof bundles, MiB.
    #[arg(
        long,
        env = "PROOFDESK_PROOF_CACHE_MIB",
        value_name = "MIB",
        default_value_t = DEFAULT.proof_tile_bytes >> 20,
        value_parser = from_one_to::<usize>(MAX_MIB)
    )]
    proof_cache_mib: usize,
    /// PostgreSQL only (ignored on SQLite): final batches kept in memory for
    /// proof bundles.
    #[arg(
        long,
        env = "PROOFDESK_PROOF_CACHE_BATCHES",
        value_name = "N",
        default_value_t = DEFAULT.proof_batches,
        value_parser = from_one_to::<usize>(MAX_COUNT)
    )]
    proof_cache_batches: usize,
    /// Settled tickets whose bundle ETag is remembered, so that a matching
    /// If-None-Match is answered 304 without reading the bundle.
    #[arg(
        long,
        env = "PROOFDESK_BUNDLE_TAGS",
        value_name = "N",
        default_value_t = DEFAULT.bundle_tags,
        value_parser = from_one_to::<usize>(MAX_COUNT)
    )]
    bundle_tags: usize,
    /// API key lookups kept (each for 5 s; unknown keys too).
    #[arg(
        long,
        env = "PROOFDESK_KEY_CACHE",
        value_name = "N",
        default_value_t = DEFAULT.key_entries,
        value_parser = from_one_to::<usize>(MAX_COUNT)
    )]
    key_cache: usize,
}

impl CacheArgs {
    pub fn limits(&self) -> CacheLimits {
        CacheLimits {
            sqlite_write_cache_mib: self.sqlite_cache_mib,
            sqlite_readers: self.sqlite_readers,
            pg_readers: self.pg_readers,
            // At most 1 TiB (`MAX_MIB`): no overflow.
            proof_tile_bytes: self.proof_cache_mib << 20,
            proof_batches: self.proof_cache_batches,
            bundle_tags: self.bundle_tags,
            key_entries: self.key_cache,
        }
    }
}
