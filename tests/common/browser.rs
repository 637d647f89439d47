//! The verifier page in headless Chromium, for any suite: cases go to
//! tests/browser/verify-page.mjs (playwright-core at Debian's chromium) and
//! come back as what a person sees, the verdict class included.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs the cases (see verify-page.mjs for their shape); one result each.
pub fn run_browser(cases: &Value, dir: &Path) -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join(".tools/node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/install-browser.sh"
    );
    let file = dir.join("cases.json");
    std::fs::write(&file, serde_json::to_vec_pretty(cases).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(root.join("tests/browser/verify-page.mjs"))
        .arg(&file)
        .env("TMPDIR", dir)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "browser driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "driver output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The built page, opened from disk.
pub fn file_page() -> String {
    format!(
        "file://{}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("web/dist/verify.html")
            .display()
    )
}
