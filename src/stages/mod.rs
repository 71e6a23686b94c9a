//! Journey stages (Awareness … Advocacy) mapped from events by the config's
//! `[[stages]]`: per stage the users who reached it, its touchpoints, the time
//! spent in it, the conversion to the next stage and where the others left.
//! The exact definitions, with a worked example, are in docs/stages.md.

use rustc_hash::FxHashMap;

use crate::config::StageConfig;
use crate::doc::rich::code;
use crate::error::DataError;
use crate::ingest::{EventTable, PropColumn};
use crate::stats::{nearest_rank, round6};

pub mod analysis;
mod mapping;
mod report;
pub use mapping::StageMap;
pub use report::{
    ExitPoint, MappedPredicate, NextStage, StageMapping, StageReport, StagesReport, TOP_EXITS,
    TOP_TOUCHPOINTS, TOP_UNMAPPED, TimeSpent, Touchpoint, Touchpoints,
};

const NONE: u32 = u32::MAX;
const NO_INDEX: usize = usize::MAX;

/// Events and distinct users for one (stage, value); users are counted with
/// a last-seen marker since the table is grouped by user.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    events: u64,
    users: u64,
    /// User index + 1 of the last user counted (0: none yet).
    last_user: u32,
}

impl Tally {
    #[inline]
    fn add(&mut self, user: u32) {
        self.events += 1;
        if self.last_user != user + 1 {
            self.last_user = user + 1;
            self.users += 1;
        }
    }
}

/// Counts of a property's values per stage (sparse: pages can be many).
struct PropTallies<'a> {
    col: &'a PropColumn,
    per_stage: Vec<FxHashMap<u32, Tally>>,
}

impl<'a> PropTallies<'a> {
    fn new(col: Option<&'a PropColumn>, stages: usize) -> Option<Self> {
        col.map(|col| PropTallies {
            col,
            per_stage: vec![FxHashMap::default(); stages],
        })
    }
    #[inline]
    fn add(&mut self, stage: usize, i: usize, user: u32) {
        let code = self.col.codes[i];
        if code != 0 {
            self.per_stage[stage].entry(code).or_default().add(user);
        }
    }
    fn top(&self, stage: usize) -> Vec<Touchpoint> {
        top_n(
            self.per_stage[stage]
                .iter()
                .map(|(&c, t)| (self.col.values.get(c), *t)),
            TOP_TOUCHPOINTS,
        )
    }
}

/// The `n` largest tallies by events (descending), then name.
fn top_n<'a>(items: impl Iterator<Item = (&'a str, Tally)>, n: usize) -> Vec<Touchpoint> {
    let mut v: Vec<Touchpoint> = items
        .filter(|(_, t)| t.events > 0)
        .map(|(name, t)| Touchpoint {
            name: name.to_string(),
            events: t.events,
            users: t.users,
        })
        .collect();
    v.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    v.truncate(n);
    v
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round6(part as f64 / whole as f64)
    }
}

/// Maps every event to a stage and measures each stage; see docs/stages.md.
pub fn analyze(t: &EventTable, stages: &[StageConfig]) -> Result<StagesReport, DataError> {
    analyze_with(t, stages, &StageMap::new(t, stages)?)
}

/// [`analyze`] with the stage mapping already resolved against `t`.
pub fn analyze_with(
    t: &EventTable,
    stages: &[StageConfig],
    map: &StageMap,
) -> Result<StagesReport, DataError> {
    if stages.is_empty() {
        return Err(DataError::Input(
            "no stages configured: add [[stages]] tables with a name and events to the config"
                .into(),
        ));
    }
    let k_n = stages.len();
    let n_codes = t.event_names.len();
    let n_preds: usize = stages.iter().map(|s| s.events.len()).sum();

    let mut pred_events = vec![0u64; n_preds];
    let mut stage_events = vec![0u64; k_n];
    let mut reached = vec![0u64; k_n];
    let mut users_next = vec![0u64; k_n];
    let mut event_tally = vec![Tally::default(); k_n * n_codes];
    let mut unmapped = vec![Tally::default(); n_codes];
    let mut pages = PropTallies::new(t.prop("page"), k_n);
    let mut channels = PropTallies::new(t.prop("channel"), k_n);
    // exits[k * n_codes + last event code]: users who left after stage k.
    let mut exits = vec![0u64; k_n * n_codes];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); k_n];

    // Per-user scratch.
    let mut stage_of: Vec<u32> = Vec::new();
    let mut first = vec![NO_INDEX; k_n];
    let mut last = vec![NO_INDEX; k_n];
    let mut next_at = vec![NO_INDEX; k_n];

    let ranges = t.user_ranges();
    for (u, range) in ranges.iter().enumerate() {
        let u = u as u32;
        let start = range.start;
        stage_of.clear();
        first.fill(NO_INDEX);
        last.fill(NO_INDEX);
        // Forward: each event's stage (the first matching predicate wins).
        for i in range.clone() {
            let code = t.event[i] as usize;
            match map.of(t, i) {
                Some((ks, p)) => {
                    stage_of.push(ks as u32);
                    pred_events[p] += 1;
                    stage_events[ks] += 1;
                    event_tally[ks * n_codes + code].add(u);
                    if let Some(pt) = pages.as_mut() {
                        pt.add(ks, i, u);
                    }
                    if let Some(ct) = channels.as_mut() {
                        ct.add(ks, i, u);
                    }
                    if first[ks] == NO_INDEX {
                        first[ks] = i;
                    }
                    last[ks] = i;
                }
                None => {
                    stage_of.push(NONE);
                    unmapped[code].add(u);
                }
            }
        }
        // Reach, conversion to the next stage (reached after the first event
        // in this one), and the last event of those who left.
        let last_event = t.event[range.end - 1] as usize;
        for k in 0..k_n {
            if first[k] == NO_INDEX {
                continue;
            }
            reached[k] += 1;
            if k + 1 < k_n {
                if last[k + 1] != NO_INDEX && last[k + 1] > first[k] {
                    users_next[k] += 1;
                } else {
                    exits[k * n_codes + last_event] += 1;
                }
            }
        }
        // Backward: next_at[j] is the user's nearest event at or after i in
        // stage j, so at a stage's first event the end of the time spent is
        // the nearest event of any later stage.
        next_at.fill(NO_INDEX);
        for i in range.clone().rev() {
            let k = stage_of[i - start];
            if k == NONE {
                continue;
            }
            let k = k as usize;
            next_at[k] = i;
            if first[k] == i {
                let later = next_at[k + 1..].iter().copied().min().unwrap_or(NO_INDEX);
                let end = if later == NO_INDEX { last[k] } else { later };
                times[k].push((t.ts[end] - t.ts[i]) as f64 / 1000.0);
            }
        }
    }

    let users = ranges.len() as u64;
    let events = t.len() as u64;
    let mut out_stages = Vec::with_capacity(k_n);
    for (k, st) in stages.iter().enumerate() {
        let row = &event_tally[k * n_codes..(k + 1) * n_codes];
        let touchpoints = Touchpoints {
            events: top_n(
                row.iter()
                    .enumerate()
                    .map(|(c, tl)| (t.event_names.get(c as u32), *tl)),
                TOP_TOUCHPOINTS,
            ),
            pages: pages.as_ref().map(|p| p.top(k)),
            channels: channels.as_ref().map(|c| c.top(k)),
        };
        let sample = &mut times[k];
        sample.sort_by(f64::total_cmp);
        let time_spent = (!sample.is_empty()).then(|| TimeSpent {
            median_s: round6(nearest_rank(sample, 0.5)),
            p90_s: round6(nearest_rank(sample, 0.9)),
        });
        let next = stages.get(k + 1).map(|n| {
            let left = reached[k] - users_next[k];
            let ex = &exits[k * n_codes..(k + 1) * n_codes];
            let exit_points = top_n(
                ex.iter().enumerate().map(|(c, &n)| {
                    let tl = Tally {
                        events: n,
                        users: n,
                        last_user: 0,
                    };
                    (t.event_names.get(c as u32), tl)
                }),
                TOP_EXITS,
            )
            .into_iter()
            .map(|tp| ExitPoint {
                event: tp.name,
                users: tp.users,
            })
            .collect();
            NextStage {
                stage: n.name.clone(),
                users_next: users_next[k],
                conversion: share(users_next[k], reached[k]),
                left,
                left_share: share(left, reached[k]),
                exit_points,
            }
        });
        out_stages.push(StageReport {
            name: st.name.clone(),
            events: stage_events[k],
            users_reached: reached[k],
            share_of_users: share(reached[k], users),
            touchpoints,
            time_spent,
            next,
        });
    }

    let mut mapping = Vec::with_capacity(k_n);
    let mut notes = Vec::new();
    let mut p = 0;
    for st in stages {
        let mut predicates = Vec::with_capacity(st.events.len());
        for pred in &st.events {
            if pred_events[p] == 0 {
                notes.push(unused_note(t, map, &st.name, pred, p));
            }
            predicates.push(MappedPredicate {
                predicate: pred.label(),
                events: pred_events[p],
            });
            p += 1;
        }
        mapping.push(StageMapping {
            stage: st.name.clone(),
            predicates,
        });
    }
    let unmapped_events: u64 = unmapped.iter().map(|tl| tl.events).sum();
    Ok(StagesReport {
        users,
        events,
        mapping,
        stages: out_stages,
        unmapped_events,
        unmapped_share: share(unmapped_events, events),
        top_unmapped: top_n(
            unmapped
                .iter()
                .enumerate()
                .map(|(c, tl)| (t.event_names.get(c as u32), *tl)),
            TOP_UNMAPPED,
        ),
        notes,
    })
}

/// Says why predicate `p` took no event: nothing matches it, or everything
/// it matches went to an earlier predicate.
fn unused_note(
    t: &EventTable,
    map: &StageMap,
    stage: &str,
    pred: &crate::predicate::Predicate,
    p: usize,
) -> String {
    let m = &map.predicates[p].1;
    let matches_some = (0..t.len()).any(|i| m.matches(t, i));
    if matches_some {
        format!(
            "stage {}: {} took no event: every event it matches belongs to an earlier stage or predicate",
            code(stage),
            code(&pred.label())
        )
    } else {
        format!(
            "stage {}: {} matches no event in the data",
            code(stage),
            code(&pred.label())
        )
    }
}

#[cfg(test)]
mod tests;
