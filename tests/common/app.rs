//! A running Proofdesk node for end-to-end stories: anvil with one-second
//! blocks, the contract deployed, the node on a fresh SQLite file and an API
//! key, plus the HTTP calls a platform and a complainant make.

use std::time::Duration;

use alloy::primitives::Address;
use proofdesk::anchor::{AnchorPolicy, OperatorKey};
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk::node::{Node, NodeConfig};
use proofdesk::protocol::bundle::Bundle;
use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::receipt::SignedReceipt;
use proofdesk::protocol::state::Policy;
use proofdesk::seal::SealPolicy;
use proofdesk::verify::{VerifyOptions, VerifyReport, verify_bundle};
use serde_json::{Value, json};

pub struct TestApp {
    pub node: Node,
    pub anvil: Anvil,
    pub http: reqwest::Client,
    pub key: String,
    pub contract: Address,
    _dir: tempfile::TempDir,
}

pub struct AppBuilder {
    seal: SealPolicy,
    database: Option<String>,
}

impl AppBuilder {
    /// Seal at `max_batch` events or when the oldest is `max_age` old.
    pub fn seal(mut self, max_batch: u64, max_age: Duration) -> AppBuilder {
        self.seal = SealPolicy { max_batch, max_age };
        self
    }

    /// The node's database URL (default: a fresh SQLite file).
    pub fn database(mut self, url: Option<String>) -> AppBuilder {
        self.database = url;
        self
    }

    pub async fn spawn(self) -> TestApp {
        let anvil = Anvil::start(0, Some(1))
            .await
            .expect("anvil (run scripts/install-toolchain.sh)");
        let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
        let (contract, block) = proofdesk::anchor::deploy::deploy(
            &anvil.url(),
            &operator,
            None,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            database_url: self
                .database
                .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("e2e.db").display())),
            listen: "127.0.0.1:0".parse().unwrap(),
            rpc_url: anvil.url(),
            contract,
            from_block: block,
            rpc_timeout: Duration::from_secs(5),
            max_merge_delay: Duration::from_secs(60),
            seal: self.seal,
            anchor: AnchorPolicy {
                confirmations: 1,
                poll: Duration::from_millis(100),
                ..AnchorPolicy::default()
            },
            policy: Policy::default(),
            leader: Default::default(),
            public_rpc: None,
        };
        let node = Node::start(config, operator).await.unwrap();
        let key = proofdesk::api::auth::create_key(
            node.store.as_ref(),
            &["ingest".into(), "audit".into()],
            "e2e",
        )
        .await
        .unwrap();
        TestApp {
            node,
            anvil,
            http: reqwest::Client::new(),
            key,
            contract,
            _dir: dir,
        }
    }
}

impl TestApp {
    /// Small batches sealed quickly: a lifecycle spans several batches.
    pub fn builder() -> AppBuilder {
        AppBuilder {
            seal: SealPolicy {
                max_batch: 4,
                max_age: Duration::from_millis(200),
            },
            database: None,
        }
    }

    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.node.url()))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.node.url()))
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

    /// Waits (bounded, 30 s) until the first `n` events are anchored.
    pub async fn bundle_anchored_through(&self, handle: &str, n: usize) -> Bundle {
        for _ in 0..120 {
            let b = self.bundle(handle).await;
            if b.events.len() >= n && b.events[..n].iter().all(|e| b.log_says_anchored(e)) {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("{n} events of {handle} not anchored within 30 s");
    }

    /// Waits (bounded) until every event of the ticket is anchored.
    pub async fn anchored_bundle(&self, handle: &str) -> Bundle {
        let n = self.bundle(handle).await.events.len();
        self.bundle_anchored_through(handle, n).await
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

    pub async fn stop(self) {
        self.node.shutdown().await;
        self.anvil.stop().await;
    }
}

/// The signed receipt in an append response.
pub fn receipt_in(body: &Value) -> SignedReceipt {
    proofdesk::verify::receipt::from_append_answer(body)
        .expect("the response holds a signed receipt")
}

/// An event as a platform sends it, happening now.
pub fn event(t: &str, data: Value, role: &str) -> Value {
    json!({"type": t, "data": data, "actor": {"role": role, "ref": format!("{role}-1")}, "channel": "email",
           "occurred_at": Timestamp::now().to_string()})
}

/// Every problem in a report, bundle-level and per event, in one line.
pub fn problems(r: &VerifyReport) -> String {
    let mut all = r.problems.join(" | ");
    for e in &r.events {
        for p in &e.check.problems {
            all.push_str(" | ");
            all.push_str(p);
        }
    }
    all
}
