//! A local anvil chain for `proofdesk dev` and the tests: started from the
//! repo's pinned toolchain (.tools/bin/anvil, or $PROOFDESK_ANVIL), killed
//! when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// anvil's first two well-known development keys (public test keys).
pub const DEV_KEYS: [&str; 2] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
];

pub struct Anvil {
    child: Child,
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    #[error("anvil not found at {0}: run scripts/install-toolchain.sh (or set PROOFDESK_ANVIL)")]
    Missing(String),
    #[error("cannot start anvil: {0}")]
    Spawn(std::io::Error),
    #[error("anvil did not answer on port {0} within 15 s")]
    NotReady(u16),
}

pub fn anvil_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PROOFDESK_ANVIL") {
        return p.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/anvil")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(8545)
}

impl Anvil {
    /// Starts anvil on `port` (0 picks a free one). `block_time` None means
    /// a block per transaction.
    pub async fn start(port: u16, block_time: Option<u64>) -> Result<Anvil, AnvilError> {
        let path = anvil_path();
        if !path.exists() {
            return Err(AnvilError::Missing(path.display().to_string()));
        }
        let port = if port == 0 { free_port() } else { port };
        let mut cmd = Command::new(&path);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--silent",
        ]);
        if let Some(t) = block_time {
            cmd.args(["--block-time", &t.to_string()]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(AnvilError::Spawn)?;
        let anvil = Anvil { child, port };
        for _ in 0..150 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(anvil);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(AnvilError::NotReady(port))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
