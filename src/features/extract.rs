//! One extractor for every feature definition: resolved once against a
//! table, then filled unit by unit (each unit's events read once), in
//! parallel by chunks of units. Values are raw (a count, a share, hours);
//! [`super::defs::transform`] is applied by the model that uses them.

use std::ops::Range;

use super::defs::FeatureDef;
use crate::config::FunnelConfig;
use crate::error::DataError;
use crate::funnel::FunnelOptions;
use crate::funnel::engine::{self, MAX_STEPS, Scratch, Spec};
use crate::ingest::EventTable;
use crate::predicate::{self, MaskTable, Matcher};
use crate::sessions::Sessions;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: i64 = 86_400_000;

/// The events of one unit, in time order.
#[derive(Debug, Clone, Copy)]
pub enum Events<'s> {
    /// A stretch of the table (a user's events, or those before a cutoff).
    Range(usize, usize),
    /// Event indices (a session's events).
    List(&'s [u32]),
}

impl Events<'_> {
    pub fn len(&self) -> usize {
        match self {
            Events::Range(a, b) => b - a,
            Events::List(l) => l.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    pub fn get(&self, k: usize) -> usize {
        match self {
            Events::Range(a, _) => a + k,
            Events::List(l) => l[k] as usize,
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }
    pub fn range(r: Range<usize>) -> Self {
        Events::Range(r.start, r.end)
    }
}

/// One unit as the extractor sees it.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'s> {
    pub events: Events<'s>,
    /// Where recency and tenure are measured to (the cutoff).
    pub cutoff_ts: i64,
    /// The user's first event, for tenure.
    pub first_ts: i64,
    /// The unit's funnel level when already known (`None`: computed).
    pub level: Option<i32>,
}

/// How to compute one feature on a given table.
#[derive(Debug, Clone)]
enum Slot {
    Events {
        per_session: bool,
    },
    Sessions,
    ActiveDays,
    Recency,
    Tenure,
    /// `None`: the event is not in this table (always 0).
    Count {
        code: Option<u32>,
        per_session: bool,
    },
    Milestone(Option<Matcher>),
    Reached(Option<u32>),
    Funnel,
    /// (property column, value code); `None` value: never present.
    Property(Option<(usize, Option<u32>)>),
    /// Column, and the value codes of its listed levels.
    PropertyOther(Option<(usize, Vec<u32>)>),
    PropertyMissing(Option<usize>),
    Distinct {
        column: Option<usize>,
        per_session: bool,
    },
    Duration {
        per_session: bool,
    },
    SecondsPerEvent,
    Share(Option<u32>),
    ShareOther,
    Sum(Option<(usize, Option<u32>)>),
    Mean(Option<(usize, Option<u32>)>),
}

/// The funnel's step masks over one table.
struct FunnelMasks {
    masks: MaskTable,
    spec: Spec,
}

/// Where the `funnel_step` feature's levels come from.
#[derive(Debug, Clone, Copy)]
pub enum FunnelSource<'f> {
    /// No funnel: a `funnel_step` feature is an error.
    None,
    /// Evaluated on each unit's events with this `[funnel]`.
    Config(&'f FunnelConfig),
    /// The caller gives each unit's level in [`Unit::level`].
    Given,
}

impl<'f> From<Option<&'f FunnelConfig>> for FunnelSource<'f> {
    fn from(f: Option<&'f FunnelConfig>) -> Self {
        f.map_or(FunnelSource::None, FunnelSource::Config)
    }
}

/// What a table lacks for a list of features.
#[derive(Debug, Default)]
pub struct Missing {
    pub events: Vec<String>,
    pub columns: Vec<String>,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.columns.is_empty()
    }
}

/// Features resolved against one table.
pub struct Extractor<'a> {
    t: &'a EventTable,
    sessions: &'a Sessions,
    slots: Vec<Slot>,
    funnel: Option<FunnelMasks>,
    /// Per property column, each value code's number (`None`: not a number).
    numbers: Vec<Option<Vec<Option<f64>>>>,
    /// Event codes counted for shares, to leave them out of the "other" share.
    share_codes: Vec<u32>,
    needs_counts: bool,
    needs_sessions: bool,
    needs_days: bool,
    /// Columns whose distinct values are counted.
    distinct: Vec<usize>,
}

/// Resolves the funnel config's steps into masks (unknown events are errors).
fn funnel_masks(t: &EventTable, f: &FunnelConfig) -> Result<FunnelMasks, DataError> {
    let opts = FunnelOptions::from_config(f);
    if opts.steps.is_empty() || opts.steps.len() > MAX_STEPS {
        return Err(DataError::Input(format!(
            "[funnel] needs 1 to {MAX_STEPS} steps, got {}",
            opts.steps.len()
        )));
    }
    let steps: Vec<Matcher> = opts
        .steps
        .iter()
        .enumerate()
        .map(|(k, p)| predicate::resolve(p, t, &format!("funnel step {}", k + 1)))
        .collect::<Result<_, _>>()?;
    let exclude: Vec<Matcher> = opts
        .exclude
        .iter()
        .map(|p| predicate::resolve(p, t, "funnel exclusion"))
        .collect::<Result<_, _>>()?;
    Ok(FunnelMasks {
        masks: crate::funnel::step_masks(t, &steps, &exclude),
        spec: Spec {
            steps: opts.steps.len(),
            window: opts.effective_window(),
            mode: opts.mode,
        },
    })
}

/// Each value code of a column as a number, when it reads as one.
pub fn numbers(t: &EventTable, p: usize) -> Vec<Option<f64>> {
    t.props[p]
        .values
        .iter()
        .enumerate()
        .map(|(c, v)| {
            if c == 0 {
                return None;
            }
            v.trim().parse::<f64>().ok().filter(|x| x.is_finite())
        })
        .collect()
}

impl<'a> Extractor<'a> {
    /// Resolves `defs` against `t`. Events, columns and values the table
    /// lacks are listed in the returned [`Missing`]; their features read 0.
    pub fn new(
        t: &'a EventTable,
        sessions: &'a Sessions,
        defs: &[FeatureDef],
        funnel: FunnelSource,
    ) -> Result<(Extractor<'a>, Missing), DataError> {
        let mut missing = Missing::default();
        let mut masks = None;
        let mut numbers_of = vec![None; t.props.len()];
        let column = |name: &str, missing: &mut Missing| {
            let p = t.props.iter().position(|p| p.name == name);
            if p.is_none() && !missing.columns.iter().any(|c| c == name) {
                missing.columns.push(name.to_string());
            }
            p
        };
        let event = |name: &str, missing: &mut Missing| {
            let c = predicate::event_code(t, name);
            if c.is_none() && !missing.events.iter().any(|e| e == name) {
                missing.events.push(name.to_string());
            }
            c
        };
        let value_code = |p: usize, v: &str| {
            let col = &t.props[p];
            (1..col.values.len() as u32).find(|&c| col.values.get(c) == v)
        };
        // The levels each column's (other) feature leaves out.
        let listed = |column: &str| -> Vec<&str> {
            defs.iter()
                .filter_map(|d| match d {
                    FeatureDef::Property { column: c, value } if c == column => {
                        Some(value.as_str())
                    }
                    _ => None,
                })
                .collect()
        };
        let mut slots = Vec::with_capacity(defs.len());
        for d in defs {
            let slot = match d {
                FeatureDef::Events { per_session } => Slot::Events {
                    per_session: *per_session,
                },
                FeatureDef::Sessions => Slot::Sessions,
                FeatureDef::ActiveDays => Slot::ActiveDays,
                FeatureDef::RecencyHours => Slot::Recency,
                FeatureDef::TenureHours => Slot::Tenure,
                FeatureDef::EventCount {
                    event: e,
                    per_session,
                    ..
                } => Slot::Count {
                    code: event(e, &mut missing),
                    per_session: *per_session,
                },
                FeatureDef::Milestone { name, event: p, .. } => {
                    match predicate::resolve(p, t, &format!("milestone {name:?}")) {
                        Ok(m) if m.event.is_some() => Slot::Milestone(Some(m)),
                        _ => {
                            missing.events.push(p.label());
                            Slot::Milestone(None)
                        }
                    }
                }
                FeatureDef::Reached { event: e, .. } => Slot::Reached(event(e, &mut missing)),
                FeatureDef::FunnelStep { steps } => {
                    let f = match funnel {
                        FunnelSource::Given => {
                            slots.push(Slot::Funnel);
                            continue;
                        }
                        FunnelSource::Config(f) => f,
                        FunnelSource::None => {
                            return Err(DataError::Input(
                                "the funnel_step feature needs a [funnel] section".into(),
                            ));
                        }
                    };
                    let m = funnel_masks(t, f)?;
                    if m.spec.steps != *steps {
                        return Err(DataError::Input(format!(
                            "funnel_step: the model's funnel has {steps} steps, the [funnel] given has {}",
                            m.spec.steps
                        )));
                    }
                    masks = Some(m);
                    Slot::Funnel
                }
                FeatureDef::Property { column: c, value } => {
                    Slot::Property(column(c, &mut missing).map(|p| (p, value_code(p, value))))
                }
                FeatureDef::PropertyOther { column: c } => {
                    Slot::PropertyOther(column(c, &mut missing).map(|p| {
                        let codes = listed(c)
                            .into_iter()
                            .filter_map(|v| value_code(p, v))
                            .collect();
                        (p, codes)
                    }))
                }
                FeatureDef::PropertyMissing { column: c } => {
                    Slot::PropertyMissing(column(c, &mut missing))
                }
                FeatureDef::DistinctValues {
                    column: c,
                    per_session,
                    ..
                } => Slot::Distinct {
                    column: column(c, &mut missing),
                    per_session: *per_session,
                },
                FeatureDef::DurationSeconds { per_session } => Slot::Duration {
                    per_session: *per_session,
                },
                FeatureDef::SecondsPerEvent => Slot::SecondsPerEvent,
                FeatureDef::EventShare { event: Some(e) } => Slot::Share(event(e, &mut missing)),
                FeatureDef::EventShare { event: None } => Slot::ShareOther,
                FeatureDef::NumericSum {
                    column: c,
                    event: e,
                }
                | FeatureDef::NumericMean {
                    column: c,
                    event: e,
                } => {
                    let scope = column(c, &mut missing).map(|p| {
                        if numbers_of[p].is_none() {
                            numbers_of[p] = Some(numbers(t, p));
                        }
                        (p, e.as_deref().and_then(|e| event(e, &mut missing)))
                    });
                    // A named event absent from the data: nothing to add up.
                    let scope = scope.filter(|(_, code)| e.is_none() || code.is_some());
                    match d {
                        FeatureDef::NumericSum { .. } => Slot::Sum(scope),
                        _ => Slot::Mean(scope),
                    }
                }
            };
            slots.push(slot);
        }
        let share_codes = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Share(Some(c)) => Some(*c),
                _ => None,
            })
            .collect();
        let needs_counts = slots.iter().any(|s| {
            matches!(
                s,
                Slot::Count { code: Some(_), .. } | Slot::Share(_) | Slot::ShareOther
            )
        });
        let needs_sessions = slots.iter().any(|s| {
            matches!(
                s,
                Slot::Sessions
                    | Slot::Events { per_session: true }
                    | Slot::Count {
                        per_session: true,
                        ..
                    }
                    | Slot::Distinct {
                        per_session: true,
                        ..
                    }
                    | Slot::Duration { .. }
                    | Slot::SecondsPerEvent
            )
        });
        let needs_days = slots.iter().any(|s| matches!(s, Slot::ActiveDays));
        let mut distinct: Vec<usize> = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Distinct {
                    column: Some(p), ..
                } => Some(*p),
                _ => None,
            })
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        Ok((
            Extractor {
                t,
                sessions,
                slots,
                funnel: masks,
                numbers: numbers_of,
                share_codes,
                needs_counts,
                needs_sessions,
                needs_days,
                distinct,
            },
            missing,
        ))
    }

    pub fn width(&self) -> usize {
        self.slots.len()
    }

    /// Fills `out` (one raw value per feature) from the unit's events.
    pub fn row(&self, u: &Unit, scratch: &mut RowScratch, out: &mut [f64]) {
        let t = self.t;
        let ev = u.events;
        let n = ev.len();
        // Distinct sessions, with each one's first and last timestamp in the
        // unit; the sessions of a user are numbered consecutively, so a
        // small offset table holds them.
        let mut sessions = 0u32;
        let mut duration_ms = 0i64;
        if self.needs_sessions && n > 0 {
            let base = (0..n)
                .map(|k| self.sessions.of_event[ev.get(k)])
                .min()
                .unwrap_or(0);
            scratch.span.clear();
            for i in ev.iter() {
                let s = (self.sessions.of_event[i] - base) as usize;
                if s >= scratch.span.len() {
                    scratch.span.resize(s + 1, None);
                }
                let ts = t.ts[i];
                match &mut scratch.span[s] {
                    Some((lo, hi)) => {
                        *lo = (*lo).min(ts);
                        *hi = (*hi).max(ts);
                    }
                    slot @ None => {
                        *slot = Some((ts, ts));
                        sessions += 1;
                    }
                }
            }
            duration_ms = scratch.span.iter().flatten().map(|(lo, hi)| hi - lo).sum();
        }
        let mut days = 0u32;
        if self.needs_days {
            let mut last_day = i64::MIN;
            for i in ev.iter() {
                let day = t.ts[i].div_euclid(DAY_MS);
                if day != last_day {
                    days += 1;
                    last_day = day;
                }
            }
        }
        if self.needs_counts {
            if scratch.counts.len() < t.event_names.len() {
                scratch.counts.resize(t.event_names.len(), 0);
            }
            for i in ev.iter() {
                scratch.counts[t.event[i] as usize] += 1;
            }
        }
        scratch.distinct.clear();
        for &p in &self.distinct {
            let col = &t.props[p];
            if scratch.stamp.len() < col.values.len() {
                scratch.stamp.resize(col.values.len(), u32::MAX);
            }
            let mut k = 0u64;
            scratch.stamp_id = scratch.stamp_id.wrapping_add(1);
            if scratch.stamp_id == u32::MAX {
                scratch.stamp.fill(u32::MAX);
                scratch.stamp_id = 0;
            }
            for i in ev.iter() {
                let c = col.codes[i] as usize;
                if c != 0 && scratch.stamp[c] != scratch.stamp_id {
                    scratch.stamp[c] = scratch.stamp_id;
                    k += 1;
                }
            }
            scratch.distinct.push((p, k));
        }
        let per = f64::from(sessions.max(1));
        let rate = |x: f64, per_session: bool| if per_session { x / per } else { x };
        let first_code = |p: usize| ev.iter().map(|i| t.props[p].codes[i]).find(|&c| c != 0);
        let dur_s = duration_ms as f64 / 1000.0;
        for (slot, o) in self.slots.iter().zip(out.iter_mut()) {
            *o = match slot {
                Slot::Events { per_session } => rate(n as f64, *per_session),
                Slot::Sessions => f64::from(sessions),
                Slot::ActiveDays => f64::from(days),
                Slot::Recency => {
                    if n == 0 {
                        0.0
                    } else {
                        (u.cutoff_ts - t.ts[ev.get(n - 1)]).max(0) as f64 / HOUR_MS
                    }
                }
                Slot::Tenure => (u.cutoff_ts - u.first_ts).max(0) as f64 / HOUR_MS,
                Slot::Count {
                    code: Some(c),
                    per_session,
                } => rate(f64::from(scratch.counts[*c as usize]), *per_session),
                Slot::Count { code: None, .. } => 0.0,
                Slot::Milestone(Some(m)) => f64::from(u8::from(ev.iter().any(|i| m.matches(t, i)))),
                Slot::Milestone(None) | Slot::Reached(None) => 0.0,
                Slot::Reached(Some(c)) => f64::from(u8::from(ev.iter().any(|i| t.event[i] == *c))),
                Slot::Funnel => match u.level {
                    Some(l) => f64::from(l.max(0)),
                    // FunnelSource::Given promises a level for every unit.
                    None => {
                        let Some(f) = self.funnel.as_ref() else {
                            *o = 0.0;
                            continue;
                        };
                        scratch.mask.clear();
                        scratch.mask.extend(ev.iter().map(|i| f.masks.mask(t, i)));
                        scratch.ts.clear();
                        scratch.ts.extend(ev.iter().map(|i| t.ts[i]));
                        let out = engine::evaluate(
                            &scratch.ts,
                            &scratch.mask,
                            &f.spec,
                            &mut scratch.funnel,
                        );
                        if out.excluded { 0.0 } else { out.level as f64 }
                    }
                },
                Slot::Property(Some((p, Some(code)))) => {
                    f64::from(u8::from(first_code(*p) == Some(*code)))
                }
                Slot::Property(_) => 0.0,
                Slot::PropertyOther(Some((p, listed))) => f64::from(u8::from(
                    first_code(*p).is_some_and(|c| !listed.contains(&c)),
                )),
                Slot::PropertyOther(None) => 0.0,
                Slot::PropertyMissing(Some(p)) => f64::from(u8::from(first_code(*p).is_none())),
                Slot::PropertyMissing(None) => 1.0,
                Slot::Distinct {
                    column: Some(p),
                    per_session,
                } => {
                    let k = scratch
                        .distinct
                        .iter()
                        .find(|(q, _)| q == p)
                        .map_or(0, |(_, k)| *k);
                    rate(k as f64, *per_session)
                }
                Slot::Distinct { column: None, .. } => 0.0,
                Slot::Duration { per_session } => rate(dur_s, *per_session),
                Slot::SecondsPerEvent => {
                    dur_s / (n.saturating_sub(sessions as usize)).max(1) as f64
                }
                Slot::Share(Some(c)) if n > 0 => f64::from(scratch.counts[*c as usize]) / n as f64,
                Slot::Share(_) => 0.0,
                Slot::ShareOther if n > 0 => {
                    let listed: u64 = self
                        .share_codes
                        .iter()
                        .map(|&c| u64::from(scratch.counts[c as usize]))
                        .sum();
                    (n as u64 - listed) as f64 / n as f64
                }
                Slot::ShareOther => 0.0,
                Slot::Sum(Some(scope)) => self.numeric(ev, *scope).0,
                Slot::Mean(Some(scope)) => {
                    let (sum, k) = self.numeric(ev, *scope);
                    if k == 0 { 0.0 } else { sum / k as f64 }
                }
                Slot::Sum(None) | Slot::Mean(None) => 0.0,
            };
        }
        if self.needs_counts {
            for i in ev.iter() {
                scratch.counts[t.event[i] as usize] = 0;
            }
        }
    }

    /// (sum, count) of column `p`'s numbers over the unit's events (of one
    /// event type when given).
    fn numeric(&self, ev: Events, (p, event): (usize, Option<u32>)) -> (f64, u64) {
        let t = self.t;
        let nums = self.numbers[p].as_deref().unwrap_or(&[]);
        let codes = &t.props[p].codes;
        let (mut sum, mut k) = (0.0, 0u64);
        for i in ev.iter() {
            if event.is_some_and(|e| t.event[i] != e) {
                continue;
            }
            if let Some(x) = nums.get(codes[i] as usize).copied().flatten() {
                sum += x;
                k += 1;
            }
        }
        (sum, k)
    }
}

/// Buffers reused across units.
#[derive(Default)]
pub struct RowScratch {
    counts: Vec<u32>,
    /// Per session offset: (first, last) timestamp in the unit.
    span: Vec<Option<(i64, i64)>>,
    mask: Vec<u32>,
    ts: Vec<i64>,
    funnel: Scratch,
    stamp: Vec<u32>,
    stamp_id: u32,
    distinct: Vec<(usize, u64)>,
}

/// Per event code, the number of units (among `units`) with the event.
pub fn units_per_event(t: &EventTable, units: &[Events]) -> Vec<u64> {
    let mut out = vec![0u64; t.event_names.len()];
    let mut last = vec![usize::MAX; t.event_names.len()];
    for (u, ev) in units.iter().enumerate() {
        for i in ev.iter() {
            let e = t.event[i] as usize;
            if last[e] != u {
                last[e] = u;
                out[e] += 1;
            }
        }
    }
    out
}

/// Per event code, the number of events of `units`.
pub fn events_per_code(t: &EventTable, units: &[Events]) -> Vec<u64> {
    let mut out = vec![0u64; t.event_names.len()];
    for ev in units {
        for i in ev.iter() {
            out[t.event[i] as usize] += 1;
        }
    }
    out
}

/// Each unit's first value code of column `p` (0: none).
pub fn first_values(t: &EventTable, p: usize, units: &[Events]) -> Vec<u32> {
    let col = &t.props[p];
    units
        .iter()
        .map(|ev| {
            ev.iter()
                .map(|i| col.codes[i])
                .find(|&c| c != 0)
                .unwrap_or(0)
        })
        .collect()
}

/// Per value code, the number of units whose first value of `p` it is.
pub fn units_per_value(t: &EventTable, p: usize, units: &[Events]) -> Vec<u64> {
    let mut out = vec![0u64; t.props[p].values.len()];
    for c in first_values(t, p, units) {
        if c != 0 {
            out[c as usize] += 1;
        }
    }
    out
}

/// The event types that most often carry a value of column `p` (at most
/// `max`, each on at least half of its events), by count
/// then name.
pub fn numeric_events(t: &EventTable, p: usize, units: &[Events], max: usize) -> Vec<String> {
    let codes = &t.props[p].codes;
    let mut with = vec![0u64; t.event_names.len()];
    let mut all = vec![0u64; t.event_names.len()];
    for ev in units {
        for i in ev.iter() {
            let e = t.event[i] as usize;
            all[e] += 1;
            with[e] += u64::from(codes[i] != 0);
        }
    }
    let mut es: Vec<usize> = (0..with.len())
        .filter(|&e| with[e] > 0 && with[e] * 2 >= all[e])
        .collect();
    es.sort_by(|&a, &b| {
        with[b]
            .cmp(&with[a])
            .then_with(|| t.event_names.get(a as u32).cmp(t.event_names.get(b as u32)))
    });
    es.truncate(max);
    es.into_iter()
        .map(|e| t.event_names.get(e as u32).to_string())
        .collect()
}
