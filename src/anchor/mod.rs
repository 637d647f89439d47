//! Anchoring batch heads on an EVM chain through the SupportAnchor contract.
pub mod chain;
pub mod contract;
pub mod deploy;
pub mod keys;
pub mod send;
pub mod worker;

pub use chain::Chain;
pub use keys::OperatorKey;
pub use send::Fees;
pub use worker::{AnchorPolicy, Anchorer, Progress};
