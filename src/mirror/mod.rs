//! Copies of a log that outlive it: verified imports of anchored batches
//! (`importer`), and bringing a restored node back to what the chain
//! anchors (`recover`).

pub mod importer;
pub mod recover;
