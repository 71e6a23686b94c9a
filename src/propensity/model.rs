//! The logistic model: standardization, fitting (L2, Newton's method in
//! `newton.rs`), prediction, and model.json.
//!
//! The objective is linfa-logistic's, `Σ logloss + α/2·‖w‖²` (a sum over
//! rows, the intercept not penalized). scikit-learn's LogisticRegression
//! minimizes `C·Σ logloss + ½‖w‖²`, the same objective divided by C, so `C = 1/α`.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::config::{Milestone, Rule};
use super::label::LabelDefinition;
use super::metrics::{Metrics, MetricsSd};
use crate::config::{FunnelConfig, StageConfig};
use crate::error::DataError;
use crate::features::FeatureDef;

/// model.json's format; bumped when a field changes meaning.
pub const FORMAT: &str = "journeymap-propensity-model";
pub const FORMAT_VERSION: u32 = 1;

#[inline]
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A fitted linear predictor on standardized features.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub w: Vec<f64>,
    pub b: f64,
}

impl Linear {
    pub fn predict_row(&self, z: &[f64]) -> f64 {
        sigmoid(self.log_odds(z))
    }

    /// b + Σ wⱼzⱼ, summed in feature order; with `contributions` (wⱼzⱼ)
    /// summed in the same order, b + Σ contributions is this number exactly.
    pub fn log_odds(&self, z: &[f64]) -> f64 {
        let s: f64 = self.w.iter().zip(z).map(|(w, x)| w * x).sum();
        self.b + s
    }

    pub fn predict(&self, x: &ArrayView2<f64>) -> Vec<f64> {
        x.rows()
            .into_iter()
            .map(|r| {
                let s: f64 = self.w.iter().zip(r.iter()).map(|(w, x)| w * x).sum();
                sigmoid(self.b + s)
            })
            .collect()
    }

    /// The average of several fits (a starting point for a fit on their union).
    pub fn mean_of(fits: &[&Linear]) -> Linear {
        let n = fits.len().max(1) as f64;
        let d = fits.first().map_or(0, |l| l.w.len());
        Linear {
            w: (0..d)
                .map(|k| fits.iter().map(|l| l.w[k]).sum::<f64>() / n)
                .collect(),
            b: fits.iter().map(|l| l.b).sum::<f64>() / n,
        }
    }
}

/// Fits an L2 logistic regression: minimizes `Σ c_i·logloss_i + α/2·‖w‖²`
/// (intercept not penalized) by Newton's method. `repeat_minority`: the
/// weight c of each row of the rarer class (class weights; the same
/// objective as repeating those rows). `warm`: a fit to start from.
///
/// Why Newton and not linfa-logistic's L-BFGS: with a few dozen standardized
/// features the Hessian is tiny, so each iteration is one pass of dense
/// products over the rows, and 4–8 iterations reach the optimum to ~1e-10
/// where L-BFGS needed ~50 passes for 1e-5; the 30 cross-validation fits
/// of `report` went from 8.2 s to well under a second on 280k users. The
/// objective is linfa's (and scikit-learn's with `C = 1/α`); a test checks
/// the coefficients against linfa-logistic's.
pub fn fit(
    x: ArrayView2<f64>,
    y: &[bool],
    alpha: f64,
    repeat_minority: usize,
    warm: Option<&Linear>,
) -> Result<Linear, DataError> {
    let (yf, c) = targets(y, repeat_minority)?;
    super::newton::solve(x, &yf, &c, alpha, warm).map_err(DataError::Input)
}

/// [`fit`] for each alpha in turn (a regularization path), each fit started
/// from the one before; much faster than separate fits.
pub fn fit_path(
    x: ArrayView2<f64>,
    y: &[bool],
    alphas: &[f64],
    repeat_minority: usize,
) -> Result<Vec<Linear>, DataError> {
    let (yf, c) = targets(y, repeat_minority)?;
    super::newton::solve_path(x, &yf, &c, alphas).map_err(DataError::Input)
}

/// 0/1 targets and row weights; the rarer class (positives on a tie)
/// carries the weight.
fn targets(y: &[bool], repeat_minority: usize) -> Result<(Vec<f64>, Vec<f64>), DataError> {
    let pos = y.iter().filter(|&&b| b).count();
    if pos == 0 || pos == y.len() {
        return Err(DataError::Input(
            "the training rows hold only one class; no model can be fitted".into(),
        ));
    }
    let minority = pos * 2 <= y.len();
    let c = y
        .iter()
        .map(|&v| {
            if v == minority {
                repeat_minority.max(1) as f64
            } else {
                1.0
            }
        })
        .collect();
    let yf = y.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect();
    Ok((yf, c))
}

/// How positives and negatives are weighted in the fit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every user counts once.
    None,
    /// The rarer class is repeated round(majority / minority) times.
    Balanced,
}

impl ClassWeight {
    pub fn name(self) -> &'static str {
        match self {
            ClassWeight::None => "none",
            ClassWeight::Balanced => "balanced",
        }
    }
}

/// One model feature with its scaler and coefficient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelFeature {
    pub name: String,
    pub definition: FeatureDef,
    pub mean: f64,
    pub sd: f64,
    /// Per standard deviation (the model works on standardized features).
    pub coefficient: f64,
    /// The training users' (transformed) values at 0, 1, …, 100 % (nearest
    /// rank): where a scored user stands, for the sentences of explanations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percentiles: Vec<f64>,
}

impl ModelFeature {
    /// The shares of training users below and above `x` (transformed), to
    /// the percent, with a tolerance for the value's round trip through
    /// the scaler; None for a model file without percentiles.
    pub fn position(&self, x: f64) -> Option<(f64, f64)> {
        let p = &self.percentiles;
        let eps = 1e-9 * x.abs().max(1.0);
        (p.len() == 101).then(|| {
            (
                p[1..].iter().filter(|&&v| v < x - eps).count() as f64 / 100.0,
                p[..100].iter().filter(|&&v| v > x + eps).count() as f64 / 100.0,
            )
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RiskBands {
    pub high: f64,
    pub medium: f64,
}

impl RiskBands {
    pub fn band(&self, risk: f64) -> &'static str {
        if risk >= self.high {
            "high"
        } else if risk >= self.medium {
            "medium"
        } else {
            "low"
        }
    }
}

/// What identifies the training data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fingerprint {
    pub files: Vec<FileFingerprint>,
    pub events: u64,
    pub users: u64,
    /// FNV-1a over every (user, event, timestamp), as 16 hex digits.
    pub content_hash: String,
    /// The first and last event's time (ISO 8601 UTC); absent in models
    /// saved before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<[String; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileFingerprint {
    pub path: String,
    pub bytes: u64,
    pub rows_read: u64,
}

/// The headline figures stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelMetrics {
    pub holdout: Metrics,
    pub base_rate_model: Metrics,
    pub cv_mean: Metrics,
    pub cv_sd: MetricsSd,
    pub beats_base_rate: bool,
}

/// model.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelFile {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub label: LabelDefinition,
    pub label_description: String,
    pub features: Vec<ModelFeature>,
    pub intercept: f64,
    /// Users with score ≥ threshold are predicted positive.
    pub threshold: f64,
    pub l2: f64,
    /// scikit-learn's equivalent C (= 1 / l2).
    pub sklearn_c: f64,
    pub class_weight: ClassWeight,
    pub risk_bands: RiskBands,
    pub milestones: Vec<Milestone>,
    pub properties: Vec<String>,
    pub funnel: Option<FunnelConfig>,
    pub stages: Vec<StageConfig>,
    pub interventions: Vec<Rule>,
    pub training_data: Fingerprint,
    /// The purpose it was trained for, with consent (absent: trained on
    /// every labeled user, usable for no purpose-bound pathway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<super::consent::ModelConsent>,
    pub metrics: ModelMetrics,
}

impl ModelFile {
    pub fn linear(&self) -> Linear {
        Linear {
            w: self.features.iter().map(|f| f.coefficient).collect(),
            b: self.intercept,
        }
    }

    /// Parses model.json; an unknown format or version is a data error.
    pub fn from_json(text: &str, what: &str) -> Result<ModelFile, DataError> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| DataError::Input(format!("{what}: not a model file: {e}")))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(DataError::Input(format!(
                "{what}: not a journeymap propensity model (no \"format\": \"{FORMAT}\")"
            )));
        }
        let version = v.get("format_version").and_then(|f| f.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(DataError::Input(format!(
                "{what}: model format version {} is not supported (this journeymap reads version {FORMAT_VERSION}); retrain the model",
                version.map_or("(none)".to_string(), |v| v.to_string())
            )));
        }
        let model: ModelFile = serde_json::from_str(text)
            .map_err(|e| DataError::Input(format!("{what}: malformed model: {e}")))?;
        model
            .check_numbers()
            .map_err(|e| DataError::Input(format!("{what}: malformed model: {e}; retrain it")))?;
        Ok(model)
    }

    /// Every number scoring uses is one that gives a finite score: a
    /// standard deviation of 0 (or a NaN edited in) would score NaN, and
    /// NaN would fall through every band test into "low".
    fn check_numbers(&self) -> Result<(), String> {
        for (i, f) in self.features.iter().enumerate() {
            let at = format!("features[{i}] ({})", f.name);
            if !(f.sd.is_finite() && f.sd > 0.0) {
                return Err(format!("{at}: sd = {} (must be finite and above 0)", f.sd));
            }
            if !f.mean.is_finite() || !f.coefficient.is_finite() {
                return Err(format!(
                    "{at}: mean = {}, coefficient = {} (must be finite)",
                    f.mean, f.coefficient
                ));
            }
        }
        if !self.intercept.is_finite() {
            return Err(format!("intercept = {} (must be finite)", self.intercept));
        }
        let RiskBands { high, medium } = self.risk_bands;
        if !(0.0..=1.0).contains(&medium) || !(medium..=1.0).contains(&high) {
            return Err(format!(
                "risk_bands: medium = {medium}, high = {high} (need 0 <= medium <= high <= 1)"
            ));
        }
        Ok(())
    }
}
