//! Coalesced ticket counts, for conditional bundle reads (`If-None-Match`).
//!
//! A held bundle is answered 304 only after its ticket's event count has
//! been read from the database, never from memory alone: another server of
//! the log may have appended to the ticket (`tags`). That read was most of
//! a 304's cost on PostgreSQL, one statement per request. Here, as group
//! commit does for appends (`log::group`), lookups that arrive while a read
//! is running wait, and the next read answers all of them in one statement
//! (one blocking hand-off on SQLite).
//!
//! No answer is older than its request: a lookup is queued before the read
//! that answers it takes the queue, so that read started after the lookup
//! arrived and sees every append acknowledged before then. The read runs
//! in a spawned task: a request that goes away (a dropped connection) while
//! its turn's read runs must not leave the lookups it took unanswered.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;

use crate::log::{DynStore, StoreError};
use crate::protocol::fields::TicketHandle;

/// Lookups one read answers at most; the rest wait for the next turn.
const MAX_PER_READ: usize = 512;

/// A ticket's event count, None if there is no such ticket.
type Count = Result<Option<u64>, StoreError>;

type Lookup = (TicketHandle, oneshot::Sender<Count>);

/// Lookups waiting for a read, and the turn to run one: one read at a
/// time, so that lookups arriving meanwhile gather for the next.
#[derive(Default)]
pub struct TicketCounts {
    queue: Mutex<Vec<Lookup>>,
    turn: tokio::sync::Mutex<()>,
    reads: AtomicU64,
}

impl TicketCounts {
    /// The ticket's event count (`next_seq`), None if there is no such
    /// ticket, from a read that started after this call did.
    pub async fn count(&self, store: &DynStore, handle: &TicketHandle) -> Count {
        let (done, mut answer) = oneshot::channel();
        self.queue().push((handle.clone(), done));
        loop {
            {
                let _turn = self.turn.lock().await;
                // Answered by an earlier turn, whose read took the queue
                // after this lookup was in it.
                if let Some(count) = answered(&mut answer) {
                    return count;
                }
                let lookups = self.take();
                if lookups.is_empty() {
                    // This lookup is in a read whose turn's caller went
                    // away; that read goes on in its own task.
                    break;
                }
                self.reads.fetch_add(1, Ordering::Relaxed);
                // A panic in the read drops the senders: callers see an error.
                let _ = tokio::spawn(read(store.clone(), lookups)).await;
            }
            // Not answered: beyond that read's bound, or in a read still
            // running.
            if let Some(count) = answered(&mut answer) {
                return count;
            }
        }
        answer.await.unwrap_or_else(|_| Err(interrupted()))
    }

    /// The reads run so far: fewer than the lookups when they coalesced.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The oldest queued lookups, at most `MAX_PER_READ`.
    fn take(&self) -> Vec<Lookup> {
        let mut queue = self.queue();
        let n = queue.len().min(MAX_PER_READ);
        queue.drain(..n).collect()
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Lookup>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The lookup's answer, if it has one. A read that ended without answering
/// (it panicked) leaves an error; the receiver must not be awaited then.
fn answered(answer: &mut oneshot::Receiver<Count>) -> Option<Count> {
    match answer.try_recv() {
        Ok(count) => Some(count),
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Closed) => Some(Err(interrupted())),
    }
}

fn interrupted() -> StoreError {
    StoreError::Unavailable("the ticket's read was interrupted".into())
}

/// Reads the lookups' counts in one `ticket_counts` call and answers each.
async fn read(store: DynStore, lookups: Vec<Lookup>) {
    let (handles, waiting): (Vec<_>, Vec<_>) = lookups.into_iter().unzip();
    let counts = store.ticket_counts(&handles).await.and_then(|counts| {
        if counts.len() == handles.len() {
            Ok(counts)
        } else {
            Err(StoreError::corrupt(format!(
                "{} ticket counts for {} tickets",
                counts.len(),
                handles.len()
            )))
        }
    });
    match counts {
        Ok(counts) => {
            for (done, count) in waiting.into_iter().zip(counts) {
                let _ = done.send(Ok(count));
            }
        }
        Err(e) => {
            for done in waiting {
                let _ = done.send(Err(e.for_each_caller("reading ticket counts")));
            }
        }
    }
}
