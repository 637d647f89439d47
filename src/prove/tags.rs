//! Validators for conditional bundle reads (`If-None-Match`, HTTP 304).
//!
//! A bundle's entity tag is the SHA-256 of its served bytes, so it is the
//! same on every server of a log. Once every event of a ticket is in a
//! final batch, the bundle can only change when the ticket gains an event
//! (final is terminal, a sealed tree never changes) or the batch its map
//! proof is at moves on (bundle v2 proves against the latest final batch):
//! such a settled bundle's tag is remembered with the ticket's event count
//! and that batch, and a request that presents it is answered 304 after one
//! lookup of the ticket, without reading the bundle again. Several servers
//! need no invalidation: each checks the ticket's count in the shared
//! database.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::protocol::fields::TicketHandle;
use crate::protocol::hashing::sha256;

/// A settled bundle's tag, the ticket's event count it was made at, and the
/// batch its map proof is at (bundle v2).
pub type Settled = (String, u64, Option<u64>);

pub struct BundleTags {
    settled: Mutex<HashMap<TicketHandle, Settled>>,
    kept: usize,
}

impl Default for BundleTags {
    fn default() -> Self {
        BundleTags::new(crate::log::CacheLimits::DEFAULT.bundle_tags)
    }
}

/// The strong entity tag of served bytes: `"<sha256 hex>"`.
pub fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(sha256(bytes).0))
}

/// Whether an `If-None-Match` value names `tag` (a list, or `*`).
pub fn matches(if_none_match: &str, tag: &str) -> bool {
    if_none_match.trim() == "*"
        || if_none_match
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag)
}

impl BundleTags {
    /// Remembers at most `kept` tickets (at least one).
    pub fn new(kept: usize) -> Self {
        BundleTags {
            settled: Default::default(),
            kept: kept.max(1),
        }
    }

    /// The tag of a settled bundle, the event count it was made at, and
    /// the batch its map proof is at.
    pub fn settled(&self, ticket: &TicketHandle) -> Option<Settled> {
        self.settled.lock().ok()?.get(ticket).cloned()
    }

    pub fn remember(&self, ticket: &TicketHandle, tag: String, events: u64, map_at: Option<u64>) {
        if let Ok(mut m) = self.settled.lock() {
            if m.len() >= self.kept && !m.contains_key(ticket) {
                m.clear();
            }
            m.insert(ticket.clone(), (tag, events, map_at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_wildcards() {
        let t = etag_of(b"{}");
        assert!(t.starts_with('"') && t.len() == 66);
        assert!(matches(&t, &t));
        assert!(matches(&format!("\"x\", {t}"), &t));
        assert!(matches(&format!("W/{t}"), &t));
        assert!(matches("*", &t));
        assert!(!matches("\"other\"", &t));
    }

    #[test]
    fn at_most_the_configured_tickets_are_remembered() {
        let ticket = |i: u8| TicketHandle::from_random([i; 16]);
        let len = |tags: &BundleTags| tags.settled.lock().unwrap().len();
        let (small, default) = (BundleTags::new(2), BundleTags::default());
        for i in 0..5u8 {
            small.remember(&ticket(i), etag_of(&[i]), 1, None);
            default.remember(&ticket(i), etag_of(&[i]), 1, None);
            assert!(len(&small) <= 2, "{} tickets after {}", len(&small), i + 1);
        }
        assert_eq!(len(&default), 5);
        // The latest is kept; a ticket already held is updated in place.
        assert_eq!(small.settled(&ticket(4)).unwrap().0, etag_of(&[4]));
        let before = len(&small);
        small.remember(&ticket(4), etag_of(b"new"), 2, None);
        assert_eq!(len(&small), before);
        assert_eq!(small.settled(&ticket(4)).unwrap().1, 2);
    }
}
