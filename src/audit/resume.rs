//! The resume file of a long audit: where it stood, bound to the log, the
//! contract, the chain, the range asked for and the saved audit's bytes,
//! and checksummed, so a resumed audit never continues someone else's run,
//! another range, or a damaged file.

use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::check::Checker;
use super::result::Coverage;
use super::saved::SavedMark;
use crate::protocol::Hash32;
use crate::protocol::hashing::sha256;
use crate::protocol::state::Policy;

const VERSION: u32 = 2;

#[derive(Clone, Serialize, Deserialize)]
pub struct ResumeState {
    pub version: u32,
    pub log: String,
    pub contract: String,
    pub chain_id: u64,
    /// `--from` and `--to` as given, to refuse resuming another range.
    pub asked: (Option<String>, Option<String>),
    pub policy: Policy,
    pub coverage: Coverage,
    pub saved: Option<SavedMark>,
    pub started_ms: u64,
    pub checker: Checker,
}

#[derive(Serialize, Deserialize)]
struct ResumeFile {
    state: serde_json::Value,
    /// SHA-256 of `state`'s JSON text as written.
    sha256: Hash32,
}

/// What the resumed audit must match.
pub struct Expect<'a> {
    pub log: &'a str,
    pub contract: &'a str,
    pub chain_id: u64,
    pub asked: &'a (Option<String>, Option<String>),
}

pub fn save(path: &Path, state: &ResumeState) -> anyhow::Result<()> {
    // The hash is over the state as a JSON value written out (members
    // sorted: serde_json's maps are ordered), so load() can rebuild the
    // exact text from what it parsed.
    let state = serde_json::to_value(state)?;
    let file = ResumeFile {
        sha256: sha256(serde_json::to_string(&state)?.as_bytes()),
        state,
    };
    super::write_atomic(path, &serde_json::to_vec(&file)?)?;
    Ok(())
}

/// The saved state, if the file exists and belongs to this audit.
pub fn load(path: &Path, expect: &Expect<'_>) -> anyhow::Result<Option<ResumeState>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let damaged = || {
        anyhow::anyhow!(
            "the resume file {} is damaged or was edited (its checksum does not match); delete it to start over",
            path.display()
        )
    };
    let file: ResumeFile = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
    let text = serde_json::to_string(&file.state)?;
    if sha256(text.as_bytes()) != file.sha256 {
        return Err(damaged());
    }
    let state: ResumeState = serde_json::from_str(&text).map_err(|_| damaged())?;
    if state.version != VERSION {
        bail!(
            "the resume file {} is of an older version; delete it to start over",
            path.display()
        );
    }
    if state.contract != expect.contract
        || state.chain_id != expect.chain_id
        || state.log != expect.log
    {
        bail!(
            "the resume file {} is for {} / {} on chain {}; delete it to start over",
            path.display(),
            state.log,
            state.contract,
            state.chain_id
        );
    }
    if &state.asked != expect.asked {
        bail!(
            "the resume file {} is for the range --from {} --to {}; give the same range, or delete it to start over",
            path.display(),
            state.asked.0.as_deref().unwrap_or("(none)"),
            state.asked.1.as_deref().unwrap_or("(none)")
        );
    }
    Ok(Some(state))
}

impl ResumeState {
    pub const VERSION: u32 = VERSION;
}
