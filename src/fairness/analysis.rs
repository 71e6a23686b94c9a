//! Fairness of the propensity model's decisions as an analysis of the
//! report (see [`crate::analysis`]): on the hold-out users at training
//! time, a user predicted positive when their score is at or above the
//! model's threshold, grouped by each sensitive column (the user's first
//! value of it; `(none)` without one); and the intervention allocation (the
//! share of scored users given an action) by the same groups.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Fairness, SMALL_GROUP, assess, bootstrap_columns};
use crate::analysis::{Alias, Analysis};
use crate::config::JourneyConfig;
use crate::doc::{Align, Block, Cell, Document, Line, Table, line};
use crate::ingest::EventTable;
use crate::pipeline::Context;
use crate::propensity::analysis::Propensity;
use crate::report::Report;
use crate::stats::round6;

/// Bootstrap replicates when `[fairness] bootstrap` is not set.
pub const DEFAULT_BOOTSTRAP: usize = 200;

/// `[fairness]` in journey.toml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FairnessSection {
    /// Sensitive columns to group users by [default: [propensity] properties].
    #[serde(default)]
    pub groups: Vec<String>,
    /// Bootstrap replicates for the intervals (0: none) [default: 200, as fairlearn's examples use a few hundred; 1000 costs ~0.5 s of CPU on 50,000 hold-out users].
    pub bootstrap: Option<usize>,
    /// Seed of the bootstrap [default: 0].
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FairnessReport {
    /// Which users and decisions were assessed.
    pub data: String,
    pub users: u64,
    /// A user is selected when their score is at least this.
    pub threshold: f64,
    pub bootstrap: u64,
    pub seed: u64,
    /// Groups smaller than this are flagged `small` (kept).
    pub min_group_size: u64,
    /// The largest over the group columns (what checks gate).
    pub demographic_parity_difference: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
    pub by: Vec<ByColumn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ByColumn {
    pub column: String,
    #[serde(flatten)]
    pub fairness: Fairness,
    /// 95 % bootstrap interval of the demographic-parity difference.
    pub demographic_parity_difference_ci: Option<[f64; 2]>,
    pub equalized_odds_difference_ci: Option<[f64; 2]>,
    /// The intervention allocation over every scored user.
    pub actions: Vec<ActionShare>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActionShare {
    pub group: String,
    pub scored_users: u64,
    pub with_action: u64,
    pub share: f64,
    /// Scored users of the group given each action.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_action: std::collections::BTreeMap<String, u64>,
    /// The experiment's measured effects in the group, where
    /// `[experiment] breakdown` is this column (exploratory, uncorrected).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measured: Vec<crate::experiment::breakdown::SegmentEffect>,
}

/// Each user's first value of `column` (by user code), `(none)` without one.
fn user_groups(t: &EventTable, column: &str) -> Option<Vec<String>> {
    let p = t.prop(column)?;
    let mut first = vec![0u32; t.user_names.len()];
    for (i, &u) in t.user.iter().enumerate() {
        if first[u as usize] == 0 {
            first[u as usize] = p.codes[i];
        }
    }
    Some(
        first
            .into_iter()
            .map(|c| {
                if c == 0 {
                    super::NONE.to_string()
                } else {
                    p.values.get(c).to_string()
                }
            })
            .collect(),
    )
}

fn round_fairness(f: &mut Fairness) {
    let opt = |v: &mut Option<f64>| *v = v.map(round6);
    for g in f.groups.iter_mut().chain(std::iter::once(&mut f.overall)) {
        g.base_rate = round6(g.base_rate);
        g.selection_rate = round6(g.selection_rate);
        opt(&mut g.tpr);
        opt(&mut g.fpr);
        opt(&mut g.precision);
        opt(&mut g.auc);
        opt(&mut g.calibration_error);
    }
    for d in [
        Some(&mut f.demographic_parity),
        Some(&mut f.demographic_parity_to_overall),
        f.equalized_odds.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        d.difference = round6(d.difference);
        d.ratio = round6(d.ratio);
    }
}

pub struct FairnessAnalysis;

impl Analysis for FairnessAnalysis {
    const KEY: &'static str = "fairness";
    const TITLE: &'static str = "fairness";
    const COST: u32 = 1;
    type Section = FairnessReport;
    type Product = FairnessReport;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.fairness.is_some()
            || cfg
                .propensity
                .as_ref()
                .is_some_and(|p| !p.properties.is_empty())
    }

    fn run(ctx: &Context) -> Result<FairnessReport> {
        use crate::experiment::analysis::Experiment;
        let trained = ctx.product::<Propensity>()?;
        let sec = ctx.config.fairness.clone().unwrap_or_default();
        let mut f = assess_trained(ctx.table(), trained, &sec, &mut |w| ctx.warn(w));
        // The business impact per group: where the experiment broke its
        // effects down by a fairness column, each group shows its own.
        if Experiment::configured(ctx.config)
            && let Ok(e) = ctx.product::<Experiment>()
        {
            for b in e.report.breakdown.iter().chain(&e.impact) {
                attach_effects(&mut f, b);
            }
        }
        Ok(f)
    }

    fn section(p: &FairnessReport) -> FairnessReport {
        p.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<FairnessReport> {
        &mut r.fairness
    }
    fn get(r: &Report) -> Option<&FairnessReport> {
        r.fairness.as_ref()
    }

    fn headline(f: &FairnessReport) -> Line {
        headline(f)
    }

    fn document(f: &FairnessReport) -> Document {
        document(f)
    }

    fn aliases() -> &'static [Alias] {
        &[]
    }
}

/// The columns fairness groups users by: `[fairness] groups`, else
/// `[propensity] properties` (what the trained model records).
pub fn group_columns(cfg: &JourneyConfig) -> Vec<String> {
    match &cfg.fairness {
        Some(f) if !f.groups.is_empty() => f.groups.clone(),
        _ => cfg
            .propensity
            .as_ref()
            .map(|p| p.properties.clone())
            .unwrap_or_default(),
    }
}

/// Gives each group of the column the experiment broke down by its
/// measured effects.
pub fn attach_effects(f: &mut FairnessReport, b: &crate::experiment::breakdown::Breakdown) {
    for col in f.by.iter_mut().filter(|c| c.column == b.property) {
        for a in &mut col.actions {
            a.measured = b
                .effects
                .iter()
                .filter(|e| e.value == a.group)
                .cloned()
                .collect();
        }
    }
}

/// The fairness of a trained model's hold-out decisions (`warn` hears of
/// group columns the data lacks).
pub fn assess_trained(
    t: &EventTable,
    trained: &crate::propensity::Trained,
    sec: &FairnessSection,
    warn: &mut dyn FnMut(String),
) -> FairnessReport {
    let columns = if sec.groups.is_empty() {
        trained.model.properties.clone()
    } else {
        sec.groups.clone()
    };
    let m = &trained.matrix;
    let lin = trained.model.linear();
    let rows: Vec<usize> = (0..m.users.len()).filter(|&i| m.holdout[i]).collect();
    let users: Vec<u32> = rows.iter().map(|&i| m.users[i]).collect();
    let p: Vec<f64> = rows
        .iter()
        .map(|&i| lin.predict_row(m.values.row(i).as_slice().expect("row-major")))
        .collect();
    let y: Vec<bool> = rows.iter().map(|&i| m.labels[i]).collect();
    let (mut f, present) = assess_users(
        t,
        &users,
        &p,
        &y,
        trained.model.threshold,
        &columns,
        sec,
        "its hold-out users at training",
        warn,
    );
    for (b, (_, groups)) in f.by.iter_mut().zip(&present) {
        type Tally = (u64, u64, std::collections::BTreeMap<String, u64>);
        let mut actions: std::collections::BTreeMap<&str, Tally> = Default::default();
        for r in trained.scores.rows.iter().filter(|r| r.status == "scored") {
            let e = actions.entry(groups[r.user as usize].as_str()).or_default();
            e.0 += 1;
            e.1 += u64::from(r.action.is_some());
            if let Some(name) = r.action.and_then(|a| trained.scores.actions.get(a)) {
                *e.2.entry(name.clone()).or_default() += 1;
            }
        }
        b.actions = actions
            .into_iter()
            .map(|(g, (n, a, by_action))| ActionShare {
                group: g.to_string(),
                scored_users: n,
                with_action: a,
                share: round6(a as f64 / n as f64),
                by_action,
                measured: Vec::new(),
            })
            .collect();
    }
    f
}

/// The fairness of the decisions `score ≥ threshold` over `users` (table
/// user codes) with known outcomes `y`: the training hold-out, or a later
/// export's users whose label window has closed (`journeymap drift
/// --model`). Returns the report (no action allocation) and each assessed
/// column's group per user code.
#[allow(clippy::too_many_arguments)]
pub fn assess_users(
    t: &EventTable,
    users: &[u32],
    p: &[f64],
    y: &[bool],
    threshold: f64,
    columns: &[String],
    sec: &FairnessSection,
    data: &str,
    warn: &mut dyn FnMut(String),
) -> (FairnessReport, Vec<(String, Vec<String>)>) {
    let n_boot = sec.bootstrap.unwrap_or(DEFAULT_BOOTSTRAP);
    let seed = sec.seed.unwrap_or(0);
    let pred: Vec<bool> = p.iter().map(|&s| s >= threshold).collect();
    let mut present: Vec<(String, Vec<String>)> = Vec::new();
    for col in columns {
        match user_groups(t, col) {
            Some(g) => present.push((col.clone(), g)),
            None => warn(format!(
                "fairness: column {} is not in the data; not assessed",
                crate::doc::rich::code(col)
            )),
        }
    }
    let per_row: Vec<Vec<&str>> = present
        .iter()
        .map(|(_, groups)| users.iter().map(|&u| groups[u as usize].as_str()).collect())
        .collect();
    let intervals = if n_boot > 0 && !y.is_empty() {
        bootstrap_columns(y, &pred, &per_row, n_boot, seed)
    } else {
        Vec::new()
    };
    let mut by = Vec::new();
    for (k, ((col, _), g)) in present.iter().zip(&per_row).enumerate() {
        let mut fairness = assess(y, &pred, Some(p), g);
        round_fairness(&mut fairness);
        let (dp_ci, eo_ci) = match intervals.get(k) {
            Some((d, e)) => (Some(d.map(round6)), e.map(|e| e.map(round6))),
            None => (None, None),
        };
        by.push(ByColumn {
            column: col.clone(),
            fairness,
            demographic_parity_difference_ci: dp_ci,
            equalized_odds_difference_ci: eo_ci,
            actions: Vec::new(),
        });
    }
    let worst = |f: fn(&ByColumn) -> Option<f64>| by.iter().filter_map(f).reduce(f64::max);
    let report = FairnessReport {
        data: data.into(),
        users: users.len() as u64,
        threshold: round6(threshold),
        bootstrap: n_boot as u64,
        seed,
        min_group_size: SMALL_GROUP,
        demographic_parity_difference: worst(|b| Some(b.fairness.demographic_parity.difference)),
        equalized_odds_difference: worst(|b| b.fairness.equalized_odds.map(|e| e.difference)),
        by,
    };
    (report, present)
}

fn headline(f: &FairnessReport) -> Line {
    let fmt = |v: Option<f64>| v.map_or("undefined".to_string(), |v| format!("{v:.3}"));
    line()
        .text(format!(
            "fairness: demographic-parity difference {}, equalized-odds difference {} (worst over {} column{})",
            fmt(f.demographic_parity_difference),
            fmt(f.equalized_odds_difference),
            f.by.len(),
            if f.by.len() == 1 { "" } else { "s" }
        ))
        .done()
}

fn ci(v: Option<[f64; 2]>) -> String {
    v.map_or(String::new(), |[a, b]| format!(" [95% CI {a:.3}, {b:.3}]"))
}

/// The fairness section's document (also the model card's fairness part).
pub fn document(f: &FairnessReport) -> Document {
    let mut doc = vec![Block::title(2, "Fairness")];
    doc.push(Block::text(format!(
        "Decisions of the propensity model on {}: {} users (selected: score at least {:.3}), by group; fairlearn's definitions. Groups under {} users are marked small and kept.",
        f.data, f.users, f.threshold, f.min_group_size
    )));
    let opt = |v: Option<f64>| Cell::opt(v.map(|x| Cell::fixed(x, 3)));
    for b in &f.by {
        doc.push(Block::heading(3, line().text("By ").name(&b.column).done()));
        let fa = &b.fairness;
        let mut lines = vec![
            line()
                .text(format!(
                    "Demographic parity: difference {:.3}{}, ratio {:.3} (to overall: {:.3}).",
                    fa.demographic_parity.difference,
                    ci(b.demographic_parity_difference_ci),
                    fa.demographic_parity.ratio,
                    fa.demographic_parity_to_overall.difference
                ))
                .done(),
        ];
        lines.push(match fa.equalized_odds {
            Some(e) => line()
                .text(format!(
                    "Equalized odds: difference {:.3}{}, ratio {:.3}.",
                    e.difference,
                    ci(b.equalized_odds_difference_ci),
                    e.ratio
                ))
                .done(),
            None => line()
                .text("Equalized odds: undefined (a group has no positive or no negative user).")
                .done(),
        });
        doc.push(Block::Lines(lines));
        let mut t = Table::new(&[
            ("group", Align::Left),
            ("users", Align::Right),
            ("base rate", Align::Right),
            ("selected", Align::Right),
            ("TPR", Align::Right),
            ("FPR", Align::Right),
            ("precision", Align::Right),
            ("AUC", Align::Right),
            ("calibration error", Align::Right),
            ("given an action", Align::Right),
        ]);
        for g in std::iter::once(&fa.overall).chain(&fa.groups) {
            let act = b.actions.iter().find(|a| a.group == g.group);
            let name = if g.small {
                line().data(&g.group).text(" (small)").done()
            } else {
                line().data(&g.group).done()
            };
            t.row(vec![
                Cell::spans(name),
                Cell::count(g.n),
                Cell::pct(g.base_rate),
                Cell::pct(g.selection_rate),
                opt(g.tpr),
                opt(g.fpr),
                opt(g.precision),
                opt(g.auc),
                opt(g.calibration_error),
                Cell::opt(act.map(|a| Cell::pct(a.share))),
            ]);
        }
        doc.push(Block::Table(t));
        if b.actions
            .iter()
            .any(|a| !a.by_action.is_empty() || !a.measured.is_empty())
        {
            doc.push(Block::heading(
                4,
                line().text("Business impact by ").name(&b.column).done(),
            ));
            let mut t = Table::new(&[
                ("group", Align::Left),
                ("scored users", Align::Right),
                ("actions assigned", Align::Left),
                (
                    "measured relative lift [95% CI] (experiment breakdown, exploratory)",
                    Align::Left,
                ),
            ]);
            for a in &b.actions {
                let mut acts = line();
                for (i, (name, n)) in a.by_action.iter().enumerate() {
                    if i > 0 {
                        acts = acts.text(", ");
                    }
                    acts = acts.name(name).text(format!(" {n}"));
                }
                let mut lift = line();
                for (i, e) in a.measured.iter().enumerate() {
                    if i > 0 {
                        lift = lift.text("; ");
                    }
                    lift = lift
                        .name(&e.metric)
                        .text(" ")
                        .data(&e.treatment)
                        .text(" vs ")
                        .data(&e.baseline);
                    // Relative lifts, as the experiment section gives them.
                    let rel = |x: f64| format!("{:+.1}%", x * 100.0);
                    lift = match (e.lift, e.ci_low, e.ci_high) {
                        (Some(l), Some(lo), Some(hi)) => {
                            lift.text(format!(" {} [{}, {}]", rel(l), rel(lo), rel(hi)))
                        }
                        (Some(l), _, _) => lift.text(format!(" {}", rel(l))),
                        _ => lift.text(" not estimated"),
                    };
                }
                t.row(vec![
                    Cell::spans(line().data(&a.group).done()),
                    Cell::count(a.scored_users),
                    Cell::spans(acts.done()),
                    Cell::spans(lift.done()),
                ]);
            }
            doc.push(Block::Table(t));
        }
    }
    doc
}
