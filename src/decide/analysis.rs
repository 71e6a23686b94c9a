//! `[[triggers]]`/`[[pathways]]` in `journeymap report` (see
//! [`crate::analysis`]): the decision engine run on the report's event
//! table as of the export's last day (or `[decide] as_of`), without the
//! state of earlier runs, overrides, erasure or pseudonyms, which only the
//! nightly `journeymap decide` takes. The section is a preview of what the
//! nightly run would decide; decisions.csv beside the report lists it per
//! customer.

use std::collections::BTreeSet;

use anyhow::Result;

use super::config::{self, Plan};
use super::state::History;
use super::{DecideReport, Events, Inputs, Run};
use crate::analysis::{Analysis, UnitTable};
use crate::config::JourneyConfig;
use crate::doc::fmt::thousands;
use crate::doc::{Block, Document, Line, line};
use crate::error::UsageError;
use crate::pipeline::Context;
use crate::report::Report;

const DAY: i64 = 86_400_000;

pub struct Decide;

pub struct Decided {
    plan: Plan,
    run: Run,
}

/// The run date: `[decide] as_of`, else the UTC day of the last event.
fn as_of(plan: &Plan, cfg: &JourneyConfig, ctx: &Context) -> Result<i64> {
    if let Some(s) = &plan.decide.as_of {
        return super::state::parse_day(s).ok_or_else(|| {
            UsageError(format!(
                "{}[decide] as_of = {s:?} is not a date: write it as YYYY-MM-DD",
                cfg.at("decide.as_of")
            ))
            .into()
        });
    }
    let last = ctx.table().ts.iter().copied().max().ok_or_else(|| {
        crate::error::DataError::Insufficient(
            "decide: the export has no events, so no run date; set [decide] as_of".into(),
        )
    })?;
    Ok(last.div_euclid(DAY) * DAY)
}

impl Analysis for Decide {
    const KEY: &'static str = "decide";
    const TITLE: &'static str = "decisions";
    const COST: u32 = 3;
    type Section = DecideReport;
    type Product = Decided;

    fn configured(cfg: &JourneyConfig) -> bool {
        !cfg.pathways.is_empty() || !cfg.triggers.is_empty()
    }

    fn run(ctx: &Context) -> Result<Decided> {
        let cfg = ctx.config;
        let plan = config::check(cfg)?;
        let dir = cfg.dir();
        let as_of = as_of(&plan, cfg, ctx)?;
        let files: Vec<&str> = ctx.files().iter().map(|f| f.path.as_str()).collect();
        let events = Events {
            table: ctx.table(),
            sessions: ctx.sessions(),
            session_source: &ctx.data.source,
            account: super::events_account(ctx.data, &files.join(" ")),
        };
        let erased = BTreeSet::new();
        let loaded = super::load(&plan, &dir, Some(&events), &erased, as_of + DAY)?;
        let overrides = Default::default();
        let mut run = super::run(
            Inputs {
                plan: &plan,
                config_dir: &dir,
                events: Some(events),
                as_of,
                erased: &erased,
                overrides: &overrides,
                history: History::default(),
                pseudo: None,
            },
            &loaded,
        )?;
        run.report.preview = true;
        run.report.notes.push(format!(
            "A preview as of {}, the {}: caps and cool-downs count no earlier run (there is no state here), and no override file, erasure list or pseudonym key is applied. Act on the nightly `journeymap decide --as-of DATE --state history.csv` instead (docs/decisions.md).",
            run.report.as_of,
            if plan.decide.as_of.is_some() {
                "[decide] as_of date"
            } else {
                "day of the export's last event"
            }
        ));
        Ok(Decided { plan, run })
    }

    fn section(p: &Decided) -> DecideReport {
        p.run.report.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<DecideReport> {
        &mut r.decide
    }
    fn get(r: &Report) -> Option<&DecideReport> {
        r.decide.as_ref()
    }

    fn headline(s: &DecideReport) -> Line {
        let fired: u64 = s.triggers.iter().map(|t| t.fired).sum();
        line()
            .text(format!(
                "decisions as of {}: {} of {} customers with an action (value {:.2}); {} trigger firings",
                s.as_of,
                thousands(s.with_action),
                thousands(s.customers),
                s.value,
                thousands(fired)
            ))
            .done()
    }

    fn document(s: &DecideReport) -> Document {
        // The section sits under the report's title: one level down.
        super::document::document(s, None)
            .into_iter()
            .map(|b| match b {
                Block::Heading(level, l) => Block::Heading(level + 1, l),
                b => b,
            })
            .collect()
    }

    fn tables<'a>(p: &'a Decided, _ctx: &'a Context) -> Vec<UnitTable<'a>> {
        vec![UnitTable {
            file: "decisions.csv",
            rows: super::output::decision_rows(&p.plan, &p.run),
        }]
    }
}
