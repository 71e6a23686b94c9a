//! The decision engine's sections of journey.toml: `[[sources]]`,
//! `[[triggers]]`, `[[pathways]]` and `[decide]` (docs/decisions.md).
//! Parsing types values; [`check`] refuses what the types cannot (a
//! pathway naming an unknown trigger, a channel no source maps) with the
//! key's file:line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::JourneyConfig;
use crate::duration::Duration;
use crate::error::UsageError;
use crate::predicate::Predicate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// One row per money movement: user, timestamp, amount, category.
    Transactions,
    /// One row per user: attributes and consent flags.
    Customers,
}

/// `[[sources]]`: a file joined to the event export by user id.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    /// CSV file (plain or .gz), relative to the config file's directory.
    pub path: String,
    #[serde(default)]
    pub user_col: Option<String>,
    /// Transactions: the timestamp column [default: timestamp].
    #[serde(default)]
    pub time_col: Option<String>,
    /// Transactions: the amount column [default: amount].
    #[serde(default)]
    pub amount_col: Option<String>,
    /// Transactions: the category column [default: category].
    #[serde(default)]
    pub category_col: Option<String>,
    /// One ASCII character, or "tab".
    #[serde(default)]
    pub delimiter: Option<String>,
    /// chrono format of the timestamps.
    #[serde(default)]
    pub time_format: Option<String>,
    /// Customers: channel → consent column (`{ email = "consent_email" }`).
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    /// Customers: purpose → consent column (`{ credit = "consent_credit" }`).
    #[serde(default)]
    pub purposes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// Spending in a category over the last `window` against its trailing baseline.
    SpendChange,
    /// Every amount in the last `window` at least `ratio` × the baseline median (a salary rise).
    LevelChange,
    /// The first transactions ever in a category, within the last `window`.
    NewCategory,
    /// Event `first` (`first_count` times within `first_within`), then `then` within `then_within`.
    Sequence,
}

/// `[[triggers]]`: a life event detected as of the run date.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    pub name: String,
    pub kind: TriggerKind,
    /// Transaction triggers: the category.
    #[serde(default)]
    pub category: Option<String>,
    /// The recent window, ending at the run date [default: 30d; level_change 60d].
    #[serde(default)]
    pub window: Option<Duration>,
    /// The trailing baseline before the window [default: 180d].
    #[serde(default)]
    pub baseline: Option<Duration>,
    /// spend_change: window sum ≥ ratio × the baseline's rate per window [default 2];
    /// level_change: every window amount ≥ ratio × the baseline median [default 1.1];
    /// below 1, every window amount ≤ ratio × the median (a fall).
    #[serde(default)]
    pub ratio: Option<f64>,
    /// spend_change: the window sum must reach this too [default 0].
    #[serde(default)]
    pub min_amount: Option<f64>,
    /// Transactions in the window the trigger needs [default: 1; level_change 2].
    #[serde(default)]
    pub min_count: Option<u32>,
    /// History the user needs before the window (first transaction of any
    /// category) [default: the baseline, 180d].
    #[serde(default)]
    pub min_history: Option<Duration>,
    /// sequence: the first event.
    #[serde(default)]
    pub first: Option<Predicate>,
    /// sequence: how many times [default 1].
    #[serde(default)]
    pub first_count: Option<u32>,
    /// sequence: within this span [default: 7d].
    #[serde(default)]
    pub first_within: Option<Duration>,
    /// sequence: the event that completes it.
    #[serde(default)]
    pub then: Option<Predicate>,
    /// sequence: at most this long after the last `first` [default: 14d].
    #[serde(default)]
    pub then_within: Option<Duration>,
    /// Back-test: the event that counts as the outcome (a product opened).
    #[serde(default)]
    pub outcome: Option<Predicate>,
    /// Back-test: the outcome must follow the firing within this span [default: 90d].
    #[serde(default)]
    pub outcome_within: Option<Duration>,
}

/// One step of a pathway: an action on a channel.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub name: String,
    pub channel: String,
    /// Business value of the action when taken (for the report's totals).
    #[serde(default)]
    pub value: Option<f64>,
}

/// `[[pathways]]`: triggers and attributes matched to ordered actions.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathwayConfig {
    pub name: String,
    /// The consent purpose its actions serve (a `purposes` key of the customers source).
    pub purpose: String,
    /// Higher first; ties in config order [default 0].
    #[serde(default)]
    pub priority: Option<i64>,
    /// Any of these triggers fired (empty: no trigger needed).
    #[serde(default)]
    pub triggers: Vec<String>,
    /// Rules over customer attributes, all of which must hold (`age >= 21`).
    #[serde(default)]
    pub eligible: Vec<String>,
    /// Tried in order: the first whose channel the user consents to and
    /// that no cap or cool-down blocks is the decision.
    pub actions: Vec<ActionConfig>,
    /// At most this many of this pathway's actions per user within `cap_window`.
    #[serde(default)]
    pub cap: Option<u32>,
    /// [default: 90d]
    #[serde(default)]
    pub cap_window: Option<Duration>,
    /// No action of this pathway within this span of its last one.
    #[serde(default)]
    pub cooldown: Option<Duration>,
    /// `false` switches this pathway off (its users are reported as such).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A propensity model.json whose score gates this pathway.
    #[serde(default)]
    pub model: Option<String>,
    /// The score a user needs [default 0.5].
    #[serde(default)]
    pub min_score: Option<f64>,
    /// The model's hold-out AUC below which it is not trusted [default 0.6].
    #[serde(default)]
    pub min_auc: Option<f64>,
    /// The pathway used instead when the model is missing, invalid or
    /// below `min_auc` (it then runs only in that role).
    #[serde(default)]
    pub fallback: Option<String>,
}

/// `[decide]`: switches and rules over every pathway.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideSection {
    /// `false` is the kill switch: no action for anyone.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// No two actions to one user within this span, whatever the pathway.
    #[serde(default)]
    pub cooldown: Option<Duration>,
    /// Rules per purpose that every pathway of that purpose must also pass
    /// (`{ credit = ["vulnerable != true", "age >= 18"] }`).
    #[serde(default)]
    pub purpose_rules: BTreeMap<String, Vec<String>>,
    /// The run date of the decisions in `journeymap report` (YYYY-MM-DD;
    /// default: the day of the export's last event). `decide` takes `--as-of`.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// The checked, defaulted view of a config's decision sections.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sources: Vec<SourceConfig>,
    pub triggers: Vec<TriggerConfig>,
    pub pathways: Vec<PathwayConfig>,
    pub decide: DecideSection,
    /// Pathways in evaluation order (priority desc, config order), primaries only.
    pub order: Vec<usize>,
    pub channels: BTreeMap<String, String>,
    pub purposes: BTreeMap<String, String>,
}

impl Plan {
    pub fn customers(&self) -> Option<&SourceConfig> {
        self.sources
            .iter()
            .find(|s| s.kind == SourceKind::Customers)
    }
    pub fn transactions(&self) -> Option<&SourceConfig> {
        self.sources
            .iter()
            .find(|s| s.kind == SourceKind::Transactions)
    }
    pub fn trigger_index(&self, name: &str) -> Option<usize> {
        self.triggers.iter().position(|t| t.name == name)
    }
    pub fn pathway_index(&self, name: &str) -> Option<usize> {
        self.pathways.iter().position(|p| p.name == name)
    }
}

/// Checks the decision sections of `cfg` and puts pathways in order.
pub fn check(cfg: &JourneyConfig) -> Result<Plan, UsageError> {
    let at = |k: &str| cfg.at(k);
    let err = |k: &str, m: String| UsageError(format!("{}{m}", at(k)));
    let mut seen = std::collections::BTreeSet::new();
    let mut customers = 0;
    let mut transactions = 0;
    for (i, s) in cfg.sources.iter().enumerate() {
        if !seen.insert(s.name.clone()) {
            return Err(err(
                &format!("sources[{i}].name"),
                format!("source {:?} is declared twice", s.name),
            ));
        }
        match s.kind {
            SourceKind::Customers => customers += 1,
            SourceKind::Transactions => transactions += 1,
        }
        if s.kind == SourceKind::Transactions && !(s.channels.is_empty() && s.purposes.is_empty()) {
            return Err(err(
                &format!("sources[{i}]"),
                "channels and purposes belong to the customers source".into(),
            ));
        }
    }
    if customers > 1 || transactions > 1 {
        return Err(err(
            "sources",
            "at most one customers and one transactions source (concatenate the files first)"
                .into(),
        ));
    }
    let cust = cfg.sources.iter().find(|s| s.kind == SourceKind::Customers);
    let channels = cust.map(|c| c.channels.clone()).unwrap_or_default();
    let purposes = cust.map(|c| c.purposes.clone()).unwrap_or_default();

    let mut names = std::collections::BTreeSet::new();
    for (i, t) in cfg.triggers.iter().enumerate() {
        let k = |f: &str| format!("triggers[{i}].{f}");
        if !names.insert(t.name.clone()) {
            return Err(err(
                &k("name"),
                format!("trigger {:?} is declared twice", t.name),
            ));
        }
        let txn = t.kind != TriggerKind::Sequence;
        if txn && t.category.is_none() {
            return Err(err(
                &k("kind"),
                format!(
                    "trigger {:?}: a {:?} trigger needs `category`",
                    t.name, t.kind
                ),
            ));
        }
        if txn && transactions == 0 {
            return Err(err(
                &k("kind"),
                format!(
                    "trigger {:?} reads transactions, but no [[sources]] has kind = \"transactions\"",
                    t.name
                ),
            ));
        }
        if !txn && (t.first.is_none() || t.then.is_none()) {
            return Err(err(
                &k("kind"),
                format!("trigger {:?}: a sequence needs `first` and `then`", t.name),
            ));
        }
        for (f, d) in [
            ("window", t.window),
            ("baseline", t.baseline),
            ("min_history", t.min_history),
            ("first_within", t.first_within),
            ("then_within", t.then_within),
            ("outcome_within", t.outcome_within),
        ] {
            if let Some(d) = d {
                d.positive(&k(f)).map_err(|e| err(&k(f), e.0))?;
            }
        }
        if let Some(r) = t.ratio
            && !(r.is_finite() && r > 0.0)
        {
            return Err(err(
                &k("ratio"),
                format!("ratio {r}: must be a positive number"),
            ));
        }
        if let Some(a) = t.min_amount
            && !(a.is_finite() && a >= 0.0)
        {
            return Err(err(
                &k("min_amount"),
                format!("min_amount {a}: must be 0 or more"),
            ));
        }
    }

    let mut pnames = std::collections::BTreeSet::new();
    for (i, p) in cfg.pathways.iter().enumerate() {
        let k = |f: &str| format!("pathways[{i}].{f}");
        if p.cap == Some(0) {
            return Err(err(
                &k("cap"),
                format!(
                    "pathway {:?}: cap = 0 would block every action; to stop the pathway set enabled = false",
                    p.name
                ),
            ));
        }
        if !pnames.insert(p.name.clone()) {
            return Err(err(
                &k("name"),
                format!("pathway {:?} is declared twice", p.name),
            ));
        }
        for (j, t) in p.triggers.iter().enumerate() {
            if !names.contains(t) {
                return Err(err(
                    &format!("pathways[{i}].triggers[{j}]"),
                    format!(
                        "pathway {:?} names trigger {t:?}, which no [[triggers]] declares{}",
                        p.name,
                        crate::predicate::suggest(t, names.iter().map(String::as_str))
                    ),
                ));
            }
        }
        if !purposes.contains_key(&p.purpose) {
            return Err(err(
                &k("purpose"),
                format!(
                    "pathway {:?}: purpose {:?} has no consent column: add it to `purposes` of the customers source{}",
                    p.name,
                    p.purpose,
                    crate::predicate::suggest(&p.purpose, purposes.keys().map(String::as_str))
                ),
            ));
        }
        if p.actions.is_empty() {
            return Err(err(
                &k("actions"),
                format!("pathway {:?} has no actions", p.name),
            ));
        }
        for (j, a) in p.actions.iter().enumerate() {
            if !channels.contains_key(&a.channel) {
                return Err(err(
                    &format!("pathways[{i}].actions[{j}]"),
                    format!(
                        "action {:?}: channel {:?} has no consent column: add it to `channels` of the customers source{}",
                        a.name,
                        a.channel,
                        crate::predicate::suggest(&a.channel, channels.keys().map(String::as_str))
                    ),
                ));
            }
        }
        for (j, r) in p.eligible.iter().enumerate() {
            super::rules::Rule::parse(r)
                .map_err(|e| err(&format!("pathways[{i}].eligible[{j}]"), e))?;
        }
        if let Some(f) = &p.fallback {
            if !cfg.pathways.iter().any(|q| &q.name == f) || f == &p.name {
                return Err(err(
                    &k("fallback"),
                    format!(
                        "pathway {:?}: fallback {f:?} is not another pathway",
                        p.name
                    ),
                ));
            }
            if p.model.is_none() {
                return Err(err(
                    &k("fallback"),
                    format!(
                        "pathway {:?}: a fallback replaces a model; this pathway has no `model`",
                        p.name
                    ),
                ));
            }
        }
        for (f, d) in [("cap_window", p.cap_window), ("cooldown", p.cooldown)] {
            if let Some(d) = d {
                d.positive(&k(f)).map_err(|e| err(&k(f), e.0))?;
            }
        }
    }
    let decide = cfg.decide.clone().unwrap_or_default();
    for (purpose, rules) in &decide.purpose_rules {
        if !purposes.contains_key(purpose) {
            return Err(err(
                &format!("decide.purpose_rules.{purpose}"),
                format!("purpose {purpose:?} is not in `purposes` of the customers source"),
            ));
        }
        for (j, r) in rules.iter().enumerate() {
            super::rules::Rule::parse(r)
                .map_err(|e| err(&format!("decide.purpose_rules.{purpose}[{j}]"), e))?;
        }
    }
    if !cfg.pathways.is_empty() && customers == 0 {
        return Err(err(
            "pathways",
            "pathways need consent: declare a [[sources]] with kind = \"customers\"".into(),
        ));
    }
    let fallbacks: std::collections::BTreeSet<&str> = cfg
        .pathways
        .iter()
        .filter_map(|p| p.fallback.as_deref())
        .collect();
    let mut order: Vec<usize> = (0..cfg.pathways.len())
        .filter(|&i| !fallbacks.contains(cfg.pathways[i].name.as_str()))
        .collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(cfg.pathways[i].priority.unwrap_or(0)), i));
    Ok(Plan {
        sources: cfg.sources.clone(),
        triggers: cfg.triggers.clone(),
        pathways: cfg.pathways.clone(),
        decide,
        order,
        channels,
        purposes,
    })
}
