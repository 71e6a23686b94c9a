//! `journeymap experiment plan`: the metric's mean and variance measured
//! on the export's history (each user's first `window` after their first
//! event), then GrowthBook's power formulas ([`super::power`]): users
//! needed for the target power, fixed-horizon and sequential, the days
//! that takes at the export's rate of new users, and the MDE at that size.

use std::ops::Range;

use serde::Serialize;

use super::metrics::Resolved;
use super::power::{Baseline, mde, sample_size};
use super::suff::Stat;
use crate::ingest::EventTable;
use crate::stats::round6;

const DAY_MS: f64 = 86_400_000.0;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MetricPlan {
    pub metric: String,
    /// Users whose baseline window closed inside the export.
    pub users: u64,
    pub mean: f64,
    pub variance: f64,
    /// All arms together, for the target power at the planned relative MDE.
    pub users_needed: Option<u64>,
    pub users_needed_sequential: Option<u64>,
    pub days_needed: Option<f64>,
    pub days_needed_sequential: Option<f64>,
    /// The smallest relative lift detectable (at the target power) if as
    /// many users as the export holds were split over the arms.
    pub mde_at_export_traffic: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Plan {
    pub mde: f64,
    pub power: f64,
    pub alpha: f64,
    pub arms: usize,
    pub sequential_tuning: f64,
    pub window: String,
    /// Distinct users whose first event falls in the export, per day.
    pub new_users_per_day: f64,
    pub export_days: f64,
    pub metrics: Vec<MetricPlan>,
}

pub struct PlanOptions {
    pub mde: f64,
    pub power: f64,
    pub alpha: f64,
    pub arms: usize,
    pub n_star: f64,
    pub window_ms: i64,
}

/// The history's per-user metric over `[first, first + window]` (a
/// ratio's numerator and denominator over the same window).
pub fn history(t: &EventTable, ranges: &[Range<usize>], m: &Resolved, window_ms: i64) -> Stat {
    let end = t.ts.iter().copied().max().unwrap_or(0);
    let mut s = Stat::new(m.den.is_some());
    for r in ranges.iter().filter(|r| !r.is_empty()) {
        let first = t.ts[r.start];
        if first.saturating_add(window_ms) > end {
            continue;
        }
        let stop = r.start + t.ts[r.clone()].partition_point(|&x| x <= first + window_ms);
        let from =
            (r.start + t.ts[r.clone()].partition_point(|&x| x < first + m.offset_ms)).min(stop);
        let y = m.value_of(t, from..stop);
        s.sums.add(y, 0.0);
        if let (Some(d), Some(cross)) = (&m.den, s.ratio.as_mut()) {
            cross.add(y, 0.0, d.value_of(t, from..stop), 0.0);
        }
    }
    s
}

pub fn plan(
    t: &EventTable,
    ranges: &[Range<usize>],
    metrics: &[(String, Resolved)],
    o: &PlanOptions,
) -> Plan {
    let (lo, hi) = (
        t.ts.iter().min().copied().unwrap_or(0),
        t.ts.iter().max().copied().unwrap_or(0),
    );
    let days = ((hi - lo) as f64 / DAY_MS).max(1.0);
    let per_day = ranges.len() as f64 / days;
    let out = metrics
        .iter()
        .map(|(name, m)| {
            let s = history(t, ranges, m, o.window_ms);
            let b = Baseline { mean: s.mean(), var: s.var(m.binary()) };
            let note = if s.n() < 2 {
                Some("fewer than 2 users with a closed baseline window: shorten --window".to_string())
            } else if b.mean == 0.0 {
                Some("the metric is 0 for every user in the history: a relative lift cannot be planned".to_string())
            } else if b.var == 0.0 {
                Some("the metric is constant in the history: nothing to plan".to_string())
            } else {
                None
            };
            let ok = note.is_none();
            let need = |seq: Option<f64>| ok.then(|| sample_size(b, o.mde, o.power, o.arms, o.alpha, seq)).flatten();
            let (fixed, seq) = (need(None), need(Some(o.n_star)));
            let days_for = |n: Option<u64>| n.filter(|_| per_day > 0.0).map(|n| round6(n as f64 / per_day));
            MetricPlan {
                metric: name.clone(),
                users: s.n(),
                mean: round6(b.mean),
                variance: round6(b.var),
                users_needed: fixed,
                users_needed_sequential: seq,
                days_needed: days_for(fixed),
                days_needed_sequential: days_for(seq),
                mde_at_export_traffic: ok
                    .then(|| mde(b, o.power, ranges.len() as f64, o.arms, o.alpha, None))
                    .flatten()
                    .map(round6),
                note,
            }
        })
        .collect();
    Plan {
        mde: o.mde,
        power: o.power,
        alpha: o.alpha,
        arms: o.arms,
        sequential_tuning: o.n_star,
        window: crate::duration::format_ms(o.window_ms),
        new_users_per_day: round6(per_day),
        export_days: round6(days),
        metrics: out,
    }
}
