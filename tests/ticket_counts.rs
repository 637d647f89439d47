//! What a conditional bundle read checks before answering 304.
//! - Coalesced ticket counts (src/prove/tips.rs): lookups made together
//!   share reads, each still gets its own ticket's count, never one older
//!   than itself, and callers that go away mid-read strand no one. On SQLite
//!   and, when PROOFDESK_TEST_PG is set, PostgreSQL.
//! - A SQLite store's marks of the tickets it writes
//!   (src/log/ticket_changes.rs): every write of a ticket, single, bulk or
//!   concurrent with others, has moved the ticket's mark by the time it is
//!   answered. PostgreSQL keeps none: other servers write too.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use proofdesk::log::DynStore;
use proofdesk::protocol::fields::TicketHandle;
use proofdesk::protocol::state::Policy;
use proofdesk::prove::tips::TicketCounts;

/// 40 tickets with 0 to 3 events and 10 that do not exist, each with the
/// count a lookup must give.
async fn tickets(store: &DynStore) -> Vec<(TicketHandle, Option<u64>)> {
    let mut out = Vec::new();
    let mut requests = Vec::new();
    for i in 0..40u64 {
        let t = new_ticket(store.as_ref(), &format!("tips-{i}")).await;
        let events = i % 4;
        if events > 0 {
            requests.push(req(&t, created()));
            requests.extend((1..events).map(|_| req(&t, message())));
        }
        out.push((t, Some(events)));
    }
    store
        .append(requests, None, &Policy::default())
        .await
        .unwrap();
    out.extend((0..10).map(|_| (proofdesk::ingest::new_handle(), None)));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_made_together_share_reads_and_each_gets_its_count() {
    for db in TestDb::all().await {
        let tickets = tickets(&db.store).await;
        let counts = Arc::new(TicketCounts::default());
        let lookups = 200;
        let start = Arc::new(tokio::sync::Barrier::new(lookups));
        // Every lookup is spawned before any is awaited, and they start
        // together: one read at a time, the others queue behind it.
        let tasks: Vec<_> = (0..lookups)
            .map(|i| {
                let (counts, store, start) = (counts.clone(), db.store.clone(), start.clone());
                let (ticket, expected) = tickets[i % tickets.len()].clone();
                tokio::spawn(async move {
                    start.wait().await;
                    let got = counts.count(&store, &ticket).await.unwrap();
                    assert_eq!(got, expected, "{ticket}");
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let reads = counts.reads();
        assert!(
            0 < reads && reads < lookups as u64,
            "{reads} reads for {lookups} lookups on {}",
            db.store().backend()
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_after_an_append_sees_it_though_a_read_is_running() {
    for db in TestDb::all().await {
        let store = db.store.clone();
        let ticket = new_ticket(store.as_ref(), "tips-fresh").await;
        let policy = Policy::default();
        store
            .append(vec![req(&ticket, created())], None, &policy)
            .await
            .unwrap();
        let counts = Arc::new(TicketCounts::default());
        // Lookups of the same ticket all along, so that a read, started
        // before the next append, is often running when the check below
        // is made: it must wait for a read of its own.
        let stop = Arc::new(AtomicBool::new(false));
        let busy: Vec<_> = (0..4)
            .map(|_| {
                let (counts, store, stop, t) =
                    (counts.clone(), store.clone(), stop.clone(), ticket.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        counts.count(&store, &t).await.unwrap();
                    }
                })
            })
            .collect();
        for n in 2..=30u64 {
            store
                .append(vec![req(&ticket, message())], None, &policy)
                .await
                .unwrap();
            let got = counts.count(&store, &ticket).await.unwrap();
            assert_eq!(got, Some(n), "{}", store.backend());
        }
        stop.store(true, Ordering::Relaxed);
        for task in busy {
            task.await.unwrap();
        }
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_go_away_mid_read_strand_no_other_lookup() {
    for db in TestDb::all().await {
        let tickets = tickets(&db.store).await;
        let counts = Arc::new(TicketCounts::default());
        let mut cancelled = 0;
        for round in 0..80u64 {
            let tasks: Vec<_> = (0..40)
                .map(|i| {
                    let (counts, store) = (counts.clone(), db.store.clone());
                    let (ticket, expected) = tickets[(i + round as usize) % tickets.len()].clone();
                    tokio::spawn(async move {
                        assert_eq!(counts.count(&store, &ticket).await.unwrap(), expected);
                    })
                })
                .collect();
            // Every other caller goes away, at a different point of the
            // reads each round: waiting, holding the turn, or done. (A
            // spin, finer than the timer's milliseconds; this thread is
            // not one of the runtime's workers.)
            let at = Instant::now() + Duration::from_micros(20 * (round % 40));
            while Instant::now() < at {
                std::hint::spin_loop();
            }
            for task in tasks.iter().step_by(2) {
                task.abort();
            }
            for (i, task) in tasks.into_iter().enumerate() {
                match tokio::time::timeout(Duration::from_secs(30), task)
                    .await
                    .expect("a lookup was stranded")
                {
                    Ok(()) => {}
                    Err(e) if e.is_cancelled() && i % 2 == 0 => cancelled += 1,
                    Err(e) => panic!("lookup {i} of round {round}: {e}"),
                }
            }
        }
        assert!(cancelled > 0, "no caller went away mid-lookup");
        // The turn is free and nothing is left queued that blocks it.
        let (ticket, expected) = tickets[3].clone();
        assert_eq!(
            counts.count(&db.store, &ticket).await.unwrap(),
            expected,
            "{}",
            db.store().backend()
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_of_a_ticket_moves_its_mark_before_it_is_answered() {
    for db in TestDb::all().await {
        let store = db.store.clone();
        let Some(_) = store.ticket_changes() else {
            assert_eq!(
                store.backend(),
                "postgres",
                "only PostgreSQL keeps no marks"
            );
            db.cleanup().await;
            continue;
        };
        let policy = Policy::default();
        let tickets: Vec<TicketHandle> = {
            let mut out = Vec::new();
            for i in 0..8 {
                out.push(new_ticket(store.as_ref(), &format!("marks-{i}")).await);
            }
            out
        };
        // One bulk request over every ticket: all their marks move.
        let marks = |store: &DynStore| -> Vec<u64> {
            let changes = store.ticket_changes().unwrap();
            tickets.iter().map(|t| changes.mark(t)).collect()
        };
        let before = marks(&store);
        store
            .append(
                tickets.iter().map(|t| req(t, created())).collect(),
                None,
                &policy,
            )
            .await
            .unwrap();
        for (i, (b, a)) in before.iter().zip(marks(&store)).enumerate() {
            assert_ne!(*b, a, "ticket {i} after the bulk write");
        }
        // Single appends from many callers at once, so that they share
        // group commits: each caller, once answered, finds its ticket's
        // mark moved from the one it took before sending.
        let writers: Vec<_> = (0..64)
            .map(|i| {
                let (store, ticket) = (store.clone(), tickets[i % tickets.len()].clone());
                tokio::spawn(async move {
                    let before = store.ticket_changes().unwrap().mark(&ticket);
                    store
                        .append(vec![req(&ticket, message())], None, &Policy::default())
                        .await
                        .unwrap();
                    let after = store.ticket_changes().unwrap().mark(&ticket);
                    assert_ne!(before, after, "{ticket}: answered before its mark moved");
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        db.cleanup().await;
    }
}
