//! From the table, the assignment and `[experiment]` to the report
//! section: per metric and arm the sufficient statistics, per comparison
//! the engines, then the family-wise correction and the verdicts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::adjust::{Correction, adjust_with_factors};
use super::assign::{self, Accounting, Source};
use super::bayes::{Prior, posterior};
use super::config::{Engine, ExperimentSection, MetricKind};
use super::freq::{Estimate, NoEstimate, Scale, sequential_at, welch};
use super::metrics::{Resolved, accumulate};
use super::srm::{Srm, SrmStatus, srm};
use super::suff::{Arm, Sums, theta, variance_reduction};
use crate::config::JourneyConfig;
use crate::duration::format_ms;
use crate::error::{DataError, UsageError};
use crate::ingest::EventTable;
use crate::predicate::resolve;
use crate::stats::round6;

pub const DEFAULT_WINDOW_MS: i64 = 14 * 86_400_000;
pub const DEFAULT_LOOKBACK_MS: i64 = 14 * 86_400_000;
pub const DEFAULT_N_STAR: f64 = 5000.0;
pub const DEFAULT_RETENTION_AFTER_MS: i64 = 7 * 86_400_000;

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ExperimentReport {
    /// The engine of every verdict.
    pub engine: Engine,
    pub alpha: f64,
    /// Over the goal metrics × comparisons (guardrails are not in the family).
    pub correction: Correction,
    pub window: String,
    /// CUPED's pre-exposure window ("0s": off).
    pub lookback: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequential_tuning: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior: Option<Prior>,
    pub assignment: Accounting,
    pub arms: Vec<ArmSummary>,
    pub srm: Srm,
    pub metrics: Vec<MetricResult>,
    /// `figures.<metric>.<arm>` (vs control) or `<treatment>_vs_<baseline>`:
    /// the verdict's figures, for checks.
    pub figures: BTreeMap<String, BTreeMap<String, Figures>>,
    /// Next-period weights on the first goal metric (src/experiment/allocate.rs);
    /// absent until every arm has 100 users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation: Option<super::allocate::Allocation>,
    /// Effects per value of `breakdown` (exploratory, uncorrected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<super::breakdown::Breakdown>,
    /// T-learner uplift per conversion goal metric and comparison, with
    /// `uplift = true` (src/experiment/uplift.rs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uplift: Vec<super::uplift::UpliftReport>,
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ArmSummary {
    pub name: String,
    pub control: bool,
    pub expected_share: f64,
    pub users: u64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MetricResult {
    pub name: String,
    pub kind: MetricKind,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    pub guardrail: bool,
    pub inverse: bool,
    pub arms: Vec<ArmMetric>,
    pub comparisons: Vec<Comparison>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ArmMetric {
    pub arm: String,
    pub users: u64,
    pub mean: f64,
    pub sd: f64,
    /// The covariate's mean (the metric over the lookback before exposure).
    pub pre_mean: f64,
    pub sums: Sums,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Effect {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub se: f64,
    /// The engine's two-sided p-value (Bayesian: 2·min(P(win), P(lose))).
    pub p: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct BayesFigures {
    pub chance_to_win: f64,
    /// Expected loss of shipping the treatment / of keeping the baseline,
    /// in relative-lift units.
    pub risk_treatment: f64,
    pub risk_baseline: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    pub treatment: String,
    pub baseline: String,
    pub engine: Engine,
    /// Whether `lift` is CUPED-adjusted.
    pub cuped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    /// 1 − Var(adjusted)/Var(raw) of the difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance_reduction: Option<f64>,
    /// Relative lift: the verdict's estimate; its interval is the
    /// corrected one when the family has more than one member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lift: Option<Effect>,
    /// The same engine without CUPED, side by side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unadjusted: Option<Effect>,
    /// Absolute difference of means (uncorrected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absolute: Option<Effect>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bayes: Option<BayesFigures>,
    /// The interval printed next to the lift excludes 0.
    pub significant: bool,
    /// "better", "worse" or "none" (inverse metrics: lower is better).
    pub direction: String,
    /// Why there is no estimate (an arm with < 2 users, a constant metric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Figures {
    pub lift: Option<f64>,
    pub lift_ci_low: Option<f64>,
    pub lift_ci_high: Option<f64>,
    pub p: Option<f64>,
    pub p_adjusted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chance_to_win: Option<f64>,
    /// 1 when significant, else 0.
    pub significant: u8,
}

/// Options resolved from `[experiment]` (flags already merged in).
pub struct Options {
    pub section: ExperimentSection,
    pub arms: Vec<String>,
    pub weights: Vec<f64>,
    pub control: usize,
    pub pairs: Vec<(usize, usize)>,
    pub window_ms: i64,
    pub lookback_ms: i64,
    pub engine: Engine,
    pub correction: Correction,
    pub alpha: f64,
    pub n_star: f64,
    pub prior: Option<Prior>,
    /// The assignments file, resolved against the config's directory.
    pub assignments: Option<PathBuf>,
}

/// Keys set by a command-line flag, with the flag's name: their errors
/// name the flag, not a line of journey.toml.
pub type Flagged = [(&'static str, &'static str)];

fn bad(cfg: &JourneyConfig, flagged: &Flagged, key: &str, msg: String) -> UsageError {
    match flagged
        .iter()
        .find(|(k, _)| key == *k || key.starts_with(&format!("{k}[")))
    {
        Some((_, flag)) => UsageError(format!("{flag}: {msg}")),
        None => UsageError(format!("{}{key}: {msg}", cfg.at(key))),
    }
}

impl Options {
    pub fn resolve(cfg: &JourneyConfig, s: &ExperimentSection) -> Result<Options, UsageError> {
        Options::resolve_flagged(cfg, s, &[])
    }

    pub fn resolve_flagged(
        cfg: &JourneyConfig,
        s: &ExperimentSection,
        flagged: &Flagged,
    ) -> Result<Options, UsageError> {
        let arms: Vec<String> = s.arms.iter().map(|a| a.name.clone()).collect();
        if arms.len() < 2 {
            return Err(bad(
                cfg,
                flagged,
                "experiment.arms",
                format!(
                    "an experiment needs at least two arms (found {}); list them, e.g. arms = [{{ name = \"control\" }}, {{ name = \"intervention\" }}]",
                    arms.len()
                ),
            ));
        }
        for (i, a) in arms.iter().enumerate() {
            if arms[..i].contains(a) {
                return Err(bad(
                    cfg,
                    flagged,
                    "experiment.arms",
                    format!("the arm {a:?} is listed twice"),
                ));
            }
        }
        let weights: Vec<f64> = s.arms.iter().map(|a| a.weight.unwrap_or(1.0)).collect();
        if let Some(w) = weights.iter().find(|w| !w.is_finite() || **w < 0.0) {
            return Err(bad(
                cfg,
                flagged,
                "experiment.arms",
                format!("weight {w} is not a non-negative number"),
            ));
        }
        let find = |name: &str, key: &str| {
            arms.iter().position(|a| a == name).ok_or_else(|| {
                bad(
                    cfg,
                    flagged,
                    key,
                    format!(
                        "{name:?} is not one of the arms ({}){}",
                        arms.join(", "),
                        crate::predicate::suggest(name, arms.iter().map(String::as_str))
                    ),
                )
            })
        };
        let control = match &s.control {
            Some(c) => find(c, "experiment.control")?,
            None => 0,
        };
        let mut pairs: Vec<(usize, usize)> = (0..arms.len())
            .filter(|&i| i != control)
            .map(|i| (i, control))
            .collect();
        for [t, b] in &s.compare {
            let p = (
                find(t, "experiment.compare")?,
                find(b, "experiment.compare")?,
            );
            if p.0 == p.1 {
                return Err(bad(
                    cfg,
                    flagged,
                    "experiment.compare",
                    format!("{t:?} is compared with itself"),
                ));
            }
            if !pairs.contains(&p) {
                pairs.push(p);
            }
        }
        if s.metrics.is_empty() {
            return Err(bad(cfg, flagged, "experiment.metrics", "no metrics: add [[experiment.metrics]] with name, kind (conversion, count or sum) and event".into()));
        }
        for (i, m) in s.metrics.iter().enumerate() {
            let key = format!("experiment.metrics[{}]", i + 1);
            if m.name.is_empty()
                || !m
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(bad(
                    cfg,
                    flagged,
                    &key,
                    format!(
                        "name {:?}: use letters, digits and _ only (checks address it as experiment.<name>.<arm>)",
                        m.name
                    ),
                ));
            }
            if s.metrics[..i].iter().any(|o| o.name == m.name) {
                return Err(bad(
                    cfg,
                    flagged,
                    &key,
                    format!("the metric name {:?} is used twice", m.name),
                ));
            }
            if let Some(after) = m.after {
                if m.kind != MetricKind::Retention {
                    return Err(bad(
                        cfg,
                        flagged,
                        &key,
                        "`after` belongs to a `retention` metric".into(),
                    ));
                }
                if after.ms() <= 0 || after.ms() >= s.window.map_or(DEFAULT_WINDOW_MS, |d| d.ms()) {
                    return Err(bad(
                        cfg,
                        flagged,
                        &key,
                        "`after` must be longer than zero and shorter than the window".into(),
                    ));
                }
            }
            if (m.kind == MetricKind::Sum) != m.property.is_some() {
                return Err(bad(cfg, flagged, &key, "a `sum` metric needs `property` (the numeric column), and only a sum metric takes one".into()));
            }
        }
        let alpha = s.alpha.unwrap_or(0.05);
        if !(alpha > 0.0 && alpha < 0.5) {
            return Err(bad(
                cfg,
                flagged,
                "experiment.alpha",
                format!("{alpha} is not in (0, 0.5)"),
            ));
        }
        let n_star = s.sequential_tuning.unwrap_or(DEFAULT_N_STAR);
        if !(n_star.is_finite() && n_star > 0.0) {
            return Err(bad(
                cfg,
                flagged,
                "experiment.sequential_tuning",
                format!("{n_star} is not a positive number"),
            ));
        }
        let prior = match s.prior_sd {
            Some(sd) if !(sd.is_finite() && sd > 0.0) => {
                return Err(bad(
                    cfg,
                    flagged,
                    "experiment.prior_sd",
                    format!("{sd} is not a positive number"),
                ));
            }
            Some(sd) => Some(Prior { mean: 0.0, sd }),
            None => None,
        };
        let window_ms = s.window.map_or(DEFAULT_WINDOW_MS, |d| d.ms());
        if window_ms <= 0 {
            return Err(bad(
                cfg,
                flagged,
                "experiment.window",
                "the window must be longer than zero".into(),
            ));
        }
        let lookback_ms = s.lookback.map_or(DEFAULT_LOOKBACK_MS, |d| d.ms()).max(0);
        let assignments = match (&s.assignments, &s.exposure) {
            (Some(_), Some(_)) => return Err(bad(cfg, flagged, "experiment.assignments", "give an assignments file or an exposure event, not both".into())),
            (None, None) => return Err(bad(cfg, flagged, "experiment", "no assignment: set `assignments` (a user_id,arm,assigned_at CSV) or `exposure` with `arm_property`".into())),
            (Some(p), None) => Some(relative_to_config(cfg, p)),
            (None, Some(_)) => {
                if s.arm_property.is_none() {
                    return Err(bad(cfg, flagged, "experiment.arm_property", "an exposure event needs arm_property: the property that holds the arm".into()));
                }
                None
            }
        };
        Ok(Options {
            section: s.clone(),
            arms,
            weights,
            control,
            pairs,
            window_ms,
            lookback_ms,
            engine: s.engine.unwrap_or_default(),
            correction: s.correction.unwrap_or_default(),
            alpha,
            n_star,
            prior,
            assignments,
        })
    }
}

/// A relative path in journey.toml is read from the config's directory.
fn relative_to_config(cfg: &JourneyConfig, p: &str) -> PathBuf {
    let path = Path::new(p);
    match &cfg.source {
        Some(src) if path.is_relative() => Path::new(&src.path)
            .parent()
            .map_or_else(|| path.to_path_buf(), |d| d.join(path)),
        _ => path.to_path_buf(),
    }
}

fn effect(e: &Estimate) -> Effect {
    Effect {
        estimate: round6(e.effect),
        ci_low: round6(e.low),
        ci_high: round6(e.high),
        se: round6(e.se),
        p: round6(e.p),
        p_adjusted: None,
    }
}

/// One engine on one pair of arms with its interval at `level` (α, or a
/// corrected level): the estimate, and the posterior for Bayes.
fn run_engine(
    o: &Options,
    a: &Arm,
    b: &Arm,
    scale: Scale,
    level: f64,
) -> Result<(Estimate, Option<BayesFigures>), NoEstimate> {
    match o.engine {
        Engine::Frequentist => welch(a, b, scale, level).map(|e| (e, None)),
        Engine::Sequential => {
            sequential_at(a, b, scale, o.alpha, level, o.n_star).map(|e| (e, None))
        }
        Engine::Bayesian => {
            let (eff, var) = super::freq::effect_and_variance(a, b, scale)?;
            let post = posterior(eff, var.sqrt(), o.prior, level);
            let p = (2.0 * post.chance_to_win.min(1.0 - post.chance_to_win)).min(1.0);
            Ok((
                Estimate {
                    effect: post.mean,
                    se: post.sd,
                    low: post.low,
                    high: post.high,
                    p,
                },
                Some(BayesFigures {
                    chance_to_win: round6(post.chance_to_win),
                    risk_treatment: round6(post.risk_treatment),
                    risk_baseline: round6(post.risk_baseline),
                }),
            ))
        }
    }
}

/// Runs the experiment analysis. Warnings go to `warn`.
/// What the analysis reads of a loaded export.
pub struct Inputs<'a> {
    pub table: &'a EventTable,
    pub ranges: &'a [std::ops::Range<usize>],
    pub sessions: &'a crate::sessions::Sessions,
    /// Every property column of the export (read or not), for the
    /// suggestions of a misspelled name.
    pub columns: &'a [String],
}

/// The report section and the per-user uplift scores (for uplift.csv).
pub struct Analyzed {
    pub report: ExperimentReport,
    pub uplift_scores: Vec<UpliftScores>,
}

pub struct UpliftScores {
    pub metric: String,
    pub treatment: String,
    pub baseline: String,
    pub scores: Vec<super::uplift::Scored>,
}

pub fn analyze(
    inputs: &Inputs,
    o: &Options,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Analyzed> {
    let (t, ranges, columns) = (inputs.table, inputs.ranges, inputs.columns);
    let s = &o.section;
    let source = match &o.assignments {
        Some(p) if !p.is_file() => {
            return Err(UsageError(format!(
                "{}: no such assignments file (a CSV of user_id,arm,assigned_at; a relative path in journey.toml is read from the config's directory)",
                p.display()
            ))
            .into());
        }
        Some(p) => Source::File(p),
        None => {
            let exposure = s.exposure.as_ref().expect("checked in resolve");
            let prop = s.arm_property.as_deref().expect("checked in resolve");
            let arm_prop = t.props.iter().position(|c| c.name == prop).ok_or_else(|| {
                DataError::Input(format!(
                    "experiment.arm_property: the export has no column {prop:?}{}",
                    crate::predicate::suggest(prop, columns.iter().map(String::as_str))
                ))
            })?;
            Source::Exposure {
                matcher: resolve(exposure, t, "experiment.exposure")?,
                arm_prop,
                label: format!("exposure event {}[{prop}]", exposure.label()),
            }
        }
    };
    let (users, accounting) = assign::assign(t, ranges, source, &o.arms, o.window_ms)?;
    if accounting.excluded_share > assign::WARN_EXCLUDED {
        let parts: Vec<String> = accounting
            .excluded
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.users,
                    serde_json::to_value(e.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                )
            })
            .collect();
        warn(format!(
            "experiment: {:.1} % of assigned users are excluded ({})",
            accounting.excluded_share * 100.0,
            parts.join(", ")
        ));
    }
    let rejected: u64 = accounting.rejected_rows.iter().map(|r| r.rows).sum();
    if rejected > 0 {
        warn(format!(
            "experiment: {rejected} rows of {} could not be read (see experiment.assignment.rejected_rows)",
            accounting.source
        ));
    }
    let mut resolved = Vec::new();
    for (i, m) in s.metrics.iter().enumerate() {
        let key = format!("experiment.metrics[{}]", i + 1);
        let matcher = resolve(&m.event, t, &key)?;
        if matcher.event.is_none() {
            warn(format!(
                "experiment: the event {} of metric {} does not occur in the data",
                m.event.label(),
                m.name
            ));
        }
        let numbers = match &m.property {
            Some(p) => {
                let col = t.props.iter().position(|c| &c.name == p).ok_or_else(|| {
                    DataError::Input(format!(
                        "{key}.property: the export has no column {p:?}{}",
                        crate::predicate::suggest(p, columns.iter().map(String::as_str))
                    ))
                })?;
                let nums = crate::features::extract::numbers(t, col);
                if nums.iter().all(Option::is_none) {
                    warn(format!(
                        "experiment: the property {p} of metric {} holds no numbers; its sums are 0",
                        m.name
                    ));
                }
                Some((col, nums))
            }
            None => None,
        };
        let offset_ms = match m.kind {
            MetricKind::Retention => m.after.map_or(DEFAULT_RETENTION_AFTER_MS, |d| d.ms()),
            _ => 0,
        };
        resolved.push(Resolved {
            offset_ms,
            kind: m.kind,
            matcher,
            numbers,
        });
    }
    let mut range_of = vec![None; t.user_names.len()];
    for r in ranges {
        if !r.is_empty() {
            range_of[t.user[r.start] as usize] = Some(r.clone());
        }
    }
    let metric_refs: Vec<&Resolved> = resolved.iter().collect();
    let sums = accumulate(
        t,
        &range_of,
        &users,
        &metric_refs,
        o.arms.len(),
        o.window_ms,
        o.lookback_ms,
    );

    let mut counts = vec![0u64; o.arms.len()];
    for u in &users {
        counts[u.arm] += 1;
    }
    let srm = {
        let mut r = srm(&counts, &o.weights);
        r.chi2 = round6(r.chi2);
        r.p = round6(r.p);
        r.max_deviation = round6(r.max_deviation);
        r
    };
    let total: u64 = counts.iter().sum();
    let wsum: f64 = o.weights.iter().sum();
    let arms: Vec<ArmSummary> = o
        .arms
        .iter()
        .enumerate()
        .map(|(i, name)| ArmSummary {
            name: name.clone(),
            control: i == o.control,
            expected_share: round6(if wsum > 0.0 { o.weights[i] / wsum } else { 0.0 }),
            users: counts[i],
            share: round6(if total == 0 {
                0.0
            } else {
                counts[i] as f64 / total as f64
            }),
        })
        .collect();
    for a in &arms {
        if a.users == 0 {
            warn(format!(
                "experiment: the arm {} has no analyzed users",
                a.name
            ));
        }
    }

    // Engines per metric and pair; the family's p-values collected in order.
    let mut metrics = Vec::new();
    let mut family: Vec<(usize, usize, f64, Arm, Arm)> = Vec::new();
    for (mi, (m, res)) in s.metrics.iter().zip(&resolved).enumerate() {
        let binary = res.binary();
        let per_arm: Vec<ArmMetric> = o
            .arms
            .iter()
            .zip(&sums[mi])
            .map(|(name, su)| ArmMetric {
                arm: name.clone(),
                users: su.n,
                mean: round6(su.mean_y()),
                sd: round6(su.var_y(binary).sqrt()),
                pre_mean: round6(su.mean_x()),
                sums: *su,
            })
            .collect();
        let mut comparisons = Vec::new();
        for (ci, &(ti, bi)) in o.pairs.iter().enumerate() {
            let (sa, sb): (&Sums, &Sums) = (&sums[mi][bi], &sums[mi][ti]);
            let th = if o.lookback_ms > 0 {
                theta(sa, sb, binary)
            } else {
                0.0
            };
            let cuped = th != 0.0;
            let (pa, pb) = (Arm::plain(sa, binary), Arm::plain(sb, binary));
            let (aa, ab) = (Arm::adjusted(sa, th, binary), Arm::adjusted(sb, th, binary));
            let main = run_engine(o, &aa, &ab, Scale::Relative, o.alpha);
            let unadjusted = cuped
                .then(|| run_engine(o, &pa, &pb, Scale::Relative, o.alpha).ok())
                .flatten();
            let absolute = run_engine(o, &aa, &ab, Scale::Absolute, o.alpha).ok();
            let (lift, bayes, error) = match main {
                Ok((e, b)) => (Some(e), b, None),
                Err(e) => (None, None, Some(e)),
            };
            if let (Some(e), false) = (&lift, m.guardrail) {
                family.push((mi, ci, e.p, aa, ab));
            }
            comparisons.push((
                Comparison {
                    treatment: o.arms[ti].clone(),
                    baseline: o.arms[bi].clone(),
                    engine: o.engine,
                    cuped,
                    theta: cuped.then(|| round6(th)),
                    variance_reduction: if cuped {
                        variance_reduction(sa, sb, th, binary).map(round6)
                    } else {
                        None
                    },
                    lift: lift.as_ref().map(effect),
                    unadjusted: unadjusted.map(|(e, _)| effect(&e)),
                    absolute: absolute.map(|(e, _)| effect(&e)),
                    bayes,
                    significant: false,
                    direction: "none".into(),
                    error: None,
                    verdict: String::new(),
                },
                error,
            ));
        }
        metrics.push((
            MetricResult {
                name: m.name.clone(),
                kind: m.kind,
                event: m.event.label(),
                property: m.property.clone(),
                guardrail: m.guardrail,
                inverse: m.inverse,
                arms: per_arm,
                comparisons: Vec::new(),
            },
            comparisons,
        ));
    }

    // The correction over the family, and the intervals that go with it.
    let corrected = family.len() > 1 && o.correction != Correction::None;
    let adjusted = adjust_with_factors(
        &family.iter().map(|f| f.2).collect::<Vec<_>>(),
        o.correction,
    );
    for (k, (mi, ci, _, aa, ab)) in family.iter().enumerate() {
        let c = &mut metrics[*mi].1[*ci].0;
        let lift = c.lift.as_mut().expect("family members have a lift");
        if corrected {
            let (p_adj, factor) = adjusted[k];
            lift.p_adjusted = Some(round6(p_adj));
            if let Ok((e, _)) = run_engine(o, aa, ab, Scale::Relative, o.alpha / factor) {
                lift.ci_low = round6(e.low);
                lift.ci_high = round6(e.high);
            }
        }
    }
    let mut figures: BTreeMap<String, BTreeMap<String, Figures>> = BTreeMap::new();
    let mut out_metrics = Vec::new();
    for (mut mr, comps) in metrics {
        for (mut c, error) in comps {
            let (sig, dir) = match &c.lift {
                Some(l) => {
                    let sig = l.ci_low > 0.0 || l.ci_high < 0.0;
                    let up = l.estimate > 0.0;
                    (
                        sig,
                        if !sig {
                            "none"
                        } else if up != mr.inverse {
                            "better"
                        } else {
                            "worse"
                        },
                    )
                }
                None => (false, "none"),
            };
            c.significant = sig;
            c.direction = dir.into();
            c.error = error.map(|e| e.to_string());
            let key = if o.arms[o.control] == c.baseline {
                c.treatment.clone()
            } else {
                format!("{}_vs_{}", c.treatment, c.baseline)
            };
            figures.entry(mr.name.clone()).or_default().insert(
                key,
                Figures {
                    lift: c.lift.as_ref().map(|l| l.estimate),
                    lift_ci_low: c.lift.as_ref().map(|l| l.ci_low),
                    lift_ci_high: c.lift.as_ref().map(|l| l.ci_high),
                    p: c.lift.as_ref().map(|l| l.p),
                    p_adjusted: c.lift.as_ref().and_then(|l| l.p_adjusted),
                    chance_to_win: c.bayes.as_ref().map(|b| b.chance_to_win),
                    significant: u8::from(sig),
                },
            );
            mr.comparisons.push(c);
        }
        out_metrics.push(mr);
    }
    let mut r = ExperimentReport {
        engine: o.engine,
        alpha: o.alpha,
        correction: if corrected {
            o.correction
        } else {
            Correction::None
        },
        window: format_ms(o.window_ms),
        lookback: format_ms(o.lookback_ms),
        sequential_tuning: (o.engine == Engine::Sequential).then_some(o.n_star),
        prior: if o.engine == Engine::Bayesian {
            o.prior
        } else {
            None
        },
        assignment: accounting,
        arms,
        srm,
        metrics: out_metrics,
        figures,
        allocation: None,
        breakdown: None,
        uplift: Vec::new(),
        verdict: String::new(),
    };
    if let Some((mi, m)) = s.metrics.iter().enumerate().find(|(_, m)| !m.guardrail) {
        let arms = &sums[mi];
        if arms.iter().all(|a| a.n >= super::allocate::MIN_USERS) {
            let binary = matches!(m.kind, MetricKind::Conversion | MetricKind::Retention);
            let means: Vec<f64> = arms.iter().map(Sums::mean_y).collect();
            let sds: Vec<f64> = arms
                .iter()
                .map(|a| (a.var_y(binary) / a.n as f64).sqrt())
                .collect();
            if sds.iter().all(|&x| x > 0.0) {
                r.allocation = Some(super::allocate::allocate(
                    &m.name,
                    &means,
                    &sds,
                    m.inverse,
                    super::allocate::DEFAULT_FLOOR,
                ));
            }
        }
    }
    let verdicts: Vec<Vec<String>> = r
        .metrics
        .iter()
        .map(|m| {
            m.comparisons
                .iter()
                .map(|c| plain(&comparison_pieces(m, c, &r)))
                .collect()
        })
        .collect();
    for (m, vs) in r.metrics.iter_mut().zip(verdicts) {
        for (c, v) in m.comparisons.iter_mut().zip(vs) {
            c.verdict = v;
        }
    }
    r.verdict = plain(&overall_pieces(&r));
    if let Some(by) = &s.breakdown {
        let column = t.props.iter().position(|c| &c.name == by).ok_or_else(|| {
            DataError::Input(format!(
                "experiment.breakdown: the export has no column {by:?}{}",
                crate::predicate::suggest(by, columns.iter().map(String::as_str))
            ))
        })?;
        let goal: Vec<(String, &Resolved)> = s
            .metrics
            .iter()
            .zip(&resolved)
            .filter(|(m, _)| !m.guardrail)
            .map(|(m, res)| (m.name.clone(), res))
            .collect();
        r.breakdown = Some(super::breakdown::breakdown(
            t,
            &range_of,
            &users,
            &super::breakdown::Spec {
                column,
                arms: &o.arms,
                pairs: &o.pairs,
                metrics: &goal,
                window_ms: o.window_ms,
                lookback_ms: o.lookback_ms,
                alpha: o.alpha,
            },
        ));
    }
    let mut uplift_scores = Vec::new();
    if s.uplift.unwrap_or(false) {
        let k = s.uplift_k.unwrap_or(0.3);
        let seed = s.seed.unwrap_or(0);
        for (mi, (m, res)) in s.metrics.iter().zip(&resolved).enumerate() {
            if m.guardrail || !res.binary() {
                continue;
            }
            for &(ti, bi) in &o.pairs {
                let rows: Vec<super::uplift::Row> = users
                    .iter()
                    .filter(|u| u.arm == ti || u.arm == bi)
                    .filter_map(|u| {
                        let rg = range_of[u.user as usize].clone()?;
                        let start = rg.start + t.ts[rg.clone()].partition_point(|&x| x < u.at);
                        let end = rg.start
                            + t.ts[rg.clone()]
                                .partition_point(|&x| x <= u.at.saturating_add(o.window_ms));
                        Some(super::uplift::Row {
                            user: u.user,
                            pre: (rg.start, start),
                            at: u.at,
                            first: t.ts[rg.start],
                            treated: u.arm == ti,
                            y: res.value_of(t, start..end) > 0.0,
                        })
                    })
                    .collect();
                let (scored, features) = super::uplift::score(t, inputs.sessions, &rows, seed)?;
                let (wt, wb) = (o.weights[ti], o.weights[bi]);
                let propensity = if wt + wb > 0.0 { wt / (wt + wb) } else { 0.5 };
                r.uplift.push(super::uplift::evaluate(
                    &m.name,
                    &o.arms[ti],
                    &o.arms[bi],
                    &rows,
                    &scored,
                    features,
                    k,
                    seed,
                    propensity,
                    o.alpha,
                ));
                uplift_scores.push(UpliftScores {
                    metric: m.name.clone(),
                    treatment: o.arms[ti].clone(),
                    baseline: o.arms[bi].clone(),
                    scores: scored,
                });
            }
            let _ = mi;
        }
    }
    Ok(Analyzed {
        report: r,
        uplift_scores,
    })
}

fn pct(x: f64) -> String {
    format!("{:+.1} %", x * 100.0)
}

/// A verdict as words and data names, so each renderer can mark the
/// names (arm and metric names come from the data and the config).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Name(String),
}

pub fn plain(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) | Piece::Name(t) => t.as_str(),
        })
        .collect()
}

fn t(s: impl Into<String>) -> Piece {
    Piece::Text(s.into())
}

fn n(s: &str) -> Piece {
    Piece::Name(s.to_string())
}

/// "reminder beats control on purchase: +4.1 % (95 % CI +1.2 % to +7.0 %)".
pub fn comparison_pieces(m: &MetricResult, c: &Comparison, s: &ExperimentReport) -> Vec<Piece> {
    let Some(l) = &c.lift else {
        return vec![t(format!(
            "no estimate for {} vs {} on {}: {}",
            c.treatment,
            c.baseline,
            m.name,
            c.error.as_deref().unwrap_or("")
        ))];
    };
    let label = match s.correction {
        Correction::Holm => ", Holm-adjusted",
        Correction::BenjaminiHochberg => ", Benjamini–Hochberg-adjusted",
        Correction::None => "",
    };
    let interval = format!(
        " ({:.0} % {} {} to {}{label})",
        (1.0 - s.alpha) * 100.0,
        if s.engine == Engine::Bayesian {
            "CrI"
        } else {
            "CI"
        },
        pct(l.ci_low),
        pct(l.ci_high)
    );
    let head = match c.direction.as_str() {
        "better" => vec![n(&c.treatment), t(" beats "), n(&c.baseline)],
        "worse" => vec![n(&c.treatment), t(" is worse than "), n(&c.baseline)],
        _ => vec![
            t("no significant difference between "),
            n(&c.treatment),
            t(" and "),
            n(&c.baseline),
        ],
    };
    let mut out = head;
    out.extend([
        t(" on "),
        n(&m.name),
        t(format!(": {}{interval}", pct(l.estimate))),
    ]);
    out
}

/// The analysis's verdict: SRM first, then harmed guardrails, then wins.
pub fn overall_pieces(s: &ExperimentReport) -> Vec<Piece> {
    if s.srm.status == SrmStatus::Fail {
        return vec![t(format!(
            "not trustworthy: sample ratio mismatch (p = {:.2e}); the arms' sizes differ from the planned split, so find the cause before reading any result",
            s.srm.p
        ))];
    }
    let mut out = Vec::new();
    let each = |guardrail: bool, direction: &'static str| {
        s.metrics
            .iter()
            .filter(move |m| m.guardrail == guardrail)
            .flat_map(move |m| {
                m.comparisons
                    .iter()
                    .filter(move |c| c.direction == direction)
                    .map(move |c| (m, c))
            })
    };
    let harmed: Vec<_> = each(true, "worse").collect();
    if !harmed.is_empty() {
        out.push(t("a guardrail is harmed: "));
        for (k, (m, c)) in harmed.iter().enumerate() {
            if k > 0 {
                out.push(t(", "));
            }
            out.extend([
                n(&m.name),
                t(" ("),
                n(&c.treatment),
                t(" vs "),
                n(&c.baseline),
                t(")"),
            ]);
        }
        return out;
    }
    let wins: Vec<_> = each(false, "better").collect();
    let losses = each(false, "worse").count();
    if wins.is_empty() {
        out.push(t(if losses == 0 {
            "no significant effect on the goal metrics".to_string()
        } else {
            format!("no arm wins; {losses} comparison(s) are significantly worse")
        }));
        return out;
    }
    for (k, (m, c)) in wins.iter().enumerate() {
        if k > 0 {
            out.push(t("; "));
        }
        out.extend([
            n(&c.treatment),
            t(" beats "),
            n(&c.baseline),
            t(" on "),
            n(&m.name),
        ]);
    }
    if s.srm.status == SrmStatus::Warn {
        out.push(t(format!(
            " (but the sample ratio is suspicious: p = {:.4})",
            s.srm.p
        )));
    }
    out
}
