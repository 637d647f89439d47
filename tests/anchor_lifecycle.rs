//! Anchoring, told against a real local chain: every test starts its own
//! anvil, deploys SupportAnchor, writes to a fresh SQLite log, seals, and
//! drives the anchor worker step by step through the lifecycle — including
//! the bad days: a reorg, an RPC outage, a restart mid-flight, a stuck
//! transaction and the wrong key.
//!
//! The chain only moves when a test mines, so nothing here depends on time.

mod common;

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::B256;
use alloy::providers::Provider;
use common::anvil::*;
use common::*;
use proofdesk::anchor::Progress;
use proofdesk::anchor::chain::{ChainError, to_b256};
use proofdesk::anchor::contract::SupportAnchor;
use proofdesk::anchor::worker::AnchorError;
use proofdesk::log::{Batch, BatchStatus, BatchStep, DynStore, Submission};
use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::state::Policy;
use proofdesk::seal::{SealPolicy, seal_all};

const NEVER: Duration = Duration::from_secs(3600);

/// Opens `tickets` tickets and writes `messages` messages on each.
async fn write_events(store: &DynStore, tickets: usize, messages: usize) {
    let policy = Policy::default();
    for _ in 0..tickets {
        let external = format!("zd-{}", proofdesk::ingest::new_handle().as_str());
        let handle = new_ticket(store.as_ref(), &external).await;
        store
            .append(vec![req(&handle, created())], None, &policy)
            .await
            .unwrap();
        for _ in 0..messages {
            store
                .append(vec![req(&handle, message())], None, &policy)
                .await
                .unwrap();
        }
    }
}

async fn seal(store: &DynStore, max_batch: u64) -> usize {
    let policy = SealPolicy {
        max_batch,
        ..SealPolicy::default()
    };
    seal_all(store.as_ref(), &policy).await.unwrap().len()
}

fn all_final(batches: &[Batch]) -> bool {
    !batches.is_empty() && batches.iter().all(|b| b.status == BatchStatus::Final)
}

async fn batch(store: &DynStore, id: u64) -> Batch {
    store.batch(id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_anchored_final_and_verifiable_on_chain() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let (chain, anchorer) = setup(&anvil, &store, NEVER).await;

    // Two tickets, ten events, sealed three at a time: four batches, the
    // first with a v1 head and the others with head v2 (a log switching).
    write_events(&store, 2, 4).await;
    let sealer = proofdesk::seal::Sealer {
        head_v2_from: 1,
        ..proofdesk::seal::Sealer::new(
            store.clone(),
            SealPolicy {
                max_batch: 3,
                ..SealPolicy::default()
            },
            Default::default(),
        )
    };
    let sealed = sealer.seal_all().await.unwrap().len();
    assert!(sealed >= 3, "sealed {sealed} batches");

    // The worker takes them in order to final, one block mined per step.
    drive_until(&anchorer, &anvil, 1, 80, all_final).await;
    assert_eq!(anchorer.step().await.unwrap(), Progress::Idle);

    let batches = all_batches(&store).await;
    assert_eq!(batches.len(), sealed);
    assert!(batches[0].map_root.is_none());
    assert!(batches[1..].iter().all(|b| b.map_root.is_some()));
    assert_eq!(chain.batch_count().await.unwrap(), sealed as u64);
    assert_eq!(chain.next_index().await.unwrap(), 10);
    for bt in &batches {
        assert_eq!(
            chain.batch_head(bt.id).await.unwrap(),
            bt.head,
            "batch {}",
            bt.id
        );
    }

    // Every event verifies against the contract with its stored path, a v1
    // batch's through verifyInclusion and a head v2 batch's through
    // verifyInclusionV2 (with its map root); a flipped leaf does not, nor
    // does a record through the other version's view.
    let contract = SupportAnchor::new(chain.contract, chain.provider());
    let events = store.events_by_range(0, 10).await.unwrap();
    assert_eq!(events.len(), 10);
    for ev in &events {
        let (batch_id, path) = ev.sealed.clone().expect("event is sealed");
        let bt = &batches[batch_id as usize];
        let path: Vec<B256> = path.iter().map(to_b256).collect();
        let v1 = |leaf: B256| {
            contract.verifyInclusion(
                bt.id,
                bt.first_index,
                bt.count,
                to_b256(&bt.root),
                ev.index,
                leaf,
                path.clone(),
            )
        };
        let v2 = |leaf: B256| {
            contract.verifyInclusionV2(
                bt.id,
                bt.first_index,
                bt.count,
                to_b256(&bt.root),
                to_b256(&bt.map_root.unwrap_or_default()),
                ev.index,
                leaf,
                path.clone(),
            )
        };
        let mut flipped = ev.leaf;
        flipped.0[0] ^= 1;
        let (own, other) = match bt.map_root {
            None => (
                v1(to_b256(&ev.leaf)).call().await.unwrap(),
                v2(to_b256(&ev.leaf)).call().await.unwrap(),
            ),
            Some(_) => (
                v2(to_b256(&ev.leaf)).call().await.unwrap(),
                v1(to_b256(&ev.leaf)).call().await.unwrap(),
            ),
        };
        assert!(own, "event {} in batch {}", ev.index, bt.id);
        assert!(!other, "event {} through the other view", ev.index);
        let flipped_ok = match bt.map_root {
            None => v1(to_b256(&flipped)).call().await.unwrap(),
            Some(_) => v2(to_b256(&flipped)).call().await.unwrap(),
        };
        assert!(!flipped_ok, "flipped leaf of event {}", ev.index);
    }

    // A steady-state anchor() stays within its gas budget.
    let tx = batches[1]
        .submission
        .as_ref()
        .expect("batch 1 was submitted")
        .tx_hash;
    let receipt = chain
        .receipt(&tx)
        .await
        .unwrap()
        .expect("receipt of batch 1");
    assert!(receipt.status());
    eprintln!("steady-state anchor() gas_used = {}", receipt.gas_used);
    assert!(receipt.gas_used <= 55_000, "gas_used {}", receipt.gas_used);
}

/// A backlog (here: sealed while the chain mined nothing) is submitted in
/// one pass, with consecutive nonces, up to `max_in_flight`; one block takes
/// them all in batch order, and they become final together. One batch at a
/// time, ten batches would have taken ten times to final (issue 28 §3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_batches_is_submitted_together_and_lands_in_one_block() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let chain = deploy_anchor(&anvil, None, &anvil.url()).await;
    let mut policy = fast_policy(NEVER);
    policy.max_in_flight = 8;
    let anchorer = anchorer(&store, &chain, dev_key(0), policy).await;
    write_events(&store, 2, 9).await;
    assert_eq!(seal(&store, 2).await, 10);

    anvil.set_automine(false).await;
    // Step until nothing more goes out: the first eight are in the pool.
    let mut steps = 0;
    while anchorer.step().await.unwrap() == Progress::Advanced {
        steps += 1;
        assert!(steps <= 8, "at most max_in_flight submissions");
    }
    let batches = all_batches(&store).await;
    let submitted: Vec<_> = batches
        .iter()
        .filter(|b| b.status == BatchStatus::Submitted)
        .collect();
    assert_eq!(submitted.len(), 8, "eight in flight at once");
    let nonces: Vec<u64> = submitted
        .iter()
        .map(|b| b.submission.as_ref().unwrap().nonce)
        .collect();
    let first = nonces[0];
    assert_eq!(nonces, (first..first + 8).collect::<Vec<_>>());
    assert_eq!(batches[8].status, BatchStatus::Sealed);

    // One block includes all eight, in order.
    anvil.mine(1).await;
    assert_eq!(chain.batch_count().await.unwrap(), 8);
    drive_until(&anchorer, &anvil, 1, 40, all_final).await;
    let batches = all_batches(&store).await;
    let block = batches[0].inclusion.as_ref().unwrap().block_number;
    assert!(
        batches[..8]
            .iter()
            .all(|b| b.inclusion.as_ref().unwrap().block_number == block),
        "the first eight in one block"
    );
    assert_eq!(chain.batch_count().await.unwrap(), 10);
    assert_eq!(
        anchorer.metrics.anchor_submissions.get(),
        10,
        "each batch sent once"
    );
    for b in &batches {
        assert_eq!(chain.batch_head(b.id).await.unwrap(), b.head);
    }
}

/// If a batch in flight fails, the ones submitted behind it revert (the
/// contract takes ids in order), go back to sealed in their turn and are
/// anchored again: once each, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_behind_a_failed_one_are_anchored_again_in_order() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let chain = deploy_anchor(&anvil, None, &anvil.url()).await;
    let anchorer = anchorer(&store, &chain, dev_key(0), fast_policy(NEVER)).await;
    write_events(&store, 1, 5).await;
    assert_eq!(seal(&store, 2).await, 3);

    anvil.set_automine(false).await;
    while anchorer.step().await.unwrap() == Progress::Advanced {}
    let batches = all_batches(&store).await;
    assert!(batches.iter().all(|b| b.status == BatchStatus::Submitted));
    // Another transaction from the operator's account takes batch 0's
    // nonce (higher fees replace it in the pool); batches 1 and 2 are mined
    // behind it and revert: the chain expects batch 0.
    let nonce = batches[0].submission.as_ref().unwrap().nonce;
    let from = format!("{:#x}", dev_key(0).address());
    let _: serde_json::Value = chain
        .provider()
        .raw_request(
            "eth_sendTransaction".into(),
            serde_json::json!([{"from": from, "to": from, "value": "0x0",
                "nonce": format!("{nonce:#x}"), "gas": "0x5208",
                "maxFeePerGas": "0x2540be400", "maxPriorityFeePerGas": "0x3b9aca00"}]),
        )
        .await
        .unwrap();
    anvil.mine(1).await;
    assert_eq!(chain.batch_count().await.unwrap(), 0);
    for b in &batches[1..] {
        let tx = b.submission.as_ref().unwrap().tx_hash;
        let r = chain.receipt(&tx).await.unwrap().expect("mined");
        assert!(!r.status(), "batch {} reverted", b.id);
    }

    anvil.set_automine(true).await;
    drive_until(&anchorer, &anvil, 1, 80, all_final).await;
    assert_eq!(chain.batch_count().await.unwrap(), 3);
    assert!(anchorer.metrics.anchor_reverts.get() >= 2);
    for b in all_batches(&store).await {
        assert_eq!(chain.batch_head(b.id).await.unwrap(), b.head);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_undoes_an_anchor_and_the_worker_anchors_again() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let (chain, anchorer) = setup(&anvil, &store, NEVER).await;

    write_events(&store, 1, 2).await;
    seal(&store, 100).await;
    drive_until(&anchorer, &anvil, 1, 20, all_final).await;

    // The chain as it is now; batch 1 is anchored after it.
    let snap = anvil.snapshot().await;
    write_events(&store, 1, 1).await;
    assert_eq!(seal(&store, 100).await, 1);
    drive_until(&anchorer, &anvil, 0, 10, |bs| {
        bs[1].status == BatchStatus::Included
    })
    .await;
    assert_eq!(chain.batch_count().await.unwrap(), 2);

    // A reorg: back to the snapshot, the anchoring block and its
    // transaction gone; the chain grows on without them.
    let dropped = batch(&store, 1).await.submission.unwrap().tx_hash;
    anvil.revert(snap).await;
    assert_eq!(chain.batch_count().await.unwrap(), 1);
    anvil.mine(3).await;
    assert!(
        !chain.tx_known(&dropped).await.unwrap(),
        "the reorg dropped the anchor transaction"
    );

    drive_until(&anchorer, &anvil, 1, 30, all_final).await;
    assert!(anchorer.metrics.anchor_reorgs.get() >= 1, "reorg observed");
    assert_eq!(
        chain.batch_count().await.unwrap(),
        2,
        "anchored again, exactly once"
    );
    let b1 = batch(&store, 1).await;
    assert_eq!(chain.batch_head(1).await.unwrap(), b1.head);
    let log = chain.anchored_log(1).await.unwrap().unwrap();
    assert_eq!(log.block_hash, b1.inclusion.unwrap().block_hash);
    let resent = b1.submission.unwrap().tx_hash;
    assert_ne!(resent, dropped, "a new transaction");
    assert_eq!(log.tx_hash, resent);
    assert_eq!(b1.attempts, 2);
    assert_eq!(
        anchorer.metrics.anchor_submissions.get(),
        3,
        "batch 0, batch 1, batch 1 again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_outage_stalls_anchoring_but_not_the_log() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let proxy = Proxy::start(anvil.port()).await;
    let chain = deploy_anchor(&anvil, None, &proxy.url()).await;
    let anchorer = anchorer(&store, &chain, dev_key(0), fast_policy(NEVER)).await;

    write_events(&store, 1, 2).await;
    seal(&store, 100).await;

    // The RPC goes away: every step fails, quickly, and the batch waits.
    proxy.down();
    for _ in 0..3 {
        match anchorer.step().await {
            Err(AnchorError::Chain(ChainError::Timeout { .. } | ChainError::Rpc { .. })) => {}
            other => panic!("expected an RPC error while down, got {other:?}"),
        }
    }
    assert_eq!(batch(&store, 0).await.status, BatchStatus::Sealed);

    // The log carries on meanwhile.
    write_events(&store, 1, 1).await;
    assert_eq!(seal(&store, 100).await, 1);

    // Back up: both batches reach final.
    proxy.up();
    drive_until(&anchorer, &anvil, 1, 30, all_final).await;
    assert_eq!(chain.batch_count().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_submitted_and_included_resumes_the_same_transaction() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let (chain, first) = setup(&anvil, &store, NEVER).await;
    write_events(&store, 1, 2).await;
    seal(&store, 100).await;

    // Sent, not yet mined.
    anvil.set_automine(false).await;
    assert_eq!(first.step().await.unwrap(), Progress::Advanced);
    let submitted = batch(&store, 0).await;
    assert_eq!(submitted.status, BatchStatus::Submitted);
    let sub = submitted.submission.clone().unwrap();
    drop(first);

    // The process restarts and finds the transaction still pending.
    let second = anchorer(&store, &chain, dev_key(0), fast_policy(NEVER)).await;
    assert_eq!(second.step().await.unwrap(), Progress::Waiting);
    assert_eq!(batch(&store, 0).await.submission, Some(sub.clone()));

    anvil.mine(1).await;
    drive_until(&second, &anvil, 0, 5, |bs| {
        bs[0].status == BatchStatus::Included
    })
    .await;
    drive_until(&second, &anvil, 1, 10, all_final).await;
    assert_eq!(chain.batch_count().await.unwrap(), 1);
    let log = chain.anchored_log(0).await.unwrap().unwrap();
    assert_eq!(
        log.tx_hash, sub.tx_hash,
        "the transaction sent before the restart"
    );
    assert_eq!(
        second.metrics.anchor_submissions.get(),
        0,
        "nothing re-sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_persisting_but_before_sending_rebroadcasts_the_identical_transaction() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let (chain, _) = setup(&anvil, &store, NEVER).await;
    write_events(&store, 1, 2).await;
    seal(&store, 100).await;

    // What the worker does before it broadcasts: sign, persist. Then "die".
    let key = dev_key(0);
    let policy = fast_policy(NEVER);
    let b0 = batch(&store, 0).await;
    let fees = chain.fees().await.unwrap();
    let nonce = chain.mined_nonce(key.address()).await.unwrap();
    let chain_id = chain.chain_id().await.unwrap();
    let wallet = EthereumWallet::from(key.signer().clone());
    let (tx_hash, _never_sent) = chain
        .sign_anchor(
            &wallet,
            chain_id,
            nonce,
            fees,
            policy.gas_limit,
            b0.id,
            b0.first_index,
            b0.count,
            &b0.anchored_root(),
        )
        .await
        .unwrap();
    let sub = Submission {
        tx_hash,
        nonce,
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        at_ms: Timestamp::now().millis(),
    };
    store
        .step_batch(0, BatchStatus::Sealed, BatchStep::Submitted(sub.clone()))
        .await
        .unwrap();
    assert!(!chain.tx_known(&tx_hash).await.unwrap());

    // The restarted worker sends exactly that transaction.
    let restarted = anchorer(&store, &chain, key, policy).await;
    assert_eq!(restarted.step().await.unwrap(), Progress::Waiting);
    assert!(chain.tx_known(&tx_hash).await.unwrap(), "re-broadcast");
    drive_until(&restarted, &anvil, 1, 10, all_final).await;
    let b0 = batch(&store, 0).await;
    assert_eq!(b0.submission.unwrap().tx_hash, tx_hash, "hash unchanged");
    assert_eq!(
        chain.anchored_log(0).await.unwrap().unwrap().tx_hash,
        tx_hash
    );
    assert_eq!(chain.batch_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_replaced_with_higher_fees() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let (chain, anchorer) = setup(&anvil, &store, Duration::ZERO).await;
    write_events(&store, 1, 2).await;
    seal(&store, 100).await;

    anvil.set_automine(false).await;
    assert_eq!(anchorer.step().await.unwrap(), Progress::Advanced);
    let first = batch(&store, 0).await.submission.unwrap();

    // Not mined, and resend_after is zero: the next step replaces it.
    assert_eq!(anchorer.step().await.unwrap(), Progress::Advanced);
    let b0 = batch(&store, 0).await;
    assert_eq!(b0.status, BatchStatus::Submitted);
    let second = b0.submission.unwrap();
    assert_ne!(second.tx_hash, first.tx_hash);
    assert_eq!(second.nonce, first.nonce);
    assert!(
        second.max_fee_per_gas > first.max_fee_per_gas,
        "{} > {}",
        second.max_fee_per_gas,
        first.max_fee_per_gas
    );
    assert!(second.max_priority_fee_per_gas > first.max_priority_fee_per_gas);
    assert_eq!(anchorer.metrics.anchor_fee_bumps.get(), 1);

    anvil.set_automine(true).await;
    anvil.mine(1).await;
    drive_until(&anchorer, &anvil, 1, 10, all_final).await;
    assert_eq!(chain.batch_count().await.unwrap(), 1);
    assert_eq!(
        chain.anchored_log(0).await.unwrap().unwrap().tx_hash,
        second.tx_hash
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_key_is_refused_before_anything_is_sent() {
    let anvil = Anvil::spawn().await;
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    // The contract names account 0; the worker holds account 1's key.
    let chain = deploy_anchor(&anvil, Some(dev_key(0).address()), &anvil.url()).await;
    let anchorer = anchorer(&store, &chain, dev_key(1), fast_policy(NEVER)).await;
    write_events(&store, 1, 2).await;
    seal(&store, 100).await;

    let err = anchorer.step().await.expect_err("not the anchorer");
    assert!(err.to_string().contains("NotAnchorer"), "{err}");
    assert_eq!(batch(&store, 0).await.status, BatchStatus::Sealed);
    assert_eq!(chain.batch_count().await.unwrap(), 0);
    assert!(anchorer.metrics.anchor_reverts.get() >= 1);
    assert_eq!(anchorer.metrics.anchor_submissions.get(), 0);
}
