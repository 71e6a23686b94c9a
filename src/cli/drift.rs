//! `journeymap drift`: what moved between two exports.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use super::{out, outln};
use crate::drift::{self, DriftOptions, PsiBins};
use crate::error::{CheckFailed, UsageError};
use crate::progress::Progress;

/// Compare two exports column by column: the event mix, every property,
/// per-user features (a model's own, with --model) and the model's score.
/// Each column gets Evidently's default test (K-S, chi-square or Z below
/// 1,000 reference values; normed Wasserstein or Jensen-Shannon above), its
/// threshold and verdict, and PSI; drifted columns are broken down by
/// groups (channel, device...) to show which moved them.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap drift last_month.parquet this_month.parquet
  journeymap drift ref/ cur/ --model model.json --json > drift.json
  journeymap drift ref.csv cur.csv --config journey.toml --by channel,device
  journeymap drift ref.parquet cur.parquet --fail-on-drift   # exit 4 on dataset drift

FILES are exactly two: the reference export and the current one (each a
file, a glob in quotes, or a directory). Dataset drift: at least
--drift-share of the tested columns drift (Evidently's rule). Statistics and
thresholds: docs/monitoring.md.")]
pub struct DriftArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// journey.toml: its [input] mapping and [drift] settings
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A propensity model.json: test its features (computed with its saved definitions) and its score
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Columns whose groups explain each drifted column, comma-separated [default: categorical properties with 2-20 values]
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub by: Vec<String>,
    /// Dataset drift when at least this share of tested columns drift [default: 0.5]
    #[arg(long, value_name = "SHARE")]
    pub drift_share: Option<f64>,
    /// PSI bins for numbers: reference deciles, or Evidently's Sturges bins [default: deciles]
    #[arg(long, value_name = "BINS")]
    pub psi_bins: Option<PsiBins>,
    /// Write the per-user values tested to DIR/reference_users.csv and DIR/current_users.csv (for checking against Evidently)
    #[arg(long, value_name = "DIR")]
    pub tables_out: Option<PathBuf>,
    /// Print JSON instead of Markdown
    #[arg(long)]
    pub json: bool,
    /// Exit with code 4 on dataset drift
    #[arg(long)]
    pub fail_on_drift: bool,
}

pub fn run(args: &DriftArgs) -> Result<()> {
    if args.input.files.len() != 2 {
        return Err(UsageError(format!(
            "drift compares two exports: give REFERENCE and CURRENT (got {} path{}); quote globs so the shell does not expand them",
            args.input.files.len(),
            if args.input.files.len() == 1 { "" } else { "s" }
        ))
        .into());
    }
    let cfg = match &args.config {
        Some(p) => crate::config::load(p)?,
        None => Default::default(),
    };
    let sec = cfg.drift.clone().unwrap_or_default();
    let opts = DriftOptions {
        drift_share: args.drift_share.or(sec.drift_share).unwrap_or(0.5),
        psi_bins: args.psi_bins.or(sec.psi_bins).unwrap_or_default(),
        by: if args.by.is_empty() {
            sec.by
        } else {
            args.by.clone()
        },
        fairness: cfg.fairness.clone().unwrap_or_default(),
        properties: sec.properties.clone(),
    };
    if !(opts.drift_share > 0.0 && opts.drift_share <= 1.0) {
        return Err(UsageError(format!(
            "--drift-share {}: must be above 0 and at most 1",
            opts.drift_share
        ))
        .into());
    }
    let model = match &args.model {
        Some(p) => {
            let what = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| UsageError(format!("{what}: cannot read model: {e}")))?;
            Some(crate::propensity::ModelFile::from_json(&text, &what)?)
        }
        None => None,
    };
    let progress = Progress::new();
    let side = |k: usize| {
        let mut input = args.input.clone();
        input.files = vec![args.input.files[k].clone()];
        input
    };
    let reference = side(0).load(&cfg, &progress)?;
    let current = side(1).load(&cfg, &progress)?;
    if let Some(m) = &model {
        crate::propensity::check_model_matches(m, &reference.ingested.table, true)?;
    }
    progress.stage("drift");
    let drift::Drift { report, users } = drift::run(
        (&reference.ingested.table, &reference.sessions),
        (&current.ingested.table, &current.sessions),
        model.as_ref(),
        &opts,
    )?;
    if let Some(dir) = &args.tables_out {
        std::fs::create_dir_all(dir)
            .map_err(|e| UsageError(format!("{}: cannot create: {e}", dir.display())))?;
        for (k, (name, data)) in [
            ("reference_users.csv", &reference),
            ("current_users.csv", &current),
        ]
        .into_iter()
        .enumerate()
        {
            let rows = drift::UserRows {
                table: &data.ingested.table,
                users: &users,
                side: k,
            };
            crate::output::write(&dir.join(name), &rows, "--tables-out", Default::default())?;
        }
    }
    progress.done();
    if args.json {
        outln(&serde_json::to_string_pretty(&report)?)?;
    } else {
        out(&crate::doc::markdown::render(&drift::document::document(
            &report,
        )))?;
    }
    if args.fail_on_drift && report.dataset.drifted {
        return Err(CheckFailed(format!(
            "dataset drift: {} of {} tested columns drifted (threshold {:.0}%)",
            report.dataset.drifted_columns,
            report.dataset.tested_columns,
            100.0 * report.dataset.threshold
        ))
        .into());
    }
    Ok(())
}
