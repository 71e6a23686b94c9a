//! Difference-in-differences for a non-randomized rollout: an intervention
//! given to one group (a segment, a region) from a start date.
//!
//! Units are users seen before the start (first event < start). Each user's
//! metric over the pre window `[start − pre, start)` and the post window
//! `[start, start + post)` gives one first difference Δy = post − pre; the
//! estimate is mean(Δy | treated) − mean(Δy | control), which equals the
//! interaction coefficient of the two-way fixed-effects regression on the
//! two-period panel. Its standard error is clustered by user: with one
//! first difference per user, CRV1 with fixest's small-sample factors
//! (G/(G−1)·(N−1)/(N−K), N = G users, K = 2) is HC1 on the regression
//! Δy ~ 1 + treated, i.e. `sqrt(N/(N−2)·(S_T/n_T² + S_C/n_C²))` with S the
//! sum of squared deviations; t with G − 1 degrees of freedom (fixest's
//! `t.df = "min"`).
//!
//! Parallel trends: the same estimator on the two halves of the pre window
//! (a placebo rollout at its midpoint) must not be significant; the report
//! also lists each group's weekly mean over both windows.

use std::ops::Range;

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::metrics::Resolved;
use super::verdict::{Piece, plain};
use crate::ingest::EventTable;
use crate::stats::round6;

const WEEK_MS: i64 = 7 * 86_400_000;

#[derive(Debug, Clone, Copy)]
pub struct DidOptions {
    pub start_ms: i64,
    pub pre_ms: i64,
    pub post_ms: i64,
    pub alpha: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DidEstimate {
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p: f64,
    pub df: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct GroupMeans {
    pub users: u64,
    pub pre: f64,
    pub post: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Week {
    /// Weeks from the start (negative: before it).
    pub week: i64,
    pub treated: f64,
    pub control: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DidReport {
    pub metric: String,
    pub start: String,
    pub pre: String,
    pub post: String,
    pub alpha: f64,
    pub treated: GroupMeans,
    pub control: GroupMeans,
    /// Users first seen on or after the start: no pre-period, left out.
    pub excluded_new_users: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<DidEstimate>,
    /// The effect over the treated group's counterfactual post mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    /// The placebo: the pre window's second half against its first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placebo: Option<DidEstimate>,
    /// The placebo's interval covers 0.
    pub parallel_trends_plausible: Option<bool>,
    pub weeks: Vec<Week>,
    pub verdict: String,
}

/// Running sums of one group's first differences.
#[derive(Default, Clone, Copy)]
struct Acc {
    n: f64,
    s: f64,
    ss: f64,
}

impl Acc {
    fn add(&mut self, d: f64) {
        self.n += 1.0;
        self.s += d;
        self.ss += d * d;
    }
    fn mean(&self) -> f64 {
        if self.n > 0.0 { self.s / self.n } else { 0.0 }
    }
    /// Σ (d − mean)².
    fn dev2(&self) -> f64 {
        if self.n > 0.0 {
            (self.ss - self.s * self.s / self.n).max(0.0)
        } else {
            0.0
        }
    }
}

fn estimate(t: &Acc, c: &Acc, alpha: f64) -> Option<DidEstimate> {
    let g = t.n + c.n;
    if t.n < 2.0 || c.n < 2.0 {
        return None;
    }
    let v = g / (g - 2.0) * (t.dev2() / (t.n * t.n) + c.dev2() / (c.n * c.n));
    if v <= 0.0 {
        return None;
    }
    let se = v.sqrt();
    let est = t.mean() - c.mean();
    let df = g - 1.0;
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let q = dist.inverse_cdf(1.0 - alpha / 2.0);
    Some(DidEstimate {
        estimate: round6(est),
        se: round6(se),
        ci_low: round6(est - q * se),
        ci_high: round6(est + q * se),
        p: round6((2.0 * dist.sf((est / se).abs())).min(1.0)),
        df,
    })
}

fn window(t: &EventTable, r: &Range<usize>, m: &Resolved, from: i64, to: i64) -> f64 {
    let lo = r.start + t.ts[r.clone()].partition_point(|&x| x < from);
    let hi = r.start + t.ts[r.clone()].partition_point(|&x| x < to);
    m.value_of(t, lo..hi)
}

/// `treated[user code]`: whether the user is in the rollout group.
pub fn did(
    t: &EventTable,
    ranges: &[Range<usize>],
    treated: &[bool],
    metric: (&str, &Resolved),
    o: &DidOptions,
) -> DidReport {
    let (s, pre, post) = (o.start_ms, o.pre_ms, o.post_ms);
    let mid = s - pre / 2;
    let (mut dt, mut dc, mut pt, mut pc) = (
        Acc::default(),
        Acc::default(),
        Acc::default(),
        Acc::default(),
    );
    let (mut pre_t, mut pre_c) = (0.0, 0.0);
    let n_weeks_pre = (pre + WEEK_MS - 1) / WEEK_MS;
    let n_weeks_post = (post + WEEK_MS - 1) / WEEK_MS;
    let mut weekly = vec![(0.0, 0.0); (n_weeks_pre + n_weeks_post) as usize];
    let mut excluded = 0u64;
    for r in ranges.iter().filter(|r| !r.is_empty()) {
        if t.ts[r.start] >= s {
            excluded += 1;
            continue;
        }
        let is_t = treated
            .get(t.user[r.start] as usize)
            .copied()
            .unwrap_or(false);
        let y_pre = window(t, r, metric.1, s - pre, s);
        let y_post = window(t, r, metric.1, s, s + post);
        let (d, p, sum_pre) = if is_t {
            (&mut dt, &mut pt, &mut pre_t)
        } else {
            (&mut dc, &mut pc, &mut pre_c)
        };
        d.add(y_post - y_pre);
        *sum_pre += y_pre;
        p.add(window(t, r, metric.1, mid, s) - window(t, r, metric.1, s - pre, mid));
        for (k, w) in weekly.iter_mut().enumerate() {
            let from = s - n_weeks_pre * WEEK_MS + k as i64 * WEEK_MS;
            let y = window(t, r, metric.1, from, from + WEEK_MS);
            if is_t { w.0 += y } else { w.1 += y }
        }
    }
    let effect = estimate(&dt, &dc, o.alpha);
    let placebo = estimate(&pt, &pc, o.alpha);
    let means = |d: &Acc, sum_pre: f64| {
        let pre_mean = if d.n > 0.0 { sum_pre / d.n } else { 0.0 };
        GroupMeans {
            users: d.n as u64,
            pre: round6(pre_mean),
            post: round6(pre_mean + d.mean()),
        }
    };
    let treated_means = means(&dt, pre_t);
    let relative = effect.as_ref().and_then(|e| {
        let counterfactual = treated_means.post - e.estimate;
        (counterfactual.abs() > 1e-12).then(|| round6(e.estimate / counterfactual))
    });
    let trends = placebo
        .as_ref()
        .map(|p| p.ci_low <= 0.0 && 0.0 <= p.ci_high);
    let weeks = weekly
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| Week {
            week: k as i64 - n_weeks_pre,
            treated: round6(if dt.n > 0.0 { a / dt.n } else { 0.0 }),
            control: round6(if dc.n > 0.0 { b / dc.n } else { 0.0 }),
        })
        .collect();
    let pieces = verdict(metric.0, &effect, &placebo, trends, o.alpha);
    DidReport {
        metric: metric.0.to_string(),
        start: chrono::DateTime::from_timestamp_millis(s)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default(),
        pre: crate::duration::format_ms(pre),
        post: crate::duration::format_ms(post),
        alpha: o.alpha,
        treated: treated_means,
        control: means(&dc, pre_c),
        excluded_new_users: excluded,
        effect,
        relative,
        placebo,
        parallel_trends_plausible: trends,
        weeks,
        verdict: plain(&pieces),
    }
}

/// The verdict as words and the metric's name (see [`Piece`]).
pub fn verdict(
    metric: &str,
    effect: &Option<DidEstimate>,
    placebo: &Option<DidEstimate>,
    trends: Option<bool>,
    alpha: f64,
) -> Vec<Piece> {
    let conf = (1.0 - alpha) * 100.0;
    let t = |s: String| Piece::Text(s);
    let name = Piece::Name(metric.to_string());
    match (effect, trends) {
        (None, _) => vec![t("no estimate: each group needs at least 2 users seen before the start, and the first differences some variance".into())],
        (Some(e), Some(false)) => {
            let p = placebo.as_ref().expect("trends come from the placebo");
            vec![t(format!(
                "not trustworthy: the groups' trends already differed before the start (placebo {:+.4}, {conf:.0} % CI {:+.4} to {:+.4}), so the estimate {:+.4} mixes that in",
                p.estimate, p.ci_low, p.ci_high, e.estimate
            ))]
        }
        (Some(e), _) if e.ci_low > 0.0 || e.ci_high < 0.0 => vec![
            t("the rollout changed ".into()),
            name,
            t(format!(" by {:+.4} per user ({conf:.0} % CI {:+.4} to {:+.4})", e.estimate, e.ci_low, e.ci_high)),
        ],
        (Some(e), _) => vec![
            t("no significant change in ".into()),
            name,
            t(format!(": {:+.4} per user ({conf:.0} % CI {:+.4} to {:+.4})", e.estimate, e.ci_low, e.ci_high)),
        ],
    }
}
