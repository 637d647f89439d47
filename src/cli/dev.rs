//! `proofdesk dev`: the whole stack on one machine for a new user.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use proofdesk::anchor::OperatorKey;
use proofdesk::devnet::{Anvil, DEV_KEYS};
use proofdesk::ingest::{EventInput, IntoRequest};
use proofdesk::node::{Node, NodeConfig};
use proofdesk::protocol::fields::Timestamp;
use proofdesk::protocol::state::Policy;
use proofdesk::seal::SealPolicy;
use serde_json::json;

#[derive(clap::Args)]
pub struct DevArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Port for the local anvil chain.
    #[arg(long, default_value_t = 8545)]
    anvil_port: u16,
    /// Where the SQLite file lives (recreated each run: the chain is new too).
    #[arg(long, default_value = ".proofdesk")]
    data_dir: PathBuf,
    /// Skip the demo tickets.
    #[arg(long)]
    no_demo: bool,
}

pub async fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    let mut stop = crate::cli::signals::Stop::install()?;
    eprintln!(
        "starting anvil on 127.0.0.1:{} (1 s blocks)…",
        args.anvil_port
    );
    let anvil = Anvil::start(args.anvil_port, Some(1)).await?;
    let key = OperatorKey::parse(DEV_KEYS[0])?;
    let (contract, block) =
        proofdesk::anchor::deploy::deploy(&anvil.url(), &key, None, Duration::from_secs(30))
            .await?;
    std::fs::create_dir_all(&args.data_dir)?;
    let db = args.data_dir.join("dev.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut config = NodeConfig::local(
        format!("sqlite://{}", db.display()),
        anvil.url(),
        contract,
        block,
    );
    config.listen = args.listen;
    // One batch every two seconds at most, final after two blocks: the
    // demo shows each step of a batch's life without waiting long.
    config.seal = SealPolicy {
        max_batch: 65_536,
        max_age: Duration::from_secs(2),
    };
    config.anchor.confirmations = 2;
    config.anchor.poll = Duration::from_millis(300);
    // The verifier page offers this ("suggested by the log"): a local
    // chain is its own public RPC.
    config.public_rpc = Some(anvil.url());
    let node = Node::start(config, key).await?;
    let api_key =
        proofdesk::api::auth::create_key(node.store.as_ref(), &["admin".to_owned()], "dev").await?;
    let demo = if args.no_demo {
        None
    } else {
        Some(seed(&node).await?)
    };
    let url = node.url();
    let database = format!("sqlite://{}", db.display());
    let bin = this_binary();
    println!();
    println!("Proofdesk dev is running.");
    println!("  API          {url}   (docs: {url}/docs)");
    println!("  chain        {} (anvil, chain id 31337)", anvil.url());
    println!("  contract     {contract:#x}");
    println!("  API key      {api_key}");
    println!("  database     {database}");
    println!();
    // One line to paste: the README's walk-through and docs/AUDIT.md use
    // these names.
    println!("Set these in your shell (the README's walk-through uses them):");
    println!("  export KEY={api_key} CONTRACT={contract:#x}");
    println!();
    println!("Try it:");
    println!(
        "  curl -s -X POST {url}/v1/tickets -H \"Authorization: Bearer $KEY\" -H 'content-type: application/json' -d '{{\"external_id\":\"my-1\"}}'"
    );
    if let Some((handle, open)) = &demo {
        println!();
        println!("Check the demo tickets in your browser (the complainant's verifier page):");
        println!("  {url}/verify/{handle}     # a resolved complaint");
        println!("  {url}/verify/{open}     # an open support request");
        println!();
        println!("Or with the CLI (the demo tickets are anchored within seconds):");
        println!(
            "  {bin} verify \"{url}/v1/tickets/{handle}/proof\" --rpc {} --contract $CONTRACT",
            anvil.url()
        );
    }
    println!();
    println!("Ctrl-C (or SIGTERM) stops everything.");
    let signal = stop.wait().await;
    eprintln!("{signal}: stopping…");
    node.shutdown().await;
    anvil.stop().await;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// How this binary is reached from the current directory
/// (`./target/release/proofdesk` after scripts/dev.sh), for the commands
/// `dev` prints to be copied as they are.
fn this_binary() -> String {
    let (Ok(exe), Ok(cwd)) = (std::env::current_exe(), std::env::current_dir()) else {
        return "proofdesk".to_owned();
    };
    match exe.strip_prefix(&cwd) {
        Ok(inside) => format!("./{}", inside.display()),
        Err(_) => exe.display().to_string(),
    }
}

/// Two demo tickets: one resolved complaint, one still open. Returns both
/// handles (resolved, open).
async fn seed(node: &Node) -> anyhow::Result<(String, String)> {
    let store = node.store.as_ref();
    let ev =
        |t: &str, data: serde_json::Value, role: &str, who: &str| -> anyhow::Result<EventInput> {
            Ok(serde_json::from_value(json!({
                "type": t, "data": data, "actor": {"role": role, "ref": who}, "channel": "web",
                "occurred_at": Timestamp::now().to_string(),
            }))?)
        };
    let (resolved, _) = store
        .create_ticket("demo-1", proofdesk::ingest::new_handle(), Timestamp::now())
        .await?;
    let (open, _) = store
        .create_ticket("demo-2", proofdesk::ingest::new_handle(), Timestamp::now())
        .await?;
    let script = vec![
        (
            &resolved.handle,
            ev(
                "ticket.created",
                json!({"category": "withdrawal_delay", "priority": "high", "complaint": true, "labels": {"product": "spot"}}),
                "customer",
                "cust-1",
            )?,
        ),
        (
            &resolved.handle,
            ev("ticket.acknowledged", json!({}), "system", "autoresponder")?,
        ),
        (
            &open.handle,
            ev(
                "ticket.created",
                json!({"category": "kyc", "priority": "normal", "complaint": false, "labels": {}}),
                "customer",
                "cust-2",
            )?,
        ),
        (
            &resolved.handle,
            ev(
                "ticket.assigned",
                json!({"assignee": "agent-7", "group": "payments"}),
                "agent",
                "lead-1",
            )?,
        ),
        (
            &resolved.handle,
            ev(
                "message.added",
                json!({"direction": "outbound", "visibility": "public"}),
                "agent",
                "agent-7",
            )?,
        ),
        (
            &resolved.handle,
            ev(
                "ticket.escalated",
                json!({"level": 1, "reason": "regulatory_complaint"}),
                "agent",
                "agent-7",
            )?,
        ),
        (
            &resolved.handle,
            ev(
                "final_response.issued",
                json!({"outcome": "upheld", "referral_rights": true}),
                "agent",
                "agent-7",
            )?,
        ),
        (
            &resolved.handle,
            ev(
                "ticket.resolved",
                json!({"resolution": "upheld"}),
                "agent",
                "agent-7",
            )?,
        ),
        (
            &resolved.handle,
            ev(
                "satisfaction.rated",
                json!({"score": 5, "scale": 5}),
                "customer",
                "cust-1",
            )?,
        ),
    ];
    // When each step happened, in minutes before now, so the verifier page
    // shows a plausible complaint: acknowledged 2 h 14 min after it was
    // written, a final response two days later. (occurred_at may be any
    // earlier instant; only a future one is refused.)
    let minutes_ago = [4320, 4186, 1440, 4140, 3600, 3000, 1500, 1495, 1200];
    let now = Timestamp::now().millis();
    for ((handle, mut input), ago) in script.into_iter().zip(minutes_ago) {
        if let Some(t) = Timestamp::from_millis(now - ago * 60_000) {
            input.occurred_at = t.to_string();
        }
        store
            .append(
                vec![input.into_request(handle.clone())?],
                None,
                &Policy::default(),
            )
            .await?;
    }
    Ok((resolved.handle.to_string(), open.handle.to_string()))
}
