//! Which groups moved a drifted column. The change of the column's mean
//! (for a categorical column: of the share of its most-moved value) splits
//! exactly over the groups of another column: with N rows and group sums
//! S_g on each side, Δmean = Σ_g (S′_g/N′ − S_g/N), so each group's term is
//! its contribution, and the terms add up to the whole change.

use std::collections::BTreeMap;

use serde::Serialize;

use super::columns::{Built, Values};
use crate::ingest::EventTable;

/// Groups of one column, the largest contributions first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GroupBreakdown {
    pub by: String,
    /// What the contributions add up to: the change of the mean (or share).
    pub change: f64,
    pub groups: Vec<GroupShift>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GroupShift {
    pub group: String,
    pub reference_share: f64,
    pub current_share: f64,
    /// The group's mean of the column (or share of the value).
    pub reference_mean: Option<f64>,
    pub current_mean: Option<f64>,
    pub contribution: f64,
}

/// The groups shown per column.
pub const TOP: usize = 5;
/// The name of rows without a value of the group column.
pub const NONE: &str = "(none)";

/// Per group name: (rows, sum) on one side.
type Tally = BTreeMap<String, (u64, f64)>;

/// `by`'s breakdown of `col`; `focus`: for categorical columns, the value
/// whose share is followed. None when `by` is in neither table.
pub fn breakdown(
    col: &Built,
    focus: Option<&str>,
    by: &str,
    t: [&EventTable; 2],
) -> Option<GroupBreakdown> {
    if t.iter().all(|t| t.prop(by).is_none()) {
        return None;
    }
    let tallies: [Tally; 2] = std::array::from_fn(|k| tally(col, focus, by, t[k], k));
    let total = |m: &Tally| m.values().map(|v| v.0).sum::<u64>() as f64;
    let (nr, nc) = (total(&tallies[0]), total(&tallies[1]));
    if nr == 0.0 || nc == 0.0 {
        return None;
    }
    let mut names: Vec<&String> = tallies[0].keys().chain(tallies[1].keys()).collect();
    names.sort();
    names.dedup();
    let mut groups: Vec<GroupShift> = names
        .into_iter()
        .map(|g| {
            let (r, c) = (
                tallies[0].get(g).copied().unwrap_or_default(),
                tallies[1].get(g).copied().unwrap_or_default(),
            );
            let mean = |(n, s): (u64, f64)| (n > 0).then(|| s / n as f64);
            GroupShift {
                group: g.clone(),
                reference_share: r.0 as f64 / nr,
                current_share: c.0 as f64 / nc,
                reference_mean: mean(r),
                current_mean: mean(c),
                contribution: c.1 / nc - r.1 / nr,
            }
        })
        .collect();
    let change = groups.iter().map(|g| g.contribution).sum();
    groups.sort_by(|a, b| {
        b.contribution
            .abs()
            .total_cmp(&a.contribution.abs())
            .then_with(|| a.group.cmp(&b.group))
    });
    groups.truncate(TOP);
    Some(GroupBreakdown {
        by: by.to_string(),
        change,
        groups,
    })
}

fn tally(col: &Built, focus: Option<&str>, by: &str, t: &EventTable, side: usize) -> Tally {
    let mut out = Tally::new();
    let Some(b) = t.props.iter().position(|p| p.name == by) else {
        return out;
    };
    let bcol = &t.props[b];
    let name = |code: u32| {
        if code == 0 {
            NONE.to_string()
        } else {
            bcol.values.get(code).to_string()
        }
    };
    // Per group code, then merged by name.
    let mut per = vec![(0u64, 0.0f64); bcol.values.len()];
    match &col.values {
        Values::EventName => {
            let hit = focus.and_then(|f| t.event_names.iter().position(|n| n == f));
            for (i, &e) in t.event.iter().enumerate() {
                let g = &mut per[bcol.codes[i] as usize];
                g.0 += 1;
                if Some(e as usize) == hit {
                    g.1 += 1.0;
                }
            }
        }
        Values::Property(p) => {
            let Some(pc) = t.prop(p) else {
                return out;
            };
            let value: Vec<Option<f64>> = pc
                .values
                .iter()
                .enumerate()
                .map(|(code, v)| match (code, focus) {
                    (0, _) => None,
                    (_, Some(f)) => Some(if v == f { 1.0 } else { 0.0 }),
                    (_, None) => v.trim().parse::<f64>().ok(),
                })
                .collect();
            for (i, &c) in pc.codes.iter().enumerate() {
                if let Some(x) = value[c as usize] {
                    let g = &mut per[bcol.codes[i] as usize];
                    g.0 += 1;
                    g.1 += x;
                }
            }
        }
        Values::Users(values, users) => {
            let firsts = first_value_per_user(t, b);
            for (&u, &x) in users[side].iter().zip(&values[side]) {
                if x.is_finite() {
                    let g = &mut per[firsts[u as usize] as usize];
                    g.0 += 1;
                    g.1 += x;
                }
            }
        }
    }
    for (code, (n, s)) in per.into_iter().enumerate() {
        if n > 0 {
            let e = out.entry(name(code as u32)).or_default();
            e.0 += n;
            e.1 += s;
        }
    }
    out
}

/// Each user's first value code of property `p` (0: none), by user code.
fn first_value_per_user(t: &EventTable, p: usize) -> Vec<u32> {
    let mut out = vec![0u32; t.user_names.len()];
    let codes = &t.props[p].codes;
    for (i, &u) in t.user.iter().enumerate() {
        let slot = &mut out[u as usize];
        if *slot == 0 {
            *slot = codes[i];
        }
    }
    out
}

/// The group columns used when none are named: categorical properties
/// with 2 to 20 values over both sides (at most four, in name order).
pub fn automatic(columns: &[Built]) -> Vec<String> {
    columns
        .iter()
        .filter(|c| matches!(c.values, Values::Property(_)))
        .filter(|c| {
            matches!(c.sample, super::Sample::Categorical(_))
                && (2..=20).contains(&c.sample.distinct())
        })
        .map(|c| c.name.clone())
        .take(4)
        .collect()
}
