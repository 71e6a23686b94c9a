//! The back-test: the triggers evaluated as of every run date of a past
//! period (`--from`, `--to`, every `--every`), exactly as the nightly job
//! would have seen them (each date sees only rows before its end). Per
//! trigger: how often it fired per date, the users it fired for (first
//! firing), and where the trigger has an `outcome`, its precision (share of
//! fired users with the outcome within `outcome_within` after `fired_at`),
//! the base rate (share of all customers with the outcome between the
//! period's start and its end plus `outcome_within`) and the lift
//! (precision / base rate).

use rayon::prelude::*;
use serde::Serialize;

use super::config::Plan;
use super::triggers::Fired;
use super::{Events, Loaded, Resolved, fire_user};

const DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TriggerBacktest {
    pub name: String,
    /// Per run date: users for whom it fired that night.
    pub fired_per_date: Vec<u64>,
    /// Users it fired for at least once.
    pub users: u64,
    pub outcome: Option<String>,
    pub outcome_within_days: Option<i64>,
    pub with_outcome: Option<u64>,
    pub precision: Option<f64>,
    pub base_rate: Option<f64>,
    pub lift: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Backtest {
    pub from: String,
    pub to: String,
    pub every_days: i64,
    pub dates: Vec<String>,
    pub customers: u64,
    pub triggers: Vec<TriggerBacktest>,
}

/// Per customer and trigger: the first firing (its run date and the firing).
pub type FirstFired = Vec<Vec<Option<(i64, Fired)>>>;

pub fn run(
    plan: &Plan,
    loaded: &Loaded,
    res: &Resolved,
    events: Option<&Events>,
    from: i64,
    to: i64,
    every: i64,
) -> (Backtest, FirstFired) {
    let dates: Vec<i64> = (0..)
        .map(|k| from + k * every)
        .take_while(|&d| d <= to)
        .collect();
    let n = loaded.customers.len();
    let nt = plan.triggers.len();
    // Per customer: (fired flags per date per trigger, first firing per trigger).
    type PerUser = (Vec<Vec<bool>>, Vec<Option<(i64, Fired)>>);
    let per_user: Vec<PerUser> = (0..n as u32)
        .into_par_iter()
        .with_min_len(64)
        .map(|u| {
            let mut first: Vec<Option<(i64, Fired)>> = vec![None; nt];
            let flags: Vec<Vec<bool>> = dates
                .iter()
                .map(|&d| {
                    let fired = fire_user(plan, loaded, res, events, u, d + DAY);
                    fired
                        .into_iter()
                        .enumerate()
                        .map(|(i, f)| {
                            let hit = f.is_some();
                            if let (None, Some(f)) = (&first[i], f) {
                                first[i] = Some((d, f));
                            }
                            hit
                        })
                        .collect()
                })
                .collect();
            (flags, first)
        })
        .collect();
    let mut out = Vec::new();
    for (i, t) in plan.triggers.iter().enumerate() {
        let fired_per_date: Vec<u64> = (0..dates.len())
            .map(|k| per_user.iter().filter(|(f, _)| f[k][i]).count() as u64)
            .collect();
        let users = per_user.iter().filter(|(_, f)| f[i].is_some()).count() as u64;
        let within = t.outcome_within.map_or(90 * DAY, |d| d.ms());
        let (mut with_outcome, mut precision, mut base_rate, mut lift) = (None, None, None, None);
        if let (Some(mask), Some(ev)) = (&res.outcome[i], events) {
            let has = |u: usize, lo: i64, hi: i64| {
                loaded.event_ranges[u].as_ref().is_some_and(|r| {
                    r.clone()
                        .any(|j| mask[j] && ev.table.ts[j] > lo && ev.table.ts[j] <= hi)
                })
            };
            let hits = (0..n)
                .filter(|&u| {
                    per_user[u].1[i]
                        .as_ref()
                        .is_some_and(|(_, f)| has(u, f.at, f.at + within))
                })
                .count() as u64;
            let base = (0..n)
                .filter(|&u| has(u, from - 1, to + DAY + within))
                .count() as f64
                / n.max(1) as f64;
            with_outcome = Some(hits);
            if users > 0 {
                let p = hits as f64 / users as f64;
                precision = Some(p);
                if base > 0.0 {
                    lift = Some(p / base);
                }
            }
            base_rate = Some(base);
        }
        out.push(TriggerBacktest {
            name: t.name.clone(),
            fired_per_date,
            users,
            outcome: t.outcome.as_ref().map(|o| o.label()),
            outcome_within_days: t.outcome.as_ref().map(|_| within / DAY),
            with_outcome,
            precision,
            base_rate,
            lift,
        });
    }
    let first: FirstFired = per_user.into_iter().map(|(_, f)| f).collect();
    (
        Backtest {
            from: super::state::format_day(from),
            to: super::state::format_day(to),
            every_days: every / DAY,
            dates: dates.iter().map(|&d| super::state::format_day(d)).collect(),
            customers: n as u64,
            triggers: out,
        },
        first,
    )
}
