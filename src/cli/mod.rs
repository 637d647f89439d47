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
