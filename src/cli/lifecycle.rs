//! `journeymap lifecycle`: how the active base moves per interval.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::config::{self, JourneyConfig};
use crate::error::UsageError;
use crate::lifecycle::run::Options;
use crate::predicate::Predicate;
use crate::progress::Progress;

/// Per interval, the active users that are new, returning or resurrecting
/// and those gone dormant (PostHog's lifecycle), the transitions between
/// these states, their long-run mix and the expected intervals until
/// dormant. Flags override `[lifecycle]` in --config. Semantics:
/// docs/lifecycle.md.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap lifecycle events.parquet --interval week
  journeymap lifecycle events.csv --interval day --active-event login --created-column created_at
  journeymap lifecycle events.csv --check 'lifecycle.latest.dormant_share <= 0.4'
  journeymap lifecycle events.csv --daily-states --active-event purchase --json")]
pub struct LifecycleArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// journey.toml with a [lifecycle] section
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// day, week, month or a duration such as 7d [default: week]
    #[arg(long, value_name = "INTERVAL", help_heading = "Lifecycle")]
    pub interval: Option<String>,

    /// The calendar's zone: a UTC offset (+02:00) or an IANA name (Europe/Paris) [default: UTC]
    #[arg(long, value_name = "OFFSET", help_heading = "Lifecycle")]
    pub tz: Option<String>,

    /// What makes a user active, EVENT or EVENT[prop=value] [default: any event]
    #[arg(long, value_name = "EVENT", help_heading = "Lifecycle")]
    pub active_event: Option<String>,

    /// A column with each user's creation time [default: the first event]
    #[arg(long, value_name = "COLUMN", help_heading = "Lifecycle")]
    pub created_column: Option<String>,

    /// Also retentioneering's daily states (new, current, reactivated, resurrected, at risk, dormant)
    #[arg(long, help_heading = "Lifecycle")]
    pub daily_states: bool,

    /// With --daily-states: rows run this many days past a user's last event [default: 30]
    #[arg(
        long,
        value_name = "DAYS",
        requires = "daily_states",
        help_heading = "Lifecycle"
    )]
    pub max_dormant_days: Option<u32>,

    /// Fail (exit 4) unless this holds, e.g. 'lifecycle.latest.dormant_share <= 0.4' (repeatable)
    #[arg(long = "check", value_name = "EXPR", help_heading = "Output")]
    pub checks: Vec<String>,

    /// Print the section as JSON instead of tables
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

pub fn run(args: &LifecycleArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    let gates: Vec<crate::checks::Check> = args
        .checks
        .iter()
        .map(|c| crate::checks::parse(c))
        .collect::<Result<_, _>>()?;
    let mut s = cfg.lifecycle.clone().unwrap_or_default();
    if let Some(i) = &args.interval {
        crate::retention::clock::Unit::parse(i)
            .map_err(|m| UsageError(format!("--interval: {m}")))?;
        s.interval = Some(i.clone());
    }
    if let Some(z) = &args.tz {
        crate::retention::clock::Zone::parse(z).map_err(|m| UsageError(format!("--tz: {m}")))?;
        s.tz = Some(z.clone());
    }
    if let Some(e) = &args.active_event {
        s.active_event =
            Some(Predicate::parse_cli(e).map_err(|m| UsageError(format!("--active-event: {m}")))?);
    }
    if args.created_column.is_some() {
        s.created_column.clone_from(&args.created_column);
    }
    if args.daily_states {
        s.daily_states = Some(true);
    }
    if args.max_dormant_days.is_some() {
        s.max_dormant_days = args.max_dormant_days;
    }
    Options::resolve(&cfg, &s)?;
    let selection = crate::ingest::PropertySelection {
        named: s.properties(),
        unnamed: false,
    };
    cfg.lifecycle = Some(s);
    let progress = Progress::new();
    let data = args
        .input
        .load_without_sessions(&cfg, selection, &progress)?;
    super::report::run_one::<crate::lifecycle::analysis::LifecycleAnalysis>(
        &data, &cfg, &progress, args.json, &gates,
    )
}
