//! Progress lines on stderr, only when stderr is a terminal, so cron logs
//! and pipes stay clean.

use std::io::IsTerminal;
use std::time::Instant;

pub struct Progress {
    enabled: bool,
    start: Instant,
}

impl Progress {
    pub fn new() -> Self {
        // JOURNEYMAP_PROGRESS=1 forces the lines on (timing a run in a log).
        let forced = std::env::var_os("JOURNEYMAP_PROGRESS").is_some_and(|v| v == "1");
        Progress {
            enabled: forced || std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }
    pub fn silent() -> Self {
        Progress {
            enabled: false,
            start: Instant::now(),
        }
    }
    pub fn stage(&self, what: &str) {
        if self.enabled {
            eprintln!("[{:>6.1}s] {what}", self.start.elapsed().as_secs_f64());
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}
