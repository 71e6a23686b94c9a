//! Next-period arm weights, as GrowthBook's bandits choose them (Gaussian
//! posterior of each arm's mean, top-two Thompson weights, an additive
//! floor) but computed deterministically: P(arm is best) and P(arm is
//! second) by numerical integration of the posteriors instead of 10,000
//! random draws, so reruns are byte-identical.
//!
//! P(i first) = ∫ f_i(x) Π_{j≠i} F_j(x) dx and
//! P(i second) = ∫ f_i(x) Σ_{k≠i} (1 − F_k(x)) Π_{j≠i,k} F_j(x) dx,
//! integrated with Simpson's rule on 4,001 points over μ ± 10σ of all arms.
//! Top-two weight w_i = (P(i first) + P(i second)) / 2; then the floor
//! p_i = f + (1 − n·f)·w_i (uniform when n·f ≥ 1; GrowthBook PR #6145).
//! For a lower-is-better metric the arms are ranked on −mean, which is
//! where GrowthBook's inverse case looks wrong (it counts the 2nd and 3rd
//! smallest arms); a test pins the right behaviour.

use serde::Serialize;

use crate::stats::{normal_sf, round6};

/// Arms need this many users before weights are published (GrowthBook).
pub const MIN_USERS: u64 = 100;
pub const DEFAULT_FLOOR: f64 = 0.01;
const POINTS: usize = 4001;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Allocation {
    pub metric: String,
    pub floor: f64,
    /// Per arm, in the config's order: P(arm is best).
    pub p_best: Vec<f64>,
    /// Thompson sampling: P(best) with the floor.
    pub thompson: Vec<f64>,
    /// GrowthBook's default, top-two Thompson: (P(first) + P(second)) / 2
    /// with the floor (the best and the runner-up share when clear).
    pub top_two: Vec<f64>,
}

fn floored(w: f64, n: f64, floor: f64) -> f64 {
    round6(if n * floor >= 1.0 {
        1.0 / n
    } else {
        floor + (1.0 - n * floor) * w
    })
}

/// Both weightings for per-arm posteriors; `inverse`: lower is better.
pub fn allocate(metric: &str, means: &[f64], sds: &[f64], inverse: bool, floor: f64) -> Allocation {
    let m: Vec<f64> = means
        .iter()
        .map(|&x| if inverse { -x } else { x })
        .collect();
    let ranks = rank_probabilities(&m, sds);
    let n = means.len() as f64;
    Allocation {
        metric: metric.to_string(),
        floor,
        p_best: ranks.iter().map(|r| round6(r.0)).collect(),
        thompson: ranks.iter().map(|r| floored(r.0, n, floor)).collect(),
        top_two: ranks
            .iter()
            .map(|r| floored((r.0 + r.1) / 2.0, n, floor))
            .collect(),
    }
}

fn pdf(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
}

fn cdf(x: f64, m: f64, s: f64) -> f64 {
    1.0 - normal_sf((x - m) / s)
}

/// (P(first), P(second)) per arm for posteriors N(mean_i, sd_i²), higher is better.
pub fn rank_probabilities(means: &[f64], sds: &[f64]) -> Vec<(f64, f64)> {
    let n = means.len();
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![(1.0, 0.0)];
    }
    let smax = sds.iter().cloned().fold(0.0, f64::max).max(1e-300);
    let lo = means
        .iter()
        .zip(sds)
        .map(|(m, s)| m - 10.0 * s)
        .fold(f64::INFINITY, f64::min);
    let hi = means
        .iter()
        .zip(sds)
        .map(|(m, s)| m + 10.0 * s)
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - smax, hi + smax)
    };
    let h = (hi - lo) / (POINTS - 1) as f64;
    let mut out = vec![(0.0, 0.0); n];
    let mut f = vec![0.0; n];
    let mut cum = vec![0.0; n];
    for k in 0..POINTS {
        let x = lo + k as f64 * h;
        let w = if k == 0 || k == POINTS - 1 {
            1.0
        } else if k % 2 == 1 {
            4.0
        } else {
            2.0
        };
        for i in 0..n {
            f[i] = pdf(x, means[i], sds[i].max(1e-300));
            cum[i] = cdf(x, means[i], sds[i].max(1e-300));
        }
        for i in 0..n {
            if f[i] == 0.0 {
                continue;
            }
            let mut first = 1.0;
            for j in (0..n).filter(|&j| j != i) {
                first *= cum[j];
            }
            let mut second = 0.0;
            for k2 in (0..n).filter(|&k2| k2 != i) {
                let mut p = 1.0 - cum[k2];
                for j in (0..n).filter(|&j| j != i && j != k2) {
                    p *= cum[j];
                }
                second += p;
            }
            out[i].0 += w * f[i] * first;
            out[i].1 += w * f[i] * second;
        }
    }
    for o in &mut out {
        o.0 *= h / 3.0;
        o.1 *= h / 3.0;
    }
    // Normalize away the quadrature's last digits so the shares sum to 1.
    let (s1, s2): (f64, f64) = (out.iter().map(|o| o.0).sum(), out.iter().map(|o| o.1).sum());
    for o in &mut out {
        o.0 /= s1.max(1e-300);
        o.1 /= s2.max(1e-300);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn equal_arms_share_equally() {
        let r = rank_probabilities(&[1.0, 1.0], &[0.1, 0.1]);
        assert!(
            (r[0].0 - 0.5).abs() < 1e-9 && (r[1].1 - 0.5).abs() < 1e-9,
            "{r:?}"
        );
    }

    /// The integrals against a seeded Monte Carlo of 200,000 draws.
    #[test]
    fn matches_monte_carlo() {
        let (means, sds) = ([0.10, 0.12, 0.11], [0.01, 0.015, 0.005]);
        let r = rank_probabilities(&means, &sds);
        let mut rng = Rng::new(3);
        let (mut first, mut second) = ([0u32; 3], [0u32; 3]);
        let draws = 200_000;
        for _ in 0..draws {
            let x: Vec<f64> = (0..3).map(|i| means[i] + sds[i] * rng.normal()).collect();
            let mut idx = [0usize, 1, 2];
            idx.sort_by(|&a, &b| x[b].total_cmp(&x[a]));
            first[idx[0]] += 1;
            second[idx[1]] += 1;
        }
        for i in 0..3 {
            assert!(
                (r[i].0 - first[i] as f64 / draws as f64).abs() < 0.005,
                "{i}: {r:?} {first:?}"
            );
            assert!(
                (r[i].1 - second[i] as f64 / draws as f64).abs() < 0.005,
                "{i}: {r:?} {second:?}"
            );
        }
    }

    #[test]
    fn floor_and_inverse_metrics() {
        // Arm 2 is clearly best, arm 1 clearly second: Thompson gives the
        // best everything but the floors; top-two splits best and second.
        let a = allocate("m", &[1.0, 1.1, 2.0], &[0.01, 0.01, 0.01], false, 0.01);
        assert!(a.p_best[2] > 0.999, "{a:?}");
        assert_eq!(a.thompson, vec![0.01, 0.01, 0.98]);
        assert_eq!(a.top_two, vec![0.01, 0.495, 0.495]);
        // Lower is better: the lowest arm is best and the middle one second
        // (GrowthBook's inverse top-two counts the 2nd and 3rd smallest).
        let a = allocate("m", &[1.0, 1.1, 2.0], &[0.01, 0.01, 0.01], true, 0.01);
        assert_eq!(a.thompson, vec![0.98, 0.01, 0.01]);
        assert_eq!(a.top_two, vec![0.495, 0.495, 0.01]);
        // A floor too large for the arms: uniform.
        assert_eq!(
            allocate("m", &[1.0, 2.0], &[0.1, 0.1], false, 0.6).thompson,
            vec![0.5, 0.5]
        );
    }
}
