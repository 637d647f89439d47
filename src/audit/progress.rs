//! Progress of a long audit: a bar on a terminal, a line every few
//! seconds in logs and CI, or nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// indicatif bar (on a terminal).
    Bar,
    /// A plain line every few seconds (logs, CI).
    Lines,
    Quiet,
}

impl ProgressStyle {
    pub fn auto() -> ProgressStyle {
        if std::io::stderr().is_terminal() {
            ProgressStyle::Bar
        } else {
            ProgressStyle::Lines
        }
    }
}

pub struct Progress {
    style: ProgressStyle,
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(style: ProgressStyle, total: u64, done: u64) -> Progress {
        let bar = (style == ProgressStyle::Bar).then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} records · {per_sec:0} · ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_position(done);
            b
        });
        Progress {
            style,
            bar,
            total,
            done,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }

    pub fn set(&mut self, done: u64) {
        self.done = done;
        if let Some(b) = &self.bar {
            b.set_position(done);
        } else if self.style == ProgressStyle::Lines
            && self.last_line.elapsed() >= Duration::from_secs(2)
        {
            self.last_line = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            let rate = done as f64 / secs;
            let eta = if rate > 0.0 {
                (self.total.saturating_sub(done)) as f64 / rate
            } else {
                0.0
            };
            eprintln!(
                "audit: {done}/{} records, {rate:.0}/s, ETA {eta:.0} s",
                self.total
            );
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
