//! The Markov journey map: a first-order Markov chain over the states of each
//! session (events or journey stages) with a synthetic START and two
//! absorbing states, CONVERSION and EXIT; the exact probability of converting
//! from each state, each state's removal effect, and the most common paths.
//! The semantics are documented in docs/paths.md.

pub mod analysis;
mod chain;

use std::cmp::Reverse;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub use chain::{Absorption, absorb, solve};

use crate::config::{JourneyConfig, StageConfig};
use crate::error::DataError;
use crate::ingest::EventTable;
use crate::predicate::{Matcher, Predicate};
use crate::sessions::Sessions;
use crate::stages::StageMap;
use crate::stats::round6;

/// Label of the synthetic start state.
pub const START: &str = "START";
/// Label of the absorbing state reached at a session's first conversion event.
pub const CONVERSION: &str = "CONVERSION";
/// Label of the absorbing state reached at the end of a session that did not convert.
pub const EXIT: &str = "EXIT";
/// Most transient states the chain is solved for (the solve is O(n³)).
pub const MAX_STATES: usize = 2000;
/// Event vocabularies up to this size are counted in a dense matrix.
const DENSE_LIMIT: usize = 1024;

/// What a state of the chain is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum StateKind {
    /// The event name.
    #[default]
    Event,
    /// The journey stage of the event (the first `[[stages]]` entry matching it).
    Stage,
}

/// `[markov]`: the journey map's settings. The map is part of the report
/// whenever `[conversion]` names the conversion event.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkovSection {
    /// `event` (default) or `stage`.
    #[serde(default)]
    pub states: Option<StateKind>,
    /// Paths listed for each ending (default 10).
    #[serde(default)]
    pub top: Option<usize>,
    /// Memory of the chain: 1 (default) or 2..4, where a state is the last
    /// `order` states of the path (ChannelAttribution's higher order).
    #[serde(default)]
    pub order: Option<usize>,
}

/// The longest history a higher-order state remembers.
pub const MAX_ORDER: usize = 4;
/// A state whose chain and observed conversion differ by at least this
/// much (with at least [`GAP_MIN_SESSIONS`] sessions) is flagged.
pub const GAP_FLAG: f64 = 0.05;
pub const GAP_MIN_SESSIONS: u64 = 30;

#[derive(Debug, Clone)]
pub struct PathsOptions {
    pub states: StateKind,
    /// The event that converts; a session's path ends at its first match.
    pub conversion: Predicate,
    /// How many paths to list for each ending.
    pub top: usize,
    /// The stage mapping, used with `StateKind::Stage`.
    pub stages: Vec<StageConfig>,
    /// 1..=[`MAX_ORDER`]: see [`MarkovSection::order`].
    pub order: usize,
}

impl PathsOptions {
    /// The `[markov]` settings (default: event states, the top 10 paths), the
    /// config's conversion event and
    /// stages; None when the config names no conversion event.
    pub fn from_config(c: &JourneyConfig) -> Option<PathsOptions> {
        let m = c.markov.clone().unwrap_or_default();
        Some(PathsOptions {
            states: m.states.unwrap_or_default(),
            conversion: c.conversion.as_ref()?.event.clone(),
            top: m.top.unwrap_or(10),
            stages: c.stages.clone(),
            order: m.order.unwrap_or(1),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MarkovReport {
    pub states_kind: StateKind,
    /// The chain's memory: 1, or the length of history a state remembers.
    pub order: usize,
    /// Distinct histories (higher-order states) the chain was solved over;
    /// the number of transient states for order 1.
    pub chain_states: u64,
    /// The order the removal effects were solved at: `order`, or 1 when a
    /// higher-order chain has too many histories to re-solve per state.
    pub removal_order: usize,
    /// The conversion predicate: `purchase` or `page_view[page=/checkout]`.
    pub conversion: String,
    /// Sessions counted: every session is one path from START.
    pub sessions: u64,
    pub converted_sessions: u64,
    /// converted_sessions / sessions, as observed.
    pub conversion_rate: f64,
    /// Events (before a conversion) that map to no stage; always 0 for event states.
    pub skipped_events: u64,
    /// Events after their session's conversion, which the paths do not include.
    pub events_after_conversion: u64,
    /// START first, then the transient states by name, then CONVERSION and EXIT.
    pub states: Vec<StateStats>,
    /// Every transition with a count, ordered by `from`, then `to`, in the
    /// order of `states`.
    pub transitions: Vec<Transition>,
    pub top_converting_paths: Vec<PathCount>,
    pub top_exit_paths: Vec<PathCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StateStats {
    pub state: String,
    /// Times the chain entered the state (START: sessions; CONVERSION:
    /// converted sessions; EXIT: the others).
    pub visits: u64,
    /// P(reaching CONVERSION | in this state) under the chain, exact. For a
    /// higher order: the mean over the histories that end in this state,
    /// weighted by the sessions that first reached the state through each.
    pub p_conversion: f64,
    /// Sessions that visited the state before converting or leaving.
    pub sessions: u64,
    /// The share of those sessions that converted, as observed: what the
    /// chain's p_conversion estimates. A first-order chain forgets how a
    /// session got here, so the two can differ; null for CONVERSION, EXIT.
    pub observed_conversion: Option<f64>,
    /// |p_conversion − observed_conversion| ≥ 0.05 over ≥ 30 sessions: the
    /// chain's figure for this state should not be trusted (try a higher
    /// order).
    pub gap: bool,
    /// 1 − P'(CONVERSION | START) / P(CONVERSION | START) when every
    /// transition into this state goes to EXIT instead; null for START,
    /// CONVERSION and EXIT.
    pub removal_effect: Option<f64>,
    /// removal_effect / the sum of all states' removal effects.
    pub removal_share: Option<f64>,
}

/// A higher-order state: the last states of the path, oldest first,
/// padded with `u32::MAX`.
type History = [u32; MAX_ORDER];

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub count: u64,
    /// count / all transitions out of `from`; each state's probabilities
    /// sum to exactly 1 (rounded to 6 decimals by largest remainder).
    pub probability: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PathCount {
    /// `START > a > b > CONVERSION`.
    pub path: String,
    /// The same path as a list, START and the ending included.
    pub states: Vec<String>,
    /// Sessions that followed it.
    pub count: u64,
    /// count / sessions.
    pub share: f64,
}

/// Maps an event to its raw state code.
enum StateMap {
    /// The event code itself.
    Event,
    /// The event's journey stage.
    Stage(StageMap),
}

impl StateMap {
    #[inline]
    fn state(&self, t: &EventTable, i: usize) -> Option<u32> {
        match self {
            StateMap::Event => Some(t.event[i]),
            StateMap::Stage(map) => map.stage(t, i).map(|s| s as u32),
        }
    }
}

/// Transition counts over raw state codes.
trait Counter {
    fn add(&mut self, from: u32, to: u32);
    fn edges(self) -> Vec<(u32, u32, u64)>;
}

struct Dense {
    n: usize,
    counts: Vec<u64>,
}

impl Counter for Dense {
    #[inline]
    fn add(&mut self, from: u32, to: u32) {
        self.counts[from as usize * self.n + to as usize] += 1;
    }
    fn edges(self) -> Vec<(u32, u32, u64)> {
        let n = self.n;
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(k, &c)| ((k / n) as u32, (k % n) as u32, c))
            .collect()
    }
}

#[derive(Default)]
struct Sparse(FxHashMap<(u32, u32), u64>);

impl Counter for Sparse {
    #[inline]
    fn add(&mut self, from: u32, to: u32) {
        *self.0.entry((from, to)).or_default() += 1;
    }
    fn edges(self) -> Vec<(u32, u32, u64)> {
        self.0.into_iter().map(|((f, t), c)| (f, t, c)).collect()
    }
}

/// What one pass over the sessions counts.
struct Counted {
    edges: Vec<(u32, u32, u64)>,
    /// Collapsed path (raw codes, the ending last) → sessions.
    paths: FxHashMap<Box<[u32]>, u64>,
    sessions: u64,
    converted: u64,
    skipped: u64,
    after_conversion: u64,
    /// Per raw state code (START included): sessions that visited it, and
    /// of those the ones that converted.
    visited_sessions: Vec<u64>,
    visited_converted: Vec<u64>,
    /// For order > 1: transitions between histories (ids into `histories`;
    /// START, CONVERSION and EXIT as raw codes `k..k+3` in the last slot).
    history_edges: Vec<(u32, u32, u64)>,
    histories: Vec<History>,
    /// Per history: see [`HistoryCounter::first`].
    history_first: Vec<u64>,
}

/// Builds the Markov journey map of the sessions.
pub fn analyze(
    table: &EventTable,
    sessions: &Sessions,
    opts: &PathsOptions,
) -> Result<MarkovReport, DataError> {
    finish(table, opts, partial(table, sessions, opts)?)
}

/// The journey map's counts over some of the sessions (one partition's
/// users, in a partitioned run); they add up across partitions.
pub struct MarkovPart(Counted);

impl MarkovPart {
    /// Adds another partition's counts. First-order only: a higher-order
    /// chain numbers its histories in the order sessions first show them,
    /// which partitions do not share (see [`partitioned`]).
    pub fn merge(&mut self, o: MarkovPart) {
        let (a, b) = (&mut self.0, o.0);
        let mut edges: FxHashMap<(u32, u32), u64> =
            a.edges.iter().map(|&(f, t, c)| ((f, t), c)).collect();
        for (f, t, c) in b.edges {
            *edges.entry((f, t)).or_default() += c;
        }
        a.edges = edges.into_iter().map(|((f, t), c)| (f, t, c)).collect();
        for (p, c) in b.paths {
            *a.paths.entry(p).or_default() += c;
        }
        a.sessions += b.sessions;
        a.converted += b.converted;
        a.skipped += b.skipped;
        a.after_conversion += b.after_conversion;
        for (x, y) in a.visited_sessions.iter_mut().zip(&b.visited_sessions) {
            *x += y;
        }
        for (x, y) in a.visited_converted.iter_mut().zip(&b.visited_converted) {
            *x += y;
        }
    }
}

/// A first-order map's counts made elsewhere (a Spark job's aggregates),
/// in raw state codes: events 0..k, then START, CONVERSION and EXIT.
pub struct StateCounts {
    pub edges: Vec<(u32, u32, u64)>,
    pub paths: Vec<(Vec<u32>, u64)>,
    pub sessions: u64,
    pub converted: u64,
    pub after_conversion: u64,
    /// Events no state takes (stage states).
    pub skipped: u64,
    /// (state, converted, sessions).
    pub visits: Vec<(u32, bool, u64)>,
}

impl MarkovPart {
    /// The part the counts make over `k` event states.
    pub fn from_counts(k: usize, c: StateCounts) -> Result<MarkovPart, DataError> {
        let bad = || DataError::Input("aggregates: a Markov state out of range".into());
        let n = k as u32 + 3;
        if c.edges.iter().any(|&(f, t, _)| f >= n || t >= n)
            || c.paths.iter().any(|(p, _)| p.iter().any(|&s| s >= n))
        {
            return Err(bad());
        }
        let mut visited_sessions = vec![0; k + 3];
        let mut visited_converted = vec![0; k + 3];
        for (s, conv, c) in c.visits {
            let s = s as usize;
            *visited_sessions.get_mut(s).ok_or_else(bad)? += c;
            if conv {
                visited_converted[s] += c;
            }
        }
        let mut paths: FxHashMap<Box<[u32]>, u64> = FxHashMap::default();
        for (p, c) in c.paths {
            *paths.entry(p.into_boxed_slice()).or_default() += c;
        }
        Ok(MarkovPart(Counted {
            edges: c.edges,
            paths,
            sessions: c.sessions,
            converted: c.converted,
            skipped: c.skipped,
            after_conversion: c.after_conversion,
            visited_sessions,
            visited_converted,
            history_edges: Vec::new(),
            histories: Vec::new(),
            history_first: Vec::new(),
        }))
    }
}

/// Whether these options can run partitioned: first order only.
pub fn partitioned(opts: &PathsOptions) -> bool {
    opts.order == 1
}

/// The states: (how events map to them, their names by raw code).
fn states(table: &EventTable, opts: &PathsOptions) -> Result<(StateMap, Vec<String>), DataError> {
    Ok(match opts.states {
        StateKind::Event => (
            StateMap::Event,
            table.event_names.iter().map(String::from).collect(),
        ),
        StateKind::Stage => stage_map(table, &opts.stages)?,
    })
}

/// Counts the transitions and paths of the sessions of `table`.
pub fn partial(
    table: &EventTable,
    sessions: &Sessions,
    opts: &PathsOptions,
) -> Result<MarkovPart, DataError> {
    if !(1..=MAX_ORDER).contains(&opts.order) {
        return Err(DataError::Input(format!(
            "order {} is not between 1 and {MAX_ORDER}",
            opts.order
        )));
    }
    let conversion = crate::predicate::resolve(&opts.conversion, table, "conversion event")?;
    let (map, names) = states(table, opts)?;
    let k = names.len();
    let counted = if k + 3 <= DENSE_LIMIT {
        let n = k + 3;
        let dense = Dense {
            n,
            counts: vec![0; n * n],
        };
        count(table, sessions, &conversion, &map, k, opts.order, dense)
    } else {
        count(
            table,
            sessions,
            &conversion,
            &map,
            k,
            opts.order,
            Sparse::default(),
        )
    };
    Ok(MarkovPart(counted))
}

/// The journey map from its (merged) counts; `table` gives the names.
pub fn finish(
    table: &EventTable,
    opts: &PathsOptions,
    part: MarkovPart,
) -> Result<MarkovReport, DataError> {
    let counted = part.0;
    let (_, names) = states(table, opts)?;
    let k = names.len();
    let (start, conv, exit) = (k as u32, k as u32 + 1, k as u32 + 2);

    // Compact: START, the visited states by name, CONVERSION, EXIT.
    let mut visited: Vec<u32> = {
        let mut seen = vec![false; k];
        for &(_, to, _) in &counted.edges {
            if (to as usize) < k {
                seen[to as usize] = true;
            }
        }
        (0..k as u32).filter(|&s| seen[s as usize]).collect()
    };
    if visited.len() > MAX_STATES {
        return Err(DataError::Input(format!(
            "{} distinct states; the Markov map handles at most {MAX_STATES}: group events into stages with `--states stage` and [[stages]] in --config",
            visited.len()
        )));
    }
    visited.sort_by(|&a, &b| names[a as usize].cmp(&names[b as usize]).then(a.cmp(&b)));
    let n = visited.len() + 3;
    let mut pos = vec![0usize; k + 3];
    for (p, &s) in visited.iter().enumerate() {
        pos[s as usize] = p + 1;
    }
    pos[start as usize] = 0;
    pos[conv as usize] = n - 2;
    pos[exit as usize] = n - 1;
    let mut label: Vec<&str> = vec![START];
    label.extend(visited.iter().map(|&s| names[s as usize].as_str()));
    label.extend([CONVERSION, EXIT]);

    let mut counts = vec![0u64; n * n];
    for &(f, t, c) in &counted.edges {
        counts[pos[f as usize] * n + pos[t as usize]] += c;
    }
    let chain = absorb(&counts, n);

    // Transitions, with each row's probabilities rounded to sum to 1.
    let mut transitions = Vec::new();
    for i in 0..n {
        let row = &counts[i * n..(i + 1) * n];
        let probs = round_row(row);
        for j in 0..n {
            if row[j] > 0 {
                transitions.push(Transition {
                    from: label[i].to_string(),
                    to: label[j].to_string(),
                    count: row[j],
                    probability: probs[j],
                });
            }
        }
    }

    // The chain's conversion probability per compact state: first order
    // directly, higher order as a weighted mean over histories.
    let (p_chain, chain_states, removal, removal_order) = if opts.order == 1 {
        (chain.p.clone(), (n - 3) as u64, chain.removal.clone(), 1)
    } else {
        let h = higher_order_p(&counted, k, &pos, n)?;
        match h.removal {
            Some(r) => (h.p, h.states, r, opts.order),
            None => (h.p, h.states, chain.removal.clone(), 1),
        }
    };
    let mut raw_of = vec![0usize; n];
    for (s, &p) in pos.iter().enumerate() {
        raw_of[p] = s;
    }
    let total_re: f64 = removal[1..n - 2].iter().sum();
    let states = (0..n)
        .map(|j| {
            let visits = if j == 0 {
                counted.sessions
            } else {
                (0..n).map(|i| counts[i * n + j]).sum()
            };
            let transient = j > 0 && j < n - 2;
            let re = removal[j];
            let (sessions, observed) = if j < n - 2 {
                let raw = raw_of[j];
                let v = counted.visited_sessions[raw];
                let share = (v > 0).then(|| counted.visited_converted[raw] as f64 / v as f64);
                (v, share)
            } else {
                (visits, None)
            };
            let p = round6(p_chain[j]);
            StateStats {
                state: label[j].to_string(),
                visits,
                p_conversion: p,
                sessions,
                observed_conversion: observed.map(round6),
                gap: observed
                    .is_some_and(|o| sessions >= GAP_MIN_SESSIONS && (p - o).abs() >= GAP_FLAG),
                removal_effect: transient.then(|| round6(re)),
                removal_share: transient.then(|| {
                    if total_re > 0.0 {
                        round6(re / total_re)
                    } else {
                        0.0
                    }
                }),
            }
        })
        .collect();

    let (top_converting_paths, top_exit_paths) = top_paths(
        &counted.paths,
        conv,
        &pos,
        &label,
        counted.sessions,
        opts.top,
    );

    Ok(MarkovReport {
        states_kind: opts.states,
        order: opts.order,
        chain_states,
        removal_order,
        conversion: opts.conversion.label(),
        sessions: counted.sessions,
        converted_sessions: counted.converted,
        conversion_rate: if counted.sessions > 0 {
            round6(counted.converted as f64 / counted.sessions as f64)
        } else {
            0.0
        },
        skipped_events: counted.skipped,
        events_after_conversion: counted.after_conversion,
        states,
        transitions,
        top_converting_paths,
        top_exit_paths,
    })
}

/// The stage mapping as states, named by stage.
fn stage_map(t: &EventTable, stages: &[StageConfig]) -> Result<(StateMap, Vec<String>), DataError> {
    if stages.is_empty() {
        return Err(DataError::Input(
            "stage states need [[stages]] in the config".into(),
        ));
    }
    let map = StageMap::new(t, stages)?;
    let names = map.names.clone();
    Ok((StateMap::Stage(map), names))
}

/// One pass over the sessions: transitions (self-loops included), collapsed
/// paths and the counts the report states.
fn count<C: Counter>(
    t: &EventTable,
    sessions: &Sessions,
    conversion: &Matcher,
    map: &StateMap,
    k: usize,
    memory: usize,
    mut counter: C,
) -> Counted {
    let (start, conv, exit) = (k as u32, k as u32 + 1, k as u32 + 2);
    let ns = sessions.len();
    // Event ranges per session: sessions follow table order by their first
    // event, so events are grouped by session unless sessions interleave
    // (tabs with a session column); then a stable counting sort groups them.
    let mut offsets = Vec::with_capacity(ns + 1);
    offsets.push(0usize);
    for &e in &sessions.events {
        offsets.push(offsets[offsets.len() - 1] + e as usize);
    }
    let grouped = sessions.of_event.windows(2).all(|w| w[0] <= w[1]);
    let order: Option<Vec<u32>> = (!grouped).then(|| {
        let mut next = offsets.clone();
        let mut order = vec![0u32; t.len()];
        for (i, &s) in sessions.of_event.iter().enumerate() {
            order[next[s as usize]] = i as u32;
            next[s as usize] += 1;
        }
        order
    });

    let mut out = Counted {
        edges: Vec::new(),
        paths: FxHashMap::default(),
        sessions: ns as u64,
        converted: 0,
        skipped: 0,
        after_conversion: 0,
        visited_sessions: vec![0; k + 3],
        visited_converted: vec![0; k + 3],
        history_edges: Vec::new(),
        histories: Vec::new(),
        history_first: Vec::new(),
    };
    // The last session (plus one) that visited each state, to count each
    // session once per state.
    let mut stamp = vec![0usize; k + 3];
    let mut histories = (memory > 1).then(|| HistoryCounter::new(memory, k + 3));
    let mut path: Vec<u32> = Vec::with_capacity(64);
    for s in 0..ns {
        let range = offsets[s]..offsets[s + 1];
        path.clear();
        let mut prev = start;
        let mut end = exit;
        for j in range.clone() {
            let i = match &order {
                Some(o) => o[j] as usize,
                None => j,
            };
            if conversion.matches(t, i) {
                end = conv;
                out.after_conversion += (range.end - j - 1) as u64;
                break;
            }
            match map.state(t, i) {
                Some(state) => {
                    counter.add(prev, state);
                    if prev != state {
                        path.push(state);
                    }
                    prev = state;
                }
                None => out.skipped += 1,
            }
        }
        counter.add(prev, end);
        if end == conv {
            out.converted += 1;
        }
        for &state in std::iter::once(&start).chain(path.iter()) {
            if stamp[state as usize] != s + 1 {
                stamp[state as usize] = s + 1;
                out.visited_sessions[state as usize] += 1;
                out.visited_converted[state as usize] += u64::from(end == conv);
            }
        }
        if let Some(h) = histories.as_mut() {
            h.add(s, &path, end, start);
        }
        path.push(end);
        match out.paths.get_mut(path.as_slice()) {
            Some(c) => *c += 1,
            None => {
                out.paths.insert(path.as_slice().into(), 1);
            }
        }
    }
    out.edges = counter.edges();
    if let Some(h) = histories {
        out.history_edges = h.counts.edges();
        out.histories = h.histories;
        out.history_first = h.first;
    }
    out
}

/// The chain over histories (order > 1), counted one session at a time.
struct HistoryCounter {
    order: usize,
    ids: FxHashMap<History, u32>,
    histories: Vec<History>,
    counts: Sparse,
    /// Per history: sessions whose first visit to the history's last state
    /// came through this history. Under a correct chain a state's
    /// first-visit-weighted p(conversion) equals the observed share of the
    /// sessions that visited it (the strong Markov property), so these are
    /// the weights that make the two comparable.
    first: Vec<u64>,
    /// Per raw state: the last session (plus one) that visited it.
    seen: Vec<usize>,
}

impl HistoryCounter {
    fn new(order: usize, raw_states: usize) -> HistoryCounter {
        HistoryCounter {
            order,
            ids: FxHashMap::default(),
            histories: Vec::new(),
            counts: Sparse::default(),
            first: Vec::new(),
            seen: vec![0; raw_states],
        }
    }

    fn id(&mut self, h: History) -> u32 {
        if let Some(&id) = self.ids.get(&h) {
            return id;
        }
        self.histories.push(h);
        self.first.push(0);
        let id = (self.histories.len() - 1) as u32;
        self.ids.insert(h, id);
        id
    }

    /// Adds session `session`'s transitions between histories: its
    /// collapsed path (`path`, without the ending), then `end`. Self-loops
    /// are first-order only: a repeated event leaves the history as it is.
    fn add(&mut self, session: usize, path: &[u32], end: u32, start: u32) {
        let mut h: History = [u32::MAX; MAX_ORDER];
        h[MAX_ORDER - 1] = start;
        let mut prev = self.id(h);
        for &state in path {
            h.copy_within(1.., 0);
            h[MAX_ORDER - 1] = state;
            // Only the last `order` states are remembered.
            let mut key = h;
            for slot in key.iter_mut().take(MAX_ORDER - self.order) {
                *slot = u32::MAX;
            }
            let next = self.id(key);
            self.counts.add(prev, next);
            if self.seen[state as usize] != session + 1 {
                self.seen[state as usize] = session + 1;
                self.first[next as usize] += 1;
            }
            prev = next;
        }
        let mut done = [u32::MAX; MAX_ORDER];
        done[MAX_ORDER - 1] = end;
        let end_id = self.id(done);
        self.counts.add(prev, end_id);
    }
}

/// The conversion probability of each compact state under the chain over
/// histories: the mean over the histories ending in it, weighted by the
/// sessions that first reached the state through each.
fn higher_order_p(
    counted: &Counted,
    k: usize,
    pos: &[usize],
    n: usize,
) -> Result<HigherOrder, DataError> {
    let hs = &counted.histories;
    let (start, conv, exit) = (k as u32, k as u32 + 1, k as u32 + 2);
    let is = |h: &History, raw: u32| {
        h[MAX_ORDER - 1] == raw && h[..MAX_ORDER - 1].iter().all(|&x| x == u32::MAX)
    };
    // Chain layout: START history, the others, CONVERSION, EXIT.
    let start_id = hs.iter().position(|h| is(h, start));
    let conv_id = hs.iter().position(|h| is(h, conv));
    let exit_id = hs.iter().position(|h| is(h, exit));
    let others: Vec<usize> = (0..hs.len())
        .filter(|&i| Some(i) != start_id && Some(i) != conv_id && Some(i) != exit_id)
        .collect();
    if others.len() > MAX_STATES {
        return Err(DataError::Input(format!(
            "{} distinct histories; a higher-order chain handles at most {MAX_STATES}: lower --order or use --states stage",
            others.len()
        )));
    }
    let m = others.len() + 3;
    let mut at = vec![0usize; hs.len()];
    for (p, &i) in others.iter().enumerate() {
        at[i] = p + 1;
    }
    if let Some(i) = conv_id {
        at[i] = m - 2;
    }
    if let Some(i) = exit_id {
        at[i] = m - 1;
    }
    let mut counts = vec![0u64; m * m];
    for &(f, t, c) in &counted.history_edges {
        counts[at[f as usize] * m + at[t as usize]] += c;
    }
    let chain = absorb(&counts, m);
    let mut sum = vec![0.0; n];
    let mut weight = vec![0.0; n];
    for (p, &i) in others.iter().enumerate() {
        let last = hs[i][MAX_ORDER - 1] as usize;
        let j = pos[last];
        let v = counted.history_first[i] as f64;
        sum[j] += chain.p[p + 1] * v;
        weight[j] += v;
    }
    let mut out: Vec<f64> = (0..n)
        .map(|j| {
            if weight[j] > 0.0 {
                sum[j] / weight[j]
            } else {
                0.0
            }
        })
        .collect();
    out[0] = chain.p[0];
    out[n - 2] = 1.0;
    out[n - 1] = 0.0;

    // Removing a state removes every history that ends in it: one solve per
    // state, so only while that stays small (k·H³ flops).
    let work = (n as f64) * (m as f64).powi(3);
    let removal = (work <= REMOVAL_WORK && chain.p[0] > 0.0).then(|| {
        let mut removal = vec![0.0; n];
        for (j, slot) in removal.iter_mut().enumerate().take(n - 2).skip(1) {
            let mut cut = counts.clone();
            for (q, &i) in others.iter().enumerate() {
                if pos[hs[i][MAX_ORDER - 1] as usize] != j {
                    continue;
                }
                for r in 0..m {
                    let c = std::mem::take(&mut cut[r * m + q + 1]);
                    cut[r * m + m - 1] += c;
                }
            }
            let p0 = absorb(&cut, m).p[0];
            *slot = (1.0 - p0 / chain.p[0]).clamp(0.0, 1.0);
        }
        removal
    });
    Ok(HigherOrder {
        p: out,
        states: others.len() as u64,
        removal,
    })
}

/// Above this many flops a higher-order chain keeps first-order removal
/// effects (about a second of solving).
const REMOVAL_WORK: f64 = 2e9;

struct HigherOrder {
    /// Per compact state, as in the first-order layout.
    p: Vec<f64>,
    /// Distinct transient histories.
    states: u64,
    /// Per compact state; None when too costly to solve.
    removal: Option<Vec<f64>>,
}

/// Rounds count / total to 6 decimals so that the row sums to exactly 1:
/// floor each share of 10⁶, then give the missing millionths to the largest
/// remainders (ties to the earlier state).
fn round_row(row: &[u64]) -> Vec<f64> {
    const UNITS: u128 = 1_000_000;
    let total: u128 = row.iter().map(|&c| c as u128).sum();
    if total == 0 {
        return vec![0.0; row.len()];
    }
    let mut units: Vec<u128> = row.iter().map(|&c| c as u128 * UNITS / total).collect();
    let missing = UNITS - units.iter().sum::<u128>();
    let mut by_rest: Vec<usize> = (0..row.len()).collect();
    by_rest.sort_by_key(|&j| (Reverse(row[j] as u128 * UNITS % total), j));
    for &j in by_rest.iter().take(missing as usize) {
        units[j] += 1;
    }
    units.iter().map(|&u| u as f64 / UNITS as f64).collect()
}

/// The `top` most common paths ending in CONVERSION and in EXIT: by count,
/// then by path text.
fn top_paths(
    paths: &FxHashMap<Box<[u32]>, u64>,
    conv: u32,
    pos: &[usize],
    label: &[&str],
    sessions: u64,
    top: usize,
) -> (Vec<PathCount>, Vec<PathCount>) {
    let pick = |converting: bool| -> Vec<PathCount> {
        let mut cands: Vec<(&[u32], u64)> = paths
            .iter()
            .filter(|(p, _)| (p[p.len() - 1] == conv) == converting)
            .map(|(p, &c)| (&p[..], c))
            .collect();
        if top == 0 || cands.is_empty() {
            return Vec::new();
        }
        // Only paths as common as the top-th need their text for the tie-break.
        if cands.len() > top {
            cands.select_nth_unstable_by_key(top - 1, |&(_, c)| Reverse(c));
            let cut = cands[top - 1].1;
            cands.retain(|&(_, c)| c >= cut);
        }
        let mut named: Vec<PathCount> = cands
            .into_iter()
            .map(|(p, count)| {
                let mut states = vec![START.to_string()];
                states.extend(p.iter().map(|&s| label[pos[s as usize]].to_string()));
                PathCount {
                    path: states.join(" > "),
                    states,
                    count,
                    share: round6(count as f64 / sessions as f64),
                }
            })
            .collect();
        named.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
        named.truncate(top);
        named
    };
    (pick(true), pick(false))
}

#[cfg(test)]
mod tests;
