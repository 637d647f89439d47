//! Proofdesk: tamper-evident support-ticket logs anchored on an EVM chain.
//!
//! The pipeline reads top to bottom: `ingest` → `log` (the store) → `seal` →
//! `anchor` → `prove` → `verify`, all sharing the pure `protocol` module.

pub mod ingest;
pub mod log;
pub mod protocol;
pub mod seal;
