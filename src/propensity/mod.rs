//! Propensity and churn models: labels at a per-user cutoff, features from
//! the events before it, an L2 logistic regression (Newton's method in
//! `newton.rs`, linfa-logistic's objective) chosen by 5-fold cross-validation,
//! an honest hold-out evaluation, explanations, scoring and intervention
//! rules. Definitions: docs/propensity.md.
//!
//! The shape follows linfa: options are checked once, [`train`] turns data
//! into a fitted [`ModelFile`] (plus the report and every user's score),
//! [`score`] applies a saved model to new data. Nothing here prints.

pub mod analysis;
pub mod card;
pub mod config;
pub mod consent;
pub mod explain;
mod fingerprint;
pub mod interventions;
pub mod label;
pub mod metrics;
pub mod model;
mod newton;
mod options;
pub mod output;
pub mod report;
mod score;
mod split;
#[cfg(test)]
mod tests;
mod train;

use crate::duration::{Duration, Horizon};

/// Folds for cross-validation.
pub const FOLDS: usize = 5;
/// The L2 strengths tried when `--l2` is not given (linfa's alpha; sklearn C = 1/alpha).
pub const L2_GRID: [f64; 6] = [1000.0, 100.0, 10.0, 1.0, 0.1, 0.01];
pub const DEFAULT_OBSERVE: Duration = Duration::from_ms(3 * 86_400_000);
pub const DEFAULT_HORIZON: Horizon = Horizon::Within(Duration::from_ms(14 * 86_400_000));
pub const DEFAULT_INACTIVE: Duration = Duration::from_ms(30 * 86_400_000);
pub const DEFAULT_HIGH_RISK: f64 = 0.7;
pub const DEFAULT_MEDIUM_RISK: f64 = 0.4;
pub const DEFAULT_MAX_EVENT_FEATURES: usize = 50;
/// An event (or property value) needs this many labeled users to become a feature.
pub const MIN_FEATURE_USERS: u64 = 5;

pub use fingerprint::fingerprint;
pub use model::ModelFile;
pub use options::{MIN_L2, TrainOptions};
pub use report::*;
pub use score::{
    Explained, ModelInputs, NO_ACTION, ScoreRow, Scores, check_model_matches, inputs, score,
    score_with,
};
pub use train::{FeatureMatrix, Trained, train};
