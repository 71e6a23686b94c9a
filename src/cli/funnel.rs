//! `journeymap funnel`: conversion through ordered steps, drop-off and exits.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use super::{out, outln};
use crate::config::{self, FunnelConfig, JourneyConfig, Origins};
use crate::duration::Duration;
use crate::error::UsageError;
use crate::funnel::{self, FunnelOptions, Mode, Per};
use crate::predicate::Predicate;
use crate::progress::Progress;

/// How far users (or sessions) get through ordered steps, where the others
/// drop off, and what they do instead. Semantics: docs/funnels.md.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap funnel shop.csv --steps product_view,add_to_cart,begin_checkout,purchase
  journeymap funnel shop.csv --steps 'page_view[page=/],add_to_cart,purchase' --window 7d --mode strict
  journeymap funnel shop.csv --steps add_to_cart,purchase --per session --levels levels.csv
  journeymap funnel shop.csv --steps add_to_cart,purchase --by device --json
  journeymap funnel shop.csv --config journey.toml   # steps, window and mode from [funnel]")]
pub struct FunnelArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Steps in order, comma-separated; a step may be `event[prop=value,...]`
    #[arg(long, value_name = "STEPS", help_heading = "Funnel")]
    pub steps: Option<String>,

    /// journey.toml with a [funnel] section (flags given here override it)
    #[arg(long, value_name = "FILE", help_heading = "Funnel")]
    pub config: Option<PathBuf>,

    /// Conversion window from the attempt's first step, inclusive [default: 14d per user; per session none unless given]
    #[arg(long, value_name = "DURATION", help_heading = "Funnel")]
    pub window: Option<Duration>,

    /// ordered: other events may come between steps; strict: none may; unordered: any order [default: ordered]
    #[arg(long, value_enum, help_heading = "Funnel")]
    pub mode: Option<Mode>,

    /// Count users (within the window) or sessions (within each session) [default: user]
    #[arg(long, value_enum, help_heading = "Funnel")]
    pub per: Option<Per>,

    /// Drop an attempt when this event happens between its steps (repeatable)
    #[arg(long, value_name = "EVENT", help_heading = "Funnel")]
    pub exclude: Vec<String>,

    /// One funnel per value of this property (taken from the first step-1 event)
    #[arg(long, value_name = "COLUMN", help_heading = "Funnel")]
    pub by: Option<String>,

    /// Funnel trends: per-step conversion per cohort of entry by day, week, month or a duration (UTC)
    #[arg(long, value_name = "INTERVAL", help_heading = "Funnel")]
    pub trend: Option<String>,

    /// Write each unit's level: user_id,level (user_id,session_id,level per session); -1 = excluded
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub levels: Option<PathBuf>,

    /// Print the funnel as JSON instead of tables
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    #[command(flatten)]
    pub csv: super::input::CsvArgs,
}

/// The flags as a `[funnel]` section (unset: empty or `None`).
pub fn flags(
    steps: Option<&str>,
    window: Option<Duration>,
    mode: Option<Mode>,
    per: Option<Per>,
    exclude: &[String],
    by: Option<&String>,
) -> Result<FunnelConfig> {
    Ok(FunnelConfig {
        steps: match steps {
            Some(s) => Predicate::parse_list(s).map_err(|e| UsageError(format!("--steps: {e}")))?,
            None => Vec::new(),
        },
        window,
        mode,
        per,
        exclude: exclude
            .iter()
            .map(|e| Predicate::parse_cli(e).map_err(|m| UsageError(format!("--exclude: {m}"))))
            .collect::<Result<_, _>>()?,
        by: by.cloned(),
        trend: None,
    })
}

/// Merges flags over the config's [funnel] section.
pub fn options(args: &FunnelArgs, cfg: &JourneyConfig) -> Result<FunnelOptions> {
    let mut f = flags(
        args.steps.as_deref(),
        args.window,
        args.mode,
        args.per,
        &args.exclude,
        args.by.as_ref(),
    )?;
    f.trend.clone_from(&args.trend);
    let mut origins = Origins::default();
    let opts = FunnelOptions::resolve(&f, cfg, &mut origins).ok_or_else(|| {
        UsageError("no steps: pass --steps a,b,c or --config with a [funnel] section".into())
    })?;
    opts.check().map_err(|e| origins.word(e))?;
    Ok(opts)
}

pub fn run(args: &FunnelArgs) -> Result<()> {
    let cfg = match &args.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    let opts = options(args, &cfg)?;
    let progress = Progress::new();
    let selection = cfg.properties_read().with(
        opts.steps.iter().chain(&opts.exclude),
        opts.by.as_ref(),
        false,
    );
    let loaded = args.input.load_selected(&cfg, Some(selection), &progress)?;
    progress.stage("scanning the funnel");
    let t = &loaded.ingested.table;
    let mut warnings = cfg.validate(t)?;
    warnings.extend(
        crate::predicate::absent(opts.steps.iter().chain(&opts.exclude), t)
            .into_iter()
            .map(|e| {
                format!(
                    "the event {} does not occur in the data; its counts are zero",
                    crate::doc::rich::code(&e)
                )
            }),
    );
    warnings.dedup();
    for w in &warnings {
        eprintln!("warning: {}", crate::doc::text::clean(w));
    }
    let result = funnel::analyze(t, &loaded.sessions, &opts)?;
    if let Some(path) = &args.levels {
        let rows = crate::funnel::analysis::Levels {
            ctx_table: t,
            sessions: &loaded.sessions,
            result: &result,
            per_session: opts.per == Per::Session,
        };
        crate::output::write(path, &rows, "--levels", args.csv.style())?;
    }
    progress.done();
    if args.json {
        outln(&serde_json::to_string_pretty(&result.report)?)?;
    } else {
        out(&crate::doc::text::render(
            &crate::report::sections::funnel::document(&result.report),
        ))?;
    }
    Ok(())
}
