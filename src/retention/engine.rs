//! The retention kernel: per user, its cohort(s) and which of the asked
//! intervals it returned in, with the per-user eligibility rule that makes
//! censoring exact. Pure: it sees each user's events as [`Ev`] rows in
//! time order, never the table; tested against a brute-force reference
//! and the anchors' fixtures below.
//!
//! Eligibility, per user with start `s` and the export observed until `E`
//! (its last event, or `until`):
//! * a bounded column `[a, b]` (`on N` is `[N, N]`; a bracket `2-7`):
//!   eligible when the user's interval `b` has ended by `E`, so the whole
//!   column was observable; returned when a return event falls in any of
//!   the intervals `a..=b`;
//! * an unbounded column `[a, ∞)` (`on-or-after N`): eligible when the
//!   user's interval `a` has begun by `E`; returned when a return event
//!   falls in interval `a` or later.
//!
//! Under `calendar` every user of a cohort shares the interval bounds, so
//! a cell is observed for all of them or for none; under `rolling` each
//! user's interval ends at its own time, and a cell can be partly observed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::clock::Clock;

/// Which start event puts a user in a cohort.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum StartMode {
    /// The user's first occurrence of the start event; it counts only if
    /// that row also matches the start predicate's properties (PostHog's
    /// first-ever occurrence). One cohort per user at most.
    #[default]
    First,
    /// The user's first row matching the start predicate.
    FirstMatching,
    /// Every interval in which the user does the start event (PostHog's
    /// default "recurring"): a user is in several cohorts.
    Recurring,
}

/// One event of a user: its time, whether it is the start event (by
/// name), whether it matches the whole start predicate, whether it is a
/// return, and the breakdown group of the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ev {
    pub ts: i64,
    pub start_event: bool,
    pub start: bool,
    pub ret: bool,
    pub group: u32,
}

/// A column of the matrix: intervals `from..=to`, `to = None` unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub from: i64,
    pub to: Option<i64>,
}

pub struct Spec {
    pub clock: Clock,
    pub mode: StartMode,
    pub columns: Vec<Column>,
    /// The last observed instant (inclusive).
    pub until: i64,
    /// Return events a user needs within one interval for it to count
    /// (PostHog's minimumOccurrences; 1 = any return).
    pub min_returns: u32,
}

/// Per cohort: its users and, per column, (eligible, returned).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acc {
    pub users: u64,
    pub cells: Vec<(u64, u64)>,
}

/// Cohorts keyed by (calendar bucket of the start, breakdown group).
pub type Matrix = BTreeMap<(i64, u32), Acc>;

/// The user's starts: (timestamp, group) in time order.
pub fn starts(events: &[Ev], spec: &Spec) -> Vec<(i64, u32)> {
    match spec.mode {
        StartMode::First => events
            .iter()
            .find(|e| e.start_event)
            .filter(|e| e.start)
            .map(|e| vec![(e.ts, e.group)])
            .unwrap_or_default(),
        StartMode::FirstMatching => events
            .iter()
            .find(|e| e.start)
            .map(|e| vec![(e.ts, e.group)])
            .unwrap_or_default(),
        StartMode::Recurring => {
            let mut out: Vec<(i64, u32)> = Vec::new();
            let mut last_bucket = None;
            for e in events.iter().filter(|e| e.start) {
                let b = spec.clock.bucket(e.ts);
                if last_bucket != Some(b) {
                    out.push((e.ts, e.group));
                    last_bucket = Some(b);
                }
            }
            out
        }
    }
}

/// Adds one user (events in time order) to the matrix; returns the
/// number of cohorts the user joined.
pub fn add_user(events: &[Ev], spec: &Spec, out: &mut Matrix) -> usize {
    let bounded_max = spec.columns.iter().filter_map(|c| c.to).max();
    let unbounded = spec.columns.iter().any(|c| c.to.is_none());
    let need = spec.min_returns.max(1);
    let last_return = events.iter().rev().find(|e| e.ret).map(|e| e.ts);
    let mut hits = vec![0u32; bounded_max.map_or(0, |m| m.max(0) as usize + 1)];
    let starts = starts(events, spec);
    for &(s, group) in &starts {
        hits.iter_mut().for_each(|h| *h = 0);
        let first = events.partition_point(|e| e.ts < s);
        // The latest interval with enough returns in it (intervals only
        // grow with time). With one return needed it is the last return's.
        let mut latest = None;
        if need == 1 {
            latest = last_return
                .filter(|&t| t >= s)
                .map(|t| spec.clock.interval_of(s, t));
        }
        if bounded_max.is_some() || (unbounded && need > 1) {
            let max = bounded_max.unwrap_or(-1);
            let mut run: Option<(i64, u32)> = None;
            for e in &events[first..] {
                if !e.ret {
                    continue;
                }
                let n = spec.clock.interval_of(s, e.ts);
                if n > max && !(unbounded && need > 1) {
                    break;
                }
                let count = match run {
                    Some((m, c)) if m == n => c + 1,
                    _ => 1,
                };
                run = Some((n, count));
                if (0..=max).contains(&n) {
                    hits[n as usize] = count;
                }
                if need > 1 && count >= need {
                    latest = Some(n);
                }
            }
        }
        let acc = out
            .entry((spec.clock.bucket(s), group))
            .or_insert_with(|| Acc {
                users: 0,
                cells: vec![(0, 0); spec.columns.len()],
            });
        acc.users += 1;
        for (cell, col) in acc.cells.iter_mut().zip(&spec.columns) {
            let (eligible, returned) = match col.to {
                Some(to) => (
                    spec.clock.interval_span(s, to).1 <= spec.until.saturating_add(1),
                    (col.from.max(0)..=to).any(|n| hits[n as usize] >= need),
                ),
                None => (
                    spec.clock.interval_span(s, col.from).0 <= spec.until,
                    latest.is_some_and(|n| n >= col.from),
                ),
            };
            if eligible {
                cell.0 += 1;
                cell.1 += u64::from(returned);
            }
        }
    }
    starts.len()
}

/// `on N` for N in 0..k.
pub fn on_columns(k: i64) -> Vec<Column> {
    (0..k)
        .map(|n| Column {
            from: n,
            to: Some(n),
        })
        .collect()
}

/// `on-or-after N` for N in 0..k.
pub fn on_or_after_columns(k: i64) -> Vec<Column> {
    (0..k).map(|n| Column { from: n, to: None }).collect()
}

/// `1,2-7,8-30`: brackets of intervals, each ≥ 1 and after the one
/// before; interval 0 (the cohort's own) comes first.
pub fn bracket_columns(s: &str) -> Result<Vec<Column>, String> {
    let mut out = vec![Column {
        from: 0,
        to: Some(0),
    }];
    for part in s.split(',').map(str::trim) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let parse = |x: &str| {
            x.parse::<i64>()
                .map_err(|_| format!("{part:?}: write brackets as N or N-M, e.g. 1,2-7,8-30"))
        };
        let (a, b) = (parse(a)?, parse(b)?);
        let prev = out.last().and_then(|c| c.to).unwrap_or(0);
        if a < 1 || b < a || a <= prev {
            return Err(format!(
                "{part:?}: brackets start at 1, each N-M has N ≤ M, and each starts after the one before"
            ));
        }
        out.push(Column {
            from: a,
            to: Some(b),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::clock::{ClockKind, DAY_MS, Unit};
    use super::*;

    fn spec(
        unit: Unit,
        kind: ClockKind,
        mode: StartMode,
        columns: Vec<Column>,
        until: i64,
    ) -> Spec {
        Spec {
            clock: Clock {
                unit,
                kind,
                zone: super::super::clock::UTC,
                anchor_ms: 0,
            },
            mode,
            columns,
            until,
            min_returns: 1,
        }
    }

    fn any(ts: i64) -> Ev {
        Ev {
            ts,
            start_event: true,
            start: true,
            ret: true,
            group: 0,
        }
    }

    /// The reference: every cell decided from the interval bounds alone
    /// (membership of each return in [begin, end)), no interval arithmetic
    /// on the events.
    fn brute(users: &[Vec<Ev>], spec: &Spec) -> Matrix {
        let mut out = Matrix::new();
        for ev in users {
            for (s, g) in starts(ev, spec) {
                let acc = out.entry((spec.clock.bucket(s), g)).or_insert_with(|| Acc {
                    users: 0,
                    cells: vec![(0, 0); spec.columns.len()],
                });
                acc.users += 1;
                for (cell, col) in acc.cells.iter_mut().zip(&spec.columns) {
                    let need = spec.min_returns.max(1) as usize;
                    let returned_in = |n: i64| {
                        let (b, e) = spec.clock.interval_span(s, n);
                        ev.iter()
                            .filter(|x| x.ret && x.ts >= s && x.ts >= b && x.ts < e)
                            .count()
                            >= need
                    };
                    let (eligible, returned) = match col.to {
                        Some(to) => (
                            spec.clock.interval_span(s, to).1 - 1 <= spec.until,
                            (col.from..=to).any(returned_in),
                        ),
                        None => {
                            let b = spec.clock.interval_span(s, col.from).0;
                            // Every interval from `from` to the last event's.
                            let last = ev.last().map_or(col.from, |x| {
                                spec.clock.interval_of(s, x.ts).max(col.from)
                            });
                            (b <= spec.until, (col.from..=last).any(returned_in))
                        }
                    };
                    if eligible {
                        cell.0 += 1;
                        cell.1 += u64::from(returned);
                    }
                }
            }
        }
        out
    }

    fn kernel(users: &[Vec<Ev>], spec: &Spec) -> Matrix {
        let mut m = Matrix::new();
        for u in users {
            add_user(u, spec, &mut m);
        }
        m
    }

    #[test]
    fn kernel_equals_the_brute_force_reference() {
        let mut seed = 11u64;
        let mut next = move |k: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % k
        };
        // 2026-03-01: New York, Paris and Lord Howe change clocks in March
        // and April.
        let base = 20_513 * DAY_MS;
        for round in 0..600 {
            let users: Vec<Vec<Ev>> = (0..1 + next(6))
                .map(|_| {
                    let mut ts: Vec<i64> = (0..1 + next(12))
                        .map(|_| base + (next(40 * 24) as i64) * 3_600_000)
                        .collect();
                    ts.sort();
                    ts.into_iter()
                        .map(|t| {
                            let start_event = next(3) > 0;
                            Ev {
                                ts: t,
                                start_event,
                                start: start_event && next(4) > 0,
                                ret: next(3) > 0,
                                group: next(2) as u32,
                            }
                        })
                        .collect()
                })
                .collect();
            let unit = [
                Unit::Day,
                Unit::Week,
                Unit::Month,
                Unit::Fixed(3 * DAY_MS),
                Unit::Months(2),
            ][round % 5];
            let kind = [ClockKind::Calendar, ClockKind::Rolling][(round / 4) % 2];
            let mode = [
                StartMode::First,
                StartMode::FirstMatching,
                StartMode::Recurring,
            ][round % 3];
            let columns = match round % 3 {
                0 => on_columns(6),
                1 => on_or_after_columns(5),
                _ => bracket_columns("1,2-3,4-9").unwrap(),
            };
            let until = base + (next(45 * 24) as i64) * 3_600_000;
            let mut s = spec(unit, kind, mode, columns, until);
            // Anchors off the epoch's day, and more than one return needed.
            s.clock.anchor_ms = next(9) as i64 * DAY_MS;
            // Zones whose clocks change inside the 40 days.
            s.clock.zone = [
                "UTC",
                "America/New_York",
                "Europe/Paris",
                "+05:30",
                "Australia/Lord_Howe",
            ]
            .map(|z| super::super::clock::Zone::parse(z).unwrap())[(round / 3) % 5];
            s.min_returns = [1, 1, 2, 3][(round / 8) % 4];
            let got = kernel(&users, &s);
            assert_eq!(got, brute(&users, &s), "round {round}");
            // Invariants: returned ≤ eligible ≤ users.
            for acc in got.values() {
                for &(e, r) in &acc.cells {
                    assert!(r <= e && e <= acc.users, "round {round}: {acc:?}");
                }
            }
            // One cohort per user under first and first-matching.
            if mode != StartMode::Recurring {
                let members: u64 = got.values().map(|a| a.users).sum();
                let with_start = users.iter().filter(|u| !starts(u, &s).is_empty()).count();
                assert_eq!(members, with_start as u64);
            }
        }
    }

    // PostHog posthog/hogql_queries/insights/test/test_retention_query_runner.py
    // ::test_day_interval (recurring, day, 11 intervals, range day 0-10):
    // person1 active days 0, 1, 2, 5, 6; person2 days 1, 2, 3, 6. The first
    // four cohort rows as published.
    #[test]
    fn posthog_day_interval_recurring() {
        let day = |d: i64| d * DAY_MS + 3_600_000;
        let p1: Vec<Ev> = [0, 1, 2, 5, 6].iter().map(|&d| any(day(d))).collect();
        let p2: Vec<Ev> = [1, 2, 3, 6].iter().map(|&d| any(day(d))).collect();
        let s = spec(
            Unit::Day,
            ClockKind::Calendar,
            StartMode::Recurring,
            on_columns(11),
            11 * DAY_MS - 1,
        );
        let m = kernel(&[p1, p2], &s);
        let row = |d: i64| -> Vec<u64> {
            m[&(d, 0)]
                .cells
                .iter()
                .filter(|c| c.0 > 0)
                .map(|c| c.1)
                .collect()
        };
        assert_eq!(row(0), [1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0]);
        assert_eq!(row(1), [2, 2, 1, 0, 1, 2, 0, 0, 0, 0]);
        assert_eq!(row(2), [2, 1, 0, 1, 2, 0, 0, 0, 0]);
        assert_eq!(row(3), [1, 0, 0, 1, 0, 0, 0, 0]);
    }

    // ClickHouse tests/queries/0_stateless/00688_aggregation_retention.sql:
    // uids 0-79 active on 2018-08-06, 0-49 on 08-07, 0-59 on 08-08;
    // retention(first day, next day) sums 80, 50 and (first, third) 80, 60.
    #[test]
    fn clickhouse_00688_retention() {
        let d0 = 17_749 * DAY_MS; // 2018-08-06
        let users: Vec<Vec<Ev>> = (0..80)
            .map(|u| {
                let mut ev = vec![any(d0)];
                if u < 50 {
                    ev.push(any(d0 + DAY_MS));
                }
                if u < 60 {
                    ev.push(any(d0 + 2 * DAY_MS));
                }
                ev
            })
            .collect();
        let s = spec(
            Unit::Day,
            ClockKind::Calendar,
            StartMode::First,
            on_columns(3),
            d0 + 3 * DAY_MS - 1,
        );
        let m = kernel(&users, &s);
        let acc = &m[&(17_749, 0)];
        assert_eq!(acc.users, 80);
        assert_eq!(acc.cells, [(80, 80), (80, 50), (80, 60)]);
    }

    #[test]
    fn censoring_is_per_user_under_rolling() {
        // Two users start on the same day, 12 h apart; the export ends 2.25
        // days after the first: the first user's day 1 (ending at 2 days)
        // is observed, the second's (ending at 2.5) is not.
        let s = spec(
            Unit::Day,
            ClockKind::Rolling,
            StartMode::First,
            on_columns(3),
            DAY_MS * 9 / 4,
        );
        let a = vec![any(0), any(DAY_MS + 1)];
        let b = vec![any(DAY_MS / 2)];
        let m = kernel(&[a, b], &s);
        assert_eq!(m[&(0, 0)].cells, [(2, 2), (1, 1), (0, 0)]);
    }

    #[test]
    fn first_needs_the_first_occurrence_to_match() {
        let s = spec(
            Unit::Day,
            ClockKind::Calendar,
            StartMode::First,
            on_columns(2),
            DAY_MS * 9,
        );
        let mut first = any(0);
        first.start = false; // the start event, without the asked property
        let later = any(DAY_MS);
        assert!(starts(&[first, later], &s).is_empty());
        let s = Spec {
            mode: StartMode::FirstMatching,
            ..s
        };
        assert_eq!(starts(&[first, later], &s), [(DAY_MS, 0)]);
    }

    #[test]
    fn brackets_parse_and_refuse_overlaps() {
        let c = bracket_columns("1,2-7,8-30").unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(
            c[2],
            Column {
                from: 2,
                to: Some(7)
            }
        );
        assert!(bracket_columns("0-3").is_err());
        assert!(bracket_columns("1-7,5-9").is_err());
        assert!(bracket_columns("x").is_err());
    }
}
