//! `proofdesk backup` and `proofdesk recover`: the disaster-recovery pair
//! (README, "Mirrors and recovery"); the work is in
//! `proofdesk::log::backup` and `proofdesk::mirror::recover`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::Context;

use proofdesk::anchor::Chain;
use proofdesk::protocol::state::Policy;

/// Copy a running SQLite log to a new file, consistently (SQLite's backup API).
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The log's database (sqlite://PATH); PostgreSQL: see the README's
    /// pg_basebackup recipe.
    #[arg(long, env = "PROOFDESK_DATABASE_URL")]
    database: String,
    /// The copy to write (must not exist).
    #[arg(long)]
    out: PathBuf,
}

pub async fn backup(a: BackupArgs) -> anyhow::Result<ExitCode> {
    let (url, out) = (a.database.clone(), a.out.clone());
    let started = std::time::Instant::now();
    tokio::task::spawn_blocking(move || {
        let mut last = std::time::Instant::now();
        proofdesk::log::backup::sqlite_backup(&url, &out, |done, total| {
            if last.elapsed() >= Duration::from_secs(2) {
                last = std::time::Instant::now();
                eprintln!("backup: {done}/{total} pages");
            }
        })
    })
    .await??;
    eprintln!(
        "backed up {} to {} in {:.1} s",
        a.database,
        a.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Bring a restored database up to what the chain anchors, from a mirror's
/// export or an auditor's saved audit; every batch is verified first.
#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The restored database (sqlite://PATH or postgres://…).
    #[arg(long, env = "PROOFDESK_DATABASE_URL")]
    database: String,
    /// Your JSON-RPC endpoint for the chain.
    #[arg(long, env = "PROOFDESK_RPC_URL")]
    rpc: String,
    /// The log's SupportAnchor contract.
    #[arg(long, env = "PROOFDESK_CONTRACT", value_parser = super::parse_contract)]
    contract: Address,
    /// The contract's deployment block (where event searches start).
    #[arg(long, env = "PROOFDESK_FROM_BLOCK", default_value_t = 0)]
    from_block: u64,
    /// A mirror's export (`proofdesk mirror-export`) or a saved audit
    /// (`proofdesk audit --out`) covering what the database lacks.
    #[arg(long = "from", value_name = "FILE")]
    source: PathBuf,
    /// The log accepts ticket.reopened on closed tickets (as `serve
    /// --reopen-closed`).
    #[arg(long)]
    reopen_closed: bool,
    /// Per-call chain timeout, seconds.
    #[arg(long, default_value_t = super::DEFAULT_RPC_TIMEOUT_SECS)]
    rpc_timeout: u64,
}

pub async fn recover(a: RecoverArgs) -> anyhow::Result<ExitCode> {
    // Records are written in: not beside a server of the same SQLite file.
    let _serving = proofdesk::log::serving_lock::take(&a.database)?;
    let store = proofdesk::log::connect(&a.database)
        .await
        .with_context(|| format!("opening {}", a.database))?;
    let mut chain = Chain::connect(
        &a.rpc,
        a.contract,
        Duration::from_secs(a.rpc_timeout.max(1)),
    )?;
    chain.from_block = a.from_block;
    let policy = Policy {
        reopen_closed: a.reopen_closed,
    };
    let r = proofdesk::mirror::recover::recover(store, chain, &a.source, policy).await?;
    if r.from == r.to {
        println!(
            "nothing to recover: the database already holds every anchored record (up to index {})",
            r.to
        );
    } else {
        println!(
            "✓ recovered {} batches, records {}–{}, each verified against the chain; the node can start",
            r.batches,
            r.from,
            r.to - 1
        );
    }
    Ok(ExitCode::SUCCESS)
}
