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
//! database. Where this process is the log's only writer (SQLite), the tag
//! is also remembered with the ticket's mark (`log::ticket_changes`), and
//! an unchanged mark answers without the lookup.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::protocol::fields::TicketHandle;
use crate::protocol::hashing::sha256;

/// A settled bundle as it was served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Its entity tag (`etag_of`).
    pub tag: String,
    /// The ticket's event count it was made at.
    pub events: u64,
    /// The batch its map proof is at (bundle v2).
    pub map_at: Option<u64>,
    /// The ticket's mark, taken before the bundle was read, where this
    /// process keeps marks (`log::ticket_changes`).
    pub mark: Option<u64>,
}

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

    /// The ticket's settled bundle, as it was served.
    pub fn settled(&self, ticket: &TicketHandle) -> Option<Settled> {
        self.settled.lock().ok()?.get(ticket).cloned()
    }

    pub fn remember(&self, ticket: &TicketHandle, settled: Settled) {
        if let Ok(mut m) = self.settled.lock() {
            if m.len() >= self.kept && !m.contains_key(ticket) {
                m.clear();
            }
            m.insert(ticket.clone(), settled);
        }
    }

    /// Gives the ticket's bundle tagged `tag` a newer mark, taken before a
    /// read that found the ticket as the bundle was made. Nothing changes
    /// if the ticket's bundle is another one by now.
    pub fn refresh_mark(&self, ticket: &TicketHandle, tag: &str, mark: u64) {
        if let Ok(mut m) = self.settled.lock()
            && let Some(held) = m.get_mut(ticket)
            && held.tag == tag
        {
            held.mark = Some(mark);
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

    fn settled(tag: &[u8], events: u64) -> Settled {
        Settled {
            tag: etag_of(tag),
            events,
            map_at: None,
            mark: None,
        }
    }

    #[test]
    fn at_most_the_configured_tickets_are_remembered() {
        let ticket = |i: u8| TicketHandle::from_random([i; 16]);
        let len = |tags: &BundleTags| tags.settled.lock().unwrap().len();
        let (small, default) = (BundleTags::new(2), BundleTags::default());
        for i in 0..5u8 {
            small.remember(&ticket(i), settled(&[i], 1));
            default.remember(&ticket(i), settled(&[i], 1));
            assert!(len(&small) <= 2, "{} tickets after {}", len(&small), i + 1);
        }
        assert_eq!(len(&default), 5);
        // The latest is kept; a ticket already held is updated in place.
        assert_eq!(small.settled(&ticket(4)).unwrap().tag, etag_of(&[4]));
        let before = len(&small);
        small.remember(&ticket(4), settled(b"new", 2));
        assert_eq!(len(&small), before);
        assert_eq!(small.settled(&ticket(4)).unwrap().events, 2);
    }

    #[test]
    fn a_mark_is_refreshed_only_for_the_bundle_it_was_checked_for() {
        let (tags, ticket) = (BundleTags::default(), TicketHandle::from_random([1; 16]));
        tags.remember(&ticket, settled(b"old", 1));
        tags.refresh_mark(&ticket, &etag_of(b"old"), 7);
        assert_eq!(tags.settled(&ticket).unwrap().mark, Some(7));
        // The ticket's bundle changed meanwhile: the other tag's check
        // says nothing of it.
        tags.remember(&ticket, settled(b"new", 2));
        tags.refresh_mark(&ticket, &etag_of(b"old"), 8);
        assert_eq!(tags.settled(&ticket).unwrap().mark, None);
        // An unknown ticket gains nothing.
        let other = TicketHandle::from_random([2; 16]);
        tags.refresh_mark(&other, &etag_of(b"old"), 9);
        assert_eq!(tags.settled(&other), None);
    }
}
