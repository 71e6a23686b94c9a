//! The files of a decide run, each replaced atomically:
//! - `decisions.csv`: one row per customer: the action (empty for none),
//!   its channel, pathway, source (pathway, fallback, override), value,
//!   the reason code and a sentence;
//! - `trail.jsonl`: one JSON object per customer: the decision, every
//!   trigger that fired (time, values, sentence) and every step checked;
//! - `triggers.csv`: one row per trigger fired (user, trigger, time, sentence);
//! - `history.csv`: the actions of this and earlier runs (the state the
//!   next run reads for caps and cool-downs);
//! - `decide.json` and `decide.md`: the summary.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::engine::{Decision, Step};
use super::triggers::{self, Fired};
use super::{Run, UserResult};
use crate::output::{Cells, ColumnSpec, CsvStyle, Kind, Rows};

/// A step's sentence for the decisions file.
pub fn step_sentence(s: &Step) -> String {
    match s {
        Step::KillSwitch => "the kill switch is on ([decide] enabled = false)".into(),
        Step::GlobalCooldown {
            last,
            cooldown_days,
        } => {
            format!("an action was taken on {last}, within the {cooldown_days}-day cool-down")
        }
        Step::Disabled { pathway } => format!("{pathway}: switched off"),
        Step::ModelUnusable { pathway, why, .. } => format!("{pathway}: model not used: {why}"),
        Step::NoScore { pathway } => format!("{pathway}: the model has no score for this user"),
        Step::ScoreBelow {
            pathway,
            score,
            min_score,
        } => format!("{pathway}: score {score:.6} below {min_score}"),
        Step::NoTrigger { pathway } => format!("{pathway}: none of its triggers fired"),
        Step::NoPurposeConsent { pathway, purpose } => {
            format!("{pathway}: no consent for purpose {purpose}")
        }
        Step::Ineligible {
            pathway,
            rule,
            value,
        } => match value {
            Some(v) => format!("{pathway}: rule {rule} fails (value {v})"),
            None => format!("{pathway}: rule {rule} fails (value missing)"),
        },
        Step::Capped {
            pathway,
            taken,
            cap,
            window_days,
        } => format!("{pathway}: {taken} actions in {window_days} days, cap {cap}"),
        Step::Cooldown {
            pathway,
            last,
            cooldown_days,
        } => format!("{pathway}: last action {last}, within its {cooldown_days}-day cool-down"),
        Step::NoChannelConsent {
            pathway,
            action,
            channel,
        } => format!("{pathway}: {action} skipped, no consent for channel {channel}"),
        Step::Chosen {
            pathway,
            action,
            channel,
            replaced,
            ..
        } => match replaced {
            Some(r) => format!("{pathway} (fallback for {r}): {action} by {channel}"),
            None => format!("{pathway}: {action} by {channel}"),
        },
        Step::Suppressed { note } => format!("suppressed by the override file ({note})"),
        Step::Forced { action, note, .. } => {
            format!("{action} forced by the override file ({note})")
        }
        Step::ForceRefused { action, why } => format!("override {action} refused: {why}"),
    }
}

/// The decision's reason: the deciding step's sentence, with the
/// triggers that fired.
pub fn reason(d: &Decision, fired_names: &[&str]) -> (String, String) {
    let code = match &d.action {
        Some(a) => a.source.to_string(),
        None => d.no_action_reason().unwrap_or("none").to_string(),
    };
    let deciding = match &d.action {
        Some(_) => d
            .steps
            .iter()
            .rev()
            .find(|s| matches!(s, Step::Chosen { .. } | Step::Forced { .. })),
        None => d.steps.iter().find(|s| s.code() == code),
    };
    let mut text = deciding
        .map(step_sentence)
        .unwrap_or_else(|| "no pathway matched".into());
    if !fired_names.is_empty() {
        text = format!("{text}; fired: {}", fired_names.join(", "));
    }
    (code, text)
}

struct DecisionRows<'a> {
    users: Vec<&'a UserResult>,
    names: Vec<&'a str>,
}

/// The users in output order: the customer table's, or by pseudonym when
/// ids are pseudonymized (else a row's position would give its id away to
/// anyone holding the sorted customer list).
fn in_order(run: &Run) -> Vec<&UserResult> {
    let mut users: Vec<&UserResult> = run.users.iter().collect();
    if run.report.pseudonymized {
        users.sort_by(|a, b| a.id.cmp(&b.id));
    }
    users
}

impl Rows for DecisionRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        [
            ("user_id", Kind::Text),
            ("action", Kind::Text),
            ("channel", Kind::Text),
            ("pathway", Kind::Text),
            ("source", Kind::Text),
            ("value", Kind::Float),
            ("reason", Kind::Text),
            ("detail", Kind::Text),
        ]
        .into_iter()
        .map(|(n, k)| ColumnSpec::new(n, k))
        .collect()
    }
    fn len(&self) -> usize {
        self.users.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let r = self.users[i];
        let fired: Vec<&str> = r
            .fired
            .iter()
            .zip(&self.names)
            .filter(|(f, _)| f.is_some())
            .map(|(_, n)| *n)
            .collect();
        let (code, text) = reason(&r.decision, &fired);
        out.text(Some(&r.id));
        let a = r.decision.action.as_ref();
        out.text(a.map(|a| a.action.as_str()));
        out.text(a.map(|a| a.channel.as_str()));
        out.text(a.map(|a| a.pathway.as_str()));
        out.text(a.map(|a| a.source));
        out.float(a.and_then(|a| a.value));
        out.text(Some(&code));
        out.text(Some(&text));
    }
}

struct FiredRows<'a> {
    rows: Vec<(&'a str, usize, &'a Fired)>,
    sentences: Vec<String>,
    names: Vec<&'a str>,
}

impl Rows for FiredRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("trigger", Kind::Text),
            ColumnSpec::new("fired_at", Kind::Time),
            ColumnSpec::new("sentence", Kind::Text),
        ]
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let (u, t, f) = self.rows[i];
        out.text(Some(u));
        out.text(Some(self.names[t]));
        out.time(Some(f.at));
        out.text(Some(&self.sentences[i]));
    }
}

#[derive(Serialize)]
struct TrailFired<'a> {
    trigger: &'a str,
    fired_at: String,
    values: serde_json::Map<String, serde_json::Value>,
    sentence: String,
}

#[derive(Serialize)]
struct Trail<'a> {
    user_id: &'a str,
    action: Option<&'a super::engine::Action>,
    reason: String,
    triggers: Vec<TrailFired<'a>>,
    steps: &'a [Step],
}

/// Writes every file of `run` into `dir`.
/// decisions.csv's rows, for the report's per-unit files.
pub fn decision_rows<'a>(plan: &'a super::config::Plan, run: &'a Run) -> Box<dyn Rows + 'a> {
    Box::new(DecisionRows {
        users: in_order(run),
        names: plan.triggers.iter().map(|t| t.name.as_str()).collect(),
    })
}

pub fn write_all(
    dir: &Path,
    plan: &super::config::Plan,
    run: &Run,
    end: i64,
    style: CsvStyle,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        anyhow::anyhow!("{}: cannot create the output directory: {e}", dir.display())
    })?;
    crate::atomic::remove_stale_temps(dir);
    let names: Vec<&str> = plan.triggers.iter().map(|t| t.name.as_str()).collect();
    let params: Vec<triggers::Params> = plan.triggers.iter().map(triggers::Params::of).collect();
    let sentence = |t: usize, f: &Fired| triggers::sentence(&plan.triggers[t], &params[t], f, end);
    crate::output::write(
        &dir.join("decisions.csv"),
        &DecisionRows {
            users: in_order(run),
            names: names.clone(),
        },
        "decisions.csv",
        style,
    )?;
    let mut fired = FiredRows {
        rows: Vec::new(),
        sentences: Vec::new(),
        names: names.clone(),
    };
    let users = in_order(run);
    for r in &users {
        for (t, f) in r.fired.iter().enumerate() {
            if let Some(f) = f {
                fired.rows.push((&r.id, t, f));
                fired.sentences.push(sentence(t, f));
            }
        }
    }
    crate::output::write(&dir.join("triggers.csv"), &fired, "triggers.csv", style)?;
    crate::atomic::write_with(&dir.join("trail.jsonl"), |w: &mut dyn Write| {
        for r in &users {
            let fired_names: Vec<&str> = r
                .fired
                .iter()
                .zip(&names)
                .filter(|(f, _)| f.is_some())
                .map(|(_, n)| *n)
                .collect();
            let trail = Trail {
                user_id: &r.id,
                action: r.decision.action.as_ref(),
                reason: reason(&r.decision, &fired_names).1,
                triggers: r
                    .fired
                    .iter()
                    .enumerate()
                    .filter_map(|(t, f)| {
                        let f = f.as_ref()?;
                        Some(TrailFired {
                            trigger: names[t],
                            fired_at: crate::output::iso(f.at),
                            values: f
                                .values
                                .iter()
                                .map(|(k, v)| ((*k).to_string(), serde_json::json!(v)))
                                .collect(),
                            sentence: sentence(t, f),
                        })
                    })
                    .collect(),
                steps: &r.decision.steps,
            };
            serde_json::to_writer(&mut *w, &trail)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })?;
    crate::atomic::write_with(&dir.join("history.csv"), |w| run.history.write(w))?;
    crate::atomic::write_bytes(
        &dir.join("decide.json"),
        (serde_json::to_string_pretty(&run.report)? + "\n").as_bytes(),
    )?;
    crate::atomic::write_bytes(
        &dir.join("decide.md"),
        crate::doc::markdown::render(&super::document::document(&run.report, None)).as_bytes(),
    )?;
    Ok(())
}
