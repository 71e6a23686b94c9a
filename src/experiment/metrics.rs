//! Each analyzed user's metric values: the outcome y over the window
//! after exposure, [at, at + window] (inclusive, as funnel windows), and
//! the CUPED covariate x, the same metric over [at − lookback, at).

use std::ops::Range;

use super::assign::Assigned;
use super::config::{MetricConfig, MetricKind};
use super::options::DEFAULT_RETENTION_AFTER_MS;
use super::suff::Sums;
use crate::error::DataError;
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

/// The index of property column `name`, or an error naming `what` and the
/// nearest of `columns` (every column of the export, read or not).
pub fn column(
    t: &EventTable,
    columns: &[String],
    name: &str,
    what: &str,
) -> Result<usize, DataError> {
    t.props.iter().position(|c| c.name == name).ok_or_else(|| {
        DataError::Input(format!(
            "{what}: the export has no column {name:?}{}",
            crate::predicate::suggest(name, columns.iter().map(String::as_str))
        ))
    })
}

/// A metric resolved against the table; `what` names it in messages and
/// warnings go to `warn` (an event that never occurs, a property without
/// numbers). `offset_ms` is where a retention window starts.
pub fn resolve(
    t: &EventTable,
    columns: &[String],
    m: &MetricConfig,
    what: &str,
    warn: &mut dyn FnMut(String),
) -> Result<Resolved, DataError> {
    let matcher = crate::predicate::resolve(&m.event, t, what)?;
    if matcher.event.is_none() {
        warn(format!(
            "experiment: the event {} of metric {} does not occur in the data",
            m.event.label(),
            m.name
        ));
    }
    let numbers = match &m.property {
        Some(p) => {
            let col = column(t, columns, p, &format!("{what}.property"))?;
            let nums = crate::features::extract::numbers(t, col);
            if nums.iter().all(Option::is_none) {
                warn(format!(
                    "experiment: the property {p} of metric {} holds no numbers; its sums are 0",
                    m.name
                ));
            }
            Some((col, nums))
        }
        None => None,
    };
    let offset_ms = match m.kind {
        MetricKind::Retention => m.after.map_or(DEFAULT_RETENTION_AFTER_MS, |d| d.ms()),
        _ => 0,
    };
    Ok(Resolved {
        kind: m.kind,
        matcher,
        numbers,
        offset_ms,
    })
}
