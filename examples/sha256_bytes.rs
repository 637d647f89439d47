//! The floor `proofdesk audit` is compared with in BENCHMARKS.md: raw
//! SHA-256 (the same `sha2` crate the protocol uses) over the same bytes,
//! e.g. a saved audit (`proofdesk audit --out FILE`), read in 1 MiB chunks.
//!
//!     cargo run --release --example sha256_bytes -- audit.jsonl

use std::io::Read;
use std::time::Instant;

use sha2::{Digest, Sha256};

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: sha256_bytes FILE");
    let mut file = std::fs::File::open(&path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let started = Instant::now();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    let digest = hasher.finalize();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"bytes\":{total},\"seconds\":{secs:.3},\"mb_per_s\":{:.1},\"sha256\":\"{}\"}}",
        total as f64 / secs / 1e6,
        hex::encode(digest)
    );
    Ok(())
}
