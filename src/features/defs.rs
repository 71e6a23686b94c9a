//! The feature vocabulary: one definition, one name and one meaning per
//! measure, shared by every model (propensity, segments, and what comes
//! next). model.json stores these definitions (serde tag `kind`); the tags
//! of the first format are kept, so saved models load and score as before.
//!
//! A definition says what is measured over a unit's events (a user's, a
//! session's, or a user's before a cutoff); [`crate::features::Extractor`]
//! computes it, and [`FeatureDef::transform`] says how the value enters a
//! model. The exact definitions are in docs/features.md.

use serde::{Deserialize, Serialize};

use crate::doc::rich::code;
use crate::predicate::Predicate;

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a raw value enters a model (before centring and scaling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Counts, durations and rates: `ln(1 + x)`.
    Log1p,
    /// Shares, flags and the funnel step: as they are.
    Identity,
    /// One-hot levels of a categorical column: as they are (0 or 1); a
    /// model may scale them differently from other features.
    Indicator,
    /// Sums and means of a numeric property, which may be negative:
    /// `sign(x)·ln(1 + |x|)`.
    SignedLog1p,
}

/// `x` through the transform.
pub fn transform(tr: Transform, x: f64) -> f64 {
    match tr {
        Transform::Log1p => x.ln_1p(),
        Transform::Identity | Transform::Indicator => x,
        Transform::SignedLog1p => x.signum() * x.abs().ln_1p(),
    }
}

/// The inverse of [`transform`]: back to original units.
pub fn inverse(tr: Transform, y: f64) -> f64 {
    match tr {
        Transform::Log1p => y.exp_m1(),
        Transform::Identity | Transform::Indicator => y,
        Transform::SignedLog1p => y.signum() * y.abs().exp_m1(),
    }
}

/// One feature of a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureDef {
    /// Events of the unit (per session: divided by its sessions).
    Events {
        #[serde(default, skip_serializing_if = "is_false")]
        per_session: bool,
    },
    /// Sessions with an event in the unit.
    Sessions,
    /// Distinct UTC days with an event.
    ActiveDays,
    /// Hours from the unit's last event to the cutoff (0 without events).
    RecencyHours,
    /// Hours from the unit's first event to the cutoff.
    TenureHours,
    /// Times this event happened. `label` names a role measure
    /// (`product_views`) instead of `count:<event>`.
    EventCount {
        event: String,
        #[serde(default, skip_serializing_if = "is_false")]
        per_session: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// 1 if the milestone happened in the unit.
    Milestone {
        name: String,
        event: Predicate,
        phrase: String,
    },
    /// 1 if this event happened (a role flag such as `checkout_reached`).
    Reached { event: String, label: String },
    /// The furthest `[funnel]` step the unit's events reach (0..k; an
    /// attempt excluded everywhere counts 0).
    FunnelStep { steps: usize },
    /// 1 if the unit's first value of the property is `value`.
    Property { column: String, value: String },
    /// 1 if the unit's first value is none of the column's listed levels.
    PropertyOther { column: String },
    /// 1 if the unit has no value of the column at all.
    PropertyMissing { column: String },
    /// Distinct values of a column (pages, products) the unit saw.
    DistinctValues {
        column: String,
        label: String,
        #[serde(default, skip_serializing_if = "is_false")]
        per_session: bool,
    },
    /// Seconds in sessions: each session's last event minus its first.
    DurationSeconds {
        #[serde(default, skip_serializing_if = "is_false")]
        per_session: bool,
    },
    /// Session seconds per gap between events: the pace.
    SecondsPerEvent,
    /// Share of the unit's events with this name; `None`: the events of
    /// every name no other share feature of the same set names.
    EventShare { event: Option<String> },
    /// Sum of a numeric property over the unit's events that carry it
    /// (of one event type, or of all).
    NumericSum {
        column: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<String>,
    },
    /// Mean of a numeric property over the unit's events that carry it
    /// (0 when none does).
    NumericMean {
        column: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<String>,
    },
}

fn per(name: String, per_session: bool) -> String {
    if per_session {
        format!("{name}_per_session")
    } else {
        name
    }
}

fn scoped(what: &str, column: &str, event: &Option<String>) -> String {
    match event {
        Some(e) => format!("{what}:{column}@{e}"),
        None => format!("{what}:{column}"),
    }
}

impl FeatureDef {
    /// The feature's one name, as reports and files spell it.
    pub fn name(&self) -> String {
        match self {
            FeatureDef::Events { per_session } => per("events".into(), *per_session),
            FeatureDef::Sessions => "sessions".into(),
            FeatureDef::ActiveDays => "active_days".into(),
            FeatureDef::RecencyHours => "recency_hours".into(),
            FeatureDef::TenureHours => "tenure_hours".into(),
            FeatureDef::EventCount {
                event,
                per_session,
                label,
            } => per(
                label.clone().unwrap_or_else(|| format!("count:{event}")),
                *per_session,
            ),
            FeatureDef::Milestone { name, .. } => format!("milestone:{name}"),
            FeatureDef::Reached { label, .. } => label.clone(),
            FeatureDef::FunnelStep { .. } => "funnel_step".into(),
            FeatureDef::Property { column, value } => format!("property:{column}={value}"),
            FeatureDef::PropertyOther { column } => format!("property:{column}=(other)"),
            FeatureDef::PropertyMissing { column } => format!("property:{column}=(missing)"),
            FeatureDef::DistinctValues {
                label, per_session, ..
            } => per(format!("distinct_{label}"), *per_session),
            FeatureDef::DurationSeconds { per_session } => per("duration_s".into(), *per_session),
            FeatureDef::SecondsPerEvent => "seconds_per_event".into(),
            FeatureDef::EventShare { event } => {
                format!("share:{}", event.as_deref().unwrap_or("(other)"))
            }
            FeatureDef::NumericSum { column, event } => scoped("sum", column, event),
            FeatureDef::NumericMean { column, event } => scoped("mean", column, event),
        }
    }

    pub fn transform(&self) -> Transform {
        match self {
            FeatureDef::Events { .. }
            | FeatureDef::Sessions
            | FeatureDef::ActiveDays
            | FeatureDef::RecencyHours
            | FeatureDef::TenureHours
            | FeatureDef::EventCount { .. }
            | FeatureDef::DistinctValues { .. }
            | FeatureDef::DurationSeconds { .. }
            | FeatureDef::SecondsPerEvent => Transform::Log1p,
            FeatureDef::Milestone { .. }
            | FeatureDef::Reached { .. }
            | FeatureDef::FunnelStep { .. }
            | FeatureDef::EventShare { .. } => Transform::Identity,
            FeatureDef::Property { .. }
            | FeatureDef::PropertyOther { .. }
            | FeatureDef::PropertyMissing { .. } => Transform::Indicator,
            FeatureDef::NumericSum { .. } | FeatureDef::NumericMean { .. } => {
                Transform::SignedLog1p
            }
        }
    }

    /// 0/1 features: explained by the odds ratio of having it.
    pub fn is_flag(&self) -> bool {
        matches!(
            self,
            FeatureDef::Milestone { .. }
                | FeatureDef::Reached { .. }
                | FeatureDef::Property { .. }
                | FeatureDef::PropertyOther { .. }
                | FeatureDef::PropertyMissing { .. }
        )
    }

    /// Whether the feature reads `per_session` rates (user units only).
    pub fn per_session(&self) -> bool {
        matches!(
            self,
            FeatureDef::Events { per_session: true }
                | FeatureDef::EventCount {
                    per_session: true,
                    ..
                }
                | FeatureDef::DistinctValues {
                    per_session: true,
                    ..
                }
                | FeatureDef::DurationSeconds { per_session: true }
        )
    }

    /// What the feature measures, in words (names in backticks, see
    /// [`crate::doc::rich`]); `before` is the span ("before the cutoff").
    pub fn description(&self) -> String {
        let b = "before the cutoff";
        match self {
            FeatureDef::Events { .. } => format!("ln(1 + events {b})"),
            FeatureDef::Sessions => format!("ln(1 + sessions {b})"),
            FeatureDef::ActiveDays => format!("ln(1 + active days {b})"),
            FeatureDef::RecencyHours => {
                format!("ln(1 + hours from the last event {b} to the cutoff)")
            }
            FeatureDef::TenureHours => "ln(1 + hours from the first event to the cutoff)".into(),
            FeatureDef::EventCount { event, .. } => {
                format!("ln(1 + {} events {b})", code(event))
            }
            FeatureDef::Milestone { event, .. } => {
                format!("1 if {} happened {b}", code(&event.label()))
            }
            FeatureDef::Reached { event, .. } => format!("1 if {} happened {b}", code(event)),
            FeatureDef::FunnelStep { steps } => {
                format!("[funnel] step reached {b} (0..{steps})")
            }
            FeatureDef::Property { column, value } => {
                format!("1 if the first {} {b} is {}", code(column), code(value))
            }
            FeatureDef::PropertyOther { column } => format!(
                "1 if the first {} {b} is none of the listed values",
                code(column)
            ),
            FeatureDef::PropertyMissing { column } => {
                format!("1 if no event {b} has a {}", code(column))
            }
            FeatureDef::DistinctValues { column, .. } => {
                format!("ln(1 + distinct {} values {b})", code(column))
            }
            FeatureDef::DurationSeconds { .. } => format!("ln(1 + seconds in sessions {b})"),
            FeatureDef::SecondsPerEvent => format!("ln(1 + session seconds per event gap {b})"),
            FeatureDef::EventShare { event: Some(e) } => {
                format!("share of the events {b} that are {}", code(e))
            }
            FeatureDef::EventShare { event: None } => {
                format!("share of the events {b} of the other names")
            }
            FeatureDef::NumericSum { column, event } => format!(
                "signed ln(1 + |sum of {}|) over the events {b}{}",
                code(column),
                event
                    .as_ref()
                    .map_or(String::new(), |e| format!(" that are {}", code(e)))
            ),
            FeatureDef::NumericMean { column, event } => format!(
                "signed ln(1 + |mean of {}|) over the events {b}{}",
                code(column),
                event
                    .as_ref()
                    .map_or(String::new(), |e| format!(" that are {}", code(e)))
            ),
        }
    }

    /// Words for "users who ... are 3.1x as likely to convert" (flags), or
    /// for "users one standard deviation higher in ..." (the rest).
    pub fn phrase(&self) -> String {
        match self {
            FeatureDef::Events { .. } => "events before the cutoff (log scale)".into(),
            FeatureDef::Sessions => "sessions before the cutoff (log scale)".into(),
            FeatureDef::ActiveDays => "active days before the cutoff (log scale)".into(),
            FeatureDef::RecencyHours => {
                "hours since their last event at the cutoff (log scale)".into()
            }
            FeatureDef::TenureHours => "time from first event to the cutoff (log scale)".into(),
            FeatureDef::EventCount { event, .. } => format!("{} events (log scale)", code(event)),
            FeatureDef::Milestone { phrase, .. } => phrase.clone(),
            FeatureDef::Reached { event, .. } => format!("did {}", code(event)),
            FeatureDef::FunnelStep { .. } => "funnel step reached".into(),
            FeatureDef::Property { column, value } => {
                format!("have {} = {}", code(column), code(value))
            }
            FeatureDef::PropertyOther { column } => {
                format!("have a rarer {}", code(column))
            }
            FeatureDef::PropertyMissing { column } => format!("have no {}", code(column)),
            FeatureDef::DistinctValues { column, .. } => {
                format!("distinct {} values (log scale)", code(column))
            }
            FeatureDef::DurationSeconds { .. } => "time in sessions (log scale)".into(),
            FeatureDef::SecondsPerEvent => "seconds per event (log scale)".into(),
            FeatureDef::EventShare { event: Some(e) } => format!("share of {} events", code(e)),
            FeatureDef::EventShare { event: None } => "share of other events".into(),
            FeatureDef::NumericSum { column, event } => format!(
                "total {}{} (log scale)",
                code(column),
                event
                    .as_ref()
                    .map_or(String::new(), |e| format!(" on {}", code(e)))
            ),
            FeatureDef::NumericMean { column, event } => format!(
                "mean {}{} (log scale)",
                code(column),
                event
                    .as_ref()
                    .map_or(String::new(), |e| format!(" on {}", code(e)))
            ),
        }
    }

    /// Events the feature needs in the data (scoring refuses a model whose
    /// events are missing).
    pub fn events(&self) -> Vec<String> {
        match self {
            FeatureDef::EventCount { event, .. } | FeatureDef::Reached { event, .. } => {
                vec![event.clone()]
            }
            FeatureDef::Milestone { event, .. } => {
                event.event().map(str::to_string).into_iter().collect()
            }
            FeatureDef::EventShare { event: Some(e) }
            | FeatureDef::NumericSum { event: Some(e), .. }
            | FeatureDef::NumericMean { event: Some(e), .. } => vec![e.clone()],
            _ => Vec::new(),
        }
    }

    /// The property column the feature reads, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            FeatureDef::Property { column, .. }
            | FeatureDef::PropertyOther { column }
            | FeatureDef::PropertyMissing { column }
            | FeatureDef::DistinctValues { column, .. }
            | FeatureDef::NumericSum { column, .. }
            | FeatureDef::NumericMean { column, .. } => Some(column),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// model.json files of the first format keep their meaning.
    #[test]
    fn first_format_tags_still_read() {
        let old = r#"[{"kind":"events"},{"kind":"active_days"},{"kind":"event_count","event":"x"},
            {"kind":"funnel_step","steps":3},{"kind":"property","column":"device","value":"m"}]"#;
        let defs: Vec<FeatureDef> = serde_json::from_str(old).unwrap();
        let names: Vec<String> = defs.iter().map(FeatureDef::name).collect();
        assert_eq!(
            names,
            [
                "events",
                "active_days",
                "count:x",
                "funnel_step",
                "property:device=m"
            ]
        );
        assert_eq!(
            serde_json::to_string(&defs[0]).unwrap(),
            r#"{"kind":"events"}"#
        );
        assert_eq!(
            serde_json::to_string(&defs[2]).unwrap(),
            r#"{"kind":"event_count","event":"x"}"#
        );
    }

    #[test]
    fn transforms_invert() {
        for tr in [
            Transform::Log1p,
            Transform::Identity,
            Transform::SignedLog1p,
        ] {
            for x in [0.0, 0.5, 3.0, 120.0] {
                assert!((inverse(tr, transform(tr, x)) - x).abs() < 1e-9);
            }
        }
        assert!(
            (inverse(
                Transform::SignedLog1p,
                transform(Transform::SignedLog1p, -7.0)
            ) + 7.0)
                .abs()
                < 1e-9
        );
    }
}
