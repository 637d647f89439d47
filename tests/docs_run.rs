//! The documentation runs: the README's walk-through and docs/AUDIT.md's
//! example, each the code block after a `<!-- runs in tests/docs_run.rs -->`
//! line, run as written by bash (`set -euo pipefail`) against a fresh
//! `proofdesk dev`, in the order a new user reads them, with the `export`
//! line `dev` prints pasted first. Only what differs on a test machine is
//! replaced: the ports (the docs say 8080 and 8545; the test takes free
//! ones) and the binary's path (the docs say the release build that
//! scripts/dev.sh makes). When the docs and the program disagree, this
//! fails and shows the shell's output.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const MARK: &str = "<!-- runs in tests/docs_run.rs -->";

/// The code blocks marked to run in one Markdown file, in order.
fn runnable_blocks(doc: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != MARK {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```sh"),
            "{doc}: the line after {MARK} must open a sh block, not {fence:?}"
        );
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        blocks.push(body.join("\n"));
    }
    blocks
}

/// What `proofdesk dev` printed that a user copies.
struct Dev {
    child: Child,
    api: String,
    chain: String,
    export: String,
}

/// Starts `proofdesk dev` in `dir` on free ports and reads its banner.
async fn start_dev(dir: &Path) -> Dev {
    let mut child = Command::new(env!("CARGO_BIN_EXE_proofdesk"))
        .args(["dev", "--listen", "127.0.0.1:0", "--anvil-port", "0"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("run proofdesk dev");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut api, mut chain, mut export) = (None, None, None);
    let banner = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["API", url, ..] if url.starts_with("http") => api = Some(url.to_string()),
                ["chain", url, ..] if url.starts_with("http") => chain = Some(url.to_string()),
                ["export", ..] => export = Some(line.trim().to_owned()),
                _ if line.starts_with("Ctrl-C") => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), banner)
        .await
        .expect("proofdesk dev printed its banner within 120 s");
    // Keep reading stdout so dev never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Dev {
        child,
        api: api.expect("dev prints the API URL"),
        chain: chain.expect("dev prints the chain URL"),
        export: export.expect("dev prints an export line"),
    }
}

fn host_port(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walk_through_and_the_audit_guide_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = start_dev(dir.path()).await;
    let blocks: Vec<String> = ["README.md", "docs/AUDIT.md"]
        .iter()
        .flat_map(|doc| {
            let b = runnable_blocks(doc);
            assert!(!b.is_empty(), "{doc} has a block marked {MARK}");
            b
        })
        .collect();
    let api = host_port(&dev.api);
    let chain = host_port(&dev.chain);
    let script = format!("{}\n{}\n", dev.export, blocks.join("\n"))
        .replace("localhost:8080", api)
        .replace("127.0.0.1:8080", api)
        .replace("127.0.0.1:8545", chain)
        .replace(
            "./target/release/proofdesk",
            env!("CARGO_BIN_EXE_proofdesk"),
        );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let said = format!(
        "--- script\n{script}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Stop dev the way a user does (Ctrl-C), so it stops its anvil too.
    if let Some(pid) = dev.child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(20), dev.child.wait()).await;
    assert!(out.status.success(), "the docs did not run:\n{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // What each step promises, in the files and output it names.
    assert!(stdout.contains("\"created\":true"), "{said}");
    assert!(stdout.contains("VALID"), "verify said VALID:\n{said}");
    for file in ["bundle.json", "receipt-1.json", "audit.jsonl"] {
        assert!(dir.path().join(file).is_file(), "{file}:\n{said}");
    }
    let report = dir.path().join("proofdesk-report");
    for file in ["report.json", "report.csv", "report.html"] {
        assert!(report.join(file).is_file(), "{file}:\n{said}");
    }
}
