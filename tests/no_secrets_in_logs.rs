//! No secret reaches the logs, at any level: the real binary runs with
//! RUST_LOG=trace while keys are created, used, misused, rotated and
//! revoked, and its log output (stderr) is searched for the operator key
//! and every API key.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use proofdesk::devnet::DEV_KEYS;
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_proofdesk"));
    c.env("RUST_LOG", "trace")
        .env_remove("PROOFDESK_LOG_FORMAT");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_the_operator_key_nor_any_api_key_is_ever_logged() {
    let dir = tempfile::tempdir().unwrap();
    let (api, anvil) = (free_port(), free_port());
    let mut dev = bin()
        .args(["dev", "--no-demo", "--listen"])
        .arg(format!("127.0.0.1:{api}"))
        .args(["--anvil-port", &anvil.to_string(), "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log (stderr) is drained on a thread so the server never blocks.
    let mut stderr = dev.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut stdout = BufReader::new(dev.stdout.take().unwrap());
    let mut key = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        if let Some(k) = line.trim().strip_prefix("API key") {
            key = k.trim().to_owned();
            break;
        }
        line.clear();
    }
    assert!(key.starts_with("pdk_"), "dev printed its key: {line:?}");
    let db = format!("sqlite://{}", dir.path().join("dev.db").display());

    let url = format!("http://127.0.0.1:{api}");
    let http = reqwest::Client::new();
    let wrong = format!("pdk_{}_{}", "ab".repeat(6), "cd".repeat(24));
    let created: serde_json::Value = http
        .post(format!("{url}/v1/tickets"))
        .bearer_auth(&key)
        .json(&json!({"external_id": "secret-test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = created["ticket"].as_str().unwrap().to_owned();
    let r = http
        .post(format!("{url}/v1/tickets/{t}/events"))
        .bearer_auth(&key)
        .json(&json!({"type": "ticket.created", "data": {"category": "x", "priority": "low", "complaint": false, "labels": {}},
                      "actor": {"role": "agent", "ref": "a"}, "channel": "web", "occurred_at": "2026-01-01T00:00:00Z",
                      "content": {"text": "a private message"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for k in [&wrong, &format!("{key}x"), &"garbage".to_owned()] {
        let r = http
            .get(format!("{url}/v1/tickets/{t}"))
            .bearer_auth(k)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // Anchoring runs (and signs with the operator key) while we wait.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The CLI, at trace level too: create, list, rotate, revoke.
    let run = |args: &[&str]| {
        let out = bin().args(args).args(["--database", &db]).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (new_key, mut cli_log) = run(&["keys", "create", "--scopes", "ingest"]);
    let new_key = new_key.trim().to_owned();
    let id = new_key.split('_').nth(1).unwrap().to_owned();
    let (_, l) = run(&["keys", "list"]);
    cli_log += &l;
    let (rotated, l) = run(&["keys", "rotate", &id]);
    cli_log += &l;
    let rotated = rotated.trim().to_owned();
    let (_, l) = run(&["keys", "revoke", rotated.split('_').nth(1).unwrap()]);
    cli_log += &l;

    let _ = Command::new("kill")
        .args(["-INT", &dev.id().to_string()])
        .status();
    let _ = dev.wait();
    let server_log = log.join().unwrap();
    assert!(
        server_log.contains("TRACE") && server_log.len() > 10_000,
        "the server really logged at trace level ({} bytes)",
        server_log.len()
    );

    let operator = DEV_KEYS[0].trim_start_matches("0x");
    let mut secrets = vec![operator.to_owned(), operator.to_uppercase()];
    for k in [&key, &wrong, &new_key, &rotated] {
        secrets.push(k.clone());
        // The secret half alone, too.
        secrets.push(k.rsplit('_').next().unwrap().to_owned());
    }
    for (name, text) in [("server", &server_log), ("cli", &cli_log)] {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret appears in the {name} log"
            );
        }
        assert!(
            !text.contains("a private message"),
            "content text appears in the {name} log"
        );
    }
}
