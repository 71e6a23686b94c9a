//! `journeymap segments`: k-means over behaviour features, k by silhouette,
//! named profiles and where each segment leaves the funnel.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::config::{self, FunnelConfig};
use crate::error::UsageError;
use crate::funnel::FunnelOptions;
use crate::progress::Progress;
use crate::segments::features::RoleNames;
use crate::segments::output::{self, TableFormat};
use crate::segments::{self, KChoice, On, SegmentsOptions, SegmentsReport, Unit, tables};

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
    #[arg(
        long,
        value_enum,
        default_value = "abandoned",
        help_heading = "Segments"
    )]
    pub on: On,

    /// One row per user (per-session rates, sessions, days active) or per session
    #[arg(long, value_enum, default_value = "user", help_heading = "Segments")]
    pub unit: Unit,

    /// Number of segments, or auto: try 2..8 and keep the best silhouette
    #[arg(long, default_value = "auto", value_name = "auto|N", value_parser = parse_k, help_heading = "Segments")]
    pub k: KChoice,

    /// Seed for k-means and the silhouette sample (same seed, same output)
    #[arg(long, default_value_t = 0, value_name = "S", help_heading = "Segments")]
    pub seed: u64,

    /// Funnel step (1-based) a unit must reach to count as abandoning
    #[arg(long, default_value_t = 2, value_name = "N", help_heading = "Segments")]
    pub from_step: usize,

    /// k-means restarts (k-means++ each); the lowest inertia is kept
    #[arg(
        long,
        default_value_t = 10,
        value_name = "N",
        help_heading = "Segments"
    )]
    pub n_init: usize,

    /// At most this many units (a seeded sample) for the silhouette score
    #[arg(long, default_value_t = segments::silhouette::MAX_SAMPLE, value_name = "N", help_heading = "Segments")]
    pub silhouette_sample: usize,

    /// journey.toml whose [funnel] gives the steps (and window)
    #[arg(long, value_name = "FILE", help_heading = "Funnel")]
    pub config: Option<PathBuf>,

    /// Funnel steps in order, comma-separated; a step may be `event[prop=value,...]`
    #[arg(long, value_name = "STEPS", help_heading = "Funnel")]
    pub steps: Option<String>,

    /// Conversion window from the first step, per user [default: the config's, else 14d]
    #[arg(long, value_name = "DURATION", help_heading = "Funnel")]
    pub window: Option<String>,

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
}

fn parse_k(s: &str) -> Result<KChoice, String> {
    if s == "auto" {
        return Ok(KChoice::Auto);
    }
    match s.parse::<usize>() {
        Ok(k) if k >= 2 => Ok(KChoice::Fixed(k)),
        _ => Err(format!(
            "expected auto or a whole number of segments, 2 or more; got {s:?}"
        )),
    }
}

/// The funnel: --steps, else --config's [funnel], else `<stem>.journey.toml`
/// beside the first input when it exists. Returns the options and where
/// they came from.
fn funnel(args: &SegmentsArgs) -> Result<Option<(FunnelOptions, String)>> {
    let (cfg, source) = match (&args.config, &args.steps) {
        (Some(p), _) => (config::load(p)?.funnel, p.display().to_string()),
        (None, Some(_)) => (None, "--steps".into()),
        (None, None) => {
            let first = args.input.files.first().map(Path::new);
            let beside = first
                .filter(|p| p.is_file())
                .map(crate::generate::journey::journey_path)
                .filter(|p| p.is_file());
            match beside {
                Some(p) => (config::load(&p)?.funnel, p.display().to_string()),
                None => return Ok(None),
            }
        }
    };
    let steps = match &args.steps {
        Some(s) => {
            crate::cli::funnel::split_steps(s).map_err(|e| UsageError(format!("--steps: {e}")))?
        }
        None => match &cfg {
            Some(c) => c.steps.clone(),
            None if args.config.is_some() => {
                return Err(UsageError(format!("{source}: no [funnel] section")).into());
            }
            None => return Ok(None),
        },
    };
    let base = FunnelConfig {
        steps,
        ..cfg.unwrap_or_default()
    };
    let mut opts = FunnelOptions::from_config(&base)?;
    if let Some(w) = &args.window {
        opts.window_ms =
            crate::duration::parse_ms(w).map_err(|e| UsageError(format!("--window: {e}")))?;
    }
    Ok(Some((opts, source)))
}

pub fn render_text(r: &SegmentsReport) -> String {
    let mut out = tables::headline(r).replace('`', "") + "\n";
    out += &tables::features_line(r);
    out += "\n\n";
    out += &tables::segment_table(r, false).to_text();
    if let Some(t) = tables::stops_table(r, false) {
        out += "\nwhere each segment leaves the funnel:\n";
        out += &t.to_text();
    }
    out += "\n";
    out += &tables::distinguishing_table(r, false).to_text();
    out += "\n";
    out += &tables::exits_table(r, false).to_text();
    out += "\n";
    out += &tables::selection_table(r).to_text();
    out
}

pub fn run(args: &SegmentsArgs) -> Result<()> {
    // Check output paths before the (long) load.
    if let Some(p) = &args.assignments {
        TableFormat::of(p, "--assignments")?;
    }
    if args.n_init == 0 {
        return Err(UsageError("--n-init must be at least 1".into()).into());
    }
    if args.silhouette_sample < 2 {
        return Err(UsageError("--silhouette-sample must be at least 2".into()).into());
    }
    let funnel = funnel(args)?;
    if funnel.is_none() && args.on == On::Abandoned {
        return Err(UsageError(
            "--on abandoned needs a funnel: pass --config journey.toml (with [funnel]) or --steps a,b,c, or use --on all".into(),
        )
        .into());
    }
    let progress = Progress::new();
    if let Some((_, source)) = &funnel {
        progress.stage(&format!("funnel from {source}"));
    }
    let loaded = args.input.load(&progress)?;
    progress.stage("segmenting");
    let opts = SegmentsOptions {
        unit: args.unit,
        on: args.on,
        funnel: funnel.map(|(f, _)| f),
        from_step: args.from_step,
        k: args.k,
        seed: args.seed,
        n_init: args.n_init,
        silhouette_sample: args.silhouette_sample,
        roles: RoleNames {
            product_view: args.product_view.clone(),
            cart_add: args.cart_add.clone(),
            checkout: args.checkout.clone(),
        },
        timings: args.timings,
    };
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
        output::write_assignments(p, t, &loaded.sessions, &result)?;
    }
    if let Some(p) = &args.features_out {
        output::write_features(p, &result)?;
    }
    if let Some(p) = &args.model_out {
        output::write_model(p, &result)?;
    }
    progress.stage("done");
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result.report)?);
    } else {
        print!("{}", render_text(&result.report));
    }
    Ok(())
}
