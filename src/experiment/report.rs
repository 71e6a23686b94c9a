//! The experiment's report section, as report.json holds it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::adjust::Correction;
use super::assign::Accounting;
use super::bayes::Prior;
use super::config::{Engine, MetricKind};
use super::srm::Srm;
use super::suff::Sums;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uplift: Vec<super::uplift::UpliftReport>,
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ArmSummary {
    pub name: String,
    pub control: bool,
    pub expected_share: f64,
    pub users: u64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MetricResult {
    pub name: String,
    pub kind: MetricKind,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// A ratio's denominator event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_property: Option<String>,
    /// A funnel's steps after `event`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<String>,
    pub guardrail: bool,
    pub inverse: bool,
    pub arms: Vec<ArmMetric>,
    pub comparisons: Vec<Comparison>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ArmMetric {
    pub arm: String,
    pub users: u64,
    pub mean: f64,
    pub sd: f64,
    /// The covariate's mean (the metric over the lookback before exposure).
    pub pre_mean: f64,
    pub sums: Sums,
    /// A ratio's denominator sums and cross products (`sums` is then its
    /// numerator's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<super::ratio::RatioCross>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct BayesFigures {
    pub chance_to_win: f64,
    /// Expected loss of shipping the treatment / of keeping the baseline,
    /// in relative-lift units.
    pub risk_treatment: f64,
    pub risk_baseline: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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
