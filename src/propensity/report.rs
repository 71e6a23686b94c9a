//! The propensity section of report.json: plain data, serialized as it is;
//! renderers only format it.

use serde::{Deserialize, Serialize};

use super::explain::{EventCorrelation, FeatureExplanation};
use super::label::LabelDefinition;
use super::metrics::{CalibrationBin, LiftDecile, Metrics, MetricsSd};
use super::model::{ClassWeight, Fingerprint};

// ---------------------------------------------------------------------------
// The report.

/// Who was in the model and who was left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Population {
    pub users: u64,
    /// Users with a known label (the model's rows).
    pub labeled: u64,
    pub positives: u64,
    pub base_rate: f64,
    /// The target happened before the cutoff.
    pub converted_before_cutoff: u64,
    /// The milestone never happened.
    pub no_cutoff: u64,
    /// The label window runs past the end of the data.
    pub censored: u64,
    pub train: u64,
    pub holdout: u64,
    /// Labeled users left out without consent for `[propensity] purpose`
    /// (absent when no purpose is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_consent: Option<u64>,
    /// `[propensity] purpose`: the model is usable for this purpose alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GridPoint {
    pub l2: f64,
    pub sklearn_c: f64,
    pub cv_log_loss: f64,
    pub cv_auc: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Regularization {
    pub l2: f64,
    pub sklearn_c: f64,
    /// "5-fold CV" or "--l2".
    pub chosen_by: String,
    pub grid: Vec<GridPoint>,
    pub class_weight: ClassWeight,
    /// Times each row of the rarer class entered the fit.
    pub minority_repeat: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThresholdChoice {
    pub value: f64,
    /// "best F1 on out-of-fold predictions" or "--threshold".
    pub chosen_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CvReport {
    pub folds: Vec<Metrics>,
    pub mean: Metrics,
    pub sd: MetricsSd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Count {
    pub name: String,
    pub users: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageRisk {
    pub stage: String,
    pub users: u64,
    pub mean_risk: Option<f64>,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageAction {
    pub stage: String,
    pub action: String,
    pub users: u64,
}

/// One row of the decision table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleRow {
    pub rule: u64,
    pub conditions: String,
    pub action: String,
    /// Users this rule was the first match for.
    pub users: u64,
}

/// Counts over a set of scores: bands, stages, actions and the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreSummary {
    pub users: u64,
    pub scored: u64,
    pub converted_before_cutoff: u64,
    pub no_cutoff: u64,
    pub bands: Vec<Count>,
    pub risk_by_stage: Vec<StageRisk>,
    pub actions: Vec<Count>,
    pub actions_by_stage: Vec<StageAction>,
    pub rules: Vec<RuleRow>,
    /// Scored users per score decile bin [0, 0.1), …, [0.9, 1].
    pub score_histogram: Vec<Count>,
    /// Scored users per bin of width 1/[`FINE_BINS`] (non-empty bins only):
    /// what `journeymap diff` places the reference's quantile bins on for
    /// the PSI.
    #[serde(default)]
    pub score_bins_fine: Vec<FineBin>,
}

/// Bins of [0, 1] in [`ScoreSummary::score_bins_fine`].
pub const FINE_BINS: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FineBin {
    /// Scores in [bin / 1000, (bin + 1) / 1000); the last bin holds 1.0.
    pub bin: u32,
    pub users: u64,
}

/// What "risk" means and how it is banded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RiskDefinition {
    /// The bad outcome whose probability the risk is, in words.
    pub definition: String,
    /// Risk at or above this is `high`.
    pub high: f64,
    /// Risk at or above this (and below `high`) is `medium`; below, `low`.
    pub medium: f64,
}

/// The propensity section of report.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PropensityReport {
    /// "conversion" or "churn".
    pub kind: String,
    pub label: String,
    pub label_definition: LabelDefinition,
    pub population: Population,
    pub features: Vec<FeatureExplanation>,
    /// Candidate features left out because they do not vary in the training rows.
    pub constant_features: Vec<String>,
    /// Candidates left out for correlating above 0.95 with a kept feature.
    pub redundant_features: Vec<Redundant>,
    pub regularization: Regularization,
    pub threshold: ThresholdChoice,
    pub cv: CvReport,
    pub holdout: Metrics,
    /// The hold-out AUC's 95% confidence interval (DeLong); `null` with
    /// fewer than 2 users of a class in the hold-out.
    pub holdout_auc_ci: Option<[f64; 2]>,
    pub base_rate_model: Metrics,
    /// The model has signal: the AUC interval lies above 0.5, and log loss
    /// and Brier score are below the base-rate model's.
    pub beats_base_rate: bool,
    pub verdict: String,
    /// What the risk in scores.csv is, and the band thresholds.
    pub risk: RiskDefinition,
    pub calibration: Vec<CalibrationBin>,
    pub lift: Vec<LiftDecile>,
    /// PostHog-style odds ratio of each event (before the cutoff) with the positive label.
    pub correlations: Vec<EventCorrelation>,
    /// One class outnumbers the other more than 10 to 1 (PostHog's "skewed").
    pub correlations_skewed: bool,
    pub scoring: ScoreSummary,
    pub training_data: Fingerprint,
    /// Each model feature's values over the labeled users (and the hold-out
    /// scores), compact, for `diff`'s drift tests between two reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_summaries: Vec<crate::drift::summary::ValueSummary>,
}

/// A candidate left out for near-duplicating a kept feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Redundant {
    pub name: String,
    /// The kept feature it duplicates.
    pub kept: String,
    pub correlation: f64,
}
