//! `journeymap report`: the versioned report.json, the readable report.md
//! and the per-user files of every analysis the config names.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::{CsvArgs, InputArgs};
use super::{out, outln};
use crate::checks;
use crate::config::{self, JourneyConfig};
use crate::error::CheckFailed;
use crate::partitioned;
use crate::pipeline::{self, Context};
use crate::progress::Progress;

/// Write report.json and report.md for an export into a directory, plus the
/// per-user files of the analyses the config names (scores.csv,
/// segments.csv). Files are written to a temporary name and renamed, so
/// readers never see half a file.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap report events.csv --out out/
  journeymap report events.csv --config journey.toml --out out/
  journeymap report events.csv --config journey.toml --out out/ --html   # also out/report.html
  journeymap report events.csv --config journey.toml --out out/ --check 'funnel.conversion >= 0.2' --check 'data.rejected_share <= 0.01'
  journeymap report 'exports/*.parquet' --out nightly/2026-11-28 --rejects nightly/rejects.csv
  journeymap report big.parquet --config journey.toml --memory-limit 6G --out out/   # spills to disk past 6 GiB (docs/scaling.md)")]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// journey.toml: the analyses to run (funnel, stages, Markov map, segments, propensity) and how to read the input
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Fail (exit 4) unless this holds, e.g. 'funnel.step[3].conversion >= 0.2' (repeatable; docs/checks.md)
    #[arg(long = "check", value_name = "EXPR")]
    pub checks: Vec<String>,

    /// Directory for report.json, report.md and the per-user files (created if missing)
    #[arg(long, value_name = "DIR", default_value = "journeymap-report")]
    pub out: PathBuf,

    /// Also write report.html: one self-contained page with the same sections as report.md, charts drawn as inline SVG, no network requests (docs/html.md)
    #[arg(long)]
    pub html: bool,

    /// Read every property column, not only those the config's analyses use (slower on wide exports; the duplicate count then compares every column)
    #[arg(long)]
    pub read_all_columns: bool,

    /// Memory budget for the events, e.g. 6G: an input estimated above it is spilled to disk in partitions by user and processed one partition at a time, with the same report (docs/scaling.md). Default: three quarters of the memory available at start
    #[arg(long, value_name = "SIZE", value_parser = crate::partitioned::parse_size, help_heading = "Scale")]
    pub memory_limit: Option<u64>,

    /// Split the events into exactly N partitions by user, whatever the budget (1: in memory); for tuning and tests
    #[arg(long, value_name = "N", help_heading = "Scale")]
    pub partitions: Option<usize>,

    /// Where partitioned runs spill (default: the system's temp dir); needs 13-40 bytes per event
    #[arg(long, value_name = "DIR", help_heading = "Scale")]
    pub spill_dir: Option<PathBuf>,

    /// Build the report from the counts a `journeymap push` job wrote into DIR (plan.json, aggregates/) instead of from FILES; the --config and reading flags must be those it was pushed with (docs/scaling.md)
    #[arg(long, value_name = "DIR", help_heading = "Scale", conflicts_with_all = ["memory_limit", "partitions", "spill_dir"])]
    pub aggregates: Option<PathBuf>,

    #[command(flatten)]
    pub csv: CsvArgs,
}

pub fn run(args: &ReportArgs) -> Result<()> {
    let progress = Progress::new();
    let config = match &args.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    // Parse every gate before the (long) run, so a typo fails at once.
    let gates: Vec<checks::Check> = config
        .checks
        .iter()
        .chain(&args.checks)
        .map(|c| checks::parse(c))
        .collect::<Result<_, _>>()?;
    // Only the property columns the config's analyses use (docs/ingest.md).
    let selection = (!args.read_all_columns).then(|| config.properties_read());
    let opts = args.input.selected_options(&config, selection)?;
    let (data, loaded) = match &args.aggregates {
        Some(dir) => {
            if !args.input.files.is_empty() {
                return Err(crate::error::UsageError(
                    "--aggregates reads the counts in DIR, not FILES: drop the input files (plan.json names them)".into(),
                )
                .into());
            }
            let l = crate::spark::aggregates::load(dir, &config, &opts)?;
            (l.data, Some((l.partials, l.warnings, l.span)))
        }
        None => load_input(args, &config, &opts, &progress)?,
    };
    if args.config.is_none() {
        for cfg in unused_configs(&args.input.files) {
            eprintln!(
                "note: {} sits beside the data but was not used; pass --config {} to run the analyses it names",
                cfg.display(),
                cfg.display()
            );
        }
    }
    progress.stage("building the report");
    let ctx = match loaded {
        Some((partials, warnings, span)) => {
            let ctx = Context::new(&data, &config, &progress).spanning(span);
            partitioned::merge(&ctx, partials, warnings);
            ctx
        }
        None => Context::new(&data, &config, &progress),
    };
    let mut report = pipeline::build(&ctx)?;
    for w in ctx.warnings() {
        eprintln!("warning: {}", crate::doc::text::clean(&w));
    }
    // The gates are judged before writing, so report.json (and the summary
    // at the top of report.md and report.html) records how each came out.
    report.checks = checks::evaluate(&serde_json::to_value(&report)?, &gates);
    let opts = pipeline::WriteOptions {
        style: args.csv.style(),
        html: args.html,
    };
    let written = pipeline::write(&ctx, &report, &args.out, opts)?;
    progress.done();
    for path in &written.tables {
        outln(&format!("wrote {}", path.display()))?;
    }
    out(&crate::doc::text::render(&[crate::doc::Block::Lines(
        pipeline::summary_lines(&report),
    )]))?;
    for path in [
        Some(&written.json),
        Some(&written.md),
        written.html.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        outln(&format!("wrote {}", path.display()))?;
    }
    if gates.is_empty() {
        return Ok(());
    }
    gate(&report.checks)
}

type Loaded = (
    pipeline::Data,
    Option<(partitioned::Partials, Vec<String>, Option<(i64, i64)>)>,
);

/// Reads FILES, in memory or partitioned (see [`scale_mode`]).
fn load_input(
    args: &ReportArgs,
    config: &JourneyConfig,
    opts: &pipeline::LoadOptions,
    progress: &Progress,
) -> Result<Loaded> {
    let paths = args.input.paths()?;
    Ok(match scale_mode(args, &paths, config)? {
        partitioned::Mode::InMemory => (pipeline::load(&paths, opts, progress)?, None),
        partitioned::Mode::Partitioned(n) => {
            let spill = crate::ingest::spill::SpillOptions {
                partitions: n,
                dir: args.spill_dir.clone(),
            };
            let l = partitioned::load(&paths, opts, config, &spill, progress)?;
            (l.data, Some((l.partials, l.warnings, l.span)))
        }
    })
}

/// In memory or partitioned: `--partitions` decides, else the input's
/// estimated size against `--memory-limit`. Over the default budget with
/// analyses a partitioned run lacks, the run stays in memory with a
/// warning; over an explicit `--memory-limit`, it stops (exit 2).
fn scale_mode(
    args: &ReportArgs,
    paths: &[PathBuf],
    config: &JourneyConfig,
) -> Result<partitioned::Mode> {
    if args.partitions == Some(0) {
        return Err(crate::error::UsageError("--partitions must be at least 1".into()).into());
    }
    let events = partitioned::estimate_events(paths);
    let limit = args.memory_limit.unwrap_or_else(partitioned::default_limit);
    let mode = partitioned::plan(events, limit, args.partitions);
    let missing = partitioned::unsupported(config);
    if mode != partitioned::Mode::InMemory
        && !missing.is_empty()
        && args.memory_limit.is_none()
        && args.partitions.is_none()
    {
        eprintln!(
            "warning: the input (about {events} events, {:.1} GiB in memory) is over the default memory budget of {:.1} GiB, but a partitioned run cannot yet compute {}; holding it in memory (docs/scaling.md)",
            (events * partitioned::BYTES_PER_EVENT) as f64 / f64::from(1u32 << 30),
            limit as f64 / f64::from(1u32 << 30),
            missing.join(", ")
        );
        return Ok(partitioned::Mode::InMemory);
    }
    Ok(mode)
}

/// One analysis of the shared pipeline as its own command (`retention`,
/// `lifecycle`): runs it on the loaded data through its [`Analysis`]
/// implementation, prints its warnings to stderr and its section as JSON
/// or as its document, then evaluates `gates` on the section.
pub fn run_one<A: crate::analysis::Analysis>(
    data: &pipeline::Data,
    cfg: &JourneyConfig,
    progress: &Progress,
    json: bool,
    gates: &[checks::Check],
) -> Result<()> {
    let ctx = Context::new(data, cfg, progress);
    progress.stage(A::TITLE);
    let section = A::section(&A::run(&ctx)?);
    for w in ctx.warnings() {
        eprintln!("warning: {}", crate::doc::text::clean(&w));
    }
    progress.done();
    if json {
        outln(&serde_json::to_string_pretty(&section)?)?;
    } else {
        out(&crate::doc::text::render(&A::document(&section)))?;
    }
    if gates.is_empty() {
        return Ok(());
    }
    let value = serde_json::json!({ A::KEY: serde_json::to_value(&section)? });
    gate(&checks::evaluate(&value, gates))
}

/// Prints each check's result; an error (exit 4) when any failed.
pub fn gate(results: &[checks::CheckResult]) -> Result<()> {
    let mut failed = Vec::new();
    for r in results {
        let actual = r.actual.map_or("missing".to_string(), |a| format!("{a}"));
        outln(&format!(
            "{} {}: actual {actual}, expected {}",
            if r.passed { "ok  " } else { "FAIL" },
            r.check,
            r.expected
        ))?;
        if !r.passed {
            failed.push(format!(
                "  {}: actual {actual}, expected {}{}",
                r.check,
                r.expected,
                r.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
    }
    if !failed.is_empty() {
        return Err(CheckFailed(format!(
            "{} of {} checks failed:\n{}",
            failed.len(),
            results.len(),
            failed.join("\n")
        ))
        .into());
    }
    Ok(())
}

/// `<name>.journey.toml` files beside the inputs (as `generate` and `demo`
/// write them), which a run without --config would silently ignore.
fn unused_configs(files: &[String]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for f in crate::ingest::resolve_inputs(files).unwrap_or_default() {
        let Some(name) = f.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let stem = [
            ".csv.gz", ".tsv.gz", ".csv", ".tsv", ".txt", ".parquet", ".pq",
        ]
        .iter()
        .find_map(|ext| name.strip_suffix(ext));
        if let Some(stem) = stem {
            let cfg = f.with_file_name(format!("{stem}.journey.toml"));
            if cfg.is_file() && !out.contains(&cfg) {
                out.push(cfg);
            }
        }
    }
    out
}
