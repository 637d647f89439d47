//! Copies of a log that outlive it: a mirror that follows a log and serves
//! its public routes (`follow`), its export for recovery (`export`),
//! verified imports of anchored batches (`importer`), and bringing a
//! restored node back to what the chain anchors (`recover`).

pub mod export;
pub mod follow;
pub mod importer;
pub mod recover;
