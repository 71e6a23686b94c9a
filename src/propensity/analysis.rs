//! The propensity (or churn) model as an analysis of the report (see
//! [`crate::analysis`]).

use anyhow::Result;
use serde_json::{Value, json};

use super::config::PropensitySection;
use super::output::ScoreRows;
use super::report::FINE_BINS;
use super::{PropensityReport, TrainOptions, Trained};
use crate::analysis::{Alias, Analysis, DiffPart, UnitTable};
use crate::config::JourneyConfig;
use crate::diff::{Change, f, psi, quantile_psi};
use crate::doc::{Block, Document, Line, line};
use crate::pipeline::Context;
use crate::report::Report;
use crate::stats::round6;

pub struct Propensity;

impl Analysis for Propensity {
    const KEY: &'static str = "propensity";
    const TITLE: &'static str = "propensity";
    const COST: u32 = 10;
    type Section = PropensityReport;
    type Product = Trained;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.propensity.is_some()
    }

    fn run(ctx: &Context) -> Result<Trained> {
        let opts = TrainOptions::new(ctx.config, &PropensitySection::default())?
            .with_consent(ctx.config, &PropensitySection::default())?;
        super::train(
            ctx.table(),
            ctx.sessions(),
            ctx.files(),
            &opts,
            ctx.progress,
        )
    }

    fn section(p: &Trained) -> PropensityReport {
        p.report.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<PropensityReport> {
        &mut r.propensity
    }
    fn get(r: &Report) -> Option<&PropensityReport> {
        r.propensity.as_ref()
    }

    fn headline(p: &PropensityReport) -> Line {
        line()
            .text(format!(
                "propensity: hold-out AUC {:.3} ({})",
                p.holdout.auc, p.verdict
            ))
            .done()
    }

    fn document(p: &PropensityReport) -> Document {
        crate::report::sections::propensity::document(p)
    }

    fn tables<'a>(p: &'a Trained, ctx: &'a Context) -> Vec<UnitTable<'a>> {
        vec![UnitTable {
            file: "scores.csv",
            rows: Box::new(ScoreRows {
                table: ctx.table(),
                scores: &p.scores,
            }),
        }]
    }

    fn aliases() -> &'static [Alias] {
        &[Alias {
            pattern: "model.*",
            target: "propensity.holdout.*",
        }]
    }

    fn diff(old: &Value, new: &Value) -> Option<DiffPart> {
        let auc = match (
            f(old, "/propensity/holdout/auc"),
            f(new, "/propensity/holdout/auc"),
        ) {
            (Some(a), Some(b)) => Some(Change::new(a, b)),
            _ => None,
        };
        let hist = |v: &Value| -> Option<Vec<f64>> {
            v.pointer("/propensity/scoring/score_histogram")?
                .as_array()?
                .iter()
                .map(|c| c["users"].as_f64())
                .collect()
        };
        let fine = |v: &Value| -> Option<Vec<(u32, f64)>> {
            let bins = v
                .pointer("/propensity/scoring/score_bins_fine")?
                .as_array()?;
            bins.iter()
                .map(|b| Some((b["bin"].as_u64()? as u32, b["users"].as_f64()?)))
                .collect::<Option<Vec<_>>>()
                .filter(|b| !b.is_empty())
        };
        let mut notes = Vec::new();
        let score_psi = match (fine(old), fine(new)) {
            (Some(a), Some(b)) => match quantile_psi(&a, &b, FINE_BINS) {
                Ok(p) => Some(round6(p)),
                Err(why) => {
                    notes.push(format!("score PSI undefined: {why}"));
                    None
                }
            },
            // Reports from before schema 1.3 carry only the ten equal bins.
            _ => match (hist(old), hist(new)) {
                (Some(a), Some(b)) if a.len() == b.len() && !a.is_empty() => {
                    notes.push(
                        "score PSI over ten equal-width bins (an earlier report has no finer bins)"
                            .into(),
                    );
                    Some(round6(psi(&a, &b)))
                }
                (Some(_), Some(_)) => {
                    notes.push("score histograms have different bins; PSI not computed".into());
                    None
                }
                _ => None,
            },
        };
        let summaries = |v: &Value| -> Vec<crate::drift::summary::ValueSummary> {
            v.pointer("/propensity/feature_summaries")
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .unwrap_or_default()
        };
        let features = crate::drift::summary::compare(
            &summaries(old),
            &summaries(new),
            crate::drift::PsiBins::Deciles,
        );
        if auc.is_none() && score_psi.is_none() && notes.is_empty() && features.is_empty() {
            return None;
        }
        let mut document = Vec::new();
        if let Some(a) = &auc {
            document.push(Block::title(2, "Model"));
            document.push(Block::text(format!(
                "Hold-out AUC {:.4} → {:.4} ({:+.4}).",
                a.old, a.new, a.change
            )));
        }
        if let Some(p) = score_psi {
            let verdict = if p < 0.1 {
                "stable"
            } else if p < 0.25 {
                "moderate shift"
            } else {
                "major shift"
            };
            document.push(Block::text(format!(
                "Score distribution PSI: {p:.4} ({verdict}; < 0.1 stable, 0.1–0.25 moderate, > 0.25 major)."
            )));
        }
        if !features.is_empty() {
            let drifted = features.iter().filter(|c| c.drifted).count();
            document.push(Block::text(format!(
                "Feature drift (labeled users' features and hold-out scores, from the reports' summaries; Evidently's default tests): {drifted} of {} columns drifted.",
                features.len()
            )));
            document.push(Block::Table(crate::drift::document::columns_table(
                &features,
            )));
        }
        Some(DiffPart {
            section: "propensity",
            figures: json!({ "model_auc": auc, "score_psi": score_psi, "feature_drift": features }),
            document,
            drift: score_psi,
            notes,
        })
    }
}
