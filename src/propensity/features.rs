//! Per-user features computed from the events before the user's cutoff.
//! Nothing at or after the cutoff is read here: every function takes the
//! pre-cutoff slice `range.start..pre_end` only. Definitions: docs/propensity.md.

use serde::{Deserialize, Serialize};

use crate::doc::rich::code;

use super::config::Milestone;
use crate::config::FunnelConfig;
use crate::error::DataError;
use crate::funnel::FunnelOptions;
use crate::funnel::engine::{self, MAX_STEPS, Scratch, Spec};
use crate::ingest::EventTable;
use crate::predicate::{self, MaskTable, Matcher, Predicate};
use crate::sessions::Sessions;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: i64 = 86_400_000;

/// One feature. Counts and durations enter the model as `ln(1 + x)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureDef {
    /// ln(1 + events before the cutoff).
    Events,
    /// ln(1 + sessions with an event before the cutoff).
    Sessions,
    /// ln(1 + distinct UTC days with an event before the cutoff).
    ActiveDays,
    /// ln(1 + hours from the last pre-cutoff event to the cutoff); 0 without events.
    RecencyHours,
    /// ln(1 + hours from the first event to the cutoff).
    TenureHours,
    /// ln(1 + times this event happened before the cutoff).
    EventCount { event: String },
    /// 1 if the milestone happened before the cutoff.
    Milestone {
        name: String,
        event: Predicate,
        phrase: String,
    },
    /// The furthest `[funnel]` step reached with the pre-cutoff events (0..k).
    FunnelStep { steps: usize },
    /// 1 if the user's first pre-cutoff value of the property is `value`.
    Property { column: String, value: String },
}

impl FeatureDef {
    pub fn name(&self) -> String {
        match self {
            FeatureDef::Events => "events".into(),
            FeatureDef::Sessions => "sessions".into(),
            FeatureDef::ActiveDays => "active_days".into(),
            FeatureDef::RecencyHours => "recency_hours".into(),
            FeatureDef::TenureHours => "tenure_hours".into(),
            FeatureDef::EventCount { event } => format!("count:{event}"),
            FeatureDef::Milestone { name, .. } => format!("milestone:{name}"),
            FeatureDef::FunnelStep { .. } => "funnel_step".into(),
            FeatureDef::Property { column, value } => format!("property:{column}={value}"),
        }
    }

    /// 0/1 features: explained by the odds ratio of having it.
    pub fn is_flag(&self) -> bool {
        matches!(
            self,
            FeatureDef::Milestone { .. } | FeatureDef::Property { .. }
        )
    }

    /// What the feature measures, in words.
    pub fn description(&self) -> String {
        match self {
            FeatureDef::Events => "ln(1 + events before the cutoff)".into(),
            FeatureDef::Sessions => "ln(1 + sessions before the cutoff)".into(),
            FeatureDef::ActiveDays => "ln(1 + active days before the cutoff)".into(),
            FeatureDef::RecencyHours => {
                "ln(1 + hours from the last event before the cutoff to the cutoff)".into()
            }
            FeatureDef::TenureHours => "ln(1 + hours from the first event to the cutoff)".into(),
            FeatureDef::EventCount { event } => {
                format!("ln(1 + {} events before the cutoff)", code(event))
            }
            FeatureDef::Milestone { event, .. } => {
                format!("1 if {} happened before the cutoff", code(&event.label()))
            }
            FeatureDef::FunnelStep { steps } => {
                format!("[funnel] step reached before the cutoff (0..{steps})")
            }
            FeatureDef::Property { column, value } => {
                format!(
                    "1 if the first {} before the cutoff is {}",
                    code(column),
                    code(value)
                )
            }
        }
    }

    /// Words for "users who ... are 3.1x as likely to convert" (flags), or
    /// for "users one standard deviation higher in ..." (the rest).
    pub fn phrase(&self) -> String {
        match self {
            FeatureDef::Events => "events before the cutoff (log scale)".into(),
            FeatureDef::Sessions => "sessions before the cutoff (log scale)".into(),
            FeatureDef::ActiveDays => "active days before the cutoff (log scale)".into(),
            FeatureDef::RecencyHours => {
                "hours since their last event at the cutoff (log scale)".into()
            }
            FeatureDef::TenureHours => "time from first event to the cutoff (log scale)".into(),
            FeatureDef::EventCount { event } => format!("{} events (log scale)", code(event)),
            FeatureDef::Milestone { phrase, .. } => phrase.clone(),
            FeatureDef::FunnelStep { .. } => "funnel step reached".into(),
            FeatureDef::Property { column, value } => {
                format!("have {} = {}", code(column), code(value))
            }
        }
    }

    /// Events the feature needs in the data (scoring refuses a model whose
    /// events are missing).
    pub fn events(&self) -> Vec<String> {
        match self {
            FeatureDef::EventCount { event } => vec![event.clone()],
            FeatureDef::Milestone { event, .. } => {
                event.event().map(str::to_string).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }
}

pub fn milestone_feature(m: &Milestone) -> FeatureDef {
    FeatureDef::Milestone {
        name: m.name.clone(),
        event: m.event.clone(),
        phrase: m.phrase(),
    }
}

/// How to compute one feature on a given table.
enum Slot {
    Events,
    Sessions,
    ActiveDays,
    Recency,
    Tenure,
    /// Index into the per-event count buffer; `None`: the event is not in
    /// this table (always 0).
    Count(Option<u32>),
    Milestone(Option<Matcher>),
    Funnel,
    /// (property column, value code); `None` value: never present.
    Property(Option<(usize, Option<u32>)>),
}

/// The funnel's step masks over one table.
struct FunnelMasks {
    masks: MaskTable,
    spec: Spec,
}

impl FunnelMasks {
    fn mask(&self, t: &EventTable, i: usize) -> u32 {
        self.masks.mask(t, i)
    }
}

/// Features resolved against one table.
pub struct Extractor<'a> {
    t: &'a EventTable,
    sessions: &'a Sessions,
    slots: Vec<Slot>,
    funnel: Option<FunnelMasks>,
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

fn event_code(t: &EventTable, name: &str) -> Option<u32> {
    (0..t.event_names.len() as u32).find(|&c| t.event_names.get(c) == name)
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
    let window = opts.effective_window();
    Ok(FunnelMasks {
        masks: crate::funnel::step_masks(t, &steps, &exclude),
        spec: Spec {
            steps: opts.steps.len(),
            window,
            mode: opts.mode,
        },
    })
}

impl<'a> Extractor<'a> {
    /// Resolves `defs` against `t`. Events, columns and values the table
    /// lacks are listed in the returned [`Missing`]; their features read 0.
    pub fn new(
        t: &'a EventTable,
        sessions: &'a Sessions,
        defs: &[FeatureDef],
        funnel: Option<&FunnelConfig>,
    ) -> Result<(Extractor<'a>, Missing), DataError> {
        let mut missing = Missing::default();
        let mut slots = Vec::with_capacity(defs.len());
        let mut masks = None;
        for d in defs {
            let slot = match d {
                FeatureDef::Events => Slot::Events,
                FeatureDef::Sessions => Slot::Sessions,
                FeatureDef::ActiveDays => Slot::ActiveDays,
                FeatureDef::RecencyHours => Slot::Recency,
                FeatureDef::TenureHours => Slot::Tenure,
                FeatureDef::EventCount { event } => {
                    let c = event_code(t, event);
                    if c.is_none() {
                        missing.events.push(event.clone());
                    }
                    Slot::Count(c)
                }
                FeatureDef::Milestone { name, event, .. } => {
                    match crate::predicate::resolve(event, t, &format!("milestone {name:?}")) {
                        Ok(m) => Slot::Milestone(Some(m)),
                        Err(_) => {
                            missing.events.push(event.label());
                            Slot::Milestone(None)
                        }
                    }
                }
                FeatureDef::FunnelStep { steps } => {
                    let f = funnel.ok_or_else(|| {
                        DataError::Input("the funnel_step feature needs a [funnel] section".into())
                    })?;
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
                FeatureDef::Property { column, value } => {
                    match t.props.iter().position(|p| &p.name == column) {
                        Some(p) => {
                            let col = &t.props[p];
                            let code =
                                (1..col.values.len() as u32).find(|&c| col.values.get(c) == value);
                            Slot::Property(Some((p, code)))
                        }
                        None => {
                            if !missing.columns.contains(column) {
                                missing.columns.push(column.clone());
                            }
                            Slot::Property(None)
                        }
                    }
                }
            };
            slots.push(slot);
        }
        Ok((
            Extractor {
                t,
                sessions,
                slots,
                funnel: masks,
            },
            missing,
        ))
    }

    pub fn width(&self) -> usize {
        self.slots.len()
    }

    /// Fills `out` (one value per feature) from the events
    /// `start..pre_end`, with the cutoff at `cutoff_ts`.
    pub fn row(
        &self,
        start: usize,
        pre_end: usize,
        cutoff_ts: i64,
        scratch: &mut RowScratch,
        out: &mut [f64],
    ) {
        let t = self.t;
        let pre = start..pre_end;
        let n = pre.len();
        let first_ts = t.ts[start];
        // Distinct sessions and days; sessions of a user are numbered
        // consecutively, so a small offset table counts them.
        let mut sessions = 0u32;
        let mut days = 0u32;
        if n > 0 {
            let base = self.sessions.of_event[start];
            scratch.seen.clear();
            let mut last_day = i64::MIN;
            for i in pre.clone() {
                let s = self.sessions.of_event[i].saturating_sub(base) as usize;
                if s >= scratch.seen.len() {
                    scratch.seen.resize(s + 1, false);
                }
                if !scratch.seen[s] {
                    scratch.seen[s] = true;
                    sessions += 1;
                }
                let day = t.ts[i].div_euclid(DAY_MS);
                if day != last_day {
                    days += 1;
                    last_day = day;
                }
            }
        }
        let needs_counts = self.slots.iter().any(|s| matches!(s, Slot::Count(Some(_))));
        if needs_counts {
            if scratch.counts.len() < t.event_names.len() {
                scratch.counts.resize(t.event_names.len(), 0);
            }
            for i in pre.clone() {
                scratch.counts[t.event[i] as usize] += 1;
            }
        }
        for (slot, o) in self.slots.iter().zip(out.iter_mut()) {
            *o = match slot {
                Slot::Events => (n as f64).ln_1p(),
                Slot::Sessions => f64::from(sessions).ln_1p(),
                Slot::ActiveDays => f64::from(days).ln_1p(),
                Slot::Recency => {
                    if n == 0 {
                        0.0
                    } else {
                        ((cutoff_ts - t.ts[pre_end - 1]).max(0) as f64 / HOUR_MS).ln_1p()
                    }
                }
                Slot::Tenure => ((cutoff_ts - first_ts).max(0) as f64 / HOUR_MS).ln_1p(),
                Slot::Count(Some(c)) => f64::from(scratch.counts[*c as usize]).ln_1p(),
                Slot::Count(None) => 0.0,
                Slot::Milestone(Some(m)) => {
                    f64::from(u8::from(pre.clone().any(|i| m.matches(t, i))))
                }
                Slot::Milestone(None) => 0.0,
                Slot::Funnel => {
                    let f = self.funnel.as_ref().expect("resolved with the slot");
                    scratch.mask.clear();
                    scratch.mask.extend(pre.clone().map(|i| f.mask(t, i)));
                    let out = engine::evaluate(
                        &t.ts[pre.clone()],
                        &scratch.mask,
                        &f.spec,
                        &mut scratch.funnel,
                    );
                    if out.excluded { 0.0 } else { out.level as f64 }
                }
                Slot::Property(Some((p, Some(code)))) => {
                    let codes = &t.props[*p].codes;
                    let first = pre.clone().map(|i| codes[i]).find(|&c| c != 0);
                    f64::from(u8::from(first == Some(*code)))
                }
                Slot::Property(_) => 0.0,
            };
        }
        if needs_counts {
            for i in pre {
                scratch.counts[t.event[i] as usize] = 0;
            }
        }
    }
}

/// Buffers reused across users.
#[derive(Default)]
pub struct RowScratch {
    counts: Vec<u32>,
    seen: Vec<bool>,
    mask: Vec<u32>,
    funnel: Scratch,
}

/// Per-event-code number of users (among `users`) with the event before the cutoff.
pub fn users_per_event(t: &EventTable, users: &[(usize, usize)]) -> Vec<u64> {
    let mut out = vec![0u64; t.event_names.len()];
    let mut last = vec![usize::MAX; t.event_names.len()];
    for (u, &(start, pre_end)) in users.iter().enumerate() {
        for i in start..pre_end {
            let e = t.event[i] as usize;
            if last[e] != u {
                last[e] = u;
                out[e] += 1;
            }
        }
    }
    out
}

/// Per-value number of users (among `users`) whose first pre-cutoff value
/// of property column `p` is that value (index = value code).
pub fn users_per_value(t: &EventTable, p: usize, users: &[(usize, usize)]) -> Vec<u64> {
    let col = &t.props[p];
    let mut out = vec![0u64; col.values.len()];
    for &(start, pre_end) in users {
        if let Some(c) = (start..pre_end).map(|i| col.codes[i]).find(|&c| c != 0) {
            out[c as usize] += 1;
        }
    }
    out
}
