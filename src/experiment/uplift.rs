//! Who should get the intervention? A T-learner on pre-exposure behaviour:
//! one L2 logistic model per arm (the propensity model's Newton solver) on
//! the shared feature layer's measures of each user's history before
//! exposure, cross-fitted over two seeded folds so every user's uplift
//! p̂_treatment(x) − p̂_baseline(x) comes from models that never saw them.
//!
//! Evaluation on the out-of-fold scores, with both libraries' numbers named:
//! * `qini_coefficient_vs_perfect`: scikit-uplift's `qini_auc_score`
//!   (ties grouped at distinct scores, curve `Y_t − Y_c·N_t/N_c`, area over
//!   the random line divided by the perfect curve's, perfect with negative
//!   effects ordering by y·t − y·(1 − t));
//! * `qini_area_normalized_by_total`: causalml's `qini_score(normalize=True)`
//!   (no tie grouping, each curve divided by its last value, the theoretical
//!   random line, (Σ model − Σ random)/rows);
//! * `uplift_at_k`: scikit-uplift's `uplift_at_k(strategy="overall")`.

use ndarray::Array2;
use serde::Serialize;

use crate::features::{Events, Extractor, FeatureDef, RowScratch, Unit};
use crate::ingest::EventTable;
use crate::propensity::model::{Linear, fit, sigmoid};
use crate::rng::Rng;
use crate::sessions::Sessions;
use crate::stats::round6;

/// Event counts among the features: the most common pre-exposure events.
const TOP_EVENTS: usize = 20;
const L2: f64 = 1.0;

/// One user of the pair: event range before exposure, exposure time,
/// first event, whether treated, the 0/1 outcome.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub user: u32,
    pub pre: (usize, usize),
    pub at: i64,
    pub first: i64,
    pub treated: bool,
    pub y: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CurvePoint {
    /// Share of users targeted, best uplift first.
    pub share: f64,
    pub qini: f64,
    pub uplift: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct UpliftReport {
    pub metric: String,
    pub treatment: String,
    pub baseline: String,
    pub users: u64,
    pub features: Vec<String>,
    pub qini_coefficient_vs_perfect: f64,
    pub qini_area_normalized_by_total: f64,
    pub k: f64,
    pub uplift_at_k: Option<f64>,
    /// The observed lift in the whole pair (the random-targeting line's end).
    pub overall_uplift: f64,
    pub curve: Vec<CurvePoint>,
    pub seed: u64,
    /// The value of treating the top `k` by uplift.
    pub policy: PolicyValue,
}

/// Per-user scores, for `--uplift-out`.
pub struct Scored {
    pub user: u32,
    pub treated: bool,
    pub y: bool,
    pub uplift: f64,
    pub p_treatment: f64,
    pub p_baseline: f64,
}

fn defs(t: &EventTable, rows: &[Row]) -> Vec<FeatureDef> {
    let units: Vec<Events> = rows
        .iter()
        .map(|r| Events::Range(r.pre.0, r.pre.1))
        .collect();
    let per_event = crate::features::extract::units_per_event(t, &units);
    let mut codes: Vec<u32> = (0..per_event.len() as u32)
        .filter(|&c| per_event[c as usize] > 0)
        .collect();
    codes.sort_by(|&a, &b| {
        per_event[b as usize]
            .cmp(&per_event[a as usize])
            .then(a.cmp(&b))
    });
    let mut out = vec![
        FeatureDef::Events { per_session: false },
        FeatureDef::Sessions,
        FeatureDef::ActiveDays,
        FeatureDef::RecencyHours,
        FeatureDef::TenureHours,
    ];
    out.extend(
        codes
            .into_iter()
            .take(TOP_EVENTS)
            .map(|c| FeatureDef::EventCount {
                event: t.event_names.get(c).to_string(),
                per_session: false,
                label: None,
            }),
    );
    out
}

/// ln(1 + x) of every raw measure (all are non-negative), standardized.
fn matrix(
    t: &EventTable,
    sessions: &Sessions,
    rows: &[Row],
    defs: &[FeatureDef],
) -> anyhow::Result<Array2<f64>> {
    let (ex, _missing) = Extractor::new(
        t,
        sessions,
        defs,
        crate::features::extract::FunnelSource::None,
    )?;
    let w = ex.width();
    let mut x = Array2::<f64>::zeros((rows.len(), w));
    let mut scratch = RowScratch::default();
    let mut buf = vec![0.0; w];
    for (i, r) in rows.iter().enumerate() {
        let unit = Unit {
            events: Events::Range(r.pre.0, r.pre.1),
            cutoff_ts: r.at,
            first_ts: r.first,
            level: None,
        };
        ex.row(&unit, &mut scratch, &mut buf);
        for (j, v) in buf.iter().enumerate() {
            x[[i, j]] = v.max(0.0).ln_1p();
        }
    }
    for j in 0..w {
        let col = x.column(j);
        let mean = col.mean().unwrap_or(0.0);
        let sd = col.std(0.0);
        let sd = if sd > 0.0 { sd } else { 1.0 };
        x.column_mut(j).mapv_inplace(|v| (v - mean) / sd);
    }
    Ok(x)
}

/// A model of one arm on the training rows; the base rate when the rows
/// hold one class only.
enum Model {
    Fitted(Linear),
    Constant(f64),
}

impl Model {
    fn train(x: &Array2<f64>, idx: &[usize], y: &[bool]) -> anyhow::Result<Model> {
        let ys: Vec<bool> = idx.iter().map(|&i| y[i]).collect();
        let pos = ys.iter().filter(|&&b| b).count();
        if idx.is_empty() {
            return Ok(Model::Constant(0.0));
        }
        if pos == 0 || pos == ys.len() {
            return Ok(Model::Constant(pos as f64 / ys.len() as f64));
        }
        let sub = x.select(ndarray::Axis(0), idx);
        Ok(Model::Fitted(fit(sub.view(), &ys, L2, 1, None)?))
    }
    fn predict(&self, row: &[f64]) -> f64 {
        match self {
            Model::Fitted(l) => sigmoid(l.b + l.w.iter().zip(row).map(|(w, v)| w * v).sum::<f64>()),
            Model::Constant(p) => *p,
        }
    }
}

/// Cross-fitted T-learner scores for the rows (two folds drawn with `seed`).
pub fn score(
    t: &EventTable,
    sessions: &Sessions,
    rows: &[Row],
    seed: u64,
) -> anyhow::Result<(Vec<Scored>, Vec<String>)> {
    let defs = defs(t, rows);
    let names: Vec<String> = defs.iter().map(|d| d.name()).collect();
    let x = matrix(t, sessions, rows, &defs)?;
    let y: Vec<bool> = rows.iter().map(|r| r.y).collect();
    // Folds by a seeded draw per user code: independent of row order.
    let fold: Vec<usize> = rows
        .iter()
        .map(|r| (Rng::for_stream(seed, u64::from(r.user)).next_u64() & 1) as usize)
        .collect();
    let mut out: Vec<Scored> = rows
        .iter()
        .map(|r| Scored {
            user: r.user,
            treated: r.treated,
            y: r.y,
            uplift: 0.0,
            p_treatment: 0.0,
            p_baseline: 0.0,
        })
        .collect();
    for held in 0..2 {
        let train = |treated: bool| -> Vec<usize> {
            (0..rows.len())
                .filter(|&i| fold[i] != held && rows[i].treated == treated)
                .collect()
        };
        let mt = Model::train(&x, &train(true), &y)?;
        let mc = Model::train(&x, &train(false), &y)?;
        for i in (0..rows.len()).filter(|&i| fold[i] == held) {
            let row = x.row(i);
            let row = row.as_slice().expect("standard layout");
            let (pt, pc) = (mt.predict(row), mc.predict(row));
            out[i].uplift = pt - pc;
            out[i].p_treatment = pt;
            out[i].p_baseline = pc;
        }
    }
    Ok((out, names))
}

/// Indices by score, highest first, ties in reverse input order:
/// scikit-uplift's `np.argsort(score, kind="mergesort")[::-1]`.
fn best_first(score: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]).then(a.cmp(&b)));
    order.reverse();
    order
}

fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(a, b)| (a[1] - a[0]) * (b[0] + b[1]) / 2.0)
        .sum()
}

/// scikit-uplift's `qini_curve`: (users targeted, qini value) at each
/// distinct score, best first, from (0, 0).
pub fn qini_curve(y: &[bool], score: &[f64], treated: &[bool]) -> (Vec<f64>, Vec<f64>) {
    let order = best_first(score);
    let (mut nt, mut yt, mut yc) = (0.0, 0.0, 0.0);
    let (mut xs, mut qs) = (vec![0.0], vec![0.0]);
    for (k, &i) in order.iter().enumerate() {
        if treated[i] {
            nt += 1.0;
            yt += f64::from(u8::from(y[i]));
        } else {
            yc += f64::from(u8::from(y[i]));
        }
        let last = k + 1 == order.len() || score[order[k + 1]] != score[i];
        if last {
            let n = (k + 1) as f64;
            let nc = n - nt;
            xs.push(n);
            qs.push(yt - if nc > 0.0 { yc * nt / nc } else { 0.0 });
        }
    }
    (xs, qs)
}

/// scikit-uplift's `qini_auc_score` (negative_effect=True).
pub fn qini_coefficient(y: &[bool], score: &[f64], treated: &[bool]) -> f64 {
    let (xa, ya) = qini_curve(y, score, treated);
    let perfect: Vec<f64> = y
        .iter()
        .zip(treated)
        .map(|(&yi, &ti)| {
            let v = f64::from(u8::from(yi));
            if ti { v } else { -v }
        })
        .collect();
    let (xp, yp) = qini_curve(y, &perfect, treated);
    let (xe, ye) = (*xp.last().unwrap_or(&0.0), *yp.last().unwrap_or(&0.0));
    let random = trapezoid(&[0.0, xe], &[0.0, ye]);
    let denom = trapezoid(&xp, &yp) - random;
    if denom == 0.0 {
        0.0
    } else {
        (trapezoid(&xa, &ya) - random) / denom
    }
}

/// causalml's `qini_score(normalize=True)` with the theoretical random line.
pub fn qini_normalized_by_total(y: &[bool], score: &[f64], treated: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let (mut nt, mut nc, mut yt, mut yc) = (0.0, 0.0, 0.0, 0.0);
    let mut q = vec![0.0];
    for &i in &order {
        let v = f64::from(u8::from(y[i]));
        if treated[i] {
            nt += 1.0;
            yt += v
        } else {
            nc += 1.0;
            yc += v
        }
        q.push(yt - if nc > 0.0 { yc * nt / nc } else { 0.0 });
    }
    let last = *q.last().unwrap_or(&0.0);
    if last == 0.0 {
        return 0.0;
    }
    let n = (q.len() - 1) as f64;
    let total: f64 = q
        .iter()
        .enumerate()
        .map(|(i, v)| v / last.abs() - (i as f64 / n) * last / last.abs())
        .sum();
    total / q.len() as f64
}

/// scikit-uplift's `uplift_at_k(strategy="overall")`: the treated minus the
/// control response rate among the top k share by score; `None` when one
/// group is absent from the top.
pub fn uplift_at_k(y: &[bool], score: &[f64], treated: &[bool], k: f64) -> Option<f64> {
    let order = best_first(score);
    // int(n · k), as scikit-uplift truncates.
    let top = ((y.len() as f64) * k) as usize;
    let (mut nt, mut yt, mut nc, mut yc) = (0.0, 0.0, 0.0, 0.0);
    for &i in order.iter().take(top) {
        let v = f64::from(u8::from(y[i]));
        if treated[i] {
            nt += 1.0;
            yt += v
        } else {
            nc += 1.0;
            yc += v
        }
    }
    (nt > 0.0 && nc > 0.0).then(|| yt / nt - yc / nc)
}

/// The evaluation of out-of-fold scores.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    metric: &str,
    treatment: &str,
    baseline: &str,
    rows: &[Row],
    scored: &[Scored],
    features: Vec<String>,
    k: f64,
    seed: u64,
    propensity: f64,
    alpha: f64,
) -> UpliftReport {
    let y: Vec<bool> = rows.iter().map(|r| r.y).collect();
    let tr: Vec<bool> = rows.iter().map(|r| r.treated).collect();
    let s: Vec<f64> = scored.iter().map(|x| x.uplift).collect();
    let (xs, qs) = qini_curve(&y, &s, &tr);
    let n = rows.len() as f64;
    let rate = |treated: bool| {
        let (c, p) = rows
            .iter()
            .filter(|r| r.treated == treated)
            .fold((0.0, 0.0), |(c, p), r| {
                (c + 1.0, p + f64::from(u8::from(r.y)))
            });
        if c > 0.0 { p / c } else { 0.0 }
    };
    let curve = (1..=10)
        .map(|d| {
            let share = d as f64 / 10.0;
            let target = n * share;
            let at = xs.iter().position(|&x| x >= target).unwrap_or(xs.len() - 1);
            let up = uplift_at_k(&y, &s, &tr, share).unwrap_or(0.0);
            CurvePoint {
                share,
                qini: round6(qs[at]),
                uplift: round6(up * xs[at]),
            }
        })
        .collect();
    UpliftReport {
        metric: metric.to_string(),
        treatment: treatment.to_string(),
        baseline: baseline.to_string(),
        users: rows.len() as u64,
        features,
        qini_coefficient_vs_perfect: round6(qini_coefficient(&y, &s, &tr)),
        qini_area_normalized_by_total: round6(qini_normalized_by_total(&y, &s, &tr)),
        k,
        uplift_at_k: uplift_at_k(&y, &s, &tr, k).map(round6),
        overall_uplift: round6(rate(true) - rate(false)),
        curve,
        seed,
        policy: policy_value(rows, scored, propensity, k, seed, alpha),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // maks-sh/scikit-uplift sklift/tests/test_metrics.py::test_qini_auc_score,
    // the two asserts that run (the later ones sit after a raising call
    // inside pytest.raises and never execute).
    #[test]
    fn sklift_qini_auc_score_fixtures() {
        assert_eq!(
            qini_coefficient(&[false, true], &[0.1, 0.3], &[true, false]),
            1.0
        );
        assert_eq!(
            qini_coefficient(&[true, false], &[0.1, 0.3], &[false, true]),
            1.0
        );
    }

    #[test]
    fn policy_value_of_treating_everyone_is_the_treated_mean() {
        let rows: Vec<Row> = (0..40)
            .map(|i| Row {
                user: i,
                pre: (0, 0),
                at: 0,
                first: 0,
                treated: i % 2 == 0,
                y: i % 5 == 0,
            })
            .collect();
        let scored: Vec<Scored> = rows
            .iter()
            .map(|r| Scored {
                user: r.user,
                treated: r.treated,
                y: r.y,
                uplift: 0.1,
                p_treatment: 0.3,
                p_baseline: 0.2,
            })
            .collect();
        let treated_mean = rows.iter().filter(|r| r.treated && r.y).count() as f64 / 20.0;
        let v = policy_value(&rows, &scored, 0.5, 1.0, 7, 0.05);
        // k = 1: everyone is treated; with the true propensity IPW and
        // SNIPW are the treated arm's mean, DR equals the treat-all value.
        assert!(
            (v.ipw - treated_mean).abs() < 1e-9 && (v.snipw - treated_mean).abs() < 1e-9,
            "{v:?}"
        );
        assert!((v.dr - v.treat_all).abs() < 1e-12 && v.gain_vs_all == 0.0);
        assert!(v.dr_ci[0] <= v.dr && v.dr <= v.dr_ci[1]);
        assert_eq!(
            v,
            policy_value(&rows, &scored, 0.5, 1.0, 7, 0.05),
            "seeded: identical reruns"
        );
    }

    #[test]
    fn perfect_and_random_orderings() {
        // Treated responders first, control responders last: the perfect order.
        let y = [true, false, true, false, true, false, false, true];
        let t = [true, true, true, true, false, false, false, false];
        let perfect: Vec<f64> = y
            .iter()
            .zip(&t)
            .map(|(&a, &b)| {
                if b {
                    f64::from(u8::from(a))
                } else {
                    -f64::from(u8::from(a))
                }
            })
            .collect();
        assert!((qini_coefficient(&y, &perfect, &t) - 1.0).abs() < 1e-12);
        // One score for all: a single threshold, the random line itself.
        assert!(qini_coefficient(&y, &[0.5; 8], &t).abs() < 1e-12);
        // Over everyone: 2 of 4 treated and 2 of 4 controls respond.
        assert_eq!(uplift_at_k(&y, &perfect, &t, 1.0), Some(0.0));
        // The top quarter holds treated users only: no control rate.
        assert_eq!(uplift_at_k(&y, &perfect, &t, 0.25), None);
        // The top three quarters: 2 of 4 treated respond, 0 of 2 controls.
        assert_eq!(uplift_at_k(&y, &perfect, &t, 0.75), Some(0.5));
    }
}

/// The value (mean outcome per user) of "treat the top k share by uplift,
/// give the rest the baseline", estimated on the randomized data where the
/// logging propensity is known: π_b(treatment) = the treatment arm's planned
/// share of the pair (Open Bandit Pipeline's estimators, without clipping).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PolicyValue {
    pub k: f64,
    /// π_b(treatment), from the arms' weights.
    pub propensity: f64,
    pub ipw: f64,
    pub snipw: f64,
    /// Direct method: the T-learner's own predictions.
    pub dm: f64,
    /// Doubly robust, with its bootstrap interval.
    pub dr: f64,
    pub dr_ci: [f64; 2],
    /// DR value of treating everyone and of treating no one.
    pub treat_all: f64,
    pub treat_none: f64,
    /// DR gain of the targeted policy over treating everyone / no one, with
    /// bootstrap intervals (the same resamples).
    pub gain_vs_all: f64,
    pub gain_vs_all_ci: [f64; 2],
    pub gain_vs_none: f64,
    pub gain_vs_none_ci: [f64; 2],
    pub resamples: u32,
    pub seed: u64,
    pub alpha: f64,
}

/// Resamples of the seeded bootstrap (Open Bandit Pipeline draws 10,000;
/// 2,000 keep a report on 10M events quick, and the intervals' ends move
/// by well under their width).
pub const RESAMPLES: u32 = 2000;

/// Per-user DR terms of one policy: q̂(x, π(x)) + 1{A = π(x)}/π_b(A)·(y − q̂(x, A)).
fn dr_term(r: &Row, s: &Scored, treat: bool, pt: f64) -> f64 {
    let q = |t: bool| if t { s.p_treatment } else { s.p_baseline };
    let y = f64::from(u8::from(r.y));
    let pb = if r.treated { pt } else { 1.0 - pt };
    q(treat)
        + if r.treated == treat {
            (y - q(r.treated)) / pb
        } else {
            0.0
        }
}

pub fn policy_value(
    rows: &[Row],
    scored: &[Scored],
    pt: f64,
    k: f64,
    seed: u64,
    alpha: f64,
) -> PolicyValue {
    let n = rows.len();
    // The top int(n·k) users by uplift (the same order as uplift_at_k).
    let uplift: Vec<f64> = scored.iter().map(|x| x.uplift).collect();
    let order = best_first(&uplift);
    let mut treat = vec![false; n];
    for &i in order.iter().take(((n as f64) * k) as usize) {
        treat[i] = true;
    }
    let nf = n.max(1) as f64;
    let (mut ipw, mut wsum, mut dm) = (0.0, 0.0, 0.0);
    let mut terms = Vec::with_capacity(n);
    for i in 0..n {
        let (r, s) = (&rows[i], &scored[i]);
        let pb = if r.treated { pt } else { 1.0 - pt };
        let w = if r.treated == treat[i] { 1.0 / pb } else { 0.0 };
        ipw += w * f64::from(u8::from(r.y));
        wsum += w;
        dm += if treat[i] {
            s.p_treatment
        } else {
            s.p_baseline
        };
        terms.push([
            dr_term(r, s, treat[i], pt),
            dr_term(r, s, true, pt),
            dr_term(r, s, false, pt),
        ]);
    }
    let mean = |idx: &mut dyn Iterator<Item = usize>| {
        let mut acc = [0.0; 3];
        let mut c = 0.0;
        for i in idx {
            for j in 0..3 {
                acc[j] += terms[i][j];
            }
            c += 1.0;
        }
        acc.map(|a| if c > 0.0 { a / c } else { 0.0 })
    };
    let full = mean(&mut (0..n));
    let mut rng = Rng::new(seed ^ 0x706f_6c69_6379);
    let mut boot: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..RESAMPLES {
        if n == 0 {
            break;
        }
        let m = mean(&mut (0..n).map(|_| rng.below(n as u64) as usize));
        boot[0].push(m[0]);
        boot[1].push(m[0] - m[1]);
        boot[2].push(m[0] - m[2]);
    }
    let ci = |v: &mut Vec<f64>| -> [f64; 2] {
        if v.is_empty() {
            return [0.0, 0.0];
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| crate::stats::nearest_rank(v, p);
        [round6(q(alpha / 2.0)), round6(q(1.0 - alpha / 2.0))]
    };
    let [mut b0, mut b1, mut b2] = boot;
    PolicyValue {
        k,
        propensity: round6(pt),
        ipw: round6(ipw / nf),
        snipw: round6(if wsum > 0.0 { ipw / wsum } else { 0.0 }),
        dm: round6(dm / nf),
        dr: round6(full[0]),
        dr_ci: ci(&mut b0),
        treat_all: round6(full[1]),
        treat_none: round6(full[2]),
        gain_vs_all: round6(full[0] - full[1]),
        gain_vs_all_ci: ci(&mut b1),
        gain_vs_none: round6(full[0] - full[2]),
        gain_vs_none_ci: ci(&mut b2),
        resamples: if n == 0 { 0 } else { RESAMPLES },
        seed,
        alpha,
    }
}
