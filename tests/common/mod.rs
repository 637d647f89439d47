//! Shared test fixtures of the server's suites: event builders and the log
//! invariants. The node and the databases come from proofdesk-testkit,
//! re-exported here.
#![allow(dead_code)]

pub mod anvil;
pub mod attacks;
pub mod browser;
pub mod forge;

use std::sync::Arc;

#[allow(unused_imports)] // each suite uses some of them
pub use proofdesk_testkit::{PG_ENV, TestDb, replace_db};

use proofdesk::ingest::{EventInput, IntoRequest, new_handle};
use proofdesk::log::{AppendRequest, Store};
use proofdesk::protocol::Hash32;
use proofdesk::protocol::fields::{TicketHandle, Timestamp};
use proofdesk::protocol::hashing::batch_head;
use proofdesk::protocol::record::HashedRecord;
use proofdesk::protocol::tree::verify_inclusion;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn now_iso() -> String {
    Timestamp::now().to_string()
}

pub fn input(event_type: &str, data: Value) -> EventInput {
    serde_json::from_value(json!({
        "type": event_type,
        "data": data,
        "actor": {"role": "agent", "ref": "agent-1"},
        "channel": "web",
        "occurred_at": now_iso(),
    }))
    .unwrap()
}

pub fn created() -> EventInput {
    input(
        "ticket.created",
        json!({"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}}),
    )
}

pub fn message() -> EventInput {
    input(
        "message.added",
        json!({"direction": "inbound", "visibility": "public"}),
    )
}

pub fn req(ticket: &TicketHandle, e: EventInput) -> AppendRequest {
    e.into_request(ticket.clone()).unwrap()
}

pub async fn new_ticket(store: &dyn Store, external: &str) -> TicketHandle {
    store
        .create_ticket(external, new_handle(), Timestamp::now())
        .await
        .unwrap()
        .0
        .handle
}

pub type Shared = Arc<dyn Store>;

/// Checks the whole log: indices 0..size with no gap or duplicate, every
/// ticket's seq contiguous from 0 with prev = previous leaf, every record
/// re-hashing to its leaf, batches contiguous, and every path verifying.
pub async fn assert_log_invariants(store: &dyn Store) {
    // The store's reads are separate statements, not one snapshot, and a
    // write whose caller was cancelled may still be committing. Read until
    // the log's counters are the same before and after the reads.
    let (stats, events, batches) = loop {
        let before = store.stats().await.unwrap();
        let events = store.events_by_range(0, before.size).await.unwrap();
        let batches = store.batches(0, u64::MAX >> 1).await.unwrap();
        if store.stats().await.unwrap() == before {
            break (before, events, batches);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(events.len() as u64, stats.size, "no gaps");
    // Two records with the same (ticket, seq) would let the log show one
    // version to one reader and another to the next (equivocation).
    let mut seen: HashMap<(String, u64), u64> = HashMap::new();
    for e in &events {
        if let Some(first) = seen.insert((e.ticket.to_string(), e.seq), e.index) {
            panic!(
                "ticket {} has two records with seq {}: indices {first} and {}",
                e.ticket, e.seq, e.index
            );
        }
    }
    let mut tips: HashMap<String, (u64, Hash32)> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.index, i as u64);
        let parsed = HashedRecord::from_value(&serde_json::from_str(&e.record).unwrap()).unwrap();
        assert_eq!(parsed.leaf, e.leaf);
        assert_eq!(parsed.record.index, e.index);
        let tip = tips
            .entry(e.ticket.to_string())
            .or_insert((0, Hash32::ZERO));
        assert_eq!(
            (parsed.record.seq, parsed.record.prev),
            *tip,
            "chain of {}",
            e.ticket
        );
        *tip = (tip.0 + 1, e.leaf);
    }
    let mut next = 0;
    for (i, b) in batches.iter().enumerate() {
        assert_eq!(
            (b.id, b.first_index),
            (i as u64, next),
            "batches contiguous"
        );
        let head = match &b.map_root {
            Some(m) => {
                proofdesk::protocol::map::batch_head_v2(b.id, b.first_index, b.count, &b.root, m)
            }
            None => batch_head(b.id, b.first_index, b.count, &b.root),
        };
        assert_eq!(b.head, head);
        next += b.count;
    }
    // Every stored map root follows from the records (PROTOCOL.md §15.2):
    // the replay checks each one, batch by batch.
    let map = proofdesk::seal::MapState::new();
    map.catch_up(store)
        .await
        .expect("every batch's map root is the one its records give");
    assert_eq!(stats.sealed, next);
    for e in &events {
        match &e.sealed {
            Some((bid, path)) => {
                let b = &batches[*bid as usize];
                verify_inclusion(&e.leaf, e.index - b.first_index, b.count, path, &b.root).unwrap();
            }
            None => assert!(
                e.index >= stats.sealed,
                "event {} below the sealed mark has a path",
                e.index
            ),
        }
    }
}
