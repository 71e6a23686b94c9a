//! The experiment as an analysis of the report (see [`crate::analysis`]).

use anyhow::Result;
use serde_json::{Value, json};

use super::analyze::{Analyzed, Inputs, analyze};
use super::options::Options;
use super::report::ExperimentReport;
use crate::analysis::{Alias, Analysis, DiffPart};
use crate::config::JourneyConfig;
use crate::diff::f;
use crate::doc::{Block, Document, Line, line};
use crate::pipeline::Context;
use crate::report::Report;

pub struct Experiment;

impl Analysis for Experiment {
    const KEY: &'static str = "experiment";
    const TITLE: &'static str = "experiment";
    const COST: u32 = 2;
    type Section = ExperimentReport;
    type Product = Analyzed;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.experiment.is_some()
    }

    fn run(ctx: &Context) -> Result<Analyzed> {
        let section = ctx.config.experiment.clone().unwrap_or_default();
        let mut opts = Options::resolve(ctx.config, &section)?;
        // The fairness groups' business impact: the effects per group.
        if crate::fairness::analysis::FairnessAnalysis::configured(ctx.config) {
            opts.impact_by = crate::fairness::analysis::group_columns(ctx.config);
        }
        let mut warnings = Vec::new();
        let inputs = Inputs {
            table: ctx.table(),
            ranges: ctx.user_ranges(),
            sessions: ctx.sessions(),
            columns: &ctx.data.ingested.property_names,
        };
        let r = analyze(&inputs, &opts, &mut |w| warnings.push(w))?;
        for w in warnings {
            ctx.warn(w);
        }
        Ok(r)
    }

    fn section(p: &Analyzed) -> ExperimentReport {
        p.report.clone()
    }

    fn tables<'a>(p: &'a Analyzed, ctx: &'a Context) -> Vec<crate::analysis::UnitTable<'a>> {
        if p.uplift_scores.is_empty() {
            return Vec::new();
        }
        vec![crate::analysis::UnitTable {
            file: "uplift.csv",
            rows: Box::new(super::output::UpliftRows {
                table: ctx.table(),
                scores: &p.uplift_scores,
            }),
        }]
    }
    fn slot(r: &mut Report) -> &mut Option<ExperimentReport> {
        &mut r.experiment
    }
    fn get(r: &Report) -> Option<&ExperimentReport> {
        r.experiment.as_ref()
    }

    fn headline(s: &ExperimentReport) -> Line {
        line()
            .text(format!(
                "experiment: {} users in {} arms, SRM p = {:.3}: ",
                s.assignment.analyzed,
                s.arms.len(),
                s.srm.p
            ))
            .data(&s.verdict)
            .done()
    }

    fn document(s: &ExperimentReport) -> Document {
        crate::report::sections::experiment::document(s)
    }

    /// `experiment.<metric>.<arm>.lift_ci_low` reads the figures table;
    /// `experiment.srm.p` and other fields fall through to their own path.
    fn aliases() -> &'static [Alias] {
        &[Alias {
            pattern: "experiment.*",
            target: "experiment.figures.*",
        }]
    }

    fn diff(old: &Value, new: &Value) -> Option<DiffPart> {
        let (o, n) = (old.pointer("/experiment")?, new.pointer("/experiment")?);
        let mut rows = Vec::new();
        let mut doc = vec![Block::title(2, "Experiment")];
        let figs = |v: &Value| v.pointer("/figures").and_then(Value::as_object).cloned();
        if let (Some(fo), Some(fnew)) = (figs(o), figs(n)) {
            for (metric, arms) in &fnew {
                let Some(arms) = arms.as_object() else {
                    continue;
                };
                for (arm, fig) in arms {
                    let before = fo
                        .get(metric)
                        .and_then(|m| m.get(arm))
                        .and_then(|x| x.get("lift"))
                        .and_then(Value::as_f64);
                    let after = fig.get("lift").and_then(Value::as_f64);
                    rows.push(json!({"metric": metric, "arm": arm, "lift_before": before, "lift_after": after,
                        "significant_after": fig.get("significant")}));
                    doc.push(Block::para(line().name(metric).text(" / ").name(arm).text(
                        format!(
                            ": lift {} → {}",
                            before.map_or("–".into(), |x| format!("{:+.1} %", x * 100.0)),
                            after.map_or("–".into(), |x| format!("{:+.1} %", x * 100.0))
                        ),
                    )));
                }
            }
        }
        let srm =
            json!({"before": f(old, "/experiment/srm/p"), "after": f(new, "/experiment/srm/p")});
        Some(DiffPart {
            section: "experiment",
            figures: json!({"lifts": rows, "srm_p": srm}),
            document: doc,
            drift: None,
            notes: Vec::new(),
        })
    }
}
