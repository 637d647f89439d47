//! Reading an ingest request: a bulk body of 1,000 message events (as
//! `scripts/bench/wrk.lua` sends them, 10 to each of 100 tickets) read into
//! its typed value, in one pass (a request without an Idempotency-Key) and
//! through the strict tree (with one: the tree is kept for the idempotency
//! hash; before issue 29 §1, every request). Run: `cargo bench --bench ingest`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use proofdesk::api::BulkAppend;
use proofdesk::api::body::read;

/// The bench's bulk body, as the load generator writes it.
fn bulk_body(events: usize) -> String {
    let event = r#"{"type":"message.added","data":{"direction":"inbound","visibility":"public"},"actor":{"role":"customer","ref":"cust-4711"},"channel":"web","occurred_at":"2026-12-06T12:00:00.000Z","content":{"text":"Hello, my withdrawal of 0.5 BTC has been pending for three days."}}"#;
    let items: Vec<String> = (0..events)
        .map(|i| format!(r#"{{"ticket":"tk_{:032x}","event":{event}}}"#, i / 10))
        .collect();
    format!(r#"{{"events":[{}]}}"#, items.join(","))
}

fn request(c: &mut Criterion) {
    let body = bulk_body(1_000);
    let mut g = c.benchmark_group("request");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("bulk_1000_one_pass", |b| {
        b.iter(|| {
            let read = read::<BulkAppend>(black_box(&body), false).expect("a valid body");
            assert!(read.tree.is_none());
            read.typed
        })
    });
    g.bench_function("bulk_1000_with_tree", |b| {
        b.iter(|| {
            let read = read::<BulkAppend>(black_box(&body), true).expect("a valid body");
            assert!(read.tree.is_some());
            read
        })
    });
    g.finish();
}

criterion_group!(benches, request);
criterion_main!(benches);
