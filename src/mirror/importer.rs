//! Taking anchored batches from a source that is not trusted (a log being
//! mirrored, a saved audit or a mirror's export used to recover a node)
//! into a store, one batch at a time, each verified against the chain
//! before it is written.
//!
//! The checks are the audit's (`audit::check::Checker`: records, ticket
//! chains, the state machine, audit paths, batch heads), placed by the
//! chain's own layout (`audit::layout`): a batch is written only when every
//! one of its indices was read, checked and its head equals `batchHead` on
//! chain. The checker continues from the store's own tickets, so a store
//! that already holds part of the log (a mirror restarting, a node restored
//! from a backup) is extended, never rebuilt.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, bail};

use crate::anchor::Chain;
use crate::audit::chain_view::{self, ChainView};
use crate::audit::check::{Checker, ClosedBatch, Failure, Line, OnChain, failed_ranges};
use crate::log::import::{AnchorFacts, ImportedBatch, ImportedRecord, ImportedTip};
use crate::log::tiles::tiles;
use crate::log::{DynStore, NewBatch};
use crate::protocol::Hash32;
use crate::protocol::append::ChainTip;
use crate::protocol::fields::{TicketHandle, Timestamp};
use crate::protocol::record::HashedRecord;
use crate::protocol::state::{Policy, TicketState};
use crate::protocol::tree::BatchTree;

struct Sent {
    nonce: u64,
    max_fee_per_gas: u128,
    max_priority_fee_per_gas: u128,
}

/// What feeding one line did.
#[derive(Debug)]
pub enum Fed {
    /// The line is checked; its batch is not complete yet.
    Read,
    /// A batch was verified and written.
    Imported { batch: u64, end: u64 },
    /// A batch did not verify: nothing of it was written. The failures
    /// name the indices.
    Refused { batch: u64, failures: Vec<Failure> },
}

pub struct Importer {
    store: DynStore,
    chain: Chain,
    view: ChainView,
    checker: Checker,
    /// The open batch's records, as read.
    pending: Vec<ImportedRecord>,
    touched: BTreeSet<String>,
    /// When each ticket first appeared (for a ticket the store lacks).
    first_seen: HashMap<String, String>,
    placeholder: &'static str,
    blocks: BTreeMap<u64, (Hash32, u64)>,
    failures_seen: usize,
    /// Tickets of the batches imported since [`Importer::take_imported_tickets`].
    imported_tickets: BTreeSet<String>,
}

impl Importer {
    /// An importer into `store` of what the chain anchored beyond it.
    /// `placeholder` prefixes the external id of a ticket the store does
    /// not know ("mirror", "recovered").
    /// `map` is the ticket map of the store's batches when the caller
    /// already holds one (a mirror that serves bundles): it is brought up
    /// to date instead of rebuilt from the records a second time.
    pub async fn start(
        store: DynStore,
        chain: Chain,
        policy: Policy,
        placeholder: &'static str,
        map: Option<&crate::seal::MapState>,
    ) -> anyhow::Result<Importer> {
        let view = chain_view::read(&chain).await?;
        let stats = store.stats().await?;
        // The store's batches must be the chain's: a store of another log
        // (or of a fork) is never extended.
        let ours = store.batches(0, u64::MAX >> 1).await?;
        for b in &ours {
            let Some(ev) = view.layout.batches().get(b.id as usize) else {
                break;
            };
            if (ev.first_index, ev.count, ev.root) != (b.first_index, b.count, b.anchored_root()) {
                bail!(
                    "this store's batch {} (indices {}+{}, root {}) is not the chain's (indices {}+{}, root {}): it is not a copy of this log",
                    b.id,
                    b.first_index,
                    b.count,
                    b.root,
                    ev.first_index,
                    ev.count,
                    ev.root
                );
            }
        }
        let first = stats.sealed;
        let mut checker = Checker::new(first, view.layout.next_index(), policy, None);
        for t in store.all_tickets().await? {
            checker.seed(t.handle.as_str(), &t.tip);
        }
        // The ticket map of the batches held, rebuilt (and every stored map
        // root checked), for the replay to continue.
        if first > 0 {
            let own;
            let map = match map {
                Some(m) => m,
                None => {
                    own = crate::seal::MapState::new();
                    &own
                }
            };
            map.catch_up(store.as_ref()).await?;
            checker.seed_map(map.latest().1);
        }
        // Records the store holds past its last batch (appended, never
        // sealed) are read again from the source: their tickets' tips are
        // taken back to where the sealed part ends.
        if stats.size > stats.sealed {
            let kept = store.events_by_range(first, stats.size - first).await?;
            let handles: BTreeSet<&TicketHandle> = kept.iter().map(|e| &e.ticket).collect();
            for h in handles {
                let tip = tip_before(&store, h, first, policy).await?;
                checker.seed(h.as_str(), &tip);
            }
        }
        Ok(Importer {
            store,
            chain,
            view,
            checker,
            pending: Vec::new(),
            touched: BTreeSet::new(),
            first_seen: HashMap::new(),
            placeholder,
            blocks: BTreeMap::new(),
            failures_seen: 0,
            imported_tickets: BTreeSet::new(),
        })
    }

    /// The next index to read.
    pub fn next_index(&self) -> u64 {
        self.checker.next_index()
    }

    /// The end of what the chain anchors (at the block it was read at).
    pub fn end(&self) -> u64 {
        self.view.layout.next_index()
    }

    pub fn done(&self) -> bool {
        self.checker.done()
    }

    /// The chain's word as last read.
    pub fn view(&self) -> &ChainView {
        &self.view
    }

    /// The tickets of the batches imported since the last call.
    pub fn take_imported_tickets(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.imported_tickets)
    }

    /// Reads the chain again, so the range goes on to what it anchors now.
    pub async fn refresh(&mut self) -> anyhow::Result<()> {
        let view = chain_view::read(&self.chain).await?;
        self.checker.extend_to(view.layout.next_index());
        self.view = view;
        Ok(())
    }

    /// One export line (`{"batch","path","record"}`), in index order.
    pub async fn feed(&mut self, raw: &[u8]) -> anyhow::Result<Fed> {
        let layout = &self.view.layout;
        let index = self.checker.next_index();
        let Some(batch) = layout.batch_of(index).copied() else {
            bail!("index {index} is past what the chain anchors");
        };
        let line = std::str::from_utf8(raw)
            .map_err(|_| "the line is not UTF-8".to_owned())
            .and_then(Line::parse);
        let closed = match line {
            Ok(line) => {
                let parsed = HashedRecord::from_value(&line.record);
                if let Ok(h) = &parsed {
                    let handle = h.record.ticket.as_str().to_owned();
                    self.first_seen
                        .entry(handle.clone())
                        .or_insert_with(|| h.record.recorded_at.to_string());
                    self.touched.insert(handle);
                    self.pending.push(ImportedRecord {
                        index: h.record.index,
                        ticket: h.record.ticket.clone(),
                        seq: h.record.seq,
                        record: String::from_utf8(h.canonical.clone())?,
                        leaf: h.leaf,
                        recorded_at_ms: h.record.recorded_at.millis(),
                    });
                }
                self.checker.feed_hashed(line, parsed, layout)
            }
            Err(e) => self.checker.feed_unparsable(layout, e),
        };
        let end = batch.first_index + batch.count;
        let closed = match closed {
            Some(c) => Some(c),
            None if self.checker.next_index() >= end => self.checker.close_batch(),
            None => None,
        };
        match closed {
            Some(c) => self.finish_batch(c).await,
            None => Ok(Fed::Read),
        }
    }

    /// The source ended: whatever batch is open is incomplete.
    pub async fn finish(&mut self) -> anyhow::Result<Option<Fed>> {
        let closed = self.checker.finish_stream(&self.view.layout, None);
        match closed {
            Some(c) => self.finish_batch(c).await.map(Some),
            None => Ok(None),
        }
    }

    async fn block(&mut self, number: u64) -> anyhow::Result<(Hash32, u64)> {
        if let Some(b) = self.blocks.get(&number) {
            return Ok(*b);
        }
        let b = self
            .chain
            .block(number)
            .await?
            .with_context(|| format!("the RPC has no block {number}"))?;
        if self.blocks.len() > 1024 {
            self.blocks.clear();
        }
        self.blocks.insert(number, b);
        Ok(b)
    }

    /// The anchoring transaction's nonce and fees, as the chain has them.
    async fn transaction(&self, tx: Hash32) -> anyhow::Result<Sent> {
        use alloy::consensus::Transaction as _;
        use alloy::providers::Provider;
        let found = tokio::time::timeout(
            self.chain.timeout,
            self.chain
                .provider()
                .get_transaction_by_hash(crate::anchor::chain::to_b256(&tx)),
        )
        .await
        .with_context(|| format!("eth_getTransactionByHash({tx}) timed out"))??
        .with_context(|| format!("the RPC does not know the anchoring transaction {tx}"))?;
        Ok(Sent {
            nonce: found.nonce(),
            max_fee_per_gas: found.max_fee_per_gas(),
            max_priority_fee_per_gas: found.max_priority_fee_per_gas().unwrap_or(0),
        })
    }

    async fn finish_batch(&mut self, closed: ClosedBatch) -> anyhow::Result<Fed> {
        let id = closed.id;
        let ev = *self
            .view
            .layout
            .batches()
            .get(id as usize)
            .context("a batch the chain's layout lacks")?;
        let head = self.chain.batch_head(id).await?;
        let (block_hash, block_time) = self.block(ev.block).await?;
        let records = std::mem::take(&mut self.pending);
        let touched = std::mem::take(&mut self.touched);
        let leaves = closed.leaves.clone();
        self.checker.batch_checked(
            closed,
            OnChain {
                head: (head != Hash32::ZERO).then_some(head),
                anchored_at_ms: i64::try_from(block_time).ok().map(|t| t * 1000),
                claimed_map_root: None,
            },
        );
        // The map root the chain's head commits, as this copy's own replay
        // of the map gave it (None for a v1 head).
        let map_root = self
            .checker
            .verified_batches
            .last()
            .filter(|v| v.id == id)
            .and_then(|v| v.map_root);
        let new: Vec<Failure> = self.checker.failures[self.failures_seen..].to_vec();
        self.failures_seen = self.checker.failures.len();
        let end = ev.first_index + ev.count;
        let in_batch = failed_ranges(&new)
            .iter()
            .any(|(a, z)| *a < end && *z >= ev.first_index);
        if in_batch || records.len() as u64 != ev.count {
            return Ok(Fed::Refused {
                batch: id,
                failures: new,
            });
        }
        let sent = self.transaction(ev.tx).await?;
        let tree = BatchTree::from_leaves(leaves)?;
        self.imported_tickets.extend(touched.iter().cloned());
        let mut tips = Vec::with_capacity(touched.len());
        for handle in touched {
            let tip = self
                .checker
                .tip(&handle)
                .context("a ticket the checker has not seen")?;
            let created_at = self
                .first_seen
                .remove(&handle)
                .unwrap_or_else(|| Timestamp::now().to_string());
            tips.push(ImportedTip {
                external_id: format!("{}:{handle}", self.placeholder),
                handle: TicketHandle::parse(&handle).map_err(|e| anyhow::anyhow!("{e}"))?,
                created_at,
                tip,
            });
        }
        self.store
            .import_batch(ImportedBatch {
                batch: NewBatch {
                    id,
                    first_index: ev.first_index,
                    count: ev.count,
                    root: tree.root(),
                    head,
                    sealed_at_ms: i64::try_from(block_time).unwrap_or(0) * 1000,
                    tiles: tiles(&tree),
                    map_root,
                },
                anchored: AnchorFacts {
                    tx: ev.tx,
                    nonce: sent.nonce,
                    max_fee_per_gas: sent.max_fee_per_gas,
                    max_priority_fee_per_gas: sent.max_priority_fee_per_gas,
                    block_number: ev.block,
                    block_hash,
                    block_time,
                },
                records,
                tips,
            })
            .await?;
        Ok(Fed::Imported { batch: id, end })
    }
}

/// A ticket's tip just before index `before`, replayed from the records
/// the store holds.
async fn tip_before(
    store: &DynStore,
    handle: &TicketHandle,
    before: u64,
    policy: Policy,
) -> anyhow::Result<ChainTip> {
    let mut tip = ChainTip::EMPTY;
    for e in store.events_by_ticket(handle).await? {
        if e.index >= before {
            break;
        }
        let h = HashedRecord::from_value(&serde_json::from_str(&e.record)?)?;
        let state = match &tip.state {
            None => TicketState::start(&h.data)?,
            Some(s) => s.apply(&h.data, &policy)?,
        };
        tip = ChainTip {
            next_seq: e.seq + 1,
            last_leaf: e.leaf,
            state: Some(state),
        };
    }
    Ok(tip)
}
