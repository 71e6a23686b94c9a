//! The model card: what a reader deciding whether to trust a model needs on
//! one page (training data and period, label, features, metrics with
//! intervals, calibration, fairness, drift status, limits, intended use).
//! The report shows it as a subsection; `propensity train` writes it as
//! `<model>-card.md` next to model.json.

use super::PropensityReport;
use crate::doc::fmt::thousands;
use crate::doc::{Align, Block, Cell, Document, Table, line};
use crate::fairness::analysis::FairnessReport;

/// `dir/model.json` → `dir/model-card.md`.
pub fn card_path(model: &std::path::Path) -> std::path::PathBuf {
    let stem = model
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().to_string());
    model.with_file_name(format!("{stem}-card.md"))
}

/// Expected calibration error from the report's ten bins.
fn ece(p: &PropensityReport) -> Option<f64> {
    let n: u64 = p.calibration.iter().map(|b| b.users).sum();
    (n > 0).then(|| {
        p.calibration
            .iter()
            .filter_map(|b| {
                Some(b.users as f64 / n as f64 * (b.mean_predicted? - b.observed_rate?).abs())
            })
            .sum()
    })
}

pub fn card(p: &PropensityReport, fairness: Option<&FairnessReport>, level: u8) -> Document {
    let mut doc = vec![Block::title(level, "Model card")];
    let td = &p.training_data;
    let period = td
        .period
        .as_ref()
        .map_or("not recorded".to_string(), |[a, b]| format!("{a} to {b}"));
    let files: Vec<String> = td.files.iter().map(|f| f.path.clone()).collect();
    doc.push(Block::Bullets(vec![
        line()
            .strong("Intended use:")
            .text(format!(
                " ranking users by their chance to {} so that interventions go to those who need them; a decision aid for the journey team, not an automated decision about individuals with legal or similarly significant effects.",
                if p.kind == "churn" { "churn" } else { "convert" }
            ))
            .done(),
        line()
            .strong("Training data:")
            .text(format!(
                " {} events of {} users, {period}; content hash {}; files: ",
                thousands(td.events),
                thousands(td.users),
                td.content_hash
            ))
            .names(files.iter().map(String::as_str), ", ")
            .done(),
        line()
            .strong("Label:")
            .text(" ")
            .spans(crate::doc::rich::parse(&p.label))
            .text(format!(
                " ({} labeled users, base rate {:.3}; train {} / hold-out {}).",
                thousands(p.population.labeled),
                p.population.base_rate,
                thousands(p.population.train),
                thousands(p.population.holdout)
            ))
            .done(),
        line()
            .strong("Features:")
            .text(format!(" {}: ", p.features.len()))
            .names(p.features.iter().map(|f| f.name.as_str()), ", ")
            .done(),
        line()
            .strong("Metrics (hold-out):")
            .text(format!(
                " AUC {:.3}{}, log loss {:.4}, Brier {:.4}; base-rate model AUC {:.3}, log loss {:.4}. {}",
                p.holdout.auc,
                p.holdout_auc_ci
                    .map_or(String::new(), |[a, b]| format!(" [95% CI {a:.3}, {b:.3}]")),
                p.holdout.log_loss,
                p.holdout.brier,
                p.base_rate_model.auc,
                p.base_rate_model.log_loss,
                p.verdict
            ))
            .done(),
        line()
            .strong("Calibration:")
            .text(match ece(p) {
                Some(e) => format!(" expected calibration error {e:.3} over ten score bins (table in the propensity section)."),
                None => " no hold-out users.".into(),
            })
            .done(),
        line()
            .strong("Drift status:")
            .text(" not measured here; run `journeymap drift TRAINING_EXPORT NEW_EXPORT --model model.json` before trusting scores on newer data (docs/monitoring.md).")
            .done(),
    ]));
    match fairness {
        Some(f) => {
            let mut t = Table::new(&[
                ("column", Align::Left),
                ("DP difference", Align::Right),
                ("EO difference", Align::Right),
                ("lowest-AUC group", Align::Left),
                ("small groups", Align::Right),
            ]);
            for b in &f.by {
                let worst = b
                    .fairness
                    .groups
                    .iter()
                    .filter(|g| g.auc.is_some())
                    .min_by(|a, b| a.auc.unwrap_or(1.0).total_cmp(&b.auc.unwrap_or(1.0)));
                t.row(vec![
                    Cell::name(&b.column),
                    Cell::fixed(b.fairness.demographic_parity.difference, 3),
                    Cell::opt(b.fairness.equalized_odds.map(|e| Cell::fixed(e.difference, 3))),
                    Cell::opt(worst.map(|g| {
                        Cell::spans(
                            line()
                                .data(&g.group)
                                .text(format!(" ({:.3})", g.auc.unwrap_or(0.0)))
                                .done(),
                        )
                    })),
                    Cell::count(b.fairness.groups.iter().filter(|g| g.small).count() as u64),
                ]);
            }
            doc.push(Block::para(line().strong("Fairness (hold-out, by group):").done()));
            doc.push(Block::Table(t));
        }
        None => doc.push(Block::text(
            "Fairness: in a report, the Fairness section (when [propensity] properties or [fairness] groups name sensitive columns); not assessed otherwise.",
        )),
    }
    let mut limits = vec![
        line().text("Correlation, not cause: a feature's weight says how scores move with it, not what an intervention on it would do (measure that with an experiment).").done(),
        line().text("Trained on the period above: behaviour, channels or the product may have changed since; scores of users unlike the training users (new channels, new events) are extrapolations.").done(),
        line().text(format!("Explanations are exact additive log-odds contributions of a linear model with independent features (SHAP's interventional attribution); with correlated features ({} left out as near duplicates) credit is shared arbitrarily.", p.redundant_features.len())).done(),
    ];
    if p.population.censored > 0 {
        limits.push(line().text(format!("{} users were left out because their label window ran past the end of the data.", p.population.censored)).done());
    }
    if !p.beats_base_rate {
        limits.push(
            line()
                .strong("The model does not beat the base rate: do not act on its scores.")
                .done(),
        );
    }
    doc.push(Block::para(line().strong("Known limits:").done()));
    doc.push(Block::Bullets(limits));
    doc
}
