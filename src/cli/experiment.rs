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
use crate::experiment::analyze;
use crate::experiment::config::{ArmConfig, Engine, ExperimentSection, MetricConfig, MetricKind};
use crate::experiment::options::Options;

use crate::pipeline::Context;
use crate::predicate::{Predicate, split_top};
use crate::progress::Progress;

/// A/B/n experiments: analyze one (did the intervention work?), plan one
/// (how many users, how many days), or measure a non-randomized rollout
/// (difference in differences). Semantics: docs/experiments.md.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap experiment analyze events.parquet --config journey.toml
  journeymap experiment plan events.parquet --metric conversion:upgrade --mde 0.05 --arms 3
  journeymap experiment did events.parquet --treated rollout.csv --start 2026-10-15 --metric count:use_feature

Each subcommand's --help has more.")]
pub struct ExperimentArgs {
    #[command(subcommand)]
    pub command: ExperimentCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    Analyze(Box<AnalyzeArgs>),
    Plan(Box<PlanArgs>),
    Did(Box<DidArgs>),
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

    /// A metric: conversion:EVENT, count:EVENT, retention:EVENT (again 7d-window after exposure), sum:EVENT:PROPERTY, ratio:EVENT[:PROPERTY]/EVENT[:PROPERTY] (Σ numerator / Σ denominator per arm) or funnel:STEP,STEP,... (steps reached in order) (repeatable; replaces the config's)
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

    /// Effects per value of this property (its value on each user's first event; exploratory, uncorrected)
    #[arg(long, value_name = "COLUMN", help_heading = "Experiment")]
    pub by: Option<String>,

    /// Fit a T-learner per conversion metric and comparison (who should get the treatment): Qini, uplift at k
    #[arg(long, help_heading = "Uplift")]
    pub uplift: bool,

    /// Write each user's uplift: user_id,metric,treatment,baseline,arm,outcome,uplift,p_treatment,p_baseline (implies --uplift)
    #[arg(long, value_name = "FILE", help_heading = "Uplift")]
    pub uplift_out: Option<PathBuf>,

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

/// `conversion:EVENT`, `count:EVENT`, `retention:EVENT`,
/// `sum:EVENT:PROPERTY`, `ratio:EVENT[:PROPERTY]/EVENT[:PROPERTY]` or
/// `funnel:STEP,STEP,...` as a metric.
pub fn parse_metric(s: &str, guardrail: bool) -> Result<MetricConfig, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "--metric {s:?}: {why}; write conversion:EVENT, count:EVENT, retention:EVENT, sum:EVENT:PROPERTY, ratio:EVENT[:PROPERTY]/EVENT[:PROPERTY] or funnel:STEP,STEP,..."
        ))
    };
    let (kind, rest) = s.split_once(':').ok_or_else(|| bad("no kind"))?;
    let kind = match kind {
        "conversion" => MetricKind::Conversion,
        "count" => MetricKind::Count,
        "sum" => MetricKind::Sum,
        "retention" => MetricKind::Retention,
        "ratio" => MetricKind::Ratio,
        "funnel" => MetricKind::Funnel,
        _ => return Err(bad("unknown kind")),
    };
    // EVENT[:PROPERTY], split outside quotes and brackets.
    let event_and_property = |part: &str| -> Result<(Predicate, Option<String>), UsageError> {
        let pieces = split_top(part, ':').map_err(|e| bad(&e))?;
        let (e, p) = match pieces.as_slice() {
            [e] => (e.as_str(), None),
            [e, p] if !p.is_empty() => (e.as_str(), Some(p.clone())),
            _ => return Err(bad("expected EVENT or EVENT:PROPERTY")),
        };
        Ok((Predicate::parse_cli(e).map_err(|e| bad(&e))?, p))
    };
    let (mut per, mut per_property, mut then) = (None, None, Vec::new());
    let (event, property) = match kind {
        MetricKind::Sum => {
            let (e, p) = event_and_property(rest)?;
            (e, Some(p.ok_or_else(|| bad("a sum needs a property"))?))
        }
        MetricKind::Ratio => {
            let sides = split_top(rest, '/').map_err(|e| bad(&e))?;
            let [num, den] = sides.as_slice() else {
                return Err(bad("a ratio needs one / between numerator and denominator"));
            };
            let (d, dp) = event_and_property(den)?;
            per = Some(d);
            per_property = dp;
            event_and_property(num)?
        }
        MetricKind::Funnel => {
            let mut steps = Predicate::parse_list(rest).map_err(|e| bad(&e))?;
            if steps.len() < 2 {
                return Err(bad("a funnel needs at least two steps"));
            }
            then = steps.split_off(1);
            (steps.remove(0), None)
        }
        _ => (Predicate::parse_cli(rest).map_err(|e| bad(&e))?, None),
    };
    let ev = |p: &Predicate| p.event().unwrap_or("metric").to_string();
    let base = match kind {
        MetricKind::Conversion => ev(&event),
        MetricKind::Count => format!("{}_count", ev(&event)),
        MetricKind::Retention => format!("{}_retention", ev(&event)),
        MetricKind::Sum => format!("{}_{}", ev(&event), property.as_deref().unwrap_or("")),
        MetricKind::Ratio => format!(
            "{}_per_{}",
            property.clone().unwrap_or_else(|| ev(&event)),
            per_property
                .clone()
                .unwrap_or_else(|| per.as_ref().map(ev).unwrap_or_default())
        ),
        MetricKind::Funnel => format!(
            "{}_funnel",
            then.last().map(ev).unwrap_or_else(|| ev(&event))
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
        after: None,
        per,
        per_property,
        then,
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
    if args.by.is_some() {
        s.breakdown = args.by.clone();
    }
    if args.uplift || args.uplift_out.is_some() {
        s.uplift = Some(true);
    }
    Ok(s)
}

pub fn run(args: &ExperimentArgs) -> Result<()> {
    match &args.command {
        ExperimentCommand::Analyze(a) => run_analyze(a),
        ExperimentCommand::Plan(p) => plan::run(p),
        ExperimentCommand::Did(d) => did::run(d),
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
    let flagged: Vec<(&'static str, &'static str)> = [
        (args.arms.is_some(), "experiment.arms", "--arms"),
        (args.control.is_some(), "experiment.control", "--control"),
        (
            !args.metrics.is_empty() || !args.guardrails.is_empty(),
            "experiment.metrics",
            "--metric",
        ),
        (!args.compare.is_empty(), "experiment.compare", "--compare"),
        (args.window.is_some(), "experiment.window", "--window"),
        (args.alpha.is_some(), "experiment.alpha", "--alpha"),
        (
            args.arm_property.is_some(),
            "experiment.arm_property",
            "--arm-property",
        ),
    ]
    .into_iter()
    .filter(|f| f.0)
    .map(|f| (f.1, f.2))
    .collect();
    let mut opts = Options::resolve_flagged(&cfg, &s, &flagged)?;
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
    let inputs = analyze::Inputs {
        table: ctx.table(),
        ranges: ctx.user_ranges(),
        sessions: ctx.sessions(),
        columns: &data.ingested.property_names,
    };
    let analyzed = analyze::analyze(&inputs, &opts, &mut |w| warnings.push(w))?;
    if let Some(path) = &args.uplift_out {
        let rows = crate::experiment::output::UpliftRows {
            table: ctx.table(),
            scores: &analyzed.uplift_scores,
        };
        crate::output::write(path, &rows, "--uplift-out", Default::default())?;
    }
    let report = analyzed.report;
    for w in &warnings {
        eprintln!("warning: {}", crate::doc::text::clean(w));
    }
    progress.done();
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
  journeymap experiment plan events.csv --metric sum:purchase:amount --mde 0.1 --power 0.9 --json
  journeymap experiment plan --baseline-from events.parquet --metric ratio:purchase:amount/purchase --mde 0.05

The history may also be given as --baseline-from FILE.")]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// conversion:EVENT, count:EVENT, retention:EVENT, sum:EVENT:PROPERTY, ratio:EVENT[:PROPERTY]/EVENT[:PROPERTY] or funnel:STEP,STEP,... (repeatable)
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
    use crate::error::UsageError;
    use crate::experiment::config::ExperimentSection;
    use crate::experiment::metrics::resolve;
    use crate::experiment::plan::{PlanOptions, plan};
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
        // Only the columns the metrics read (docs/ingest.md).
        let section = ExperimentSection {
            metrics: metrics.clone(),
            ..Default::default()
        };
        let selection = crate::ingest::PropertySelection {
            named: section.properties(),
            unnamed: false,
        };
        let progress = Progress::new();
        let data = args
            .input
            .load_without_sessions(&cfg, selection, &progress)?;
        let t = &data.ingested.table;
        let columns = &data.ingested.property_names;
        let mut warnings = Vec::new();
        let resolved = metrics
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let what = format!("--metric {}", i + 1);
                resolve(t, columns, m, &what, &mut |w| warnings.push(w))
                    .map(|r| (m.name.clone(), r))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for w in &warnings {
            eprintln!("warning: {}", crate::doc::text::clean(w));
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
                    .map_or(crate::experiment::options::DEFAULT_WINDOW_MS, |d| d.ms()),
            },
        );
        progress.done();
        if args.json {
            return outln(&serde_json::to_string_pretty(&p)?).map_err(Into::into);
        }
        out(&crate::doc::text::render(
            &crate::report::sections::experiment::plan_document(&p),
        ))
        .map_err(Into::into)
    }
}

/// Difference-in-differences for a rollout that was not randomized: a
/// group (users in a file, or with a property value) got the intervention
/// from a date. Per-user first differences, user-clustered errors, and a
/// placebo test of parallel trends on the pre-period.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap experiment did events.parquet --treated rollout.csv --start 2026-10-15 --metric count:use_feature
  journeymap experiment did events.csv --treated-where channel=email --start 2026-10-15T00:00:00Z \\
      --metric conversion:upgrade --pre 28d --post 28d --json")]
pub struct DidArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// A CSV whose user_id column lists the treated users (other columns ignored)
    #[arg(long, value_name = "FILE", help_heading = "Rollout")]
    pub treated: Option<PathBuf>,

    /// Treated: users whose first event has this property value (COLUMN=VALUE)
    #[arg(long, value_name = "COLUMN=VALUE", help_heading = "Rollout")]
    pub treated_where: Option<String>,

    /// When the rollout started (a timestamp or a date, UTC)
    #[arg(long, value_name = "TIME", help_heading = "Rollout")]
    pub start: String,

    /// conversion:EVENT, count:EVENT or sum:EVENT:PROPERTY
    #[arg(long, value_name = "METRIC", help_heading = "Rollout")]
    pub metric: String,

    /// The pre window before the start [default: 14d]
    #[arg(long, value_name = "DURATION", help_heading = "Rollout")]
    pub pre: Option<Duration>,

    /// The post window from the start [default: 14d]
    #[arg(long, value_name = "DURATION", help_heading = "Rollout")]
    pub post: Option<Duration>,

    #[arg(long, default_value_t = 0.05, help_heading = "Rollout")]
    pub alpha: f64,

    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

pub mod did {
    use anyhow::Result;

    use super::{DidArgs, out, outln, parse_metric};
    use crate::config::JourneyConfig;
    use crate::error::{DataError, UsageError};
    use crate::experiment::did::{DidOptions, did};
    use crate::experiment::metrics::resolve;
    use crate::predicate::column;
    use crate::progress::Progress;

    fn start_ms(s: &str) -> Result<i64, UsageError> {
        let parser = crate::ingest::timestamp::TimeParser::new(None);
        let text = if s.len() == 10 {
            format!("{s}T00:00:00Z")
        } else {
            s.to_string()
        };
        parser.parse(&text).map(|p| p.ms).map_err(|_| {
            UsageError(format!(
                "--start {s:?}: not a timestamp; write 2026-10-15 or 2026-10-15T12:00:00Z"
            ))
        })
    }

    fn treated_users(path: &std::path::Path) -> Result<std::collections::HashSet<String>> {
        let file = path.display().to_string();
        let mut r = csv::Reader::from_path(path)
            .map_err(|e| UsageError(format!("{file}: cannot read the treated-users file: {e}")))?;
        let headers = r
            .headers()
            .map_err(|e| DataError::Input(format!("{file}:1: {e}")))?
            .clone();
        let col = headers
            .iter()
            .position(|h| ["user_id", "user"].contains(&h.trim().to_ascii_lowercase().as_str()))
            .ok_or_else(|| {
                DataError::Input(format!(
                    "{file}: no user_id column (found: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ))
            })?;
        let mut out = std::collections::HashSet::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| DataError::Input(format!("{file}: {e}")))?;
            if let Some(u) = rec.get(col).map(str::trim).filter(|u| !u.is_empty()) {
                out.insert(u.to_string());
            }
        }
        Ok(out)
    }

    pub fn run(args: &DidArgs) -> Result<()> {
        let start = start_ms(&args.start)?;
        if args.treated.is_some() == args.treated_where.is_some() {
            return Err(UsageError("give the treated group with --treated FILE or --treated-where COLUMN=VALUE (one of them)".into()).into());
        }
        if !(args.alpha > 0.0 && args.alpha < 0.5) {
            return Err(
                UsageError(format!("--alpha {}: use a value in (0, 0.5)", args.alpha)).into(),
            );
        }
        let day = 86_400_000;
        let pre = args.pre.map_or(14 * day, |d| d.ms());
        let post = args.post.map_or(14 * day, |d| d.ms());
        if pre < 2 || post <= 0 {
            return Err(UsageError("--pre and --post must be longer than zero".into()).into());
        }
        let metric = parse_metric(&args.metric, false)?;
        if metric.kind == crate::experiment::config::MetricKind::Retention {
            return Err(UsageError(
                "--metric retention: a rollout compares whole pre and post windows; use conversion:EVENT (active in the window) or count:EVENT".into(),
            )
            .into());
        }
        if metric.kind == crate::experiment::config::MetricKind::Ratio {
            return Err(UsageError(
                "--metric ratio: difference-in-differences works on per-user values; use the numerator (sum:EVENT:PROPERTY or count:EVENT) as the metric".into(),
            )
            .into());
        }
        let (where_col, where_val) = match &args.treated_where {
            Some(w) => {
                let (c, v) = w.split_once('=').ok_or_else(|| {
                    UsageError(format!("--treated-where {w:?}: write COLUMN=VALUE"))
                })?;
                (Some(c.to_string()), Some(v.to_string()))
            }
            None => (None, None),
        };
        let mut section = crate::experiment::config::ExperimentSection {
            metrics: vec![metric.clone()],
            ..Default::default()
        };
        section.arm_property = where_col.clone();
        let cfg = JourneyConfig::default();
        let selection = crate::ingest::PropertySelection {
            named: section.properties(),
            unnamed: false,
        };
        let progress = Progress::new();
        let data = args
            .input
            .load_without_sessions(&cfg, selection, &progress)?;
        let t = &data.ingested.table;
        let columns = &data.ingested.property_names;
        let resolved = resolve(t, columns, &metric, "--metric", &mut |w| {
            eprintln!("warning: {}", crate::doc::text::clean(&w))
        })?;
        let ranges = t.user_ranges();
        let mut treated = vec![false; t.user_names.len()];
        match (&args.treated, &where_col) {
            (Some(path), _) => {
                let users = treated_users(path)?;
                for c in 0..t.user_names.len() as u32 {
                    treated[c as usize] = users.contains(t.user_names.get(c));
                }
            }
            (None, Some(col)) => {
                let p = column(t, columns, col, "--treated-where")?;
                let value = where_val.as_deref().unwrap_or("");
                for r in ranges.iter().filter(|r| !r.is_empty()) {
                    let code = t.props[p].codes[r.start];
                    treated[t.user[r.start] as usize] =
                        code != 0 && t.props[p].values.get(code) == value;
                }
            }
            _ => unreachable!("checked above"),
        }
        progress.stage("difference in differences");
        let report = did(
            t,
            &ranges,
            &treated,
            (&metric.name, &resolved),
            &DidOptions {
                start_ms: start,
                pre_ms: pre,
                post_ms: post,
                alpha: args.alpha,
            },
        );
        progress.done();
        if args.json {
            return outln(&serde_json::to_string_pretty(&report)?).map_err(Into::into);
        }
        out(&crate::doc::text::render(
            &crate::report::sections::experiment::did_document(&report),
        ))
        .map_err(Into::into)
    }
}
