//! Auditing a log from the outside: `proofdesk monitor` (every anchored
//! batch re-checked from its leaf hashes), `proofdesk audit` (every record
//! exported and re-verified against the chain) and `proofdesk report`
//! (handling KPIs over verified records only).
//!
//! The pure parts, [`check`] and [`kpi`], have no I/O and are unit-tested;
//! the rest fetches from the log over HTTP and from the chain through the
//! auditor's own RPC, trusting neither the log's status claims nor its
//! batch metadata: everything is checked against `batchHead` on chain.

pub mod anchors;
pub mod check;
pub mod http;
pub mod kpi;
pub mod monitor;
pub mod render;
pub mod run;

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
