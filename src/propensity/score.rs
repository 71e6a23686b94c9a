//! Scoring: every user's cutoff, score, risk band, stage and action, and
//! the counts over them.

use super::config::Rule;
use super::interventions::{self, Rules, Stager};
use super::label::{
    Cutoff, LabelDefinition, Outcome, Resolved, ResolvedCutoff, ResolvedOutcome, Status, UserCut,
};
use super::model::ModelFile;
use super::report::*;
use crate::config::StageConfig;
use crate::error::DataError;
use crate::features::scale::standardize;
use crate::features::{Extractor, FeatureDef, RowScratch};
use crate::ingest::EventTable;
use crate::sessions::Sessions;
use crate::stats::round6;

// ---------------------------------------------------------------------------
// Scoring.

/// One user's score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    pub user: u32,
    /// "scored", "converted" (target before the cutoff) or "no_cutoff".
    pub status: &'static str,
    pub cutoff_ts: Option<i64>,
    /// Probability of the positive label.
    pub score: Option<f64>,
    /// Probability of the bad outcome: 1 − score for conversion, score for churn.
    pub risk: Option<f64>,
    pub band: Option<&'static str>,
    pub stage: Option<usize>,
    pub action: Option<usize>,
}

/// A scored user's log-odds and its largest additive contributions
/// (feature index, wⱼzⱼ), the positive ones and the negative ones, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Explained {
    pub log_odds: f64,
    pub raises: [Option<(u16, f64)>; 3],
    pub lowers: [Option<(u16, f64)>; 3],
}

impl Explained {
    fn of(lin: &super::model::Linear, z: &[f64]) -> Explained {
        let mut e = Explained {
            log_odds: lin.log_odds(z),
            ..Default::default()
        };
        for (j, (w, x)) in lin.w.iter().zip(z).enumerate() {
            let phi = w * x;
            type Slots = [Option<(u16, f64)>; 3];
            let (slots, better): (&mut Slots, fn(f64, f64) -> bool) = if phi > 0.0 {
                (&mut e.raises, |a, b| a > b)
            } else if phi < 0.0 {
                (&mut e.lowers, |a, b| a < b)
            } else {
                continue;
            };
            // Insertion into three slots; earlier features win ties.
            let mut item = Some((j as u16, phi));
            for s in slots.iter_mut() {
                match (*s, item) {
                    (None, _) => {
                        *s = item;
                        break;
                    }
                    (Some(cur), Some(new)) if better(new.1, cur.1) => {
                        *s = Some(new);
                        item = Some(cur);
                    }
                    _ => {}
                }
            }
        }
        e
    }
}

/// Scores with the names their indices refer to.
pub struct Scores {
    pub rows: Vec<ScoreRow>,
    /// Per row: the explanation of a scored user's score.
    pub explained: Vec<Option<Explained>>,
    /// The model's features and verb, for the sentences.
    pub features: Vec<super::model::ModelFeature>,
    pub verb: &'static str,
    /// With `contributions`: every scored user's wⱼzⱼ, row-major (scored
    /// users in row order × features).
    pub contributions: Option<Vec<f64>>,
    pub intercept: f64,
    pub stage_names: Vec<String>,
    pub actions: Vec<String>,
    pub summary: ScoreSummary,
}

pub(super) fn resolve_label(
    def: &LabelDefinition,
    t: &EventTable,
    training: bool,
) -> Result<Resolved, DataError> {
    let cutoff = match &def.cutoff {
        Cutoff::Observe { window_ms } => ResolvedCutoff::Observe(*window_ms),
        Cutoff::Milestone { event } => {
            ResolvedCutoff::Milestone(crate::predicate::resolve(event, t, "--milestone")?)
        }
    };
    let outcome = match &def.outcome {
        Outcome::Conversion { target, horizon_ms } => {
            let m = crate::predicate::resolve(
                target,
                t,
                "the target (--target, [propensity] target or [conversion] event)",
            );
            let target = match m {
                Ok(m) => Some(m),
                // Scoring data may hold no conversions yet.
                Err(e) if training => return Err(e),
                Err(_) => None,
            };
            ResolvedOutcome::Conversion {
                target,
                horizon_ms: *horizon_ms,
            }
        }
        Outcome::Churn { inactive_ms } => ResolvedOutcome::Churn {
            inactive_ms: *inactive_ms,
        },
    };
    Ok(Resolved { cutoff, outcome })
}

pub(super) fn cuts(t: &EventTable, label: &Resolved) -> Vec<UserCut> {
    let data_end = t.ts.iter().copied().max().unwrap_or(0);
    t.user_ranges()
        .into_iter()
        .map(|r| label.user(t, r, data_end))
        .collect()
}

/// The model's features on one table: each user's values before their
/// transform, and standardized as the model saw them in training (one
/// formula for scoring and for drift's inputs).
struct ModelRows<'a> {
    ex: Extractor<'a>,
    model: &'a ModelFile,
}

impl<'a> ModelRows<'a> {
    fn new(
        t: &'a EventTable,
        sessions: &'a Sessions,
        model: &'a ModelFile,
    ) -> Result<ModelRows<'a>, DataError> {
        let defs: Vec<FeatureDef> = model
            .features
            .iter()
            .map(|f| f.definition.clone())
            .collect();
        let (ex, _missing) = Extractor::new(t, sessions, &defs, model.funnel.as_ref().into())?;
        Ok(ModelRows { ex, model })
    }

    fn width(&self) -> usize {
        self.ex.width()
    }

    /// `raw`: the user's feature values; `z`: standardized.
    fn row(
        &self,
        t: &EventTable,
        c: &UserCut,
        scratch: &mut RowScratch,
        raw: &mut [f64],
        z: &mut [f64],
    ) {
        self.ex.row(&c.unit(t), scratch, raw);
        for ((zk, v), f) in z.iter_mut().zip(raw.iter()).zip(&self.model.features) {
            let x = crate::features::transform(f.definition.transform(), *v);
            *zk = standardize(x, f.mean, f.sd);
        }
    }
}

/// Refuses a model whose features name events or columns the data lacks
/// (unless `allow_missing`), with the list.
pub fn check_model_matches(
    model: &ModelFile,
    t: &EventTable,
    allow_missing: bool,
) -> Result<(), DataError> {
    let defs: Vec<FeatureDef> = model
        .features
        .iter()
        .map(|f| f.definition.clone())
        .collect();
    let mut missing_events: Vec<String> = Vec::new();
    for d in &defs {
        for e in d.events() {
            if !t.event_names.iter().any(|n| n == e) && !missing_events.contains(&e) {
                missing_events.push(e);
            }
        }
    }
    let missing_cols: Vec<String> = model
        .properties
        .iter()
        .filter(|c| {
            defs.iter()
                .any(|d| matches!(d, FeatureDef::Property { column, .. } if column == *c))
        })
        .filter(|c| t.prop(c).is_none())
        .cloned()
        .collect();
    if let Cutoff::Milestone { event } = &model.label.cutoff
        && let Some(e) = event.event()
        && !t.event_names.iter().any(|n| n == e)
    {
        return Err(DataError::Input(format!(
            "the model does not match this data: its cutoff milestone `{e}` is not an event in the data{}",
            crate::predicate::suggest(e, t.event_names.iter())
        )));
    }
    let used = defs.iter().filter(|d| !d.events().is_empty()).count();
    let missing_share = if used == 0 {
        0.0
    } else {
        missing_events.len() as f64 / used as f64
    };
    if !missing_cols.is_empty()
        || (!missing_events.is_empty() && (!allow_missing || missing_share > 0.5))
    {
        let mut msg = String::from("the model does not match this data:");
        if !missing_events.is_empty() {
            let shown: Vec<&str> = missing_events.iter().take(8).map(String::as_str).collect();
            msg += &format!(
                " {} of its {} event features name events the data does not have ({}{})",
                missing_events.len(),
                used,
                shown.join(", "),
                if missing_events.len() > 8 {
                    ", ..."
                } else {
                    ""
                }
            );
        }
        if !missing_cols.is_empty() {
            msg += &format!(
                " it needs the property column(s) {} which the data lacks;",
                missing_cols.join(", ")
            );
        }
        msg += &format!(
            "\n  the model was trained on {} events of {} users ({}), label: {}",
            model.training_data.events,
            model.training_data.users,
            model
                .training_data
                .files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            model.label_description
        );
        if missing_cols.is_empty() && missing_share <= 0.5 {
            msg += "\n  hint: if these events are merely absent from this batch, pass --allow-missing-events to count them as never done";
        }
        return Err(DataError::Input(msg));
    }
    Ok(())
}

/// Scores every user of `t` with `model`, picks each one's stage and action.
/// `stages` and `rules` default to the model's own.
pub fn score(
    t: &EventTable,
    sessions: &Sessions,
    model: &ModelFile,
    stages: &[StageConfig],
    rules: &[Rule],
) -> Result<Scores, DataError> {
    score_with(t, sessions, model, stages, rules, false)
}

/// [`score`], keeping every contribution when `contributions` is set.
pub fn score_with(
    t: &EventTable,
    sessions: &Sessions,
    model: &ModelFile,
    stages: &[StageConfig],
    rules: &[Rule],
    contributions: bool,
) -> Result<Scores, DataError> {
    let label = resolve_label(&model.label, t, false)?;
    let ex = ModelRows::new(t, sessions, model)?;
    let stager = Stager::new(t, stages)?;
    let resolved_rules = interventions::resolve(rules, stages, &model.milestones, t)?;
    let lin = model.linear();
    let churn = model.label.is_churn();
    let all = cuts(t, &label);
    // Users are independent: chunks of them are scored on every core and
    // concatenated in order (the same rows whatever the thread count).
    let parts = crate::parallel::map_ranges(all.len(), |range| {
        let mut scratch = RowScratch::default();
        let mut raw = vec![0.0; ex.width()];
        let mut z = vec![0.0; ex.width()];
        let mut done = Vec::new();
        all[range]
            .iter()
            .map(|c| {
                let user = t.user[c.range.start];
                match c.status {
                    s if s.scored() => {
                        ex.row(t, c, &mut scratch, &mut raw, &mut z);
                        let p = lin.predict_row(&z);
                        let risk = if churn { p } else { 1.0 - p };
                        let stage = stager.at(t, c.range.start, c.pre_end);
                        resolved_rules.done(t, c.range.start, c.pre_end, &mut done);
                        let age = c.cutoff_ts - t.ts[c.range.start];
                        let phi = contributions
                            .then(|| lin.w.iter().zip(&z).map(|(w, x)| w * x).collect());
                        (
                            Some(Explained::of(&lin, &z)),
                            phi,
                            ScoreRow {
                                user,
                                status: "scored",
                                cutoff_ts: Some(c.cutoff_ts),
                                score: Some(p),
                                risk: Some(risk),
                                band: Some(model.risk_bands.band(risk)),
                                stage,
                                action: resolved_rules.choose(stage, risk, &done, age),
                            },
                        )
                    }
                    Status::ConvertedBefore => (
                        None,
                        None,
                        ScoreRow {
                            user,
                            status: "converted",
                            cutoff_ts: Some(c.cutoff_ts),
                            score: None,
                            risk: None,
                            band: None,
                            stage: stager.at(t, c.range.start, c.pre_end),
                            action: None,
                        },
                    ),
                    _ => (
                        None,
                        None,
                        ScoreRow {
                            user,
                            status: "no_cutoff",
                            cutoff_ts: None,
                            score: None,
                            risk: None,
                            band: None,
                            stage: stager.at(t, c.range.start, c.range.end),
                            action: None,
                        },
                    ),
                }
            })
            .collect::<Vec<_>>()
    });
    let mut rows: Vec<ScoreRow> = Vec::with_capacity(all.len());
    let mut explained = Vec::with_capacity(all.len());
    let mut phis: Option<Vec<f64>> = contributions.then(Vec::new);
    for (e, phi, r) in parts.into_iter().flatten() {
        rows.push(r);
        explained.push(e);
        if let (Some(all), Some(phi)) = (phis.as_mut(), phi) {
            all.extend::<Vec<f64>>(phi);
        }
    }
    // Checked model numbers keep scores finite; a feature value that is
    // not (an overflow) must stop the run rather than band a user "low".
    if let Some(r) = rows
        .iter()
        .find(|r| r.score.is_some_and(|p| !p.is_finite()))
    {
        return Err(DataError::Input(format!(
            "the score of user {} is not a number; the model's features overflow on this data (a property value far outside the training range?)",
            crate::doc::rich::code(t.user_names.get(r.user))
        )));
    }
    let summary = summarize(&rows, &stager, &resolved_rules, rules);
    Ok(Scores {
        rows,
        explained,
        features: model.features.clone(),
        verb: model.label.verb(),
        contributions: phis,
        intercept: model.intercept,
        stage_names: stager.names.clone(),
        actions: resolved_rules.actions.clone(),
        summary,
    })
}

pub const NO_ACTION: &str = "(no action)";

fn summarize(rows: &[ScoreRow], stager: &Stager, resolved: &Rules, rules: &[Rule]) -> ScoreSummary {
    let n_stages = stager.names.len() + 1;
    let stage_slot = |s: Option<usize>| s.unwrap_or(n_stages - 1);
    let mut by_stage = vec![(0u64, 0.0f64, [0u64; 3]); n_stages];
    let n_rules = resolved.len();
    let mut per_rule = vec![0u64; n_rules + 1];
    let mut stage_rule = vec![vec![0u64; n_rules + 1]; n_stages];
    let mut bands = [0u64; 3];
    let (mut scored, mut converted, mut no_cutoff) = (0u64, 0u64, 0u64);
    for r in rows {
        match r.status {
            "scored" => scored += 1,
            "converted" => converted += 1,
            _ => no_cutoff += 1,
        }
        let (Some(risk), Some(band)) = (r.risk, r.band) else {
            continue;
        };
        let b = match band {
            "high" => 0,
            "medium" => 1,
            _ => 2,
        };
        bands[b] += 1;
        let s = stage_slot(r.stage);
        by_stage[s].0 += 1;
        by_stage[s].1 += risk;
        by_stage[s].2[b] += 1;
        let a = r.action.unwrap_or(n_rules);
        per_rule[a] += 1;
        stage_rule[s][a] += 1;
    }
    let stage_name = |s: usize| {
        if s + 1 == n_stages {
            interventions::NO_STAGE.to_string()
        } else {
            stager.names[s].clone()
        }
    };
    let action_name = |a: usize| {
        if a == n_rules {
            NO_ACTION.to_string()
        } else {
            resolved.actions[a].clone()
        }
    };
    // Actions by name (several rules may share one), in first-rule order.
    let mut actions: Vec<Count> = Vec::new();
    for (a, &users) in per_rule.iter().enumerate() {
        let name = action_name(a);
        match actions.iter_mut().find(|c| c.name == name) {
            Some(c) => c.users += users,
            None => actions.push(Count { name, users }),
        }
    }
    let mut actions_by_stage: Vec<StageAction> = Vec::new();
    for (s, counts) in stage_rule.iter().enumerate() {
        for (a, &n) in counts.iter().enumerate().filter(|&(_, &n)| n > 0) {
            let (stage, action) = (stage_name(s), action_name(a));
            match actions_by_stage
                .iter_mut()
                .find(|x| x.stage == stage && x.action == action)
            {
                Some(x) => x.users += n,
                None => actions_by_stage.push(StageAction {
                    stage,
                    action,
                    users: n,
                }),
            }
        }
    }
    let mut histogram = [0u64; 10];
    let mut fine = vec![0u64; FINE_BINS as usize];
    for r in rows {
        if let Some(score) = r.score {
            histogram[((score * 10.0) as usize).min(9)] += 1;
            fine[((score * f64::from(FINE_BINS)) as usize).min(FINE_BINS as usize - 1)] += 1;
        }
    }
    ScoreSummary {
        score_histogram: histogram
            .iter()
            .enumerate()
            .map(|(i, &n)| Count {
                name: format!("{:.1}-{:.1}", i as f64 / 10.0, (i + 1) as f64 / 10.0),
                users: n,
            })
            .collect(),
        score_bins_fine: fine
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(bin, &users)| FineBin {
                bin: bin as u32,
                users,
            })
            .collect(),
        users: rows.len() as u64,
        scored,
        converted_before_cutoff: converted,
        no_cutoff,
        bands: ["high", "medium", "low"]
            .iter()
            .zip(bands)
            .map(|(b, n)| Count {
                name: b.to_string(),
                users: n,
            })
            .collect(),
        risk_by_stage: by_stage
            .iter()
            .enumerate()
            .map(|(s, &(n, sum, b))| StageRisk {
                stage: stage_name(s),
                users: n,
                mean_risk: (n > 0).then(|| round6(sum / n as f64)),
                high: b[0],
                medium: b[1],
                low: b[2],
            })
            .filter(|s| s.users > 0 || s.stage != interventions::NO_STAGE)
            .collect(),
        actions,
        actions_by_stage,
        rules: rules
            .iter()
            .enumerate()
            .map(|(i, r)| RuleRow {
                rule: i as u64 + 1,
                conditions: r.conditions(),
                action: r.action.clone(),
                users: per_rule[i],
            })
            .collect(),
    }
}

/// What the model sees of each user it scores: the feature values before
/// their transform, and the score (for drift between two exports).
pub struct ModelInputs {
    pub users: Vec<u32>,
    /// One column per model feature, one value per scored user.
    pub columns: Vec<Vec<f64>>,
    pub scores: Vec<f64>,
    /// Each scored user's label where its window has closed (None: censored);
    /// empty when the export cannot label (a conversion target it lacks).
    pub labels: Vec<Option<bool>>,
}

/// [`ModelInputs`] of every user `score` would score, computed the same way.
pub fn inputs(
    t: &EventTable,
    sessions: &Sessions,
    model: &ModelFile,
) -> Result<ModelInputs, DataError> {
    let label = resolve_label(&model.label, t, false)?;
    let can_label = !matches!(
        label.outcome,
        ResolvedOutcome::Conversion { target: None, .. }
    );
    let ex = ModelRows::new(t, sessions, model)?;
    let lin = model.linear();
    let scored: Vec<UserCut> = cuts(t, &label)
        .into_iter()
        .filter(|c| c.status.scored())
        .collect();
    let parts = crate::parallel::map_ranges(scored.len(), |range| {
        let mut scratch = RowScratch::default();
        let mut raw = vec![0.0; ex.width()];
        let mut z = vec![0.0; ex.width()];
        scored[range]
            .iter()
            .map(|c| {
                ex.row(t, c, &mut scratch, &mut raw, &mut z);
                let y = match c.status {
                    Status::Labeled(b) => Some(b),
                    _ => None,
                };
                (t.user[c.range.start], raw.clone(), lin.predict_row(&z), y)
            })
            .collect::<Vec<_>>()
    });
    let mut out = ModelInputs {
        users: Vec::with_capacity(scored.len()),
        columns: vec![Vec::with_capacity(scored.len()); model.features.len()],
        scores: Vec::with_capacity(scored.len()),
        labels: Vec::new(),
    };
    for (u, raw, p, y) in parts.into_iter().flatten() {
        out.users.push(u);
        for (c, v) in out.columns.iter_mut().zip(raw) {
            c.push(v);
        }
        out.scores.push(p);
        if can_label {
            out.labels.push(y);
        }
    }
    Ok(out)
}
