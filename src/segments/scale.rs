//! Scaling for k-means, on the shared scaler ([`crate::features::scale`]):
//! each feature through its transform (`ln(1 + x)` for counts, durations and
//! rates), then z-scores; one-hot indicator columns are centred and divided
//! by √2 instead (docs/segments.md, "Scaling"). Features that are constant
//! across the data, or nearly duplicate one kept before them, are dropped.
//!
//! Params → fit → fitted scaler, which is saved with the model so that new
//! units can be placed with the same means and scales.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::features::{Features, Transform};
use crate::doc::fmt::num;
use crate::doc::rich::code;
use crate::features::scale::{self, Stats};
pub use crate::features::{inverse, transform};

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

/// A feature left out because it does not vary or repeats another.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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

/// The features through their transforms, one row per unit.
fn transformed(f: &Features) -> Array2<f64> {
    let (n, p) = (f.rows, f.cols());
    let tr: Vec<Transform> = f.defs.iter().map(|d| d.transform()).collect();
    let mut x = Array2::zeros((n, p));
    for r in 0..n {
        for c in 0..p {
            x[[r, c]] = transform(tr[c], f.get(r, c));
        }
    }
    x
}

impl Scaler {
    /// Means and standard deviations (population, as scikit-learn's
    /// StandardScaler) of the transformed features. A feature whose
    /// transformed values are all equal is dropped.
    pub fn fit(f: &Features) -> (Scaler, Vec<DroppedFeature>) {
        let (n, p) = (f.rows, f.cols());
        let x = transformed(f);
        let rows: Vec<usize> = (0..n).collect();
        let stats = Stats::fit(&x, &rows);
        let kept = scale::varying(&x, &rows, &(0..p).collect::<Vec<_>>());
        let mut columns = Vec::new();
        let mut dropped = Vec::new();
        for c in 0..p {
            let def = &f.defs[c];
            if !kept.contains(&c) {
                dropped.push(DroppedFeature {
                    feature: def.name(),
                    reason: format!(
                        "constant: every unit has {}",
                        num(if n > 0 { f.get(0, c) } else { 0.0 })
                    ),
                });
                continue;
            }
            let std = stats.sd[c];
            columns.push(ScaledColumn {
                name: def.name(),
                transform: def.transform(),
                center: stats.mean[c],
                scale: match def.transform() {
                    Transform::Indicator => std::f64::consts::SQRT_2,
                    _ => std,
                },
                std,
            });
        }
        (
            Scaler {
                columns,
                source: kept,
            },
            dropped,
        )
    }

    /// The scaled matrix, one row per unit, one column per kept feature.
    pub fn transform(&self, f: &Features) -> Array2<f64> {
        let x = transformed(f);
        let spec: Vec<(usize, f64, f64)> = self
            .columns
            .iter()
            .zip(&self.source)
            .map(|(c, &s)| (s, c.center, c.scale))
            .collect();
        Stats::transform_with(&x, &(0..f.rows).collect::<Vec<_>>(), &spec)
    }

    /// Drops each column whose absolute Pearson correlation with an earlier
    /// kept column exceeds [`scale::MAX_CORRELATION`]: it carries (almost)
    /// the same information and would only double that information's weight
    /// in the distances. Earlier columns win, so the named features (events,
    /// product views, cart adds, ...) are kept over shares and one-hot
    /// levels; a two-level categorical keeps one of its two (perfectly
    /// anti-correlated) columns. Returns the matrix without the dropped
    /// columns.
    pub fn drop_redundant(
        &mut self,
        x: Array2<f64>,
        dropped: &mut Vec<DroppedFeature>,
    ) -> Array2<f64> {
        let p = x.ncols();
        let (keep, redundant) = scale::prune_redundant(&x, &(0..p).collect::<Vec<_>>());
        for r in &redundant {
            dropped.push(DroppedFeature {
                feature: self.columns[r.dropped].name.clone(),
                reason: format!(
                    "redundant: correlation {} with {}",
                    num(r.correlation),
                    code(&self.columns[r.kept].name)
                ),
            });
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
    use super::super::features::{Feature, Kind};
    use super::*;
    use crate::features::FeatureDef;

    /// A feature with this name and transform (the definitions are stand-ins).
    fn def(name: &str, t: Transform) -> FeatureDef {
        match t {
            Transform::Log1p => FeatureDef::EventCount {
                event: name.into(),
                per_session: false,
                label: Some(name.into()),
            },
            Transform::Indicator => FeatureDef::Property {
                column: "c".into(),
                value: name.into(),
            },
            _ => FeatureDef::Reached {
                event: name.into(),
                label: name.into(),
            },
        }
    }

    fn features(cols: &[(&str, Transform)], rows: &[&[f64]]) -> Features {
        Features {
            defs: cols
                .iter()
                .map(|(n, t)| Feature {
                    def: def(n, *t),
                    kind: Kind::Events,
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
