//! `journeymap diff`: what changed between two nightly reports.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::diff;
use crate::error::{CheckFailed, UsageError};

/// Compare two report.json files: per-step funnel conversion (with a
/// two-proportion test), segment share shifts, model AUC and the population
/// stability index (PSI) of the score distribution.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap diff nightly/2026-11-27/report.json nightly/2026-11-28/report.json
  journeymap diff old.json new.json --json
  journeymap diff old.json new.json --fail-on-drift 0.25   # exit 4 when PSI > 0.25
  journeymap diff old.json new.json --fail-on-property-drift   # needs [drift] in both configs
  journeymap diff nightly/yesterday/report.json nightly/today/report.json --allow-missing-old

The first night has no earlier report: with --allow-missing-old a missing OLD
prints a note and exits 0 (without it, exit 2). A file that is not a
journeymap report.json is refused (exit 2).")]
pub struct DiffArgs {
    /// The earlier report.json
    pub old: PathBuf,
    /// The later report.json
    pub new: PathBuf,
    /// Print JSON instead of Markdown
    #[arg(long)]
    pub json: bool,
    /// Exit with code 4 when the score PSI exceeds this value
    #[arg(long, value_name = "PSI")]
    pub fail_on_drift: Option<f64>,
    /// Exit with code 4 when the event mix drifted (Evidently's default categorical test)
    #[arg(long)]
    pub fail_on_event_mix: bool,
    /// Exit with code 4 on dataset drift of the properties (at least [drift] drift_share of them drifted; both reports need [drift])
    #[arg(long)]
    pub fail_on_property_drift: bool,
    /// A missing OLD (the first night) is a note and exit 0, not an error
    #[arg(long)]
    pub allow_missing_old: bool,
}

fn read(path: &PathBuf) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a report.json (invalid JSON)", path.display()))
        .map_err(|e| UsageError(format!("{e:#}")))?;
    if let Some(why) = diff::not_a_report(&v) {
        return Err(UsageError(format!(
            "{}: not a journeymap report: {why}",
            path.display()
        ))
        .into());
    }
    Ok(v)
}

pub fn run(args: &DiffArgs) -> Result<()> {
    if args.allow_missing_old && !args.old.exists() {
        let new = read(&args.new)?;
        drop(new);
        eprintln!(
            "note: {} does not exist (the first night?): nothing to compare",
            args.old.display()
        );
        return Ok(());
    }
    let d = diff::compare(&read(&args.old)?, &read(&args.new)?);
    if args.json {
        super::outln(&serde_json::to_string_pretty(&d)?)?;
    } else {
        super::out(&crate::doc::markdown::render(
            &crate::report::sections::diff::document(&d),
        ))?;
    }
    if args.fail_on_event_mix {
        match &d.event_mix {
            Some(m) if m.drifted => {
                return Err(CheckFailed(format!(
                    "the event mix drifted: {} {:.4} (threshold {})",
                    m.method, m.statistic, m.threshold
                ))
                .into());
            }
            None => {
                return Err(CheckFailed(
                    "--fail-on-event-mix: a report lists no events to compare".into(),
                )
                .into());
            }
            _ => {}
        }
    }
    if args.fail_on_property_drift {
        let part = d.sections.iter().find(|s| s.section == "drift");
        match part.map(|p| &p.figures["dataset"]) {
            // A gate that cannot look is a failed gate (as --fail-on-drift).
            Some(ds) if ds["tested_columns"] == 0 => {
                return Err(CheckFailed(
                    "--fail-on-property-drift: no property could be tested (see the Property drift table's notes)".into(),
                )
                .into());
            }
            Some(ds) if ds["drifted"] == serde_json::Value::Bool(true) => {
                return Err(CheckFailed(format!(
                    "the properties drifted: {} of {} tested columns (threshold {})",
                    ds["drifted_columns"], ds["tested_columns"], ds["threshold"]
                ))
                .into());
            }
            None => {
                return Err(CheckFailed(
                    "--fail-on-property-drift: the reports keep no property summaries to compare (add [drift] to both configs)".into(),
                )
                .into());
            }
            _ => {}
        }
    }
    if let Some(limit) = args.fail_on_drift {
        match d.drift() {
            Some(p) if p > limit => {
                return Err(CheckFailed(format!(
                    "score distribution drifted: PSI {p:.4} > {limit}"
                ))
                .into());
            }
            None => {
                return Err(CheckFailed(
                    "--fail-on-drift: no score PSI to compare (the reports carry no scores, or PSI is undefined: see the diff's notes)".into(),
                )
                .into());
            }
            _ => {}
        }
    }
    Ok(())
}
