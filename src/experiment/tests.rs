//! The published test numbers of the anchors (wave2-anchors.md §1.3),
//! reproduced on sufficient statistics to the precision they publish.

use super::bayes::{Prior, posterior};
use super::freq::{Scale, sequential, welch};
use super::power::{Baseline, mde, power};
use super::srm::srm;
use super::suff::{Arm, Sums, theta};

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

fn mean_arm(n: u64, sum: f64, ss: f64) -> Arm {
    Arm::plain(&Sums::from_moments(n, sum, ss), false)
}

fn prop_arm(n: u64, sum: f64) -> Arm {
    Arm::plain(&Sums::from_moments(n, sum, sum), true)
}

const D5: f64 = 0.5e-5;

// growthbook/growthbook packages/stats/tests/frequentist/test_tests.py::
// TestTwoSidedTTest::test_two_sided_ttest (relative).
#[test]
fn gbstats_two_sided_ttest_relative() {
    let a = mean_arm(3407, 1396.87, 52377.9767);
    let b = mean_arm(3461, 2422.7, 134698.29);
    let e = welch(&a, &b, Scale::Relative, 0.05).unwrap();
    close(e.effect, 0.70732, D5, "lift");
    close(e.low, -0.03526, D5, "ci low");
    close(e.high, 1.44989, D5, "ci high");
    close(e.se, 0.37879, D5, "se");
    close(e.p, 0.06191, D5, "p");
}

// same file, test_two_sided_ttest_absolute.
#[test]
fn gbstats_two_sided_ttest_absolute() {
    let a = mean_arm(3407, 1396.87, 52377.9767);
    let b = mean_arm(3461, 2422.7, 134698.29);
    let e = welch(&a, &b, Scale::Absolute, 0.05).unwrap();
    close(e.effect, 0.29, D5, "lift");
    close(e.low, 0.04538, D5, "ci low");
    close(e.high, 0.53462, D5, "ci high");
    close(e.se, 0.12478, D5, "se");
    close(e.p, 0.02016, D5, "p");
}

// same file, test_two_sided_ttest_binom: 14/28 vs 16/30.
#[test]
fn gbstats_two_sided_ttest_binom() {
    let e = welch(
        &prop_arm(28, 14.0),
        &prop_arm(30, 16.0),
        Scale::Relative,
        0.05,
    )
    .unwrap();
    close(e.effect, 0.06667, D5, "lift");
    close(e.low, -0.47767, D5, "ci low");
    close(e.high, 0.61101, D5, "ci high");
    close(e.se, 0.2717, D5, "se");
    close(e.p, 0.80707, D5, "p");
}

// same file, TestSequentialTTest::test_sequential_test_runs (N* = 1000).
#[test]
fn gbstats_sequential_test_runs() {
    let a = mean_arm(3000, 1396.87, 52377.9767);
    let b = mean_arm(3461, 2422.7, 134698.29);
    let e = sequential(&a, &b, Scale::Relative, 0.05, 1000.0).unwrap();
    close(e.effect, 0.50336, D5, "lift");
    close(e.low, -0.55844, D5, "ci low");
    close(e.high, 1.56516, D5, "ci high");
    close(e.se, 0.33341, D5, "se");
    close(e.p, 1.0, D5, "p");
}

// same file, test_sequential_test_runs_prop (default N* = 5000).
#[test]
fn gbstats_sequential_test_runs_prop() {
    let e = sequential(
        &prop_arm(3000, 1396.0),
        &prop_arm(3461, 2422.0),
        Scale::Relative,
        0.05,
        5000.0,
    )
    .unwrap();
    close(e.effect, 0.50386, D5, "lift");
    close(e.low, 0.40098, D5, "ci low");
    close(e.high, 0.60675, D5, "ci high");
    close(e.se, 0.03386, D5, "se");
    close(e.p, 0.0, D5, "p");
}

// same file, test_sequential_test_runs_ra: CUPED with θ computed from the
// pooled statistics (theta=None), post·pre sums of products 1.
#[test]
fn gbstats_sequential_test_runs_cuped() {
    let a = Sums {
        n: 3000,
        y: 1396.87,
        yy: 52377.9767,
        x: 16.87,
        xx: 527.9767,
        xy: 1.0,
    };
    let b = Sums {
        n: 3461,
        y: 2422.7,
        yy: 134698.29,
        x: 22.7,
        xx: 1348.29,
        xy: 1.0,
    };
    let t = theta(&a, &b, false);
    let e = sequential(
        &Arm::adjusted(&a, t, false),
        &Arm::adjusted(&b, t, false),
        Scale::Relative,
        0.05,
        5000.0,
    )
    .unwrap();
    close(e.effect, 0.50338, D5, "lift");
    close(e.low, -0.50969, D5, "ci low");
    close(e.high, 1.51646, D5, "ci high");
    close(e.se, 0.33341, D5, "se");
    close(e.p, 1.0, D5, "p");
}

// growthbook/growthbook packages/shared/test/power.test.ts: mean 10,
// variance 3909.9997749994377, lift 5 %, 400,000 users, 3 variations.
#[test]
fn growthbook_power_and_mde() {
    let b = Baseline {
        mean: 10.0,
        var: 3909.9997749994377,
    };
    close(
        power(b, 0.05, 400_000.0, 3, 0.05, None),
        0.52144,
        D5,
        "power",
    );
    close(
        power(b, 0.05, 400_000.0, 3, 0.05, Some(5000.0)),
        0.20596,
        D5,
        "sequential power",
    );
    close(
        mde(b, 0.8, 400_000.0, 3, 0.05, None).unwrap(),
        0.07027,
        D5,
        "mde",
    );
    close(
        mde(b, 0.8, 400_000.0, 3, 0.05, Some(5000.0)).unwrap(),
        0.12821,
        D5,
        "sequential mde",
    );
}

// PostHog/posthog products/experiments/stats/tests/test_bayesian.py::
// test_realistic_example (flat prior), published to 4 decimals.
#[test]
fn posthog_bayesian_realistic_example() {
    let c = mean_arm(2507, 1196.87, 37377.9767);
    let t = mean_arm(2461, 1922.7, 94698.29);
    let (effect, var) = super::freq::effect_and_variance(&c, &t, Scale::Relative).unwrap();
    let post = posterior(effect, var.sqrt(), None, 0.05);
    close(post.mean, 0.63646, 0.5e-4, "lift");
    close(post.low, -0.0873, 0.5e-4, "cri low");
    close(post.high, 1.36026, 0.5e-4, "cri high");
    close(post.chance_to_win, 0.95759, 0.5e-4, "chance to win");
}

#[test]
fn proper_prior_shrinks_toward_its_mean() {
    let flat = posterior(0.2, 0.1, None, 0.05);
    let shrunk = posterior(0.2, 0.1, Some(Prior { mean: 0.0, sd: 0.1 }), 0.05);
    close(
        shrunk.mean,
        0.1,
        1e-12,
        "posterior mean is the precision-weighted average",
    );
    close(shrunk.sd, 0.1 / 2f64.sqrt(), 1e-12, "posterior sd");
    assert!(shrunk.chance_to_win < flat.chance_to_win);
    // Risks are E[max(∓X, 0)]: their difference is the mean.
    close(
        flat.risk_baseline - flat.risk_treatment,
        0.2,
        1e-12,
        "risk identity",
    );
}

// gbstats utils.check_srm is scipy's chisquare: counts 5000/5200 at 50/50
// gives χ² = 3.921569, p = 0.047670 (scipy.stats.chisquare).
#[test]
fn srm_matches_scipy_chisquare() {
    let s = srm(&[5000, 5200], &[0.5, 0.5]);
    close(s.chi2, 3.921569, 1e-6, "chi2");
    close(s.p, 0.047670, 1e-6, "p");
    assert_eq!(s.df, 1);
}

// growthbook/growthbook packages/shared/test/power.test.ts:
// frequentistVariance(2, 7, 4, 0.5, 5, 15) (varA, meanA, nA, varB, meanB,
// nB): absolute 0.53333, relative 0.00589.
#[test]
fn growthbook_frequentist_variance() {
    let a = Arm {
        n: 4.0,
        mean: 7.0,
        var: 2.0,
        raw_mean: 7.0,
    };
    let b = Arm {
        n: 15.0,
        mean: 5.0,
        var: 0.5,
        raw_mean: 5.0,
    };
    let (_, abs) = super::freq::effect_and_variance(&a, &b, Scale::Absolute).unwrap();
    let (_, rel) = super::freq::effect_and_variance(&a, &b, Scale::Relative).unwrap();
    close(abs, 0.53333, D5, "absolute");
    close(rel, 0.00589, D5, "relative");
}

/// gbstats' `RegressionAdjustedRatioStatistic` fixture (n = 100 per arm) as
/// numerator sums and the ratio's cross products: (num, cross).
fn ratio_fixture(b: bool) -> (Sums, super::ratio::RatioCross) {
    // (m_post sum, ss), (d_post), (m_pre), (d_pre), then the products
    // m_post·m_pre, d_post·d_pre, m_pre·d_pre, m_post·d_post,
    // m_post·d_pre, m_pre·d_post.
    let v: [f64; 14] = if b {
        [
            514.7757826608777,
            2994.897482705013,
            705.4090874383759,
            5291.36604146392,
            206.94157227402536,
            514.2903702246757,
            302.54389139107326,
            994.4506208125663,
            1237.0953021125997,
            2292.081739775257,
            698.4173425817908,
            3918.1561431600717,
            1701.0287270040265,
            1604.0759503266522,
        ]
    } else {
        [
            485.112236689623,
            2715.484666118136,
            679.9093275844917,
            4939.424001640236,
            192.59138069991536,
            460.076026390857,
            290.1398399750233,
            920.9461385038898,
            1113.6215759318352,
            2130.9404074446747,
            634.239482353647,
            3602.146836776702,
            1559.2878434944676,
            1460.3181079276983,
        ]
    };
    let num = Sums {
        n: 100,
        y: v[0],
        yy: v[1],
        x: v[4],
        xx: v[5],
        xy: v[8],
    };
    let den = Sums {
        n: 100,
        y: v[2],
        yy: v[3],
        x: v[6],
        xx: v[7],
        xy: v[9],
    };
    let cross = super::ratio::RatioCross {
        den,
        md: v[11],
        md_pre: v[10],
        m_d_pre: v[12],
        m_pre_d: v[13],
    };
    (num, cross)
}

fn ratio_arms() -> (super::ratio::RatioArm, super::ratio::RatioArm) {
    let ((na, ra), (nb, rb)) = (ratio_fixture(false), ratio_fixture(true));
    (
        super::ratio::RatioArm::new(&na, &ra),
        super::ratio::RatioArm::new(&nb, &rb),
    )
}

// growthbook/growthbook packages/stats/tests/frequentist/test_tests.py::
// TestTwoSidedTTest::test_two_sided_ttest_test_runs_ratio_ra: a ratio
// metric with CUPED, θ pooled (theta=None), relative.
#[test]
fn gbstats_two_sided_ttest_ratio_cuped() {
    let (a, b) = ratio_arms();
    let t = super::ratio::theta(&a, &b);
    let c = super::ratio::contrast(&a, &b, t, Scale::Relative).unwrap();
    let e = super::freq::welch_of(&c, 0.05);
    close(e.effect, -0.0007, D5, "lift");
    close(e.low, -0.00841, D5, "ci low");
    close(e.high, 0.00700, D5, "ci high");
    close(e.se, 0.00391, D5, "se");
    close(e.p, 0.85771, D5, "p");
}

// same file, TestSequentialTTest::test_sequential_test_runs_ratio_ra
// (default N* = 5000).
#[test]
fn gbstats_sequential_test_runs_ratio_cuped() {
    let (a, b) = ratio_arms();
    let t = super::ratio::theta(&a, &b);
    let c = super::ratio::contrast(&a, &b, t, Scale::Relative).unwrap();
    let e = super::freq::sequential_of(&c, 0.05, 0.05, 5000.0);
    close(e.effect, -0.0007, D5, "lift");
    close(e.low, -0.02063, D5, "ci low");
    close(e.high, 0.01923, D5, "ci high");
    close(e.se, 0.00391, D5, "se");
    close(e.p, 1.0, D5, "p");
}

// The same statistics without CUPED (gbstats `RatioStatistic` from the
// post sums); not a published fixture: the figures are gbstats' own
// output (packages/stats at growthbook/growthbook main, 2026-08-21), run
// on these sums, relative and absolute; and the absolute CUPED case.
#[test]
fn gbstats_ratio_without_cuped_and_absolute() {
    let (a, b) = ratio_arms();
    let e = super::freq::welch_of(
        &super::ratio::contrast(&a, &b, 0.0, Scale::Relative).unwrap(),
        0.05,
    );
    close(e.effect, 0.02278847825468685, 1e-12, "lift");
    close(e.low, -0.03224290232999809, 1e-10, "ci low");
    close(e.high, 0.07781985883937179, 1e-10, "ci high");
    close(e.se, 0.02790610351392426, 1e-12, "se");
    close(e.p, 0.41513138051654996, 1e-10, "p");
    let e = super::freq::welch_of(
        &super::ratio::contrast(&a, &b, 0.0, Scale::Absolute).unwrap(),
        0.05,
    );
    close(e.effect, 0.01625947638659242, 1e-12, "abs lift");
    close(e.low, -0.022554691439217553, 1e-10, "abs ci low");
    close(e.p, 0.40974737657590476, 1e-10, "abs p");
    let t = super::ratio::theta(&a, &b);
    close(t, 0.8290044254063292, 1e-12, "theta");
    let e = super::freq::welch_of(
        &super::ratio::contrast(&a, &b, t, Scale::Absolute).unwrap(),
        0.05,
    );
    close(e.effect, -0.0005005051931390447, 1e-12, "cuped abs lift");
    close(e.se, 0.0027882397747049296, 1e-12, "cuped abs se");
    close(e.p, 0.8577275125565893, 1e-10, "cuped abs p");
}
