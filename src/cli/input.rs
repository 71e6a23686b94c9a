//! The input flags every data command shares, and loading data with them.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::error::UsageError;
use crate::ingest::{self, ColumnMapping, IngestOptions, Ingested};
use crate::progress::Progress;
use crate::report::Parameters;
use crate::sessions::{self, SessionSource, Sessions};

#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Input files: CSV (.csv, .csv.gz) or Parquet, or globs such as 'exports/*.parquet'
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<String>,

    /// Column holding the user id
    #[arg(
        long,
        default_value = "user_id",
        value_name = "NAME",
        help_heading = "Columns"
    )]
    pub user_col: String,

    /// Column holding the event name
    #[arg(
        long,
        default_value = "event",
        value_name = "NAME",
        help_heading = "Columns"
    )]
    pub event_col: String,

    /// Column holding the timestamp (ISO 8601, epoch seconds or milliseconds)
    #[arg(
        long,
        default_value = "timestamp",
        value_name = "NAME",
        help_heading = "Columns"
    )]
    pub time_col: String,

    /// Column holding the session id [default: session_id when present]
    #[arg(long, value_name = "NAME", help_heading = "Columns")]
    pub session_col: Option<String>,

    /// CSV field delimiter (one ASCII character; `tab` or `\t` for tabs)
    #[arg(long, default_value = ",", value_name = "CHAR", value_parser = parse_delimiter, help_heading = "Reading")]
    pub delimiter: u8,

    /// chrono format for timestamps in another form, e.g. '%d/%m/%Y %H:%M' (add %z for an offset)
    #[arg(long, value_name = "FORMAT", help_heading = "Reading")]
    pub time_format: Option<String>,

    /// Stop at the first bad row with its file:line and reason (exit code 3)
    #[arg(long, help_heading = "Reading")]
    pub strict: bool,

    /// Write every rejected row to this CSV: file, line, reason, column, detail, raw
    #[arg(long, value_name = "FILE", help_heading = "Reading")]
    pub rejects: Option<PathBuf>,

    /// Split sessions at inactivity gaps even when a session column exists
    #[arg(long, help_heading = "Sessions")]
    pub resessionize: bool,

    /// Inactivity that ends a session (a gap strictly longer starts a new one)
    #[arg(long, default_value = "30m", value_name = "DURATION", value_parser = crate::duration::parse_ms, help_heading = "Sessions")]
    pub session_gap: i64,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("delimiter must be one ASCII character, got {s:?}")),
    }
}

/// Data loaded and split into sessions, ready for every analysis.
pub struct Loaded {
    pub ingested: Ingested,
    pub sessions: Sessions,
    pub source: SessionSource,
    pub parameters: Parameters,
}

impl InputArgs {
    pub fn options(&self) -> IngestOptions {
        IngestOptions {
            mapping: ColumnMapping {
                user: self.user_col.clone(),
                event: self.event_col.clone(),
                time: self.time_col.clone(),
                session: self.session_col.clone(),
            },
            delimiter: self.delimiter,
            time_format: self.time_format.clone(),
            ignore_session_col: self.resessionize,
            strict: self.strict,
            keep_rejects: self.rejects.is_some(),
            threads: 0,
        }
    }

    pub fn load(&self, progress: &Progress) -> Result<Loaded> {
        if self.session_gap <= 0 {
            return Err(UsageError("--session-gap must be longer than zero".into()).into());
        }
        let paths = ingest::resolve_inputs(&self.files)?;
        let opts = self.options();
        let ingested = ingest::ingest(&paths, &opts, progress)?;
        if let Some(path) = &self.rejects {
            ingest::reject::write_rejects(path, &ingested.rejects)?;
        }
        let source = match &ingested.session_column {
            Some(column) => SessionSource::Column {
                column: column.clone(),
            },
            None => SessionSource::Inactivity {
                gap_ms: self.session_gap,
            },
        };
        progress.stage("building sessions");
        let sessions = sessions::build(&ingested.table, &source);
        let mut mapping = opts.mapping.clone();
        mapping.session = ingested.session_column.clone();
        let parameters = Parameters {
            columns: mapping,
            delimiter: (self.delimiter as char).to_string(),
            time_format: self.time_format.clone(),
            sessions: source.clone(),
            strict: self.strict,
        };
        Ok(Loaded {
            ingested,
            sessions,
            source,
            parameters,
        })
    }
}
