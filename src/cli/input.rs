//! The input flags every data command shares, and loading data with them.
//! Each reading flag overrides the same setting in journey.toml's `[input]`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::config::JourneyConfig;
use crate::duration::Duration;
use crate::error::UsageError;
use crate::ingest::{self, ColumnMapping, IngestOptions};
use crate::output::CsvStyle;
use crate::pipeline::{self, Data, LoadOptions};
use crate::progress::Progress;

#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Input files: CSV (.csv, .csv.gz) or Parquet, globs such as 'exports/*.parquet', a directory of them, or - for CSV on stdin
    // Not required by clap: `report --aggregates` reads no input; every
    // reader refuses an empty list (ingest::resolve_inputs).
    #[arg(value_name = "FILES")]
    pub files: Vec<String>,

    /// Column holding the user id [default: user_id, or [input] user_col]
    #[arg(long, value_name = "NAME", help_heading = "Columns")]
    pub user_col: Option<String>,

    /// Column holding the event name [default: event, or [input] event_col]
    #[arg(long, value_name = "NAME", help_heading = "Columns")]
    pub event_col: Option<String>,

    /// Column holding the timestamp (ISO 8601, epoch seconds or milliseconds) [default: timestamp]
    #[arg(long, value_name = "NAME", help_heading = "Columns")]
    pub time_col: Option<String>,

    /// Column holding the session id [default: session_id when present]
    #[arg(long, value_name = "NAME", help_heading = "Columns")]
    pub session_col: Option<String>,

    /// CSV field delimiter (one ASCII character; `tab` or `\t` for tabs) [default: ,]
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter, help_heading = "Reading")]
    pub delimiter: Option<u8>,

    /// chrono format for timestamps in another form, e.g. '%d/%m/%Y %H:%M' (add %z for an offset; docs/ingest.md)
    #[arg(long, value_name = "FORMAT", help_heading = "Reading")]
    pub time_format: Option<String>,

    /// Stop at the first bad row with its file:line and reason (exit code 3)
    #[arg(long, help_heading = "Reading")]
    pub strict: bool,

    /// Write every rejected row of the event export to this CSV: file, line, reason, column, detail, raw
    #[arg(long, value_name = "FILE", help_heading = "Reading")]
    pub rejects: Option<PathBuf>,

    /// Remove rows that exactly repeat an earlier row (always counted in the summary)
    #[arg(long, help_heading = "Reading")]
    pub drop_duplicates: bool,

    /// Split sessions at inactivity gaps even when a session column exists
    #[arg(long, help_heading = "Sessions")]
    pub resessionize: bool,

    /// Inactivity that ends a session (a gap strictly longer starts a new one) [default: 30m]
    #[arg(long, value_name = "DURATION", help_heading = "Sessions")]
    pub session_gap: Option<Duration>,
}

/// How CSV outputs are written.
#[derive(Debug, Args, Clone, Default)]
pub struct CsvArgs {
    /// In CSV outputs, prefix cells that start with =, +, -, @ with ' so spreadsheets do not run them as formulas
    #[arg(long, help_heading = "Output")]
    pub spreadsheet_safe: bool,
}

impl CsvArgs {
    pub fn style(&self) -> CsvStyle {
        CsvStyle {
            spreadsheet_safe: self.spreadsheet_safe,
        }
    }
}

pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("delimiter must be one ASCII character, got {s:?}")),
    }
}

pub const DEFAULT_SESSION_GAP_MS: i64 = 30 * 60_000;

impl InputArgs {
    /// The reading settings: each flag over `[input]`, over the default.
    pub fn options(&self, cfg: &JourneyConfig) -> Result<LoadOptions> {
        let sec = cfg.input.clone().unwrap_or_default();
        let delimiter = match (self.delimiter, &sec.delimiter) {
            (Some(d), _) => d,
            (None, Some(d)) => parse_delimiter(d).map_err(|e| {
                UsageError(format!(
                    "{}[input] delimiter: {e}",
                    cfg.at("input.delimiter")
                ))
            })?,
            (None, None) => b',',
        };
        let pick = |flag: &Option<String>, key: &Option<String>, default: &str| {
            flag.clone()
                .or_else(|| key.clone())
                .unwrap_or_else(|| default.to_string())
        };
        let defaults = ColumnMapping::default();
        let time_format = self.time_format.clone().or(sec.time_format.clone());
        if let Some(f) = &time_format {
            ingest::timestamp::TimeParser::check_format(f).map_err(UsageError)?;
        }
        Ok(LoadOptions {
            ingest: IngestOptions {
                mapping: ColumnMapping {
                    user: pick(&self.user_col, &sec.user_col, &defaults.user),
                    event: pick(&self.event_col, &sec.event_col, &defaults.event),
                    time: pick(&self.time_col, &sec.time_col, &defaults.time),
                    session: self.session_col.clone().or(sec.session_col.clone()),
                },
                delimiter,
                time_format,
                ignore_session_col: self.resessionize,
                strict: self.strict,
                keep_rejects: self.rejects.is_some(),
                drop_duplicates: self.drop_duplicates || sec.drop_duplicates.unwrap_or(false),
                threads: 0,
                properties: None,
                hash_unread: false,
            },
            session_gap_ms: self
                .session_gap
                .or(sec.session_gap)
                .map_or(DEFAULT_SESSION_GAP_MS, |d| d.ms()),
            rejects: self.rejects.clone(),
        })
    }

    /// Reads the files with these flags over `cfg`'s `[input]`.
    pub fn load(&self, cfg: &JourneyConfig, progress: &Progress) -> Result<Data> {
        self.load_with(self.options(cfg)?, progress)
    }

    /// Reads the files with only the `selection` of property columns (all
    /// under --drop-duplicates, whose copies are equal in every column).
    pub fn load_selected(
        &self,
        cfg: &JourneyConfig,
        selection: Option<ingest::PropertySelection>,
        progress: &Progress,
    ) -> Result<Data> {
        self.load_with(self.selected_options(cfg, selection)?, progress)
    }

    /// [`Self::load_selected`] for a run that needs no sessions (`experiment
    /// plan`, `did`): the session column is not read (interning its ids
    /// was a fifth of the read), and sessions come from inactivity gaps.
    pub fn load_without_sessions(
        &self,
        cfg: &JourneyConfig,
        selection: ingest::PropertySelection,
        progress: &Progress,
    ) -> Result<Data> {
        let mut opts = self.options(cfg)?;
        if !opts.ingest.drop_duplicates {
            opts.ingest.properties = Some(selection);
            opts.ingest.ignore_session_col = true;
        }
        self.load_with(opts, progress)
    }

    /// Reads the files for `inspect`, which shows no property values: they
    /// are hashed per row for the duplicate count, never interned (a
    /// request-id column costs no dictionary). Under --drop-duplicates every
    /// column is read.
    pub fn load_for_inspect(&self, progress: &Progress) -> Result<Data> {
        let mut opts = self.options(&JourneyConfig::default())?;
        if !opts.ingest.drop_duplicates {
            opts.ingest.properties = Some(ingest::PropertySelection::default());
            opts.ingest.hash_unread = true;
        }
        self.load_with(opts, progress)
    }

    fn load_with(&self, opts: LoadOptions, progress: &Progress) -> Result<Data> {
        pipeline::load(&self.paths()?, &opts, progress)
    }

    /// The reading settings of [`Self::load_selected`].
    pub fn selected_options(
        &self,
        cfg: &JourneyConfig,
        selection: Option<ingest::PropertySelection>,
    ) -> Result<LoadOptions> {
        let mut opts = self.options(cfg)?;
        if !opts.ingest.drop_duplicates {
            opts.ingest.properties = selection;
        }
        Ok(opts)
    }

    /// The input files, resolved (globs, directories) and guarded.
    pub fn paths(&self) -> Result<Vec<PathBuf>> {
        let paths = ingest::resolve_inputs(&self.files)?;
        crate::atomic::protect(&paths);
        Ok(paths)
    }
}
