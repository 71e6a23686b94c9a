//! Exit codes and the typed errors that map onto them.
//!
//! Scripts and cron jobs branch on the exit code, so each class of failure
//! has its own, documented in README.md.

use thiserror::Error;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// I/O or internal failure (file not readable, disk full, a bug).
pub const EXIT_RUNTIME: i32 = 1;
/// Bad command line: unknown flag, bad value (clap uses 2 as well).
pub const EXIT_USAGE: i32 = 2;
/// The data is not usable as asked: a missing column, a bad row under `--strict`.
pub const EXIT_DATA: i32 = 3;
/// A `--check` gate failed, or `diff --fail-on-drift` found drift.
pub const EXIT_CHECK_FAILED: i32 = 4;
/// An external job journeymap ran (Spark's `spark-submit`) failed.
pub const EXIT_JOB_FAILED: i32 = 5;

/// A problem with the input data, as opposed to the machine or the command line.
#[derive(Debug, Error)]
pub enum DataError {
    /// Every required column the file lacks, at once.
    #[error("{file}: {missing} not found.\n  columns found: {found}\n  hint: {hint}")]
    MissingColumns {
        file: String,
        /// "required column 'user_id' (mapped by --user-col)", joined.
        missing: String,
        found: String,
        hint: String,
    },
    #[error(
        "{file}:{line}: {place}{reason}{detail}\n  hint: fix or remove the row, or drop --strict to skip bad rows and list them with --rejects FILE"
    )]
    StrictReject {
        file: String,
        line: u64,
        /// "column 'x': ", or empty for whole-row reasons.
        place: String,
        reason: String,
        detail: String,
    },
    #[error("{file}: {message}")]
    Unreadable { file: String, message: String },
    #[error("{0}")]
    Input(String),
    /// Too little data for one analysis (no positive labels, too few units
    /// to segment). In a report the analysis is skipped with a warning, so
    /// a quiet day does not fail the nightly job; on its own command it is
    /// exit 3.
    #[error("{0}")]
    Insufficient(String),
}

/// An error from the command line that clap could not catch (a bad glob, a bad duration).
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// One or more `--check` gates (or `diff --fail-on-drift`) failed; the message lists them.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// The Spark job (`push --engine spark`) failed; the message holds its log's tail.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct ExternalJobFailed(pub String);

/// Whether the error is a write to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Picks the exit code for an error that reached `main`.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.downcast_ref::<DataError>().is_some() {
        EXIT_DATA
    } else if err.downcast_ref::<CheckFailed>().is_some() {
        EXIT_CHECK_FAILED
    } else if err.downcast_ref::<UsageError>().is_some() {
        EXIT_USAGE
    } else if err.downcast_ref::<ExternalJobFailed>().is_some() {
        EXIT_JOB_FAILED
    } else {
        EXIT_RUNTIME
    }
}
