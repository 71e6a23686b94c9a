//! `[experiment]` (flags merged in) checked and resolved into the
//! analysis's options; errors name the journey.toml line or the flag.

use std::path::{Path, PathBuf};

use super::adjust::Correction;
use super::bayes::Prior;
use super::config::{Engine, ExperimentSection, MetricKind};
use crate::config::JourneyConfig;
use crate::error::UsageError;

pub const DEFAULT_WINDOW_MS: i64 = 14 * 86_400_000;
pub const DEFAULT_LOOKBACK_MS: i64 = 14 * 86_400_000;
pub const DEFAULT_N_STAR: f64 = 5000.0;
pub const DEFAULT_RETENTION_AFTER_MS: i64 = 7 * 86_400_000;

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
    /// Columns to break the effects down by for other analyses (the
    /// fairness groups' business impact), beside `breakdown`.
    pub impact_by: Vec<String>,
}

impl Options {
    pub fn engines(&self) -> super::compare::Engines {
        super::compare::Engines {
            engine: self.engine,
            alpha: self.alpha,
            n_star: self.n_star,
            prior: self.prior,
        }
    }
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
            return Err(bad(cfg, flagged, "experiment.metrics", "no metrics: add [[experiment.metrics]] with name, kind (conversion, count, sum, retention, ratio or funnel) and event".into()));
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
            let why = match m.kind {
                MetricKind::Sum if m.property.is_none() => {
                    Some("a `sum` metric needs `property` (the numeric column)")
                }
                MetricKind::Ratio if m.per.is_none() => Some(
                    "a `ratio` metric needs `per` (the denominator's event; `per_property` sums a column of it instead of counting)",
                ),
                MetricKind::Funnel if m.then.is_empty() => Some(
                    "a `funnel` metric needs `then` (the steps after `event`, in order)",
                ),
                MetricKind::Sum | MetricKind::Ratio => None,
                _ if m.property.is_some() => {
                    Some("only `sum` and `ratio` metrics take `property`")
                }
                _ => None,
            }
            .or_else(|| {
                (m.kind != MetricKind::Ratio && (m.per.is_some() || m.per_property.is_some()))
                    .then_some("`per` and `per_property` belong to a `ratio` metric")
            })
            .or_else(|| {
                (m.kind != MetricKind::Funnel && !m.then.is_empty())
                    .then_some("`then` belongs to a `funnel` metric")
            });
            if let Some(why) = why {
                return Err(bad(cfg, flagged, &key, why.into()));
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
            impact_by: Vec::new(),
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
