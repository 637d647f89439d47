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
            // Head v2 (PROTOCOL.md §15.3): the head commits the log root and
            // the ticket map's root, folded into the one anchored root.
            let map_root = b.map_root.expect("a head v2 batch");
            assert_eq!(
                b.head,
                batch_head(b.id, b.first_index, b.count, &b.anchored_root())
            );
            assert_eq!(
                b.anchored_root(),
                proofdesk::protocol::map::anchored_root_v2(&b.root, &map_root)
            );
            verify_inclusion(&e.leaf, e.index - b.first_index, b.count, &path, &b.root).unwrap();
        }
        assert!(
            seal_all(store, &SealPolicy::default())
                .await
                .unwrap()
                .is_empty(),
            "nothing left to seal"
        );
        // The last batch's map has the ticket's seq 6 as its tip.
        let map = proofdesk::seal::MapState::new();
        map.catch_up(store).await.unwrap();
        let tip = map
            .after(1)
            .unwrap()
            .get_key(&proofdesk::protocol::map::map_key(&ticket))
            .unwrap();
        assert_eq!((tip.seq, tip.index, tip.batch), (6, 6, 1));
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

#[tokio::test]
async fn ticket_counts_answer_each_handle_asked_in_order() {
    for db in TestDb::all().await {
        let store = db.store();
        let a = new_ticket(store, "count-a").await;
        let b = new_ticket(store, "count-b").await;
        store
            .append(
                vec![req(&a, created()), req(&a, message())],
                None,
                &Policy::default(),
            )
            .await
            .unwrap();
        let ghost = proofdesk::ingest::new_handle();
        // A ticket without events counts 0, one that does not exist None;
        // a handle asked twice is answered twice.
        let counts = store
            .ticket_counts(&[a.clone(), ghost.clone(), b, a, ghost])
            .await
            .unwrap();
        assert_eq!(
            counts,
            [Some(2), None, Some(0), Some(2), None],
            "{}",
            store.backend()
        );
        assert!(store.ticket_counts(&[]).await.unwrap().is_empty());
        db.cleanup().await;
    }
}

/// Runs one statement with blob binds on the test database, whichever
/// backend it is: the upgrade test below writes what an older version left.
async fn raw(url: &str, sql: &str, binds: Vec<Vec<u8>>) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for b in binds {
            q = q.bind(b);
        }
        q.execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for b in binds {
            q = q.bind(b);
        }
        q.execute(&pool).await.unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn batches_sealed_before_tiles_get_their_tiles_when_the_store_opens() {
    for db in TestDb::all().await {
        let store = db.store();
        let policy = Policy::default();
        let a = new_ticket(store, "up-1").await;
        let b = new_ticket(store, "up-2").await;
        store
            .append(vec![req(&a, created()), req(&b, created())], None, &policy)
            .await
            .unwrap();
        for _ in 0..29 {
            store
                .append(vec![req(&a, message()), req(&b, message())], None, &policy)
                .await
                .unwrap();
        }
        let sealed = seal_all(
            store,
            &SealPolicy {
                max_batch: 25,
                ..SealPolicy::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(sealed.len(), 3, "{}", store.backend());
        let before = store.events_by_range(0, 60).await.unwrap();

        // What a version before batch_tiles left: batches 0 and 1 with one
        // event_paths row per event and no tiles. Batch 1's root is also
        // altered, as if its leaves had been tampered with.
        raw(
            &db.url,
            "DELETE FROM batch_tiles WHERE batch_id IN (0, 1)",
            vec![],
        )
        .await;
        for e in before.iter().filter(|e| e.index < 50) {
            let (batch, path) = e.sealed.clone().unwrap();
            let bytes: Vec<u8> = path.iter().flat_map(|h| h.0).collect();
            raw(
                &db.url,
                &format!(
                    "INSERT INTO event_paths (idx, batch_id, path) VALUES ({}, {batch}, $1)",
                    e.index
                ),
                vec![bytes],
            )
            .await;
        }
        raw(
            &db.url,
            "UPDATE batches SET root = $1 WHERE id = 1",
            vec![vec![7u8; 32]],
        )
        .await;

        // Reopening derives batch 0's tiles from its leaves and drops its
        // old rows; batch 1 keeps no tiles, so its proofs fail loudly
        // rather than tiles being made to fit a root they do not give.
        let reopened = proofdesk::log::connect(&db.url).await.unwrap();
        let batch0 = reopened.events_by_range(0, 25).await.unwrap();
        assert_eq!(
            batch0.iter().map(|e| e.sealed.clone()).collect::<Vec<_>>(),
            before[..25]
                .iter()
                .map(|e| e.sealed.clone())
                .collect::<Vec<_>>(),
            "{}",
            store.backend()
        );
        let err = reopened.events_by_range(25, 25).await.unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        let batch2 = reopened.events_by_range(50, 10).await.unwrap();
        assert_eq!(
            batch2.iter().map(|e| e.sealed.clone()).collect::<Vec<_>>(),
            before[50..]
                .iter()
                .map(|e| e.sealed.clone())
                .collect::<Vec<_>>()
        );
        drop(reopened);
        db.cleanup().await;
    }
}

/// A bundle read twice, once from the database and once with its final
/// batch and tiles from memory (PostgreSQL's `proof_cache`), is the same,
/// and a batch that is not final yet is read afresh each time: its status
/// moves on in the next read. Also what a second, cold store reads.
#[tokio::test]
async fn bundles_from_memory_match_the_database_and_unfinal_batches_move_on() {
    use proofdesk::log::{BatchStatus, BatchStep, Inclusion, Submission};
    for db in TestDb::all().await {
        let store = db.store();
        let policy = Policy::default();
        let (t, _) = store
            .create_ticket(
                "zd-cache",
                proofdesk::ingest::new_handle(),
                proofdesk::protocol::fields::Timestamp::now(),
            )
            .await
            .unwrap();
        let ticket = t.handle;
        let events = [created(), message(), message(), message(), message()];
        for e in events {
            store
                .append(vec![req(&ticket, e)], None, &policy)
                .await
                .unwrap();
        }
        let sealed = seal_all(
            store,
            &SealPolicy {
                max_batch: 3,
                max_age: std::time::Duration::ZERO,
            },
        )
        .await
        .unwrap();
        assert_eq!(sealed.len(), 2, "{}", store.backend());
        let submission = Submission {
            tx_hash: Hash32([9; 32]),
            nonce: 0,
            max_fee_per_gas: 2,
            max_priority_fee_per_gas: 1,
            at_ms: 1,
        };
        let inclusion = Inclusion {
            block_number: 5,
            block_hash: Hash32([8; 32]),
            block_time: 6,
            at_ms: 2,
        };
        // Batch 0 goes all the way to final; batch 1 only to submitted.
        for (from, step) in [
            (
                BatchStatus::Sealed,
                BatchStep::Submitted(submission.clone()),
            ),
            (
                BatchStatus::Submitted,
                BatchStep::Included(inclusion.clone()),
            ),
            (BatchStatus::Included, BatchStep::Final { at_ms: 3 }),
        ] {
            store.step_batch(0, from, step).await.unwrap();
        }
        store
            .step_batch(
                1,
                BatchStatus::Sealed,
                BatchStep::Submitted(submission.clone()),
            )
            .await
            .unwrap();

        let shape = |p: &proofdesk::log::TicketProof| {
            (
                p.events
                    .iter()
                    .map(|e| (e.index, e.record.clone(), e.leaf, e.sealed.clone()))
                    .collect::<Vec<_>>(),
                p.batches
                    .values()
                    .map(|b| (b.id, b.status, b.root, b.inclusion.clone()))
                    .collect::<Vec<_>>(),
            )
        };
        let first = store.ticket_proof(&ticket).await.unwrap();
        let second = store.ticket_proof(&ticket).await.unwrap();
        let cold = proofdesk::log::connect(&db.url).await.unwrap();
        let from_cold = cold.ticket_proof(&ticket).await.unwrap();
        assert_eq!(shape(&first), shape(&second), "{}", store.backend());
        assert_eq!(shape(&first), shape(&from_cold), "{}", store.backend());
        let statuses: Vec<_> = second.batches.values().map(|b| b.status).collect();
        assert_eq!(statuses, [BatchStatus::Final, BatchStatus::Submitted]);
        for e in &second.events {
            let (id, path) = e.sealed.clone().expect("sealed");
            let b = &second.batches[&id];
            verify_inclusion(&e.leaf, e.index - b.first_index, b.count, &path, &b.root).unwrap();
        }

        // Batch 1 moves on after it was read: the next bundle says so.
        store
            .step_batch(1, BatchStatus::Submitted, BatchStep::Included(inclusion))
            .await
            .unwrap();
        let third = store.ticket_proof(&ticket).await.unwrap();
        assert_eq!(
            third.batches[&1].status,
            BatchStatus::Included,
            "{}",
            store.backend()
        );
        assert_eq!(third.batches[&0].status, BatchStatus::Final);
        drop(cold);
        db.cleanup().await;
    }
}

/// An anchored batch copied from another log (a mirror, a recovery): more
/// tickets and records than one multi-row statement holds, written whole;
/// refused whole when its tips repeat a ticket or when the store holds
/// other records where the batch's are.
#[tokio::test]
async fn an_anchored_batch_is_imported_whole_or_refused_whole() {
    use proofdesk::log::NewBatch;
    use proofdesk::log::import::{AnchorFacts, ImportedBatch, ImportedRecord, ImportedTip};
    use proofdesk::protocol::tree::BatchTree;

    // The source log: 600 tickets, each created in one bulk append, and a
    // message on the first 20: 620 records, past the 500 rows of a
    // statement both for records and for tips.
    let source_db = TestDb::sqlite().await;
    let source = source_db.store();
    let mut handles = Vec::new();
    for i in 0..600 {
        handles.push(new_ticket(source, &format!("src-{i}")).await);
    }
    let policy = Policy::default();
    let mut requests: Vec<_> = handles.iter().map(|h| req(h, created())).collect();
    requests.extend(handles[..20].iter().map(|h| req(h, message())));
    source.append(requests, None, &policy).await.unwrap();
    let sealed = seal_all(source, &SealPolicy::default()).await.unwrap();
    assert_eq!(sealed.len(), 1, "one batch");
    let b = source.batch(0).await.unwrap().unwrap();
    assert_eq!(b.count, 620);
    let imported = || async {
        let leaves = source.leaves(0, b.count).await.unwrap();
        ImportedBatch {
            batch: NewBatch {
                id: b.id,
                first_index: b.first_index,
                count: b.count,
                root: b.root,
                head: b.head,
                sealed_at_ms: b.sealed_at_ms,
                tiles: proofdesk::log::tiles::tiles(&BatchTree::from_leaves(leaves).unwrap()),
                map_root: b.map_root,
            },
            anchored: AnchorFacts {
                tx: Hash32([1; 32]),
                nonce: 0,
                max_fee_per_gas: 2,
                max_priority_fee_per_gas: 1,
                block_number: 7,
                block_hash: Hash32([2; 32]),
                block_time: 1_700_000_000,
            },
            records: source
                .events_by_range(0, b.count)
                .await
                .unwrap()
                .into_iter()
                .map(|e| ImportedRecord {
                    index: e.index,
                    ticket: e.ticket,
                    seq: e.seq,
                    record: e.record,
                    leaf: e.leaf,
                    recorded_at_ms: e.recorded_at_ms,
                })
                .collect(),
            tips: source
                .all_tickets()
                .await
                .unwrap()
                .into_iter()
                .map(|t| ImportedTip {
                    handle: t.handle,
                    external_id: format!("copy:{}", t.external_id),
                    created_at: t.created_at,
                    tip: t.tip,
                })
                .collect(),
        }
    };

    for db in TestDb::all().await {
        let store = db.store();
        let backend = store.backend();

        // A tip given twice is refused before anything is written.
        let mut twice = imported().await;
        twice.tips.push(twice.tips[3].clone());
        let err = store.import_batch(twice).await.unwrap_err();
        assert!(err.to_string().contains("twice"), "{backend}: {err}");
        assert_eq!(store.stats().await.unwrap().size, 0, "{backend}");

        // The batch, written whole: every ticket's tip, every record with
        // its proof as the source serves it, the batch final.
        store.import_batch(imported().await).await.unwrap();
        let stats = store.stats().await.unwrap();
        assert_eq!(
            (stats.size, stats.sealed, stats.final_batches),
            (620, 620, 1),
            "{backend}"
        );
        let mut copied = store.all_tickets().await.unwrap();
        copied.sort_by(|a, c| a.handle.as_str().cmp(c.handle.as_str()));
        let mut original = source.all_tickets().await.unwrap();
        original.sort_by(|a, c| a.handle.as_str().cmp(c.handle.as_str()));
        assert_eq!(copied.len(), 600, "{backend}");
        for (c, o) in copied.iter().zip(&original) {
            assert_eq!((&c.handle, &c.tip), (&o.handle, &o.tip), "{backend}");
        }
        for h in [&handles[0], &handles[19], &handles[20], &handles[599]] {
            let mine = store.events_by_ticket(h).await.unwrap();
            let theirs = source.events_by_ticket(h).await.unwrap();
            assert_eq!(mine.len(), theirs.len(), "{backend}");
            for (m, t) in mine.iter().zip(&theirs) {
                assert_eq!(
                    (m.index, &m.record, m.leaf, &m.sealed),
                    (t.index, &t.record, t.leaf, &t.sealed),
                    "{backend}"
                );
            }
        }
        assert_log_invariants(store).await;
        db.cleanup().await;
    }

    // A store that holds other records where the batch's go is not a copy
    // of this log: refused, and left as it was.
    for other_db in TestDb::all().await {
        let other = other_db.store();
        let backend = other.backend();
        let mine = new_ticket(other, "other-1").await;
        other
            .append(
                vec![req(&mine, created()), req(&mine, message())],
                None,
                &policy,
            )
            .await
            .unwrap();
        let err = other.import_batch(imported().await).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("another record at index 0 than the one the chain anchored"),
            "{backend}: {err}"
        );
        let stats = other.stats().await.unwrap();
        assert_eq!(
            (stats.size, stats.sealed, stats.batches),
            (2, 0, 0),
            "{backend}"
        );
        assert_eq!(other.all_tickets().await.unwrap().len(), 1, "{backend}");
        other_db.cleanup().await;
    }
    source_db.cleanup().await;
}
