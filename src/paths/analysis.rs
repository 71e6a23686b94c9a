//! The Markov journey map as an analysis of the report (see
//! [`crate::analysis`]).

use anyhow::Result;

use super::{MarkovReport, PathsOptions};
use crate::analysis::{Alias, Analysis, Partial};
use crate::config::JourneyConfig;
use crate::doc::fmt::pct;
use crate::doc::{Document, Line, line};
use crate::pipeline::Context;
use crate::report::Report;

pub struct Markov;

impl Analysis for Markov {
    const KEY: &'static str = "markov";
    const TITLE: &'static str = "Markov map";
    const COST: u32 = 2;
    type Section = MarkovReport;
    type Product = MarkovReport;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.conversion.is_some()
    }
    fn run(ctx: &Context) -> Result<MarkovReport> {
        let opts = PathsOptions::from_config(ctx.config).expect("configured");
        Ok(super::analyze(ctx.table(), ctx.sessions(), &opts)?)
    }
    const PARTITIONED: bool = true;
    fn partitioned_for(cfg: &JourneyConfig) -> bool {
        PathsOptions::from_config(cfg).is_some_and(|o| super::partitioned(&o))
    }
    fn partial(ctx: &Context) -> Result<Partial> {
        let opts = PathsOptions::from_config(ctx.config).expect("configured");
        Ok(Box::new(super::partial(
            ctx.table(),
            ctx.sessions(),
            &opts,
        )?))
    }
    fn merge(parts: Vec<Partial>, ctx: &Context) -> Result<MarkovReport> {
        let opts = PathsOptions::from_config(ctx.config).expect("configured");
        let mut parts = crate::analysis::parts::<super::MarkovPart>(parts)?.into_iter();
        let mut all = parts
            .next()
            .ok_or_else(|| anyhow::anyhow!("internal: no partition"))?;
        for p in parts {
            all.merge(p);
        }
        Ok(super::finish(ctx.table(), &opts, all)?)
    }

    fn section(p: &MarkovReport) -> MarkovReport {
        p.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<MarkovReport> {
        &mut r.markov
    }
    fn get(r: &Report) -> Option<&MarkovReport> {
        r.markov.as_ref()
    }
    fn headline(m: &MarkovReport) -> Line {
        line()
            .text(format!(
                "journey map: {} sessions, {} reach ",
                m.sessions,
                pct(m.conversion_rate)
            ))
            .data(&m.conversion)
            .done()
    }
    fn document(m: &MarkovReport) -> Document {
        crate::report::sections::markov::document(m)
    }
    fn aliases() -> &'static [Alias] {
        &[Alias {
            pattern: "paths.*",
            target: "markov.*",
        }]
    }
}
