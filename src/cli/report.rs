//! `journeymap report`: the versioned report.json and the readable report.md.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::input::{InputArgs, Loaded};
use crate::atomic;
use crate::progress::Progress;
use crate::report::{self, InputFingerprint, Report, Tool};
use crate::summary;

/// Write report.json and report.md for an export into a directory. Files are
/// written to a temporary name and renamed, so readers never see half a report.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap report events.csv --out out/
  journeymap report 'exports/*.parquet' --out nightly/2026-11-28 --rejects nightly/rejects.csv")]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Directory for report.json and report.md (created if missing)
    #[arg(long, value_name = "DIR", default_value = "journeymap-report")]
    pub out: PathBuf,
}

/// Builds the report from loaded data.
pub fn build(loaded: &Loaded) -> Report {
    Report {
        schema_version: report::SCHEMA_VERSION.into(),
        tool: Tool::current(),
        input: InputFingerprint::new(&loaded.ingested.files),
        parameters: loaded.parameters.clone(),
        data: summary::summarize(&loaded.ingested, &loaded.sessions, &loaded.source),
    }
}

/// Writes both renderings; returns their paths.
pub fn write(report: &Report, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let json = dir.join("report.json");
    let md = dir.join("report.md");
    atomic::write_bytes(&json, report::json::render(report).as_bytes())?;
    atomic::write_bytes(&md, report::markdown::render(report).as_bytes())?;
    Ok((json, md))
}

pub fn run(args: &ReportArgs) -> Result<()> {
    let progress = Progress::new();
    let loaded = args.input.load(&progress)?;
    progress.stage("building the report");
    let report = build(&loaded);
    let (json, md) = write(&report, &args.out)?;
    let r = &report.data.rows;
    println!(
        "rows: {} read = {} used + {} rejected",
        r.read, r.used, r.rejected
    );
    println!("wrote {}", json.display());
    println!("wrote {}", md.display());
    Ok(())
}
