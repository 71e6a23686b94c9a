//! `journeymap render`: an existing report.json drawn again as report.md or
//! report.html, without the data (the report types read back what they
//! wrote).

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::out;
use crate::error::{DataError, UsageError};
use crate::report::{self, Report};

/// Render a report.json written by `journeymap report` as HTML or Markdown,
/// e.g. to make report.html for a nightly report that was written without
/// `--html`, or to open an archived report in a browser. The figures are
/// the report's own; nothing is recomputed. With neither --html nor --md,
/// the Markdown goes to stdout.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap render out/report.json --html out/report.html
  journeymap render nightly/2026-11-28/report.json --md - | less
  journeymap render out/report.json --html report.html --md report.md

A report from a newer minor version of the schema is read (fields this
version does not know are ignored); one from another major version is not.")]
pub struct RenderArgs {
    /// The report.json to render
    pub report: PathBuf,

    /// Write the report as one self-contained HTML page here ('-': stdout)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Write the report as Markdown here ('-': stdout)
    #[arg(long, value_name = "FILE")]
    pub md: Option<PathBuf>,
}

/// Reads a report.json back into the report types.
pub fn read(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "cannot read {}: {e}; pass the report.json a `journeymap report --out DIR` wrote",
            path.display()
        ))
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        DataError::Input(format!(
            "{}: not valid JSON at line {}, column {} ({e}); is this a report.json?",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            DataError::Input(format!(
                "{}: no schema_version: not a journeymap report.json",
                path.display()
            ))
        })?;
    let major = |v: &str| v.split('.').next().unwrap_or("").to_string();
    if major(&version) != major(report::SCHEMA_VERSION) {
        return Err(DataError::Input(format!(
            "{}: report schema {version}, but this journeymap reads schema {}.x ({}); render it with the journeymap version that wrote it",
            path.display(),
            major(report::SCHEMA_VERSION),
            report::SCHEMA_VERSION
        ))
        .into());
    }
    let report: Report = serde_json::from_value(value).map_err(|e| {
        DataError::Input(format!(
            "{}: schema {version} report that does not read back: {e}",
            path.display()
        ))
    })?;
    Ok(report)
}

fn emit(path: &Path, body: &str) -> Result<()> {
    if path == Path::new("-") {
        out(body)?;
    } else {
        crate::atomic::write_bytes(path, body.as_bytes())?;
    }
    Ok(())
}

pub fn run(args: &RenderArgs) -> Result<()> {
    let report = read(&args.report)?;
    if args.html.is_none() && args.md.is_none() {
        return emit(Path::new("-"), &report::markdown::render(&report));
    }
    if let Some(p) = &args.html {
        emit(p, &report::html::render(&report))?;
    }
    if let Some(p) = &args.md {
        emit(p, &report::markdown::render(&report))?;
    }
    Ok(())
}
