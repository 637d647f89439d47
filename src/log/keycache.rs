//! A short-lived cache of API key lookups, so authenticating a request costs
//! a hash and a map read rather than a database round trip.
//!
//! Revocation and rotation through this process take effect at once (they
//! evict the key); through another process (the CLI, another server) within
//! `KEY_CACHE_TTL`. Unknown keys are cached too, so a flood of wrong keys
//! does not reach the database; creating a key here evicts its hash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ApiKey;
use crate::protocol::Hash32;

/// How long a lookup is trusted: the longest a revoked key keeps working
/// on a server other than the one that revoked it.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Above this many entries (unless configured, `CacheLimits`), expired
/// ones are dropped (and, if that is not enough, all of them): memory stays
/// bounded under a flood of wrong keys.
pub(crate) const MAX_ENTRIES: usize = 50_000;

pub struct KeyCache {
    entries: Mutex<HashMap<Hash32, (Instant, Option<ApiKey>)>>,
    max_entries: usize,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(MAX_ENTRIES)
    }
}

impl KeyCache {
    /// A cache of at most `max_entries` lookups (at least one).
    pub fn new(max_entries: usize) -> Self {
        KeyCache {
            entries: Default::default(),
            max_entries: max_entries.max(1),
        }
    }

    /// The cached lookup for this hash, if still fresh.
    pub fn get(&self, hash: &Hash32) -> Option<Option<ApiKey>> {
        let entries = self.entries.lock().ok()?;
        let (at, key) = entries.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| key.clone())
    }

    pub fn put(&self, hash: Hash32, key: Option<ApiKey>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.max_entries {
                entries.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
                if entries.len() >= self.max_entries {
                    entries.clear();
                }
            }
            entries.insert(hash, (Instant::now(), key));
        }
    }

    pub fn forget_hash(&self, hash: &Hash32) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(hash);
        }
    }

    /// Evicts the key with this id (revoked or rotated here).
    pub fn forget_id(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, k)| k.as_ref().is_none_or(|k| k.id != id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(cache: &KeyCache) -> usize {
        cache.entries.lock().unwrap().len()
    }

    #[test]
    fn at_most_the_configured_entries_are_kept() {
        let key = |i: u8| ApiKey {
            id: format!("k{i}"),
            scopes: vec!["ingest".into()],
            label: String::new(),
        };
        let small = KeyCache::new(3);
        let default = KeyCache::default();
        for i in 0..10u8 {
            small.put(Hash32([i; 32]), Some(key(i)));
            default.put(Hash32([i; 32]), None);
            assert!(
                len(&small) <= 3,
                "{} entries after {} puts",
                len(&small),
                i + 1
            );
        }
        // The last lookup is always kept; the default bound keeps them all.
        assert_eq!(small.get(&Hash32([9; 32])), Some(Some(key(9))));
        assert_eq!(len(&default), 10);
    }
}
