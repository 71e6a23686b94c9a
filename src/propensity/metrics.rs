//! Evaluation of predicted probabilities against 0/1 labels: AUC (ties
//! count half), log loss, Brier score, precision and recall at a threshold,
//! a 10-bin calibration table and lift by decile.

use serde::{Deserialize, Serialize};

use crate::stats::round6;

/// Probabilities are clipped to [EPS, 1 − EPS] for the log loss (as scikit-learn).
const EPS: f64 = 1e-15;

/// Area under the ROC curve: the probability that a random positive scores
/// above a random negative, ties counting one half (Mann–Whitney with
/// average ranks). 0.5 when either class is empty.
pub fn auc(scores: &[f64], y: &[bool]) -> f64 {
    let n = scores.len();
    let pos = y.iter().filter(|&&b| b).count();
    let neg = n - pos;
    if pos == 0 || neg == 0 {
        return 0.5;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg = (i + j + 2) as f64 / 2.0;
        for &k in &idx[i..=j] {
            if y[k] {
                rank_sum_pos += avg;
            }
        }
        i = j + 1;
    }
    let (p, q) = (pos as f64, neg as f64);
    (rank_sum_pos - p * (p + 1.0) / 2.0) / (p * q)
}

/// Midranks (1-based, ties share their average) of `v`.
fn midranks(v: &[f64]) -> Vec<f64> {
    let n = v.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j + 2) as f64 / 2.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// The AUC's 95% confidence interval by DeLong's method (DeLong, DeLong &
/// Clarke-Pearson 1988, with Sun & Xu's midrank computation): the AUC's
/// variance from each positive's and each negative's share of the pairs it
/// wins, so no resampling and no seed. `None` with fewer than 2 of either
/// class.
pub fn auc_ci(scores: &[f64], y: &[bool]) -> Option<(f64, f64)> {
    let pos: Vec<f64> = scores
        .iter()
        .zip(y)
        .filter(|(_, b)| **b)
        .map(|(s, _)| *s)
        .collect();
    let neg: Vec<f64> = scores
        .iter()
        .zip(y)
        .filter(|(_, b)| !**b)
        .map(|(s, _)| *s)
        .collect();
    let (m, n) = (pos.len(), neg.len());
    if m < 2 || n < 2 {
        return None;
    }
    let all: Vec<f64> = pos.iter().chain(&neg).copied().collect();
    let r_all = midranks(&all);
    let (r_pos, r_neg) = (midranks(&pos), midranks(&neg));
    // Each positive's share of negatives it outscores, and each negative's
    // share of positives that outscore it.
    let v10: Vec<f64> = (0..m).map(|i| (r_all[i] - r_pos[i]) / n as f64).collect();
    let v01: Vec<f64> = (0..n)
        .map(|j| 1.0 - (r_all[m + j] - r_neg[j]) / m as f64)
        .collect();
    let auc = v10.iter().sum::<f64>() / m as f64;
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    };
    let se = (var(&v10) / m as f64 + var(&v01) / n as f64).sqrt();
    let z = crate::stats::normal_quantile(0.975);
    Some(((auc - z * se).max(0.0), (auc + z * se).min(1.0)))
}

/// Mean negative log-likelihood.
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    if p.is_empty() {
        return 0.0;
    }
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| {
            let p = p.clamp(EPS, 1.0 - EPS);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    s / p.len() as f64
}

/// Mean squared difference between probability and outcome.
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    if p.is_empty() {
        return 0.0;
    }
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    s / p.len() as f64
}

/// (precision, recall) when `p ≥ threshold` predicts positive. Precision is
/// 0 when nothing is predicted positive.
pub fn precision_recall(p: &[f64], y: &[bool], threshold: f64) -> (f64, f64) {
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for (&p, &y) in p.iter().zip(y) {
        match (p >= threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
    }
    let prec = if tp + fp == 0 {
        0.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let rec = if tp + fn_ == 0 {
        0.0
    } else {
        tp as f64 / (tp + fn_) as f64
    };
    (prec, rec)
}

/// The threshold with the best F1 (positive when `p ≥ threshold`); among
/// equal F1 the higher threshold. 0.5 without positives.
pub fn best_f1_threshold(p: &[f64], y: &[bool]) -> f64 {
    let pos = y.iter().filter(|&&b| b).count() as f64;
    if pos == 0.0 {
        return 0.5;
    }
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let (mut tp, mut fp) = (0.0, 0.0);
    let (mut best, mut best_t) = (-1.0, 0.5);
    let mut i = 0;
    while i < idx.len() {
        let v = p[idx[i]];
        while i < idx.len() && p[idx[i]] == v {
            if y[idx[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        let f1 = 2.0 * tp / (2.0 * tp + fp + (pos - tp));
        if f1 > best {
            best = f1;
            best_t = v;
        }
    }
    best_t
}

/// The figures for one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Metrics {
    pub users: u64,
    pub positives: u64,
    pub base_rate: f64,
    pub auc: f64,
    pub log_loss: f64,
    pub brier: f64,
    pub precision: f64,
    pub recall: f64,
}

impl Metrics {
    pub fn of(p: &[f64], y: &[bool], threshold: f64) -> Metrics {
        let positives = y.iter().filter(|&&b| b).count() as u64;
        let (precision, recall) = precision_recall(p, y, threshold);
        Metrics {
            users: y.len() as u64,
            positives,
            base_rate: round6(if y.is_empty() {
                0.0
            } else {
                positives as f64 / y.len() as f64
            }),
            auc: round6(auc(p, y)),
            log_loss: round6(log_loss(p, y)),
            brier: round6(brier(p, y)),
            precision: round6(precision),
            recall: round6(recall),
        }
    }

    /// The element-wise mean and standard deviation (population) of several.
    pub fn mean_sd(ms: &[Metrics]) -> (Metrics, MetricsSd) {
        let n = ms.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Metrics) -> f64| ms.iter().map(f).sum::<f64>() / n;
        let sd = |f: &dyn Fn(&Metrics) -> f64| {
            let m = mean(f);
            (ms.iter().map(|x| (f(x) - m).powi(2)).sum::<f64>() / n).sqrt()
        };
        let m = Metrics {
            users: ms.iter().map(|m| m.users).sum(),
            positives: ms.iter().map(|m| m.positives).sum(),
            base_rate: round6(mean(&|m| m.base_rate)),
            auc: round6(mean(&|m| m.auc)),
            log_loss: round6(mean(&|m| m.log_loss)),
            brier: round6(mean(&|m| m.brier)),
            precision: round6(mean(&|m| m.precision)),
            recall: round6(mean(&|m| m.recall)),
        };
        let s = MetricsSd {
            auc: round6(sd(&|m| m.auc)),
            log_loss: round6(sd(&|m| m.log_loss)),
            brier: round6(sd(&|m| m.brier)),
        };
        (m, s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricsSd {
    pub auc: f64,
    pub log_loss: f64,
    pub brier: f64,
}

/// One bin of predicted probability, [lo, hi) (the last bin includes 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CalibrationBin {
    pub lo: f64,
    pub hi: f64,
    pub users: u64,
    pub mean_predicted: Option<f64>,
    pub observed_rate: Option<f64>,
}

/// Ten equal-width bins over [0, 1].
pub fn calibration(p: &[f64], y: &[bool]) -> Vec<CalibrationBin> {
    const BINS: usize = 10;
    let mut n = [0u64; BINS];
    let mut sum_p = [0.0f64; BINS];
    let mut pos = [0u64; BINS];
    for (&p, &y) in p.iter().zip(y) {
        let b = ((p * BINS as f64).floor() as usize).min(BINS - 1);
        n[b] += 1;
        sum_p[b] += p;
        pos[b] += u64::from(y);
    }
    (0..BINS)
        .map(|b| CalibrationBin {
            lo: round6(b as f64 / BINS as f64),
            hi: round6((b + 1) as f64 / BINS as f64),
            users: n[b],
            mean_predicted: (n[b] > 0).then(|| round6(sum_p[b] / n[b] as f64)),
            observed_rate: (n[b] > 0).then(|| round6(pos[b] as f64 / n[b] as f64)),
        })
        .collect()
}

/// One tenth of users by descending score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiftDecile {
    /// 1 = the highest scores.
    pub decile: u32,
    pub users: u64,
    pub positives: u64,
    pub rate: f64,
    /// rate / overall rate.
    pub lift: f64,
    /// Share of all positives in deciles 1..=this one.
    pub cumulative_capture: f64,
    pub min_score: f64,
    pub max_score: f64,
}

/// Users sorted by score (highest first; ties in input order), cut into ten
/// groups of ⌊n/10⌋ or ⌈n/10⌉.
pub fn lift(p: &[f64], y: &[bool]) -> Vec<LiftDecile> {
    let n = p.len();
    if n == 0 {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let total_pos = y.iter().filter(|&&b| b).count() as f64;
    let overall = total_pos / n as f64;
    let mut cum = 0u64;
    (0..10)
        .filter_map(|d| {
            let (lo, hi) = (d * n / 10, (d + 1) * n / 10);
            if lo == hi {
                return None;
            }
            let part = &idx[lo..hi];
            let positives = part.iter().filter(|&&i| y[i]).count() as u64;
            cum += positives;
            let rate = positives as f64 / part.len() as f64;
            Some(LiftDecile {
                decile: d as u32 + 1,
                users: part.len() as u64,
                positives,
                rate: round6(rate),
                lift: round6(if overall > 0.0 { rate / overall } else { 0.0 }),
                cumulative_capture: round6(if total_pos > 0.0 {
                    cum as f64 / total_pos
                } else {
                    0.0
                }),
                min_score: round6(p[part[part.len() - 1]]),
                max_score: round6(p[part[0]]),
            })
        })
        .collect()
}
