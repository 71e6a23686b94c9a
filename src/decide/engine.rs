//! The decision for one user: pathways in order (priority, then config
//! order), each checked step by step; the first action that passes every
//! check is the decision. Every check that stopped a pathway is a step of
//! the reason trail, so the trail alone explains the decision
//! ([`rederive`] replays it).
//!
//! Per pathway, in this order: switched off; its model unusable (then its
//! fallback pathway runs in its place) or the user's score below the
//! floor; none of its triggers fired; no consent for its purpose; a rule
//! of the purpose or of the pathway fails; its cap reached; its cool-down
//! running; then its actions in order, each needing consent for its
//! channel. Before any pathway: the kill switch and the cool-down across
//! pathways. After all: the override file (suppress, force_action), which
//! wins over everything except the kill switch and consent.

use serde::Serialize;

use super::config::Plan;
use super::rules::{Failed, Rule};
use super::sources::Customers;
use super::state::History;

const DAY: i64 = 86_400_000;

/// One check of the reason trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Step {
    KillSwitch,
    /// An action of any pathway less than `cooldown_days` ago.
    GlobalCooldown {
        last: String,
        cooldown_days: i64,
    },
    Disabled {
        pathway: String,
    },
    ModelUnusable {
        pathway: String,
        why: String,
        fallback: Option<String>,
    },
    NoScore {
        pathway: String,
    },
    ScoreBelow {
        pathway: String,
        score: f64,
        min_score: f64,
    },
    NoTrigger {
        pathway: String,
    },
    NoPurposeConsent {
        pathway: String,
        purpose: String,
    },
    Ineligible {
        pathway: String,
        rule: String,
        value: Option<String>,
    },
    Capped {
        pathway: String,
        taken: u32,
        cap: u32,
        window_days: i64,
    },
    Cooldown {
        pathway: String,
        last: String,
        cooldown_days: i64,
    },
    NoChannelConsent {
        pathway: String,
        action: String,
        channel: String,
    },
    Chosen {
        pathway: String,
        action: String,
        channel: String,
        value: Option<f64>,
        /// Chosen by the fallback that replaced `replaced`'s model.
        replaced: Option<String>,
    },
    Suppressed {
        note: String,
    },
    Forced {
        action: String,
        channel: String,
        pathway: String,
        note: String,
    },
    ForceRefused {
        action: String,
        why: String,
    },
}

impl Step {
    /// The step's name, as in the trail's `result`.
    pub fn code(&self) -> &'static str {
        match self {
            Step::KillSwitch => "kill_switch",
            Step::GlobalCooldown { .. } => "global_cooldown",
            Step::Disabled { .. } => "disabled",
            Step::ModelUnusable { .. } => "model_unusable",
            Step::NoScore { .. } => "no_score",
            Step::ScoreBelow { .. } => "score_below",
            Step::NoTrigger { .. } => "no_trigger",
            Step::NoPurposeConsent { .. } => "no_purpose_consent",
            Step::Ineligible { .. } => "ineligible",
            Step::Capped { .. } => "capped",
            Step::Cooldown { .. } => "cooldown",
            Step::NoChannelConsent { .. } => "no_channel_consent",
            Step::Chosen { .. } => "chosen",
            Step::Suppressed { .. } => "suppressed",
            Step::Forced { .. } => "forced",
            Step::ForceRefused { .. } => "force_refused",
        }
    }
}

/// What the user gets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub pathway: String,
    pub action: String,
    pub channel: String,
    pub value: Option<f64>,
    /// `pathway`, `fallback` or `override`.
    pub source: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Option<Action>,
    pub steps: Vec<Step>,
}

impl Decision {
    /// Why no action, as one code: the kill switch, a suppression, else the
    /// first step past "no trigger"/"disabled" (how far the user got).
    pub fn no_action_reason(&self) -> Option<&'static str> {
        if self.action.is_some() {
            return None;
        }
        if let Some(s) = self
            .steps
            .iter()
            .rev()
            .find(|s| matches!(s, Step::Suppressed { .. } | Step::KillSwitch))
        {
            return Some(s.code());
        }
        let mut best = None;
        for s in &self.steps {
            match s {
                Step::KillSwitch | Step::Suppressed { .. } | Step::GlobalCooldown { .. } => {
                    return Some(s.code());
                }
                Step::NoTrigger { .. } | Step::Disabled { .. } => {
                    best.get_or_insert(s.code());
                }
                _ => return Some(s.code()),
            }
        }
        Some(best.unwrap_or("no_pathway"))
    }
}

/// A pathway's model, once loaded: scores per customer, or why not.
#[derive(Debug, Clone)]
pub enum ModelGate {
    None,
    Scores(Vec<Option<f64>>),
    Unusable(String),
}

/// Everything the decisions read, resolved once.
pub struct Context<'a> {
    pub plan: &'a Plan,
    pub customers: &'a Customers,
    /// Per pathway: eligibility rules (purpose rules first) with column index.
    pub rules: Vec<Vec<(Rule, usize)>>,
    pub models: Vec<ModelGate>,
    pub history: &'a History,
    pub overrides: &'a crate::serve::overrides::Overrides,
    /// End of the run date (exclusive) and its start.
    pub end: i64,
}

impl Context<'_> {
    fn consent(
        &self,
        map: &std::collections::BTreeMap<String, Vec<bool>>,
        k: &str,
        u: u32,
    ) -> bool {
        map.get(k).is_some_and(|v| v[u as usize])
    }

    /// The decision for customer `u` with `fired[t]` for each trigger;
    /// `out_id` is the id history and overrides use (pseudonymized or not).
    pub fn decide(&self, u: u32, fired: &[bool], out_id: &str) -> Decision {
        let plan = self.plan;
        let mut steps = Vec::new();
        if plan.decide.enabled == Some(false) {
            return Decision {
                action: None,
                steps: vec![Step::KillSwitch],
            };
        }
        let real_id = &self.customers.ids[u as usize];
        let mut action = None;
        if let Some(cd) = plan.decide.cooldown
            && let Some(last) = self.history.last_any(out_id, self.end)
            && last >= self.end - cd.ms()
        {
            steps.push(Step::GlobalCooldown {
                last: day(last),
                cooldown_days: cd.ms() / DAY,
            });
        } else {
            for &pi in &plan.order {
                if let Some(a) = self.pathway(pi, None, u, fired, out_id, &mut steps) {
                    action = Some(a);
                    break;
                }
            }
        }
        if let Some(note) = self.overrides.suppress.get(real_id) {
            steps.push(Step::Suppressed { note: note.clone() });
            action = None;
        } else if let Some((name, note)) = self.overrides.force_action.get(real_id) {
            match self.forced(name, u) {
                Ok((pathway, channel, value)) => {
                    steps.push(Step::Forced {
                        action: name.clone(),
                        channel: channel.clone(),
                        pathway: pathway.clone(),
                        note: note.clone(),
                    });
                    action = Some(Action {
                        pathway,
                        action: name.clone(),
                        channel,
                        value,
                        source: "override",
                    });
                }
                Err(why) => steps.push(Step::ForceRefused {
                    action: name.clone(),
                    why,
                }),
            }
        }
        Decision { action, steps }
    }

    /// A forced action: the first pathway declaring it; consent still holds.
    fn forced(&self, name: &str, u: u32) -> Result<(String, String, Option<f64>), String> {
        let c = self.customers;
        for p in &self.plan.pathways {
            if let Some(a) = p.actions.iter().find(|a| a.name == name) {
                if !self.consent(&c.purpose_consent, &p.purpose, u) {
                    return Err(format!("no consent for purpose {}", p.purpose));
                }
                if !self.consent(&c.channel_consent, &a.channel, u) {
                    return Err(format!("no consent for channel {}", a.channel));
                }
                return Ok((p.name.clone(), a.channel.clone(), a.value));
            }
        }
        Err("no pathway declares this action".into())
    }

    fn pathway(
        &self,
        pi: usize,
        replaced: Option<&str>,
        u: u32,
        fired: &[bool],
        out_id: &str,
        steps: &mut Vec<Step>,
    ) -> Option<Action> {
        let plan = self.plan;
        let p = &plan.pathways[pi];
        let name = || p.name.clone();
        if p.enabled == Some(false) {
            steps.push(Step::Disabled { pathway: name() });
            return None;
        }
        if let ModelGate::Unusable(why) = &self.models[pi] {
            steps.push(Step::ModelUnusable {
                pathway: name(),
                why: why.clone(),
                fallback: p.fallback.clone(),
            });
            let f = plan.pathway_index(p.fallback.as_deref()?)?;
            return self.pathway(f, Some(&p.name), u, fired, out_id, steps);
        }
        // Consent for the purpose comes before anything that reads the
        // user's data for it (the score, the triggers' use, the rules).
        let c = self.customers;
        if !self.consent(&c.purpose_consent, &p.purpose, u) {
            steps.push(Step::NoPurposeConsent {
                pathway: name(),
                purpose: p.purpose.clone(),
            });
            return None;
        }
        match &self.models[pi] {
            ModelGate::None | ModelGate::Unusable(_) => {}
            ModelGate::Scores(s) => {
                let min = p.min_score.unwrap_or(0.5);
                match s[u as usize] {
                    None => {
                        steps.push(Step::NoScore { pathway: name() });
                        return None;
                    }
                    Some(x) if x < min => {
                        steps.push(Step::ScoreBelow {
                            pathway: name(),
                            score: x,
                            min_score: min,
                        });
                        return None;
                    }
                    Some(_) => {}
                }
            }
        }
        if !p.triggers.is_empty()
            && !p
                .triggers
                .iter()
                .any(|t| plan.trigger_index(t).is_some_and(|i| fired[i]))
        {
            steps.push(Step::NoTrigger { pathway: name() });
            return None;
        }
        for (rule, col) in &self.rules[pi] {
            if let Err(f) = rule.eval(c.attr(*col, u)) {
                steps.push(Step::Ineligible {
                    pathway: name(),
                    rule: rule.text.clone(),
                    value: match f {
                        Failed::Missing => None,
                        Failed::Value(v) => Some(v),
                    },
                });
                return None;
            }
        }
        if let Some(cap) = p.cap {
            let w = p.cap_window.map_or(90 * DAY, |d| d.ms());
            let taken = self.history.count(out_id, &p.name, self.end - w, self.end);
            if taken >= cap {
                steps.push(Step::Capped {
                    pathway: name(),
                    taken,
                    cap,
                    window_days: w / DAY,
                });
                return None;
            }
        }
        if let Some(cd) = p.cooldown
            && let Some(last) = self.history.last(out_id, &p.name, self.end)
            && last >= self.end - cd.ms()
        {
            steps.push(Step::Cooldown {
                pathway: name(),
                last: day(last),
                cooldown_days: cd.ms() / DAY,
            });
            return None;
        }
        for a in &p.actions {
            if !self.consent(&c.channel_consent, &a.channel, u) {
                steps.push(Step::NoChannelConsent {
                    pathway: name(),
                    action: a.name.clone(),
                    channel: a.channel.clone(),
                });
                continue;
            }
            steps.push(Step::Chosen {
                pathway: name(),
                action: a.name.clone(),
                channel: a.channel.clone(),
                value: a.value,
                replaced: replaced.map(str::to_string),
            });
            return Some(Action {
                pathway: name(),
                action: a.name.clone(),
                channel: a.channel.clone(),
                value: a.value,
                source: if replaced.is_some() {
                    "fallback"
                } else {
                    "pathway"
                },
            });
        }
        None
    }
}

fn day(ms: i64) -> String {
    let s = crate::ingest::timestamp::format_ms(ms);
    s.get(..10).unwrap_or(&s).to_string()
}

/// The decision a trail implies: the last `forced`, else nothing after a
/// `suppressed` or `kill_switch`, else the `chosen` step. Tests compare it
/// with the decision taken.
pub fn rederive(steps: &[Step]) -> Option<(String, String, String)> {
    let mut out = None;
    for s in steps {
        match s {
            Step::Chosen {
                pathway,
                action,
                channel,
                ..
            }
            | Step::Forced {
                pathway,
                action,
                channel,
                ..
            } => out = Some((pathway.clone(), action.clone(), channel.clone())),
            Step::Suppressed { .. } | Step::KillSwitch => out = None,
            _ => {}
        }
    }
    out
}
