//! Fairness of a model's decisions by group, as fairlearn's `MetricFrame`
//! and its disparity metrics define them (`metrics/_fairness_metrics.py`):
//! per group n, base rate, selection rate, TPR, FPR, precision and AUC; the
//! demographic-parity difference and ratio (selection rates) and the
//! equalized-odds difference (the larger of the TPR and FPR differences)
//! and ratio (the smaller of the two ratios), each `between_groups` (max −
//! min, min / max) and `to_overall`; seeded bootstrap intervals over rows.
//!
//! `analysis.rs` applies it to the propensity model's hold-out decisions.

pub mod analysis;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Groups below this size are flagged (kept, never dropped).
pub const SMALL_GROUP: u64 = 100;
/// The group of users without a value of the column.
pub const NONE: &str = "(none)";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupMetrics {
    pub group: String,
    pub n: u64,
    pub base_rate: f64,
    pub selection_rate: f64,
    /// None when the group has no positive (TPR) or no negative (FPR).
    pub tpr: Option<f64>,
    pub fpr: Option<f64>,
    /// None when the group has no selected user.
    pub precision: Option<f64>,
    pub auc: Option<f64>,
    /// Expected calibration error over ten equal-width score bins:
    /// Σ_b (n_b/n)·|mean score − observed rate|.
    pub calibration_error: Option<f64>,
    pub small: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Disparity {
    pub difference: f64,
    pub ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fairness {
    pub overall: GroupMetrics,
    pub groups: Vec<GroupMetrics>,
    pub demographic_parity: Disparity,
    pub demographic_parity_to_overall: Disparity,
    /// None when some group lacks positives or negatives.
    pub equalized_odds: Option<Disparity>,
}

fn metrics(
    name: &str,
    rows: &[usize],
    y: &[bool],
    pred: &[bool],
    score: Option<&[f64]>,
) -> GroupMetrics {
    let n = rows.len() as u64;
    let (mut tp, mut fp, mut pos, mut sel) = (0u64, 0u64, 0u64, 0u64);
    for &i in rows {
        pos += u64::from(y[i]);
        sel += u64::from(pred[i]);
        tp += u64::from(y[i] && pred[i]);
        fp += u64::from(!y[i] && pred[i]);
    }
    let neg = n - pos;
    let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    let calibration_error = score.filter(|_| n > 0).map(|s| {
        let mut bins = [(0u64, 0.0f64, 0u64); 10];
        for &i in rows {
            let b = ((s[i] * 10.0).floor() as usize).min(9);
            bins[b].0 += 1;
            bins[b].1 += s[i];
            bins[b].2 += u64::from(y[i]);
        }
        bins.iter()
            .filter(|b| b.0 > 0)
            .map(|&(k, sp, pos)| {
                k as f64 / n as f64 * (sp / k as f64 - pos as f64 / k as f64).abs()
            })
            .sum()
    });
    let auc = score.and_then(|s| {
        (pos > 0 && neg > 0).then(|| {
            let sc: Vec<f64> = rows.iter().map(|&i| s[i]).collect();
            let yy: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
            crate::propensity::metrics::auc(&sc, &yy)
        })
    });
    GroupMetrics {
        group: name.to_string(),
        n,
        base_rate: rate(pos, n).unwrap_or(0.0),
        selection_rate: rate(sel, n).unwrap_or(0.0),
        tpr: rate(tp, pos),
        fpr: rate(fp, neg),
        precision: rate(tp, sel),
        auc,
        calibration_error,
        small: n < SMALL_GROUP,
    }
}

fn between(v: &[f64]) -> Disparity {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    Disparity {
        difference: max - min,
        ratio: if max > 0.0 { min / max } else { 1.0 },
    }
}

/// Fairness of decisions `pred` against outcomes `y` over `groups` (one
/// name per row; groups in name order). `score` adds per-group AUC.
pub fn assess(y: &[bool], pred: &[bool], score: Option<&[f64]>, groups: &[&str]) -> Fairness {
    let mut names: Vec<&str> = groups.to_vec();
    names.sort_unstable();
    names.dedup();
    let all: Vec<usize> = (0..y.len()).collect();
    let overall = metrics("(all)", &all, y, pred, score);
    let per: Vec<GroupMetrics> = names
        .iter()
        .map(|g| {
            let rows: Vec<usize> = (0..y.len()).filter(|&i| groups[i] == *g).collect();
            metrics(g, &rows, y, pred, score)
        })
        .collect();
    let sel: Vec<f64> = per.iter().map(|g| g.selection_rate).collect();
    let to_overall = {
        let d = sel
            .iter()
            .map(|s| (s - overall.selection_rate).abs())
            .fold(0.0, f64::max);
        let r = sel
            .iter()
            .map(|s| {
                let (a, b) = (s.min(overall.selection_rate), s.max(overall.selection_rate));
                if b > 0.0 { a / b } else { 1.0 }
            })
            .fold(1.0, f64::min);
        Disparity {
            difference: d,
            ratio: r,
        }
    };
    let tpr: Option<Vec<f64>> = per.iter().map(|g| g.tpr).collect();
    let fpr: Option<Vec<f64>> = per.iter().map(|g| g.fpr).collect();
    let equalized_odds = match (tpr, fpr) {
        (Some(t), Some(f)) => {
            let (a, b) = (between(&t), between(&f));
            Some(Disparity {
                difference: a.difference.max(b.difference),
                ratio: a.ratio.min(b.ratio),
            })
        }
        _ => None,
    };
    Fairness {
        overall,
        groups: per,
        demographic_parity: between(&sel),
        demographic_parity_to_overall: to_overall,
        equalized_odds,
    }
}

/// A seeded percentile bootstrap (rows resampled with replacement, one
/// random stream per replicate, so the intervals do not depend on threads)
/// of the demographic-parity and equalized-odds differences: 95 % intervals.
pub fn bootstrap(
    y: &[bool],
    pred: &[bool],
    groups: &[&str],
    n_boot: usize,
    seed: u64,
) -> ([f64; 2], Option<[f64; 2]>) {
    bootstrap_columns(y, pred, &[groups.to_vec()], n_boot, seed)[0]
}

/// [`bootstrap`] for several group columns at once: each replicate draws
/// its rows once and counts (group, outcome, decision) cells of every
/// column, so a replicate costs one random draw per row whatever the
/// number of columns.
pub fn bootstrap_columns(
    y: &[bool],
    pred: &[bool],
    columns: &[Vec<&str>],
    n_boot: usize,
    seed: u64,
) -> Vec<([f64; 2], Option<[f64; 2]>)> {
    let n = y.len() as u64;
    // Per column: the number of groups, and each row's cell.
    let cells: Vec<(usize, Vec<u32>)> = columns
        .iter()
        .map(|groups| {
            let mut names: Vec<&str> = groups.clone();
            names.sort_unstable();
            names.dedup();
            let cell = (0..y.len())
                .map(|i| {
                    let k = names.binary_search(&groups[i]).unwrap_or(0);
                    (k * 4 + usize::from(y[i]) * 2 + usize::from(pred[i])) as u32
                })
                .collect();
            (names.len(), cell)
        })
        .collect();
    let reps = crate::parallel::map_ranges(n_boot, |range| {
        let mut counts: Vec<Vec<u64>> = cells.iter().map(|(g, _)| vec![0u64; 4 * g]).collect();
        range
            .map(|b| {
                let mut rng = Rng::for_stream(seed, b as u64);
                counts.iter_mut().flatten().for_each(|c| *c = 0);
                for _ in 0..n {
                    let row = rng.below(n) as usize;
                    for (c, (_, cell)) in counts.iter_mut().zip(&cells) {
                        c[cell[row] as usize] += 1;
                    }
                }
                counts.iter().map(|c| differences(c)).collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    });
    let reps: Vec<Vec<(f64, Option<f64>)>> = reps.into_iter().flatten().collect();
    let ci = |mut v: Vec<f64>| -> [f64; 2] {
        v.sort_by(f64::total_cmp);
        [
            crate::stats::nearest_rank(&v, 0.025),
            crate::stats::nearest_rank(&v, 0.975),
        ]
    };
    (0..columns.len())
        .map(|k| {
            let dp: Vec<f64> = reps.iter().map(|r| r[k].0).collect();
            let eo: Vec<f64> = reps.iter().filter_map(|r| r[k].1).collect();
            // An interval only when most replicates define the difference.
            let eo_ci = (eo.len() * 2 >= n_boot && !eo.is_empty()).then(|| ci(eo));
            (if dp.is_empty() { [0.0, 0.0] } else { ci(dp) }, eo_ci)
        })
        .collect()
}

/// DP and EO differences from per-group cells [tn, fp, fn, tp] (index
/// y·2 + pred); groups absent from a replicate are left out, as fairlearn
/// would not see them.
fn differences(c: &[u64]) -> (f64, Option<f64>) {
    let (mut sel, mut tpr, mut fpr) = (Vec::new(), Vec::new(), Vec::new());
    let mut eo_defined = true;
    for k in c.chunks(4) {
        let (tn, fp, fneg, tp) = (k[0], k[1], k[2], k[3]);
        let n = tn + fp + fneg + tp;
        if n == 0 {
            continue;
        }
        sel.push((fp + tp) as f64 / n as f64);
        match (tp + fneg, tn + fp) {
            (p, q) if p > 0 && q > 0 => {
                tpr.push(tp as f64 / p as f64);
                fpr.push(fp as f64 / q as f64);
            }
            _ => eo_defined = false,
        }
    }
    let eo = eo_defined.then(|| between(&tpr).difference.max(between(&fpr).difference));
    (between(&sel).difference, eo)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fairlearn's docs (`common_fairness_metrics.rst`,
    /// `perform_fairness_assessment.rst`): DPD 0.25, DPR 0.6667, EOD 1.0,
    /// EOR 0.0, and the per-group table.
    #[test]
    fn fairlearn_s_18_row_example() {
        let b = |v: [u8; 18]| v.map(|x| x == 1).to_vec();
        let y = b([0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
        let p = b([0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0]);
        let sf: Vec<&str> = "b b a b b c c c a a c a b c c b c c".split(' ').collect();
        let f = assess(&y, &p, None, &sf);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4;
        assert!(close(f.demographic_parity.difference, 0.25));
        assert!(close(f.demographic_parity.ratio, 0.6667));
        let eo = f.equalized_odds.unwrap();
        assert!(close(eo.difference, 1.0));
        assert!(close(eo.ratio, 0.0));
        assert_eq!(f.overall.n, 18);
        assert!(close(f.overall.tpr.unwrap(), 0.5));
        assert!(close(f.overall.fpr.unwrap(), 0.6667));
        assert!(close(f.overall.selection_rate, 0.5556));
        let want = [
            ("a", 0.5, 1.0, 0.75, 4),
            ("b", 0.6, 0.0, 0.5, 6),
            ("c", 0.4, 0.6667, 0.5, 8),
        ];
        for (g, (name, tpr, fpr, sel, n)) in f.groups.iter().zip(want) {
            assert_eq!((g.group.as_str(), g.n), (name, n));
            assert!(close(g.tpr.unwrap(), tpr) && close(g.fpr.unwrap(), fpr));
            assert!(close(g.selection_rate, sel));
            assert!(g.small);
        }
        // Seeded: the same intervals twice, and they hold the estimate.
        let (dp, eo_ci) = bootstrap(&y, &p, &sf, 200, 7);
        assert_eq!((dp, eo_ci), bootstrap(&y, &p, &sf, 200, 7));
        assert!(dp[0] <= 0.25 && 0.25 <= dp[1], "{dp:?}");
    }

    #[test]
    fn a_group_of_one_and_a_constant_decision_give_numbers_not_nan() {
        let y = [true, false, true];
        let p = [true, true, true];
        let f = assess(&y, &p, Some(&[0.9, 0.8, 0.7]), &["x", "x", "y"]);
        assert_eq!(f.demographic_parity.difference, 0.0);
        assert_eq!(f.demographic_parity.ratio, 1.0);
        // Group y has no negative: its FPR (and so EOD) is undefined.
        assert!(f.equalized_odds.is_none());
        assert!(f.groups[1].auc.is_none());
    }
}
