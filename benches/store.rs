//! Fetching a proof bundle from storage: the ticket's records, their batches
//! and audit paths, read from a real database and assembled, without HTTP.
//! The log holds 100,000 events in 10-event tickets, sealed into batches of
//! 4096 and marked final, as a running node would leave it. SQLite always;
//! PostgreSQL too when PROOFDESK_BENCH_PG names a server (a scratch database
//! is created and dropped). Then, on the same store, sealing a 65,536-event
//! batch with the ticket map (head v2) against an empty map and one of 2^20
//! tickets (`seal/…`). Run: `cargo bench --bench store`.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::Rng;
use serde_json::json;
use sqlx::Connection;

use proofdesk::ingest::{EventInput, IntoRequest, new_handle};
use proofdesk::log::{
    AppendRequest, BatchStatus, BatchStep, DynStore, Inclusion, Submission, connect,
};
use proofdesk::protocol::Hash32;
use proofdesk::protocol::bundle::ChainRef;
use proofdesk::protocol::fields::{TicketHandle, Timestamp};
use proofdesk::protocol::state::Policy;
use proofdesk::prove::{LogIdentity, bundle};
use proofdesk::seal::{SealPolicy, seal_all};

const TICKETS: usize = 10_000;
const EVENTS_PER_TICKET: usize = 10;

fn event(kind: &str) -> EventInput {
    let data = if kind == "ticket.created" {
        json!({"category": "withdrawal", "priority": "normal", "complaint": true, "labels": {}})
    } else {
        json!({"direction": "inbound", "visibility": "public"})
    };
    serde_json::from_value(json!({
        "type": kind, "data": data,
        "actor": {"role": "customer", "ref": "cust-4711"}, "channel": "web",
        "occurred_at": Timestamp::now().to_string(),
        "content": {"text": "Hello, my withdrawal has been pending for three days."},
    }))
    .expect("valid input")
}

async fn fill(store: &DynStore) -> Vec<TicketHandle> {
    let mut handles = Vec::with_capacity(TICKETS);
    for chunk in 0..TICKETS / 100 {
        let mut requests: Vec<AppendRequest> = Vec::new();
        for t in 0..100 {
            let (ticket, _) = store
                .create_ticket(
                    &format!("bench-{chunk}-{t}"),
                    new_handle(),
                    Timestamp::now(),
                )
                .await
                .expect("ticket");
            requests.push(
                event("ticket.created")
                    .into_request(ticket.handle.clone())
                    .unwrap(),
            );
            for _ in 1..EVENTS_PER_TICKET {
                requests.push(
                    event("message.added")
                        .into_request(ticket.handle.clone())
                        .unwrap(),
                );
            }
            handles.push(ticket.handle);
        }
        store
            .append(requests, None, &Policy::default())
            .await
            .expect("append");
    }
    let sealed = seal_all(
        store.as_ref(),
        &SealPolicy {
            max_batch: 4096,
            ..SealPolicy::default()
        },
    )
    .await
    .expect("seal");
    for s in sealed {
        let now = Timestamp::now().millis();
        let steps = [
            (
                BatchStatus::Sealed,
                BatchStep::Submitted(Submission {
                    tx_hash: Hash32([1; 32]),
                    nonce: s.batch_id,
                    max_fee_per_gas: 1,
                    max_priority_fee_per_gas: 1,
                    at_ms: now,
                }),
            ),
            (
                BatchStatus::Submitted,
                BatchStep::Included(Inclusion {
                    block_number: s.batch_id + 1,
                    block_hash: Hash32([2; 32]),
                    block_time: (now / 1000) as u64,
                    at_ms: now,
                }),
            ),
            (BatchStatus::Included, BatchStep::Final { at_ms: now }),
        ];
        for (from, step) in steps {
            store
                .step_batch(s.batch_id, from, step)
                .await
                .expect("step");
        }
    }
    handles
}

fn identity() -> LogIdentity {
    LogIdentity {
        chain: ChainRef {
            chain_id: 31337,
            contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
            anchorer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
        },
        max_merge_delay_ms: 60_000,
        policy: Policy::default(),
    }
}

fn bench_backend(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, store: DynStore) {
    let handles = rt.block_on(fill(&store));
    let identity = identity();
    let map = proofdesk::seal::MapState::new();
    rt.block_on(map.catch_up(store.as_ref())).expect("map");
    let sample = rt
        .block_on(bundle(store.as_ref(), &identity, &map, &handles[0]))
        .expect("bundle")
        .expect("known ticket");
    assert_eq!(sample.events.len(), EVENTS_PER_TICKET);
    assert!(
        sample.map.is_some(),
        "bundle v2, with the ticket's map proof"
    );
    assert!(
        sample
            .events
            .iter()
            .all(|e| e.batch.is_some() && !e.path.is_empty())
    );
    let mut g = c.benchmark_group(format!("proof_fetch/{name}"));
    let mut rng = rand::rng();
    g.bench_function("bundle_100k_log", |b| {
        b.iter(|| {
            let h = &handles[rng.random_range(0..handles.len())];
            rt.block_on(bundle(store.as_ref(), &identity, &map, h))
                .expect("bundle")
        })
    });
    g.bench_function("bundle_100k_log_as_json", |b| {
        b.iter(|| {
            let h = &handles[rng.random_range(0..handles.len())];
            let bundle = rt
                .block_on(bundle(store.as_ref(), &identity, &map, h))
                .expect("bundle");
            serde_json::to_vec(&bundle).expect("serialise")
        })
    });
    g.finish();
    bench_seal(c, rt, name, &store, &handles);
}

/// Events appended to the filled store for one sealed batch.
const SEAL_BATCH: usize = 65_536;

/// 65,536 message events over `handles` in turn (the store's 10,000
/// tickets: about 6.5 each; or 65,536 tickets: one each), in bulk requests
/// of 1,000.
async fn append_batch(store: &DynStore, handles: &[TicketHandle]) {
    let mut requests: Vec<AppendRequest> = Vec::with_capacity(1000);
    for i in 0..SEAL_BATCH {
        requests.push(
            event("message.added")
                .into_request(handles[i % handles.len()].clone())
                .unwrap(),
        );
        if requests.len() == 1000 || i + 1 == SEAL_BATCH {
            store
                .append(std::mem::take(&mut requests), None, &Policy::default())
                .await
                .expect("append");
        }
    }
}

/// `n` new tickets, each with its `ticket.created` appended (in bulk).
async fn create_tickets(store: &DynStore, n: usize) -> Vec<TicketHandle> {
    let mut handles = Vec::with_capacity(n);
    let mut requests: Vec<AppendRequest> = Vec::with_capacity(1000);
    for i in 0..n {
        let (ticket, _) = store
            .create_ticket(&format!("seal-bench-{i}"), new_handle(), Timestamp::now())
            .await
            .expect("ticket");
        requests.push(
            event("ticket.created")
                .into_request(ticket.handle.clone())
                .unwrap(),
        );
        handles.push(ticket.handle);
        if requests.len() == 1000 || i + 1 == n {
            store
                .append(std::mem::take(&mut requests), None, &Policy::default())
                .await
                .expect("append");
        }
    }
    handles
}

/// Sealing one 65,536-event batch (issue 26's goal): its tree, tiles and
/// commit, and the ticket map applied for its head v2. Against a map that
/// is empty before the batch (about what sealing cost before the map: the
/// batch's own tickets still go in) and against one of 2^20 tickets; with
/// the batch's events over 10,000 tickets, and over 65,536 (one each, the
/// map's worst case). The appends are not timed.
fn bench_seal(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: &DynStore,
    handles: &[TicketHandle],
) {
    use proofdesk::protocol::map::{Tip, map_key};
    use proofdesk::protocol::map_tree::MapVersion;
    use proofdesk::seal::{MapState, Sealer};
    let million = MapVersion::new().apply_batch((0..1u64 << 20).map(|i| {
        (
            map_key(&TicketHandle::parse(&format!("tk_{i:032x}")).unwrap()),
            Tip {
                seq: i % 40,
                leaf: Hash32([7; 32]),
                index: i,
                batch: 0,
            },
        )
    }));
    let mut g = c.benchmark_group(format!("seal/{name}"));
    g.sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(std::time::Duration::from_millis(1))
        // Flat sampling, one batch a sample: each sample also appends 65,536
        // events (untimed), so ten samples are enough and keep the run short.
        .measurement_time(std::time::Duration::from_secs(1))
        .throughput(criterion::Throughput::Elements(SEAL_BATCH as u64));
    // The worst case for the map: every event of the batch a ticket of its
    // own, 65,536 paths moved (created once, untimed).
    let distinct = rt.block_on(create_tickets(store, SEAL_BATCH));
    for (label, before, tickets) in [
        ("65536_events_empty_map", MapVersion::new(), handles),
        ("65536_events_map_1048576_tickets", million.clone(), handles),
        (
            "65536_events_65536_tickets_empty_map",
            MapVersion::new(),
            &distinct[..],
        ),
        (
            "65536_events_65536_tickets_map_1048576_tickets",
            million,
            &distinct[..],
        ),
    ] {
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    rt.block_on(append_batch(store, tickets));
                    let last = rt
                        .block_on(store.unsealed())
                        .expect("unsealed")
                        .next_batch_id
                        - 1;
                    let sealer = Sealer::new(
                        store.clone(),
                        SealPolicy {
                            max_batch: SEAL_BATCH as u64,
                            ..SealPolicy::default()
                        },
                        std::sync::Arc::new(MapState::seeded(last, before.clone())),
                    );
                    let started = std::time::Instant::now();
                    let sealed = rt.block_on(sealer.seal_once(true)).expect("seal");
                    total += started.elapsed();
                    assert_eq!(sealed.map(|s| s.count), Some(SEAL_BATCH as u64));
                }
                total
            })
        });
    }
    g.finish();
}

fn proof_fetch(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: DynStore = rt.block_on(connect(&url)).expect("sqlite");
    bench_backend(c, &rt, "sqlite", store);

    if let Ok(base) = std::env::var("PROOFDESK_BENCH_PG") {
        let name = format!("proofdesk_microbench_{}", std::process::id());
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&base).await.expect("pg");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create db");
        });
        let url = format!(
            "{}/{name}",
            base.rsplit_once('/').expect("url with a database").0
        );
        let store: DynStore = rt.block_on(connect(&url)).expect("postgres");
        bench_backend(c, &rt, "postgres", store.clone());
        drop(store);
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&base).await.expect("pg");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .ok();
        });
    }
}

criterion_group!(benches, proof_fetch);
criterion_main!(benches);
