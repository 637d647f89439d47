//! /docs renders in a real browser (headless Chromium from the Debian
//! package; scripts/install-browser.sh, PROOFDESK_CHROMIUM) under its own
//! strict CSP: the vendored Redoc loads, fetches /openapi.json from this
//! origin and shows every operation.

mod api_support;
mod common;

use std::process::Command;

use api_support::ApiServer;
use common::TestDb;

fn chromium() -> Option<String> {
    if let Ok(p) = std::env::var("PROOFDESK_CHROMIUM") {
        return Some(p);
    }
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .ok()?;
    let path = String::from_utf8(found.stdout).ok()?.trim().to_owned();
    (!path.is_empty()).then_some(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_renders_every_operation_in_a_browser() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "SKIPPED: no Chromium (run scripts/install-browser.sh or set PROOFDESK_CHROMIUM)"
        );
        return;
    };
    let db = TestDb::sqlite().await;
    let app = ApiServer::start(db.store.clone()).await;
    let profile = tempfile::tempdir().unwrap();
    let url = app.url("/docs");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(chrome)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let doc = proofdesk::api::openapi::document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let summary = op["summary"].as_str().unwrap_or("");
            let words: String = summary.chars().take(20).collect();
            assert!(!words.is_empty(), "{method} {path} has a summary");
            assert!(
                dom.contains(&words),
                "{method} {path} ({words:?}) is not rendered; DOM of {} bytes",
                dom.len()
            );
        }
    }
    db.cleanup().await;
}
