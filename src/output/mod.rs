//! Per-unit output tables (scores, segment assignments, funnel levels,
//! feature matrices): one writer for all of them, CSV or Parquet by the
//! file's extension, written atomically.
//!
//! An analysis describes its table as [`Rows`] (its columns, then each row's
//! cells); it never chooses a format or writes bytes itself.

mod csv_out;
mod parquet_out;
pub mod set;

use std::path::Path;

use anyhow::Result;

use crate::error::UsageError;

/// A column's type: how its cells are written in CSV and typed in Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    /// Shortest round-trip decimal form in CSV.
    Float,
    /// Milliseconds since the epoch; ISO 8601 UTC with milliseconds in CSV.
    Time,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: Kind,
}

impl ColumnSpec {
    pub fn new(name: impl Into<String>, kind: Kind) -> ColumnSpec {
        ColumnSpec {
            name: name.into(),
            kind,
        }
    }
}

/// Receives one row's cells, in column order; `None` is an empty cell.
pub trait Cells {
    fn text(&mut self, v: Option<&str>);
    fn int(&mut self, v: Option<i64>);
    fn float(&mut self, v: Option<f64>);
    fn time(&mut self, ms: Option<i64>);
}

/// A table an analysis writes: its columns and its rows.
pub trait Rows: Sync {
    fn columns(&self) -> Vec<ColumnSpec>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `i`'s cells, one per column, in order.
    fn row(&self, i: usize, out: &mut dyn Cells);
}

/// How CSV cells are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvStyle {
    /// Prefix a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return with `'`, so a spreadsheet shows it instead of
    /// running it as a formula (OWASP's CSV-injection rule). Off by
    /// default: the files are for marketing tools, which read ids as they
    /// are.
    pub spreadsheet_safe: bool,
}

/// The file formats tables are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// By extension: `.csv` or `.parquet`; `flag` names the option in the error.
    pub fn of(path: &Path, flag: &str) -> Result<Format, UsageError> {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".csv") || name == "-" || name == "/dev/stdout" {
            Ok(Format::Csv)
        } else if name.ends_with(".parquet") {
            Ok(Format::Parquet)
        } else {
            Err(UsageError(format!(
                "{flag} {}: expected a .csv or .parquet file",
                path.display()
            )))
        }
    }
}

/// A written file's size and SHA-256 (lowercase hex, as `sha256sum` prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub bytes: u64,
    pub sha256: String,
}

impl Digest {
    /// Of the concatenation of `chunks`.
    pub fn of(chunks: &[Vec<u8>]) -> Digest {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for c in chunks {
            h.update(c);
        }
        Digest {
            bytes: chunks.iter().map(|c| c.len() as u64).sum(),
            sha256: set::hex(&h.finalize()),
        }
    }
}

/// Writes `rows` to `path` in the format its extension names; the digest
/// of what was written when it was hashed on the way (CSV).
pub fn write(path: &Path, rows: &dyn Rows, flag: &str, style: CsvStyle) -> Result<Option<Digest>> {
    match Format::of(path, flag)? {
        Format::Csv => csv_out::write(path, rows, style).map(Some),
        Format::Parquet => parquet_out::write(path, rows).map(|()| None),
    }
}

/// ISO 8601 UTC with milliseconds: `2026-10-01T12:00:00.000Z`.
pub fn iso(ms: i64) -> String {
    let mut s = String::new();
    csv_out::iso_into(&mut s, ms);
    s
}
