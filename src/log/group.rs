//! Group commit: appends that arrive while a write transaction is running
//! wait, then go to disk together in the next one, so a durable commit (an
//! fsync) is paid per group rather than per request.
//!
//! Whoever takes the turn commits everything queued, its own request
//! included; callers whose request was committed by an earlier turn just
//! collect their result. The commit runs in a spawned task: a caller that
//! goes away (a dropped HTTP connection) must not cancel the other callers'
//! writes, or leave them not knowing whether their events were committed.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;

use super::{AppendRequest, Appended, Idempotency, StoreError};
use crate::protocol::state::Policy;

/// One caller's append, waiting for its group.
pub(crate) struct Job {
    pub requests: Vec<AppendRequest>,
    pub idem: Option<Idempotency>,
    pub policy: Policy,
    pub done: oneshot::Sender<Result<Appended, StoreError>>,
}

#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Vec<Job>>,
    turn: tokio::sync::Mutex<()>,
}

impl GroupCommit {
    /// Queues the append and returns its own result. `commit` must answer
    /// every job it is given.
    pub async fn submit<F, Fut>(
        &self,
        requests: Vec<AppendRequest>,
        idem: Option<Idempotency>,
        policy: &Policy,
        commit: F,
    ) -> Result<Appended, StoreError>
    where
        F: FnOnce(Vec<Job>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (done, mut result) = oneshot::channel();
        self.queue().push(Job {
            requests,
            idem,
            policy: *policy,
            done,
        });
        let turn = self.turn.lock().await;
        if let Ok(r) = result.try_recv() {
            return r;
        }
        let jobs = std::mem::take(&mut *self.queue());
        if !jobs.is_empty() {
            // A panic in the commit drops the senders: callers see an error.
            let _ = tokio::spawn(commit(jobs)).await;
        }
        drop(turn);
        result.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the write was interrupted; whether it was committed is unknown".into(),
            ))
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StoreError {
    /// The same error for each member of a group whose commit failed.
    pub(crate) fn for_group(&self) -> StoreError {
        if let Some(reason) = self.unavailable_reason() {
            return StoreError::Unavailable(format!(
                "{reason}; whether the write was committed is unknown"
            ));
        }
        StoreError::Database(sqlx::Error::Protocol(format!(
            "the group commit failed: {self}"
        )))
    }
}
