//! Proofdesk: tamper-evident support-ticket logs anchored on an EVM chain.
//!
//! The pipeline reads top to bottom: `ingest` → `log` (the store) → `seal` →
//! `anchor` → `prove` → `verify`, all sharing the pure `protocol` module.

pub mod anchor;
pub mod api;
pub mod audit;
pub mod devnet;
pub mod hammer;
pub mod ingest;
pub mod integrations;
pub mod leader;
pub mod log;
pub mod metrics;
pub mod mirror;
pub mod node;
pub mod prove;
pub mod seal;
pub use proofdesk_verify as verify;

/// The protocol crate (`protocol/`), under the name the server's modules
/// and its tests use.
pub use proofdesk_protocol as protocol;
