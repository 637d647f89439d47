//! Stopping on SIGTERM as on SIGINT: systemd, Kubernetes and `docker stop`
//! send SIGTERM, and its default action ends the process on the spot
//! (no drain, and `dev`'s anvil left running). The handlers are installed
//! when [`Stop::install`] is called, at the start of a command, so a signal
//! that arrives while the node is still starting is not lost.

use tokio::signal::unix::{Signal, SignalKind, signal};

pub struct Stop {
    term: Signal,
    int: Signal,
}

impl Stop {
    pub fn install() -> std::io::Result<Stop> {
        Ok(Stop {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for SIGTERM or SIGINT; returns its name.
    pub async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
