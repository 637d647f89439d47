//! A running node for end-to-end stories. `TestApp::builder()` gives anvil
//! with one-second blocks, the contract deployed, the node on a fresh SQLite
//! file with small batches sealed quickly, and one API key; each option a
//! suite needs is a builder method, and anything else is `with_config`.

use std::time::Duration;

use alloy::primitives::Address;
use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk::node::{Node, NodeConfig};
use proofdesk::protocol::bundle::Bundle;
use proofdesk::protocol::receipt::SignedReceipt;
use proofdesk::seal::SealPolicy;
use proofdesk::verify::{VerifyOptions, VerifyReport, verify_bundle};
use serde_json::{Value, json};

use crate::db::TestDb;
use crate::events::receipt_in;

type Configure = Box<dyn FnOnce(&mut NodeConfig) + Send>;

pub struct TestApp {
    pub node: Node,
    pub anvil: Anvil,
    pub http: reqwest::Client,
    /// The key the builder made (scopes: `AppBuilder::scopes`).
    pub key: String,
    pub contract: Address,
    /// The block the contract was deployed in.
    pub from_block: u64,
    pub db: TestDb,
}

pub struct AppBuilder {
    db: Option<TestDb>,
    scopes: Vec<String>,
    seal: SealPolicy,
    confirmations: u64,
    suggest_own_rpc: bool,
    configure: Vec<Configure>,
}

impl AppBuilder {
    /// The node's database (default: a fresh SQLite file). The app owns it
    /// and drops a PostgreSQL database in `stop`.
    pub fn database(mut self, db: TestDb) -> AppBuilder {
        self.db = Some(db);
        self
    }

    /// The scopes of `TestApp::key` (default: ingest and audit).
    pub fn scopes(mut self, scopes: &[&str]) -> AppBuilder {
        self.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Seal at `max_batch` events or when the oldest is `max_age` old
    /// (default: 4 events or 200 ms, so a lifecycle spans several batches).
    pub fn seal(mut self, max_batch: u64, max_age: Duration) -> AppBuilder {
        self.seal = SealPolicy { max_batch, max_age };
        self
    }

    /// Blocks on top of an anchor before its batch is final (default 1).
    pub fn confirmations(mut self, n: u64) -> AppBuilder {
        self.confirmations = n;
        self
    }

    /// The log suggests its own anvil as `public_rpc` in GET /v1/log, as
    /// `proofdesk dev` does (default: it suggests none).
    pub fn public_rpc(mut self) -> AppBuilder {
        self.suggest_own_rpc = true;
        self
    }

    /// Any other change to the node's configuration, applied last.
    pub fn with_config(mut self, f: impl FnOnce(&mut NodeConfig) + Send + 'static) -> AppBuilder {
        self.configure.push(Box::new(f));
        self
    }

    pub async fn spawn(self) -> TestApp {
        let anvil = Anvil::start(0, Some(1))
            .await
            .expect("anvil (run scripts/install-toolchain.sh)");
        let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
        let (contract, from_block) = proofdesk::anchor::deploy::deploy(
            &anvil.url(),
            &operator,
            None,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        let db = match self.db {
            Some(db) => db,
            None => TestDb::sqlite().await,
        };
        let mut config = NodeConfig::local(db.url.clone(), anvil.url(), contract, from_block);
        config.seal = self.seal;
        config.anchor.confirmations = self.confirmations;
        if self.suggest_own_rpc {
            config.public_rpc = Some(anvil.url());
        }
        for f in self.configure {
            f(&mut config);
        }
        let node = Node::start(config, operator).await.unwrap();
        let key = proofdesk::api::auth::create_key(node.store.as_ref(), &self.scopes, "test")
            .await
            .unwrap();
        TestApp {
            node,
            anvil,
            http: reqwest::Client::new(),
            key,
            contract,
            from_block,
            db,
        }
    }
}

impl TestApp {
    pub fn builder() -> AppBuilder {
        AppBuilder {
            db: None,
            scopes: vec!["ingest".into(), "audit".into()],
            seal: SealPolicy {
                max_batch: 4,
                max_age: Duration::from_millis(200),
            },
            confirmations: 1,
            suggest_own_rpc: false,
            configure: Vec::new(),
        }
    }

    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    /// The node's base URL.
    pub fn url(&self) -> String {
        self.node.url()
    }

    /// The contract's address as the page and the CLI take it (0x, lower case).
    pub fn contract_hex(&self) -> String {
        format!("{:#x}", self.contract)
    }

    /// Another API key with `scopes`.
    pub async fn create_key(&self, scopes: &[&str], label: &str) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        proofdesk::api::auth::create_key(self.node.store.as_ref(), &scopes, label)
            .await
            .unwrap()
    }

    /// A request with the app's key; the status and the JSON answer (Null
    /// when the body is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url()))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// POST with the app's key.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// GET without a key, as a complainant reads.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url()))
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    /// Opens a ticket for the platform's `external_id`; returns its handle.
    pub async fn create_ticket(&self, external_id: &str) -> String {
        let (status, body) = self
            .post("/v1/tickets", json!({"external_id": external_id}))
            .await;
        assert_eq!(status, 201, "{body}");
        body["ticket"].as_str().unwrap().to_owned()
    }

    /// Records one event and returns its signed receipt.
    pub async fn append(&self, handle: &str, event: Value) -> SignedReceipt {
        let (status, body) = self
            .post(&format!("/v1/tickets/{handle}/events"), event)
            .await;
        assert_eq!(status, 201, "{body}");
        receipt_in(&body)
    }

    pub async fn bundle(&self, handle: &str) -> Bundle {
        let (status, body) = self.get(&format!("/v1/tickets/{handle}/proof")).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// Waits (bounded, 40 s) until the first `n` events are anchored.
    pub async fn bundle_anchored_through(&self, handle: &str, n: usize) -> Bundle {
        for _ in 0..160 {
            let b = self.bundle(handle).await;
            if b.events.len() >= n && b.events[..n].iter().all(|e| b.log_says_anchored(e)) {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("{n} events of {handle} not anchored within 40 s");
    }

    /// Waits (bounded) until every event of the ticket is anchored.
    pub async fn anchored_bundle(&self, handle: &str) -> Bundle {
        let n = self.bundle(handle).await.events.len();
        self.bundle_anchored_through(handle, n).await
    }

    /// Waits (bounded, 40 s) until every event is anchored and the bundle's
    /// map proof is at a batch holding the last one (the log proves against
    /// its latest final batch, read at most every half second): the bundle
    /// is then complete as of its map's batch through its last event.
    pub async fn complete_bundle(&self, handle: &str) -> Bundle {
        let anchored = self.anchored_bundle(handle).await;
        let last = anchored.events.last().and_then(|e| e.batch);
        for _ in 0..160 {
            let b = self.bundle(handle).await;
            if b.map.as_ref().is_some_and(|m| Some(m.batch) >= last) {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("no bundle of {handle} with a map proof at batch {last:?} within 40 s");
    }

    /// Verification options of a careful user: the contract the platform
    /// publishes, the user's own RPC.
    pub fn options(&self) -> VerifyOptions {
        let mut o = VerifyOptions::new(self.anvil.url(), self.contract);
        o.timeout = Duration::from_secs(5);
        o
    }

    pub async fn verify_with(&self, bundle: &Bundle, options: &VerifyOptions) -> VerifyReport {
        verify_bundle(bundle, options).await.unwrap()
    }

    pub async fn verify(&self, bundle: &Bundle, expected: Address) -> VerifyReport {
        let mut o = self.options();
        o.expected_contract = Some(expected);
        self.verify_with(bundle, &o).await
    }

    /// Stops the node and the chain, and drops a PostgreSQL database.
    pub async fn stop(self) {
        self.node.shutdown().await;
        self.anvil.stop().await;
        self.db.cleanup().await;
    }
}
