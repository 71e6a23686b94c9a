//! Frequentist engines on two arms' sufficient statistics: Welch's t with
//! the delta method for a relative lift (gbstats `TwoSidedTTest`) and the
//! asymptotic always-valid confidence sequence of Waudby-Smith et al.
//! (arXiv 2103.06476, eq. 9; gbstats `SequentialTwoSidedTTest`).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::suff::Arm;
use crate::stats::{normal_quantile, normal_sf};

/// Absolute lift (μ_B − μ_A) or relative lift ((μ_B − μ_A)/|μ_A|).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Absolute,
    Relative,
}

/// An effect with its standard error, interval and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub effect: f64,
    pub se: f64,
    pub low: f64,
    pub high: f64,
    pub p: f64,
}

/// Why an engine gave no estimate (gbstats' "default output" cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoEstimate {
    #[error("an arm has fewer than 2 users")]
    TooFewUsers,
    #[error("the metric has zero variance in both arms")]
    ZeroVariance,
    #[error("the baseline mean is 0, so a relative lift is undefined")]
    ZeroBaseline,
    #[error("the ratio's denominator is 0 in an arm")]
    ZeroDenominator,
}

/// The effect and its variance (delta method for the ratio, the
/// covariance of the two means being 0 across independent arms):
/// relative `Var = σ_B²/(μ_A² n_B) + σ_A² μ_B²/(μ_A⁴ n_A)`, with the
/// unadjusted means in the variance (gbstats; for CUPED the adjusted
/// means enter the numerator and the adjusted variances σ²).
pub fn effect_and_variance(a: &Arm, b: &Arm, scale: Scale) -> Result<(f64, f64), NoEstimate> {
    if a.n < 2.0 || b.n < 2.0 {
        return Err(NoEstimate::TooFewUsers);
    }
    if a.var <= 0.0 && b.var <= 0.0 {
        return Err(NoEstimate::ZeroVariance);
    }
    let (va, vb) = (a.var / a.n, b.var / b.n);
    match scale {
        Scale::Absolute => Ok((b.mean - a.mean, va + vb)),
        Scale::Relative => {
            let m = a.raw_mean;
            if m == 0.0 {
                return Err(NoEstimate::ZeroBaseline);
            }
            // gbstats' control term uses the unadjusted treatment mean.
            let top = b.mean - a.mean;
            let mb = b.raw_mean;
            let var = vb / (m * m) + va * mb * mb / (m * m * m * m);
            Ok((top / m.abs(), var))
        }
    }
}

/// Welch–Satterthwaite degrees of freedom.
pub fn welch_df(a: &Arm, b: &Arm) -> f64 {
    let (va, vb) = (a.var / a.n, b.var / b.n);
    let num = (va + vb) * (va + vb);
    let den = va * va / (a.n - 1.0) + vb * vb / (b.n - 1.0);
    if den <= 0.0 { f64::INFINITY } else { num / den }
}

fn t_sf(t: f64, df: f64) -> f64 {
    if !df.is_finite() || df > 1e7 {
        return normal_sf(t);
    }
    StudentsT::new(0.0, 1.0, df).map_or_else(|_| normal_sf(t), |d| d.sf(t))
}

fn t_quantile(p: f64, df: f64) -> f64 {
    if !df.is_finite() || df > 1e7 {
        return normal_quantile(p);
    }
    StudentsT::new(0.0, 1.0, df).map_or_else(|_| normal_quantile(p), |d| d.inverse_cdf(p))
}

/// What every engine reads of a comparison: the effect, its variance,
/// the Welch degrees of freedom and the users of both arms. Mean and
/// ratio metrics (with or without CUPED) differ only in how they make
/// one ([`contrast`], [`super::ratio::contrast`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contrast {
    pub effect: f64,
    pub var: f64,
    pub df: f64,
    pub n: f64,
}

/// The contrast of two mean (or proportion) arms.
pub fn contrast(a: &Arm, b: &Arm, scale: Scale) -> Result<Contrast, NoEstimate> {
    let (effect, var) = effect_and_variance(a, b, scale)?;
    Ok(Contrast {
        effect,
        var,
        df: welch_df(a, b),
        n: a.n + b.n,
    })
}

/// Fixed-horizon two-sided Welch t test at level `alpha`.
pub fn welch(a: &Arm, b: &Arm, scale: Scale, alpha: f64) -> Result<Estimate, NoEstimate> {
    Ok(welch_of(&contrast(a, b, scale)?, alpha))
}

/// [`welch`] on a prepared contrast.
pub fn welch_of(c: &Contrast, alpha: f64) -> Estimate {
    let se = c.var.sqrt();
    let p = (2.0 * t_sf((c.effect / se).abs(), c.df)).min(1.0);
    let half = t_quantile(1.0 - alpha / 2.0, c.df) * se;
    Estimate {
        effect: c.effect,
        se,
        low: c.effect - half,
        high: c.effect + half,
        p,
    }
}

/// ρ of the normal-mixture confidence sequence, tuned so that the
/// sequence is tightest when the two arms together hold `n_star` users
/// (gbstats default 5000).
pub fn rho(alpha: f64, n_star: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    ((l + (l + 1.0).ln()) / n_star).sqrt()
}

/// Half-width of the confidence sequence at total size `n` for an
/// estimate whose variance is `s2 / n`.
pub fn sequential_halfwidth(s2: f64, n: f64, rho: f64, alpha: f64) -> f64 {
    let r2 = rho * rho;
    s2.sqrt()
        * ((2.0 * (n * r2 + 1.0) / (n * n * r2)) * ((n * r2 + 1.0).sqrt() / alpha).ln()).sqrt()
}

/// The always-valid test: the interval holds at every look with
/// probability 1 − α, so peeking daily is safe; p-value = min(1, 1/E)
/// with E the mixture likelihood ratio (eq. 155 of the paper).
pub fn sequential(
    a: &Arm,
    b: &Arm,
    scale: Scale,
    alpha: f64,
    n_star: f64,
) -> Result<Estimate, NoEstimate> {
    sequential_at(a, b, scale, alpha, alpha, n_star)
}

/// [`sequential`] with ρ tuned at `alpha` and the interval drawn at
/// `level` (a corrected level, [`super::adjust::adjust_with_factors`]): the
/// p-value stays the one of the ρ-tuned e-value, so the interval excludes
/// 0 exactly when p < level.
pub fn sequential_at(
    a: &Arm,
    b: &Arm,
    scale: Scale,
    alpha: f64,
    level: f64,
    n_star: f64,
) -> Result<Estimate, NoEstimate> {
    Ok(sequential_of(&contrast(a, b, scale)?, alpha, level, n_star))
}

/// [`sequential_at`] on a prepared contrast.
pub fn sequential_of(c: &Contrast, alpha: f64, level: f64, n_star: f64) -> Estimate {
    let (effect, var, n) = (c.effect, c.var, c.n);
    let s2 = var * n;
    let r = rho(alpha, n_star);
    let half = sequential_halfwidth(s2, n, r, level);
    // S = (Δ̂ − 0)² n / SE², the squared sum statistic over σ².
    let stat = effect * effect / var * n;
    let tr = n * r * r + 1.0;
    let log_e = r * r * stat / (2.0 * tr) - 0.5 * tr.ln();
    let p = (-log_e).exp().min(1.0);
    Estimate {
        effect,
        se: var.sqrt(),
        low: effect - half,
        high: effect + half,
        p,
    }
}
