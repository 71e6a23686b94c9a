//! Calibration by simulation (seeded, so deterministic): the engines'
//! intervals cover a planted effect at their nominal rate, the sequential
//! ones under daily peeking too, SRM fires on a planted 52/48 split and
//! rarely otherwise, and CUPED removes 1 − ρ² of the variance.

use super::freq::{Scale, sequential, welch};
use super::srm::{SrmStatus, srm};
use super::suff::{Arm, Sums, theta, variance_reduction};
use crate::rng::Rng;

const RUNS: usize = 2000;
const MU: f64 = 10.0;
const SD: f64 = 4.0;
const LIFT: f64 = 0.05;

/// One arm of `n` users: y = mean + β(x − 5) + noise, x ~ N(5, 2²), with
/// the noise scaled so that sd(y) = SD and corr(x, y) = ρ.
fn arm(rng: &mut Rng, n: usize, mean: f64, rho: f64, into: &mut Sums) {
    let beta = rho * SD / 2.0;
    let noise = SD * (1.0 - rho * rho).sqrt();
    for _ in 0..n {
        let x = 5.0 + 2.0 * rng.normal();
        let y = mean + beta * (x - 5.0) + noise * rng.normal();
        into.add(y, x);
    }
}

fn share(hits: usize) -> f64 {
    hits as f64 / RUNS as f64
}

fn in_band(name: &str, coverage: f64) {
    assert!(
        (0.935..=0.965).contains(&coverage),
        "{name}: coverage {coverage:.4} outside 93.5–96.5 %"
    );
}

#[test]
fn fixed_and_cuped_intervals_cover_the_planted_lift() {
    let mut rng = Rng::new(20261201);
    let (mut fixed, mut abs, mut cuped) = (0, 0, 0);
    let mut reduction = 0.0;
    let rho = 0.6;
    for _ in 0..RUNS {
        let (mut a, mut b) = (Sums::default(), Sums::default());
        arm(&mut rng, 400, MU, rho, &mut a);
        arm(&mut rng, 400, MU * (1.0 + LIFT), rho, &mut b);
        let e = welch(
            &Arm::plain(&a, false),
            &Arm::plain(&b, false),
            Scale::Relative,
            0.05,
        )
        .unwrap();
        fixed += usize::from(e.low <= LIFT && LIFT <= e.high);
        let d = welch(
            &Arm::plain(&a, false),
            &Arm::plain(&b, false),
            Scale::Absolute,
            0.05,
        )
        .unwrap();
        abs += usize::from(d.low <= MU * LIFT && MU * LIFT <= d.high);
        let t = theta(&a, &b, false);
        let c = welch(
            &Arm::adjusted(&a, t, false),
            &Arm::adjusted(&b, t, false),
            Scale::Relative,
            0.05,
        )
        .unwrap();
        cuped += usize::from(c.low <= LIFT && LIFT <= c.high);
        reduction += variance_reduction(&a, &b, t, false).unwrap();
    }
    eprintln!(
        "coverage: fixed {:.4}, absolute {:.4}, CUPED {:.4}; reduction {:.4}",
        share(fixed),
        share(abs),
        share(cuped),
        reduction / RUNS as f64
    );
    in_band("fixed relative", share(fixed));
    in_band("fixed absolute", share(abs));
    in_band("CUPED relative", share(cuped));
    let mean_reduction = reduction / RUNS as f64;
    assert!(
        (mean_reduction - rho * rho).abs() <= 0.03,
        "CUPED variance reduction {mean_reduction:.4}, planted ρ² = {}",
        rho * rho
    );
}

/// 14 daily looks at 100 new users per arm per day: the confidence
/// sequence must hold at every look; the fixed interval, read daily, must
/// not (else the test could not tell them apart).
#[test]
fn sequential_intervals_survive_daily_peeking() {
    let mut rng = Rng::new(7);
    let (mut seq_ok, mut fixed_ok) = (0, 0);
    for _ in 0..RUNS {
        let (mut a, mut b) = (Sums::default(), Sums::default());
        let (mut seq_all, mut fixed_all) = (true, true);
        for _day in 0..14 {
            arm(&mut rng, 100, MU, 0.0, &mut a);
            arm(&mut rng, 100, MU * (1.0 + LIFT), 0.0, &mut b);
            let (pa, pb) = (Arm::plain(&a, false), Arm::plain(&b, false));
            let s = sequential(&pa, &pb, Scale::Relative, 0.05, 5000.0).unwrap();
            seq_all &= s.low <= LIFT && LIFT <= s.high;
            let f = welch(&pa, &pb, Scale::Relative, 0.05).unwrap();
            fixed_all &= f.low <= LIFT && LIFT <= f.high;
        }
        seq_ok += usize::from(seq_all);
        fixed_ok += usize::from(fixed_all);
    }
    eprintln!(
        "peeking: sequential {:.4}, fixed {:.4}",
        share(seq_ok),
        share(fixed_ok)
    );
    assert!(
        share(seq_ok) >= 0.935,
        "sequential coverage under peeking {}",
        share(seq_ok)
    );
    assert!(
        share(fixed_ok) < 0.9,
        "fixed coverage under peeking {}",
        share(fixed_ok)
    );
}

#[test]
fn srm_flags_a_planted_52_48_split_and_rarely_a_fair_one() {
    let mut rng = Rng::new(99);
    let mut flagged = |p_b: f64| {
        (0..RUNS)
            .filter(|_| {
                let b = (0..20_000).filter(|_| rng.bernoulli(p_b)).count() as u64;
                srm(&[20_000 - b, b], &[0.5, 0.5]).status == SrmStatus::Fail
            })
            .count()
    };
    let planted = share(flagged(0.48));
    let fair = share(flagged(0.5));
    eprintln!("srm: planted {planted:.4}, fair {fair:.4}");
    assert!(planted >= 0.95, "planted 52/48 flagged in {planted}");
    assert!(fair < 0.01, "fair split flagged in {fair}");
}
