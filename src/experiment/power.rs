//! Power and minimum detectable effect for a relative lift, GrowthBook's
//! formulas (`packages/shared/src/power/power.ts`): equal arms of
//! n/arms users, equal variance, the delta-method SE with μ_B = μ_A(1 + Δ),
//! two-sided power `1 − Φ(z − Δ/SE) + Φ(−z − Δ/SE)`.
//!
//! Sequential power follows GrowthBook too: the confidence sequence's
//! half-width at the planned size, expressed as an inflated standard
//! error `SE·z_seq/z` (a planning approximation of the always-valid
//! test's power at the horizon).

use super::freq::rho;
use crate::stats::{normal_quantile, normal_sf};

/// A metric's baseline for planning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub mean: f64,
    pub var: f64,
}

fn phi_cdf(z: f64) -> f64 {
    1.0 - normal_sf(z)
}

/// SE of the relative lift with `per_arm` users in each arm.
pub fn se(b: Baseline, lift: f64, per_arm: f64) -> f64 {
    let mb = b.mean * (1.0 + lift);
    let m2 = b.mean * b.mean;
    (b.var / (m2 * per_arm) + b.var * mb * mb / (m2 * m2 * per_arm)).sqrt()
}

/// z_seq: the confidence sequence's half-width over the SE at total size n.
fn z_sequential(n: f64, alpha: f64, n_star: f64) -> f64 {
    let r2 = rho(alpha, n_star).powi(2);
    (n * (2.0 * (n * r2 + 1.0) * ((n * r2 + 1.0).sqrt() / alpha).ln()) / (n * n * r2)).sqrt()
}

/// Power to detect a relative `lift` with `n` users over `arms` arms.
/// `sequential`: Some(N*) for the always-valid test.
pub fn power(
    b: Baseline,
    lift: f64,
    n: f64,
    arms: usize,
    alpha: f64,
    sequential: Option<f64>,
) -> f64 {
    let per_arm = n / arms as f64;
    let z = normal_quantile(1.0 - alpha / 2.0);
    let mut s = se(b, lift, per_arm);
    if let Some(n_star) = sequential {
        s *= z_sequential(2.0 * per_arm, alpha, n_star) / z;
    }
    let d = lift / s;
    1.0 - phi_cdf(z - d) + phi_cdf(-z - d)
}

/// The smallest relative lift detected with probability `target` (the
/// positive root of GrowthBook's quadratic); `None` when no lift is
/// detectable with this many users (`per_arm ≤ σ²k²/μ²`).
pub fn mde(
    b: Baseline,
    target: f64,
    n: f64,
    arms: usize,
    alpha: f64,
    sequential: Option<f64>,
) -> Option<f64> {
    if target <= alpha || b.mean == 0.0 {
        return None;
    }
    let per_arm = n / arms as f64;
    let k = normal_quantile(1.0 - alpha / 2.0) - normal_quantile(1.0 - target);
    let mut v = b.var;
    if let Some(n_star) = sequential {
        let z = normal_quantile(1.0 - alpha / 2.0);
        v *= (z_sequential(2.0 * per_arm, alpha, n_star) / z).powi(2);
    }
    let m = b.mean;
    if per_arm <= v * k * k / (m * m) {
        return None;
    }
    let s2 = v / per_arm;
    let a = 1.0 - k * k * s2 / (m * m);
    let bb = -2.0 * m;
    let c = m * m - k * k * s2;
    let disc = bb * bb - 4.0 * a * c;
    let root = (-bb + disc.sqrt()) / (2.0 * a);
    Some((root - m) / m)
}

/// Users (all arms together) needed for `target` power at `lift`: the
/// smallest n, by bisection on the monotone power curve; `None` beyond
/// 10¹² users.
pub fn sample_size(
    b: Baseline,
    lift: f64,
    target: f64,
    arms: usize,
    alpha: f64,
    sequential: Option<f64>,
) -> Option<u64> {
    let ok = |n: f64| power(b, lift, n, arms, alpha, sequential) >= target;
    let mut hi = (arms as f64 * 4.0).max(16.0);
    while !ok(hi) {
        hi *= 2.0;
        if hi > 1e12 {
            return None;
        }
    }
    let mut lo = hi / 2.0;
    while hi - lo > 1.0 {
        let mid = ((lo + hi) / 2.0).floor();
        if ok(mid) { hi = mid } else { lo = mid }
    }
    Some(hi as u64)
}
