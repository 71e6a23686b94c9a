//! Scaling: `ln(1 + x)` for counts, durations and rates, then z-scores; one-hot
//! indicator columns are centred and divided by √2 instead (docs/segments.md,
//! "Scaling"). Features that are constant across the data are dropped.
//!
//! Params → fit → fitted scaler, which is saved with the model so that new
//! units can be placed with the same means and scales.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::features::{Features, Transform};

/// One kept feature: `scaled = (t(x) - center) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScaledColumn {
    pub name: String,
    pub transform: Transform,
    pub center: f64,
    pub scale: f64,
    /// Standard deviation of t(x) over the units (the scale too, except for
    /// indicators); z-scores in profiles divide by it.
    pub std: f64,
}

/// A feature left out because it does not vary.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DroppedFeature {
    pub feature: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scaler {
    pub columns: Vec<ScaledColumn>,
    /// For each kept column, its index in the raw feature table.
    #[serde(skip)]
    pub source: Vec<usize>,
}

/// `ln(1 + x)` or the identity.
pub fn transform(tr: Transform, x: f64) -> f64 {
    match tr {
        Transform::Log1p => x.ln_1p(),
        Transform::Identity | Transform::Indicator => x,
    }
}

/// The inverse of [`transform`]: back to original units.
pub fn inverse(tr: Transform, y: f64) -> f64 {
    match tr {
        Transform::Log1p => y.exp_m1(),
        Transform::Identity | Transform::Indicator => y,
    }
}

impl Scaler {
    /// Means and standard deviations (population, as scikit-learn's
    /// StandardScaler) of the transformed features. A feature whose
    /// transformed values are all equal is dropped.
    pub fn fit(f: &Features) -> (Scaler, Vec<DroppedFeature>) {
        let (n, p) = (f.rows, f.cols());
        let mut columns = Vec::new();
        let mut source = Vec::new();
        let mut dropped = Vec::new();
        for c in 0..p {
            let def = &f.defs[c];
            let t = |r: usize| transform(def.transform, f.get(r, c));
            let mean = (0..n).map(t).sum::<f64>() / n.max(1) as f64;
            let var = (0..n).map(|r| (t(r) - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
            let first = if n > 0 { t(0) } else { 0.0 };
            if (0..n).all(|r| t(r) == first) {
                dropped.push(DroppedFeature {
                    feature: def.name.clone(),
                    reason: format!(
                        "constant: every unit has {}",
                        crate::doc::fmt::num(f.get(0, c))
                    ),
                });
                continue;
            }
            let std = var.sqrt();
            let scale = match def.transform {
                Transform::Indicator => std::f64::consts::SQRT_2,
                _ => std,
            };
            columns.push(ScaledColumn {
                name: def.name.clone(),
                transform: def.transform,
                center: mean,
                scale,
                std,
            });
            source.push(c);
        }
        (Scaler { columns, source }, dropped)
    }

    /// The scaled matrix, one row per unit, one column per kept feature.
    pub fn transform(&self, f: &Features) -> Array2<f64> {
        let p = self.columns.len();
        let mut out = Array2::zeros((f.rows, p));
        for r in 0..f.rows {
            for (j, col) in self.columns.iter().enumerate() {
                out[[r, j]] =
                    (transform(col.transform, f.get(r, self.source[j])) - col.center) / col.scale;
            }
        }
        out
    }
}

/// Features whose absolute correlation with an earlier kept feature is above
/// this are dropped as redundant.
pub const MAX_CORRELATION: f64 = 0.95;

impl Scaler {
    /// Drops each column whose absolute Pearson correlation with an earlier
    /// kept column exceeds [`MAX_CORRELATION`]: it carries (almost) the same
    /// information and would only double that information's weight in the
    /// distances. Earlier columns win, so the named features (events, product
    /// views, cart adds, ...) are kept over shares and one-hot levels; a
    /// two-level categorical keeps one of its two (perfectly anti-correlated)
    /// columns. Returns the matrix without the dropped columns.
    pub fn drop_redundant(
        &mut self,
        x: Array2<f64>,
        dropped: &mut Vec<DroppedFeature>,
    ) -> Array2<f64> {
        let p = x.ncols();
        // Gram matrix of the (centred) columns.
        let mut gram = vec![0.0f64; p * p];
        for row in x.rows() {
            let r = row
                .as_slice()
                .map(<[f64]>::to_vec)
                .unwrap_or_else(|| row.to_vec());
            for i in 0..p {
                let a = r[i];
                let g = &mut gram[i * p..i * p + p];
                for j in i..p {
                    g[j] += a * r[j];
                }
            }
        }
        let mut keep: Vec<usize> = Vec::with_capacity(p);
        for j in 0..p {
            let redundant = keep
                .iter()
                .map(|&i| {
                    (
                        i,
                        gram[i * p + j] / (gram[i * p + i] * gram[j * p + j]).sqrt(),
                    )
                })
                .find(|(_, r)| r.abs() > MAX_CORRELATION);
            match redundant {
                Some((i, r)) => dropped.push(DroppedFeature {
                    feature: self.columns[j].name.clone(),
                    reason: format!(
                        "redundant: correlation {} with {}",
                        crate::doc::fmt::num(r),
                        crate::doc::rich::code(&self.columns[i].name)
                    ),
                }),
                None => keep.push(j),
            }
        }
        if keep.len() == p {
            return x;
        }
        self.columns = keep.iter().map(|&j| self.columns[j].clone()).collect();
        self.source = keep.iter().map(|&j| self.source[j]).collect();
        x.select(ndarray::Axis(1), &keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::{FeatureDef, Kind};
    use super::*;

    fn features(cols: &[(&str, Transform)], rows: &[&[f64]]) -> Features {
        Features {
            defs: cols
                .iter()
                .map(|(n, t)| FeatureDef {
                    name: n.to_string(),
                    kind: Kind::Events,
                    transform: *t,
                })
                .collect(),
            rows: rows.len(),
            values: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        }
    }

    #[test]
    fn log1p_then_z_scores() {
        let f = features(
            &[("count", Transform::Log1p), ("share", Transform::Identity)],
            &[
                &[0.0, 0.2],
                &[(1f64).exp_m1(), 0.4],
                &[(2f64).exp_m1(), 0.6],
            ],
        );
        let (s, dropped) = Scaler::fit(&f);
        assert!(dropped.is_empty());
        let c = &s.columns[0];
        assert!((c.center - 1.0).abs() < 1e-12);
        assert!((c.scale - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let x = s.transform(&f);
        for j in 0..2 {
            let col = x.column(j);
            assert!(col.sum().abs() < 1e-12);
            assert!((col.mapv(|v| v * v).sum() / 3.0 - 1.0).abs() < 1e-12);
        }
        assert!((inverse(Transform::Log1p, transform(Transform::Log1p, 7.0)) - 7.0).abs() < 1e-12);
    }

    #[test]
    fn constant_features_are_dropped_and_named() {
        let f = features(
            &[
                ("a", Transform::Log1p),
                ("flat", Transform::Identity),
                ("b", Transform::Identity),
            ],
            &[&[1.0, 3.0, 0.0], &[2.0, 3.0, 1.0]],
        );
        let (s, dropped) = Scaler::fit(&f);
        assert_eq!(
            s.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(s.source, vec![0, 2]);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].feature, "flat");
        assert_eq!(dropped[0].reason, "constant: every unit has 3");
        assert_eq!(s.transform(&f).dim(), (2, 2));
    }

    #[test]
    fn redundant_features_are_dropped_and_named() {
        let f = features(
            &[
                ("a", Transform::Identity),
                ("twice_a", Transform::Identity),
                ("b", Transform::Identity),
                ("minus_a", Transform::Identity),
            ],
            &[
                &[1.0, 2.0, 0.0, -1.0],
                &[2.0, 4.0, 1.0, -2.0],
                &[3.0, 6.0, 0.0, -3.0],
                &[4.0, 8.0, 1.0, -4.0],
            ],
        );
        let (mut s, mut dropped) = Scaler::fit(&f);
        let x = s.drop_redundant(s.transform(&f), &mut dropped);
        assert_eq!(x.ncols(), 2);
        assert_eq!(
            s.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(s.source, vec![0, 2]);
        let reasons: Vec<String> = dropped
            .iter()
            .map(|d| format!("{}: {}", d.feature, d.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                "twice_a: redundant: correlation 1 with `a`",
                "minus_a: redundant: correlation -1 with `a`"
            ]
        );
    }

    #[test]
    fn indicators_are_centred_and_divided_by_sqrt2() {
        let f = features(
            &[("device=mobile", Transform::Indicator)],
            &[&[1.0], &[0.0], &[0.0], &[0.0]],
        );
        let (s, _) = Scaler::fit(&f);
        let x = s.transform(&f);
        assert!((x[[0, 0]] - 0.75 / std::f64::consts::SQRT_2).abs() < 1e-12);
        assert!((s.columns[0].std - (0.25f64 * 0.75).sqrt()).abs() < 1e-12);
    }
}
