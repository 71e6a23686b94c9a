//! Ratio metrics (revenue per order, clicks per page view): per arm the
//! ratio of two sums, Σm/Σd over the arm's users, whose variance comes
//! from the delta method on the four means (m, d after exposure and m, d
//! before it, for CUPED). The statistics and formulas are gbstats'
//! `RatioStatistic` and `RegressionAdjustedRatioStatistic`
//! (`gbstats/models/statistics.py`) and
//! `frequentist_variance_relative_cuped_ratio` (`frequentist/tests.py`
//! and `utils.py`); the published fixtures are in `super::tests`.

use serde::Serialize;

use super::freq::{Contrast, NoEstimate, Scale, welch_df};
use super::suff::{Arm, Sums};

/// The denominator's sums (y = after exposure, x = before) and the four
/// products of numerator and denominator the delta method needs; the
/// numerator's own sums are the metric's [`Sums`]. Mergeable by addition.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct RatioCross {
    pub den: Sums,
    /// Σ m·d after exposure.
    pub md: f64,
    /// Σ m·d before exposure.
    pub md_pre: f64,
    /// Σ m(after)·d(before).
    pub m_d_pre: f64,
    /// Σ m(before)·d(after).
    pub m_pre_d: f64,
}

impl RatioCross {
    /// One user's denominator (`d` after, `d_pre` before) given the
    /// numerator `m`, `m_pre` (added to the metric's [`Sums`] by the caller).
    pub fn add(&mut self, m: f64, m_pre: f64, d: f64, d_pre: f64) {
        self.den.add(d, d_pre);
        self.md += m * d;
        self.md_pre += m_pre * d_pre;
        self.m_d_pre += m * d_pre;
        self.m_pre_d += m_pre * d;
    }

    pub fn merge(&mut self, o: &RatioCross) {
        self.den.merge(&o.den);
        self.md += o.md;
        self.md_pre += o.md_pre;
        self.m_d_pre += o.m_d_pre;
        self.m_pre_d += o.m_pre_d;
    }
}

/// One arm's ratio: the means β = (m, d, m_pre, d_pre) per user and their
/// sample covariance Λ (n − 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioArm {
    pub n: f64,
    beta: [f64; 4],
    lambda: [[f64; 4]; 4],
    /// Σm/Σd after exposure (0 when Σd = 0).
    pub mean_post: f64,
    /// Σm/Σd before exposure (0 when Σd = 0).
    pub mean_pre: f64,
}

fn cov(n: f64, sa: f64, sb: f64, sab: f64) -> f64 {
    if n <= 1.0 {
        return 0.0;
    }
    (sab - sa * sb / n) / (n - 1.0)
}

fn quad(v: &[f64; 4], m: &[[f64; 4]; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        for j in 0..4 {
            s += v[i] * m[i][j] * v[j];
        }
    }
    s
}

fn div0(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

impl RatioArm {
    pub fn new(num: &Sums, r: &RatioCross) -> RatioArm {
        let n = num.n as f64;
        let d = &r.den;
        let mean = |s: f64| div0(s, n);
        let c = |a: f64, b: f64, ab: f64| cov(n, a, b, ab);
        let (vm, vd) = (c(num.y, num.y, num.yy), c(d.y, d.y, d.yy));
        let (vmp, vdp) = (c(num.x, num.x, num.xx), c(d.x, d.x, d.xx));
        let m_d = c(num.y, d.y, r.md);
        let m_mp = c(num.y, num.x, num.xy);
        let m_dp = c(num.y, d.x, r.m_d_pre);
        let d_mp = c(d.y, num.x, r.m_pre_d);
        let d_dp = c(d.y, d.x, d.xy);
        let mp_dp = c(num.x, d.x, r.md_pre);
        RatioArm {
            n,
            beta: [mean(num.y), mean(d.y), mean(num.x), mean(d.x)],
            lambda: [
                [vm, m_d, m_mp, m_dp],
                [m_d, vd, d_mp, d_dp],
                [m_mp, d_mp, vmp, mp_dp],
                [m_dp, d_dp, mp_dp, vdp],
            ],
            mean_post: div0(num.y, d.y),
            mean_pre: div0(num.x, d.x),
        }
    }

    /// ∂(m/d − θ·m_pre/d_pre)/∂β; the pre part is 0 without a pre-period
    /// denominator (no history), the whole gradient 0 without a denominator.
    fn nabla(&self, theta: f64) -> [f64; 4] {
        let [m, d, mp, dp] = self.beta;
        if d == 0.0 {
            return [0.0; 4];
        }
        let (g2, g3) = if dp == 0.0 {
            (0.0, 0.0)
        } else {
            (-theta / dp, theta * mp / (dp * dp))
        };
        [1.0 / d, -m / (d * d), g2, g3]
    }

    /// The adjusted ratio m/d − θ·m_pre/d_pre.
    pub fn mean(&self, theta: f64) -> f64 {
        self.mean_post - theta * self.mean_pre
    }

    /// The per-user variance of the adjusted ratio (its estimator's
    /// variance times n).
    pub fn var(&self, theta: f64) -> f64 {
        quad(&self.nabla(theta), &self.lambda).max(0.0)
    }

    /// The arm as the mean engines see it: for the absolute lift and the
    /// Welch degrees of freedom.
    pub fn arm(&self, theta: f64) -> Arm {
        Arm {
            n: self.n,
            mean: self.mean(theta),
            var: self.var(theta),
            raw_mean: self.mean_post,
        }
    }

    /// Var of the pre part and its covariance with the post part at θ = 1.
    fn pre_terms(&self) -> (f64, f64) {
        let g = self.nabla(1.0);
        let (mut var_pre, mut cov) = (0.0, 0.0);
        for i in 2..4 {
            for j in 2..4 {
                var_pre += g[i] * self.lambda[i][j] * g[j];
            }
            for j in 0..2 {
                cov += g[i] * self.lambda[i][j] * g[j];
            }
        }
        (var_pre, cov)
    }
}

/// CUPED's θ for a ratio, pooled over both arms (gbstats
/// `compute_theta_regression_adjusted_ratio`): 0 when the pre-period
/// ratio does not vary, or |θ| < 1e-8 (gbstats then reverts to the plain
/// ratio).
pub fn theta(a: &RatioArm, b: &RatioArm) -> f64 {
    let ((va, ca), (vb, cb)) = (a.pre_terms(), b.pre_terms());
    if va + vb == 0.0 {
        return 0.0;
    }
    let t = -(ca + cb) / (va + vb);
    if t.abs() < 1e-8 || !t.is_finite() {
        0.0
    } else {
        t
    }
}

/// Treatment `b` against baseline `a` at θ (0: the plain ratio).
pub fn contrast(
    a: &RatioArm,
    b: &RatioArm,
    theta: f64,
    scale: Scale,
) -> Result<Contrast, NoEstimate> {
    if a.n < 2.0 || b.n < 2.0 {
        return Err(NoEstimate::TooFewUsers);
    }
    if a.beta[1] == 0.0 || b.beta[1] == 0.0 {
        return Err(NoEstimate::ZeroDenominator);
    }
    let (arm_a, arm_b) = (a.arm(theta), b.arm(theta));
    if arm_a.var <= 0.0 && arm_b.var <= 0.0 {
        return Err(NoEstimate::ZeroVariance);
    }
    if scale == Scale::Absolute {
        return super::freq::contrast(&arm_a, &arm_b, scale);
    }
    let g = a.mean_post.abs();
    if g == 0.0 {
        return Err(NoEstimate::ZeroBaseline);
    }
    // The gradient of (b − a)/|a_post| with respect to the control's four
    // means and the treatment's (gbstats
    // `frequentist_variance_relative_cuped_ratio`; at θ = 0 it is the
    // plain ratio's delta method).
    let g_abs = arm_b.mean - arm_a.mean;
    let [m, d, _, _] = a.beta;
    let na = a.nabla(theta);
    let ctrl = [
        -(g + g_abs) / d / (g * g),
        (m * g / (d * d) + m * g_abs / (d * d)) / (g * g),
        -na[2] / g,
        -na[3] / g,
    ];
    let nb = b.nabla(theta).map(|x| x / g);
    let var = quad(&ctrl, &a.lambda) / a.n + quad(&nb, &b.lambda) / b.n;
    Ok(Contrast {
        effect: g_abs / g,
        var,
        df: welch_df(&arm_a, &arm_b),
        n: a.n + b.n,
    })
}

/// The share of the difference's variance CUPED removes at θ.
pub fn variance_reduction(a: &RatioArm, b: &RatioArm, theta: f64) -> Option<f64> {
    let v = |t: f64| a.var(t) / a.n.max(1.0) + b.var(t) / b.n.max(1.0);
    let before = v(0.0);
    (before > 0.0).then(|| 1.0 - v(theta) / before)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per user (m, m_pre, d, d_pre) rows folded into sums.
    fn arm(rows: &[(f64, f64, f64, f64)]) -> RatioArm {
        let (mut s, mut r) = (Sums::default(), RatioCross::default());
        for &(m, mp, d, dp) in rows {
            s.add(m, mp);
            r.add(m, mp, d, dp);
        }
        RatioArm::new(&s, &r)
    }

    #[test]
    fn a_constant_denominator_is_a_mean() {
        // d = 1 for everyone: the ratio is the mean of m and its variance
        // the sample variance of m.
        let a = arm(&[
            (1.0, 0.0, 1.0, 1.0),
            (3.0, 0.0, 1.0, 1.0),
            (5.0, 0.0, 1.0, 1.0),
        ]);
        assert!((a.mean(0.0) - 3.0).abs() < 1e-12);
        assert!((a.var(0.0) - 4.0).abs() < 1e-12);
    }

    #[test]
    fn merging_shards_equals_one_pass() {
        let rows = [
            (2.0, 1.0, 1.0, 1.0),
            (0.0, 3.0, 2.0, 2.0),
            (5.0, 2.0, 3.0, 1.0),
            (1.0, 0.0, 1.0, 0.0),
        ];
        let (mut s, mut r) = (Sums::default(), RatioCross::default());
        let (mut s2, mut r2) = (Sums::default(), RatioCross::default());
        for (i, &(m, mp, d, dp)) in rows.iter().enumerate() {
            if i < 2 {
                s.add(m, mp);
                r.add(m, mp, d, dp);
            } else {
                s2.add(m, mp);
                r2.add(m, mp, d, dp);
            }
        }
        s.merge(&s2);
        r.merge(&r2);
        let (x, y) = (RatioArm::new(&s, &r), arm(&rows));
        assert!((x.var(0.5) - y.var(0.5)).abs() < 1e-12);
        assert!((x.mean(0.5) - y.mean(0.5)).abs() < 1e-12);
    }

    #[test]
    fn no_denominator_is_no_estimate() {
        let a = arm(&[(1.0, 0.0, 0.0, 0.0), (2.0, 0.0, 0.0, 0.0)]);
        let b = arm(&[(1.0, 0.0, 1.0, 0.0), (2.0, 0.0, 2.0, 0.0)]);
        assert_eq!(
            contrast(&a, &b, 0.0, Scale::Relative),
            Err(NoEstimate::ZeroDenominator)
        );
        assert_eq!(theta(&a, &b), 0.0);
    }
}
