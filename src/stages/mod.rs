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
    finish(t, stages, partial(t, stages, map)?)
}

/// The stages' figures over some of the users (one partition's, in a
/// partitioned run): counts that add up, since no user is in two
/// partitions, and time samples that the report sorts.
pub struct StagesPart {
    users: u64,
    events: u64,
    pred_events: Vec<u64>,
    stage_events: Vec<u64>,
    reached: Vec<u64>,
    users_next: Vec<u64>,
    event_tally: Vec<Tally>,
    unmapped: Vec<Tally>,
    pages: Option<Vec<FxHashMap<u32, Tally>>>,
    channels: Option<Vec<FxHashMap<u32, Tally>>>,
    exits: Vec<u64>,
    times: Vec<Vec<f64>>,
    /// Per predicate: some event matches it (looked for where it took none).
    matched: Vec<bool>,
}

type PropCounts = Option<Vec<FxHashMap<u32, Tally>>>;

impl StagesPart {
    /// Adds another partition's figures.
    pub fn merge(&mut self, o: StagesPart) {
        let add = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        let tally = |a: &mut Vec<Tally>, b: &[Tally]| {
            a.iter_mut().zip(b).for_each(|(x, y)| {
                x.events += y.events;
                x.users += y.users;
            })
        };
        let props = |a: &mut PropCounts, b: PropCounts| {
            if let (Some(a), Some(b)) = (a.as_mut(), b) {
                for (x, y) in a.iter_mut().zip(b) {
                    for (code, t) in y {
                        let e = x.entry(code).or_default();
                        e.events += t.events;
                        e.users += t.users;
                    }
                }
            }
        };
        self.users += o.users;
        self.events += o.events;
        add(&mut self.pred_events, &o.pred_events);
        add(&mut self.stage_events, &o.stage_events);
        add(&mut self.reached, &o.reached);
        add(&mut self.users_next, &o.users_next);
        tally(&mut self.event_tally, &o.event_tally);
        tally(&mut self.unmapped, &o.unmapped);
        props(&mut self.pages, o.pages);
        props(&mut self.channels, o.channels);
        add(&mut self.exits, &o.exits);
        for (a, b) in self.times.iter_mut().zip(o.times) {
            a.extend(b);
        }
        for (a, b) in self.matched.iter_mut().zip(o.matched) {
            *a |= b;
        }
    }
}

/// A stage tally counted elsewhere: (stage, code, events, users).
pub type CountedTally = (usize, u32, u64, u64);

/// The stages' figures counted elsewhere (a Spark job's aggregates), in
/// the event and property-value codes of the table the report is built on.
#[derive(Debug, Default)]
pub struct StageCounts {
    pub users: u64,
    pub events: u64,
    /// (predicate, events).
    pub pred_events: Vec<(usize, u64)>,
    pub stage_events: Vec<(usize, u64)>,
    pub reached: Vec<(usize, u64)>,
    pub users_next: Vec<(usize, u64)>,
    /// (stage, last event code, users).
    pub exits: Vec<(usize, u32, u64)>,
    pub events_by_stage: Vec<CountedTally>,
    /// (event code, events, users) no stage took.
    pub unmapped: Vec<(u32, u64, u64)>,
    /// Per stage, the tallies of the `page` and `channel` columns, when
    /// the table has them.
    pub pages: Option<Vec<CountedTally>>,
    pub channels: Option<Vec<CountedTally>>,
    /// (stage, ms spent, users).
    pub times: Vec<(usize, i64, u64)>,
    /// Predicates some event matches.
    pub matched: Vec<usize>,
}

impl StagesPart {
    /// The part the counts make for `stages` over `t`'s names.
    pub fn from_counts(
        t: &EventTable,
        stages: &[StageConfig],
        c: StageCounts,
    ) -> Result<StagesPart, DataError> {
        let k_n = stages.len();
        let n_codes = t.event_names.len();
        let n_preds: usize = stages.iter().map(|s| s.events.len()).sum();
        let bad = |what: &str| DataError::Input(format!("aggregates: a stage count {what}"));
        let at = |v: &mut Vec<u64>, i: usize, n: u64| -> Result<(), DataError> {
            *v.get_mut(i).ok_or_else(|| bad("out of range"))? += n;
            Ok(())
        };
        let mut pred_events = vec![0u64; n_preds];
        for (p, n) in c.pred_events {
            at(&mut pred_events, p, n)?;
        }
        let (mut stage_events, mut reached, mut users_next) =
            (vec![0u64; k_n], vec![0u64; k_n], vec![0u64; k_n]);
        for (list, into) in [
            (c.stage_events, &mut stage_events),
            (c.reached, &mut reached),
            (c.users_next, &mut users_next),
        ] {
            for (k, n) in list {
                at(into, k, n)?;
            }
        }
        if users_next.iter().zip(&reached).any(|(n, r)| n > r) {
            return Err(bad("has more users going on than reached the stage"));
        }
        let mut exits = vec![0u64; k_n * n_codes];
        for (k, e, n) in c.exits {
            if k >= k_n {
                return Err(bad("out of range"));
            }
            at(&mut exits, k * n_codes + e as usize, n)?;
        }
        let mut event_tally = vec![Tally::default(); k_n * n_codes];
        for (k, e, events, users) in c.events_by_stage {
            let tl = (k < k_n)
                .then(|| event_tally.get_mut(k * n_codes + e as usize))
                .flatten()
                .ok_or_else(|| bad("out of range"))?;
            tl.events += events;
            tl.users += users;
        }
        let mut unmapped = vec![Tally::default(); n_codes];
        for (e, events, users) in c.unmapped {
            let tl = unmapped
                .get_mut(e as usize)
                .ok_or_else(|| bad("out of range"))?;
            tl.events += events;
            tl.users += users;
        }
        let props = |list: Option<Vec<CountedTally>>| -> Result<PropCounts, DataError> {
            list.map(|list| {
                let mut per_stage = vec![FxHashMap::<u32, Tally>::default(); k_n];
                for (k, code, events, users) in list {
                    let e = per_stage
                        .get_mut(k)
                        .ok_or_else(|| bad("out of range"))?
                        .entry(code)
                        .or_default();
                    e.events += events;
                    e.users += users;
                }
                Ok(per_stage)
            })
            .transpose()
        };
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); k_n];
        for (k, ms, n) in c.times {
            let v = times.get_mut(k).ok_or_else(|| bad("out of range"))?;
            crate::funnel::push_n(v, ms as f64 / 1000.0, n).map_err(|e| bad(&e))?;
        }
        let mut matched = vec![false; n_preds];
        for p in c.matched {
            *matched.get_mut(p).ok_or_else(|| bad("out of range"))? = true;
        }
        Ok(StagesPart {
            users: c.users,
            events: c.events,
            pred_events,
            stage_events,
            reached,
            users_next,
            event_tally,
            unmapped,
            pages: props(c.pages)?,
            channels: props(c.channels)?,
            exits,
            times,
            matched,
        })
    }
}

/// Maps every event of `t` to a stage and counts.
pub fn partial(
    t: &EventTable,
    stages: &[StageConfig],
    map: &StageMap,
) -> Result<StagesPart, DataError> {
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

    let matched = (0..n_preds)
        .map(|p| pred_events[p] > 0 || (0..t.len()).any(|i| map.predicates[p].1.matches(t, i)))
        .collect();
    Ok(StagesPart {
        users: ranges.len() as u64,
        events: t.len() as u64,
        pred_events,
        stage_events,
        reached,
        users_next,
        event_tally,
        unmapped,
        pages: pages.map(|p| p.per_stage),
        channels: channels.map(|c| c.per_stage),
        exits,
        times,
        matched,
    })
}

/// The stages' report from their (merged) figures; `t` gives the names.
pub fn finish(
    t: &EventTable,
    stages: &[StageConfig],
    part: StagesPart,
) -> Result<StagesReport, DataError> {
    let StagesPart {
        users,
        events,
        pred_events,
        stage_events,
        reached,
        users_next,
        event_tally,
        unmapped,
        pages,
        channels,
        exits,
        mut times,
        matched,
    } = part;
    let k_n = stages.len();
    let n_codes = t.event_names.len();
    let top_of = |name: &str, per_stage: &PropCounts, k: usize| {
        let col = t.prop(name)?;
        Some(top_n(
            per_stage.as_ref()?[k]
                .iter()
                .map(|(&c, tl)| (col.values.get(c), *tl)),
            TOP_TOUCHPOINTS,
        ))
    };
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
            pages: top_of("page", &pages, k),
            channels: top_of("channel", &channels, k),
        };
        let sample = &mut times[k];
        crate::stats::sort(sample);
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
                notes.push(unused_note(&st.name, pred, matched[p]));
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
fn unused_note(stage: &str, pred: &crate::predicate::Predicate, matches_some: bool) -> String {
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
