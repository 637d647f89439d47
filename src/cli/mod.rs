//! The `proofdesk` command's subcommands, each in its own file (main.rs
//! parses the command line and hands each its arguments; `serve` is there).

pub mod audit;
pub mod caches;
pub mod dev;
pub mod integrations;
pub mod keys;
pub mod memory;
pub mod mirror;
pub mod recovery;
pub mod runtime;
pub mod signals;
pub mod verify;

/// What every `--database` takes (a plain path is what `proofdesk dev` prints).
pub const DATABASE_HELP: &str = "The log's database: a file path or sqlite://PATH (SQLite, embedded), \
     or postgres://USER@HOST/DB (several servers on one database)";

/// Every chain call's bound, seconds, unless `--rpc-timeout` says otherwise:
/// the same for the server, the auditor's tools and the verifier.
pub const DEFAULT_RPC_TIMEOUT_SECS: u64 = 20;

/// `--contract`: an address, or a message that says what one looks like
/// (alloy alone answers a pasted placeholder such as `0x…` with "odd
/// number of digits").
pub fn parse_contract(s: &str) -> Result<alloy::primitives::Address, String> {
    s.trim().parse().map_err(|_| {
        format!(
            "{s:?} is not a contract address: give 0x and 40 hex digits, the address the platform publishes (proofdesk dev prints its own)"
        )
    })
}
