//! Protocol v1, as written in docs/PROTOCOL.md: records, canonical JSON,
//! hashing, trees, proofs, bundles and the ticket state machine.
//!
//! Pure by design: no I/O, no async, no clock reads except where a caller
//! asks for `Timestamp::now()`. The server, the CLI, the verifier
//! (`proofdesk-verify`), the typed client and the tests all share this
//! crate, so they cannot disagree about the format. The JSON Schema
//! derives for the server's OpenAPI document are behind the `openapi`
//! feature.

pub mod append;
pub mod bundle;
pub mod bundle_map;
pub mod canonical;
pub mod disclosure;
pub mod event;
pub mod fields;
pub mod fraud;
pub mod hash32;
pub mod hashing;
pub mod input;
pub mod map;
pub mod map_tree;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod receipt;
pub mod record;
pub mod schema;
pub mod state;
pub mod tree;

pub use hash32::Hash32;
