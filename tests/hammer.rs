//! The verifying hammer against a live node: `proofdesk hammer` (the real
//! binary) appends at a set rate while its readers verify random tickets'
//! bundles and receipts against the chain, and must exit 0 with zero
//! failures. PROOFDESK_HAMMER_SECS sets the duration (60 s by default).
//!
//! And the hammer can fail: pointed at a chain that does not hold the log's
//! contract, it reports failures and exits 1.

use std::time::Duration;

use proofdesk::devnet::Anvil;
use proofdesk_testkit::TestApp;
use serde_json::Value;

/// A node as a platform runs one: batches of up to 1024 sealed each
/// second, final after two blocks; the hammer's key may only ingest.
async fn live_node() -> TestApp {
    TestApp::builder()
        .seal(1024, Duration::from_millis(1000))
        .confirmations(2)
        .scopes(&["ingest"])
        .with_config(|c| c.anchor.poll = Duration::from_millis(200))
        .spawn()
        .await
}

async fn hammer(url: &str, key: &str, rpc: &str, secs: u64) -> (Option<i32>, Value, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args([
            "hammer",
            "--log",
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
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hammer_fails_against_a_chain_without_the_log() {
    let live = live_node().await;
    // Another chain with the same id, on which the contract does not exist.
    let other = Anvil::start(0, None).await.expect("anvil");
    let (code, report, stderr) = hammer(&live.node.url(), &live.key, &other.url(), 8).await;
    assert_eq!(code, Some(1), "{report}\n{stderr}");
    assert!(report["failures"].as_u64().unwrap() > 0, "{report}");
    other.stop().await;
    live.stop().await;
}
