//! The label definition: each user's cutoff, and whether the outcome
//! happened in the window after it.
//!
//! The cutoff splits a user's events by position in the table (which is by
//! time, then export order): events before the cutoff position feed the
//! features, events from it on feed only the label.
//! * observe: the cutoff is `first event + window`; the events before it are
//!   those with a timestamp strictly earlier.
//! * milestone: the cutoff is the user's first event matching the milestone;
//!   the events before it in order are the pre-cutoff events, and the
//!   milestone event itself belongs to neither side.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::doc::rich::code;
use crate::duration::format_ms;
use crate::ingest::EventTable;
use crate::predicate::{Matcher, Predicate};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cutoff {
    /// This long after the user's first event.
    Observe { window_ms: i64 },
    /// At the user's first event matching this predicate.
    Milestone { event: Predicate },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Positive: the target happens within `horizon_ms` after the cutoff
    /// (inclusive); `None`: any time after it, to the end of the data.
    Conversion {
        target: Predicate,
        horizon_ms: Option<i64>,
    },
    /// Positive: no event at all within `inactive_ms` after the cutoff.
    Churn { inactive_ms: i64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LabelDefinition {
    pub cutoff: Cutoff,
    pub outcome: Outcome,
}

impl LabelDefinition {
    pub fn is_churn(&self) -> bool {
        matches!(self.outcome, Outcome::Churn { .. })
    }

    /// "convert" or "churn": the verb in explanations.
    pub fn verb(&self) -> &'static str {
        match &self.outcome {
            Outcome::Conversion { .. } => "convert",
            Outcome::Churn { .. } => "churn",
        }
    }

    /// What "risk" is for this label, in words.
    pub fn risk_definition(&self) -> String {
        match &self.outcome {
            Outcome::Conversion { target, .. } => format!(
                "risk = 1 − the model's probability that the user does {} ({})",
                code(&target.label()),
                self.describe()
            ),
            Outcome::Churn { .. } => format!(
                "risk = the model's probability that the user churns ({})",
                self.describe()
            ),
        }
    }

    pub fn describe(&self) -> String {
        let cutoff = match &self.cutoff {
            Cutoff::Observe { window_ms } => {
                format!("{} after the user's first event", format_ms(*window_ms))
            }
            Cutoff::Milestone { event } => {
                format!("the user's first {}", code(&event.label()))
            }
        };
        let outcome = match &self.outcome {
            Outcome::Conversion {
                target,
                horizon_ms: Some(h),
            } => format!(
                "positive = {} within {} after the cutoff; users who did it before the cutoff are left out",
                code(&target.label()),
                format_ms(*h)
            ),
            Outcome::Conversion {
                target,
                horizon_ms: None,
            } => format!(
                "positive = {} at any time after the cutoff (to the end of the data); users who did it before the cutoff are left out",
                code(&target.label())
            ),
            Outcome::Churn { inactive_ms } => format!(
                "positive (churned) = no event in the {} after the cutoff",
                format_ms(*inactive_ms)
            ),
        };
        format!("cutoff = {cutoff}; {outcome}; features use only events before the cutoff")
    }
}

/// A label definition resolved against one table.
pub struct Resolved {
    pub cutoff: ResolvedCutoff,
    pub outcome: ResolvedOutcome,
}

pub enum ResolvedCutoff {
    Observe(i64),
    Milestone(Matcher),
}

pub enum ResolvedOutcome {
    /// `target` is `None` when the data has no such event (nobody converts).
    Conversion {
        target: Option<Matcher>,
        horizon_ms: Option<i64>,
    },
    Churn {
        inactive_ms: i64,
    },
}

/// Where a user stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Label known: true = positive.
    Labeled(bool),
    /// The label window runs past the end of the data.
    Censored,
    /// The target happened before the cutoff.
    ConvertedBefore,
    /// The milestone never happened.
    NoCutoff,
}

impl Status {
    /// The user gets a score: a cutoff and not already converted.
    pub fn scored(self) -> bool {
        matches!(self, Status::Labeled(_) | Status::Censored)
    }
}

/// One user's cutoff.
#[derive(Debug, Clone)]
pub struct UserCut {
    pub range: Range<usize>,
    /// Events `range.start..pre_end` are before the cutoff.
    pub pre_end: usize,
    pub cutoff_ts: i64,
    pub status: Status,
}

impl UserCut {
    /// The events before the cutoff, as the feature extractor reads them.
    pub fn unit(&self, t: &EventTable) -> crate::features::Unit<'static> {
        crate::features::Unit {
            events: crate::features::Events::Range(self.range.start, self.pre_end),
            cutoff_ts: self.cutoff_ts,
            first_ts: t.ts[self.range.start],
            level: None,
        }
    }
}

impl Resolved {
    /// The cutoff and label of the user whose events are `range`.
    /// `data_end` is the last timestamp in the data.
    pub fn user(&self, t: &EventTable, range: Range<usize>, data_end: i64) -> UserCut {
        let first_ts = t.ts[range.start];
        let (pre_end, cutoff_ts, after) = match &self.cutoff {
            ResolvedCutoff::Observe(w) => {
                let c = first_ts.saturating_add(*w);
                let p = range.start + t.ts[range.clone()].partition_point(|&x| x < c);
                (p, c, p)
            }
            ResolvedCutoff::Milestone(m) => match range.clone().find(|&i| m.matches(t, i)) {
                Some(i) => (i, t.ts[i], i + 1),
                None => {
                    return UserCut {
                        pre_end: range.end,
                        cutoff_ts: t.ts[range.end - 1],
                        range,
                        status: Status::NoCutoff,
                    };
                }
            },
        };
        let status = match &self.outcome {
            ResolvedOutcome::Conversion { target, horizon_ms } => {
                let done_before = target
                    .as_ref()
                    .is_some_and(|m| (range.start..pre_end).any(|i| m.matches(t, i)));
                let end = horizon_ms.map_or(i64::MAX, |h| cutoff_ts.saturating_add(h));
                if done_before {
                    Status::ConvertedBefore
                } else if end > data_end && horizon_ms.is_some() {
                    Status::Censored
                } else {
                    let hit = target.as_ref().is_some_and(|m| {
                        (after..range.end)
                            .take_while(|&i| t.ts[i] <= end)
                            .any(|i| m.matches(t, i))
                    });
                    Status::Labeled(hit)
                }
            }
            ResolvedOutcome::Churn { inactive_ms } => {
                let end = cutoff_ts.saturating_add(*inactive_ms);
                if end > data_end {
                    Status::Censored
                } else {
                    let active = (after..range.end).any(|i| t.ts[i] <= end);
                    Status::Labeled(!active)
                }
            }
        };
        UserCut {
            range,
            pre_end,
            cutoff_ts,
            status,
        }
    }
}
