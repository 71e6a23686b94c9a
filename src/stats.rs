//! Statistics shared by the analyses: descriptive summaries, and the
//! distributions' tails and quantiles on statrs (a well-kept crate, so no
//! analysis carries its own numerical approximation of erfc).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// Min, median, p95, max and mean of a sample. Percentiles use the
/// nearest-rank method: the value at rank ceil(p * n) of the sorted sample,
/// so every reported figure is a value that occurs in the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Distribution {
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
}

impl Distribution {
    pub fn of(mut values: Vec<f64>) -> Option<Distribution> {
        if values.is_empty() {
            return None;
        }
        sort(&mut values);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Some(Distribution {
            min: values[0],
            median: nearest_rank(&values, 0.5),
            p95: nearest_rank(&values, 0.95),
            max: values[values.len() - 1],
            mean: round6(mean),
        })
    }
}

/// Sorts by `f64::total_cmp`, which orders every bit pattern, so the
/// sorted order (and any sum taken in it) is the same however the sort
/// ran: large samples (a 100M-event export has 12M sessions) are sorted
/// on every core.
pub fn sort(values: &mut [f64]) {
    if values.len() > 1 << 20 {
        use rayon::slice::ParallelSliceMut;
        values.par_sort_unstable_by(f64::total_cmp);
    } else {
        values.sort_unstable_by(f64::total_cmp);
    }
}

/// The nearest-rank percentile of a sorted, non-empty slice; `p` in [0, 1].
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Rounds to 6 decimals so reports do not carry float noise between platforms.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The standard normal distribution.
fn std_normal() -> Normal {
    Normal::standard()
}

/// P(Z > z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    std_normal().sf(z)
}

/// The standard normal quantile: Φ⁻¹(p).
pub fn normal_quantile(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// Pooled two-proportion z-test, two-sided: `(z, p)`; `None` when the
/// normal approximation does not hold: a group with fewer than 5 expected
/// successes or failures under the pooled proportion (which also covers
/// empty groups and p = 0 or 1).
pub fn two_proportion(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<(f64, f64)> {
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    if [
        n1 * pooled,
        n1 * (1.0 - pooled),
        n2 * pooled,
        n2 * (1.0 - pooled),
    ]
    .iter()
    .any(|e| e.is_nan() || *e < 5.0)
    {
        return None;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (x1 / n1 - x2 / n2) / se;
    Some((z, 2.0 * normal_sf(z.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_test_matches_a_textbook_value() {
        // 45/100 vs 30/100: pooled 0.375, z = 0.15 / sqrt(0.375·0.625·0.02) = 2.1909, p = 0.02846.
        let (z, p) = two_proportion(45, 100, 30, 100).unwrap();
        assert!((z - 2.190890).abs() < 1e-5, "{z}");
        assert!((p - 0.028459).abs() < 1e-5, "{p}");
        assert!(two_proportion(0, 10, 0, 10).is_none());
        assert!(
            two_proportion(2, 3, 40, 100).is_none(),
            "3 units cannot carry a normal approximation"
        );
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-6);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let d = Distribution::of(vec![5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(
            (d.min, d.median, d.p95, d.max, d.mean),
            (1.0, 3.0, 5.0, 5.0, 3.0)
        );
        let d = Distribution::of(vec![1.0, 2.0]).unwrap();
        assert_eq!(d.median, 1.0);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.95), 95.0);
        assert!(Distribution::of(vec![]).is_none());
    }
}

/// The Wilson score interval of `x` successes in `n` trials at normal
/// quantile `z` (1.96 for 95 %); `None` for n = 0.
pub fn wilson(x: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = z * z;
    let mid = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((mid - half).max(0.0), (mid + half).min(1.0)))
}

#[cfg(test)]
mod wilson_tests {
    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(12, 40, method="wilson")
        let (lo, hi) = super::wilson(12, 40, 1.959963984540054).unwrap();
        assert!(
            (lo - 0.180748).abs() < 1e-6 && (hi - 0.454300).abs() < 1e-6,
            "{lo} {hi}"
        );
        let (lo, hi) = super::wilson(0, 10, 1.959963984540054).unwrap();
        assert!(lo == 0.0 && (hi - 0.277533).abs() < 1e-6, "{lo} {hi}");
        assert!(super::wilson(0, 0, 1.96).is_none());
    }
}
