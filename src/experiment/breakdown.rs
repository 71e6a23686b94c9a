//! Effects per segment: the run's engine on the users of each value of a
//! property (its value on the user's first event), flagged exploratory —
//! not corrected for the number of segments, and a segment found here is
//! a hypothesis for the next test, not a result.

use serde::Serialize;

use super::assign::Assigned;
use super::compare::{Engines, compare, run_engine};
use super::freq::NoEstimate;
use super::metrics::{Resolved, accumulate};
use crate::ingest::EventTable;
use crate::stats::round6;

/// Values shown; the rest are pooled as "(other)".
pub const MAX_VALUES: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SegmentEffect {
    pub value: String,
    pub metric: String,
    pub treatment: String,
    pub baseline: String,
    pub users_treatment: u64,
    pub users_baseline: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lift: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// The Bayesian engine's chance to win.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chance_to_win: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Breakdown {
    pub property: String,
    /// Always true: uncorrected, for generating hypotheses.
    pub exploratory: bool,
    pub engine: String,
    pub effects: Vec<SegmentEffect>,
}

pub struct Spec<'a> {
    pub column: usize,
    pub arms: &'a [String],
    pub pairs: &'a [(usize, usize)],
    pub metrics: &'a [(String, &'a Resolved)],
    pub window_ms: i64,
    pub lookback_ms: i64,
    pub engines: Engines,
}

/// The run's engine (CUPED when the segment's covariate varies) per value,
/// metric and comparison, at the uncorrected level.
pub fn breakdown(
    t: &EventTable,
    range_of: &[Option<std::ops::Range<usize>>],
    users: &[Assigned],
    s: &Spec,
) -> Breakdown {
    let col = &t.props[s.column];
    let value_of = |u: &Assigned| {
        range_of[u.user as usize]
            .as_ref()
            .map_or(0, |r| col.codes[r.start])
    };
    let mut counts = vec![0u64; col.values.len()];
    for u in users {
        counts[value_of(u) as usize] += 1;
    }
    let mut codes: Vec<u32> = (0..counts.len() as u32)
        .filter(|&c| counts[c as usize] > 0)
        .collect();
    codes.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    let shown: Vec<u32> = codes.iter().copied().take(MAX_VALUES).collect();
    let label = |c: u32| {
        if c == 0 {
            "(none)".to_string()
        } else {
            col.values.get(c).to_string()
        }
    };
    let mut groups: Vec<(String, Vec<Assigned>)> =
        shown.iter().map(|&c| (label(c), Vec::new())).collect();
    let mut other = Vec::new();
    for u in users {
        match shown.iter().position(|&c| c == value_of(u)) {
            Some(g) => groups[g].1.push(*u),
            None => other.push(*u),
        }
    }
    if !other.is_empty() {
        groups.push(("(other)".into(), other));
    }
    let resolved: Vec<&Resolved> = s.metrics.iter().map(|m| m.1).collect();
    let mut effects = Vec::new();
    for (value, members) in &groups {
        let sums = accumulate(
            t,
            range_of,
            members,
            &resolved,
            s.arms.len(),
            s.window_ms,
            s.lookback_ms,
        );
        for (mi, (name, res)) in s.metrics.iter().enumerate() {
            let binary = res.binary();
            for &(ti, bi) in s.pairs {
                let (sa, sb) = (&sums[mi][bi], &sums[mi][ti]);
                let est = compare(sa, sb, binary, s.lookback_ms > 0)
                    .main
                    .map(|c| run_engine(&s.engines, &c, s.engines.alpha));
                let (lift, lo, hi, p, ctw, error) = match est {
                    Ok((e, bayes)) => (
                        Some(round6(e.effect)),
                        Some(round6(e.low)),
                        Some(round6(e.high)),
                        Some(round6(e.p)),
                        bayes.map(|b| b.chance_to_win),
                        None,
                    ),
                    Err(e) => (
                        None,
                        None,
                        None,
                        None,
                        None,
                        Some(NoEstimate::to_string(&e)),
                    ),
                };
                effects.push(SegmentEffect {
                    value: value.clone(),
                    metric: name.clone(),
                    treatment: s.arms[ti].clone(),
                    baseline: s.arms[bi].clone(),
                    users_treatment: sb.n(),
                    users_baseline: sa.n(),
                    lift,
                    ci_low: lo,
                    ci_high: hi,
                    p,
                    chance_to_win: ctw,
                    error,
                });
            }
        }
    }
    Breakdown {
        property: col.name.clone(),
        exploratory: true,
        engine: serde_json::to_value(s.engines.engine)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        effects,
    }
}
