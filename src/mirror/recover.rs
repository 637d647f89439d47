//! `proofdesk recover`: brings back to a restored store the anchored
//! records it lost, from a copy the operator does not control: a mirror's
//! export (`proofdesk mirror export`) or an auditor's saved audit
//! (`proofdesk audit --out`). Both are export lines with a result line
//! naming their hash; every batch is verified against the chain before it
//! is written (`importer`), so a copy that differs from what the chain
//! anchored is refused.

use std::path::Path;

use anyhow::bail;

use super::importer::{Fed, Importer};
use crate::anchor::Chain;
use crate::audit::check::Line;
use crate::audit::saved;
use crate::log::DynStore;
use crate::protocol::state::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Index the store's anchored part ended at before, and now.
    pub from: u64,
    pub to: u64,
    pub batches: u64,
}

/// Brings `store` up to what the chain anchors, from `source`.
pub async fn recover(
    store: DynStore,
    chain: Chain,
    source: &Path,
    policy: Policy,
) -> anyhow::Result<Recovered> {
    // The whole file hashes to what its result line names: a copy edited
    // or cut short is refused before anything is written.
    saved::read(source, |_| {})?;
    let mut imp = Importer::start(store, chain, policy, "recovered", None).await?;
    let from = imp.next_index();
    let mut batches = 0;
    let mut lines = saved::Lines::open(source)?;
    while !imp.done() {
        let Some(raw) = lines.next_line()? else {
            break;
        };
        // The copy may start earlier than what is missing.
        let index = std::str::from_utf8(&raw)
            .ok()
            .and_then(|t| Line::parse(t).ok())
            .and_then(|l| l.record.get("index").and_then(|i| i.as_u64()));
        if index.is_some_and(|i| i < imp.next_index()) {
            continue;
        }
        match imp.feed(&raw).await? {
            Fed::Read => {}
            Fed::Imported { .. } => batches += 1,
            Fed::Refused { batch, failures } => {
                let first = failures.first().map_or(String::new(), |f| format!(": {f}"));
                bail!(
                    "batch {batch} of {} does not verify against the chain ({} failures{first}); nothing of it was written",
                    source.display(),
                    failures.len()
                );
            }
        }
    }
    if !imp.done() {
        if let Some(Fed::Refused { batch, failures }) = imp.finish().await? {
            let first = failures.first().map_or(String::new(), |f| format!(": {f}"));
            bail!(
                "{} ends at index {}, inside batch {batch}, but the chain anchors records up to {} ({} failures{first}): bring a newer copy",
                source.display(),
                imp.next_index(),
                imp.end(),
                failures.len()
            );
        }
        bail!(
            "{} ends at index {}, but the chain anchors records up to {}: bring a newer copy",
            source.display(),
            imp.next_index(),
            imp.end()
        );
    }
    Ok(Recovered {
        from,
        to: imp.next_index(),
        batches,
    })
}
