//! The `proofdesk` command: serve, dev, deploy, verify, keys.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::Address;
use clap::{Parser, Subcommand};

use proofdesk::anchor::{AnchorPolicy, OperatorKey};
use proofdesk::node::{Node, NodeConfig};
use proofdesk::protocol::state::Policy;
use proofdesk::seal::SealPolicy;

// The ingest path allocates many small values (JSON trees, hex strings,
// receipts) across tokio's worker threads; glibc malloc showed as about a
// fifth of the server's samples under bulk load (BENCHMARKS.md).
// `--features system-alloc` leaves it out, for a heap profiler.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

#[derive(Parser)]
#[command(
    name = "proofdesk",
    version,
    about = "Tamper-evident support-ticket logs anchored on an EVM chain"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Threads for blocking work (SQLite reads and writes, sealing,
    /// signing), at most. Default: two per core, at least 4. Each thread
    /// keeps allocator pages of its own, so more threads hold more memory
    /// (README, "Memory").
    #[arg(long, global = true, env = "PROOFDESK_BLOCKING_THREADS", value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..=1024))]
    blocking_threads: Option<u16>,
}

#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    #[arg(
        long,
        env = "PROOFDESK_DATABASE_URL",
        default_value = "sqlite://proofdesk.db",
        help = cli::DATABASE_HELP
    )]
    database: String,
    /// Address and port the API listens on.
    #[arg(long, env = "PROOFDESK_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// JSON-RPC URL of the chain.
    #[arg(long, env = "PROOFDESK_RPC_URL")]
    rpc: String,
    /// Address of the deployed SupportAnchor contract.
    #[arg(long, env = "PROOFDESK_CONTRACT", value_parser = cli::parse_contract)]
    contract: Address,
    /// Block the contract was deployed in (where log searches start).
    #[arg(long, env = "PROOFDESK_FROM_BLOCK", default_value_t = 0)]
    from_block: u64,
    /// File holding the operator key (else $PROOFDESK_OPERATOR_KEY).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Maximum merge delay promised in receipts, seconds.
    #[arg(long, default_value_t = 60)]
    max_merge_delay: u64,
    /// Seal a batch at this many events … (one anchor transaction each; up
    /// to 16 are in flight at once, so this times 16 divided by the time to
    /// finality caps how many events per second can stay within the maximum
    /// merge delay)
    #[arg(long, default_value_t = 65_536)]
    batch_size: u64,
    /// … or when its oldest event is this many milliseconds old (and the previous batch is on chain).
    #[arg(long, default_value_t = 5000)]
    batch_age_ms: u64,
    /// The first batch id sealed with a head v2, which commits the ticket map
    /// (docs/PROTOCOL.md §15). A log already past it switches at its next
    /// batch; once one batch is v2, every later one is.
    #[arg(long, default_value_t = proofdesk::seal::HEAD_V2_FROM, value_name = "BATCH")]
    head_v2_from: u64,
    /// Confirmations before an anchor is final.
    #[arg(long, default_value_t = 3)]
    confirmations: u64,
    /// Use the chain's finalized tag instead of counting confirmations.
    #[arg(long)]
    finalized_tag: bool,
    /// Highest max fee per gas the anchorer will pay, in gwei.
    #[arg(long, default_value_t = 500)]
    fee_cap_gwei: u64,
    /// Re-send a stuck anchor with higher fees after this many seconds.
    #[arg(long, default_value_t = 30)]
    resend_after: u64,
    /// Accept ticket.reopened on closed tickets.
    #[arg(long)]
    reopen_closed: bool,
    /// Per-call chain timeout, seconds.
    #[arg(long, default_value_t = cli::DEFAULT_RPC_TIMEOUT_SECS)]
    rpc_timeout: u64,
    /// A public RPC URL to suggest to verifiers (shown in GET /v1/log and
    /// offered by the /verify page as "suggested by the log": never enough for
    /// "Verified"). Not the operator's private endpoint.
    #[arg(long, env = "PROOFDESK_PUBLIC_RPC")]
    public_rpc: Option<String>,
    /// Requests per second allowed per API key (0: no limit) …
    #[arg(long, env = "PROOFDESK_KEY_RATE", default_value_t = 20_000)]
    key_rate: u32,
    /// … with bursts up to this many.
    #[arg(long, env = "PROOFDESK_KEY_BURST", default_value_t = 40_000)]
    key_burst: u32,
    /// Requests per second allowed per client IP without a valid key, public
    /// proof reads included (0: no limit) …
    #[arg(long, env = "PROOFDESK_IP_RATE", default_value_t = 10_000)]
    ip_rate: u32,
    /// … with bursts up to this many.
    #[arg(long, env = "PROOFDESK_IP_BURST", default_value_t = 20_000)]
    ip_burst: u32,
    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose
    /// X-Forwarded-For names the client for the per-IP limit. Unset: the
    /// header is ignored and the TCP peer counts.
    #[arg(long, env = "PROOFDESK_TRUSTED_PROXIES", default_value = "")]
    trusted_proxy: String,
    #[command(flatten)]
    caches: cli::caches::CacheArgs,
}

impl ServeArgs {
    fn limits(&self) -> anyhow::Result<proofdesk::api::limits::Limits> {
        use proofdesk::api::limits::{Limits, Rate, TrustedProxies};
        Ok(Limits {
            per_key: Rate {
                per_second: self.key_rate,
                burst: self.key_burst,
            },
            per_ip: Rate {
                per_second: self.ip_rate,
                burst: self.ip_burst,
            },
            trusted_proxies: TrustedProxies::parse(&self.trusted_proxy)
                .map_err(|e| anyhow::anyhow!("--trusted-proxy: {e}"))?,
        })
    }

    fn config(&self) -> NodeConfig {
        NodeConfig {
            database_url: self.database.clone(),
            listen: self.listen,
            rpc_url: self.rpc.clone(),
            contract: self.contract,
            from_block: self.from_block,
            rpc_timeout: Duration::from_secs(self.rpc_timeout),
            max_merge_delay: Duration::from_secs(self.max_merge_delay),
            seal: SealPolicy {
                max_batch: self.batch_size.clamp(1, 1 << 32),
                max_age: Duration::from_millis(self.batch_age_ms),
            },
            head_v2_from: self.head_v2_from,
            anchor: AnchorPolicy {
                confirmations: self.confirmations.max(1),
                use_finalized_tag: self.finalized_tag,
                resend_after: Duration::from_secs(self.resend_after),
                max_fee_cap_wei: self.fee_cap_gwei as u128 * 1_000_000_000,
                ..AnchorPolicy::default()
            },
            policy: Policy {
                reopen_closed: self.reopen_closed,
            },
            leader: Default::default(),
            public_rpc: self.public_rpc.clone(),
            caches: self.caches.limits(),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server with the sealing and anchoring loops.
    Serve(Box<ServeArgs>),
    /// The whole stack locally: anvil, the contract, SQLite, a dev key and demo tickets.
    Dev(cli::dev::DevArgs),
    /// Deploy SupportAnchor with the operator key as owner and anchorer.
    Deploy {
        /// JSON-RPC URL of the chain to deploy on.
        #[arg(long, env = "PROOFDESK_RPC_URL")]
        rpc: String,
        /// File holding the operator key, which owns the contract (else
        /// $PROOFDESK_OPERATOR_KEY).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Anchorer address, if not the operator key's.
        #[arg(long)]
        anchorer: Option<Address>,
    },
    /// Verify a ticket's proof bundle against the chain with your own RPC.
    Verify(Box<cli::verify::VerifyArgs>),
    /// Connect help desks (Zendesk, Zammad) and read their delivery ledger.
    Integrations {
        #[command(subcommand)]
        action: cli::integrations::IntegrationsAction,
    },
    /// Re-check every batch anchored on chain against the leaves the log serves.
    Monitor(cli::audit::MonitorArgs),
    /// Export the log (audit scope) and re-verify every record against the chain.
    Audit(Box<cli::audit::AuditArgs>),
    /// Handling KPIs over verified records: JSON, CSV and an HTML page.
    Report(cli::audit::ReportArgs),
    /// Append at a set rate while verifying random tickets' bundles and receipts against the chain.
    Hammer(Box<proofdesk::hammer::HammerArgs>),
    /// Keep a live, verified copy of a log and serve its public routes.
    Mirror(Box<cli::mirror::MirrorArgs>),
    /// Write a mirror's copy to a file a restored node recovers from.
    MirrorExport(cli::mirror::MirrorExportArgs),
    /// Copy a running SQLite log to a new file, consistently.
    Backup(cli::recovery::BackupArgs),
    /// Bring a database restored from a backup up to what the chain anchors.
    Recover(cli::recovery::RecoverArgs),
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create a key and print it once (only its hash is stored).
    Create {
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = cli::DATABASE_HELP
        )]
        database: String,
        /// Comma-separated: ingest, audit, admin.
        #[arg(long, default_value = "ingest")]
        scopes: String,
        /// A note for people: who or what the key is for (shown by keys list).
        #[arg(long, default_value = "")]
        label: String,
        /// The SQLite database may be new: create it, for a first key made
        /// before the server's first start. Without it a missing file is
        /// an error (a key in a new file would belong to no server).
        #[arg(long)]
        new_database: bool,
    },
    /// List every key: id, scopes, state, dates, label (never the secret).
    List {
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = cli::DATABASE_HELP
        )]
        database: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id; servers refuse it within 5 s.
    Revoke {
        /// The key's id (the part after pdk_, as keys list shows it).
        id: String,
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = cli::DATABASE_HELP
        )]
        database: String,
    },
    /// Replace a key by a new one with the same scopes and label, and print
    /// the new key once; the old one is revoked in the same transaction.
    Rotate {
        /// The key's id (the part after pdk_, as keys list shows it).
        id: String,
        #[arg(
            long,
            env = "PROOFDESK_DATABASE_URL",
            default_value = "sqlite://proofdesk.db",
            help = cli::DATABASE_HELP
        )]
        database: String,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let json = std::env::var("PROOFDESK_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    // First, so that no memory is touched as huge pages (cli/memory.rs).
    cli::memory::apply();
    let cli = Cli::parse();
    let runtime = match cli::runtime::build(cli.blocking_threads.map(usize::from)) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(main_async(cli))
}

async fn main_async(cli: Cli) -> ExitCode {
    init_tracing();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes, each said once. Many of our errors show their
/// source in their own message ("chain: {0}"), which `{:#}` would print a
/// second time; a cause whose text is already there is left out.
fn report(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            if let Some(url) = &args.public_rpc
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                anyhow::bail!("--public-rpc must be an http(s) URL, got {url:?}");
            }
            let mut stop = cli::signals::Stop::install()?;
            let key = OperatorKey::load(args.key_file.as_deref())?;
            let node = Node::start_with_limits(args.config(), key, args.limits()?).await?;
            eprintln!("proofdesk listening on {}", node.url());
            let signal = stop.wait().await;
            eprintln!(
                "{signal}: stopping (finishing requests in flight, then the sealer and anchorer)…"
            );
            node.shutdown().await;
            eprintln!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(args) => cli::dev::run(args).await,
        Command::Integrations { action } => cli::integrations::run(action).await,
        Command::Monitor(args) => cli::audit::monitor(args).await,
        Command::Audit(args) => cli::audit::audit(*args).await,
        Command::Report(args) => cli::audit::report(args),
        Command::Hammer(args) => proofdesk::hammer::command(*args).await,
        Command::Mirror(args) => cli::mirror::mirror(*args).await,
        Command::MirrorExport(args) => cli::mirror::export(args).await,
        Command::Backup(args) => cli::recovery::backup(args).await,
        Command::Recover(args) => cli::recovery::recover(args).await,
        Command::Deploy {
            rpc,
            key_file,
            anchorer,
        } => {
            let key = OperatorKey::load(key_file.as_deref())?;
            let (address, block) =
                proofdesk::anchor::deploy::deploy(&rpc, &key, anchorer, Duration::from_secs(60))
                    .await?;
            println!("{address:#x}");
            eprintln!(
                "deployed SupportAnchor at {address:#x} in block {block}; anchorer {:#x}",
                anchorer.unwrap_or(key.address())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(args) => cli::verify::run(*args).await,
        Command::Keys {
            action:
                KeysAction::Create {
                    database,
                    scopes,
                    label,
                    new_database,
                },
        } => {
            let store = if new_database {
                proofdesk::log::connect(&database).await?
            } else {
                proofdesk::log::connect_existing(&database).await?
            };
            let scopes: Vec<String> = scopes
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            let key = proofdesk::api::auth::create_key(store.as_ref(), &scopes, &label).await?;
            println!("{key}");
            eprintln!(
                "created API key with scopes {}; it is shown only once",
                scopes.join(",")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            action: KeysAction::List { database, json },
        } => cli::keys::list(&database, json).await,
        Command::Keys {
            action: KeysAction::Revoke { id, database },
        } => cli::keys::revoke(&database, &id).await,
        Command::Keys {
            action: KeysAction::Rotate { id, database },
        } => cli::keys::rotate(&database, &id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proofdesk::log::CacheLimits;

    const CONTRACT: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    fn serve(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
        let base = ["proofdesk", "serve", "--rpc", "http://127.0.0.1:8545"];
        let cli = Cli::try_parse_from(base.iter().chain(&["--contract", CONTRACT]).chain(flags))?;
        match cli.command {
            Command::Serve(args) => Ok(*args),
            _ => unreachable!("parsed as serve"),
        }
    }

    /// `--blocking-threads` goes before or after the subcommand, and 0 is
    /// refused with its range (no thread at all would hang every read).
    #[test]
    fn blocking_threads_are_a_global_flag_from_one() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|c| c.blocking_threads);
        assert_eq!(
            parse(&["proofdesk", "dev", "--blocking-threads", "6"]).unwrap(),
            Some(6)
        );
        assert_eq!(
            parse(&["proofdesk", "--blocking-threads", "3", "dev"]).unwrap(),
            Some(3)
        );
        assert_eq!(parse(&["proofdesk", "dev"]).unwrap(), None);
        let refused = parse(&["proofdesk", "dev", "--blocking-threads", "0"]).unwrap_err();
        assert!(refused.to_string().contains("1..=1024"), "{refused}");
    }

    const CACHE_FLAGS: [&str; 7] = [
        "--sqlite-cache-mib",
        "--sqlite-readers",
        "--pg-readers",
        "--proof-cache-mib",
        "--proof-cache-batches",
        "--bundle-tags",
        "--key-cache",
    ];

    #[test]
    fn serve_takes_cache_bounds_and_refuses_zero() {
        assert_eq!(serve(&[]).unwrap().config().caches, CacheLimits::default());
        let values = ["8", "2", "6", "3", "100", "2", "5"];
        let flags: Vec<&str> = CACHE_FLAGS
            .iter()
            .zip(values)
            .flat_map(|(flag, value)| [*flag, value])
            .collect();
        assert_eq!(
            serve(&flags).unwrap().config().caches,
            CacheLimits {
                sqlite_write_cache_mib: 8,
                sqlite_readers: 2,
                pg_readers: 6,
                proof_tile_bytes: 3 << 20,
                proof_batches: 100,
                bundle_tags: 2,
                key_entries: 5,
            }
        );
        for flag in CACHE_FLAGS {
            let refused = serve(&[flag, "0"]).err().expect(flag);
            assert_eq!(
                refused.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{flag}"
            );
            assert!(refused.to_string().contains(flag), "{refused}");
        }
        // Past what SQLite can take, and past tokio's blocking threads.
        assert!(serve(&["--sqlite-cache-mib", "2097152"]).is_err());
        assert!(serve(&["--sqlite-readers", "513"]).is_err());
    }

    #[test]
    fn mirror_takes_the_same_cache_bounds() {
        let mirror = |flags: &[&str]| {
            let base = ["proofdesk", "mirror", "--log", "http://127.0.0.1:8080"];
            let rest = ["--key", "k", "--rpc", "http://127.0.0.1:8545"];
            let db = ["--contract", CONTRACT, "--database", "mirror.db"];
            Cli::try_parse_from(base.iter().chain(&rest).chain(&db).chain(flags))
        };
        assert!(mirror(&["--bundle-tags", "2", "--sqlite-readers", "2"]).is_ok());
        for flag in CACHE_FLAGS {
            assert!(mirror(&[flag, "0"]).is_err(), "{flag}");
        }
    }
}
