//! Subcommands of the `proofdesk` binary that live in their own modules.

pub mod audit;
pub mod integrations;
pub mod mirror;
pub mod recovery;
pub mod signals;
