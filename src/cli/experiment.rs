//! `journeymap experiment analyze` and `journeymap experiment plan`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::input::InputArgs;
use super::{out, outln};
use crate::config::{self, JourneyConfig};
use crate::duration::Duration;
use crate::error::UsageError;
use crate::experiment::adjust::Correction;
use crate::experiment::analyze::{self, Options};
use crate::experiment::config::{ArmConfig, Engine, ExperimentSection, MetricConfig, MetricKind};

use crate::pipeline::Context;
use crate::predicate::Predicate;
use crate::progress::Progress;

/// A/B/n experiments: analyze one (did the intervention work?) or plan one
/// (how many users, how many days). Semantics: docs/experiments.md.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    #[command(subcommand)]
    pub command: ExperimentCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    Analyze(Box<AnalyzeArgs>),
    Plan(Box<PlanArgs>),
}

/// Lift, interval and verdict per metric and arm, with the assignment's
/// row accounting and the sample-ratio check first.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap experiment analyze events.parquet --assignments assign.csv --arms control,reminder,intervention \\
      --metric conversion:upgrade --metric sum:purchase:amount --compare intervention:reminder
  journeymap experiment analyze events.csv --exposure experiment_viewed --arm-property variant \\
      --arms control,treatment --metric conversion:purchase --engine sequential
  journeymap experiment analyze events.parquet --config journey.toml --json   # [experiment] section
  journeymap experiment analyze events.parquet --config journey.toml \\
      --check 'experiment.upgrade.intervention.lift_ci_low > 0' --check 'experiment.srm.p >= 0.001'")]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// journey.toml with an [experiment] section (flags given here override it)
    #[arg(long, value_name = "FILE", help_heading = "Experiment")]
    pub config: Option<PathBuf>,

    /// CSV of user_id,arm,assigned_at
    #[arg(long, value_name = "FILE", help_heading = "Experiment")]
    pub assignments: Option<PathBuf>,

    /// Exposure event: each user's first one assigns them (with --arm-property)
    #[arg(long, value_name = "EVENT", help_heading = "Experiment")]
    pub exposure: Option<String>,

    /// The exposure event's property that names the arm
    #[arg(long, value_name = "COLUMN", help_heading = "Experiment")]
    pub arm_property: Option<String>,

    /// Arms, comma-separated; the first is the control unless --control names one (weights equal; use journey.toml for others)
    #[arg(long, value_name = "ARMS", help_heading = "Experiment")]
    pub arms: Option<String>,

    #[arg(long, value_name = "ARM", help_heading = "Experiment")]
    pub control: Option<String>,

    /// A metric: conversion:EVENT, count:EVENT or sum:EVENT:PROPERTY (repeatable; replaces the config's)
    #[arg(long = "metric", value_name = "METRIC", help_heading = "Experiment")]
    pub metrics: Vec<String>,

    /// A guardrail metric, in the same form (repeatable)
    #[arg(long = "guardrail", value_name = "METRIC", help_heading = "Experiment")]
    pub guardrails: Vec<String>,

    /// An extra comparison TREATMENT:BASELINE besides each arm vs control (repeatable)
    #[arg(long, value_name = "PAIR", help_heading = "Experiment")]
    pub compare: Vec<String>,

    /// Metrics count events this long after exposure [default: 14d]
    #[arg(long, value_name = "DURATION", help_heading = "Experiment")]
    pub window: Option<Duration>,

    /// CUPED covariate window before exposure; 0d turns CUPED off [default: 14d]
    #[arg(long, value_name = "DURATION", help_heading = "Experiment")]
    pub lookback: Option<Duration>,

    /// The engine of every verdict [default: frequentist]
    #[arg(long, value_enum, help_heading = "Experiment")]
    pub engine: Option<Engine>,

    /// Multiple-comparison correction over the goal metrics × comparisons [default: holm]
    #[arg(long, value_parser = parse_correction, help_heading = "Experiment")]
    pub correction: Option<Correction>,

    /// 1 − confidence level [default: 0.05]
    #[arg(long, help_heading = "Experiment")]
    pub alpha: Option<f64>,

    /// Fail (exit 4) unless this holds, e.g. 'experiment.upgrade.intervention.lift_ci_low > 0' (repeatable)
    #[arg(long = "check", value_name = "EXPR", help_heading = "Output")]
    pub checks: Vec<String>,

    /// Print the section as JSON instead of tables
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

fn parse_correction(s: &str) -> Result<Correction, String> {
    match s {
        "holm" => Ok(Correction::Holm),
        "bh" | "benjamini_hochberg" | "benjamini-hochberg" => Ok(Correction::BenjaminiHochberg),
        "none" => Ok(Correction::None),
        _ => Err(format!("{s:?}: use holm, bh or none")),
    }
}

/// `conversion:EVENT`, `count:EVENT` or `sum:EVENT:PROPERTY` as a metric.
pub fn parse_metric(s: &str, guardrail: bool) -> Result<MetricConfig, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "--metric {s:?}: {why}; write conversion:EVENT, count:EVENT or sum:EVENT:PROPERTY"
        ))
    };
    let (kind, rest) = s.split_once(':').ok_or_else(|| bad("no kind"))?;
    let kind = match kind {
        "conversion" => MetricKind::Conversion,
        "count" => MetricKind::Count,
        "sum" => MetricKind::Sum,
        _ => return Err(bad("unknown kind")),
    };
    let (event, property) = match kind {
        MetricKind::Sum => {
            let (e, p) = rest
                .rsplit_once(':')
                .ok_or_else(|| bad("a sum needs a property"))?;
            (e, Some(p.to_string()))
        }
        _ => (rest, None),
    };
    let event = Predicate::parse_cli(event).map_err(|e| bad(&e))?;
    let base = match (&kind, &property) {
        (MetricKind::Conversion, _) => event.event().unwrap_or("metric").to_string(),
        (MetricKind::Count, _) => format!("{}_count", event.event().unwrap_or("metric")),
        (MetricKind::Sum, p) => format!(
            "{}_{}",
            event.event().unwrap_or("metric"),
            p.as_deref().unwrap_or("")
        ),
    };
    let name: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Ok(MetricConfig {
        name,
        kind,
        event,
        property,
        guardrail,
        inverse: false,
    })
}

/// The flags merged over the config's `[experiment]`.
fn section(args: &AnalyzeArgs, cfg: &JourneyConfig) -> Result<ExperimentSection, UsageError> {
    let mut s = cfg.experiment.clone().unwrap_or_default();
    if let Some(p) = &args.assignments {
        s.assignments = Some(p.display().to_string());
        s.exposure = None;
    }
    if let Some(e) = &args.exposure {
        s.exposure =
            Some(Predicate::parse_cli(e).map_err(|m| UsageError(format!("--exposure: {m}")))?);
        s.assignments = None;
    }
    if args.arm_property.is_some() {
        s.arm_property = args.arm_property.clone();
    }
    if let Some(a) = &args.arms {
        s.arms = a
            .split(',')
            .map(|n| ArmConfig {
                name: n.trim().to_string(),
                weight: None,
            })
            .collect();
    }
    if args.control.is_some() {
        s.control = args.control.clone();
    }
    if !args.metrics.is_empty() || !args.guardrails.is_empty() {
        s.metrics = args
            .metrics
            .iter()
            .map(|m| parse_metric(m, false))
            .chain(args.guardrails.iter().map(|m| parse_metric(m, true)))
            .collect::<Result<_, _>>()?;
    }
    for c in &args.compare {
        let (t, b) = c
            .split_once(':')
            .ok_or_else(|| UsageError(format!("--compare {c:?}: write TREATMENT:BASELINE")))?;
        s.compare.push([t.to_string(), b.to_string()]);
    }
    s.window = args.window.or(s.window);
    s.lookback = args.lookback.or(s.lookback);
    s.engine = args.engine.or(s.engine);
    s.correction = args.correction.or(s.correction);
    s.alpha = args.alpha.or(s.alpha);
    Ok(s)
}

pub fn run(args: &ExperimentArgs) -> Result<()> {
    match &args.command {
        ExperimentCommand::Analyze(a) => run_analyze(a),
        ExperimentCommand::Plan(p) => plan::run(p),
    }
}

fn run_analyze(args: &AnalyzeArgs) -> Result<()> {
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
    // Flags come from the command line: a path there is relative to the cwd.
    let from_flags = args.assignments.is_some();
    let mut opts = Options::resolve(&cfg, &s)?;
    if from_flags {
        opts.assignments = args.assignments.clone();
    }
    cfg.experiment = Some(s);
    let progress = Progress::new();
    // Only the columns the experiment reads (docs/ingest.md).
    let selection = crate::ingest::PropertySelection {
        named: cfg
            .experiment
            .as_ref()
            .map(|e| e.properties())
            .unwrap_or_default(),
        unnamed: false,
    };
    let data = args.input.load_selected(&cfg, Some(selection), &progress)?;
    progress.stage("experiment");
    let ctx = Context::new(&data, &cfg, &progress);
    let mut warnings = Vec::new();
    let report = analyze::analyze(ctx.table(), ctx.user_ranges(), &opts, &mut |w| {
        warnings.push(w)
    })?;
    for w in &warnings {
        eprintln!("warning: {}", crate::doc::text::clean(w));
    }
    progress.stage("done");
    if args.json {
        outln(&serde_json::to_string_pretty(&report)?)?;
    } else {
        out(&crate::doc::text::render(
            &crate::report::sections::experiment::document(&report),
        ))?;
    }
    if gates.is_empty() {
        return Ok(());
    }
    let value = serde_json::json!({ "experiment": serde_json::to_value(&report)? });
    super::report::gate(&crate::checks::evaluate(&value, &gates))
}

/// Users and days needed to detect a relative lift, with the metric's mean
/// and variance measured on the export (GrowthBook's power formulas).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap experiment plan events.parquet --metric conversion:upgrade --mde 0.05 --arms 3
  journeymap experiment plan events.csv --metric sum:purchase:amount --mde 0.1 --power 0.9 --json")]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// conversion:EVENT, count:EVENT or sum:EVENT:PROPERTY (repeatable)
    #[arg(
        long = "metric",
        value_name = "METRIC",
        required = true,
        help_heading = "Plan"
    )]
    pub metrics: Vec<String>,

    /// The relative lift to detect (0.05 = 5 %)
    #[arg(long, help_heading = "Plan")]
    pub mde: f64,

    /// Arms, control included [default: 2]
    #[arg(long, default_value_t = 2, help_heading = "Plan")]
    pub arms: usize,

    /// Target power [default: 0.8]
    #[arg(long, default_value_t = 0.8, help_heading = "Plan")]
    pub power: f64,

    #[arg(long, default_value_t = 0.05, help_heading = "Plan")]
    pub alpha: f64,

    /// The sequential engine's N* [default: 5000]
    #[arg(long, default_value_t = 5000.0, help_heading = "Plan")]
    pub sequential_tuning: f64,

    /// The metric's window after each user's first event [default: 14d]
    #[arg(long, value_name = "DURATION", help_heading = "Plan")]
    pub window: Option<Duration>,

    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

pub mod plan {
    use anyhow::Result;

    use super::{PlanArgs, out, outln, parse_metric};
    use crate::config::JourneyConfig;
    use crate::doc::{Align, Block, Cell, Table};
    use crate::error::UsageError;
    use crate::experiment::metrics::Resolved;
    use crate::experiment::plan::{Plan, PlanOptions, plan};
    use crate::progress::Progress;

    pub fn run(args: &PlanArgs) -> Result<()> {
        if !(args.mde > 0.0 && args.mde.is_finite()) {
            return Err(UsageError(format!(
                "--mde {}: give a positive relative lift, e.g. 0.05",
                args.mde
            ))
            .into());
        }
        if args.arms < 2 {
            return Err(UsageError(format!(
                "--arms {}: an experiment has at least 2 arms",
                args.arms
            ))
            .into());
        }
        if !(args.alpha > 0.0 && args.alpha < 0.5 && args.power > args.alpha && args.power < 1.0) {
            return Err(
                UsageError("--alpha must be in (0, 0.5) and --power in (alpha, 1)".into()).into(),
            );
        }
        if args.sequential_tuning.is_nan() || args.sequential_tuning <= 0.0 {
            return Err(UsageError("--sequential-tuning must be positive".into()).into());
        }
        let metrics = args
            .metrics
            .iter()
            .map(|m| parse_metric(m, false))
            .collect::<Result<Vec<_>, _>>()?;
        let cfg = JourneyConfig::default();
        let selection = cfg
            .properties_read()
            .with(metrics.iter().map(|m| &m.event), None, false);
        let mut selection = selection;
        selection
            .named
            .extend(metrics.iter().filter_map(|m| m.property.clone()));
        let progress = Progress::new();
        let data = args.input.load_selected(&cfg, Some(selection), &progress)?;
        let t = &data.ingested.table;
        let mut resolved = Vec::new();
        for (i, m) in metrics.iter().enumerate() {
            let what = format!("--metric {}", i + 1);
            let matcher = crate::predicate::resolve(&m.event, t, &what)?;
            let numbers = match &m.property {
                Some(p) => {
                    let col = t.props.iter().position(|c| &c.name == p).ok_or_else(|| {
                        UsageError(format!(
                            "{what}: the export has no column {p:?}{}",
                            crate::predicate::suggest(p, t.props.iter().map(|c| c.name.as_str()))
                        ))
                    })?;
                    Some((col, crate::features::extract::numbers(t, col)))
                }
                None => None,
            };
            resolved.push((
                m.name.clone(),
                Resolved {
                    kind: m.kind,
                    matcher,
                    numbers,
                },
            ));
        }
        progress.stage("planning");
        let p = plan(
            t,
            &t.user_ranges(),
            &resolved,
            &PlanOptions {
                mde: args.mde,
                power: args.power,
                alpha: args.alpha,
                arms: args.arms,
                n_star: args.sequential_tuning,
                window_ms: args
                    .window
                    .map_or(crate::experiment::analyze::DEFAULT_WINDOW_MS, |d| d.ms()),
            },
        );
        progress.stage("done");
        if args.json {
            return outln(&serde_json::to_string_pretty(&p)?).map_err(Into::into);
        }
        out(&crate::doc::text::render(&document(&p))).map_err(Into::into)
    }

    fn document(p: &Plan) -> Vec<Block> {
        let mut t = Table::new(&[
            ("metric", Align::Left),
            ("users", Align::Right),
            ("mean", Align::Right),
            ("variance", Align::Right),
            ("users needed", Align::Right),
            ("days", Align::Right),
            ("sequential users", Align::Right),
            ("sequential days", Align::Right),
            ("MDE at export traffic", Align::Right),
        ]);
        let opt_n = |x: Option<u64>| Cell::opt(x.map(Cell::count));
        let opt_d = |x: Option<f64>| Cell::opt(x.map(|d| Cell::fixed(d, 1)));
        for m in &p.metrics {
            t.row(vec![
                Cell::name(&m.metric),
                Cell::count(m.users),
                Cell::fixed(m.mean, 4),
                Cell::fixed(m.variance, 4),
                opt_n(m.users_needed),
                opt_d(m.days_needed),
                opt_n(m.users_needed_sequential),
                opt_d(m.days_needed_sequential),
                Cell::opt(m.mde_at_export_traffic.map(Cell::pct)),
            ]);
        }
        let mut doc = vec![
            Block::title(2, "Experiment plan"),
            Block::text(format!(
                "Detect a {:.1} % relative lift with power {:.0} % at α = {} over {} arms; metric over {} after each user's first event; {:.1} new users per day over {:.1} days of export; sequential N* = {}.",
                p.mde * 100.0,
                p.power * 100.0,
                p.alpha,
                p.arms,
                p.window,
                p.new_users_per_day,
                p.export_days,
                p.sequential_tuning
            )),
            Block::Table(t),
        ];
        for m in &p.metrics {
            if let Some(n) = &m.note {
                doc.push(Block::text(format!("{}: {n}", m.metric)));
            }
        }
        doc
    }
}
