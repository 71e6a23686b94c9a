//! Per-arm sufficient statistics: every engine reads only these, so results
//! are exact, independent of row order, and shards merge by addition
//! (gbstats' `SampleMeanStatistic`, `ProportionStatistic` and
//! `RegressionAdjustedStatistic`, in one struct).

use serde::Serialize;

use super::ratio::{RatioArm, RatioCross};

/// n, Σy, Σy² of the metric and Σx, Σx², Σxy of its pre-exposure
/// covariate (CUPED), over one arm's users.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Sums {
    pub n: u64,
    pub y: f64,
    pub yy: f64,
    pub x: f64,
    pub xx: f64,
    pub xy: f64,
}

impl Sums {
    /// One user: outcome `y`, covariate `x` (0 when there is no history).
    pub fn add(&mut self, y: f64, x: f64) {
        self.n += 1;
        self.y += y;
        self.yy += y * y;
        self.x += x;
        self.xx += x * x;
        self.xy += x * y;
    }

    pub fn merge(&mut self, o: &Sums) {
        self.n += o.n;
        self.y += o.y;
        self.yy += o.yy;
        self.x += o.x;
        self.xx += o.xx;
        self.xy += o.xy;
    }

    pub fn from_moments(n: u64, sum: f64, sum_sq: f64) -> Sums {
        Sums {
            n,
            y: sum,
            yy: sum_sq,
            ..Sums::default()
        }
    }

    fn nf(&self) -> f64 {
        self.n as f64
    }

    pub fn mean_y(&self) -> f64 {
        if self.n == 0 { 0.0 } else { self.y / self.nf() }
    }
    pub fn mean_x(&self) -> f64 {
        if self.n == 0 { 0.0 } else { self.x / self.nf() }
    }

    /// The metric's variance: p(1 − p) for a 0/1 metric (gbstats'
    /// proportion, no n − 1), the sample variance otherwise.
    pub fn var_y(&self, binary: bool) -> f64 {
        if binary {
            let p = self.mean_y();
            return p * (1.0 - p);
        }
        sample_var(self.n, self.y, self.yy)
    }
    pub fn var_x(&self, binary: bool) -> f64 {
        if binary {
            let p = self.mean_x();
            return p * (1.0 - p);
        }
        sample_var(self.n, self.x, self.xx)
    }
    pub fn cov_xy(&self) -> f64 {
        if self.n <= 1 {
            return 0.0;
        }
        (self.xy - self.x * self.y / self.nf()) / (self.nf() - 1.0)
    }
}

fn sample_var(n: u64, s: f64, ss: f64) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let n = n as f64;
    ((ss - s * s / n) / (n - 1.0)).max(0.0)
}

/// One arm's statistics of one metric: the metric's [`Sums`] (a ratio's
/// numerator) and, for a ratio, its denominator and cross products.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stat {
    pub sums: Sums,
    pub ratio: Option<RatioCross>,
}

impl Stat {
    pub fn new(ratio: bool) -> Stat {
        Stat {
            sums: Sums::default(),
            ratio: ratio.then(RatioCross::default),
        }
    }

    pub fn merge(&mut self, o: &Stat) {
        self.sums.merge(&o.sums);
        if let (Some(a), Some(b)) = (self.ratio.as_mut(), &o.ratio) {
            a.merge(b);
        }
    }

    pub fn n(&self) -> u64 {
        self.sums.n
    }

    fn ratio_arm(&self) -> Option<RatioArm> {
        self.ratio.as_ref().map(|r| RatioArm::new(&self.sums, r))
    }

    /// The arm's figure: the mean per user, or Σm/Σd for a ratio.
    pub fn mean(&self) -> f64 {
        self.ratio_arm()
            .map_or_else(|| self.sums.mean_y(), |r| r.mean_post)
    }

    /// The same over the lookback before exposure.
    pub fn pre_mean(&self) -> f64 {
        self.ratio_arm()
            .map_or_else(|| self.sums.mean_x(), |r| r.mean_pre)
    }

    /// The per-user variance (a ratio's by the delta method).
    pub fn var(&self, binary: bool) -> f64 {
        self.ratio_arm()
            .map_or_else(|| self.sums.var_y(binary), |r| r.var(0.0))
    }
}

/// What an engine needs of one arm: size, mean and variance of the
/// (possibly CUPED-adjusted) metric, and the unadjusted mean, which stays
/// the denominator of a relative lift (gbstats).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arm {
    pub n: f64,
    pub mean: f64,
    pub var: f64,
    pub raw_mean: f64,
}

impl Arm {
    pub fn plain(s: &Sums, binary: bool) -> Arm {
        Arm {
            n: s.n as f64,
            mean: s.mean_y(),
            var: s.var_y(binary),
            raw_mean: s.mean_y(),
        }
    }

    /// The arm adjusted by θ: mean ȳ − θx̄, variance
    /// Var(y) + θ²Var(x) − 2θCov(x, y).
    pub fn adjusted(s: &Sums, theta: f64, binary: bool) -> Arm {
        Arm {
            n: s.n as f64,
            mean: s.mean_y() - theta * s.mean_x(),
            var: (s.var_y(binary) + theta * theta * s.var_x(binary) - 2.0 * theta * s.cov_xy())
                .max(0.0),
            raw_mean: s.mean_y(),
        }
    }
}

/// CUPED's θ: Cov(y, x) / Var(x) pooled over both arms (gbstats
/// `compute_theta`); 0 when either pooled variance is 0.
pub fn theta(a: &Sums, b: &Sums, binary: bool) -> f64 {
    let mut j = *a;
    j.merge(b);
    let (vx, vy) = (j.var_x(binary), j.var_y(binary));
    if vx <= 0.0 || vy <= 0.0 {
        return 0.0;
    }
    j.cov_xy() / vx
}

/// The share of the metric's variance CUPED removes for this pair:
/// 1 − Var(adjusted)/Var(raw) of the difference in means.
pub fn variance_reduction(a: &Sums, b: &Sums, theta: f64, binary: bool) -> Option<f64> {
    let raw = |s: &Sums| s.var_y(binary) / s.n.max(1) as f64;
    let adj = |s: &Sums| Arm::adjusted(s, theta, binary).var / s.n.max(1) as f64;
    let before = raw(a) + raw(b);
    (before > 0.0).then(|| 1.0 - (adj(a) + adj(b)) / before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_equals_one_pass() {
        let ys = [1.0, 0.0, 3.5, 2.0, 7.0];
        let xs = [0.5, 0.0, 1.0, 2.0, 3.0];
        let mut all = Sums::default();
        let (mut a, mut b) = (Sums::default(), Sums::default());
        for (i, (&y, &x)) in ys.iter().zip(&xs).enumerate() {
            all.add(y, x);
            if i % 2 == 0 { a.add(y, x) } else { b.add(y, x) }
        }
        a.merge(&b);
        assert_eq!(a.n, all.n);
        assert!((a.var_y(false) - all.var_y(false)).abs() < 1e-12);
        assert!((a.cov_xy() - all.cov_xy()).abs() < 1e-12);
    }

    #[test]
    fn theta_is_the_pooled_slope() {
        let mut a = Sums::default();
        for i in 0..10 {
            let x = i as f64;
            a.add(2.0 * x + 1.0, x);
        }
        assert!((theta(&a, &Sums::default(), false) - 2.0).abs() < 1e-12);
        // y = 2x + 1 exactly: CUPED removes all variance.
        assert!(variance_reduction(&a, &a, 2.0, false).unwrap().abs() > 0.999);
    }
}
