//! Small descriptive statistics shared by the summaries.

use serde::Serialize;

/// Min, median, p95, max and mean of a sample. Percentiles use the
/// nearest-rank method: the value at rank ceil(p * n) of the sorted sample,
/// so every reported figure is a value that occurs in the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
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
        values.sort_by(f64::total_cmp);
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

/// The nearest-rank percentile of a sorted, non-empty slice; `p` in [0, 1].
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Rounds to 6 decimals so reports do not carry float noise between platforms.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

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
