//! The stage mapping resolved against one table: which journey stage each
//! event belongs to. An event belongs to the first `[[stages]]` entry (in
//! config order) with a predicate that matches it; one implementation for
//! the stages section, the Markov map's stage states and propensity's stage
//! at the cutoff.

use crate::config::StageConfig;
use crate::error::DataError;
use crate::ingest::EventTable;
use crate::predicate::{self, Matcher};

/// The stage of each event, resolved against one table.
#[derive(Debug, Clone, Default)]
pub struct StageMap {
    /// Stage names in config order.
    pub names: Vec<String>,
    /// Every predicate in config order: (stage index, matcher).
    pub predicates: Vec<(usize, Matcher)>,
    /// Per event code, the indices into `predicates` that can match it, in
    /// config order; after a plain event predicate the later ones never
    /// win, so they are left out.
    by_event: Vec<Vec<u32>>,
}

impl StageMap {
    /// Resolves the mapping; stage names must be unique and every stage
    /// must name events. An empty list maps no event.
    pub fn new(t: &EventTable, stages: &[StageConfig]) -> Result<StageMap, DataError> {
        let mut map = StageMap {
            names: Vec::with_capacity(stages.len()),
            predicates: Vec::new(),
            by_event: vec![Vec::new(); t.event_names.len()],
        };
        for (k, st) in stages.iter().enumerate() {
            if map.names.contains(&st.name) {
                return Err(DataError::Input(format!(
                    "stage {:?} is configured twice in [[stages]]; stage names must be unique",
                    st.name
                )));
            }
            if st.events.is_empty() {
                return Err(DataError::Input(format!(
                    "stage {:?} maps no events: give it `events = [...]`",
                    st.name
                )));
            }
            map.names.push(st.name.clone());
            for pred in &st.events {
                let m = predicate::resolve(pred, t, &format!("stage {:?}", st.name))?;
                let p = map.predicates.len() as u32;
                if let Some(e) = m.event {
                    let cands = &mut map.by_event[e as usize];
                    let shadowed = cands
                        .iter()
                        .any(|&q| map.predicates[q as usize].1.props.is_empty());
                    if !shadowed {
                        cands.push(p);
                    }
                }
                map.predicates.push((k, m));
            }
        }
        Ok(map)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The (stage, predicate index) that takes event `i`, if any.
    #[inline]
    pub fn of(&self, t: &EventTable, i: usize) -> Option<(usize, usize)> {
        self.by_event[t.event[i] as usize].iter().find_map(|&p| {
            let (k, m) = &self.predicates[p as usize];
            (m.props.is_empty() || m.matches(t, i)).then_some((*k, p as usize))
        })
    }

    /// The stage of event `i`, if any.
    #[inline]
    pub fn stage(&self, t: &EventTable, i: usize) -> Option<usize> {
        self.of(t, i).map(|(k, _)| k)
    }

    /// The stage of the last event in `start..end` that has one.
    pub fn at(&self, t: &EventTable, start: usize, end: usize) -> Option<usize> {
        (start..end).rev().find_map(|i| self.stage(t, i))
    }
}
