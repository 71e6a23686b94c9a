//! `journeymap segments`: k-means over behaviour features, k by silhouette,
//! named profiles and where each segment leaves the funnel.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::config::{self, JourneyConfig, Origins};
use crate::duration::Duration;
use crate::error::UsageError;
use crate::funnel::FunnelOptions;
use crate::progress::Progress;
use crate::segments::features::RoleNames;
use crate::segments::output;
use crate::segments::{self, KChoice, On, SegmentsOptions, SegmentsSection, Unit};

/// Abandonment segments: the distinct behaviour patterns of people who leave
/// the funnel, found with k-means over per-session or per-user features and
/// named by transparent rules. Definitions: docs/segments.md.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap segments shop.csv --config shop.journey.toml           # abandoning users, k by silhouette
  journeymap segments shop.csv --steps product_view,add_to_cart,purchase --unit session
  journeymap segments shop.csv --on all --k 4 --assignments segments.parquet
  journeymap segments shop.csv --on all --k 4 --features-out x.csv --json   # for scripts/sklearn_kmeans_parity.py

Without --config or --steps, <stem>.journey.toml beside the first input (as
`journeymap generate` writes it) supplies the funnel when it exists.")]
pub struct SegmentsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Which units to cluster: those that reached --from-step without converting, or all
    /// [default: abandoned]
    #[arg(long, value_enum, help_heading = "Segments")]
    pub on: Option<On>,

    /// One row per user (per-session rates, sessions, days active) or per session
    #[arg(long, value_enum, help_heading = "Segments")]
    pub unit: Option<Unit>,

    /// Number of segments, or auto: try 2..8 and keep the best silhouette [default: auto]
    #[arg(long, value_name = "auto|N", help_heading = "Segments")]
    pub k: Option<KChoice>,

    /// Seed for k-means and the silhouette sample (same seed, same output)
    #[arg(long, value_name = "S", help_heading = "Segments")]
    pub seed: Option<u64>,

    /// Funnel step (1-based) a unit must reach to count as abandoning
    #[arg(long, value_name = "N", help_heading = "Segments")]
    pub from_step: Option<usize>,

    /// k-means restarts (k-means++ each); the lowest inertia is kept
    #[arg(long, value_name = "N", help_heading = "Segments")]
    pub n_init: Option<usize>,

    /// At most this many units (a seeded sample) for the silhouette score
    #[arg(long, value_name = "N", help_heading = "Segments")]
    pub silhouette_sample: Option<usize>,

    /// journey.toml whose [funnel] gives the steps (and window)
    #[arg(long, value_name = "FILE", help_heading = "Funnel")]
    pub config: Option<PathBuf>,

    /// Funnel steps in order, comma-separated; a step may be `event[prop=value,...]`
    #[arg(long, value_name = "STEPS", help_heading = "Funnel")]
    pub steps: Option<String>,

    /// Conversion window from the first step, per user [default: the config's, else 14d]
    #[arg(long, value_name = "DURATION", help_heading = "Funnel")]
    pub window: Option<Duration>,

    /// Leave out the automatic property features (categorical and numeric columns; docs/features.md)
    #[arg(long, help_heading = "Features")]
    pub no_auto_features: bool,

    /// Event counted as a product view [default: product_view, view_item, ... if present]
    #[arg(long, value_name = "EVENT", help_heading = "Features")]
    pub product_view: Option<String>,

    /// Event counted as a cart add [default: add_to_cart, ... if present]
    #[arg(long, value_name = "EVENT", help_heading = "Features")]
    pub cart_add: Option<String>,

    /// Event that marks checkout reached [default: begin_checkout, ... if present]
    #[arg(long, value_name = "EVENT", help_heading = "Features")]
    pub checkout: Option<String>,

    /// Write one row per unit: user_id[,session_id],segment,segment_name (.csv or .parquet)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub assignments: Option<PathBuf>,

    /// Write the scaled feature matrix as CSV with a header of feature names
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub features_out: Option<PathBuf>,

    /// Write the fitted model (scaler, centroids, names) as JSON
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub model_out: Option<PathBuf>,

    /// Print the report as JSON instead of tables
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// Add wall-clock timings per stage to the report (they vary run to run)
    #[arg(long, help_heading = "Output")]
    pub timings: bool,

    #[command(flatten)]
    pub csv: super::input::CsvArgs,
}

/// The funnel: --steps (and --window) over --config's [funnel], else over
/// `<stem>.journey.toml` beside the first input when it exists. Returns the
/// options and where they came from.
fn funnel(
    args: &SegmentsArgs,
    origins: &mut Origins,
) -> Result<(JourneyConfig, Option<(FunnelOptions, String)>)> {
    let (cfg, source) = match &args.config {
        Some(p) => (config::load(p)?, p.display().to_string()),
        None => {
            let first = args.input.files.first().map(Path::new);
            let beside = first
                .filter(|p| p.is_file())
                .map(crate::generate::journey::journey_path)
                .filter(|p| p.is_file() && args.steps.is_none());
            match beside {
                Some(p) => (config::load(&p)?, p.display().to_string()),
                None => (JourneyConfig::default(), "--steps".to_string()),
            }
        }
    };
    if args.config.is_some() && cfg.funnel.is_none() && args.steps.is_none() {
        return Err(UsageError(format!("{source}: no [funnel] section")).into());
    }
    let flags =
        crate::cli::funnel::flags(args.steps.as_deref(), args.window, None, None, &[], None)?;
    let source = if args.steps.is_some() {
        "--steps".to_string()
    } else {
        source
    };
    let opts = FunnelOptions::resolve(&flags, &cfg, origins);
    if let Some(o) = &opts {
        o.check().map_err(|e| origins.word(e))?;
    }
    Ok((cfg, opts.map(|o| (o, source))))
}

pub fn run(args: &SegmentsArgs) -> Result<()> {
    // Check output paths before the (long) load.
    for (p, flag) in [
        (&args.assignments, "--assignments"),
        (&args.features_out, "--features-out"),
    ] {
        if let Some(p) = p {
            crate::output::Format::of(p, flag)?;
        }
    }
    let mut origins = Origins::default();
    let (cfg, funnel) = funnel(args, &mut origins)?;
    let source = funnel.as_ref().map(|(_, s)| s.clone());
    let flags = SegmentsSection {
        k: args.k,
        on: args.on,
        unit: args.unit,
        from_step: args.from_step,
        seed: args.seed,
        n_init: args.n_init,
        silhouette_sample: args.silhouette_sample,
    };
    let mut opts = SegmentsOptions::resolve(&flags, &cfg, funnel.map(|(f, _)| f), &mut origins);
    opts.roles = RoleNames {
        product_view: args.product_view.clone(),
        cart_add: args.cart_add.clone(),
        checkout: args.checkout.clone(),
    };
    opts.timings = args.timings;
    opts.auto_features &= !args.no_auto_features;
    opts.check().map_err(|e| origins.word(e))?;
    let progress = Progress::new();
    if let Some(source) = &source {
        progress.stage(&format!("funnel from {source}"));
    }
    let steps = opts
        .funnel
        .iter()
        .flat_map(|f| f.steps.iter().chain(&f.exclude));
    let selection = cfg.properties_read().with(steps, None, opts.auto_features);
    let loaded = args.input.load_selected(&cfg, Some(selection), &progress)?;
    progress.stage("segmenting");
    let t = &loaded.ingested.table;
    let result = segments::analyze(t, &loaded.sessions, &opts)?;
    if let Some(tm) = &result.report.timings {
        progress.stage(&format!(
            "features {:.2}s, fits {}, silhouette {:.2}s",
            tm.features_s,
            tm.fits
                .iter()
                .map(|f| format!("k={} {:.2}s", f.k, f.seconds))
                .collect::<Vec<_>>()
                .join(", "),
            tm.silhouette_s
        ));
    }
    if let Some(p) = &args.assignments {
        let rows = output::Assignments {
            table: t,
            sessions: &loaded.sessions,
            result: &result,
        };
        crate::output::write(p, &rows, "--assignments", args.csv.style())?;
    }
    if let Some(p) = &args.features_out {
        let rows = output::FeatureRows(&result);
        crate::output::write(p, &rows, "--features-out", args.csv.style())?;
    }
    if let Some(p) = &args.model_out {
        output::write_model(p, &result)?;
    }
    progress.done();
    if args.json {
        super::outln(&serde_json::to_string_pretty(&result.report)?)?;
    } else {
        super::out(&crate::doc::text::render(
            &crate::report::sections::segments::document(&result.report),
        ))?;
    }
    Ok(())
}
