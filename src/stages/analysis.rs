//! Journey stages as an analysis of the report (see [`crate::analysis`]).

use anyhow::Result;

use super::StagesReport;
use crate::analysis::{Analysis, Partial};
use crate::config::JourneyConfig;
use crate::doc::fmt::pct;
use crate::doc::{Document, Line, line};
use crate::pipeline::Context;
use crate::report::Report;

pub struct Stages;

impl Analysis for Stages {
    const KEY: &'static str = "stages";
    const TITLE: &'static str = "stages";
    const COST: u32 = 2;
    type Section = StagesReport;
    type Product = StagesReport;

    fn configured(cfg: &JourneyConfig) -> bool {
        !cfg.stages.is_empty()
    }
    fn run(ctx: &Context) -> Result<StagesReport> {
        Ok(super::analyze_with(
            ctx.table(),
            &ctx.config.stages,
            ctx.stage_map()?,
        )?)
    }
    const PARTITIONED: bool = true;
    fn partial(ctx: &Context) -> Result<Partial> {
        Ok(Box::new(super::partial(
            ctx.table(),
            &ctx.config.stages,
            ctx.stage_map()?,
        )?))
    }
    fn merge(parts: Vec<Partial>, ctx: &Context) -> Result<StagesReport> {
        let mut parts = crate::analysis::parts::<super::StagesPart>(parts)?.into_iter();
        let mut all = parts
            .next()
            .ok_or_else(|| anyhow::anyhow!("internal: no partition"))?;
        for p in parts {
            all.merge(p);
        }
        Ok(super::finish(ctx.table(), &ctx.config.stages, all)?)
    }
    fn section(p: &StagesReport) -> StagesReport {
        p.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<StagesReport> {
        &mut r.stages
    }
    fn get(r: &Report) -> Option<&StagesReport> {
        r.stages.as_ref()
    }
    fn headline(s: &StagesReport) -> Line {
        let mut l = line().text("stages: ");
        for (i, st) in s.stages.iter().enumerate() {
            if i > 0 {
                l = l.text(", ");
            }
            l = l
                .data(&st.name)
                .text(format!(" {}", pct(st.share_of_users)));
        }
        l.done()
    }
    fn document(s: &StagesReport) -> Document {
        crate::report::sections::stages::document(s)
    }
}
