//! The anchor worker: takes sealed batches in order and moves each through
//! sealed → submitted → included → final, persisting every step before it
//! waits on the chain, so a restart resumes exactly where it stopped.
//!
//! While the oldest unfinished batch waits on the chain, the batches sealed
//! after it are submitted too, with the following nonces (up to
//! `max_in_flight`): after a chain outage the backlog lands in a block or
//! two and becomes final together, instead of one batch per time-to-final.
//! Everything after submission is still done in order, batch by batch, as
//! each becomes the oldest.
//!
//! Exactly-once rests on the contract: anchor() only accepts the next batch
//! id, so a batch can never be on chain twice. The worker's job is to make
//! sure it ends up there once: it re-sends stuck transactions with higher
//! fees, re-anchors after a reorg, and on every (re)start treats the
//! contract's counters as the truth about what is anchored.

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::TxEnvelope;
use alloy::network::EthereumWallet;
use rand::Rng;
use tokio::sync::watch;

use super::chain::{Chain, ChainError, to_hash32};
use super::keys::OperatorKey;
use super::send::Fees;
use crate::log::{Batch, BatchStatus, BatchStep, DynStore, Inclusion, StoreError, Submission};
use crate::metrics::Metrics;
use crate::protocol::Hash32;
use crate::protocol::fields::Timestamp;

#[derive(Debug, Clone)]
pub struct AnchorPolicy {
    /// Blocks on top of (and including) the inclusion block before final.
    pub confirmations: u64,
    /// Use the chain's `finalized` tag instead of counting confirmations.
    pub use_finalized_tag: bool,
    /// Re-send with higher fees when a transaction is not mined this long.
    pub resend_after: Duration,
    /// Fee increase per re-send, in percent (nodes require ≥ 10).
    pub fee_bump_percent: u128,
    /// Never offer more than this per gas, in wei.
    pub max_fee_cap_wei: u128,
    pub gas_limit: u64,
    /// Pause between polls while waiting on the chain.
    pub poll: Duration,
    /// Backoff after a failed step: base × 2^n, capped, with jitter.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Most batches submitted and not yet final at once (1: one at a time).
    pub max_in_flight: u64,
}

impl Default for AnchorPolicy {
    fn default() -> Self {
        AnchorPolicy {
            confirmations: 3,
            use_finalized_tag: false,
            resend_after: Duration::from_secs(30),
            fee_bump_percent: 25,
            max_fee_cap_wei: 500_000_000_000,
            gas_limit: 120_000,
            poll: Duration::from_millis(500),
            retry_base: Duration::from_millis(250),
            retry_max: Duration::from_secs(30),
            // 16 × 53k gas fits any block; 16 default batches are 1M events.
            max_in_flight: 16,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "batch {id}: the chain holds head {on_chain} but the log says {ours}; refusing to continue"
    )]
    HeadConflict {
        id: u64,
        on_chain: String,
        ours: String,
    },
    #[error(
        "batch {id} is the next to anchor, but the chain is at batch {chain_count}: the log and chain disagree"
    )]
    ChainBehind { id: u64, chain_count: u64 },
    #[error("batch {id} is anchored on chain but its BatchAnchored log was not found")]
    LogMissing { id: u64 },
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing to anchor.
    Idle,
    /// A batch changed state.
    Advanced,
    /// Waiting on the chain.
    Waiting,
}

pub struct Anchorer {
    pub store: DynStore,
    pub chain: Chain,
    key: OperatorKey,
    wallet: EthereumWallet,
    chain_id: u64,
    pub policy: AnchorPolicy,
    pub metrics: Arc<Metrics>,
}

impl Anchorer {
    pub async fn new(
        store: DynStore,
        chain: Chain,
        key: OperatorKey,
        policy: AnchorPolicy,
        metrics: Arc<Metrics>,
    ) -> Result<Anchorer, AnchorError> {
        let chain_id = chain.chain_id().await?;
        let wallet = EthereumWallet::from(key.signer().clone());
        Ok(Anchorer {
            store,
            chain,
            key,
            wallet,
            chain_id,
            policy,
            metrics,
        })
    }

    /// Advances the oldest unfinished batch by at most one step; while it
    /// waits on the chain, submits the next sealed batch behind it.
    pub async fn step(&self) -> Result<Progress, AnchorError> {
        let Some(batch) = self.store.first_unfinal_batch().await? else {
            return Ok(Progress::Idle);
        };
        let progress = match batch.status {
            BatchStatus::Sealed => self.submit(&batch).await,
            BatchStatus::Submitted => self.check_submitted(&batch).await,
            BatchStatus::Included => self.check_included(&batch).await,
            BatchStatus::Final => Ok(Progress::Idle),
        }?;
        if progress != Progress::Waiting {
            return Ok(progress);
        }
        self.submit_behind(&batch).await
    }

    /// The next sealed batch behind the oldest one, submitted with the nonce
    /// after its predecessor's, if its predecessor is in flight and fewer
    /// than `max_in_flight` are. No simulation: the call only succeeds once
    /// the batches before it are on chain. If one of them fails, this one
    /// reverts (the contract takes batch ids in order), is put back to
    /// sealed when its turn comes, and is submitted again.
    async fn submit_behind(&self, oldest: &Batch) -> Result<Progress, AnchorError> {
        let window = self
            .store
            .batches(oldest.id, self.policy.max_in_flight.max(1) + 1)
            .await?;
        let Some(pos) = window.iter().position(|b| b.status == BatchStatus::Sealed) else {
            return Ok(Progress::Waiting);
        };
        if pos == 0 || pos as u64 >= self.policy.max_in_flight {
            return Ok(Progress::Waiting);
        }
        let (before, next) = (&window[pos - 1], &window[pos]);
        let in_flight = matches!(
            before.status,
            BatchStatus::Submitted | BatchStatus::Included
        );
        let (Some(sub), true) = (before.submission.as_ref(), in_flight) else {
            return Ok(Progress::Waiting);
        };
        if before.id + 1 != next.id {
            return Ok(Progress::Waiting);
        }
        let on_chain = self.chain.batch_count().await?;
        if on_chain > next.id {
            return self.adopt_from_chain(next, BatchStatus::Sealed).await;
        }
        let nonce = sub.nonce + 1;
        // Something else took this nonce: leave it to the oldest batch's
        // checks, which read the chain.
        if self.chain.mined_nonce(self.key.address()).await? > nonce {
            return Ok(Progress::Waiting);
        }
        let fees = self.capped(self.chain.fees().await?);
        self.sign_persist_send(next, BatchStatus::Sealed, nonce, fees)
            .await?;
        Ok(Progress::Advanced)
    }

    /// sealed → submitted (or straight to included when the chain already
    /// has it, e.g. after a crash or a re-mined transaction).
    async fn submit(&self, batch: &Batch) -> Result<Progress, AnchorError> {
        let on_chain = self.chain.batch_count().await?;
        if on_chain > batch.id {
            return self.adopt_from_chain(batch, BatchStatus::Sealed).await;
        }
        if on_chain < batch.id {
            return Err(AnchorError::ChainBehind {
                id: batch.id,
                chain_count: on_chain,
            });
        }
        let from = self.key.address();
        if let Err(e) = self
            .chain
            .simulate_anchor(
                from,
                batch.id,
                batch.first_index,
                batch.count,
                &batch.anchored_root(),
            )
            .await
        {
            if matches!(e, ChainError::Revert(_)) {
                self.metrics.anchor_reverts.inc();
            }
            return Err(e.into());
        }
        let nonce = self.chain.mined_nonce(from).await?;
        let fees = self.capped(self.chain.fees().await?);
        self.sign_persist_send(batch, BatchStatus::Sealed, nonce, fees)
            .await?;
        Ok(Progress::Advanced)
    }

    /// Signs, records the transaction as submitted, then broadcasts. If the
    /// process dies in between, the stored hash is unknown to the node and
    /// `check_submitted` re-broadcasts the identical transaction.
    async fn sign_persist_send(
        &self,
        batch: &Batch,
        from_status: BatchStatus,
        nonce: u64,
        fees: Fees,
    ) -> Result<(), AnchorError> {
        let (tx_hash, envelope) = self.sign(batch, nonce, fees).await?;
        let submission = Submission {
            tx_hash,
            nonce,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            at_ms: Timestamp::now().millis(),
        };
        self.store
            .step_batch(batch.id, from_status, BatchStep::Submitted(submission))
            .await?;
        self.metrics.anchor_submissions.inc();
        tracing::info!(batch = batch.id, tx = %tx_hash, nonce, max_fee = fees.max_fee_per_gas, "anchor transaction submitted");
        self.chain.send(envelope).await?;
        Ok(())
    }

    /// Signs this batch's anchor() transaction with the given nonce and fees.
    async fn sign(
        &self,
        batch: &Batch,
        nonce: u64,
        fees: Fees,
    ) -> Result<(Hash32, TxEnvelope), ChainError> {
        self.chain
            .sign_anchor(
                &self.wallet,
                self.chain_id,
                nonce,
                fees,
                self.policy.gas_limit,
                batch.id,
                batch.first_index,
                batch.count,
                &batch.anchored_root(),
            )
            .await
    }

    fn capped(&self, fees: Fees) -> Fees {
        let cap = self.policy.max_fee_cap_wei;
        Fees {
            max_fee_per_gas: fees.max_fee_per_gas.min(cap),
            max_priority_fee_per_gas: fees
                .max_priority_fee_per_gas
                .min(fees.max_fee_per_gas)
                .min(cap),
        }
    }

    /// submitted → included, or a re-send.
    async fn check_submitted(&self, batch: &Batch) -> Result<Progress, AnchorError> {
        let Some(sub) = batch.submission.clone() else {
            return Err(StoreError::corrupt(format!(
                "batch {} is submitted without a transaction",
                batch.id
            ))
            .into());
        };
        if let Some(receipt) = self.chain.receipt(&sub.tx_hash).await? {
            let Some(number) = receipt.block_number else {
                return Ok(Progress::Waiting);
            };
            if !receipt.status() {
                // Mined but reverted: another transaction anchored first or
                // the key lost its role. Back to sealed; submit() reads the
                // chain and reports the decoded reason.
                self.metrics.anchor_reverts.inc();
                self.reset(
                    batch,
                    BatchStatus::Submitted,
                    format!("transaction {} reverted", sub.tx_hash),
                )
                .await?;
                return Ok(Progress::Advanced);
            }
            let Some((hash, time)) = self.chain.block(number).await? else {
                return Ok(Progress::Waiting);
            };
            if receipt.block_hash.map(to_hash32) != Some(hash) {
                return Ok(Progress::Waiting); // the receipt's block was just reorged; look again
            }
            let inclusion = Inclusion {
                block_number: number,
                block_hash: hash,
                block_time: time,
                at_ms: Timestamp::now().millis(),
            };
            self.store
                .step_batch(
                    batch.id,
                    BatchStatus::Submitted,
                    BatchStep::Included(inclusion),
                )
                .await?;
            tracing::info!(batch = batch.id, block = number, "anchor included");
            return Ok(Progress::Advanced);
        }
        // Not mined. Was the nonce used by another of our transactions (an
        // earlier fee level of this one, or something else)?
        if self.chain.mined_nonce(self.key.address()).await? > sub.nonce {
            if self.chain.batch_count().await? > batch.id {
                return self.adopt_from_chain(batch, BatchStatus::Submitted).await;
            }
            self.reset(
                batch,
                BatchStatus::Submitted,
                format!("nonce {} was used by another transaction", sub.nonce),
            )
            .await?;
            return Ok(Progress::Advanced);
        }
        // Unknown to the node (never sent, or dropped): send it again as is.
        if !self.chain.tx_known(&sub.tx_hash).await? {
            let fees = Fees {
                max_fee_per_gas: sub.max_fee_per_gas,
                max_priority_fee_per_gas: sub.max_priority_fee_per_gas,
            };
            let (again, envelope) = self.sign(batch, sub.nonce, fees).await?;
            debug_assert_eq!(again, sub.tx_hash, "deterministic signing");
            tracing::warn!(batch = batch.id, tx = %sub.tx_hash, "transaction unknown to the node; re-broadcasting");
            self.chain.send(envelope).await?;
            return Ok(Progress::Waiting);
        }
        // Known but stuck: replace it with the same nonce and higher fees.
        let waited = Timestamp::now().millis() - sub.at_ms;
        if waited >= self.policy.resend_after.as_millis() as i64 {
            let bump = |fee: u128| fee + fee * self.policy.fee_bump_percent / 100 + 1;
            let market = self.chain.fees().await?;
            let fees = self.capped(Fees {
                max_fee_per_gas: bump(sub.max_fee_per_gas).max(market.max_fee_per_gas),
                max_priority_fee_per_gas: bump(sub.max_priority_fee_per_gas)
                    .max(market.max_priority_fee_per_gas),
            });
            if fees.max_fee_per_gas > sub.max_fee_per_gas {
                self.metrics.anchor_fee_bumps.inc();
                tracing::warn!(
                    batch = batch.id,
                    nonce = sub.nonce,
                    waited_ms = waited,
                    new_max_fee = fees.max_fee_per_gas,
                    "anchor stuck; re-sending with higher fees"
                );
                self.sign_persist_send(batch, BatchStatus::Submitted, sub.nonce, fees)
                    .await?;
                return Ok(Progress::Advanced);
            }
            tracing::warn!(
                batch = batch.id,
                cap = self.policy.max_fee_cap_wei,
                "anchor stuck at the fee cap; waiting"
            );
        }
        Ok(Progress::Waiting)
    }

    /// included → final, or back to sealed if a reorg removed the block.
    async fn check_included(&self, batch: &Batch) -> Result<Progress, AnchorError> {
        let Some(inc) = batch.inclusion.clone() else {
            return Err(StoreError::corrupt(format!(
                "batch {} is included without a block",
                batch.id
            ))
            .into());
        };
        let canonical = self
            .chain
            .block(inc.block_number)
            .await?
            .map(|(hash, _)| hash);
        if canonical != Some(inc.block_hash) {
            self.metrics.anchor_reorgs.inc();
            tracing::warn!(
                batch = batch.id,
                block = inc.block_number,
                "anchoring block reorged out; re-anchoring"
            );
            self.reset(
                batch,
                BatchStatus::Included,
                format!("block {} reorged out", inc.block_number),
            )
            .await?;
            return Ok(Progress::Advanced);
        }
        let is_final = if self.policy.use_finalized_tag {
            self.chain
                .finalized_number()
                .await?
                .is_some_and(|f| f >= inc.block_number)
        } else {
            let tip = self.chain.block_number().await?;
            tip + 1 >= inc.block_number + self.policy.confirmations
        };
        if !is_final {
            return Ok(Progress::Waiting);
        }
        let now = Timestamp::now().millis();
        self.store
            .step_batch(
                batch.id,
                BatchStatus::Included,
                BatchStep::Final { at_ms: now },
            )
            .await?;
        self.metrics.anchor_final.inc();
        self.metrics
            .seal_to_final
            .observe((now - batch.sealed_at_ms).max(0) as f64 / 1000.0);
        self.observe_append_to_final(batch, now).await;
        tracing::info!(batch = batch.id, block = inc.block_number, "anchor final");
        Ok(Progress::Advanced)
    }

    /// The batch's oldest record (its first index: records are indexed in
    /// the order they were appended) waited longest; that wait goes into
    /// the append-to-final histogram. The batch is final either way: a
    /// failed read only costs the sample.
    async fn observe_append_to_final(&self, batch: &Batch, final_ms: i64) {
        match self.store.events_by_range(batch.first_index, 1).await {
            Ok(first) => {
                if let Some(e) = first.first() {
                    let waited_ms = (final_ms - e.recorded_at_ms).max(0);
                    self.metrics
                        .append_to_final
                        .observe(waited_ms as f64 / 1000.0);
                }
            }
            Err(e) => tracing::warn!(batch = batch.id, error = %e, "append-to-final not measured"),
        }
    }

    /// The chain already has this batch: check it is ours, then record where.
    async fn adopt_from_chain(
        &self,
        batch: &Batch,
        from: BatchStatus,
    ) -> Result<Progress, AnchorError> {
        let on_chain = self.chain.batch_head(batch.id).await?;
        if on_chain != batch.head {
            return Err(AnchorError::HeadConflict {
                id: batch.id,
                on_chain: on_chain.to_string(),
                ours: batch.head.to_string(),
            });
        }
        let log = self
            .chain
            .anchored_log(batch.id)
            .await?
            .ok_or(AnchorError::LogMissing { id: batch.id })?;
        let Some((hash, time)) = self.chain.block(log.block_number).await? else {
            return Ok(Progress::Waiting);
        };
        if hash != log.block_hash {
            return Ok(Progress::Waiting);
        }
        let inclusion = Inclusion {
            block_number: log.block_number,
            block_hash: hash,
            block_time: time,
            at_ms: Timestamp::now().millis(),
        };
        self.store
            .step_batch(batch.id, from, BatchStep::Included(inclusion))
            .await?;
        tracing::info!(batch = batch.id, block = log.block_number, tx = %log.tx_hash, "found batch already anchored on chain");
        Ok(Progress::Advanced)
    }

    async fn reset(
        &self,
        batch: &Batch,
        from: BatchStatus,
        reason: String,
    ) -> Result<(), AnchorError> {
        tracing::warn!(batch = batch.id, %reason, "batch back to sealed");
        self.store
            .step_batch(batch.id, from, BatchStep::Reset { reason })
            .await?;
        Ok(())
    }

    /// The anchoring loop: steps until `stop` turns true, backing off with
    /// jitter after errors (ingest and sealing carry on meanwhile).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        loop {
            let pause = match self.step().await {
                Ok(Progress::Advanced) => {
                    failures = 0;
                    self.metrics.anchor_failing_steps.set(0);
                    Duration::ZERO
                }
                Ok(_) => {
                    failures = 0;
                    self.metrics.anchor_failing_steps.set(0);
                    self.policy.poll
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    self.metrics.anchor_failing_steps.set(i64::from(failures));
                    if matches!(
                        e,
                        AnchorError::Chain(ChainError::Timeout { .. } | ChainError::Rpc { .. })
                    ) {
                        self.metrics.anchor_rpc_errors.inc();
                    }
                    tracing::error!(error = %e, failures, "anchor step failed");
                    if let Ok(Some(b)) = self.store.first_unfinal_batch().await {
                        let _ = self.store.note_batch_error(b.id, &e.to_string()).await;
                    }
                    self.backoff(failures)
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => {}
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .policy
            .retry_base
            .saturating_mul(1u32 << failures.min(16));
        let capped = exp.min(self.policy.retry_max);
        // Full jitter in [capped/2, capped].
        let ms = capped.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms.max(1)))
    }
}
