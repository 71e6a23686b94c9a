//! Multiple comparisons: Holm's step-down (family-wise error) and
//! Benjamini–Hochberg (false discovery rate) adjusted p-values, and the
//! interval that goes with an adjusted p-value (GrowthBook's
//! `adjustedCI`): centred on the estimate, with the standard error that
//! the adjusted p implies, so it excludes 0 exactly when p_adj < α.

use serde::{Deserialize, Serialize};

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

/// Each member's adjusted p-value and the factor `p_adj / p` (at least
/// 1). An engine that recomputes its interval at level `α / factor`
/// prints an interval that excludes 0 exactly when `p_adj < α`: for the
/// t, normal and Bayesian engines because their p-value is the tail of the
/// same distribution, for the confidence sequence because it is the
/// inversion of the same e-value. (GrowthBook instead rebuilds a normal
/// interval from the adjusted p, which collapses to a point when p
/// underflows to 0.) When p is 0 the factor is the step's own multiplier.
pub fn adjust_with_factors(p: &[f64], c: Correction) -> Vec<(f64, f64)> {
    let m = p.len() as f64;
    let adjusted = adjust(p, c);
    let mut rank: Vec<usize> = (0..p.len()).collect();
    rank.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut pos = vec![0usize; p.len()];
    for (r, &i) in rank.iter().enumerate() {
        pos[i] = r;
    }
    p.iter()
        .zip(&adjusted)
        .enumerate()
        .map(|(i, (&raw, &adj))| {
            let own = match c {
                Correction::Holm => m - pos[i] as f64,
                Correction::BenjaminiHochberg => m / (pos[i] + 1) as f64,
                Correction::None => 1.0,
            };
            let factor = if raw > 0.0 {
                (adj / raw).max(1.0)
            } else {
                own.max(1.0)
            };
            (adj, factor)
        })
        .collect()
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
    fn factors_scale_alpha_to_the_adjusted_p() {
        let p = [0.01, 0.04, 0.03, 0.0];
        for (k, &(adj, factor)) in adjust_with_factors(&p, Correction::Holm).iter().enumerate() {
            if p[k] > 0.0 {
                assert!((p[k] * factor - adj).abs() < 1e-12);
            }
            // Significant at α/factor exactly when adjusted p < α.
            assert_eq!(p[k] < 0.05 / factor, adj < 0.05, "{k}");
        }
    }
}
