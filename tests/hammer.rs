//! The verifying hammer against a live node: `proofdesk hammer` (the real
//! binary) appends at a set rate while its readers verify random tickets'
//! bundles and receipts against the chain, and must exit 0 with zero
//! failures. PROOFDESK_HAMMER_SECS sets the duration (60 s by default).
//!
//! And the hammer can fail: pointed at a chain that does not hold the log's
//! contract, it reports failures and exits 1.

use std::time::Duration;

use proofdesk::anchor::{AnchorPolicy, OperatorKey};
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk::node::{Node, NodeConfig};
use proofdesk::protocol::state::Policy;
use proofdesk::seal::SealPolicy;
use serde_json::Value;

struct Live {
    node: Node,
    anvil: Anvil,
    key: String,
    _dir: tempfile::TempDir,
}

async fn live_node() -> Live {
    let anvil = Anvil::start(0, Some(1)).await.expect("anvil");
    let operator = OperatorKey::parse(DEV_KEYS[0]).unwrap();
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &operator, None, Duration::from_secs(30))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig {
        database_url: format!("sqlite://{}", dir.path().join("hammer.db").display()),
        listen: "127.0.0.1:0".parse().unwrap(),
        rpc_url: anvil.url(),
        contract,
        from_block: block,
        rpc_timeout: Duration::from_secs(5),
        max_merge_delay: Duration::from_secs(60),
        seal: SealPolicy {
            max_batch: 1024,
            max_age: Duration::from_millis(1000),
        },
        anchor: AnchorPolicy {
            confirmations: 2,
            poll: Duration::from_millis(200),
            ..AnchorPolicy::default()
        },
        policy: Policy::default(),
        leader: Default::default(),
        public_rpc: None,
    };
    let node = Node::start(config, operator).await.unwrap();
    let key = proofdesk::api::auth::create_key(node.store.as_ref(), &["ingest".into()], "hammer")
        .await
        .unwrap();
    Live {
        node,
        anvil,
        key,
        _dir: dir,
    }
}

async fn hammer(url: &str, key: &str, rpc: &str, secs: u64) -> (Option<i32>, Value, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args([
            "hammer",
            "--url",
            url,
            "--rpc",
            rpc,
            "--duration",
            &secs.to_string(),
            "--write-rate",
            "20",
            "--writers",
            "4",
            "--readers",
            "2",
            "--tickets",
            "16",
            "--json",
        ])
        .env("PROOFDESK_API_KEY", key)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run proofdesk hammer");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code(), report, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hammer_verifies_everything_it_writes_against_the_chain() {
    let live = live_node().await;
    let secs = std::env::var("PROOFDESK_HAMMER_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60u64);
    let (code, report, stderr) = hammer(&live.node.url(), &live.key, &live.anvil.url(), secs).await;
    eprintln!("hammer report ({secs} s): {report}");
    assert_eq!(code, Some(0), "hammer failed: {report}\n{stderr}");
    assert_eq!(report["failures"], 0, "{report}");
    assert_eq!(report["write_errors"], 0, "{report}");
    assert!(report["bundles_verified"].as_u64().unwrap() > 0, "{report}");
    assert!(report["receipts_checked"].as_u64().unwrap() > 0, "{report}");
    // Everything the hammer wrote is in the log it verified.
    let stats = live.node.store.stats().await.unwrap();
    assert_eq!(stats.size, report["writes"].as_u64().unwrap(), "{report}");
    live.node.shutdown().await;
    live.anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hammer_fails_against_a_chain_without_the_log() {
    let live = live_node().await;
    // Another chain with the same id, on which the contract does not exist.
    let other = Anvil::start(0, None).await.expect("anvil");
    let (code, report, stderr) = hammer(&live.node.url(), &live.key, &other.url(), 8).await;
    assert_eq!(code, Some(1), "{report}\n{stderr}");
    assert!(report["failures"].as_u64().unwrap() > 0, "{report}");
    live.node.shutdown().await;
    other.stop().await;
    live.anvil.stop().await;
}
