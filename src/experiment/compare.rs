//! One comparison of two arms of one metric, as every engine needs it:
//! the CUPED-adjusted contrast (relative), the unadjusted one beside it,
//! the absolute one, θ and the variance CUPED removed. Mean and ratio
//! metrics differ here and nowhere after.

use super::freq::{Contrast, NoEstimate, Scale, contrast};
use super::ratio::{self, RatioArm};
use super::suff::{Arm, Stat, theta, variance_reduction};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compared {
    /// CUPED's θ (0: no adjustment).
    pub theta: f64,
    /// The relative lift at θ: what verdicts read.
    pub main: Result<Contrast, NoEstimate>,
    /// The relative lift without CUPED, when CUPED adjusted.
    pub unadjusted: Option<Contrast>,
    /// The absolute lift at θ.
    pub absolute: Option<Contrast>,
    pub reduction: Option<f64>,
}

/// Treatment `b` against baseline `a`; `cuped`: adjust when the lookback
/// gives a covariate that varies.
pub fn compare(a: &Stat, b: &Stat, binary: bool, cuped: bool) -> Compared {
    if let (Some(ra), Some(rb)) = (&a.ratio, &b.ratio) {
        let (ra, rb) = (RatioArm::new(&a.sums, ra), RatioArm::new(&b.sums, rb));
        let th = if cuped { ratio::theta(&ra, &rb) } else { 0.0 };
        let at = |t: f64, scale| ratio::contrast(&ra, &rb, t, scale);
        return Compared {
            theta: th,
            main: at(th, Scale::Relative),
            unadjusted: (th != 0.0).then(|| at(0.0, Scale::Relative).ok()).flatten(),
            absolute: at(th, Scale::Absolute).ok(),
            reduction: (th != 0.0)
                .then(|| ratio::variance_reduction(&ra, &rb, th))
                .flatten(),
        };
    }
    let (sa, sb) = (&a.sums, &b.sums);
    let th = if cuped { theta(sa, sb, binary) } else { 0.0 };
    let (aa, ab) = (Arm::adjusted(sa, th, binary), Arm::adjusted(sb, th, binary));
    let (pa, pb) = (Arm::plain(sa, binary), Arm::plain(sb, binary));
    Compared {
        theta: th,
        main: contrast(&aa, &ab, Scale::Relative),
        unadjusted: (th != 0.0)
            .then(|| contrast(&pa, &pb, Scale::Relative).ok())
            .flatten(),
        absolute: contrast(&aa, &ab, Scale::Absolute).ok(),
        reduction: (th != 0.0)
            .then(|| variance_reduction(sa, sb, th, binary))
            .flatten(),
    }
}
