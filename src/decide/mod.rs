//! The decision engine (`journeymap decide`, docs/decisions.md): several
//! sources joined by user id, life-event triggers computed exactly as of a
//! run date, and pathways that turn triggers, scores and attributes into
//! one action per user under consent, eligibility rules, caps and
//! cool-downs, with a reason trail per user.
//!
//! The flow is one-way like the rest of the pipeline: [`sources`] reads the
//! customer table and transactions (row accounting per source),
//! [`triggers`] are pure kernels per user, [`engine`] decides per user from
//! the fired triggers and the state of earlier runs ([`state`]), this
//! module counts, [`output`] writes the files and [`document`] the
//! Markdown. Nothing here prints.

pub mod analysis;
pub mod backtest;
pub mod config;
pub mod document;
pub mod engine;
pub mod output;
pub mod parquet_rows;
pub mod pseudo;
pub mod rules;
pub mod sources;
pub mod state;
pub mod triggers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::DataError;
use crate::ingest::EventTable;
use crate::sessions::Sessions;
use config::{Plan, TriggerKind};
use engine::{Context, Decision, ModelGate};
use sources::{Account, Customers, OddConsent, Transactions};
use state::History;
use triggers::{Fired, Params, Txns};

const DAY: i64 = 86_400_000;

/// The event export as read by the shared ingest.
pub struct Events<'a> {
    pub table: &'a EventTable,
    pub sessions: &'a Sessions,
    /// How the sessions were made (a model scores a table cut at the run date).
    pub session_source: &'a crate::sessions::SessionSource,
    pub account: Account,
}

/// Everything one run reads.
pub struct Inputs<'a> {
    pub plan: &'a Plan,
    pub config_dir: &'a Path,
    pub events: Option<Events<'a>>,
    /// Start of the run date (UTC).
    pub as_of: i64,
    pub erased: &'a BTreeSet<String>,
    pub overrides: &'a crate::serve::overrides::Overrides,
    pub history: History,
    pub pseudo: Option<&'a pseudo::Pseudonymizer>,
}

/// The sources, read once (a back-test and a comparison reuse them).
pub struct Loaded {
    pub customers: Customers,
    pub transactions: Option<Transactions>,
    /// Per customer: its events' range in the event table.
    pub event_ranges: Vec<Option<std::ops::Range<usize>>>,
    pub events_account: Option<Account>,
}

/// The event export's row accounting, from the shared ingest.
pub fn events_account(data: &crate::pipeline::Data, files: &str) -> Account {
    let ing = &data.ingested;
    let mut a = Account {
        source: "events".into(),
        path: files.to_string(),
        rows: ing.read,
        used: ing.used(),
        ..Default::default()
    };
    for (reason, n) in ing.rejected.by_reason() {
        a.rejected.insert(
            reason.as_str().to_string(),
            sources::Rejected {
                rows: n,
                first_line: ing
                    .first_reject
                    .as_ref()
                    .filter(|r| r.reason == reason)
                    .map_or(0, |r| r.line),
            },
        );
    }
    if ing.duplicates_dropped && ing.duplicates > 0 {
        a.rejected.insert(
            "duplicate".into(),
            sources::Rejected {
                rows: ing.duplicates,
                first_line: 0,
            },
        );
    }
    a
}

/// "n reason (first at line l), ..." of an account's rejected rows.
fn summary_of(a: &Account) -> String {
    if a.rows == 0 {
        return "the file has no rows".into();
    }
    let parts: Vec<String> = a
        .rejected
        .iter()
        .map(|(k, r)| format!("{} {k} (first at line {})", r.rows, r.first_line))
        .collect();
    if parts.is_empty() {
        format!("{} rows, none rejected", a.rows)
    } else {
        parts.join(", ")
    }
}

/// Reads the customer table and the transactions up to `end`.
pub fn load(
    plan: &Plan,
    config_dir: &Path,
    events: Option<&Events>,
    erased: &BTreeSet<String>,
    end: i64,
) -> Result<Loaded, DataError> {
    let cust = plan.customers().ok_or_else(|| {
        DataError::Input(
            "decide needs a [[sources]] with kind = \"customers\" (one row per user with consent flags)"
                .into(),
        )
    })?;
    let mut needed = BTreeSet::new();
    for p in &plan.pathways {
        for r in &p.eligible {
            needed.insert(rules::Rule::parse(r).map_err(DataError::Input)?.column);
        }
    }
    for rs in plan.decide.purpose_rules.values() {
        for r in rs {
            needed.insert(rules::Rule::parse(r).map_err(DataError::Input)?.column);
        }
    }
    let customers = sources::read_customers(
        cust,
        &sources::resolve_path(config_dir, &cust.path),
        &needed,
        erased,
    )?;
    let transactions = match plan.transactions() {
        Some(s) => Some(sources::read_transactions(
            s,
            &sources::resolve_path(config_dir, &s.path),
            &customers,
            erased,
            end,
        )?),
        None => None,
    };
    if customers.is_empty() {
        return Err(DataError::Input(format!(
            "{}: no usable customer row ({}); every decision needs the customer's consent flags",
            customers.account.path,
            summary_of(&customers.account)
        )));
    }
    if let Some(t) = &transactions {
        let a = &t.account;
        if a.rows > 0 && a.rejected_rows() == a.rows {
            let case = t.case_only_unknown.as_ref().map_or(String::new(), |(n, e)| {
                format!("; {n} of its unknown ids differ from a customer id only in letter case (e.g. {e:?}): ids are compared exactly")
            });
            return Err(DataError::Input(format!(
                "{}: every one of its {} rows was rejected ({}); check its `delimiter`, the decimal separator of the amounts (a point) and `time_format`{case}",
                a.path,
                a.rows,
                summary_of(a)
            )));
        }
    }
    let mut event_ranges = vec![None; customers.len()];
    let mut events_account = None;
    if let Some(ev) = events {
        let t = ev.table;
        let mut a = ev.account.clone();
        let mut unknown_rows = 0u64;
        let mut unknown_users = 0u64;
        let mut erased_rows = 0u64;
        for r in t.user_ranges() {
            let id = t.user_names.get(t.user[r.start]);
            if erased.contains(id) {
                erased_rows += r.len() as u64;
            } else if let Some(u) = customers.find(id) {
                event_ranges[u as usize] = Some(r);
            } else {
                unknown_rows += r.len() as u64;
                unknown_users += 1;
            }
        }
        if unknown_rows > 0 {
            a.rejected.insert(
                "unknown_user".into(),
                sources::Rejected {
                    rows: unknown_rows,
                    first_line: 0,
                },
            );
        }
        a.unknown_users = unknown_users;
        a.erased = erased_rows;
        a.used -= unknown_rows + erased_rows;
        events_account = Some(a);
    }
    Ok(Loaded {
        customers,
        transactions,
        event_ranges,
        events_account,
    })
}

/// Per trigger: what the kernels need, resolved against the data.
pub struct Resolved {
    pub params: Vec<Params>,
    /// Transaction triggers: the category code (None: never seen → never fires).
    pub category: Vec<Option<u32>>,
    /// Sequence triggers: per event of the table, (matches first, matches then).
    pub masks: Vec<Option<(Vec<bool>, Vec<bool>)>>,
    /// Outcome masks per event (back-test).
    pub outcome: Vec<Option<Vec<bool>>>,
}

pub fn resolve(
    plan: &Plan,
    loaded: &Loaded,
    events: Option<&Events>,
) -> Result<Resolved, DataError> {
    let mut r = Resolved {
        params: plan.triggers.iter().map(Params::of).collect(),
        category: Vec::new(),
        masks: Vec::new(),
        outcome: Vec::new(),
    };
    let mask = |pred: &crate::predicate::Predicate, what: &str| -> Result<Vec<bool>, DataError> {
        let ev = events.ok_or_else(|| {
            DataError::Input(format!(
                "{what} reads app events: give the event export as FILES"
            ))
        })?;
        if ev.table.is_empty() {
            return Err(DataError::Input(format!(
                "{}: no app event was read (an empty file, a header only, or every row rejected), and {what} reads them",
                ev.account.path
            )));
        }
        let m = crate::predicate::resolve(pred, ev.table, what)?;
        Ok((0..ev.table.len())
            .map(|i| m.matches(ev.table, i))
            .collect())
    };
    for t in &plan.triggers {
        r.category.push(
            t.category
                .as_deref()
                .and_then(|c| loaded.transactions.as_ref()?.category_code(c)),
        );
        r.masks.push(if t.kind == TriggerKind::Sequence {
            let what = format!("trigger {:?}", t.name);
            Some((
                mask(t.first.as_ref().expect("checked"), &what)?,
                mask(t.then.as_ref().expect("checked"), &what)?,
            ))
        } else {
            None
        });
        r.outcome.push(match (&t.outcome, events) {
            (Some(o), Some(_)) => Some(mask(o, &format!("trigger {:?} outcome", t.name))?),
            _ => None,
        });
    }
    Ok(r)
}

/// The triggers that fire for customer `u` as of `end`.
pub fn fire_user(
    plan: &Plan,
    loaded: &Loaded,
    res: &Resolved,
    events: Option<&Events>,
    u: u32,
    end: i64,
) -> Vec<Option<Fired>> {
    let txns = loaded.transactions.as_ref().map(|t| {
        let r = t.of(u);
        Txns {
            ts: &t.ts[r.clone()],
            amount: &t.amount[r.clone()],
            category: &t.category[r],
        }
    });
    plan.triggers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = &res.params[i];
            match t.kind {
                TriggerKind::Sequence => {
                    let (ev, range) = (events?, loaded.event_ranges[u as usize].clone()?);
                    let (f, th) = res.masks[i].as_ref()?;
                    triggers::sequence(
                        p,
                        &ev.table.ts[range.clone()],
                        &f[range.clone()],
                        &th[range],
                        end,
                    )
                }
                kind => {
                    let (x, cat) = (txns.as_ref()?, res.category[i]?);
                    match kind {
                        TriggerKind::SpendChange => triggers::spend_change(p, x, cat, end),
                        TriggerKind::LevelChange => triggers::level_change(p, x, cat, end),
                        _ => triggers::new_category(p, x, cat, end),
                    }
                }
            }
        })
        .collect()
}

/// One user's result.
pub struct UserResult {
    /// The id shown in outputs (pseudonymized on request).
    pub id: String,
    pub fired: Vec<Option<Fired>>,
    pub decision: Decision,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TriggerCount {
    pub name: String,
    pub kind: TriggerKind,
    pub fired: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PathwayCount {
    pub name: String,
    pub purpose: String,
    pub enabled: bool,
    /// `null` (no model), `usable`, or why not.
    pub model: Option<String>,
    /// Only used in place of another pathway's model.
    pub fallback_for: Option<String>,
    pub chosen: u64,
    pub value: f64,
    /// Step code → users this pathway stopped at that step.
    pub stopped: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct OverrideCounts {
    pub rules: u64,
    pub suppressed: u64,
    pub forced: u64,
    pub refused: u64,
    /// Override rules naming users not in the customer table.
    pub unknown_users: u64,
}

/// The run's summary: report.json's `decide` section and decide.json.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct DecideReport {
    pub as_of: String,
    pub kill_switch: bool,
    pub pseudonymized: bool,
    pub sources: Vec<Account>,
    pub odd_consent: Vec<OddConsent>,
    pub customers: u64,
    /// Ids on the erasure list (rows removed are in each source's `erased`).
    pub erasure_list: u64,
    /// Purpose / channel → customers without consent for it.
    pub without_purpose_consent: BTreeMap<String, u64>,
    pub without_channel_consent: BTreeMap<String, u64>,
    pub triggers: Vec<TriggerCount>,
    pub pathways: Vec<PathwayCount>,
    pub with_action: u64,
    pub value: f64,
    pub actions: BTreeMap<String, u64>,
    pub channels: BTreeMap<String, u64>,
    pub sources_of_actions: BTreeMap<String, u64>,
    pub no_action: BTreeMap<String, u64>,
    pub overrides: OverrideCounts,
    pub notes: Vec<String>,
    /// Set in `journeymap report`: decided without earlier runs' state,
    /// overrides, erasure or pseudonyms (docs/decisions.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
}

pub struct Run {
    pub report: DecideReport,
    pub users: Vec<UserResult>,
    pub history: History,
}

/// Loads the models of pathways that name one.
pub fn models(
    plan: &Plan,
    config_dir: &Path,
    customers: &Customers,
    loaded: &Loaded,
    events: Option<&Events>,
    end: i64,
) -> Vec<ModelGate> {
    plan.pathways
        .iter()
        .map(|p| {
            let Some(m) = &p.model else {
                return ModelGate::None;
            };
            let path = sources::resolve_path(config_dir, m);
            let what = path.display().to_string();
            let gate = || -> Result<Vec<Option<f64>>, String> {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{what}: cannot read: {e}"))?;
                let model = crate::propensity::ModelFile::from_json(&text, &what)
                    .map_err(|e| e.to_string())?;
                let min_auc = p.min_auc.unwrap_or(0.6);
                let auc = model.metrics.holdout.auc;
                if auc.is_nan() || auc < min_auc {
                    return Err(format!(
                        "{what}: hold-out AUC {auc:.3} is below min_auc {min_auc}"
                    ));
                }
                match &model.consent {
                    None => {
                        return Err(format!(
                            "{what}: trained without a purpose, so possibly on users without consent for {:?}; retrain it with --purpose {} (or [propensity] purpose)",
                            p.purpose, p.purpose
                        ));
                    }
                    Some(c) if c.purpose != p.purpose => {
                        return Err(format!(
                            "{what}: trained for purpose {:?}, not this pathway's {:?}",
                            c.purpose, p.purpose
                        ));
                    }
                    Some(_) => {}
                }
                let ev = events.ok_or("the model scores app events: give the event export")?;
                crate::propensity::check_model_matches(&model, ev.table, true)
                    .map_err(|e| e.to_string())?;
                // Scored on the events before the run date's end only, as the
                // export of that night held them: a back-test of a past date
                // sees what that night saw.
                let cut;
                let (table, sessions) = if ev.table.ts.iter().any(|&x| x >= end) {
                    let t = ev.table.before(end);
                    let s = crate::sessions::build(&t, ev.session_source);
                    cut = (t, s);
                    (&cut.0, &cut.1)
                } else {
                    (ev.table, ev.sessions)
                };
                let scores = crate::propensity::score(table, sessions, &model, &[], &[])
                    .map_err(|e| e.to_string())?;
                let mut by_customer = vec![None; customers.len()];
                let mut of_table = vec![None; ev.table.user_names.len()];
                for r in &scores.rows {
                    of_table[r.user as usize] = r.score;
                }
                for (u, range) in loaded.event_ranges.iter().enumerate() {
                    if let Some(r) = range {
                        by_customer[u] = of_table[ev.table.user[r.start] as usize];
                    }
                }
                Ok(by_customer)
            };
            match gate() {
                Ok(s) => ModelGate::Scores(s),
                Err(why) => ModelGate::Unusable(why),
            }
        })
        .collect()
}

/// Decides for every customer as of `inputs.as_of`.
pub fn run(inputs: Inputs, loaded: &Loaded) -> Result<Run, DataError> {
    let plan = inputs.plan;
    let end = inputs.as_of + DAY;
    let res = resolve(plan, loaded, inputs.events.as_ref())?;
    let c = &loaded.customers;
    let mut rules = Vec::new();
    for p in &plan.pathways {
        let mut rs = Vec::new();
        let texts = plan
            .decide
            .purpose_rules
            .get(&p.purpose)
            .into_iter()
            .flatten()
            .chain(&p.eligible);
        for text in texts {
            let r = rules::Rule::parse(text).map_err(DataError::Input)?;
            let col = c
                .column(&r.column)
                .expect("read_customers checked the column");
            rs.push((r, col));
        }
        rules.push(rs);
    }
    for (user, (action, _)) in &inputs.overrides.force_action {
        if !plan
            .pathways
            .iter()
            .any(|p| p.actions.iter().any(|a| &a.name == action))
        {
            return Err(DataError::Input(format!(
                "overrides: force_action {action:?} for user {user:?} names no action of any pathway"
            )));
        }
    }
    let models = models(
        plan,
        inputs.config_dir,
        c,
        loaded,
        inputs.events.as_ref(),
        end,
    );
    let ctx = Context {
        plan,
        customers: c,
        rules,
        models: models.clone(),
        history: &inputs.history,
        overrides: inputs.overrides,
        end,
    };
    let events = inputs.events.as_ref();
    let users: Vec<UserResult> = (0..c.len() as u32)
        .into_par_iter()
        .with_min_len(256)
        .map(|u| {
            let fired = fire_user(plan, loaded, &res, events, u, end);
            let flags: Vec<bool> = fired.iter().map(Option::is_some).collect();
            let id = match inputs.pseudo {
                Some(p) => p.id(&c.ids[u as usize]),
                None => c.ids[u as usize].clone(),
            };
            let decision = ctx.decide(u, &flags, &id);
            UserResult {
                id,
                fired,
                decision,
            }
        })
        .collect();

    let mut history_rows: Vec<state::Row> = inputs.history.rows.clone();
    for r in &users {
        if let Some(a) = &r.decision.action {
            history_rows.push(state::Row {
                day: inputs.as_of,
                user: r.id.clone(),
                pathway: a.pathway.clone(),
                action: a.action.clone(),
                channel: a.channel.clone(),
                source: a.source.to_string(),
            });
        }
    }
    let report = summarize(&inputs, loaded, &models, &users);
    Ok(Run {
        report,
        users,
        history: History::new(history_rows),
    })
}

/// A run date far from the data: the export is stale, or the date a typo.
fn staleness(inputs: &Inputs, loaded: &Loaded) -> Vec<String> {
    const MONTH: i64 = 31 * DAY;
    let end = inputs.as_of + DAY;
    let mut last: Vec<(&str, i64)> = Vec::new();
    if let Some(t) = &loaded.transactions
        && let Some(&x) = t.ts.iter().max()
    {
        last.push(("transaction", x));
    }
    if let Some(ev) = &inputs.events
        && let Some(&x) = ev.table.ts.iter().filter(|&&x| x < end).max()
    {
        last.push(("app event", x));
    }
    let mut out = Vec::new();
    for (what, x) in last {
        if end - x > MONTH {
            out.push(format!(
                "the last {what} before the run date is on {}, {} days earlier: is the export up to date?",
                state::format_day(x),
                (end - x) / DAY
            ));
        }
    }
    if let Some(t) = &loaded.transactions
        && t.account.rows == 0
    {
        out.push(format!(
            "{}: the transactions file has no rows: no transaction trigger can fire",
            t.account.path
        ));
    }
    if let Some(t) = &loaded.transactions
        && t.ts.is_empty()
        && t.account.after_as_of > 0
    {
        out.push(format!(
            "every transaction is after the run date {}: is --as-of right?",
            state::format_day(inputs.as_of)
        ));
    }
    out
}

fn summarize(
    inputs: &Inputs,
    loaded: &Loaded,
    models: &[ModelGate],
    users: &[UserResult],
) -> DecideReport {
    let plan = inputs.plan;
    let c = &loaded.customers;
    let mut sources = Vec::new();
    sources.extend(loaded.events_account.clone());
    sources.extend(loaded.transactions.as_ref().map(|t| t.account.clone()));
    sources.push(c.account.clone());
    let count_false = |m: &BTreeMap<String, Vec<bool>>| -> BTreeMap<String, u64> {
        m.iter()
            .map(|(k, v)| (k.clone(), v.iter().filter(|&&x| !x).count() as u64))
            .collect()
    };
    let fallback_for = |name: &str| {
        plan.pathways
            .iter()
            .find(|p| p.fallback.as_deref() == Some(name))
            .map(|p| p.name.clone())
    };
    let mut pathways: Vec<PathwayCount> = plan
        .pathways
        .iter()
        .zip(models)
        .map(|(p, m)| PathwayCount {
            name: p.name.clone(),
            purpose: p.purpose.clone(),
            enabled: p.enabled != Some(false),
            model: match m {
                ModelGate::None => None,
                ModelGate::Scores(_) => Some("usable".into()),
                ModelGate::Unusable(why) => Some(why.clone()),
            },
            fallback_for: fallback_for(&p.name),
            chosen: 0,
            value: 0.0,
            stopped: BTreeMap::new(),
        })
        .collect();
    let mut triggers: Vec<TriggerCount> = plan
        .triggers
        .iter()
        .map(|t| TriggerCount {
            name: t.name.clone(),
            kind: t.kind,
            fired: 0,
        })
        .collect();
    let mut actions = BTreeMap::new();
    let mut channels = BTreeMap::new();
    let mut by_source = BTreeMap::new();
    let mut no_action = BTreeMap::new();
    let mut overrides = OverrideCounts {
        rules: inputs.overrides.rules() as u64,
        unknown_users: inputs
            .overrides
            .suppress
            .keys()
            .chain(inputs.overrides.force_action.keys())
            .filter(|u| c.find(u).is_none())
            .count() as u64,
        ..Default::default()
    };
    let (mut with_action, mut value) = (0u64, 0.0f64);
    for r in users {
        for (i, f) in r.fired.iter().enumerate() {
            if f.is_some() {
                triggers[i].fired += 1;
            }
        }
        for s in &r.decision.steps {
            use engine::Step;
            match s {
                Step::Suppressed { .. } => overrides.suppressed += 1,
                Step::Forced { .. } => overrides.forced += 1,
                Step::ForceRefused { .. } => overrides.refused += 1,
                Step::Disabled { pathway }
                | Step::ModelUnusable { pathway, .. }
                | Step::NoScore { pathway }
                | Step::ScoreBelow { pathway, .. }
                | Step::NoTrigger { pathway }
                | Step::NoPurposeConsent { pathway, .. }
                | Step::Ineligible { pathway, .. }
                | Step::Capped { pathway, .. }
                | Step::Cooldown { pathway, .. }
                | Step::NoChannelConsent { pathway, .. } => {
                    if let Some(i) = plan.pathway_index(pathway) {
                        *pathways[i].stopped.entry(s.code().to_string()).or_insert(0) += 1;
                    }
                }
                _ => {}
            }
        }
        match &r.decision.action {
            Some(a) => {
                with_action += 1;
                let v = a.value.unwrap_or(0.0);
                value += v;
                if let Some(i) = plan.pathway_index(&a.pathway) {
                    pathways[i].chosen += 1;
                    pathways[i].value += v;
                }
                *actions.entry(a.action.clone()).or_insert(0) += 1;
                *channels.entry(a.channel.clone()).or_insert(0) += 1;
                *by_source.entry(a.source.to_string()).or_insert(0) += 1;
            }
            None => {
                let why = r.decision.no_action_reason().unwrap_or("none");
                *no_action.entry(why.to_string()).or_insert(0) += 1;
            }
        }
    }
    for p in &mut pathways {
        p.value = (p.value * 100.0).round() / 100.0;
    }
    let mut notes = Vec::new();
    for s in &sources {
        if s.rejected_rows() > 0 {
            let parts: Vec<String> = s
                .rejected
                .iter()
                .map(|(k, r)| {
                    if r.first_line > 0 {
                        format!("{} {k} (first at {}:{})", r.rows, s.path, r.first_line)
                    } else {
                        format!("{} {k}", r.rows)
                    }
                })
                .collect();
            notes.push(format!("{}: rows rejected: {}", s.source, parts.join(", ")));
        }
    }
    for o in &c.odd_consent {
        notes.push(format!(
            "{}: {} consent cells are not yes/no ({}; first at line {}): counted as no consent",
            o.column,
            o.rows,
            o.values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            o.first_line
        ));
    }
    if overrides.unknown_users > 0 {
        notes.push(format!(
            "{} override rules name users who are not in the customer table",
            overrides.unknown_users
        ));
    }
    for (p, m) in plan.pathways.iter().zip(models) {
        if let ModelGate::Unusable(why) = m {
            notes.push(match &p.fallback {
                Some(f) => format!(
                    "pathway {}: model not used ({why}); fallback pathway {f} runs instead",
                    p.name
                ),
                None => format!(
                    "pathway {}: model not used ({why}) and no fallback: no actions",
                    p.name
                ),
            });
        }
    }
    notes.extend(staleness(inputs, loaded));
    if let Some(t) = &loaded.transactions
        && let Some((n, example)) = &t.case_only_unknown
    {
        notes.push(format!(
            "transactions: {n} unknown user ids differ from a customer id only in letter case (e.g. {example:?}); ids are compared exactly"
        ));
    }
    DecideReport {
        as_of: state::format_day(inputs.as_of),
        kill_switch: plan.decide.enabled == Some(false),
        pseudonymized: inputs.pseudo.is_some(),
        sources,
        odd_consent: c.odd_consent.clone(),
        customers: c.len() as u64,
        erasure_list: inputs.erased.len() as u64,
        without_purpose_consent: count_false(&c.purpose_consent),
        without_channel_consent: count_false(&c.channel_consent),
        triggers,
        pathways,
        with_action,
        value: (value * 100.0).round() / 100.0,
        actions,
        channels,
        sources_of_actions: by_source,
        no_action,
        overrides,
        notes,
        preview: false,
    }
}
