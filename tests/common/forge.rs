//! A dishonest operator's toolkit for the attack tests. It holds an anchorer
//! key, so it can write whatever records it likes, build their tree, anchor
//! the head on a contract it controls, and hand out bundles that claim
//! anything the protocol lets it claim. The verifier must see through it.

use std::collections::HashMap;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256};
use alloy::providers::ProviderBuilder;
use proofdesk::anchor::OperatorKey;
use proofdesk::anchor::contract::SupportAnchor;
use proofdesk::ingest::{ContentInput, new_handle};
use proofdesk::protocol::Hash32;
use proofdesk::protocol::append::{ChainTip, next_record};
use proofdesk::protocol::bundle::{Bundle, BundleBatch, BundleEvent, ChainRef};
use proofdesk::protocol::fields::{TicketHandle, Timestamp};
use proofdesk::protocol::hashing::batch_head;
use proofdesk::protocol::record::HashedRecord;
use proofdesk::protocol::state::Policy;
use proofdesk::protocol::tree::BatchTree;
use serde_json::Value;

pub struct Forger {
    pub rpc_url: String,
    pub key: OperatorKey,
    pub contract: Address,
    pub chain_id: u64,
    pub max_merge_delay_ms: u64,
    next_index: u64,
    next_batch: u64,
    batches: Vec<BundleBatch>,
    /// index → (batch id, audit path)
    anchored: HashMap<u64, (u64, Vec<Hash32>)>,
}

/// A ticket's chain as the forger is writing it.
pub struct ForgedTicket {
    pub handle: TicketHandle,
    pub tip: ChainTip,
    pub records: Vec<HashedRecord>,
}

impl ForgedTicket {
    /// The ticket as it was before its last `n` records (to fork it).
    pub fn fork_before_last(&self, n: usize) -> ForgedTicket {
        let keep = self.records.len() - n;
        let records = self.records[..keep].to_vec();
        let state = proofdesk::protocol::state::TicketState::replay(
            records.iter().map(|r| &r.data),
            &Policy::default(),
        )
        .expect("the kept records replay");
        ForgedTicket {
            handle: self.handle.clone(),
            tip: ChainTip {
                next_seq: keep as u64,
                last_leaf: records.last().map(|r| r.leaf).unwrap_or(Hash32::ZERO),
                state: Some(state),
            },
            records,
        }
    }
}

impl Forger {
    /// Deploys a SupportAnchor of the forger's own, with `key` as anchorer.
    pub async fn deploy(rpc_url: &str, key: OperatorKey) -> Forger {
        let (contract, _) =
            proofdesk::anchor::deploy::deploy(rpc_url, &key, None, Duration::from_secs(30))
                .await
                .expect("deploy the forger's contract");
        Forger::on(rpc_url, key, contract, 0, 0).await
    }

    /// Works on an existing contract whose next batch and index are given.
    pub async fn on(
        rpc_url: &str,
        key: OperatorKey,
        contract: Address,
        next_batch: u64,
        next_index: u64,
    ) -> Forger {
        let chain =
            proofdesk::anchor::Chain::connect(rpc_url, contract, Duration::from_secs(5)).unwrap();
        Forger {
            rpc_url: rpc_url.to_owned(),
            key,
            contract,
            chain_id: chain.chain_id().await.unwrap(),
            max_merge_delay_ms: 60_000,
            next_index,
            next_batch,
            batches: Vec::new(),
            anchored: HashMap::new(),
        }
    }

    pub fn ticket(&self) -> ForgedTicket {
        ForgedTicket {
            handle: new_handle(),
            tip: ChainTip::EMPTY,
            records: Vec::new(),
        }
    }

    /// Writes the ticket's next record, as if recorded at `recorded_at`.
    pub fn record(
        &mut self,
        t: &mut ForgedTicket,
        event_type: &str,
        data: Value,
        recorded_at: Timestamp,
    ) -> HashedRecord {
        self.record_with_text(t, event_type, data, recorded_at, None)
            .0
    }

    /// Like `record`, committing to `text` with a fresh salt (returned).
    pub fn record_with_text(
        &mut self,
        t: &mut ForgedTicket,
        event_type: &str,
        data: Value,
        recorded_at: Timestamp,
        text: Option<&str>,
    ) -> (HashedRecord, Option<Hash32>) {
        let mut input = super::input(event_type, data);
        input.content = text.map(|t| ContentInput::Text(t.to_owned()));
        let request = super::req(&t.handle, input);
        let salt = request.content.as_ref().map(|(salt, _)| Hash32(*salt));
        let mut draft = request.draft;
        draft.occurred_at = recorded_at;
        let (hashed, state) = next_record(
            &t.handle,
            &t.tip,
            &draft,
            self.next_index,
            recorded_at,
            &Policy::default(),
        )
        .expect("the forged story follows the state machine");
        self.next_index += 1;
        t.tip = t.tip.advance(hashed.leaf, state);
        t.records.push(hashed.clone());
        (hashed, salt)
    }

    /// Skips `n` indices (other tickets' records, in a real log).
    pub fn skip(&mut self, n: u64) {
        self.next_index += n;
    }

    /// Anchors the records (contiguous indices, in order) as the next batch
    /// and remembers every path. Returns the batch.
    pub async fn anchor(&mut self, records: &[&HashedRecord]) -> BundleBatch {
        let first_index = records[0].record.index;
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.record.index, first_index + i as u64, "contiguous");
        }
        let leaves: Vec<Hash32> = records.iter().map(|r| r.leaf).collect();
        let tree = BatchTree::build(&leaves).unwrap();
        let (id, count, root) = (self.next_batch, leaves.len() as u64, tree.root());
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.key.signer().clone()))
            .connect_http(self.rpc_url.parse().unwrap());
        let contract = SupportAnchor::new(self.contract, &provider);
        let receipt = tokio::time::timeout(Duration::from_secs(30), async {
            contract
                .anchor(id, first_index, count, B256::from(root.0))
                .send()
                .await
                .expect("anchor() sent")
                .get_receipt()
                .await
                .expect("anchor() mined")
        })
        .await
        .expect("anchor() mined within 30 s");
        assert!(receipt.status(), "anchor() reverted");
        for (pos, r) in records.iter().enumerate() {
            let path = tree.audit_path(pos as u64).unwrap();
            self.anchored.insert(r.record.index, (id, path));
        }
        let batch = BundleBatch {
            id,
            first_index,
            count,
            root,
            head: batch_head(id, first_index, count, &root),
            tx: Some(Hash32(receipt.transaction_hash.0)),
            block: receipt.block_number,
            status: "final".into(),
            map_root: None,
        };
        self.batches.push(batch.clone());
        self.next_batch += 1;
        batch
    }

    /// The bundle the forger hands out for these records: anchored ones with
    /// their batch and path, the others as pending.
    pub fn bundle(&self, handle: &TicketHandle, records: &[HashedRecord]) -> Bundle {
        let mut used: Vec<u64> = Vec::new();
        let events = records
            .iter()
            .map(|r| {
                let (batch, path) = match self.anchored.get(&r.record.index) {
                    Some((id, path)) => {
                        if !used.contains(id) {
                            used.push(*id);
                        }
                        (Some(*id), path.clone())
                    }
                    None => (None, Vec::new()),
                };
                BundleEvent {
                    record: r.record.to_value(),
                    leaf: r.leaf,
                    batch,
                    path,
                }
            })
            .collect();
        Bundle {
            version: 1,
            ticket: handle.clone(),
            chain: ChainRef {
                chain_id: self.chain_id,
                contract: format!("{:#x}", self.contract),
                anchorer: format!("{:#x}", self.key.address()),
            },
            max_merge_delay_ms: self.max_merge_delay_ms,
            policy: Policy::default(),
            batches: self
                .batches
                .iter()
                .filter(|b| used.contains(&b.id))
                .cloned()
                .collect(),
            events,
            map: None,
        }
    }
}

/// Now minus `secs` seconds.
pub fn ago(secs: i64) -> Timestamp {
    Timestamp::from_millis(Timestamp::now().millis() - secs * 1000).unwrap()
}
