//! Invariants under pressure: many writers at once, and sealing cut off at
//! arbitrary points. Runs on SQLite and, when PROOFDESK_TEST_PG is set,
//! PostgreSQL.

mod common;

use std::time::Duration;

use common::*;
use proofdesk::log::StoreError;
use proofdesk::protocol::state::Policy;
use proofdesk::seal::{SealError, SealPolicy, seal_all, seal_once};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_keep_every_invariant() {
    for db in TestDb::all().await {
        let shared: Shared = db.store.clone();
        let common_tickets: Vec<_> = futures::future::join_all((0..3).map(|i| {
            let s = shared.clone();
            async move {
                let t = new_ticket(s.as_ref(), &format!("shared-{i}")).await;
                s.append(vec![req(&t, created())], None, &Policy::default())
                    .await
                    .unwrap();
                t
            }
        }))
        .await;
        let writers = (0..16).map(|w| {
            let s = shared.clone();
            let commons = common_tickets.clone();
            tokio::spawn(async move {
                let own = new_ticket(s.as_ref(), &format!("own-{w}")).await;
                s.append(vec![req(&own, created())], None, &Policy::default())
                    .await
                    .unwrap();
                for k in 0..20 {
                    let target = if k % 2 == 0 {
                        &own
                    } else {
                        &commons[k % commons.len()]
                    };
                    let batch = if k % 5 == 0 {
                        vec![req(target, message()), req(target, message())]
                    } else {
                        vec![req(target, message())]
                    };
                    s.append(batch, None, &Policy::default()).await.unwrap();
                }
            })
        });
        // Seal concurrently with the writers, as the server does.
        let sealer = {
            let s = shared.clone();
            tokio::spawn(async move {
                for _ in 0..30 {
                    let _ = seal_once(
                        s.as_ref(),
                        &SealPolicy {
                            max_batch: 7,
                            max_age: Duration::ZERO,
                        },
                        true,
                    )
                    .await;
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            })
        };
        for w in writers {
            w.await.unwrap();
        }
        sealer.await.unwrap();
        seal_all(
            shared.as_ref(),
            &SealPolicy {
                max_batch: 7,
                max_age: Duration::ZERO,
            },
        )
        .await
        .unwrap();
        // 3 shared creations + 16 × (1 creation + 20 appends + 4 doubled).
        assert_eq!(
            shared.stats().await.unwrap().size,
            3 + 16 * 25,
            "{}",
            shared.backend()
        );
        assert_log_invariants(shared.as_ref()).await;
        drop(shared);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealing_cut_off_anywhere_resumes_cleanly() {
    for db in TestDb::all().await {
        let store = db.store();
        let t = new_ticket(store, "cutoff").await;
        store
            .append(vec![req(&t, created())], None, &Policy::default())
            .await
            .unwrap();
        let many: Vec<_> = (0..300).map(|_| req(&t, message())).collect();
        store.append(many, None, &Policy::default()).await.unwrap();
        let policy = SealPolicy {
            max_batch: 64,
            max_age: Duration::ZERO,
        };

        // Cancel the sealing future after ever longer delays: every await
        // point gets cut at some step. After each cut, the log must be
        // whole: either the batch is fully there or not at all.
        let mut cuts = 0;
        let mut delay = Duration::from_micros(1);
        loop {
            match tokio::time::timeout(delay, seal_once(store, &policy, true)).await {
                Err(_) => cuts += 1,
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => break,
                // A cut-off commit may land after the next attempt read the
                // log; that attempt is refused, as in the sealing loop.
                Ok(Err(SealError::Store(StoreError::Contended { .. }))) => {}
                Ok(Err(e)) => panic!("sealing failed: {e}"),
            }
            // Let a dropped transaction's rollback reach the database.
            tokio::time::sleep(Duration::from_millis(2)).await;
            assert_log_invariants(store).await;
            delay = delay.mul_f64(1.6);
        }
        assert!(cuts > 0, "some sealing attempts were cut off");
        let stats = store.stats().await.unwrap();
        assert_eq!((stats.sealed, stats.size), (301, 301));
        assert_eq!(stats.batches, 5);
        assert_log_invariants(store).await;
        db.cleanup().await;
    }
}

/// Appends that arrive together are committed together (group commit), but
/// each keeps its own outcome: a rejected one, an unknown ticket or a reused
/// idempotency key fails alone, and a repeated key is applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_append_does_not_sink_its_group() {
    use proofdesk::log::{Idempotency, Outcome};
    use proofdesk::protocol::Hash32;
    for db in TestDb::all().await {
        let shared: Shared = db.store.clone();
        let t = new_ticket(shared.as_ref(), "group").await;
        shared
            .append(vec![req(&t, created())], None, &Policy::default())
            .await
            .unwrap();
        let before = shared.stats().await.unwrap().size;
        let key = |hash: u8| Idempotency {
            key: "same-key".into(),
            request_hash: Hash32([hash; 32]),
        };
        let unknown = proofdesk::ingest::new_handle();
        let tasks: Vec<_> = (0..48)
            .map(|i| {
                let (s, t, unknown) = (shared.clone(), t.clone(), unknown.clone());
                let idem = match i % 8 {
                    5 | 6 => Some(key(1)),
                    7 => Some(key(2)),
                    _ => None,
                };
                tokio::spawn(async move {
                    let request = match i % 8 {
                        // A second ticket.created breaks the state machine.
                        3 => req(&t, created()),
                        4 => req(&unknown, message()),
                        _ => req(&t, message()),
                    };
                    (
                        i % 8,
                        s.append(vec![request], idem, &Policy::default()).await,
                    )
                })
            })
            .collect();
        let mut applied = 0u64;
        // Kinds 5 and 6 use the key with one body, kind 7 with another:
        // whichever body reaches the key first owns it, and the other body
        // is a conflict every time.
        let mut same_key = Vec::new();
        let mut conflicts = Vec::new();
        for task in tasks {
            let (kind, result) = task.await.unwrap();
            match (kind, result) {
                (0..=2, Ok(a)) if matches!(a.outcome, Outcome::Applied(_)) => {
                    // append answers with the event as stored.
                    assert_eq!(a.events.len(), 1);
                    let stored = shared.events_by_range(a.events[0].index, 1).await.unwrap();
                    assert_eq!(stored[0].record, a.events[0].record);
                    assert_eq!(stored[0].leaf, a.events[0].leaf);
                    assert_eq!(stored[0].recorded_at_ms, a.events[0].recorded_at_ms);
                    applied += 1
                }
                (3, Err(StoreError::Rejected { .. })) => {}
                (4, Err(StoreError::TicketNotFound(_))) => {}
                (5..=7, Ok(a)) => {
                    // A replay answers with the first append's event.
                    assert_eq!(a.events.len(), 1);
                    same_key.push((kind == 7, a.outcome, a.events[0].index))
                }
                (5..=7, Err(StoreError::IdempotencyConflict { .. })) => conflicts.push(kind == 7),
                (kind, other) => {
                    panic!("{}: append kind {kind} gave {other:?}", db.store.backend())
                }
            }
        }
        let first = same_key
            .iter()
            .filter(|(_, o, _)| matches!(o, Outcome::Applied(_)))
            .count();
        assert_eq!(
            first,
            1,
            "{}: one key, applied exactly once",
            db.store.backend()
        );
        let owner = same_key[0].0;
        assert!(
            same_key.iter().all(|(body, o, index)| *body == owner
                && o.result() == same_key[0].1.result()
                && *index == same_key[0].2),
            "{}: every use of the key with the owning body sees the same result and event",
            db.store.backend()
        );
        assert!(
            conflicts.iter().all(|body| *body != owner),
            "{}: only the other body conflicts",
            db.store.backend()
        );
        assert_eq!(
            same_key.len() + conflicts.len(),
            18,
            "every keyed append answered"
        );
        let size = shared.stats().await.unwrap().size;
        assert_eq!(
            size,
            before + applied + 1,
            "{}: log size",
            db.store.backend()
        );
        assert_log_invariants(shared.as_ref()).await;
        db.cleanup().await;
    }
}
