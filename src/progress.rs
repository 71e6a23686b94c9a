//! Progress on stderr, only when stderr is a terminal, so cron logs and
//! pipes stay clean: a line per stage with the time since the start, a
//! spinner on the stage under way, and bars for work that knows its size
//! (the analyses of a report). Drawn with indicatif, which redraws in place
//! and keeps the stage lines above its bars. `--quiet` turns everything
//! off; `NO_COLOR` draws without colour; `JOURNEYMAP_PROGRESS=1` prints the
//! stage lines (never the bars) off a terminal too, for timing a run in a
//! log.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no progress from here on (set once, before any work).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

pub struct Progress {
    lines: bool,
    /// Bars and spinners: stderr is a terminal and not quiet.
    multi: Option<MultiProgress>,
    spinner: Option<ProgressBar>,
    start: Instant,
}

impl Progress {
    pub fn new() -> Self {
        let quiet = QUIET.load(Ordering::Relaxed);
        let terminal = std::io::stderr().is_terminal();
        let forced = std::env::var_os("JOURNEYMAP_PROGRESS").is_some_and(|v| v == "1");
        let multi = (terminal && !quiet)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let spinner = multi.as_ref().map(|m| {
            let style = if no_color() {
                "{spinner} {msg} ({elapsed})"
            } else {
                "{spinner:.cyan} {msg} ({elapsed})"
            };
            let s = m.add(ProgressBar::new_spinner());
            s.set_style(
                ProgressStyle::with_template(style)
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            s.enable_steady_tick(Duration::from_millis(120));
            s
        });
        Progress {
            lines: !quiet && (forced || terminal),
            multi,
            spinner,
            start: Instant::now(),
        }
    }

    pub fn silent() -> Self {
        Progress {
            lines: false,
            multi: None,
            spinner: None,
            start: Instant::now(),
        }
    }

    /// A stage begins: a line with the time so far, and the spinner says it.
    pub fn stage(&self, what: &str) {
        if !self.lines {
            return;
        }
        let line = format!("[{:>6.1}s] {what}", self.start.elapsed().as_secs_f64());
        match (&self.multi, &self.spinner) {
            (Some(m), Some(s)) => {
                let _ = m.println(line);
                s.set_message(what.to_string());
            }
            _ => eprintln!("{line}"),
        }
    }

    /// The work is over: the last line, and the spinner goes away before the
    /// command prints its results (stdout may share the terminal).
    pub fn done(&self) {
        self.stage("done");
        if let Some(s) = &self.spinner {
            s.finish_and_clear();
        }
    }

    /// A bar over `len` pieces of work (`what`: "analyses"); a no-op off a
    /// terminal. The bar goes away when dropped.
    pub fn bar(&self, len: u64, what: &str) -> Bar {
        let Some(m) = &self.multi else {
            return Bar(None);
        };
        let style = if no_color() {
            "{prefix} [{bar:30}] {pos}/{len} {msg}"
        } else {
            "{prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg}"
        };
        let b = m.add(ProgressBar::new(len));
        b.set_style(
            ProgressStyle::with_template(style)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_prefix(what.to_string());
        Bar(Some(b))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(s) = &self.spinner {
            s.finish_and_clear();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// One progress bar (see [`Progress::bar`]).
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// One more piece done; `msg` names it.
    pub fn done(&self, msg: &str) {
        if let Some(b) = &self.0 {
            b.set_message(msg.to_string());
            b.inc(1);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_there_are_no_bars() {
        // Test runs have stderr captured: never a terminal.
        let p = Progress::new();
        assert!(p.multi.is_none());
        let b = p.bar(3, "analyses");
        assert!(b.0.is_none());
        b.done("funnel");
        let s = Progress::silent();
        assert!(!s.lines);
    }
}
