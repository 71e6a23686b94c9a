//! Running the job with `spark-submit`, when one is on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Result;

use crate::error::{ExternalJobFailed, UsageError};

/// How to call `spark-submit`.
#[derive(Debug, Clone, Default)]
pub struct Submit {
    /// The program: a name looked up on PATH, or a path.
    pub program: String,
    /// `--master`: none lets spark-submit use the cluster's defaults.
    pub master: Option<String>,
    /// `--conf KEY=VALUE`, passed through in order.
    pub conf: Vec<String>,
}

/// The program's path, if it can be run.
pub fn find(program: &str) -> Option<PathBuf> {
    let p = Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|c| c.is_file())
    })
}

/// Lines kept from the end of a failed job's log.
const TAIL: usize = 25;

/// Runs `job` with `plan`, its output going to `log`; a failure carries the
/// log's tail (exit code 5).
pub fn run(program: &Path, s: &Submit, job: &Path, plan: &Path, log: &Path) -> Result<()> {
    let file = std::fs::File::create(log)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", log.display()))?;
    let mut cmd = Command::new(program);
    if let Some(m) = &s.master {
        cmd.arg("--master").arg(m);
    }
    for c in &s.conf {
        if !c.contains('=') {
            return Err(UsageError(format!("--conf {c:?}: write KEY=VALUE")).into());
        }
        cmd.arg("--conf").arg(c);
    }
    let status = cmd
        .arg(job)
        .arg(plan)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", program.display()))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail = tail(&text);
    Err(ExternalJobFailed(format!(
        "the Spark job failed ({status}); the last lines of {}:\n{tail}",
        log.display()
    ))
    .into())
}

/// The last lines of a log that say something: Spark's INFO lines (most
/// of a log at its default level) are left out, the job's own messages and
/// Python's tracebacks kept.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.split_whitespace().nth(2).is_none_or(|w| w != "INFO"))
        .collect();
    lines[lines.len().saturating_sub(TAIL)..].join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tail_skips_info_lines_and_keeps_the_last() {
        let mut log = String::new();
        for i in 0..40 {
            log.push_str(&format!(
                "26/12/03 07:50:46 INFO Executor: task {i}\nline {i}\n"
            ));
        }
        log.push_str("journeymap job: no column 'customer'\n");
        let t = super::tail(&log);
        assert!(!t.contains("INFO"));
        assert!(t.ends_with("journeymap job: no column 'customer'"));
        assert_eq!(t.lines().count(), super::TAIL);
        assert!(t.starts_with("line 16"));
    }
}
