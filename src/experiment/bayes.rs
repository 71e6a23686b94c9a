//! The Gaussian Bayesian engine (gbstats `EffectBayesianABTest`, PostHog's
//! copy): the lift's likelihood is N(Δ̂, SE²) from the same delta method
//! as the frequentist engine; the prior is flat unless a proper one is
//! given (relative lift, GrowthBook's UI default sd 0.3).

use serde::Serialize;

use crate::stats::{normal_quantile, normal_sf};

/// A proper normal prior on the lift.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Prior {
    pub mean: f64,
    pub sd: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posterior {
    pub mean: f64,
    pub sd: f64,
    /// P(lift > 0).
    pub chance_to_win: f64,
    /// Equal-tailed credible interval at 1 − α.
    pub low: f64,
    pub high: f64,
    /// Expected loss of shipping the treatment, E[max(−lift, 0)], and of
    /// keeping the baseline, E[max(lift, 0)] (gbstats' `risk`).
    pub risk_treatment: f64,
    pub risk_baseline: f64,
}

fn phi(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The posterior of the lift given the data estimate `effect ± se`.
pub fn posterior(effect: f64, se: f64, prior: Option<Prior>, alpha: f64) -> Posterior {
    let (mean, sd) = match prior {
        Some(p) if p.sd > 0.0 => {
            let prec = 1.0 / (se * se) + 1.0 / (p.sd * p.sd);
            let m = (effect / (se * se) + p.mean / (p.sd * p.sd)) / prec;
            (m, (1.0 / prec).sqrt())
        }
        _ => (effect, se),
    };
    let z = mean / sd;
    let q = normal_quantile(1.0 - alpha / 2.0);
    // E[max(X, 0)] = μΦ(μ/σ) + σφ(μ/σ) in closed form: gbstats' truncated
    // means times their probabilities, without its |μ/σ| > 37 special case.
    let up = 1.0 - normal_sf(z);
    let risk_baseline = mean * up + sd * phi(z);
    let risk_treatment = -mean * normal_sf(z) + sd * phi(z);
    Posterior {
        mean,
        sd,
        chance_to_win: normal_sf(-z),
        low: mean - q * sd,
        high: mean + q * sd,
        risk_treatment: risk_treatment.max(0.0),
        risk_baseline: risk_baseline.max(0.0),
    }
}
