//! Evidently's default drift test per column, computed as Evidently 0.7
//! computes it (`legacy/calculations/stattests`), so verdicts agree on the
//! same data: below 1,000 reference values KS (numbers with more than 5
//! distinct values), χ² (more than 2 values) or a z-test for two
//! proportions; above, the Wasserstein distance normed by the reference
//! standard deviation or the Jensen–Shannon distance. PSI is reported
//! beside every test with reference-decile bins (or Evidently's Sturges bins).

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::ks::ks_2samp;

/// A column's values on both sides, missing values left out.
#[derive(Debug, Clone)]
pub enum Sample {
    /// Each distinct value (ascending, finite) with its count on each side.
    Numeric(Vec<(f64, u64, u64)>),
    /// Counts per category, one entry per category of either side.
    Categorical(Vec<CategoryCount>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryCount {
    pub key: String,
    pub reference: u64,
    pub current: u64,
}

/// Evidently's reference-size boundary between p-value tests and distances.
pub const SMALL_REFERENCE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Ks,
    ChiSquare,
    ZTest,
    Wasserstein,
    JensenShannon,
}

impl Method {
    /// Evidently's name for the test.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "K-S p_value",
            Method::ChiSquare => "chi-square p_value",
            Method::ZTest => "Z-test p_value",
            Method::Wasserstein => "Wasserstein distance (normed)",
            Method::JensenShannon => "Jensen-Shannon distance",
        }
    }
    /// p-values drift below the threshold, distances at or above it.
    pub fn is_p_value(self) -> bool {
        matches!(self, Method::Ks | Method::ChiSquare | Method::ZTest)
    }
}

/// One test's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub method: Method,
    pub statistic: f64,
    pub threshold: f64,
    pub drifted: bool,
}

impl Sample {
    pub fn sizes(&self) -> (usize, usize) {
        match self {
            Sample::Numeric(v) => (
                v.iter().map(|x| x.1 as usize).sum(),
                v.iter().map(|x| x.2 as usize).sum(),
            ),
            Sample::Categorical(c) => (
                c.iter().map(|c| c.reference as usize).sum(),
                c.iter().map(|c| c.current as usize).sum(),
            ),
        }
    }

    /// Builds a numeric sample from (value, reference count, current
    /// count) in any order; equal values merge, non-finite ones are dropped.
    pub fn numeric(mut v: Vec<(f64, u64, u64)>) -> Sample {
        v.retain(|x| x.0.is_finite() && x.1 + x.2 > 0);
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out: Vec<(f64, u64, u64)> = Vec::with_capacity(v.len());
        for (x, r, c) in v {
            match out.last_mut() {
                // -0.0 and 0.0 are one value, as in numpy.
                Some(l) if l.0 == x => {
                    l.1 += r;
                    l.2 += c;
                }
                _ => out.push((x, r, c)),
            }
        }
        Sample::Numeric(out)
    }

    /// Distinct values over both sides (`n_values` in Evidently).
    pub fn distinct(&self) -> usize {
        match self {
            Sample::Numeric(v) => v.len(),
            Sample::Categorical(c) => c.len(),
        }
    }

    /// (reference, current) count per distinct value, in key order.
    fn counts(&self) -> Vec<(u64, u64)> {
        match self {
            Sample::Categorical(c) => c.iter().map(|c| (c.reference, c.current)).collect(),
            Sample::Numeric(v) => v.iter().map(|x| (x.1, x.2)).collect(),
        }
    }

    /// Distinct values in the reference only (Evidently's binning rule).
    fn reference_distinct(&self) -> usize {
        match self {
            Sample::Numeric(v) => v.iter().filter(|x| x.1 > 0).count(),
            Sample::Categorical(c) => c.iter().filter(|c| c.reference > 0).count(),
        }
    }
}

/// Evidently's `_get_default_stattest` and the test it picks. Both sides non-empty.
pub fn default_test(s: &Sample) -> Outcome {
    let (n_ref, _) = s.sizes();
    let n_values = s.distinct();
    let numeric = matches!(s, Sample::Numeric(_));
    let method = if n_ref <= SMALL_REFERENCE {
        if numeric && n_values > 5 {
            Method::Ks
        } else if n_values > 2 {
            Method::ChiSquare
        } else {
            Method::ZTest
        }
    } else if numeric && n_values > 5 {
        Method::Wasserstein
    } else {
        Method::JensenShannon
    };
    run(s, method)
}

/// Runs one test with Evidently's default threshold.
pub fn run(s: &Sample, method: Method) -> Outcome {
    let (statistic, threshold) = match method {
        Method::Ks => match s {
            Sample::Numeric(v) => (ks_2samp(v).1, 0.05),
            Sample::Categorical(_) => (f64::NAN, 0.05),
        },
        Method::ChiSquare => (chi_square(s), 0.05),
        Method::ZTest => (z_test(s), 0.05),
        Method::Wasserstein => match s {
            Sample::Numeric(v) => (wasserstein_norm(v), 0.1),
            Sample::Categorical(_) => (f64::NAN, 0.1),
        },
        Method::JensenShannon => {
            let (p, q) = binned(s, false);
            (jensen_shannon(&p, &q), 0.1)
        }
    };
    let drifted = if method.is_p_value() {
        statistic < threshold || (method == Method::Ks && statistic <= threshold)
    } else {
        statistic >= threshold
    };
    Outcome {
        method,
        statistic,
        threshold,
        drifted,
    }
}

/// `scipy.stats.chisquare(current, reference × n_cur/n_ref)`'s p-value.
fn chi_square(s: &Sample) -> f64 {
    let (n_ref, n_cur) = s.sizes();
    let k = n_cur as f64 / n_ref as f64;
    let counts = s.counts();
    let mut stat = 0.0;
    for &(r, c) in &counts {
        let e = r as f64 * k;
        let o = c as f64;
        stat += (o - e) * (o - e) / e;
    }
    if counts.len() < 2 {
        return f64::NAN;
    }
    if stat.is_nan() {
        return f64::NAN;
    }
    if stat.is_infinite() {
        return 0.0;
    }
    ChiSquared::new((counts.len() - 1) as f64).map_or(f64::NAN, |d| d.sf(stat))
}

/// Evidently's z-test: the share of values other than the smallest key
/// (numbers in numeric order, categories in string order).
fn z_test(s: &Sample) -> f64 {
    let first = match s {
        Sample::Numeric(v) if v.len() > 1 => (v[0].1, v[0].2),
        Sample::Categorical(c) if c.len() > 1 => c
            .iter()
            .min_by(|a, b| a.key.cmp(&b.key))
            .map(|c| (c.reference, c.current))
            .unwrap_or_default(),
        _ => return 1.0,
    };
    let (n1, n2) = s.sizes();
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p1 = (n1 as u64 - first.0) as f64 / n1f;
    let p2 = (n2 as u64 - first.1) as f64 / n2f;
    let pooled = (p1 * n1f + p2 * n2f) / (n1f + n2f);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    2.0 * crate::stats::normal_sf(z.abs())
}

/// W₁(reference, current) / max(sd(reference), 0.001), sd with ddof 0.
fn wasserstein_norm(v: &[(f64, u64, u64)]) -> f64 {
    let n = v.iter().map(|x| x.1).sum::<u64>() as f64;
    let mean = v.iter().map(|x| x.0 * x.1 as f64).sum::<f64>() / n;
    let var = v
        .iter()
        .map(|x| x.1 as f64 * (x.0 - mean) * (x.0 - mean))
        .sum::<f64>()
        / n;
    wasserstein(v) / var.sqrt().max(0.001)
}

/// scipy's `wasserstein_distance`: ∫|F_ref − F_cur| over the pooled values.
pub fn wasserstein(v: &[(f64, u64, u64)]) -> f64 {
    let na = v.iter().map(|x| x.1).sum::<u64>() as f64;
    let nb = v.iter().map(|x| x.2).sum::<u64>() as f64;
    let (mut i, mut j) = (0u64, 0u64);
    let mut total = 0.0;
    for w in v.windows(2) {
        i += w[0].1;
        j += w[0].2;
        total += (i as f64 / na - j as f64 / nb).abs() * (w[1].0 - w[0].0);
    }
    total
}

/// scipy's `jensenshannon` (natural log): 0 to √ln 2 ≈ 0.833.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let rel = |x: f64, m: f64| if x > 0.0 { x * (x / m).ln() } else { 0.0 };
    let mut js = 0.0;
    for (a, b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        js += rel(a, m) + rel(b, m);
    }
    (js / 2.0).max(0.0).sqrt()
}

/// Evidently's `get_binned_data`: Sturges bins over both sides for numbers
/// with more than 20 reference values, else one bin per value; shares of
/// each side, zeros replaced (`fill_zeros`) as Evidently's PSI does.
pub fn binned(s: &Sample, fill_zeros: bool) -> (Vec<f64>, Vec<f64>) {
    let (n_ref, n_cur) = s.sizes();
    let (mut p, mut q): (Vec<f64>, Vec<f64>) = match s {
        Sample::Numeric(v) if s.reference_distinct() > 20 => {
            let edges = sturges_edges(v, n_ref + n_cur);
            let h = histogram(v, &edges);
            h.iter()
                .map(|&(r, c)| (r as f64 / n_ref as f64, c as f64 / n_cur as f64))
                .unzip()
        }
        _ => s
            .counts()
            .iter()
            .map(|&(r, c)| (r as f64 / n_ref as f64, c as f64 / n_cur as f64))
            .unzip(),
    };
    if fill_zeros {
        fill(&mut p);
        fill(&mut q);
    }
    (p, q)
}

fn fill(v: &mut [f64]) {
    let min = v
        .iter()
        .copied()
        .filter(|&x| x != 0.0)
        .fold(f64::INFINITY, f64::min);
    let with = if min <= 0.0001 { min / 1e6 } else { 0.0001 };
    v.iter_mut().filter(|x| **x == 0.0).for_each(|x| *x = with);
}

/// `np.histogram_bin_edges(reference ∪ current, bins="sturges")` over `n` values.
pub fn sturges_edges(v: &[(f64, u64, u64)], n: usize) -> Vec<f64> {
    let (lo, hi) = (v[0].0, v[v.len() - 1].0);
    let (lo, hi) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let width = (hi - lo) / ((n as f64).log2() + 1.0);
    let bins = if width > 0.0 {
        ((hi - lo) / width).ceil() as usize
    } else {
        1
    };
    let step = (hi - lo) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + lo).collect();
    edges[bins] = hi;
    edges
}

/// `np.histogram` over equal bins for both sides: numpy's index
/// computation and its corrections at the edges, the last bin closed.
pub fn histogram(v: &[(f64, u64, u64)], edges: &[f64]) -> Vec<(u64, u64)> {
    let bins = edges.len() - 1;
    let (first, last) = (edges[0], edges[bins]);
    let norm = bins as f64 / (last - first);
    let mut out = vec![(0u64, 0u64); bins];
    for &(x, r, c) in v {
        if x < first || x > last {
            continue;
        }
        let mut k = (((x - first) * norm) as usize).min(bins - 1);
        if x < edges[k] {
            k -= 1;
        } else if k != bins - 1 && x >= edges[k + 1] {
            k += 1;
        }
        out[k].0 += r;
        out[k].1 += c;
    }
    out
}

/// How PSI bins numbers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    serde::Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PsiBins {
    /// Ten bins at the reference's deciles (journeymap's default).
    #[default]
    Deciles,
    /// Evidently's: Sturges bins over reference and current together.
    Sturges,
}

/// PSI bands: below 0.1 stable, below 0.25 moderate, else major.
pub fn psi_band(psi: f64) -> &'static str {
    if psi < 0.1 {
        "stable"
    } else if psi < 0.25 {
        "moderate"
    } else {
        "major"
    }
}

/// PSI of the column; numbers with more than 20 reference values are
/// binned (deciles or Sturges), others get a bin per value.
pub fn psi(s: &Sample, bins: PsiBins) -> f64 {
    let (p, q) = match (s, bins) {
        (Sample::Numeric(v), PsiBins::Deciles) if s.reference_distinct() > 20 => {
            let edges = decile_edges(v);
            let (n_ref, n_cur) = s.sizes();
            let (mut p, mut q) = (vec![0.0; edges.len() + 1], vec![0.0; edges.len() + 1]);
            for &(x, r, c) in v {
                let k = edges.partition_point(|e| *e < x);
                p[k] += r as f64 / n_ref as f64;
                q[k] += c as f64 / n_cur as f64;
            }
            fill(&mut p);
            fill(&mut q);
            (p, q)
        }
        _ => binned(s, true),
    };
    p.iter()
        .zip(&q)
        .map(|(a, b)| (a - b) * (a / b).ln())
        .sum::<f64>()
}

/// The reference's deciles (nearest rank), repeated values once: bins are
/// (−∞, e₁], (e₁, e₂], …, (e₉, ∞).
fn decile_edges(v: &[(f64, u64, u64)]) -> Vec<f64> {
    let n: u64 = v.iter().map(|x| x.1).sum();
    let mut e = Vec::with_capacity(9);
    let (mut at, mut seen) = (0usize, 0u64);
    for k in 1..10u64 {
        let rank = (k * n).div_ceil(10).max(1);
        while seen + v[at].1 < rank {
            seen += v[at].1;
            at += 1;
        }
        e.push(v[at].0);
    }
    e.dedup();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(rows: &[(&str, u64, u64)]) -> Sample {
        Sample::Categorical(
            rows.iter()
                .map(|&(k, r, c)| CategoryCount {
                    key: k.into(),
                    reference: r,
                    current: c,
                })
                .collect(),
        )
    }

    /// Evidently's `test_freq_obs_eq_freq_exp`: values 1..6 ×
    /// [16,18,16,14,12,12] against ×[16,16,16,16,16,8]: p 0.67309; the
    /// reference doubled gives the same p.
    #[test]
    fn chi_square_matches_evidently() {
        let rows = [
            ("1", 16, 16),
            ("2", 18, 16),
            ("3", 16, 16),
            ("4", 14, 16),
            ("5", 12, 16),
            ("6", 12, 8),
        ];
        let p = chi_square(&cats(&rows));
        assert!((p - 0.67309).abs() < 1e-5, "{p}");
        let doubled: Vec<_> = rows.iter().map(|&(k, r, c)| (k, 2 * r, c)).collect();
        assert!((chi_square(&cats(&doubled)) - p).abs() < 1e-12);
        assert_eq!(default_test(&cats(&rows)).method, Method::ChiSquare);
    }

    #[test]
    fn selector_follows_reference_size_and_values() {
        let num =
            |n: usize, k: usize| Sample::numeric((0..n).map(|i| ((i % k) as f64, 1, 1)).collect());
        assert_eq!(default_test(&num(1000, 10)).method, Method::Ks);
        assert_eq!(default_test(&num(1000, 4)).method, Method::ChiSquare);
        assert_eq!(default_test(&num(1000, 2)).method, Method::ZTest);
        assert_eq!(default_test(&num(1001, 10)).method, Method::Wasserstein);
        assert_eq!(default_test(&num(1001, 5)).method, Method::JensenShannon);
        let same = default_test(&num(1001, 10));
        assert_eq!((same.statistic, same.drifted), (0.0, false));
    }

    #[test]
    fn psi_of_the_diff_fixture() {
        // journeymap's own fixture: 0.5/0.5 → 0.9/0.1 gives 0.8789.
        let p = psi(&cats(&[("a", 50, 90), ("b", 50, 10)]), PsiBins::Deciles);
        assert!((p - 0.8789).abs() < 1e-4, "{p}");
    }

    #[test]
    fn sturges_edges_and_histogram_follow_numpy() {
        let v = Sample::numeric(
            (0..30)
                .flat_map(|i| [(i as f64, 1, 0), (i as f64 + 0.5, 0, 1)])
                .collect(),
        );
        let Sample::Numeric(v) = v else { panic!() };
        let e = sturges_edges(&v, 60);
        // n 60: log2(60) + 1 = 6.9 → 7 bins over [0, 29.5].
        assert_eq!(e.len(), 8);
        assert_eq!((e[0], e[7]), (0.0, 29.5));
        let h = histogram(&v, &e);
        assert_eq!(h.iter().map(|x| x.0).sum::<u64>(), 30);
    }

    #[test]
    fn wasserstein_of_a_shift_is_the_shift() {
        let Sample::Numeric(v) = Sample::numeric(
            (0..100)
                .flat_map(|i| [(i as f64, 1, 0), (i as f64 + 3.0, 0, 1)])
                .collect(),
        ) else {
            panic!()
        };
        assert!((wasserstein(&v) - 3.0).abs() < 1e-12);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]) - 2f64.ln().sqrt()).abs() < 1e-12);
    }
}
