//! `[lifecycle]` and its report section: the table's users through the
//! kernel, per interval of a calendar clock.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::engine::{self, DORMANT, Lifecycle, NEW, RESURRECTING, RETURNING, STATES};
use crate::config::JourneyConfig;
use crate::error::UsageError;
use crate::ingest::EventTable;
use crate::predicate::Predicate;
use crate::retention::clock::{Anchor, Clock, ClockKind, Unit, Zone};
use crate::stats::round6;

/// ```toml
/// [lifecycle]
/// interval = "week"              # day, week, month or a duration ("7d")
/// tz = "UTC"                     # an offset ("+02:00") or an IANA zone ("Europe/Paris")
/// active_event = "login"         # what makes a user active (default: any event)
/// created_column = "created_at"  # each user's creation time (default: first event)
/// ```
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSection {
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub active_event: Option<Predicate>,
    /// A column holding each user's creation time (ISO 8601 or a date), as
    /// PostHog's person.created_at; the user's first row with a readable
    /// value counts.
    #[serde(default)]
    pub created_column: Option<String>,
    /// Also retentioneering's daily states (docs/lifecycle.md).
    #[serde(default)]
    pub daily_states: Option<bool>,
    /// Daily states run this many days past a user's last event (default 30).
    #[serde(default)]
    pub max_dormant_days: Option<u32>,
}

impl LifecycleSection {
    pub fn properties(&self) -> std::collections::BTreeSet<String> {
        let mut out: std::collections::BTreeSet<String> =
            self.created_column.iter().cloned().collect();
        if let Some(Predicate::Where(m)) = &self.active_event {
            out.extend(m.keys().filter(|k| k.as_str() != "event").cloned());
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct LifecycleReport {
    pub interval: String,
    pub tz: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_event: Option<String>,
    /// "first event in the export", or the creation column.
    pub created_from: String,
    pub intervals: Vec<IntervalRow>,
    /// The last interval again, for checks (`lifecycle.latest.dormant_share`).
    pub latest: Option<IntervalRow>,
    /// Users whose first event falls in the export's first interval: they
    /// may have been active before it, so their "new" there is uncertain.
    pub left_censored: u64,
    /// Users whose creation value could not be read (their first event counts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unreadable_created: u64,
    /// transitions[from][to] between consecutive intervals, in `states` order.
    pub states: Vec<String>,
    pub transitions: Vec<Vec<u64>>,
    /// The long-run share of each state (stationary distribution).
    pub stationary: Option<BTreeMap<String, f64>>,
    /// Expected intervals until dormant from each active state.
    pub intervals_until_dormant: BTreeMap<String, Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<DailyStates>,
}

/// retentioneering's daily states: users per state per calendar day.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DailyStates {
    pub max_dormant_days: u32,
    pub states: Vec<String>,
    pub days: Vec<DayRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DayRow {
    pub day: String,
    /// Users per state, in `states` order.
    pub counts: Vec<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct IntervalRow {
    /// The interval's first day, YYYY-MM-DD.
    pub interval: String,
    pub new: u64,
    pub returning: u64,
    pub resurrecting: u64,
    /// Users active in the interval before and not in this one, negative
    /// (PostHog's convention).
    pub dormant: i64,
    pub active: u64,
    /// dormant / the previous interval's active users.
    pub dormant_share: Option<f64>,
}

pub struct Options {
    pub unit: Unit,
    pub interval: String,
    pub zone: Zone,
    pub tz: String,
}

impl Options {
    pub fn resolve(cfg: &JourneyConfig, s: &LifecycleSection) -> Result<Options, UsageError> {
        let interval = s.interval.clone().unwrap_or_else(|| "week".into());
        let unit = Unit::parse(&interval).map_err(|m| {
            UsageError(format!(
                "{}lifecycle.interval: {m}",
                cfg.at("lifecycle.interval")
            ))
        })?;
        let tz = s.tz.clone().unwrap_or_else(|| "UTC".into());
        let zone = Zone::parse(&tz)
            .map_err(|m| UsageError(format!("{}lifecycle.tz: {m}", cfg.at("lifecycle.tz"))))?;
        Ok(Options {
            unit,
            interval,
            zone,
            tz,
        })
    }
}

fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Some(t.and_utc().timestamp_millis());
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

pub fn lifecycle(
    t: &EventTable,
    ranges: &[Range<usize>],
    columns: &[String],
    s: &LifecycleSection,
    o: &Options,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<LifecycleReport> {
    let active = match &s.active_event {
        Some(p) => {
            let m = crate::predicate::resolve(p, t, "lifecycle.active_event")?;
            if m.event.is_none() {
                warn(format!(
                    "lifecycle: the active event {} does not occur in the data",
                    p.label()
                ));
            }
            Some(m)
        }
        None => None,
    };
    let created_col = match &s.created_column {
        Some(c) => Some(crate::predicate::column(
            t,
            columns,
            c,
            "lifecycle.created_column",
        )?),
        None => None,
    };
    let (lo, hi) = (
        t.ts.iter().copied().min().unwrap_or(0),
        t.ts.iter().copied().max().unwrap_or(0),
    );
    let clock = Clock {
        unit: o.unit,
        kind: ClockKind::Calendar,
        zone: o.zone,
        anchor_ms: Anchor::Day.start_ms(lo, o.zone),
    };
    // No events: no interval (an empty range), not a row for 1970.
    let (first, last) = if t.ts.is_empty() {
        (0, -1)
    } else {
        (clock.bucket(lo), clock.bucket(hi))
    };
    let users: Vec<&Range<usize>> = ranges.iter().filter(|r| !r.is_empty()).collect();
    let day_clock = Clock {
        unit: Unit::Day,
        ..clock
    };
    let (day_first, day_last) = if t.ts.is_empty() {
        (0, -1)
    } else {
        (day_clock.bucket(lo), day_clock.bucket(hi))
    };
    let daily_on = s.daily_states.unwrap_or(false);
    let max_dormant = i64::from(s.max_dormant_days.unwrap_or(30));
    let parts = crate::parallel::map_ranges(users.len(), |chunk| {
        let mut l = Lifecycle::new(first, last);
        let mut daily =
            super::daily::Daily::new(day_first, if daily_on { day_last } else { day_first - 1 });
        let mut days: Vec<i64> = Vec::new();
        let (mut censored, mut unreadable) = (0u64, 0u64);
        let mut buckets: Vec<i64> = Vec::new();
        for r in &users[chunk] {
            let r = (*r).clone();
            buckets.clear();
            for i in r.clone() {
                if active.as_ref().is_none_or(|m| m.matches(t, i)) {
                    let b = clock.bucket(t.ts[i]);
                    if buckets.last() != Some(&b) {
                        buckets.push(b);
                    }
                }
            }
            let first_seen = clock.bucket(t.ts[r.start]);
            let created = match created_col {
                Some(c) => {
                    let col = &t.props[c];
                    let v = r
                        .clone()
                        .map(|i| col.codes[i])
                        .find(|&code| code != 0)
                        .and_then(|code| parse_time(col.values.get(code)));
                    if v.is_none() {
                        unreadable += 1;
                    }
                    v.map_or(first_seen, |ts| clock.bucket(ts).min(first_seen))
                }
                None => first_seen,
            };
            censored += u64::from(first_seen == first);
            l.add_user(&buckets, created);
            if daily_on {
                days.clear();
                for i in r.clone() {
                    if active.as_ref().is_none_or(|m| m.matches(t, i)) {
                        let d = day_clock.bucket(t.ts[i]);
                        if days.last() != Some(&d) {
                            days.push(d);
                        }
                    }
                }
                let seen = (
                    day_clock.bucket(t.ts[r.start]),
                    day_clock.bucket(t.ts[r.end - 1]),
                );
                daily.add_user(&days, seen, day_last, max_dormant);
            }
        }
        (l, censored, unreadable, daily)
    });
    let mut l = Lifecycle::new(first, last);
    let mut daily =
        super::daily::Daily::new(day_first, if daily_on { day_last } else { day_first - 1 });
    let (mut censored, mut unreadable) = (0, 0);
    for (p, c, u, d) in parts {
        l.merge(&p);
        daily.merge(&d);
        censored += c;
        unreadable += u;
    }
    if unreadable > 0 {
        warn(format!(
            "lifecycle: {unreadable} users have no readable creation time in {}; their first event counts",
            s.created_column.as_deref().unwrap_or("")
        ));
    }
    let mut rows: Vec<IntervalRow> = Vec::new();
    for (k, c) in l.counts.iter().enumerate() {
        let active = c[NEW] + c[RETURNING] + c[RESURRECTING];
        let prev_active = rows.last().map(|r: &IntervalRow| r.active);
        rows.push(IntervalRow {
            interval: clock.label(first + k as i64),
            new: c[NEW],
            returning: c[RETURNING],
            resurrecting: c[RESURRECTING],
            dormant: -(c[DORMANT] as i64),
            active,
            dormant_share: prev_active
                .filter(|&p| p > 0)
                .map(|p| round6(c[DORMANT] as f64 / p as f64)),
        });
    }
    let name = |i: usize| STATES[i].to_string();
    let until = engine::until_dormant(&l.transitions);
    Ok(LifecycleReport {
        interval: o.interval.clone(),
        tz: o.tz.clone(),
        active_event: s.active_event.as_ref().map(|p| p.label()),
        created_from: s
            .created_column
            .clone()
            .unwrap_or_else(|| "first event in the export".into()),
        latest: rows.last().cloned(),
        intervals: rows,
        left_censored: censored,
        unreadable_created: unreadable,
        states: (0..4).map(name).collect(),
        transitions: l.transitions.iter().map(|r| r.to_vec()).collect(),
        stationary: engine::stationary(&l.transitions)
            .map(|p| (0..4).map(|i| (name(i), round6(p[i]))).collect()),
        intervals_until_dormant: (0..3).map(|i| (name(i), until[i].map(round6))).collect(),
        daily: daily_on.then(|| DailyStates {
            max_dormant_days: max_dormant as u32,
            states: super::daily::STATES.iter().map(|s| s.to_string()).collect(),
            days: daily
                .counts
                .iter()
                .enumerate()
                .map(|(k, c)| DayRow {
                    day: day_clock.label(day_first + k as i64),
                    counts: c.to_vec(),
                })
                .collect(),
        }),
    })
}
