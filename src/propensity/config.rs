//! The propensity keys of journey.toml: a `[propensity]` section and
//! `[[interventions]]` rules.
//!
//! ```toml
//! [propensity]
//! target = "upgrade"            # or [conversion] event; --target overrides
//! observe = "3d"                # cutoff: 3 days after the user's first event
//! horizon = "14d"               # positive: target within 14 days after the cutoff ("all": any time)
//! properties = ["device", "channel"]
//! milestones = [
//!   { name = "invited_teammate", event = "invite_teammate", label = "invited a teammate" },
//!   { name = "created_project", event = "create_project" },
//! ]
//!
//! [[interventions]]
//! stage = "Consideration"
//! min_risk = 0.7
//! missing = "created_project"
//! after = "3d"
//! action = "tutorial_email"
//! ```
//!
//! Both are fields of `config::JourneyConfig`: one parse of the file, with
//! its unknown-key errors and suggestions, serves every command.

use serde::{Deserialize, Serialize};

use super::model::ClassWeight;
use crate::duration::{Duration, Horizon};
use crate::error::DataError;
use crate::predicate::Predicate;

/// `[propensity]`: defaults for the command-line flags, milestone flags,
/// categorical properties and risk bands.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PropensitySection {
    /// The conversion event (default: `[conversion] event`).
    #[serde(default)]
    pub target: Option<Predicate>,
    /// Cutoff this long after the user's first event.
    #[serde(default)]
    pub observe: Option<Duration>,
    /// Cutoff at the user's first occurrence of this event.
    #[serde(default)]
    pub milestone: Option<Predicate>,
    /// Positive when the target happens within this long after the cutoff; "all": any time.
    #[serde(default)]
    pub horizon: Option<Horizon>,
    /// Churn model: positive when the user has no activity for `inactive` after the cutoff.
    #[serde(default)]
    pub churn: Option<bool>,
    #[serde(default)]
    pub inactive: Option<Duration>,
    /// Flags: did the user do this before the cutoff.
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    /// Property columns one-hot encoded from the user's first pre-cutoff value.
    #[serde(default)]
    pub properties: Vec<String>,
    /// Risk at or above this is the `high` band (default 0.7).
    #[serde(default)]
    pub high_risk: Option<f64>,
    /// Risk at or above this is the `medium` band (default 0.4).
    #[serde(default)]
    pub medium_risk: Option<f64>,
    /// At most this many per-event count features (default 50).
    #[serde(default)]
    pub max_event_features: Option<usize>,
    #[serde(default)]
    pub l2: Option<f64>,
    /// "none" or "balanced".
    #[serde(default)]
    pub class_weight: Option<ClassWeight>,
    #[serde(default)]
    pub holdout: Option<f64>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Train only on users with consent for this purpose (a purpose of the
    /// `[[sources]]` customer table); the model is then usable for it alone.
    #[serde(default)]
    pub purpose: Option<String>,
}

/// A named milestone: a 0/1 feature, "did it before the cutoff".
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub name: String,
    pub event: Predicate,
    /// Words for the explanation: "invited a teammate" gives "users who
    /// invited a teammate are 3.1x as likely to convert".
    #[serde(default)]
    pub label: Option<String>,
}

impl Milestone {
    pub fn phrase(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("did {} before the cutoff", self.event.label()))
    }
}

/// One intervention rule. Rules are checked in order; the first that
/// matches a scored user names the action.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The user's journey stage at the cutoff (a `[[stages]]` name, or "(none)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Risk (of not converting, or of churning) at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_risk: Option<f64>,
    /// Risk at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_risk: Option<f64>,
    /// A milestone name or an event the user has NOT done before the cutoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// A milestone name or an event the user HAS done before the cutoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    /// The user's age at the cutoff (cutoff minus first event) is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Duration>,
    pub action: String,
}

impl Rule {
    /// The rule's conditions in words, for the decision table.
    pub fn conditions(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.stage {
            parts.push(format!("stage = {s}"));
        }
        if let Some(r) = self.min_risk {
            parts.push(format!("risk ≥ {r}"));
        }
        if let Some(r) = self.max_risk {
            parts.push(format!("risk ≤ {r}"));
        }
        if let Some(m) = &self.missing {
            parts.push(format!("not {m}"));
        }
        if let Some(m) = &self.did {
            parts.push(format!("did {m}"));
        }
        if let Some(a) = self.after {
            parts.push(format!("age ≥ {a}"));
        }
        if parts.is_empty() {
            "(always)".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Checks what can be checked without data: names, ranges, durations.
/// Unknown stages and events are checked against the data in
/// [`super::interventions::resolve`].
pub fn check_static(
    rules: &[Rule],
    milestones: &[Milestone],
    high: f64,
    medium: f64,
) -> Result<(), DataError> {
    let mut names = std::collections::BTreeSet::new();
    for m in milestones {
        if m.name.trim().is_empty() {
            return Err(DataError::Input(
                "[propensity] milestones: a milestone needs a name".into(),
            ));
        }
        if !names.insert(m.name.as_str()) {
            return Err(DataError::Input(format!(
                "[propensity] milestones: the name {:?} is used twice",
                m.name
            )));
        }
    }
    if !(0.0..=1.0).contains(&high) || !(0.0..=1.0).contains(&medium) || medium > high {
        return Err(DataError::Input(format!(
            "[propensity] risk bands: need 0 ≤ medium_risk ({medium}) ≤ high_risk ({high}) ≤ 1"
        )));
    }
    for (i, r) in rules.iter().enumerate() {
        let n = i + 1;
        if r.action.trim().is_empty() {
            return Err(DataError::Input(format!(
                "intervention rule {n}: action is empty"
            )));
        }
        for (key, v) in [("min_risk", r.min_risk), ("max_risk", r.max_risk)] {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(DataError::Input(format!(
                    "intervention rule {n}: {key} = {v} is outside 0..1"
                )));
            }
        }
    }
    Ok(())
}
