//! Auditing a log from the outside: `proofdesk monitor` (every anchored
//! batch re-checked from its leaf hashes), `proofdesk audit` (every record
//! exported and re-verified against the chain) and `proofdesk report`
//! (handling KPIs over verified records only).
//!
//! The pure parts ([`layout`], [`check`], [`lines`], [`kpi`]) have no I/O
//! and are unit-tested; the rest fetches from the log over HTTP and from
//! the chain through the auditor's own RPC. What must be checked comes
//! from the chain (its `BatchAnchored` events, `batchCount()`,
//! `nextIndex()`), never from what the log says about itself: its ranges,
//! batch labels, leaf counts and status fields are claims, compared and
//! reported, never trusted.

pub mod anchors;
pub mod chain_view;
pub mod check;
pub mod csv;
pub mod fraud;
pub mod html;
pub mod http;
pub mod kpi;
pub mod layout;
pub mod lines;
pub mod monitor;
pub mod progress;
pub mod render;
pub mod report_files;
pub mod result;
pub mod resume;
pub mod run;
pub mod saved;

use std::path::Path;

/// Writes a small state file atomically: a temp file in the same
/// directory, flushed, then renamed over the old one, so a crash leaves
/// either the old state or the new, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
