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

use super::plan::GroupMember;
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
        match result.try_recv() {
            Ok(r) => return r,
            // An earlier turn's commit ended without answering (it
            // panicked): the receiver is spent and must not be awaited.
            Err(oneshot::error::TryRecvError::Closed) => return Err(interrupted()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let jobs = std::mem::take(&mut *self.queue());
        if !jobs.is_empty() {
            // A panic in the commit drops the senders: callers see an error.
            let _ = tokio::spawn(commit(jobs)).await;
        }
        drop(turn);
        result.await.unwrap_or_else(|_| Err(interrupted()))
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn interrupted() -> StoreError {
    StoreError::Unavailable("the write was interrupted; whether it was committed is unknown".into())
}

/// How a group's transaction ended: an answer per job, or why it failed as
/// a whole, `true` when the failure was the COMMIT itself (outcome unknown).
pub(crate) type GroupOutcome = Result<Vec<Result<Appended, StoreError>>, (StoreError, bool)>;

/// The members of a group as the planner sees them, and the policy they
/// share; None for no jobs.
pub(crate) fn members(jobs: &[Job]) -> Option<(Policy, Vec<GroupMember<'_>>)> {
    let policy = jobs.first()?.policy;
    let members = jobs
        .iter()
        .map(|j| GroupMember {
            requests: &j.requests,
            idem: j.idem.as_ref(),
        })
        .collect();
    Some((policy, members))
}

/// Answers every job of a group from how its transaction ended, and returns
/// the jobs to retry one by one in their own transactions: all of them if
/// the group rolled back before its COMMIT, none otherwise.
pub(crate) fn settle(jobs: Vec<Job>, outcome: GroupOutcome) -> Vec<Job> {
    match outcome {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.done.send(answer);
            }
            Vec::new()
        }
        // The commit itself failed: whether it landed is unknown (a lost
        // connection, a full disk), so nothing may be retried blindly.
        Err((e, true)) => {
            tracing::error!(error = %e, appends = jobs.len(), "group commit failed");
            for job in jobs {
                let _ = job.done.send(Err(e.for_group()));
            }
            Vec::new()
        }
        Err((e, false)) => {
            tracing::warn!(error = %e, appends = jobs.len(), "group failed; retrying its appends one by one");
            jobs
        }
    }
}

impl StoreError {
    /// The same error for each member of a group whose commit failed.
    pub(crate) fn for_group(&self) -> StoreError {
        match self.for_each_caller("the group commit") {
            StoreError::Unavailable(reason) => StoreError::Unavailable(format!(
                "{reason}; whether the write was committed is unknown"
            )),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A commit that panics answers nobody; every caller it took must get
    /// an error, including one whose turn comes after the panic (its
    /// receiver is already closed and must not be awaited: that panicked).
    #[tokio::test]
    async fn callers_of_a_commit_that_panicked_get_an_error() {
        let group = Arc::new(GroupCommit::default());
        let turn = group.turn.lock().await;
        let submit = |group: Arc<GroupCommit>| {
            tokio::spawn(async move {
                group
                    .submit(Vec::new(), None, &Policy::default(), |_jobs| async {
                        panic!("the commit failed")
                    })
                    .await
            })
        };
        let first = submit(group.clone());
        let second = submit(group.clone());
        // Both queued before either takes the turn: one commit takes both.
        while group.queue().len() < 2 {
            tokio::task::yield_now().await;
        }
        drop(turn);
        for caller in [first, second] {
            let answer = caller.await.expect("the caller itself must not panic");
            assert!(matches!(answer, Err(StoreError::Unavailable(_))));
        }
    }
}
