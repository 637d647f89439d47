//! The test harness every Proofdesk suite shares, as crates.io's `TestApp`:
//! a node on a real anvil with the contract deployed, on a real database
//! (a fresh SQLite file, or a fresh PostgreSQL database per test), with the
//! HTTP calls a platform and a complainant make. The server's integration
//! tests and the client's tests both use it; nothing here is mocked.

mod app;
mod db;
mod events;

pub use app::{AppBuilder, TestApp};
pub use db::{PG_ENV, TestDb, replace_db};
pub use events::{event, problems, receipt_in};
