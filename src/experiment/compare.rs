//! One comparison of two arms of one metric, as every engine needs it:
//! the CUPED-adjusted contrast (relative), the unadjusted one beside it,
//! the absolute one, θ and the variance CUPED removed. Mean and ratio
//! metrics differ here and nowhere after.

use super::bayes::{Prior, posterior};
use super::config::Engine;
use super::freq::{Contrast, Estimate, NoEstimate, Scale, contrast, sequential_of, welch_of};
use super::ratio::{self, RatioArm};
use super::report::BayesFigures;
use super::suff::{Arm, Stat, theta, variance_reduction};
use crate::stats::round6;

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

/// The engine and its settings, as every comparison (overall or per
/// segment) runs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Engines {
    pub engine: Engine,
    pub alpha: f64,
    pub n_star: f64,
    pub prior: Option<Prior>,
}

/// One engine on one comparison with its interval at `level` (α, or a
/// corrected level): the estimate, and the posterior for Bayes.
pub fn run_engine(o: &Engines, c: &Contrast, level: f64) -> (Estimate, Option<BayesFigures>) {
    match o.engine {
        Engine::Frequentist => (welch_of(c, level), None),
        Engine::Sequential => (sequential_of(c, o.alpha, level, o.n_star), None),
        Engine::Bayesian => {
            let post = posterior(c.effect, c.var.sqrt(), o.prior, level);
            let p = (2.0 * post.chance_to_win.min(1.0 - post.chance_to_win)).min(1.0);
            (
                Estimate {
                    effect: post.mean,
                    se: post.sd,
                    low: post.low,
                    high: post.high,
                    p,
                },
                Some(BayesFigures {
                    chance_to_win: round6(post.chance_to_win),
                    risk_treatment: round6(post.risk_treatment),
                    risk_baseline: round6(post.risk_baseline),
                }),
            )
        }
    }
}
