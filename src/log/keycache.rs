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

/// Above this many entries, expired ones are dropped (and, if that is not
/// enough, all of them): memory stays bounded under a flood of wrong keys.
const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<Hash32, (Instant, Option<ApiKey>)>>,
}

impl KeyCache {
    /// The cached lookup for this hash, if still fresh.
    pub fn get(&self, hash: &Hash32) -> Option<Option<ApiKey>> {
        let entries = self.entries.lock().ok()?;
        let (at, key) = entries.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| key.clone())
    }

    pub fn put(&self, hash: Hash32, key: Option<ApiKey>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
                if entries.len() >= MAX_ENTRIES {
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
