//! How large the server's in-memory caches may grow. `serve` and `mirror`
//! take them from their flags (README, "Memory"); everything else opens
//! the store with the defaults, which are the constants beside each cache.

/// Most settled tickets whose bundle tag a process remembers (about 175
/// bytes each). Here rather than beside the tags (`prove::tags`), which
/// sit downstream of the store.
const BUNDLE_TAGS: usize = 100_000;

/// The bounds of every cache a server keeps. Each backend uses the ones
/// it has: the SQLite store its write connection's page cache and its
/// proof readers, the PostgreSQL store its proof cache and bundle readers,
/// both the key cache. `bundle_tags` bounds the API's entity tags
/// (`prove::tags`), built beside the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// SQLite's page cache on the append connection, MiB.
    pub sqlite_write_cache_mib: u32,
    /// Pooled connections SQLite proof reads run on, each with SQLite's
    /// default page cache.
    pub sqlite_readers: usize,
    /// Connections PostgreSQL proof bundles are read on.
    pub pg_readers: usize,
    /// Bytes of tiles the PostgreSQL proof cache keeps.
    pub proof_tile_bytes: usize,
    /// Final batches the PostgreSQL proof cache keeps.
    pub proof_batches: usize,
    /// Settled bundles whose entity tag is remembered.
    pub bundle_tags: usize,
    /// API key lookups kept.
    pub key_entries: usize,
}

impl CacheLimits {
    /// Today's bounds, from the constants of each cache.
    pub const DEFAULT: CacheLimits = CacheLimits {
        sqlite_write_cache_mib: super::sqlite_writer::WRITE_CACHE_MIB,
        sqlite_readers: super::sqlite_reader::CONNECTIONS,
        pg_readers: super::postgres::BUNDLE_READERS,
        proof_tile_bytes: super::proof_cache::TILE_BUDGET_BYTES,
        proof_batches: super::proof_cache::BATCH_BUDGET,
        bundle_tags: BUNDLE_TAGS,
        key_entries: super::keycache::MAX_ENTRIES,
    };
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits::DEFAULT
    }
}
