//! The report's files: report.json, report.csv, breaches.csv (`render`)
//! and report.html (`html`), written into one folder.

use std::path::Path;

use super::csv::{breaches_csv, to_csv};
use super::render::Report;

/// Writes report.json, report.csv, breaches.csv and report.html into `dir`.
pub fn write_all(r: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(r)?)?;
    std::fs::write(dir.join("report.csv"), to_csv(r))?;
    std::fs::write(dir.join("breaches.csv"), breaches_csv(r))?;
    std::fs::write(dir.join("report.html"), super::html::to_html(r)?)?;
    Ok(())
}
