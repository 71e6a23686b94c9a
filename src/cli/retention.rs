//! `journeymap retention`: the cohort retention triangle.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::config::{self, JourneyConfig};
use crate::error::UsageError;
use crate::predicate::Predicate;
use crate::progress::Progress;
use crate::retention::clock::{Anchor, ClockKind};
use crate::retention::config::{Reference, RetentionSection};
use crate::retention::engine::StartMode;
use crate::retention::run::Options;

/// Who comes back: users grouped in cohorts by the interval of their start
/// event, and per interval after it the share that returned, with each
/// cell's eligible users (censoring decided per user), a 95 % Wilson
/// interval, and weighted and unweighted averages. Flags override
/// `[retention]` in --config. Semantics: docs/retention.md.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap retention events.parquet --interval week
  journeymap retention events.csv --start-event signup --return-event login --interval day --intervals 15
  journeymap retention events.csv --start recurring --interval day --return on-or-after
  journeymap retention events.csv --return 1,2-7,8-30 --interval day --clock rolling
  journeymap retention events.csv --interval 30d --anchor week --until 2026-12-31
  journeymap retention events.csv --interval day --min-occurrences 3 --reference previous
  journeymap retention events.csv --by channel --check 'retention.average.1.weighted >= 0.2'")]
pub struct RetentionArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// journey.toml with a [retention] section
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Which start puts a user in a cohort [default: first]
    #[arg(long, value_enum, help_heading = "Retention")]
    pub start: Option<StartMode>,

    /// The start event, EVENT or EVENT[prop=value] [default: any event]
    #[arg(long, value_name = "EVENT", help_heading = "Retention")]
    pub start_event: Option<String>,

    /// The return event [default: any event]
    #[arg(long, value_name = "EVENT", help_heading = "Retention")]
    pub return_event: Option<String>,

    /// day, week, month, "N months" or a duration such as 7d [default: week]
    #[arg(long, value_name = "INTERVAL", help_heading = "Retention")]
    pub interval: Option<String>,

    /// Where periods of a duration or of N months start: the export's first day, its week's Monday, or its month's first [default: day]
    #[arg(long, value_enum, help_heading = "Retention")]
    pub anchor: Option<Anchor>,

    /// calendar intervals, or rolling ones from each user's start [default: calendar]
    #[arg(long, value_enum, help_heading = "Retention")]
    pub clock: Option<ClockKind>,

    /// The calendar's zone: a UTC offset (+02:00) or an IANA name (Europe/Paris) [default: UTC]
    #[arg(long, value_name = "OFFSET", help_heading = "Retention")]
    pub tz: Option<String>,

    /// on, on-or-after, or brackets such as 1,2-7,8-30 [default: on]
    #[arg(long = "return", value_name = "RULE", help_heading = "Retention")]
    pub returns: Option<String>,

    /// Columns 0..N-1 for on and on-or-after [default: 8]
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub intervals: Option<u32>,

    /// Return events a user needs within one interval to count as returned [default: 1]
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub min_occurrences: Option<u32>,

    /// total: rates over eligible users; previous: also over the column before's returned [default: total]
    #[arg(long, value_enum, help_heading = "Retention")]
    pub reference: Option<Reference>,

    /// Split cohorts by this property of the cohort-defining event
    #[arg(long = "by", value_name = "COLUMN", help_heading = "Retention")]
    pub breakdown: Option<String>,

    /// The end of observation, ISO 8601 or a date [default: the last event]
    #[arg(long, value_name = "TIME", help_heading = "Retention")]
    pub until: Option<String>,

    /// Fail (exit 4) unless this holds, e.g. 'retention.average.1.weighted >= 0.2' (repeatable)
    #[arg(long = "check", value_name = "EXPR", help_heading = "Output")]
    pub checks: Vec<String>,

    /// Print the section as JSON instead of a table
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

fn predicate(flag: &str, s: &Option<String>) -> Result<Option<Predicate>, UsageError> {
    s.as_deref()
        .map(|e| Predicate::parse_cli(e).map_err(|m| UsageError(format!("{flag}: {m}"))))
        .transpose()
}

/// The flags merged over the config's `[retention]`.
fn section(args: &RetentionArgs, cfg: &JourneyConfig) -> Result<RetentionSection, UsageError> {
    let mut s = cfg.retention.clone().unwrap_or_default();
    if args.start.is_some() {
        s.start = args.start;
    }
    if let Some(p) = predicate("--start-event", &args.start_event)? {
        s.start_event = Some(p);
    }
    if let Some(p) = predicate("--return-event", &args.return_event)? {
        s.return_event = Some(p);
    }
    for (v, slot) in [
        (&args.interval, &mut s.interval),
        (&args.tz, &mut s.tz),
        (&args.returns, &mut s.returns),
        (&args.breakdown, &mut s.breakdown),
        (&args.until, &mut s.until),
    ] {
        if v.is_some() {
            slot.clone_from(v);
        }
    }
    if args.clock.is_some() {
        s.clock = args.clock;
    }
    if args.intervals.is_some() {
        s.intervals = args.intervals;
    }
    if args.anchor.is_some() {
        s.anchor = args.anchor;
    }
    if args.min_occurrences.is_some() {
        s.min_occurrences = args.min_occurrences;
    }
    if args.reference.is_some() {
        s.reference = args.reference;
    }
    Ok(s)
}

pub fn run(args: &RetentionArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    let gates: Vec<crate::checks::Check> = args
        .checks
        .iter()
        .map(|c| crate::checks::parse(c))
        .collect::<Result<_, _>>()?;
    let s = section(args, &cfg)?;
    // A value from a flag is checked alone first, so its error names the
    // flag rather than a line of journey.toml.
    for (flag, given, key) in [
        ("--interval", &args.interval, "interval"),
        ("--tz", &args.tz, "tz"),
        ("--return", &args.returns, "returns"),
        ("--until", &args.until, "until"),
    ] {
        if let Some(v) = given {
            let mut alone = RetentionSection {
                tz: s.tz.clone(),
                ..Default::default()
            };
            match key {
                "interval" => alone.interval = Some(v.clone()),
                "tz" => alone.tz = Some(v.clone()),
                "returns" => alone.returns = Some(v.clone()),
                _ => alone.until = Some(v.clone()),
            }
            Options::resolve(&JourneyConfig::default(), &alone).map_err(|e| {
                let msg =
                    e.0.split_once(": ")
                        .map_or(e.0.clone(), |(_, m)| m.to_string());
                UsageError(format!("{flag}: {msg}"))
            })?;
        }
    }
    if args.intervals == Some(0) {
        return Err(UsageError("--intervals: give 1 to 1000 columns".into()).into());
    }
    if args.min_occurrences == Some(0) {
        return Err(UsageError("--min-occurrences: give 1 or more".into()).into());
    }
    Options::resolve(&cfg, &s).map_err(|e| {
        // A flag's value is named by the flag, not by the config key.
        match (args.anchor.is_some(), e.0.split_once("retention.anchor: ")) {
            (true, Some((_, msg))) => UsageError(format!("--anchor: {msg}")),
            _ => e,
        }
    })?;
    let selection = crate::ingest::PropertySelection {
        named: s.properties(),
        unnamed: false,
    };
    cfg.retention = Some(s);
    let progress = Progress::new();
    let data = args.input.load_selected(&cfg, Some(selection), &progress)?;
    super::report::run_one::<crate::retention::analysis::Retention>(
        &data, &cfg, &progress, args.json, &gates,
    )
}
