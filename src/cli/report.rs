//! `journeymap report`: the versioned report.json and the readable report.md.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::input::{InputArgs, Loaded};
use crate::atomic;
use crate::config::{self, JourneyConfig};
use crate::funnel::{self, FunnelOptions};
use crate::progress::Progress;
use crate::report::{self, InputFingerprint, Report, Tool};
use crate::summary;

/// Write report.json and report.md for an export into a directory. Files are
/// written to a temporary name and renamed, so readers never see half a report.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap report events.csv --out out/
  journeymap report events.csv --config journey.toml --out out/
  journeymap report 'exports/*.parquet' --out nightly/2026-11-28 --rejects nightly/rejects.csv")]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// journey.toml: runs the funnel, stages and Markov map it describes
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for report.json and report.md (created if missing)
    #[arg(long, value_name = "DIR", default_value = "journeymap-report")]
    pub out: PathBuf,
}

/// Builds the report from loaded data and the config's analyses.
pub fn build(loaded: &Loaded, config: &JourneyConfig) -> Result<Report> {
    let t = &loaded.ingested.table;
    config.validate(t)?;
    let funnel = match &config.funnel {
        Some(c) => {
            Some(funnel::analyze(t, &loaded.sessions, &FunnelOptions::from_config(c)?)?.report)
        }
        None => None,
    };
    let stages = if config.stages.is_empty() {
        None
    } else {
        Some(crate::stages::analyze(t, &config.stages)?)
    };
    let markov = match crate::paths::PathsOptions::from_config(config) {
        Some(opts) => Some(crate::paths::analyze(t, &loaded.sessions, &opts)?),
        None => None,
    };
    Ok(Report {
        schema_version: report::SCHEMA_VERSION.into(),
        tool: Tool::current(),
        input: InputFingerprint::new(&loaded.ingested.files),
        parameters: loaded.parameters.clone(),
        data: summary::summarize(&loaded.ingested, &loaded.sessions, &loaded.source),
        funnel,
        stages,
        markov,
    })
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
    let config = match &args.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    let loaded = args.input.load(&progress)?;
    progress.stage("building the report");
    let report = build(&loaded, &config)?;
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
