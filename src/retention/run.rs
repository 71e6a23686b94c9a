//! From the table and `[retention]` to the report section: resolve the
//! options, feed each user's events to the kernel, then rates, Wilson
//! intervals and the two averages.

use std::collections::BTreeMap;
use std::ops::Range;

use super::clock::{Anchor, Clock, ClockKind, DAY_MS, Unit, Zone};
use super::config::{Reference, RetentionSection};
use super::engine::{self, Column, Ev, Matrix, Spec, StartMode};
use super::report::{Average, Cell, CohortRow, RetentionReport};
use crate::config::JourneyConfig;
use crate::error::UsageError;
use crate::ingest::EventTable;
use crate::stats::{round6, wilson};

pub const DEFAULT_INTERVALS: u32 = 8;
const Z95: f64 = 1.959963984540054;

/// The section's settings, checked; errors name the key (or the flag).
pub struct Options {
    pub mode: StartMode,
    pub unit: Unit,
    pub interval: String,
    pub kind: ClockKind,
    pub zone: Zone,
    pub tz: String,
    pub rule: String,
    pub columns: Vec<Column>,
    pub labels: Vec<String>,
    pub until: Option<i64>,
    /// Set only for units whose periods are counted from an anchor.
    pub anchor: Option<Anchor>,
    pub min_occurrences: u32,
    pub reference: Reference,
}

fn bad(cfg: &JourneyConfig, key: &str, msg: String) -> UsageError {
    UsageError(format!("{}{key}: {msg}", cfg.at(key)))
}

/// Parses `until`: RFC 3339, or a date meaning the end of that day in
/// the zone.
fn parse_until(s: &str, zone: Zone) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let day = i64::from(
        d.signed_duration_since(chrono::NaiveDate::default())
            .num_days() as i32,
    );
    Some(zone.utc_ms((day + 1) * DAY_MS) - 1)
}

impl Options {
    pub fn resolve(cfg: &JourneyConfig, s: &RetentionSection) -> Result<Options, UsageError> {
        let interval = s.interval.clone().unwrap_or_else(|| "week".into());
        let unit = Unit::parse(&interval).map_err(|m| bad(cfg, "retention.interval", m))?;
        let kind = s.clock.unwrap_or_default();
        let tz = s.tz.clone().unwrap_or_else(|| "UTC".into());
        let zone = Zone::parse(&tz).map_err(|m| bad(cfg, "retention.tz", m))?;
        // A day or a week is a calendar bucket, a month a calendar month:
        // an anchor other than their own would be ignored, so it is an
        // error (retentioneering refuses a month period from a day start).
        let anchor = match (unit, s.anchor) {
            (u, a) if u.anchored() => {
                let a = a.unwrap_or(if matches!(u, Unit::Months(_)) {
                    Anchor::Month
                } else {
                    Anchor::Day
                });
                if matches!(u, Unit::Months(_)) && a != Anchor::Month {
                    return Err(bad(
                        cfg,
                        "retention.anchor",
                        format!(
                            "{interval:?} counts calendar months, which start on the first: use anchor = \"month\", or a duration such as 60d"
                        ),
                    ));
                }
                Some(a)
            }
            (_, None) => None,
            (Unit::Day, Some(Anchor::Day))
            | (Unit::Week, Some(Anchor::Week))
            | (Unit::Month, Some(Anchor::Month)) => None,
            (_, Some(a)) => {
                return Err(bad(
                    cfg,
                    "retention.anchor",
                    format!(
                        "{:?} does not apply to {interval:?} intervals, which are calendar buckets; an anchor moves periods of a duration (\"28d\") or of N months (\"2 months\")",
                        a.name()
                    ),
                ));
            }
        };
        let min_occurrences = s.min_occurrences.unwrap_or(1);
        if min_occurrences == 0 {
            return Err(bad(
                cfg,
                "retention.min_occurrences",
                "0: give 1 or more return events per interval".into(),
            ));
        }
        let k = s.intervals.unwrap_or(DEFAULT_INTERVALS);
        if k == 0 || k > 1000 {
            return Err(bad(
                cfg,
                "retention.intervals",
                format!("{k}: give 1 to 1000 columns"),
            ));
        }
        let returns = s.returns.clone().unwrap_or_else(|| "on".into());
        let (rule, columns) = match returns.as_str() {
            "on" => ("on", engine::on_columns(i64::from(k))),
            "on_or_after" | "on-or-after" => {
                ("on_or_after", engine::on_or_after_columns(i64::from(k)))
            }
            other => (
                "brackets",
                engine::bracket_columns(other).map_err(|m| {
                    bad(
                        cfg,
                        "retention.return",
                        format!("{m} (or use on, on_or_after)"),
                    )
                })?,
            ),
        };
        let labels = columns
            .iter()
            .map(|c| match c.to {
                Some(to) if to != c.from => format!("{}-{to}", c.from),
                _ => c.from.to_string(),
            })
            .collect();
        let until = match &s.until {
            Some(u) => Some(parse_until(u, zone).ok_or_else(|| {
                bad(
                    cfg,
                    "retention.until",
                    format!("{u:?}: give an ISO 8601 time (2026-11-30T23:59:59Z) or a date"),
                )
            })?),
            None => None,
        };
        Ok(Options {
            mode: s.start.unwrap_or_default(),
            unit,
            interval,
            kind,
            zone,
            tz,
            rule: rule.into(),
            columns,
            labels,
            until,
            anchor,
            min_occurrences,
            reference: s.reference.unwrap_or_default(),
        })
    }
}

pub fn retention(
    t: &EventTable,
    ranges: &[Range<usize>],
    columns: &[String],
    s: &RetentionSection,
    o: &Options,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<RetentionReport> {
    let matcher = |p: &Option<crate::predicate::Predicate>,
                   key: &str,
                   what: &str,
                   warn: &mut dyn FnMut(String)|
     -> anyhow::Result<_> {
        let Some(p) = p else { return Ok(None) };
        let m = crate::predicate::resolve(p, t, key)?;
        if m.event.is_none() {
            warn(format!(
                "retention: the {what} {} does not occur in the data",
                p.label()
            ));
        }
        Ok(Some(m))
    };
    let start = matcher(&s.start_event, "retention.start_event", "start event", warn)?;
    let ret = matcher(
        &s.return_event,
        "retention.return_event",
        "return event",
        warn,
    )?;
    let group = match &s.breakdown {
        Some(b) => Some(crate::predicate::column(
            t,
            columns,
            b,
            "retention.breakdown",
        )?),
        None => None,
    };
    let (lo, hi) = (
        t.ts.iter().copied().min().unwrap_or(0),
        t.ts.iter().copied().max().unwrap_or(0),
    );
    let until = o.until.unwrap_or(hi);
    let clock = Clock {
        unit: o.unit,
        kind: o.kind,
        zone: o.zone,
        anchor_ms: o.anchor.unwrap_or_default().start_ms(lo, o.zone),
    };
    let spec = Spec {
        clock,
        mode: o.mode,
        columns: o.columns.clone(),
        until,
        min_returns: o.min_occurrences,
    };
    let users_of: Vec<&Range<usize>> = ranges.iter().filter(|r| !r.is_empty()).collect();
    // Chunks of users in parallel; counts add up exactly, so the result
    // does not depend on the split.
    let parts = crate::parallel::map_ranges(users_of.len(), |chunk| {
        let mut m = Matrix::new();
        let mut buf: Vec<Ev> = Vec::new();
        let mut with_start = 0u64;
        for r in &users_of[chunk] {
            buf.clear();
            buf.extend((*r).clone().filter(|&i| t.ts[i] <= until).map(|i| {
                let (start_event, start) = match &start {
                    Some(m) => (m.event == Some(t.event[i]), m.matches(t, i)),
                    None => (true, true),
                };
                Ev {
                    ts: t.ts[i],
                    start_event,
                    start,
                    ret: ret.as_ref().is_none_or(|m| m.matches(t, i)),
                    group: group.map_or(0, |c| t.props[c].codes[i]),
                }
            }));
            with_start += u64::from(engine::add_user(&buf, &spec, &mut m) > 0);
        }
        (m, with_start)
    });
    let mut matrix = Matrix::new();
    let mut with_start = 0u64;
    for (m, w) in parts {
        with_start += w;
        for (k, acc) in m {
            let e = matrix.entry(k).or_insert_with(|| engine::Acc {
                users: 0,
                cells: vec![(0, 0); acc.cells.len()],
            });
            e.users += acc.users;
            for (a, b) in e.cells.iter_mut().zip(&acc.cells) {
                a.0 += b.0;
                a.1 += b.1;
            }
        }
    }
    let users = users_of.len() as u64;
    Ok(report(
        t,
        s,
        o,
        &spec,
        &matrix,
        users,
        users - with_start,
        group,
    ))
}

/// Column `j`'s returned and the column before's, when `reference =
/// "previous"` asks for it and the share means something: both columns
/// observed the same users, and some returned in the one before.
fn of_previous(asked: bool, cells: &[(u64, u64)], j: usize) -> Option<(u64, u64)> {
    let (&(e, r), &(pe, pr)) = (cells.get(j)?, cells.get(j.checked_sub(1)?)?);
    (asked && e > 0 && e == pe && pr > 0).then_some((r, pr))
}

#[allow(clippy::too_many_arguments)]
fn report(
    t: &EventTable,
    s: &RetentionSection,
    o: &Options,
    spec: &Spec,
    matrix: &Matrix,
    users: u64,
    without_start: u64,
    group: Option<usize>,
) -> RetentionReport {
    let label_of = |g: u32| {
        group.map(|c| {
            if g == 0 {
                "(none)".to_string()
            } else {
                t.props[c].values.get(g).to_string()
            }
        })
    };
    let previous = o.reference == Reference::Previous;
    let cohorts: Vec<CohortRow> = matrix
        .iter()
        .map(|(&(b, g), acc)| CohortRow {
            cohort: spec.clock.label(b),
            group: label_of(g),
            users: acc.users,
            cells: acc
                .cells
                .iter()
                .enumerate()
                .map(|(j, &(e, r))| {
                    let ci = wilson(r, e, Z95);
                    Cell {
                        eligible: e,
                        returned: r,
                        rate: (e > 0).then(|| round6(r as f64 / e as f64)),
                        ci_low: ci.map(|c| round6(c.0)),
                        ci_high: ci.map(|c| round6(c.1)),
                        censored: e == 0,
                        partial: e > 0 && e < acc.users,
                        of_previous: of_previous(previous, &acc.cells, j)
                            .map(|(r, p)| round6(r as f64 / p as f64)),
                    }
                })
                .collect(),
        })
        .collect();
    let averages: Vec<Average> = o
        .labels
        .iter()
        .enumerate()
        .map(|(j, label)| {
            let observed: Vec<&Cell> = cohorts
                .iter()
                .map(|c| &c.cells[j])
                .filter(|c| c.eligible > 0)
                .collect();
            let (e, r) = observed
                .iter()
                .fold((0, 0), |(e, r), c| (e + c.eligible, r + c.returned));
            let n = observed.len() as u64;
            let (pr, pp) = matrix
                .values()
                .filter_map(|acc| of_previous(previous, &acc.cells, j))
                .fold((0u64, 0u64), |(a, b), (r, p)| (a + r, b + p));
            Average {
                column: label.clone(),
                weighted: (e > 0).then(|| round6(r as f64 / e as f64)),
                unweighted: (n > 0).then(|| {
                    round6(
                        observed
                            .iter()
                            .map(|c| c.returned as f64 / c.eligible as f64)
                            .sum::<f64>()
                            / n as f64,
                    )
                }),
                eligible: e,
                returned: r,
                cohorts: n,
                of_previous: (pp > 0).then(|| round6(pr as f64 / pp as f64)),
            }
        })
        .collect();
    let mut rate = BTreeMap::new();
    if group.is_none() {
        for c in &cohorts {
            rate.insert(
                c.cohort.clone(),
                o.labels
                    .iter()
                    .cloned()
                    .zip(c.cells.iter().map(|x| x.rate))
                    .collect(),
            );
        }
    }
    // An export without events has no end of observation to name.
    let until = if t.ts.is_empty() && o.until.is_none() {
        "— (no events in the export)".to_string()
    } else {
        chrono::DateTime::from_timestamp_millis(spec.until)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    RetentionReport {
        anchor: o.anchor,
        min_occurrences: (o.min_occurrences > 1).then_some(o.min_occurrences),
        reference: previous.then_some(Reference::Previous),
        start: o.mode,
        start_event: s.start_event.as_ref().map(|p| p.label()),
        return_event: s.return_event.as_ref().map(|p| p.label()),
        interval: o.interval.clone(),
        clock: o.kind,
        tz: o.tz.clone(),
        rule: o.rule.clone(),
        columns: o.labels.clone(),
        observed_until: until,
        users,
        users_without_start: without_start,
        breakdown: s.breakdown.clone(),
        average: averages
            .iter()
            .map(|a| (a.column.clone(), a.clone()))
            .collect(),
        averages,
        cohorts,
        rate,
    }
}
