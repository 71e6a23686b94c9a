//! Propensity and churn models: labels at a per-user cutoff, features from
//! the events before it, an L2 logistic regression (Newton's method in
//! `newton.rs`, linfa-logistic's objective) chosen by 5-fold cross-validation,
//! an honest hold-out evaluation, explanations, scoring and intervention
//! rules. Definitions: docs/propensity.md.
//!
//! The shape follows linfa: options are checked once, [`train`] turns data
//! into a fitted [`ModelFile`] (plus the report and every user's score),
//! [`score`] applies a saved model to new data. Nothing here prints.

pub mod analysis;
pub mod config;
pub mod explain;
pub mod features;
pub mod interventions;
pub mod label;
pub mod metrics;
pub mod model;
mod newton;
pub mod output;
mod split;
#[cfg(test)]
mod tests;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use self::config::{Milestone, PropensitySection, Rule};
use self::explain::{EventCorrelation, FeatureExplanation};
use self::features::{Extractor, FeatureDef, RowScratch};
use self::interventions::{Rules, Stager};
use self::label::{
    Cutoff, LabelDefinition, Outcome, Resolved, ResolvedCutoff, ResolvedOutcome, Status, UserCut,
};
use self::metrics::{CalibrationBin, LiftDecile, Metrics, MetricsSd};
use self::model::{
    ClassWeight, Fingerprint, Linear, ModelFeature, ModelFile, ModelMetrics, RiskBands, Scaler,
};
use crate::config::{FunnelConfig, JourneyConfig, Origins, ParamError, StageConfig};
use crate::duration::{Duration, Horizon};
use crate::error::{DataError, UsageError};
use crate::ingest::{EventTable, FileInfo};
use crate::predicate::Predicate;
use crate::progress::Progress;
use crate::sessions::Sessions;
use crate::stats::round6;

/// Folds for cross-validation.
pub const FOLDS: usize = 5;
/// The L2 strengths tried when `--l2` is not given (linfa's alpha; sklearn C = 1/alpha).
pub const L2_GRID: [f64; 6] = [1000.0, 100.0, 10.0, 1.0, 0.1, 0.01];
pub const DEFAULT_OBSERVE: Duration = Duration::from_ms(3 * 86_400_000);
pub const DEFAULT_HORIZON: Horizon = Horizon::Within(Duration::from_ms(14 * 86_400_000));
pub const DEFAULT_INACTIVE: Duration = Duration::from_ms(30 * 86_400_000);
pub const DEFAULT_HIGH_RISK: f64 = 0.7;
pub const DEFAULT_MEDIUM_RISK: f64 = 0.4;
pub const DEFAULT_MAX_EVENT_FEATURES: usize = 50;
/// An event (or property value) needs this many labeled users to become a feature.
pub const MIN_FEATURE_USERS: u64 = 5;

/// Everything `train` needs, checked.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub label: LabelDefinition,
    pub milestones: Vec<Milestone>,
    pub properties: Vec<String>,
    pub funnel: Option<FunnelConfig>,
    pub stages: Vec<StageConfig>,
    pub rules: Vec<Rule>,
    pub l2: Option<f64>,
    pub class_weight: ClassWeight,
    pub holdout: f64,
    pub seed: u64,
    pub threshold: Option<f64>,
    pub bands: RiskBands,
    pub max_event_features: usize,
}

/// The smallest L2 strength accepted: below it the fit is an unregularized
/// one that separable data sends to infinity.
pub const MIN_L2: f64 = 1e-6;

impl TrainOptions {
    /// The flags (as a `[propensity]` section) over the config's, with the
    /// defaults; checks every value. Errors name the flag or the config key
    /// (with its line) the value came from.
    pub fn new(cfg: &JourneyConfig, flags: &PropensitySection) -> Result<TrainOptions, UsageError> {
        let mut o = Origins::default();
        let sec = cfg.propensity.clone().unwrap_or_default();
        let src = cfg.source.as_ref();
        if flags.milestone.is_some() && flags.observe.is_some() {
            return Err(UsageError(
                "--observe and --milestone both set the cutoff: pass one".into(),
            ));
        }
        let churn = o
            .pick(
                "churn",
                ("--churn", flags.churn),
                ("propensity.churn", sec.churn),
                src,
            )
            .unwrap_or(false);
        // A cutoff given by flag replaces the config's, whichever kind it is.
        let milestone = if flags.observe.is_some() {
            flags.milestone.clone()
        } else {
            o.pick(
                "milestone",
                ("--milestone", flags.milestone.clone()),
                ("propensity.milestone", sec.milestone.clone()),
                src,
            )
        };
        let positive =
            |o: &Origins, setting: &'static str, d: Duration| d.positive(&o.name(setting));
        let cutoff = match milestone {
            Some(event) => Cutoff::Milestone { event },
            None => {
                let w = o
                    .pick(
                        "observe",
                        ("--observe", flags.observe),
                        ("propensity.observe", sec.observe),
                        src,
                    )
                    .unwrap_or(DEFAULT_OBSERVE);
                Cutoff::Observe {
                    window_ms: positive(&o, "observe", w)?,
                }
            }
        };
        let outcome = if churn {
            let w = o
                .pick(
                    "inactive",
                    ("--inactive", flags.inactive),
                    ("propensity.inactive", sec.inactive),
                    src,
                )
                .unwrap_or(DEFAULT_INACTIVE);
            Outcome::Churn {
                inactive_ms: positive(&o, "inactive", w)?,
            }
        } else {
            let target = o
                .pick("target", ("--target", flags.target.clone()), ("propensity.target", sec.target.clone()), src)
                .or(cfg.conversion.as_ref().map(|c| c.event.clone()))
                .ok_or_else(|| {
                    UsageError(
                        "no target: pass --target EVENT (or set [propensity] target or [conversion] event), or --churn"
                            .into(),
                    )
                })?;
            let h = o
                .pick(
                    "horizon",
                    ("--horizon", flags.horizon),
                    ("propensity.horizon", sec.horizon),
                    src,
                )
                .unwrap_or(DEFAULT_HORIZON);
            let horizon_ms = match h {
                Horizon::All => None,
                Horizon::Within(d) => Some(positive(&o, "horizon", d)?),
            };
            Outcome::Conversion { target, horizon_ms }
        };
        let holdout = o
            .pick(
                "holdout",
                ("--holdout", flags.holdout),
                ("propensity.holdout", sec.holdout),
                src,
            )
            .unwrap_or(0.2);
        if !(0.05..=0.5).contains(&holdout) {
            return Err(o.word(ParamError::new(
                "holdout",
                format!("{holdout} is not a share between 0.05 and 0.5"),
            )));
        }
        let l2 = o.pick("l2", ("--l2", flags.l2), ("propensity.l2", sec.l2), src);
        if let Some(a) = l2
            && !(a.is_finite() && (MIN_L2..=1e9).contains(&a))
        {
            return Err(o.word(ParamError::new(
                "l2",
                format!("{a} is not a number between {MIN_L2} and 1e9"),
            )));
        }
        let threshold = o.pick(
            "threshold",
            ("--threshold", flags.threshold),
            ("propensity.threshold", sec.threshold),
            src,
        );
        if let Some(t) = threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(o.word(ParamError::new(
                "threshold",
                format!("{t} is not a probability (0 to 1)"),
            )));
        }
        let class_weight = o
            .pick(
                "class_weight",
                ("--class-weight", flags.class_weight),
                ("propensity.class_weight", sec.class_weight),
                src,
            )
            .unwrap_or(ClassWeight::None);
        let bands = RiskBands {
            high: sec.high_risk.unwrap_or(DEFAULT_HIGH_RISK),
            medium: sec.medium_risk.unwrap_or(DEFAULT_MEDIUM_RISK),
        };
        config::check_static(
            &cfg.interventions,
            &sec.milestones,
            bands.high,
            bands.medium,
        )
        .map_err(|e| UsageError(format!("{}{e}", cfg.at("propensity"))))?;
        Ok(TrainOptions {
            label: LabelDefinition { cutoff, outcome },
            milestones: sec.milestones.clone(),
            properties: sec.properties.clone(),
            funnel: cfg.funnel.clone(),
            stages: cfg.stages.clone(),
            rules: cfg.interventions.clone(),
            l2,
            class_weight,
            holdout,
            seed: o
                .pick(
                    "seed",
                    ("--seed", flags.seed),
                    ("propensity.seed", sec.seed),
                    src,
                )
                .unwrap_or(42),
            threshold,
            bands,
            max_event_features: sec.max_event_features.unwrap_or(DEFAULT_MAX_EVENT_FEATURES),
        })
    }
}

// ---------------------------------------------------------------------------
// The report.

/// Who was in the model and who was left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Population {
    pub users: u64,
    /// Users with a known label (the model's rows).
    pub labeled: u64,
    pub positives: u64,
    pub base_rate: f64,
    /// The target happened before the cutoff.
    pub converted_before_cutoff: u64,
    /// The milestone never happened.
    pub no_cutoff: u64,
    /// The label window runs past the end of the data.
    pub censored: u64,
    pub train: u64,
    pub holdout: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GridPoint {
    pub l2: f64,
    pub sklearn_c: f64,
    pub cv_log_loss: f64,
    pub cv_auc: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Regularization {
    pub l2: f64,
    pub sklearn_c: f64,
    /// "5-fold CV" or "--l2".
    pub chosen_by: String,
    pub grid: Vec<GridPoint>,
    pub class_weight: ClassWeight,
    /// Times each row of the rarer class entered the fit.
    pub minority_repeat: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThresholdChoice {
    pub value: f64,
    /// "best F1 on out-of-fold predictions" or "--threshold".
    pub chosen_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CvReport {
    pub folds: Vec<Metrics>,
    pub mean: Metrics,
    pub sd: MetricsSd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Count {
    pub name: String,
    pub users: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageRisk {
    pub stage: String,
    pub users: u64,
    pub mean_risk: Option<f64>,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageAction {
    pub stage: String,
    pub action: String,
    pub users: u64,
}

/// One row of the decision table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleRow {
    pub rule: u64,
    pub conditions: String,
    pub action: String,
    /// Users this rule was the first match for.
    pub users: u64,
}

/// Counts over a set of scores: bands, stages, actions and the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreSummary {
    pub users: u64,
    pub scored: u64,
    pub converted_before_cutoff: u64,
    pub no_cutoff: u64,
    pub bands: Vec<Count>,
    pub risk_by_stage: Vec<StageRisk>,
    pub actions: Vec<Count>,
    pub actions_by_stage: Vec<StageAction>,
    pub rules: Vec<RuleRow>,
    /// Scored users per score decile bin [0, 0.1), …, [0.9, 1]: what
    /// `journeymap diff` compares (PSI) between two nights.
    pub score_histogram: Vec<Count>,
}

/// The propensity section of report.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PropensityReport {
    /// "conversion" or "churn".
    pub kind: String,
    pub label: String,
    pub label_definition: LabelDefinition,
    pub population: Population,
    pub features: Vec<FeatureExplanation>,
    /// Candidate features left out because they do not vary in the training rows.
    pub constant_features: Vec<String>,
    /// Candidates left out for correlating above 0.95 with a kept feature.
    pub redundant_features: Vec<Redundant>,
    pub regularization: Regularization,
    pub threshold: ThresholdChoice,
    pub cv: CvReport,
    pub holdout: Metrics,
    pub base_rate_model: Metrics,
    pub beats_base_rate: bool,
    pub verdict: String,
    pub calibration: Vec<CalibrationBin>,
    pub lift: Vec<LiftDecile>,
    /// PostHog-style odds ratio of each event (before the cutoff) with the positive label.
    pub correlations: Vec<EventCorrelation>,
    /// One class outnumbers the other more than 10 to 1 (PostHog's "skewed").
    pub correlations_skewed: bool,
    pub scoring: ScoreSummary,
    pub training_data: Fingerprint,
}

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

/// Scores with the names their indices refer to.
pub struct Scores {
    pub rows: Vec<ScoreRow>,
    pub stage_names: Vec<String>,
    pub actions: Vec<String>,
    pub summary: ScoreSummary,
}

/// The training data's identity: files, sizes and a content hash. The hash
/// is FNV-1a over 64-bit words (each user name's bytes, then per event the
/// FNV-1a of its name and its timestamp): a word at a time, because the
/// byte-at-a-time form was 0.2 s of a 10M-event report's critical path.
pub fn fingerprint(t: &EventTable, files: &[FileInfo]) -> Fingerprint {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let fnv = |mut h: u64, bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        h
    };
    let word = |h: u64, w: u64| (h ^ w).wrapping_mul(PRIME);
    let names: Vec<u64> = t
        .event_names
        .iter()
        .map(|n| fnv(OFFSET, n.as_bytes()))
        .collect();
    let mut h = OFFSET;
    for r in t.user_ranges() {
        h = fnv(h, t.user_names.get(t.user[r.start]).as_bytes());
        h = fnv(h, &[0xff]);
        for i in r {
            h = word(h, names[t.event[i] as usize]);
            h = word(h, t.ts[i] as u64);
        }
    }
    Fingerprint {
        files: files
            .iter()
            .map(|f| model::FileFingerprint {
                path: f.path.clone(),
                bytes: f.bytes,
                rows_read: f.rows_read,
            })
            .collect(),
        events: t.len() as u64,
        users: t.user_names.len() as u64,
        content_hash: format!("{h:016x}"),
    }
}

fn resolve_label(
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

fn cuts(t: &EventTable, label: &Resolved) -> Vec<UserCut> {
    let data_end = t.ts.iter().copied().max().unwrap_or(0);
    t.user_ranges()
        .into_iter()
        .map(|r| label.user(t, r, data_end))
        .collect()
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
    let label = resolve_label(&model.label, t, false)?;
    let defs: Vec<FeatureDef> = model
        .features
        .iter()
        .map(|f| f.definition.clone())
        .collect();
    let (ex, _missing) = Extractor::new(t, sessions, &defs, model.funnel.as_ref())?;
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
                        ex.row(
                            c.range.start,
                            c.pre_end,
                            c.cutoff_ts,
                            &mut scratch,
                            &mut raw,
                        );
                        for ((zk, v), f) in z.iter_mut().zip(&raw).zip(&model.features) {
                            *zk = model::standardize(*v, f.mean, f.sd);
                        }
                        let p = lin.predict_row(&z);
                        let risk = if churn { p } else { 1.0 - p };
                        let stage = stager.at(t, c.range.start, c.pre_end);
                        resolved_rules.done(t, c.range.start, c.pre_end, &mut done);
                        let age = c.cutoff_ts - t.ts[c.range.start];
                        ScoreRow {
                            user,
                            status: "scored",
                            cutoff_ts: Some(c.cutoff_ts),
                            score: Some(p),
                            risk: Some(risk),
                            band: Some(model.risk_bands.band(risk)),
                            stage,
                            action: resolved_rules.choose(stage, risk, &done, age),
                        }
                    }
                    Status::ConvertedBefore => ScoreRow {
                        user,
                        status: "converted",
                        cutoff_ts: Some(c.cutoff_ts),
                        score: None,
                        risk: None,
                        band: None,
                        stage: stager.at(t, c.range.start, c.pre_end),
                        action: None,
                    },
                    _ => ScoreRow {
                        user,
                        status: "no_cutoff",
                        cutoff_ts: None,
                        score: None,
                        risk: None,
                        band: None,
                        stage: stager.at(t, c.range.start, c.range.end),
                        action: None,
                    },
                }
            })
            .collect::<Vec<ScoreRow>>()
    });
    let rows: Vec<ScoreRow> = parts.into_iter().flatten().collect();
    let summary = summarize(&rows, &stager, &resolved_rules, rules);
    Ok(Scores {
        rows,
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
    for r in rows {
        if let Some(score) = r.score {
            histogram[((score * 10.0) as usize).min(9)] += 1;
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

// ---------------------------------------------------------------------------
// Training.

/// What training produces.
pub struct Trained {
    /// model.json's text, exactly as written.
    pub model_json: String,
    pub model: ModelFile,
    pub report: PropensityReport,
    /// Every user scored with the saved model (as `score` would).
    pub scores: Scores,
    /// The standardized matrix of the labeled users (for --features-out).
    pub matrix: FeatureMatrix,
}

/// Labeled users' standardized features, for checking against other tools.
pub struct FeatureMatrix {
    pub names: Vec<String>,
    pub users: Vec<u32>,
    pub holdout: Vec<bool>,
    pub labels: Vec<bool>,
    /// Row-major, users × names.
    pub values: Array2<f64>,
}

/// Candidate features for the labeled users: base, funnel, milestones,
/// properties, then per-event counts by support.
fn candidates(
    t: &EventTable,
    opts: &TrainOptions,
    labeled: &[(usize, usize)],
) -> Result<Vec<FeatureDef>, DataError> {
    let mut defs = vec![
        FeatureDef::Events,
        FeatureDef::Sessions,
        FeatureDef::ActiveDays,
        FeatureDef::RecencyHours,
        FeatureDef::TenureHours,
    ];
    if let Some(f) = &opts.funnel {
        defs.push(FeatureDef::FunnelStep {
            steps: f.steps.len(),
        });
    }
    for m in &opts.milestones {
        crate::predicate::resolve(&m.event, t, &format!("[propensity] milestone {:?}", m.name))?;
        defs.push(features::milestone_feature(m));
    }
    let n = labeled.len() as u64;
    let min_users = MIN_FEATURE_USERS.max(n / 100);
    for col in &opts.properties {
        let p = t.props.iter().position(|c| &c.name == col).ok_or_else(|| {
            DataError::Input(format!(
                "[propensity] properties: unknown property {col:?}{}",
                crate::predicate::suggest(col, t.props.iter().map(|c| c.name.as_str()))
            ))
        })?;
        let counts = features::users_per_value(t, p, labeled);
        let mut values: Vec<(u64, &str)> = (1..counts.len())
            .filter(|&c| counts[c] >= min_users)
            .map(|c| (counts[c], t.props[p].values.get(c as u32)))
            .collect();
        values.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        values.truncate(20);
        values.sort_by(|a, b| a.1.cmp(b.1));
        for (_, v) in values {
            defs.push(FeatureDef::Property {
                column: col.clone(),
                value: v.to_string(),
            });
        }
    }
    // Events already named by a target or a plain milestone are not counted again.
    let mut skip: Vec<&str> = opts
        .milestones
        .iter()
        .filter(|m| matches!(m.event, Predicate::Event(_)))
        .filter_map(|m| m.event.event())
        .collect();
    if let Outcome::Conversion {
        target: Predicate::Event(e),
        ..
    } = &opts.label.outcome
    {
        skip.push(e);
    }
    let support = features::users_per_event(t, labeled);
    let mut events: Vec<(u64, &str)> = (0..support.len())
        .filter(|&c| support[c] >= MIN_FEATURE_USERS)
        .map(|c| (support[c], t.event_names.get(c as u32)))
        .filter(|(_, name)| !skip.contains(name))
        .collect();
    events.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    events.truncate(opts.max_event_features);
    events.sort_by(|a, b| a.1.cmp(b.1));
    defs.extend(events.into_iter().map(|(_, e)| FeatureDef::EventCount {
        event: e.to_string(),
    }));
    Ok(defs)
}

/// A fold's scaler: a column constant in the fold's training rows is
/// centred only.
fn fold_scaler(x: &Array2<f64>, rows: &[usize]) -> Scaler {
    let mut s = Scaler::fit(x, rows);
    s.sd.iter_mut()
        .filter(|v| **v == 0.0)
        .for_each(|v| *v = 1.0);
    s
}

/// One fold's test positions, predictions per alpha and fits per alpha.
type FoldOut = (Vec<usize>, Vec<Vec<f64>>, Vec<Linear>);
/// Out-of-fold predictions per alpha, and the fits `[fold][alpha]`.
type CvOut = (Vec<Vec<f64>>, Vec<Vec<Linear>>);

/// Out-of-fold predictions, per alpha (in the order given), for the
/// training rows; and each fold's fits, `[fold][alpha]`.
fn cross_validate(
    x: &Array2<f64>,
    y: &[bool],
    train: &[usize],
    fold_of: &[usize],
    cols: &[usize],
    alphas: &[f64],
    repeat: usize,
) -> Result<CvOut, DataError> {
    let results = crate::parallel::map(FOLDS, |f| -> Result<FoldOut, DataError> {
        let fit_rows: Vec<usize> = train
            .iter()
            .zip(fold_of)
            .filter(|&(_, &k)| k != f)
            .map(|(&r, _)| r)
            .collect();
        let test_pos: Vec<usize> = (0..train.len()).filter(|&i| fold_of[i] == f).collect();
        let test_rows: Vec<usize> = test_pos.iter().map(|&i| train[i]).collect();
        let sc = fold_scaler(x, &fit_rows);
        let xf = sc.transform(x, &fit_rows, cols);
        let yf: Vec<bool> = fit_rows.iter().map(|&r| y[r]).collect();
        let xt = sc.transform(x, &test_rows, cols);
        let fits = model::fit_path(xf.view(), &yf, alphas, repeat)?;
        let preds = fits.iter().map(|m| m.predict(&xt.view())).collect();
        Ok((test_pos, preds, fits))
    });
    let mut oof = vec![vec![0.0; train.len()]; alphas.len()];
    let mut fold_fits = Vec::with_capacity(FOLDS);
    for r in results {
        let (pos, preds, fits) = r?;
        for (a, p) in preds.into_iter().enumerate() {
            for (&i, v) in pos.iter().zip(p) {
                oof[a][i] = v;
            }
        }
        fold_fits.push(fits);
    }
    Ok((oof, fold_fits))
}

/// Above this absolute correlation (in the training rows) with a feature
/// kept earlier, a candidate is left out as redundant.
pub const MAX_CORRELATION: f64 = 0.95;

/// Keeps the candidates (in order) whose correlation with every feature
/// kept before them is at most [`MAX_CORRELATION`]. Near-duplicates (a
/// `view_dashboard` that opens every session and the session count) make
/// coefficients arbitrary and the fit slow; their odds ratios mean nothing.
fn prune_collinear(
    x: &Array2<f64>,
    rows: &[usize],
    cols: &[usize],
    scaler: &Scaler,
    defs: &[FeatureDef],
) -> (Vec<usize>, Vec<Redundant>) {
    let d = cols.len();
    let mut gram = Array2::<f64>::zeros((d, d));
    for chunk in rows.chunks(8192) {
        let z = scaler.transform(x, chunk, cols);
        gram += &z.t().dot(&z);
    }
    let n = rows.len() as f64;
    let corr = |a: usize, b: usize| gram[[a, b]] / n;
    let mut kept: Vec<usize> = Vec::new();
    let mut redundant = Vec::new();
    for j in 0..d {
        match kept
            .iter()
            .map(|&k| (k, corr(j, k)))
            .find(|&(_, r)| r.abs() > MAX_CORRELATION)
        {
            Some((k, r)) => redundant.push(Redundant {
                name: defs[cols[j]].name(),
                kept: defs[cols[k]].name(),
                correlation: round6(r),
            }),
            None => kept.push(j),
        }
    }
    (kept.into_iter().map(|j| cols[j]).collect(), redundant)
}

/// A candidate left out for near-duplicating a kept feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Redundant {
    pub name: String,
    /// The kept feature it duplicates.
    pub kept: String,
    pub correlation: f64,
}

/// Trains, evaluates and explains a model; scores every user with it.
pub fn train(
    t: &EventTable,
    sessions: &Sessions,
    files: &[FileInfo],
    opts: &TrainOptions,
    progress: &Progress,
) -> anyhow::Result<Trained> {
    progress.stage("labels at the cutoff");
    let label = resolve_label(&opts.label, t, true)?;
    // The config is checked against the data before any work.
    for m in &opts.milestones {
        crate::predicate::resolve(&m.event, t, &format!("[propensity] milestone {:?}", m.name))?;
    }
    Stager::new(t, &opts.stages)?;
    interventions::resolve(&opts.rules, &opts.stages, &opts.milestones, t)?;
    let all = cuts(t, &label);
    let labeled: Vec<&UserCut> = all
        .iter()
        .filter(|c| matches!(c.status, Status::Labeled(_)))
        .collect();
    let y: Vec<bool> = labeled
        .iter()
        .map(|c| c.status == Status::Labeled(true))
        .collect();
    let positives = y.iter().filter(|&&b| b).count();
    let count = |s: Status| all.iter().filter(|c| c.status == s).count() as u64;
    let (converted_before, no_cutoff, censored) = (
        count(Status::ConvertedBefore),
        count(Status::NoCutoff),
        count(Status::Censored),
    );
    if positives < 2 * FOLDS || labeled.len() - positives < 2 * FOLDS {
        return Err(DataError::Input(format!(
            "too few labeled users to train: {} positive and {} negative (need at least {} of each); \
             {} users have no cutoff, {} did the target before the cutoff, {} are censored (label window past the end of the data){}",
            positives,
            labeled.len() - positives,
            2 * FOLDS,
            no_cutoff,
            converted_before,
            censored,
            if censored > 0 { "; a shorter --horizon (or --horizon all) labels more users" } else { "" }
        ))
        .into());
    }

    progress.stage("features before the cutoff");
    let spans: Vec<(usize, usize)> = labeled.iter().map(|c| (c.range.start, c.pre_end)).collect();
    let defs = candidates(t, opts, &spans)?;
    let (ex, _) = Extractor::new(t, sessions, &defs, opts.funnel.as_ref())?;
    let d_all = defs.len();
    // Rows are independent: chunks are extracted on every core, in order.
    let parts = crate::parallel::map_ranges(labeled.len(), |range| {
        let chunk = &labeled[range];
        let mut values = vec![0.0; chunk.len() * d_all];
        let mut scratch = RowScratch::default();
        for (row, c) in values.chunks_exact_mut(d_all.max(1)).zip(chunk) {
            ex.row(c.range.start, c.pre_end, c.cutoff_ts, &mut scratch, row);
        }
        values
    });
    let x = Array2::from_shape_vec((labeled.len(), d_all), parts.concat())
        .expect("one row of d_all values per labeled user");

    let is_holdout = split::holdout(&y, opts.holdout, opts.seed);
    let train_rows: Vec<usize> = (0..y.len()).filter(|&i| !is_holdout[i]).collect();
    let hold_rows: Vec<usize> = (0..y.len()).filter(|&i| is_holdout[i]).collect();
    let scaler = Scaler::fit(&x, &train_rows);
    let varies = |c: usize| {
        let first = x[[train_rows[0], c]];
        train_rows.iter().any(|&r| x[[r, c]] != first)
    };
    let nonconstant: Vec<usize> = (0..d_all).filter(|&c| varies(c)).collect();
    let constant_features: Vec<String> = (0..d_all)
        .filter(|c| !nonconstant.contains(c))
        .map(|c| defs[c].name())
        .collect();
    let (cols, redundant) = prune_collinear(&x, &train_rows, &nonconstant, &scaler, &defs);
    if cols.is_empty() {
        return Err(DataError::Input("no feature varies across the training users".into()).into());
    }
    let y_train: Vec<bool> = train_rows.iter().map(|&r| y[r]).collect();
    let train_pos = y_train.iter().filter(|&&b| b).count();
    let repeat = match opts.class_weight {
        ClassWeight::None => 1,
        ClassWeight::Balanced => {
            let (maj, min) = (
                train_pos.max(y_train.len() - train_pos),
                train_pos.min(y_train.len() - train_pos),
            );
            ((maj as f64 / min.max(1) as f64).round() as usize).max(1)
        }
    };

    progress.stage("5-fold cross-validation");
    let fold_of = split::folds(&y_train, FOLDS, opts.seed);
    let alphas: Vec<f64> = match opts.l2 {
        Some(a) => vec![a],
        None => L2_GRID.to_vec(),
    };
    let (oof, fold_fits) = cross_validate(&x, &y, &train_rows, &fold_of, &cols, &alphas, repeat)?;
    let fold_metrics = |p: &[f64], thr: f64| -> Vec<Metrics> {
        (0..FOLDS)
            .map(|f| {
                let idx: Vec<usize> = (0..y_train.len()).filter(|&i| fold_of[i] == f).collect();
                let pf: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
                let yf: Vec<bool> = idx.iter().map(|&i| y_train[i]).collect();
                Metrics::of(&pf, &yf, thr)
            })
            .collect()
    };
    let mut grid = Vec::new();
    let mut best = 0;
    let mut best_loss = f64::INFINITY;
    for (a, p) in oof.iter().enumerate() {
        let ms = fold_metrics(p, 0.5);
        let (mean, _) = Metrics::mean_sd(&ms);
        let loss = ms.iter().map(|m| m.log_loss).sum::<f64>() / FOLDS as f64;
        // Strongest regularization first: ties keep the simpler model.
        if loss < best_loss - 1e-9 {
            best_loss = loss;
            best = a;
        }
        grid.push(GridPoint {
            l2: alphas[a],
            sklearn_c: round6(1.0 / alphas[a]),
            cv_log_loss: mean.log_loss,
            cv_auc: mean.auc,
        });
    }
    let alpha = alphas[best];
    let (threshold, threshold_by) = match opts.threshold {
        Some(v) => (v, "--threshold"),
        None => (
            metrics::best_f1_threshold(&oof[best], &y_train),
            "best F1 on out-of-fold predictions",
        ),
    };
    let cv_folds = fold_metrics(&oof[best], threshold);
    let (cv_mean, cv_sd) = Metrics::mean_sd(&cv_folds);

    progress.stage("final fit and hold-out");
    let xs_train = scaler.transform(&x, &train_rows, &cols);
    // Started from the folds' average at this alpha: the same problem on
    // a quarter more rows, so L-BFGS has little left to do.
    let start = Linear::mean_of(&fold_fits.iter().map(|f| &f[best]).collect::<Vec<_>>());
    let fitted = model::fit(xs_train.view(), &y_train, alpha, repeat, Some(&start))?;
    drop(xs_train);
    let xs_hold = scaler.transform(&x, &hold_rows, &cols);
    let p_hold = fitted.predict(&xs_hold.view());
    drop(xs_hold);
    let y_hold: Vec<bool> = hold_rows.iter().map(|&r| y[r]).collect();
    let holdout = Metrics::of(&p_hold, &y_hold, threshold);
    // The base-rate model is the intercept-only model fitted the same way:
    // with class weights, the weighted training base rate.
    let train_neg = y_train.len() - train_pos;
    let (w_pos, w_neg) = match repeat {
        1 => (train_pos, train_neg),
        k if train_pos <= train_neg => (train_pos * k, train_neg),
        k => (train_pos, train_neg * k),
    };
    let train_rate = w_pos as f64 / (w_pos + w_neg) as f64;
    let base_p = vec![train_rate; y_hold.len()];
    let base_rate_model = Metrics::of(&base_p, &y_hold, threshold);
    let beats = holdout.auc > 0.5
        && holdout.log_loss < base_rate_model.log_loss
        && holdout.brier < base_rate_model.brier;
    let verdict = if beats {
        format!(
            "The model beats the base-rate model on the hold-out: AUC {:.3} vs 0.5, log loss {:.4} vs {:.4}, Brier {:.4} vs {:.4}.",
            holdout.auc,
            holdout.log_loss,
            base_rate_model.log_loss,
            holdout.brier,
            base_rate_model.brier
        )
    } else {
        format!(
            "The model does NOT beat the base-rate model on the hold-out (AUC {:.3} vs 0.5, log loss {:.4} vs {:.4}, Brier {:.4} vs {:.4}): its scores carry no usable signal, do not act on them.",
            holdout.auc,
            holdout.log_loss,
            base_rate_model.log_loss,
            holdout.brier,
            base_rate_model.brier
        )
    };

    let fp = fingerprint(t, files);
    let model_features: Vec<ModelFeature> = cols
        .iter()
        .zip(&fitted.w)
        .map(|(&c, &w)| ModelFeature {
            name: defs[c].name(),
            definition: defs[c].clone(),
            mean: scaler.mean[c],
            sd: scaler.sd[c],
            coefficient: w,
        })
        .collect();
    let model = ModelFile {
        format: model::FORMAT.into(),
        format_version: model::FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        label: opts.label.clone(),
        label_description: opts.label.describe(),
        features: model_features,
        intercept: fitted.b,
        threshold,
        l2: alpha,
        sklearn_c: 1.0 / alpha,
        class_weight: opts.class_weight,
        risk_bands: opts.bands,
        milestones: opts.milestones.clone(),
        properties: opts.properties.clone(),
        funnel: opts.funnel.clone(),
        stages: opts.stages.clone(),
        interventions: opts.rules.clone(),
        training_data: fp.clone(),
        metrics: ModelMetrics {
            holdout: holdout.clone(),
            base_rate_model: base_rate_model.clone(),
            cv_mean: cv_mean.clone(),
            cv_sd: cv_sd.clone(),
            beats_base_rate: beats,
        },
    };
    // Everything downstream uses the model as read back from its JSON, so
    // `score` on the same data reproduces these scores bit for bit.
    let model_json = serde_json::to_string_pretty(&model)? + "\n";
    let model = ModelFile::from_json(&model_json, "model.json")?;

    progress.stage("scoring every user");
    let scores = score(t, sessions, &model, &model.stages, &model.interventions)?;

    // Explanations.
    let verb = opts.label.verb();
    let features_explained: Vec<FeatureExplanation> = model
        .features
        .iter()
        .map(|f| explain::explain(&f.definition, f.mean, f.sd, f.coefficient, verb))
        .collect();
    let pos_spans: Vec<(usize, usize)> = spans
        .iter()
        .zip(&y)
        .filter(|&(_, &b)| b)
        .map(|(s, _)| *s)
        .collect();
    let neg_spans: Vec<(usize, usize)> = spans
        .iter()
        .zip(&y)
        .filter(|&(_, &b)| !b)
        .map(|(s, _)| *s)
        .collect();
    let names: Vec<String> = t.event_names.iter().map(str::to_string).collect();
    let correlations = explain::correlations(
        &names,
        &features::users_per_event(t, &pos_spans),
        &features::users_per_event(t, &neg_spans),
        pos_spans.len() as u64,
        neg_spans.len() as u64,
    );
    let (np, nn) = (pos_spans.len() as f64, neg_spans.len() as f64);

    let report = PropensityReport {
        kind: if opts.label.is_churn() {
            "churn"
        } else {
            "conversion"
        }
        .into(),
        label: opts.label.describe(),
        label_definition: opts.label.clone(),
        population: Population {
            users: all.len() as u64,
            labeled: y.len() as u64,
            positives: positives as u64,
            base_rate: round6(positives as f64 / y.len() as f64),
            converted_before_cutoff: converted_before,
            no_cutoff,
            censored,
            train: train_rows.len() as u64,
            holdout: hold_rows.len() as u64,
        },
        features: features_explained,
        constant_features,
        redundant_features: redundant,
        regularization: Regularization {
            l2: alpha,
            sklearn_c: round6(1.0 / alpha),
            chosen_by: if opts.l2.is_some() {
                "--l2"
            } else {
                "5-fold CV (lowest mean log loss)"
            }
            .into(),
            grid,
            class_weight: opts.class_weight,
            minority_repeat: repeat as u64,
        },
        threshold: ThresholdChoice {
            value: round6(threshold),
            chosen_by: threshold_by.into(),
        },
        cv: CvReport {
            folds: cv_folds,
            mean: cv_mean,
            sd: cv_sd,
        },
        calibration: metrics::calibration(&p_hold, &y_hold),
        lift: metrics::lift(&p_hold, &y_hold),
        holdout,
        base_rate_model,
        beats_base_rate: beats,
        verdict,
        correlations,
        correlations_skewed: np > 10.0 * nn || nn > 10.0 * np,
        scoring: scores.summary.clone(),
        training_data: fp,
    };

    // The standardized matrix, with the saved model's scaler.
    let mut values = Array2::<f64>::zeros((y.len(), model.features.len()));
    for (i, mut out) in values.rows_mut().into_iter().enumerate() {
        for ((o, &c), f) in out.iter_mut().zip(&cols).zip(&model.features) {
            *o = model::standardize(x[[i, c]], f.mean, f.sd);
        }
    }
    let matrix = FeatureMatrix {
        names: model.features.iter().map(|f| f.name.clone()).collect(),
        users: labeled.iter().map(|c| t.user[c.range.start]).collect(),
        holdout: is_holdout,
        labels: y,
        values,
    };
    Ok(Trained {
        model_json,
        model,
        report,
        scores,
        matrix,
    })
}
