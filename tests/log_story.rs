//! The log, told as one story per backend: a platform records a ticket,
//! retries, makes mistakes, and the sealer batches what it wrote. Every
//! scenario runs on SQLite and, when PROOFDESK_TEST_PG is set, PostgreSQL.

mod common;

use common::*;
use proofdesk::ingest::idempotency;
use proofdesk::log::{Outcome, StoreError, WriteResult};
use proofdesk::protocol::Hash32;
use proofdesk::protocol::hashing::batch_head;
use proofdesk::protocol::record::HashedRecord;
use proofdesk::protocol::state::Policy;
use proofdesk::protocol::tree::verify_inclusion;
use proofdesk::seal::{SealPolicy, seal_all};
use serde_json::json;

#[tokio::test]
async fn a_ticket_is_recorded_chained_and_sealed() {
    for db in TestDb::all().await {
        let store = db.store();
        let policy = Policy::default();

        // Creating twice with the same platform id gives the same handle.
        let (t, created_now) = store
            .create_ticket(
                "zd-1001",
                proofdesk::ingest::new_handle(),
                proofdesk::protocol::fields::Timestamp::now(),
            )
            .await
            .unwrap();
        assert!(created_now);
        let (again, created_again) = store
            .create_ticket(
                "zd-1001",
                proofdesk::ingest::new_handle(),
                proofdesk::protocol::fields::Timestamp::now(),
            )
            .await
            .unwrap();
        assert!(!created_again);
        assert_eq!(again.handle, t.handle, "{}", store.backend());
        let ticket = t.handle;

        // A normal lifecycle.
        let events = vec![
            created(),
            input("ticket.acknowledged", json!({})),
            message(),
            input(
                "ticket.assigned",
                json!({"assignee": "agent-7", "group": null}),
            ),
            input(
                "ticket.escalated",
                json!({"level": 1, "reason": "regulatory"}),
            ),
            input("ticket.resolved", json!({"resolution": "upheld"})),
        ];
        for e in events {
            store
                .append(vec![req(&ticket, e)], None, &policy)
                .await
                .unwrap();
        }

        // An invalid transition is refused with the machine's reason, and
        // nothing is written.
        let before = store.stats().await.unwrap().size;
        let err = store
            .append(
                vec![req(
                    &ticket,
                    input("ticket.resolved", json!({"resolution": "upheld"})),
                )],
                None,
                &policy,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Rejected { item: 0, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("needs an unresolved ticket"),
            "{err}"
        );
        assert_eq!(store.stats().await.unwrap().size, before);

        // A bulk request with one bad event writes none of them.
        let bulk = vec![
            req(
                &ticket,
                input("satisfaction.rated", json!({"score": 5, "scale": 5})),
            ),
            req(&ticket, created()),
        ];
        let err = store.append(bulk, None, &policy).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected { item: 1, .. }), "{err}");
        assert_eq!(store.stats().await.unwrap().size, before);

        // Idempotency: same key and body replays, another body conflicts.
        let body = json!({"type": "satisfaction.rated", "score": 5});
        let idem = idempotency(Some("rate-1"), "append", &body);
        let first = store
            .append(
                vec![req(
                    &ticket,
                    input("satisfaction.rated", json!({"score": 5, "scale": 5})),
                )],
                idem.clone(),
                &policy,
            )
            .await
            .unwrap();
        let replay = store
            .append(
                vec![req(
                    &ticket,
                    input("satisfaction.rated", json!({"score": 5, "scale": 5})),
                )],
                idem,
                &policy,
            )
            .await
            .unwrap();
        assert!(matches!(
            first.outcome,
            Outcome::Applied(WriteResult::Events { count: 1, .. })
        ));
        assert_eq!(replay.outcome, Outcome::Replayed(first.result().clone()));
        assert_eq!(replay.events.len(), 1);
        assert_eq!(replay.events[0].record, first.events[0].record);
        let other = idempotency(Some("rate-1"), "append", &json!({"different": true}));
        let err = store
            .append(vec![req(&ticket, message())], other, &policy)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyConflict { .. }));
        assert_eq!(store.stats().await.unwrap().size, 7, "{}", store.backend());

        // The stored records chain and re-hash to their leaves.
        let stored = store.events_by_ticket(&ticket).await.unwrap();
        let mut prev = Hash32::ZERO;
        for (i, e) in stored.iter().enumerate() {
            let parsed =
                HashedRecord::from_value(&serde_json::from_str(&e.record).unwrap()).unwrap();
            assert_eq!(
                parsed.canonical,
                e.record.as_bytes(),
                "stored exactly as hashed"
            );
            assert_eq!(parsed.leaf, e.leaf);
            assert_eq!((parsed.record.seq, parsed.record.prev), (i as u64, prev));
            prev = e.leaf;
        }

        // Sealing in batches of at most 4 gives contiguous batches whose
        // stored paths verify against their roots.
        let sealed = seal_all(
            store,
            &SealPolicy {
                max_batch: 4,
                max_age: std::time::Duration::ZERO,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            sealed
                .iter()
                .map(|s| (s.batch_id, s.first_index, s.count))
                .collect::<Vec<_>>(),
            vec![(0, 0, 4), (1, 4, 3)]
        );
        for e in store.events_by_ticket(&ticket).await.unwrap() {
            let (batch_id, path) = e.sealed.clone().expect("sealed");
            let b = store.batch(batch_id).await.unwrap().unwrap();
            assert_eq!(b.head, batch_head(b.id, b.first_index, b.count, &b.root));
            verify_inclusion(&e.leaf, e.index - b.first_index, b.count, &path, &b.root).unwrap();
        }
        assert!(
            seal_all(store, &SealPolicy::default())
                .await
                .unwrap()
                .is_empty(),
            "nothing left to seal"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn appending_to_an_unknown_ticket_fails_cleanly() {
    for db in TestDb::all().await {
        let ghost = proofdesk::ingest::new_handle();
        let err = db
            .store()
            .append(vec![req(&ghost, created())], None, &Policy::default())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::TicketNotFound(_)));
        assert_eq!(db.store().stats().await.unwrap().size, 0);
        db.cleanup().await;
    }
}
