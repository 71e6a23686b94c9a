//! `[experiment]` in journey.toml (flags of `journeymap experiment
//! analyze` override it):
//!
//! ```toml
//! [experiment]
//! assignments = "assign.csv"        # user_id,arm,assigned_at; or:
//! # exposure = "experiment_viewed"  # the first such event assigns the user
//! # arm_property = "variant"        # ... to the arm in this property
//! control = "control"
//! arms = [
//!   { name = "control", weight = 1 },
//!   { name = "reminder", weight = 1 },
//!   { name = "intervention", weight = 1 },
//! ]
//! compare = [["intervention", "reminder"]]   # besides each arm vs control
//! window = "14d"           # metrics count events this long after exposure
//! lookback = "14d"         # CUPED covariate: the same metric this long before
//! engine = "frequentist"   # or "sequential", "bayesian"
//! correction = "holm"      # or "benjamini_hochberg", "none"
//!
//! [[experiment.metrics]]
//! name = "purchase"
//! kind = "conversion"      # did the user do `event` in the window (0/1)
//! event = "purchase"
//! [[experiment.metrics]]
//! name = "revenue"
//! kind = "sum"             # Σ property over the matching events
//! event = "purchase"
//! property = "price"
//! [[experiment.metrics]]
//! name = "came_back"
//! kind = "retention"       # did the event again between `after` and the window's end
//! event = "login"
//! after = "7d"
//! [[experiment.metrics]]
//! name = "support_tickets"
//! kind = "count"           # number of matching events
//! event = "contact_support"
//! guardrail = true
//! [[experiment.metrics]]
//! name = "order_value"
//! kind = "ratio"           # Σ price over purchases / number of purchases, per arm
//! event = "purchase"
//! property = "price"
//! per = "purchase"
//! [[experiment.metrics]]
//! name = "checkout_depth"
//! kind = "funnel"          # steps reached in order: 0 to 3
//! event = "view_item"
//! then = ["add_to_cart", "purchase"]
//! ```

use serde::{Deserialize, Serialize};

use super::adjust::Correction;
use crate::duration::Duration;
use crate::predicate::Predicate;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    /// A CSV of user_id,arm,assigned_at (a header row names the columns).
    #[serde(default)]
    pub assignments: Option<String>,
    /// The exposure event: its first occurrence per user assigns the user.
    #[serde(default)]
    pub exposure: Option<Predicate>,
    /// The exposure event's property that holds the arm.
    #[serde(default)]
    pub arm_property: Option<String>,
    /// The baseline arm (default: the first of `arms`).
    #[serde(default)]
    pub control: Option<String>,
    #[serde(default)]
    pub arms: Vec<ArmConfig>,
    /// Extra comparisons, `[treatment, baseline]`.
    #[serde(default)]
    pub compare: Vec<[String; 2]>,
    #[serde(default)]
    pub metrics: Vec<MetricConfig>,
    /// Metrics count events within this long after exposure (default 14d).
    #[serde(default)]
    pub window: Option<Duration>,
    /// CUPED's pre-exposure window (default 14d; "0d" turns CUPED off).
    #[serde(default)]
    pub lookback: Option<Duration>,
    #[serde(default)]
    pub engine: Option<Engine>,
    #[serde(default)]
    pub correction: Option<Correction>,
    /// 1 − confidence (default 0.05).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// The sequential engine's N*: total users of two arms where its
    /// interval is tightest (default 5000).
    #[serde(default)]
    pub sequential_tuning: Option<f64>,
    /// A proper normal prior on the relative lift for the Bayesian engine
    /// (sd; mean 0). Unset: flat prior.
    #[serde(default)]
    pub prior_sd: Option<f64>,
    /// Fit a T-learner per conversion goal metric and comparison: who
    /// should get the treatment (default false).
    #[serde(default)]
    pub uplift: Option<bool>,
    /// The share targeted for `uplift_at_k` (default 0.3).
    #[serde(default)]
    pub uplift_k: Option<f64>,
    /// The uplift folds' seed (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Effects per value of this property (the user's first event),
    /// exploratory: not corrected for the number of segments.
    #[serde(default)]
    pub breakdown: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArmConfig {
    pub name: String,
    /// Planned share (any positive scale; default 1).
    #[serde(default)]
    pub weight: Option<f64>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Fixed-horizon Welch t, CUPED when there is pre-exposure history.
    #[default]
    Frequentist,
    /// Always-valid confidence sequences (safe to peek daily).
    Sequential,
    /// Gaussian posterior: chance to win, expected loss, credible interval.
    Bayesian,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// 1 when the user does the event in the window, else 0.
    Conversion,
    /// How many times the user does the event in the window.
    Count,
    /// The sum of a numeric property over those events.
    Sum,
    /// 1 when the user does `event` again late in the window: between
    /// `after` (default 7d) and the window's end. Its CUPED covariate is
    /// "did it in the lookback".
    Retention,
    /// Per arm Σ numerator / Σ denominator over its users (revenue per
    /// order, clicks per page view): the numerator is the sum of
    /// `property` over `event` (its count without `property`), the
    /// denominator the count of `per` (the sum of `per_property`). Delta
    /// method for the variance, CUPED on both parts.
    Ratio,
    /// The funnel level reached: how many of the steps `event`, then
    /// each of `then`, the user did in that order within the window (0
    /// to 1 + the number of `then` steps).
    Funnel,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    /// A name for checks and tables: letters, digits and `_`.
    pub name: String,
    pub kind: MetricKind,
    pub event: Predicate,
    /// For `sum`: the numeric property.
    #[serde(default)]
    pub property: Option<String>,
    /// A guardrail: reported, not part of the corrected family, and a
    /// significant harm fails the verdict.
    #[serde(default)]
    pub guardrail: bool,
    /// Lower is better (support tickets): harm and wins flip.
    #[serde(default)]
    pub inverse: bool,
    /// For `retention`: the late part of the window starts this long after
    /// exposure (default 7d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Duration>,
    /// For `ratio`: the denominator's event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Predicate>,
    /// For `ratio`: sum this numeric property over `per` instead of
    /// counting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_property: Option<String>,
    /// For `funnel`: the steps after `event`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<Predicate>,
}

impl ExperimentSection {
    /// The property columns the experiment reads: the arm property, the
    /// metrics' numeric properties and the predicates' property keys.
    pub fn properties(&self) -> std::collections::BTreeSet<String> {
        let mut out: std::collections::BTreeSet<String> =
            self.arm_property.iter().cloned().collect();
        out.extend(self.breakdown.iter().cloned());
        for m in &self.metrics {
            out.extend(m.property.iter().cloned());
            out.extend(m.per_property.iter().cloned());
            out.extend(predicate_keys(&m.event));
            for p in m.per.iter().chain(&m.then) {
                out.extend(predicate_keys(p));
            }
        }
        if let Some(e) = &self.exposure {
            out.extend(predicate_keys(e));
        }
        out
    }
}

fn predicate_keys(p: &Predicate) -> Vec<String> {
    match p {
        Predicate::Where(m) => m
            .keys()
            .filter(|k| k.as_str() != "event")
            .cloned()
            .collect(),
        Predicate::Event(_) => Vec::new(),
    }
}
