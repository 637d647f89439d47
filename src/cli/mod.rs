//! The `proofdesk` command's subcommands, each in its own file (main.rs
//! parses the command line and hands each its arguments; `serve` is there).

pub mod audit;
pub mod dev;
pub mod integrations;
pub mod keys;
pub mod mirror;
pub mod recovery;
pub mod signals;
pub mod verify;

/// What every `--database` takes (a plain path is what `proofdesk dev` prints).
pub const DATABASE_HELP: &str = "The log's database: a file path or sqlite://PATH (SQLite, embedded), \
     or postgres://USER@HOST/DB (several servers on one database)";

/// Every chain call's bound, seconds, unless `--rpc-timeout` says otherwise:
/// the same for the server, the auditor's tools and the verifier.
pub const DEFAULT_RPC_TIMEOUT_SECS: u64 = 20;
