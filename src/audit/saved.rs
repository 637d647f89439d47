//! The saved audit (`proofdesk audit --out FILE`): every export line the
//! audit read, byte for byte, then one result line
//! `{"audit_result": {…}}` that names the SHA-256 of all the bytes before
//! it. `proofdesk report` reads the file through [`read`], which checks
//! that hash, so a report is computed over exactly the lines the audit
//! verified: a line cannot be added, dropped or edited afterwards, and a
//! record line cannot pass for a result line (the result is the last line,
//! and only the last).

use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::result::AuditResult;
use crate::protocol::Hash32;

/// Writes a saved audit, hashing as it goes.
pub struct SavedWriter {
    file: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
    len: u64,
}

/// Where a saved audit stands: its length and the hash of those bytes,
/// kept in the resume file to pick the file up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedMark {
    pub len: u64,
    pub sha256: Hash32,
}

fn digest(h: &Sha256) -> Hash32 {
    Hash32(h.clone().finalize().into())
}

impl SavedWriter {
    pub fn create(path: &Path) -> anyhow::Result<SavedWriter> {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(SavedWriter {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            len: 0,
        })
    }

    /// Continues a saved audit at `mark`, after checking that its first
    /// `mark.len` bytes are the ones the resume file saw.
    pub fn resume(path: &Path, mark: SavedMark) -> anyhow::Result<SavedWriter> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut hasher = Sha256::new();
        let copied = std::io::copy(&mut (&mut file).take(mark.len), &mut hasher)?;
        if copied != mark.len || digest(&hasher) != mark.sha256 {
            bail!(
                "{} is not the saved audit the resume file was written with (its first {} bytes changed); delete both to start over",
                path.display(),
                mark.len
            );
        }
        file.set_len(mark.len)?;
        file.seek(SeekFrom::Start(mark.len))?;
        Ok(SavedWriter {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher,
            len: mark.len,
        })
    }

    /// One export line, as received.
    pub fn line(&mut self, raw: &[u8]) -> std::io::Result<()> {
        self.file.write_all(raw)?;
        self.file.write_all(b"\n")?;
        self.hasher.update(raw);
        self.hasher.update(b"\n");
        self.len += raw.len() as u64 + 1;
        Ok(())
    }

    /// Flushes, and says where the file stands.
    pub fn mark(&mut self) -> std::io::Result<SavedMark> {
        self.file.flush()?;
        Ok(SavedMark {
            len: self.len,
            sha256: digest(&self.hasher),
        })
    }

    /// The hash of every line so far, which the result line names.
    pub fn lines_sha256(&self) -> Hash32 {
        digest(&self.hasher)
    }

    /// Writes the result line and flushes the file to disk.
    pub fn finish(mut self, result: &AuditResult) -> anyhow::Result<()> {
        serde_json::to_writer(
            &mut self.file,
            &serde_json::json!({ "audit_result": result }),
        )?;
        self.file.write_all(b"\n")?;
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultLine {
    audit_result: AuditResult,
}

/// Reads a saved audit: calls `line` with every export line in order, then
/// returns the result, once the lines are known to be exactly the ones the
/// result names. An unfinished or altered file is an error, and then
/// whatever `line` built must be thrown away.
pub fn read(path: &Path, mut line: impl FnMut(&[u8])) -> anyhow::Result<AuditResult> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    // One line is held back: the last one is the result, not a record.
    let mut held: Option<Vec<u8>> = None;
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            bail!(
                "{} ends in the middle of a line: the audit did not finish (resume it, then report)",
                path.display()
            );
        }
        if let Some(prev) = held.take() {
            hasher.update(&prev);
            line(&prev[..prev.len() - 1]);
        }
        held = Some(std::mem::replace(&mut buf, Vec::with_capacity(1024)));
    }
    let Some(last) = held else {
        bail!("{} is empty: the audit did not finish", path.display());
    };
    let text = std::str::from_utf8(&last).unwrap_or("");
    let parsed: ResultLine = match crate::protocol::canonical::parse_strict(text.trim_end())
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
    {
        Some(r) => r,
        None => bail!(
            "{} has no audit result as its last line: the audit did not finish (resume it, then report)",
            path.display()
        ),
    };
    let result = parsed.audit_result;
    let got = digest(&hasher);
    if result.lines_sha256 != Some(got) {
        bail!(
            "{}: the lines before the result hash to {got}, but the result names {}: the file was changed after the audit",
            path.display(),
            result
                .lines_sha256
                .map_or("no hash".to_owned(), |h| h.to_string())
        );
    }
    Ok(result)
}

/// The export lines of a saved audit, without its result line, one at a
/// time (call [`read`] first: this does not check the file's hash).
pub struct Lines {
    reader: std::io::BufReader<std::fs::File>,
    held: Option<Vec<u8>>,
}

impl Lines {
    pub fn open(path: &Path) -> anyhow::Result<Lines> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut lines = Lines {
            reader: std::io::BufReader::with_capacity(1 << 20, file),
            held: None,
        };
        lines.held = lines.read_one()?;
        Ok(lines)
    }

    fn read_one(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        let mut buf = Vec::with_capacity(1024);
        if self.reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(None);
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        Ok(Some(buf))
    }

    /// The next export line; `None` at the result line (the last one).
    pub fn next_line(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(current) = self.held.take() else {
            return Ok(None);
        };
        self.held = self.read_one()?;
        Ok(self.held.as_ref().map(|_| current))
    }
}
