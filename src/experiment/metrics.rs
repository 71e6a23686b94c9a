//! Each analyzed user's metric values: the outcome y over the window
//! after exposure, [at, at + window] (inclusive, as funnel windows), and
//! the CUPED covariate x, the same metric over [at − lookback, at).

use std::ops::Range;

use super::assign::Assigned;
use super::config::{MetricConfig, MetricKind};
use super::options::DEFAULT_RETENTION_AFTER_MS;
use super::suff::Stat;
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
    /// For `ratio`: the denominator (a `count` or `sum` metric).
    pub den: Option<Box<Resolved>>,
    /// For `funnel`: the steps after the first.
    pub then: Vec<Matcher>,
}

impl Resolved {
    pub fn binary(&self) -> bool {
        matches!(self.kind, MetricKind::Conversion | MetricKind::Retention)
    }

    /// The metric over one user's `events` (for a ratio: its numerator).
    pub fn value_of(&self, t: &EventTable, events: Range<usize>) -> f64 {
        if self.kind == MetricKind::Funnel {
            return self.level(t, events);
        }
        let hits = events.filter(|&i| self.matcher.matches(t, i));
        match (&self.kind, &self.numbers) {
            (MetricKind::Conversion | MetricKind::Retention, _) => {
                f64::from(u8::from(hits.count() > 0))
            }
            (_, Some((p, nums))) => hits
                .filter_map(|i| nums[t.props[*p].codes[i] as usize])
                .sum(),
            (MetricKind::Sum, None) => 0.0,
            _ => hits.count() as f64,
        }
    }

    fn level(&self, t: &EventTable, events: Range<usize>) -> f64 {
        let steps = 1 + self.then.len();
        let step = |k: usize, i: usize| {
            if k == 0 {
                self.matcher.matches(t, i)
            } else {
                self.then[k - 1].matches(t, i)
            }
        };
        ordered_level(steps, events, step) as f64
    }
}

/// Steps reached in order: each step is looked for after the one before
/// it. Taking the earliest match is optimal for an ordered subsequence, so
/// the greedy scan gives the deepest level (tested against every
/// subsequence below).
fn ordered_level(
    steps: usize,
    events: impl Iterator<Item = usize>,
    step: impl Fn(usize, usize) -> bool,
) -> usize {
    let mut level = 0;
    for i in events {
        if level == steps {
            break;
        }
        if step(level, i) {
            level += 1;
        }
    }
    level
}

/// The first index in `r` whose timestamp is ≥ `ts` (events are in time order per user).
fn lower(t: &EventTable, r: &Range<usize>, ts: i64) -> usize {
    r.start + t.ts[r.clone()].partition_point(|&x| x < ts)
}

/// Per metric, per arm: the sufficient statistics. `range_of[user code]`
/// is the user's event range. A ratio's denominator shares the numerator's
/// windows.
pub fn accumulate(
    t: &EventTable,
    range_of: &[Option<Range<usize>>],
    users: &[Assigned],
    metrics: &[&Resolved],
    arms: usize,
    window_ms: i64,
    lookback_ms: i64,
) -> Vec<Vec<Stat>> {
    let mut out: Vec<Vec<Stat>> = metrics
        .iter()
        .map(|m| vec![Stat::new(m.den.is_some()); arms])
        .collect();
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
            let value = |r: &Resolved| {
                let y = r.value_of(t, from..end);
                let x = if lookback_ms > 0 {
                    r.value_of(t, pre..start)
                } else {
                    0.0
                };
                (y, x)
            };
            let (y, x) = value(res);
            let stat = &mut out[m][u.arm];
            stat.sums.add(y, x);
            if let (Some(d), Some(cross)) = (&res.den, stat.ratio.as_mut()) {
                let (dy, dx) = value(d);
                cross.add(y, x, dy, dx);
            }
        }
    }
    out
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
    let event = |p: &crate::predicate::Predicate, key: &str, warn: &mut dyn FnMut(String)| {
        let matcher = crate::predicate::resolve(p, t, key)?;
        if matcher.event.is_none() {
            warn(format!(
                "experiment: the event {} of metric {} does not occur in the data",
                p.label(),
                m.name
            ));
        }
        Ok::<_, DataError>(matcher)
    };
    let numbers_of = |p: &str, key: &str, warn: &mut dyn FnMut(String)| {
        let col = crate::predicate::column(t, columns, p, key)?;
        let nums = crate::features::extract::numbers(t, col);
        if nums.iter().all(Option::is_none) {
            warn(format!(
                "experiment: the property {p} of metric {} holds no numbers; its sums are 0",
                m.name
            ));
        }
        Ok::<_, DataError>((col, nums))
    };
    let matcher = event(&m.event, what, warn)?;
    let numbers = match &m.property {
        Some(p) => Some(numbers_of(p, &format!("{what}.property"), warn)?),
        None => None,
    };
    let den = match (&m.kind, &m.per) {
        (MetricKind::Ratio, Some(per)) => {
            let nums = match &m.per_property {
                Some(p) => Some(numbers_of(p, &format!("{what}.per_property"), warn)?),
                None => None,
            };
            Some(Box::new(Resolved {
                kind: if nums.is_some() {
                    MetricKind::Sum
                } else {
                    MetricKind::Count
                },
                matcher: event(per, &format!("{what}.per"), warn)?,
                numbers: nums,
                offset_ms: 0,
                den: None,
                then: Vec::new(),
            }))
        }
        _ => None,
    };
    let then = m
        .then
        .iter()
        .enumerate()
        .map(|(i, p)| event(p, &format!("{what}.then[{}]", i + 1), warn))
        .collect::<Result<_, _>>()?;
    let offset_ms = match m.kind {
        MetricKind::Retention => m.after.map_or(DEFAULT_RETENTION_AFTER_MS, |d| d.ms()),
        _ => 0,
    };
    Ok(Resolved {
        kind: m.kind,
        matcher,
        numbers,
        offset_ms,
        den,
        then,
    })
}

#[cfg(test)]
mod tests {
    use super::ordered_level;

    /// The deepest k such that steps 0..k occur as a subsequence, by trying
    /// every subset of positions.
    fn brute(steps: &[u8], events: &[u8]) -> usize {
        let mut best = 0;
        for mask in 0u32..(1 << events.len()) {
            let picked: Vec<u8> = (0..events.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| events[i])
                .collect();
            if picked.len() <= steps.len() && picked == steps[..picked.len()] {
                best = best.max(picked.len());
            }
        }
        best
    }

    #[test]
    fn greedy_level_equals_the_deepest_ordered_subsequence() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        };
        for _ in 0..500 {
            let steps: Vec<u8> = (0..1 + next() % 4).map(|_| next() % 3).collect();
            let events: Vec<u8> = (0..next() % 11).map(|_| next() % 4).collect();
            let got = ordered_level(steps.len(), 0..events.len(), |k, i| events[i] == steps[k]);
            assert_eq!(got, brute(&steps, &events), "{steps:?} in {events:?}");
        }
    }
}
