//! Journey stages at the cutoff and intervention rules.
//!
//! A user's stage at the cutoff is the stage of their last pre-cutoff event
//! that maps to one (an event maps to the first `[[stages]]` entry with a
//! matching predicate); "(none)" without stages or without such an event.
//! Rules are checked in order and the first that matches names the action.

use super::config::{Milestone, Rule};
use crate::config::StageConfig;
use crate::error::DataError;
use crate::ingest::EventTable;
use crate::predicate::{Matcher, Predicate};

pub const NO_STAGE: &str = "(none)";

/// Stage of each event: the shared stage mapping.
pub type Stager = crate::stages::StageMap;

/// The stage's name, or "(none)".
pub fn stage_name(stager: &Stager, stage: Option<usize>) -> &str {
    stage.map_or(NO_STAGE, |s| &stager.names[s])
}

/// A rule resolved against one table.
struct Resolved {
    /// `Some(None)`: the "(none)" stage.
    stage: Option<Option<usize>>,
    min_risk: f64,
    max_risk: f64,
    missing: Option<usize>,
    did: Option<usize>,
    after_ms: Option<i64>,
}

/// Rules resolved against one table.
pub struct Rules {
    rules: Vec<Resolved>,
    pub actions: Vec<String>,
    /// The predicates the rules' `missing` / `did` refer to.
    pub predicates: Vec<Matcher>,
}

fn lookup(
    n: usize,
    key: &str,
    value: &str,
    milestones: &[Milestone],
    t: &EventTable,
    preds: &mut Vec<Matcher>,
) -> Result<usize, DataError> {
    let pred = match milestones.iter().find(|m| m.name == value) {
        Some(m) => m.event.clone(),
        None => {
            let known = (0..t.event_names.len() as u32).any(|c| t.event_names.get(c) == value);
            if !known {
                let names = milestones
                    .iter()
                    .map(|m| m.name.as_str())
                    .chain(t.event_names.iter());
                return Err(DataError::Input(format!(
                    "intervention rule {n}: {key} = {value:?} is neither a milestone nor an event in the data{}",
                    crate::predicate::suggest(value, names)
                )));
            }
            Predicate::Event(value.to_string())
        }
    };
    let m = crate::predicate::resolve(&pred, t, &format!("intervention rule {n}: {key}"))?;
    preds.push(m);
    Ok(preds.len() - 1)
}

/// Resolves the rules; an unknown stage, milestone or event is an error
/// naming the rule, the key and the nearest valid name.
pub fn resolve(
    rules: &[Rule],
    stages: &[StageConfig],
    milestones: &[Milestone],
    t: &EventTable,
) -> Result<Rules, DataError> {
    let mut out = Vec::new();
    let mut preds = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let n = i + 1;
        let stage = match &r.stage {
            None => None,
            Some(s) if s == NO_STAGE => Some(None),
            Some(s) => match stages.iter().position(|st| &st.name == s) {
                Some(k) => Some(Some(k)),
                None if stages.is_empty() => {
                    return Err(DataError::Input(format!(
                        "intervention rule {n}: stage = {s:?}, but the config has no [[stages]]"
                    )));
                }
                None => {
                    return Err(DataError::Input(format!(
                        "intervention rule {n}: stage = {s:?} is not a [[stages]] name{}",
                        crate::predicate::suggest(s, stages.iter().map(|st| st.name.as_str()))
                    )));
                }
            },
        };
        let missing = match &r.missing {
            Some(v) => Some(lookup(n, "missing", v, milestones, t, &mut preds)?),
            None => None,
        };
        let did = match &r.did {
            Some(v) => Some(lookup(n, "did", v, milestones, t, &mut preds)?),
            None => None,
        };
        let after_ms = r.after.map(|a| a.ms());
        out.push(Resolved {
            stage,
            min_risk: r.min_risk.unwrap_or(0.0),
            max_risk: r.max_risk.unwrap_or(1.0),
            missing,
            did,
            after_ms,
        });
    }
    Ok(Rules {
        rules: out,
        actions: rules.iter().map(|r| r.action.clone()).collect(),
        predicates: preds,
    })
}

impl Rules {
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Which of the rules' predicates the user did in `start..pre_end`.
    pub fn done(&self, t: &EventTable, start: usize, pre_end: usize, out: &mut Vec<bool>) {
        out.clear();
        out.extend(
            self.predicates
                .iter()
                .map(|m| (start..pre_end).any(|i| m.matches(t, i))),
        );
    }

    /// The first matching rule's index.
    pub fn choose(
        &self,
        stage: Option<usize>,
        risk: f64,
        done: &[bool],
        age_ms: i64,
    ) -> Option<usize> {
        self.rules.iter().position(|r| {
            r.stage.is_none_or(|s| s == stage)
                && risk >= r.min_risk
                && risk <= r.max_risk
                && r.missing.is_none_or(|p| !done[p])
                && r.did.is_none_or(|p| done[p])
                && r.after_ms.is_none_or(|a| age_ms >= a)
        })
    }
}
