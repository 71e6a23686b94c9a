//! The logistic model: standardization, fitting with linfa-logistic (L2),
//! prediction, and model.json.
//!
//! linfa-logistic minimizes `Σ logloss + α/2·‖w‖²` (a sum over rows, the
//! intercept not penalized). scikit-learn's LogisticRegression minimizes
//! `C·Σ logloss + ½‖w‖²`, the same objective divided by C, so `C = 1/α`.

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayView2, Axis, ShapeBuilder};
use serde::{Deserialize, Serialize};

use super::config::{Milestone, Rule};
use super::features::FeatureDef;
use super::label::LabelDefinition;
use super::metrics::{Metrics, MetricsSd};
use crate::config::{FunnelConfig, StageConfig};
use crate::error::DataError;

/// model.json's format; bumped when a field changes meaning.
pub const FORMAT: &str = "journeymap-propensity-model";
pub const FORMAT_VERSION: u32 = 1;

/// L-BFGS stops when the gradient's norm, per training row, is below this
/// (scikit-learn's lbfgs uses 1e-4 on the largest component of the mean gradient)...
pub const GRADIENT_TOLERANCE: f64 = 1e-5;
/// ... or after this many iterations.
pub const MAX_ITERATIONS: u64 = 300;

/// Column means and standard deviations (population, as scikit-learn's StandardScaler).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
}

impl Scaler {
    /// Statistics of the rows of `x` selected by `rows`.
    pub fn fit(x: &Array2<f64>, rows: &[usize]) -> Scaler {
        let d = x.ncols();
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        for &r in rows {
            for (m, v) in mean.iter_mut().zip(x.row(r)) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; d];
        for &r in rows {
            for ((s, v), m) in var.iter_mut().zip(x.row(r)).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let sd = var.iter().map(|v| (v / n).sqrt()).collect();
        Scaler { mean, sd }
    }

    /// The standardized copy of the selected rows of `x`, columns `cols`, in
    /// column-major order: linfa-logistic's gradient multiplies by the
    /// transpose, which is then a row-major product (several times faster).
    pub fn transform(&self, x: &Array2<f64>, rows: &[usize], cols: &[usize]) -> Array2<f64> {
        let mut out = Array2::zeros((rows.len(), cols.len()).f());
        for (mut o, &c) in out.axis_iter_mut(Axis(1)).zip(cols) {
            let (mean, sd) = (self.mean[c], self.sd[c]);
            for (v, &r) in o.iter_mut().zip(rows) {
                *v = standardize(x[[r, c]], mean, sd);
            }
        }
        out
    }
}

/// The one formula used in training and in scoring, so both give the same bits.
#[inline]
pub fn standardize(v: f64, mean: f64, sd: f64) -> f64 {
    (v - mean) / sd
}

#[inline]
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A fitted linear predictor on standardized features.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub w: Vec<f64>,
    pub b: f64,
    /// linfa's own parameters (w then intercept, its class orientation), for warm starts.
    raw: Array1<f64>,
}

impl Linear {
    pub fn predict_row(&self, z: &[f64]) -> f64 {
        let s: f64 = self.w.iter().zip(z).map(|(w, x)| w * x).sum();
        sigmoid(self.b + s)
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
}

impl Linear {
    /// The average of several fits (a starting point for a fit on their union).
    pub fn mean_of(fits: &[&Linear]) -> Linear {
        let n = fits.len().max(1) as f64;
        let avg = |f: &dyn Fn(&Linear) -> f64| fits.iter().map(|l| f(l)).sum::<f64>() / n;
        let d = fits.first().map_or(0, |l| l.w.len());
        Linear {
            w: (0..d).map(|k| avg(&|l| l.w[k])).collect(),
            b: avg(&|l| l.b),
            raw: (0..d + 1).map(|k| avg(&|l| l.raw[k])).collect(),
        }
    }
}

/// Fits an L2 logistic regression with linfa-logistic. `repeat_minority`:
/// each row of the rarer class enters this many times (class weights, since
/// linfa-logistic takes no sample weights). `warm`: a previous fit on the
/// same rows to start from.
pub fn fit(
    x: ArrayView2<f64>,
    y: &[bool],
    alpha: f64,
    repeat_minority: usize,
    warm: Option<&Linear>,
) -> Result<Linear, DataError> {
    let pos = y.iter().filter(|&&b| b).count();
    if pos == 0 || pos == y.len() {
        return Err(DataError::Input(
            "the training rows hold only one class; no model can be fitted".into(),
        ));
    }
    // The rarer class (positives on a tie).
    let minority = pos * 2 <= y.len();
    let repeated: Option<(Array2<f64>, Vec<usize>)> = (repeat_minority > 1).then(|| {
        let extra: Vec<usize> = (0..y.len()).filter(|&i| y[i] == minority).collect();
        let mut rows: Vec<usize> = (0..y.len()).collect();
        for _ in 1..repeat_minority {
            rows.extend_from_slice(&extra);
        }
        let xr = Array2::from_shape_fn((rows.len(), x.ncols()).f(), |(i, j)| x[[rows[i], j]]);
        (xr, rows)
    });
    let (xs, ys): (ArrayView2<f64>, Array1<bool>) = match &repeated {
        Some((xr, rows)) => (xr.view(), rows.iter().map(|&i| y[i]).collect()),
        None => (x.view(), y.iter().copied().collect()),
    };
    let n = ys.len() as f64;
    let mut params = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(MAX_ITERATIONS)
        // The gradient is a sum over rows: the tolerance is per row.
        .gradient_tolerance(GRADIENT_TOLERANCE * n);
    if let Some(w) = warm {
        params = params.initial_params(w.raw.clone());
    }
    let data = DatasetBase::new(xs, ys);
    let m = params
        .fit(&data)
        .map_err(|e| DataError::Input(format!("logistic regression failed: {e}")))?;
    let mut raw = m.params().to_vec();
    raw.push(m.intercept());
    // linfa's probability is of its "positive" class, the more frequent one.
    let sign = if m.labels().pos.class { 1.0 } else { -1.0 };
    Ok(Linear {
        w: m.params().iter().map(|w| sign * w).collect(),
        b: sign * m.intercept(),
        raw: Array1::from(raw),
    })
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
    pub metrics: ModelMetrics,
}

impl ModelFile {
    pub fn linear(&self) -> Linear {
        Linear {
            w: self.features.iter().map(|f| f.coefficient).collect(),
            b: self.intercept,
            raw: Array1::zeros(0),
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
        serde_json::from_str(text)
            .map_err(|e| DataError::Input(format!("{what}: malformed model: {e}")))
    }
}
