//! Funnels: how far each user (or session) gets through ordered steps, where
//! the others drop off, and what they do instead. Exact semantics, with
//! worked examples, are in docs/funnels.md.

pub mod analysis;
pub mod breakdown;
pub mod engine;
#[cfg(test)]
mod tests;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::{FunnelConfig, JourneyConfig, Origins, ParamError};
use crate::error::DataError;
use crate::ingest::EventTable;
use crate::predicate::{MaskTable, Matcher, Predicate};
use crate::sessions::Sessions;
use crate::stats::{nearest_rank, round6};
pub use breakdown::{Breakdown, GroupFunnel, SignificantDifference};
pub use engine::Mode;
use engine::{EXCLUDE_BIT, MAX_STEPS, Outcome, Scratch, Spec};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    User,
    Session,
}

#[derive(Debug, Clone)]
pub struct FunnelOptions {
    pub steps: Vec<Predicate>,
    /// Conversion window in ms from the attempt's first step, as set; per
    /// user [`DEFAULT_WINDOW_MS`] when unset, per session none (the session
    /// bounds the attempt) unless set.
    pub window_ms: Option<i64>,
    pub mode: Mode,
    pub per: Per,
    pub exclude: Vec<Predicate>,
    pub by: Option<String>,
    /// Per-step conversion per cohort of entry, by this interval.
    pub trend: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct EventCount {
    pub event: String,
    pub units: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct StepStats {
    pub step: usize,
    pub label: String,
    /// Units whose furthest step is this one or later.
    pub reached: u64,
    pub conversion_from_previous: f64,
    pub conversion_from_first: f64,
    /// Units that reached the previous step but not this one.
    pub dropped_before: u64,
    pub median_seconds_from_previous: Option<f64>,
    pub p90_seconds_from_previous: Option<f64>,
    /// Of `dropped_before`, the units whose window was still open at the
    /// export's end: they may yet convert, so they are not drop-outs.
    pub still_open_before: u64,
    /// Time from step 1 to this step among the units that reached it
    /// (steps 2 and on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_from_first: Option<TimeToConvert>,
    /// Units whose furthest step is this one (they went no further).
    pub stopped_here: u64,
    /// For those who stopped here: the event right after their step event.
    pub next_events_of_stopped: Vec<EventCount>,
    /// For those who stopped here: their last event in the unit (exit point).
    pub exit_events_of_stopped: Vec<EventCount>,
}

/// The distribution of the time from step 1 to a step among converters.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TimeToConvert {
    pub units: u64,
    pub median_seconds: f64,
    pub p90_seconds: f64,
    pub mean_seconds: f64,
    /// Fixed bins: under 1 min, 1-10 min, 10-60 min, 1-6 h, 6-24 h, 1-3 d,
    /// 3-7 d, 7-14 d, 14-30 d, 30 d and more (lower bound included).
    pub histogram: Vec<TimeBin>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TimeBin {
    pub label: String,
    pub from_seconds: f64,
    pub units: u64,
}

/// The histogram's bins: (label, lower bound in seconds).
pub const TIME_BINS: [(&str, f64); 10] = [
    ("< 1 min", 0.0),
    ("1-10 min", 60.0),
    ("10-60 min", 600.0),
    ("1-6 h", 3_600.0),
    ("6-24 h", 21_600.0),
    ("1-3 d", 86_400.0),
    ("3-7 d", 259_200.0),
    ("7-14 d", 604_800.0),
    ("14-30 d", 1_209_600.0),
    ("30 d +", 2_592_000.0),
];

fn time_to_convert(sorted: &[f64]) -> Option<TimeToConvert> {
    if sorted.is_empty() {
        return None;
    }
    let mut histogram: Vec<TimeBin> = TIME_BINS
        .iter()
        .map(|(l, f)| TimeBin {
            label: l.to_string(),
            from_seconds: *f,
            units: 0,
        })
        .collect();
    for &x in sorted {
        let b = TIME_BINS.iter().rposition(|(_, f)| x >= *f).unwrap_or(0);
        histogram[b].units += 1;
    }
    Some(TimeToConvert {
        units: sorted.len() as u64,
        median_seconds: nearest_rank(sorted, 0.5),
        p90_seconds: nearest_rank(sorted, 0.9),
        mean_seconds: round6(sorted.iter().sum::<f64>() / sorted.len() as f64),
        histogram,
    })
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct FunnelReport {
    pub steps: Vec<String>,
    pub mode: Mode,
    pub per: Per,
    /// Human form of the window ("14d"); per session `null` (the session bounds
    /// the attempt) unless a window was set, which then applies within it.
    pub window: Option<String>,
    pub exclude: Vec<String>,
    /// Users (or sessions) in the data.
    pub units: u64,
    /// Units with a non-excluded attempt (step 1 reached).
    pub entered: u64,
    /// Units that did step 1 but whose every attempt was excluded.
    pub excluded: u64,
    pub overall_conversion: f64,
    pub step_stats: Vec<StepStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
}

/// Funnel trends: per cohort of entry (the calendar interval, UTC, of the
/// best attempt's step-1 event), the units reaching each step.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Trend {
    pub interval: String,
    pub cohorts: Vec<TrendRow>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TrendRow {
    /// The interval's first day, YYYY-MM-DD.
    pub cohort: String,
    /// Units reaching each step (the first is the cohort's size).
    pub reached: Vec<u64>,
    /// reached[s] / reached[s − 1], steps 2 on.
    pub step_conversion: Vec<f64>,
    pub overall_conversion: f64,
    /// Units of the cohort that have not converted but whose window was
    /// still open at the export's end.
    pub still_open: u64,
}

/// One row of `--levels`: the unit's ids and its level (-1: excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitLevel {
    pub user: u32,
    /// Session number, per session.
    pub session: Option<u32>,
    pub level: i32,
}

impl FunnelOptions {
    /// Options from a `[funnel]` config section, with the documented defaults.
    pub fn from_config(c: &FunnelConfig) -> FunnelOptions {
        FunnelOptions {
            steps: c.steps.clone(),
            window_ms: c.window.map(|w| w.ms()),
            mode: c.mode.unwrap_or(Mode::Ordered),
            per: c.per.unwrap_or(Per::User),
            exclude: c.exclude.clone(),
            by: c.by.clone(),
            trend: c.trend.clone(),
        }
    }

    /// The funnel the flags (`flags`, as a section; empty lists are unset)
    /// give over journey.toml's `[funnel]`, or `None` when neither names
    /// steps. Records where each setting came from in `origins`.
    pub fn resolve(
        flags: &FunnelConfig,
        cfg: &JourneyConfig,
        origins: &mut Origins,
    ) -> Option<FunnelOptions> {
        let file = cfg.funnel.as_ref();
        let src = cfg.source.as_ref();
        let list = |v: &Vec<Predicate>| (!v.is_empty()).then(|| v.clone());
        let steps = origins.pick(
            "steps",
            ("--steps", list(&flags.steps)),
            ("funnel.steps", file.and_then(|f| list(&f.steps))),
            src,
        )?;
        let merged = FunnelConfig {
            steps,
            window: origins.pick(
                "window",
                ("--window", flags.window),
                ("funnel.window", file.and_then(|f| f.window)),
                src,
            ),
            mode: origins.pick(
                "mode",
                ("--mode", flags.mode),
                ("funnel.mode", file.and_then(|f| f.mode)),
                src,
            ),
            per: origins.pick(
                "per",
                ("--per", flags.per),
                ("funnel.per", file.and_then(|f| f.per)),
                src,
            ),
            exclude: origins
                .pick(
                    "exclude",
                    ("--exclude", list(&flags.exclude)),
                    ("funnel.exclude", file.and_then(|f| list(&f.exclude))),
                    src,
                )
                .unwrap_or_default(),
            by: origins.pick(
                "by",
                ("--by", flags.by.clone()),
                ("funnel.by", file.and_then(|f| f.by.clone())),
                src,
            ),
            trend: origins.pick(
                "trend",
                ("--trend", flags.trend.clone()),
                ("funnel.trend", file.and_then(|f| f.trend.clone())),
                src,
            ),
        };
        Some(FunnelOptions::from_config(&merged))
    }

    /// The window the scan applies: per user the set one or the default,
    /// per session only a set one.
    pub fn effective_window(&self) -> Option<i64> {
        match self.per {
            Per::User => Some(self.window_ms.unwrap_or(DEFAULT_WINDOW_MS)),
            Per::Session => self.window_ms,
        }
    }

    /// Checks what can be checked before the data is read.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(ParamError::new(
                "steps",
                format!(
                    "a funnel needs 1 to {MAX_STEPS} steps, got {}",
                    self.steps.len()
                ),
            ));
        }
        if let Some(t) = &self.trend {
            crate::retention::clock::Unit::parse(t).map_err(|m| ParamError::new("trend", m))?;
        }
        Ok(())
    }
}

/// 14 days, as PostHog.
pub const DEFAULT_WINDOW_MS: i64 = 14 * 86_400_000;

pub struct FunnelResult {
    pub report: FunnelReport,
    pub levels: Vec<UnitLevel>,
}

const TOP_EVENTS: usize = 5;

/// Resolves steps and exclusions against the table, then scans every unit.
pub fn analyze(
    t: &EventTable,
    sessions: &Sessions,
    opts: &FunnelOptions,
) -> Result<FunnelResult, DataError> {
    let span = (!t.ts.is_empty()).then(|| {
        t.ts.iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
    });
    finish(t, opts, partial(t, sessions, opts, span)?)
}

/// The funnel's figures over some of the units (one partition's users, in
/// a partitioned run): integer counts, and samples whose summaries sort
/// them first, so merging in any order gives the same report.
pub struct FunnelPart {
    acc: Accumulator,
    /// Per unit, in table order (session numbers are this table's).
    pub levels: Vec<UnitLevel>,
    groups: FxHashMap<u32, Vec<u64>>,
    trend: std::collections::BTreeMap<i64, (Vec<u64>, u64)>,
    trend_clock: Option<crate::retention::clock::Clock>,
    by: Option<usize>,
}

impl FunnelPart {
    /// Adds another partition's figures (levels are appended: the caller
    /// puts them in order).
    pub fn merge(&mut self, o: FunnelPart) {
        self.acc.merge(o.acc);
        self.levels.extend(o.levels);
        for (code, counts) in o.groups {
            let g = self
                .groups
                .entry(code)
                .or_insert_with(|| vec![0; counts.len()]);
            g.iter_mut().zip(&counts).for_each(|(a, b)| *a += b);
        }
        for (bucket, (reached, open)) in o.trend {
            let row = self
                .trend
                .entry(bucket)
                .or_insert_with(|| (vec![0; reached.len()], 0));
            row.0.iter_mut().zip(&reached).for_each(|(a, b)| *a += b);
            row.1 += open;
        }
    }
}

/// A funnel's figures counted elsewhere (a Spark job's aggregates), in
/// event codes of the table the report is built on. Levels per unit are
/// not kept: the report needs only the counts.
pub struct UnitCounts {
    /// (level, excluded) → units.
    pub units: Vec<(usize, bool, u64)>,
    /// (step s ≥ 1, ms from step s − 1, units); and from step 1.
    pub from_previous: Vec<(usize, i64, u64)>,
    pub from_first: Vec<(usize, i64, u64)>,
    /// (stop index, units) whose window was still open.
    pub open: Vec<(usize, u64)>,
    /// (stop index, event code, units).
    pub next_events: Vec<(usize, u32, u64)>,
    pub exit_events: Vec<(usize, u32, u64)>,
}

impl FunnelPart {
    /// The part the counts make; `end` is the input's last timestamp.
    /// Refuses what the counts cannot give (a breakdown, a trend).
    pub fn from_counts(
        opts: &FunnelOptions,
        end: i64,
        c: UnitCounts,
    ) -> Result<FunnelPart, DataError> {
        let k = opts.steps.len();
        let bad = |what: &str| DataError::Input(format!("aggregates: {what}"));
        let mut acc = Accumulator::new(k, end, opts.effective_window());
        for (level, excluded, n) in c.units {
            if level > k {
                return Err(bad(&format!(
                    "a unit at level {level} of a {k}-step funnel"
                )));
            }
            acc.units += n;
            acc.excluded += if excluded { n } else { 0 };
            for r in acc.reached.iter_mut().take(level) {
                *r += n;
            }
        }
        for (list, into) in [
            (c.from_previous, &mut acc.seconds),
            (c.from_first, &mut acc.from_first),
        ] {
            for (s, ms, n) in list {
                let v = into
                    .get_mut(s)
                    .ok_or_else(|| bad(&format!("a time to step {}", s + 1)))?;
                push_n(v, ms as f64 / 1000.0, n).map_err(|e| bad(&e))?;
            }
        }
        for (s, n) in c.open {
            *acc.open.get_mut(s).ok_or_else(|| bad("an open window"))? += n;
        }
        for (list, into) in [
            (c.next_events, &mut acc.next_events),
            (c.exit_events, &mut acc.exit_events),
        ] {
            for (s, e, n) in list {
                *into
                    .get_mut(s)
                    .ok_or_else(|| bad("a drop-off event"))?
                    .entry(e)
                    .or_default() += n;
            }
        }
        Ok(FunnelPart {
            acc,
            levels: Vec::new(),
            groups: FxHashMap::default(),
            trend: Default::default(),
            trend_clock: None,
            by: None,
        })
    }
}

/// Appends `n` copies of `x`, or says that they do not fit in memory
/// (counts from outside bytes may claim any number).
pub fn push_n(v: &mut Vec<f64>, x: f64, n: u64) -> Result<(), String> {
    usize::try_from(n)
        .ok()
        .and_then(|n| v.try_reserve(n).ok().map(|()| n))
        .map(|n| v.extend(std::iter::repeat_n(x, n)))
        .ok_or_else(|| format!("{n} values do not fit in memory"))
}

/// Scans the units of `t`; `span` is the whole input's first and last
/// timestamp (the end that decides which windows are still open, and the
/// first day of the trend's buckets).
pub fn partial(
    t: &EventTable,
    sessions: &Sessions,
    opts: &FunnelOptions,
    span: Option<(i64, i64)>,
) -> Result<FunnelPart, DataError> {
    if opts.steps.is_empty() || opts.steps.len() > MAX_STEPS {
        return Err(DataError::Input(format!(
            "a funnel needs 1 to {MAX_STEPS} steps, got {}",
            opts.steps.len()
        )));
    }
    let steps: Vec<Matcher> = opts
        .steps
        .iter()
        .enumerate()
        .map(|(i, p)| crate::predicate::resolve(p, t, &format!("funnel step {}", i + 1)))
        .collect::<Result<_, _>>()?;
    let exclude: Vec<Matcher> = opts
        .exclude
        .iter()
        .map(|p| crate::predicate::resolve(p, t, "funnel exclusion"))
        .collect::<Result<_, _>>()?;
    let by = match &opts.by {
        Some(name) => Some(
            t.props
                .iter()
                .position(|p| &p.name == name)
                .ok_or_else(|| {
                    DataError::Input(format!(
                        "--by: unknown property {name:?}{}",
                        crate::predicate::suggest(name, t.props.iter().map(|p| p.name.as_str()))
                    ))
                })?,
        ),
        None => None,
    };
    let spec = Spec {
        steps: steps.len(),
        window: opts.effective_window(),
        mode: opts.mode,
    };
    let masks = step_masks(t, &steps, &exclude);

    let k = steps.len();
    let end = span.map_or(0, |s| s.1);
    let mut acc = Accumulator::new(k, end, opts.effective_window());
    let mut levels = Vec::new();
    let mut groups: FxHashMap<u32, Vec<u64>> = FxHashMap::default();
    let trend_clock = opts
        .trend
        .as_deref()
        .and_then(|t| crate::retention::clock::Unit::parse(t).ok())
        .map(|unit| crate::retention::clock::Clock {
            unit,
            kind: crate::retention::clock::ClockKind::Calendar,
            zone: crate::retention::clock::UTC,
            anchor_ms: span.map_or(0, |s| s.0).div_euclid(86_400_000) * 86_400_000,
        });
    // Per cohort of entry: units reaching each step, and the open ones.
    let mut trend: std::collections::BTreeMap<i64, (Vec<u64>, u64)> = Default::default();
    let window = opts.effective_window();
    let mut scratch = Scratch::default();
    let mut mask_buf = Vec::new();
    let mut ts_buf = Vec::new();
    let mut visit = |idx: &[usize], user: u32, session: Option<u32>| {
        mask_buf.clear();
        mask_buf.extend(idx.iter().map(|&i| masks.mask(t, i)));
        ts_buf.clear();
        ts_buf.extend(idx.iter().map(|&i| t.ts[i]));
        let out = engine::evaluate(&ts_buf, &mask_buf, &spec, &mut scratch);
        acc.add(t, idx, &ts_buf, &out);
        if let Some(c) = &trend_clock
            && out.level > 0
        {
            let entry = ts_buf[out.pos[0]];
            let row = trend
                .entry(c.bucket(entry))
                .or_insert_with(|| (vec![0; k], 0));
            for r in row.0.iter_mut().take(out.level) {
                *r += 1;
            }
            if out.level < k && window.is_some_and(|w| entry.saturating_add(w) > end) {
                row.1 += 1;
            }
        }
        if let Some(p) = by
            && out.level > 0
        {
            // The property on the unit's first step-1 event.
            let first = mask_buf.iter().position(|m| m & 1 != 0).unwrap_or(0);
            let code = t.props[p].codes[idx[first]];
            let g = groups.entry(code).or_insert_with(|| vec![0; k]);
            for c in g.iter_mut().take(out.level) {
                *c += 1;
            }
        }
        let level = if out.excluded { -1 } else { out.level as i32 };
        levels.push(UnitLevel {
            user,
            session,
            level,
        });
    };
    let mut idx: Vec<usize> = Vec::new();
    match opts.per {
        Per::User => {
            for r in t.user_ranges() {
                idx.clear();
                idx.extend(r.clone());
                visit(&idx, t.user[r.start], None);
            }
        }
        Per::Session => {
            for (s, events) in events_by_session(sessions).iter().enumerate() {
                visit(events, sessions.user[s], Some(s as u32));
            }
        }
    }
    Ok(FunnelPart {
        acc,
        levels,
        groups,
        trend,
        trend_clock,
        by,
    })
}

/// The funnel's report from its (merged) figures; `t` gives the names.
pub fn finish(
    t: &EventTable,
    opts: &FunnelOptions,
    part: FunnelPart,
) -> Result<FunnelResult, DataError> {
    let FunnelPart {
        acc,
        levels,
        groups,
        trend,
        trend_clock,
        by,
    } = part;
    let k = opts.steps.len();
    let breakdown = by.map(|p| breakdown::build(&t.props[p], &groups, k));
    let mut report = acc.finish(t, opts, k, breakdown);
    if let (Some(c), Some(interval)) = (&trend_clock, &opts.trend) {
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                round6(a as f64 / b as f64)
            }
        };
        report.trend = Some(Trend {
            interval: interval.clone(),
            cohorts: trend
                .into_iter()
                .map(|(b, (reached, open))| TrendRow {
                    cohort: c.label(b),
                    step_conversion: (1..k).map(|s| ratio(reached[s], reached[s - 1])).collect(),
                    overall_conversion: ratio(reached[k - 1], reached[0]),
                    reached,
                    still_open: open,
                })
                .collect(),
        });
    }
    Ok(FunnelResult { report, levels })
}

/// Each session's event indices in time order.
fn events_by_session(sessions: &Sessions) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = sessions
        .events
        .iter()
        .map(|&n| Vec::with_capacity(n as usize))
        .collect();
    for (i, &s) in sessions.of_event.iter().enumerate() {
        out[s as usize].push(i);
    }
    out
}

/// Bit k for step k, [`EXCLUDE_BIT`] for the exclusions.
pub fn step_masks(t: &EventTable, steps: &[Matcher], exclude: &[Matcher]) -> MaskTable {
    MaskTable::new(
        t,
        steps
            .iter()
            .enumerate()
            .map(|(k, m)| (1u32 << k, m))
            .chain(exclude.iter().map(|m| (EXCLUDE_BIT, m))),
    )
}

/// Per-step counts, times and drop-off events, gathered unit by unit.
struct Accumulator {
    units: u64,
    excluded: u64,
    reached: Vec<u64>,
    seconds: Vec<Vec<f64>>,
    from_first: Vec<Vec<f64>>,
    /// open[s]: units stopped before step s + 1 with their window open at `end`.
    open: Vec<u64>,
    /// The export's last event and the window: a unit whose window reaches
    /// past `end` has not had its full chance to convert.
    end: i64,
    window: Option<i64>,
    next_events: Vec<FxHashMap<u32, u64>>,
    exit_events: Vec<FxHashMap<u32, u64>>,
}

impl Accumulator {
    fn new(k: usize, end: i64, window: Option<i64>) -> Self {
        Accumulator {
            units: 0,
            excluded: 0,
            reached: vec![0; k],
            seconds: vec![Vec::new(); k],
            from_first: vec![Vec::new(); k],
            open: vec![0; k],
            end,
            window,
            next_events: vec![FxHashMap::default(); k],
            exit_events: vec![FxHashMap::default(); k],
        }
    }

    fn merge(&mut self, o: Accumulator) {
        self.units += o.units;
        self.excluded += o.excluded;
        let add = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.reached, &o.reached);
        add(&mut self.open, &o.open);
        for (a, b) in self.seconds.iter_mut().zip(o.seconds) {
            a.extend(b);
        }
        for (a, b) in self.from_first.iter_mut().zip(o.from_first) {
            a.extend(b);
        }
        let sum = |a: &mut Vec<FxHashMap<u32, u64>>, b: Vec<FxHashMap<u32, u64>>| {
            for (x, y) in a.iter_mut().zip(b) {
                for (e, n) in y {
                    *x.entry(e).or_default() += n;
                }
            }
        };
        sum(&mut self.next_events, o.next_events);
        sum(&mut self.exit_events, o.exit_events);
    }

    fn add(&mut self, t: &EventTable, idx: &[usize], ts: &[i64], out: &Outcome) {
        self.units += 1;
        self.excluded += u64::from(out.excluded);
        for s in 0..out.level {
            self.reached[s] += 1;
            if s > 0 {
                self.seconds[s].push((ts[out.pos[s]] - ts[out.pos[s - 1]]) as f64 / 1000.0);
                self.from_first[s].push((ts[out.pos[s]] - ts[out.pos[0]]) as f64 / 1000.0);
            }
        }
        let k = self.reached.len();
        if let Some(w) = self.window
            && out.level > 0
            && out.level < k
            && ts[out.pos[0]].saturating_add(w) > self.end
        {
            self.open[out.level - 1] += 1;
        }
        if out.level > 0 && out.level < k {
            let stop = out.level - 1;
            let after = out.pos[stop] + 1;
            if after < idx.len() {
                *self.next_events[stop]
                    .entry(t.event[idx[after]])
                    .or_default() += 1;
            }
            if let Some(&last) = idx.last() {
                *self.exit_events[stop].entry(t.event[last]).or_default() += 1;
            }
        }
    }

    fn finish(
        self,
        t: &EventTable,
        opts: &FunnelOptions,
        k: usize,
        breakdown: Option<Breakdown>,
    ) -> FunnelReport {
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                round6(a as f64 / b as f64)
            }
        };
        let top = |m: &FxHashMap<u32, u64>| -> Vec<EventCount> {
            let mut v: Vec<EventCount> = m
                .iter()
                .map(|(&e, &n)| EventCount {
                    event: t.event_names.get(e).to_string(),
                    units: n,
                })
                .collect();
            v.sort_by(|a, b| b.units.cmp(&a.units).then_with(|| a.event.cmp(&b.event)));
            v.truncate(TOP_EVENTS);
            v
        };
        let step_stats = (0..k)
            .map(|s| {
                let mut secs = self.seconds[s].clone();
                crate::stats::sort(&mut secs);
                let mut first = self.from_first[s].clone();
                crate::stats::sort(&mut first);
                let prev = if s == 0 {
                    self.reached[0]
                } else {
                    self.reached[s - 1]
                };
                let next = self.reached.get(s + 1).copied().unwrap_or(0);
                StepStats {
                    step: s + 1,
                    // Unordered levels count steps done in any order, not a named step.
                    label: match opts.mode {
                        Mode::Unordered => format!("any {} of {k} steps", s + 1),
                        _ => opts.steps[s].label(),
                    },
                    reached: self.reached[s],
                    conversion_from_previous: ratio(self.reached[s], prev),
                    conversion_from_first: ratio(self.reached[s], self.reached[0]),
                    dropped_before: prev - self.reached[s],
                    median_seconds_from_previous: (!secs.is_empty())
                        .then(|| nearest_rank(&secs, 0.5)),
                    p90_seconds_from_previous: (!secs.is_empty()).then(|| nearest_rank(&secs, 0.9)),
                    still_open_before: if s > 0 { self.open[s - 1] } else { 0 },
                    time_from_first: time_to_convert(&first),
                    stopped_here: if s + 1 < k { self.reached[s] - next } else { 0 },
                    next_events_of_stopped: top(&self.next_events[s]),
                    exit_events_of_stopped: top(&self.exit_events[s]),
                }
            })
            .collect();
        FunnelReport {
            steps: opts.steps.iter().map(Predicate::label).collect(),
            mode: opts.mode,
            per: opts.per,
            window: opts.effective_window().map(crate::duration::format_ms),
            exclude: opts.exclude.iter().map(Predicate::label).collect(),
            units: self.units,
            entered: self.reached[0],
            excluded: self.excluded,
            overall_conversion: ratio(self.reached[k - 1], self.reached[0]),
            step_stats,
            breakdown,
            trend: None,
        }
    }
}
