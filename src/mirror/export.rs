//! `proofdesk mirror-export`: the mirror's copy as a file a restored node
//! recovers from (`proofdesk recover --from FILE`): every copied record as
//! an export line, then a result line naming the SHA-256 of the lines, in
//! the format of a saved audit (`audit::saved`), so one reader serves both.
//! The recovering node trusts none of it: it verifies every batch against
//! the chain before writing it.

use std::path::Path;

use crate::audit::check::{Flagged, failed_ranges};
use crate::audit::result::{AuditResult, Coverage, CoverageKind, VerifiedBatch};
use crate::audit::saved::SavedWriter;
use crate::log::DynStore;
use crate::protocol::state::Policy;

/// Records read from the store per page.
const PAGE: u64 = 2_000;

pub async fn export(
    store: &DynStore,
    out: &Path,
    chain_id: u64,
    contract: &str,
    policy: Policy,
) -> anyhow::Result<u64> {
    let started = std::time::Instant::now();
    let stats = store.stats().await?;
    let end = stats.sealed;
    let mut w = SavedWriter::create(out)?;
    let mut next = 0;
    let mut line = Vec::with_capacity(PAGE as usize * 512);
    while next < end {
        let n = PAGE.min(end - next);
        for e in store.events_by_range(next, n).await? {
            line.clear();
            crate::prove::export::write_line(&e, &mut line);
            line.pop();
            w.line(&line)?;
        }
        next += n;
    }
    let batches: Vec<VerifiedBatch> = store
        .batches(0, u64::MAX >> 1)
        .await?
        .into_iter()
        .map(|b| VerifiedBatch {
            id: b.id,
            first_index: b.first_index,
            count: b.count,
            head: b.head,
            tx: b.submission.as_ref().map(|s| s.tx_hash),
            block: b.inclusion.as_ref().map(|i| i.block_number),
            anchored_at_ms: b
                .inclusion
                .as_ref()
                .and_then(|i| i64::try_from(i.block_time).ok())
                .map(|t| t * 1000),
        })
        .collect();
    let failures = Vec::new();
    let result = AuditResult {
        ok: true,
        log: "a mirror's copy".into(),
        chain_id,
        contract: contract.to_owned(),
        policy,
        coverage: Coverage {
            kind: CoverageKind::WholeLog,
            first_index: 0,
            end_index: end,
            chain_block: 0,
            chain_next_index: end,
            chain_batches: batches.len() as u64,
            why: format!(
                "every record the mirror copied, each batch verified against the chain when it was copied: indices 0..{end}"
            ),
        },
        first_index: 0,
        end_index: end,
        records: end,
        verified_records: end - failed_ranges(&failures).len() as u64,
        tickets: store.all_tickets().await?.len() as u64,
        batches,
        not_yet_anchored: 0,
        partial_tickets: Vec::new(),
        failures,
        max_merge_delay_ms: None,
        late_anchors: Flagged::default(),
        recorded_after_anchor: Flagged::default(),
        lines_sha256: Some(w.lines_sha256()),
        stopped_early: None,
        elapsed_ms: started.elapsed().as_millis() as u64,
        fraud_proofs: Vec::new(),
    };
    w.finish(&result)?;
    Ok(end)
}
