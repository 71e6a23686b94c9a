//! Multiple comparisons: Holm's step-down (family-wise error) and
//! Benjamini–Hochberg (false discovery rate) adjusted p-values, and the
//! interval that goes with an adjusted p-value (GrowthBook's
//! `adjustedCI`): centred on the estimate, with the standard error that
//! the adjusted p implies, so it excludes 0 exactly when p_adj < α.

use serde::{Deserialize, Serialize};

use crate::stats::normal_quantile;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    #[default]
    Holm,
    BenjaminiHochberg,
    None,
}

/// Holm-adjusted p-values, in the input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg adjusted p-values, in the input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(b.cmp(&a)));
    let mut out = vec![0.0; m];
    let mut running: f64 = 1.0;
    for (k, &i) in order.iter().enumerate() {
        let rank = (m - k) as f64;
        running = running.min((p[i] * m as f64 / rank).min(1.0));
        out[i] = running;
    }
    out
}

pub fn adjust(p: &[f64], c: Correction) -> Vec<f64> {
    match c {
        Correction::Holm => holm(p),
        Correction::BenjaminiHochberg => benjamini_hochberg(p),
        Correction::None => p.to_vec(),
    }
}

/// The interval at level α that matches an adjusted p-value; `None` when
/// it is unbounded (p_adj = 1, or an effect of exactly 0).
pub fn adjusted_interval(effect: f64, p_adj: f64, alpha: f64) -> Option<(f64, f64)> {
    if effect == 0.0 || p_adj >= 0.999_999 {
        return None;
    }
    let z_adj = normal_quantile(1.0 - p_adj / 2.0);
    if !z_adj.is_finite() {
        return Some((effect, effect));
    }
    let width = normal_quantile(1.0 - alpha / 2.0) * (effect / z_adj).abs();
    Some((effect - width, effect + width))
}

#[cfg(test)]
mod tests {
    use super::*;

    // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02;
    // "BH" = 0.02 0.04 0.04 0.02.
    #[test]
    fn match_r_p_adjust() {
        let p = [0.01, 0.04, 0.03, 0.005];
        let h = holm(&p);
        for (a, b) in h.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((a - b).abs() < 1e-12, "{h:?}");
        }
        let bh = benjamini_hochberg(&p);
        for (a, b) in bh.iter().zip([0.02, 0.04, 0.04, 0.02]) {
            assert!((a - b).abs() < 1e-12, "{bh:?}");
        }
    }

    #[test]
    fn adjusted_interval_excludes_zero_iff_significant() {
        for &(e, p) in &[
            (0.3, 0.01),
            (0.3, 0.049),
            (0.3, 0.051),
            (-0.2, 0.2),
            (-0.2, 0.001),
        ] {
            let (lo, hi) = adjusted_interval(e, p, 0.05).unwrap();
            assert_eq!(lo > 0.0 || hi < 0.0, p < 0.05, "{e} {p}");
        }
        assert_eq!(adjusted_interval(0.3, 1.0, 0.05), None);
    }
}
