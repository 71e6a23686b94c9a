//! Compact per-feature summaries that report.json keeps so that `diff` can
//! test drift between two nightly reports without their data: each
//! feature's distinct values with counts when there are at most
//! [`MAX_POINTS`] of them (exact: every statistic is the one `drift` would
//! compute), else [`MAX_POINTS`] equal-weight quantiles (approximate, and
//! marked so).

use serde::{Deserialize, Serialize};

use super::stattest::{PsiBins, Sample};
use super::{ColumnDrift, Level, test_column};

pub const MAX_POINTS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ValueSummary {
    pub column: String,
    pub n: u64,
    /// true: `values` are every distinct value with its count.
    pub exact: bool,
    /// (value, count) pairs, ascending.
    pub values: Vec<[f64; 2]>,
}

/// The summary of one column's finite values.
pub fn summarize(column: &str, values: &[f64]) -> ValueSummary {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let mut distinct: Vec<[f64; 2]> = Vec::new();
    for &x in &v {
        match distinct.last_mut() {
            Some(l) if l[0] == x => l[1] += 1.0,
            _ => distinct.push([x, 1.0]),
        }
    }
    summarize_distinct(column, distinct)
}

/// The summary of values given as ascending distinct (value, count) pairs:
/// the pairs themselves when there are at most [`MAX_POINTS`], else the
/// values at the middle of each of [`MAX_POINTS`] equal slices.
pub fn summarize_distinct(column: &str, distinct: Vec<[f64; 2]>) -> ValueSummary {
    let n = distinct.iter().map(|p| p[1] as u64).sum::<u64>();
    if distinct.len() <= MAX_POINTS {
        return ValueSummary {
            column: column.to_string(),
            n,
            exact: true,
            values: distinct,
        };
    }
    let k = MAX_POINTS;
    let w = n as f64 / k as f64;
    // Ranks grow with i, so one walk over the pairs finds every quantile.
    let (mut at, mut below) = (0usize, 0u64);
    let values = (0..k)
        .map(|i| {
            let rank = (((i as f64 + 0.5) * w) as u64).min(n - 1);
            while below + distinct[at][1] as u64 <= rank {
                below += distinct[at][1] as u64;
                at += 1;
            }
            [distinct[at][0], w]
        })
        .collect();
    ValueSummary {
        column: column.to_string(),
        n,
        exact: false,
        values,
    }
}

/// A summary's (value, weight) points as whole counts: exact summaries
/// carry integers; quantile weights are rounded, keeping the total.
pub fn counts(points: &[[f64; 2]]) -> Vec<(f64, u64)> {
    let mut acc = 0.0;
    let mut done = 0u64;
    points
        .iter()
        .map(|&[x, w]| {
            acc += w;
            let upto = acc.round() as u64;
            let c = upto - done;
            done = upto;
            (x, c)
        })
        .collect()
}

/// Drift of every column summarized on both sides (by name), with the
/// tests `drift` runs; approximate summaries are noted.
pub fn compare(old: &[ValueSummary], new: &[ValueSummary], bins: PsiBins) -> Vec<ColumnDrift> {
    old.iter()
        .filter_map(|a| new.iter().find(|b| b.column == a.column).map(|b| (a, b)))
        .map(|(a, b)| {
            let mut v: Vec<(f64, u64, u64)> = counts(&a.values)
                .into_iter()
                .map(|(x, c)| (x, c, 0))
                .collect();
            v.extend(counts(&b.values).into_iter().map(|(x, c)| (x, 0, c)));
            let level = if a.column == "score" {
                Level::Score
            } else {
                Level::User
            };
            let mut c = test_column(a.column.clone(), level, Sample::numeric(v), (0, 0), bins);
            if !(a.exact && b.exact) {
                let note = format!(
                    "approximate: from {MAX_POINTS} quantiles of a side with more distinct values"
                );
                c.note = Some(match c.note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note,
                });
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_summaries_give_the_statistics_of_the_values() {
        let a: Vec<f64> = (0..3000).map(|i| (i % 40) as f64).collect();
        let b: Vec<f64> = (0..2500).map(|i| (i % 37) as f64 + 1.0).collect();
        let (sa, sb) = (summarize("x", &a), summarize("x", &b));
        assert!(sa.exact && sb.exact);
        let from_summary = &compare(&[sa], &[sb], PsiBins::Deciles)[0];
        let direct = test_column(
            "x".into(),
            Level::User,
            Sample::numeric(
                a.iter()
                    .map(|&x| (x, 1, 0))
                    .chain(b.iter().map(|&x| (x, 0, 1)))
                    .collect(),
            ),
            (0, 0),
            PsiBins::Deciles,
        );
        assert_eq!(from_summary.statistic, direct.statistic);
        assert_eq!(from_summary.psi, direct.psi);
        // Many distinct values: quantiles, marked approximate.
        let c: Vec<f64> = (0..5000).map(|i| i as f64 * 0.37).collect();
        let s = summarize("y", &c);
        assert!(!s.exact && s.values.len() == MAX_POINTS);
        let one = std::slice::from_ref(&s);
        let d = &compare(one, one, PsiBins::Deciles)[0];
        assert!(!d.drifted && d.note.as_deref().unwrap().starts_with("approximate"));
    }
}
