//! Each analyzed user's metric values: the outcome y over the window
//! after exposure, [at, at + window] (inclusive, as funnel windows), and
//! the CUPED covariate x, the same metric over [at − lookback, at).

use std::ops::Range;

use super::assign::Assigned;
use super::config::MetricKind;
use super::suff::Sums;
use crate::ingest::EventTable;
use crate::predicate::Matcher;

/// A metric resolved against the table.
pub struct Resolved {
    pub kind: MetricKind,
    pub matcher: Matcher,
    /// For `sum`: the numeric value of each property value code.
    pub numbers: Option<(usize, Vec<Option<f64>>)>,
    /// Where the outcome window starts after exposure (`retention`: `after`).
    pub offset_ms: i64,
}

impl Resolved {
    pub fn binary(&self) -> bool {
        matches!(self.kind, MetricKind::Conversion | MetricKind::Retention)
    }

    /// The metric over one user's `events`.
    pub fn value_of(&self, t: &EventTable, events: Range<usize>) -> f64 {
        let hits = events.filter(|&i| self.matcher.matches(t, i));
        match (&self.kind, &self.numbers) {
            (MetricKind::Conversion | MetricKind::Retention, _) => {
                f64::from(u8::from(hits.count() > 0))
            }
            (MetricKind::Count, _) => hits.count() as f64,
            (MetricKind::Sum, Some((p, nums))) => hits
                .filter_map(|i| nums[t.props[*p].codes[i] as usize])
                .sum(),
            (MetricKind::Sum, None) => 0.0,
        }
    }
}

/// The first index in `r` whose timestamp is ≥ `ts` (events are in time order per user).
fn lower(t: &EventTable, r: &Range<usize>, ts: i64) -> usize {
    r.start + t.ts[r.clone()].partition_point(|&x| x < ts)
}

/// Per metric, per arm: the sufficient statistics. `range_of[user code]`
/// is the user's event range.
pub fn accumulate(
    t: &EventTable,
    range_of: &[Option<Range<usize>>],
    users: &[Assigned],
    metrics: &[&Resolved],
    arms: usize,
    window_ms: i64,
    lookback_ms: i64,
) -> Vec<Vec<Sums>> {
    let mut out = vec![vec![Sums::default(); arms]; metrics.len()];
    for u in users {
        let Some(r) = range_of[u.user as usize].clone() else {
            continue;
        };
        let start = lower(t, &r, u.at);
        let end = lower(t, &r, u.at.saturating_add(window_ms).saturating_add(1));
        let pre = lower(t, &r, u.at.saturating_sub(lookback_ms));
        for (m, res) in metrics.iter().enumerate() {
            let from = if res.offset_ms > 0 {
                lower(t, &r, u.at.saturating_add(res.offset_ms)).min(end)
            } else {
                start
            };
            let y = res.value_of(t, from..end);
            let x = if lookback_ms > 0 {
                res.value_of(t, pre..start)
            } else {
                0.0
            };
            out[m][u.arm].add(y, x);
        }
    }
    out
}
