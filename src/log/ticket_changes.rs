//! Which tickets may have been written since a moment, kept in memory by
//! the log's only writer.
//!
//! A conditional bundle read (`If-None-Match`) may be answered 304 only if
//! the ticket has not gained an event since its tag was made. Where several
//! servers write one database (PostgreSQL), that takes a read of the
//! ticket's count (`prove::tips`). A SQLite log has one writer, the process
//! that holds its serving lock (`serving_lock`), and every write of an
//! event passes through this process's store: it can note them itself, and
//! a 304 then needs no read at all.
//!
//! The notes are marks, one counter per shard of tickets: writing any
//! event of a ticket moves its shard's mark on, after the write is
//! committed and before it is acknowledged. A reader takes the mark before
//! it reads the ticket; if the mark is the same later, the ticket has not
//! been written since. Shards keep the memory fixed (`SHARDS` words); a
//! write to another ticket of the same shard only costs a 304 its shortcut,
//! never its correctness.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::fields::TicketHandle;

/// Counters kept: 128 KiB. With 100,000 tickets written in a second, a
/// shard is written about six times a second; a 304 whose shard moved
/// falls back to reading the ticket's count.
const SHARDS: usize = 16_384;

pub struct TicketChanges {
    marks: Box<[AtomicU64]>,
    /// Keyed per process, so that which tickets share a shard cannot be
    /// chosen from outside.
    hasher: std::collections::hash_map::RandomState,
}

impl Default for TicketChanges {
    fn default() -> Self {
        TicketChanges {
            marks: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            hasher: Default::default(),
        }
    }
}

impl TicketChanges {
    /// The ticket's mark: the same later only if none of its events was
    /// written in between. Take it before reading what it guards.
    pub fn mark(&self, ticket: &TicketHandle) -> u64 {
        self.marks[self.shard(ticket)].load(Ordering::SeqCst)
    }

    /// Notes that events of these tickets were (or may have been) written:
    /// called after the write's transaction ended, however it ended, and
    /// before the write is acknowledged.
    pub(crate) fn written<'a>(&self, tickets: impl IntoIterator<Item = &'a TicketHandle>) {
        for ticket in tickets {
            self.marks[self.shard(ticket)].fetch_add(1, Ordering::SeqCst);
        }
    }

    fn shard(&self, ticket: &TicketHandle) -> usize {
        (self.hasher.hash_one(ticket.as_str()) % SHARDS as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(i: u8) -> TicketHandle {
        TicketHandle::from_random([i; 16])
    }

    #[test]
    fn a_write_moves_the_ticket_mark() {
        let changes = TicketChanges::default();
        let (a, b) = (ticket(1), ticket(2));
        let before = changes.mark(&a);
        assert_eq!(changes.mark(&a), before, "nothing written: the same mark");
        changes.written([&b, &a]);
        assert_ne!(changes.mark(&a), before);
        // Twice in one write (a bulk request): moved, and moved again later.
        let once = changes.mark(&a);
        changes.written([&a, &a]);
        assert_ne!(changes.mark(&a), once);
    }

    #[test]
    fn most_tickets_keep_their_mark_when_another_is_written() {
        let changes = TicketChanges::default();
        let others: Vec<_> = (0..=255).map(ticket).collect();
        let before: Vec<_> = others.iter().map(|t| changes.mark(t)).collect();
        changes.written([&TicketHandle::from_random([7; 16])]);
        let moved = others
            .iter()
            .zip(&before)
            .filter(|(t, m)| changes.mark(t) != **m)
            .count();
        // Only a ticket sharing the written one's shard moves: the written
        // ticket itself (7) and, rarely, another or two.
        assert!((1..=3).contains(&moved), "{moved} of 256 marks moved");
    }
}
