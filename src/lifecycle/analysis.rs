//! The lifecycle as an analysis of the report (see [`crate::analysis`]).

use anyhow::Result;

use super::run::{LifecycleReport, Options, lifecycle};
use crate::analysis::Analysis;
use crate::config::JourneyConfig;
use crate::doc::fmt::{pct, thousands};
use crate::doc::{Align, Block, Cell, Chart, ChartKind, Document, Line, Table, line};
use crate::pipeline::Context;
use crate::report::Report;

pub struct LifecycleAnalysis;

impl Analysis for LifecycleAnalysis {
    const KEY: &'static str = "lifecycle";
    const TITLE: &'static str = "lifecycle";
    type Section = LifecycleReport;
    type Product = LifecycleReport;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.lifecycle.is_some()
    }

    fn run(ctx: &Context) -> Result<LifecycleReport> {
        let s = ctx.config.lifecycle.clone().unwrap_or_default();
        let o = Options::resolve(ctx.config, &s)?;
        let mut warnings = Vec::new();
        let r = lifecycle(
            ctx.table(),
            ctx.user_ranges(),
            &ctx.data.ingested.property_names,
            &s,
            &o,
            &mut |w| warnings.push(w),
        )?;
        for w in warnings {
            ctx.warn(w);
        }
        Ok(r)
    }

    fn section(p: &LifecycleReport) -> LifecycleReport {
        p.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<LifecycleReport> {
        &mut r.lifecycle
    }
    fn get(r: &Report) -> Option<&LifecycleReport> {
        r.lifecycle.as_ref()
    }

    fn headline(s: &LifecycleReport) -> Line {
        match &s.latest {
            Some(l) => line()
                .text(format!(
                    "lifecycle: {} active in the interval of {} ({} new, {} returning, {} resurrecting), {} went dormant",
                    thousands(l.active),
                    l.interval,
                    thousands(l.new),
                    thousands(l.returning),
                    thousands(l.resurrecting),
                    thousands(l.dormant.unsigned_abs())
                ))
                .done(),
            None => line().text("lifecycle: no interval").done(),
        }
    }

    fn document(s: &LifecycleReport) -> Document {
        document(s)
    }
}

pub fn document(s: &LifecycleReport) -> Document {
    let mut doc = vec![Block::title(2, "Lifecycle")];
    let mut what = line().text(format!(
        "Per {} (calendar, {}): active users that are new (created in the interval; creation = {}), returning (active in the interval before), resurrecting (active again after a gap, or first active after creation in an earlier interval), and users gone dormant (active in the interval before, not in this one; negative, as PostHog shows it). ",
        s.interval, s.tz, s.created_from
    ));
    if let Some(e) = &s.active_event {
        what = what.text("Active means doing ").name(e).text(". ");
    }
    doc.push(Block::para(
        what.text(format!(
            "{} users were first seen in the export's first interval and may have been active before it: their \"new\" there is uncertain.",
            thousands(s.left_censored)
        ))
        .done(),
    ));
    let mut t = Table::new(&[
        ("interval", Align::Left),
        ("new", Align::Right),
        ("returning", Align::Right),
        ("resurrecting", Align::Right),
        ("dormant", Align::Right),
        ("active", Align::Right),
        ("dormant share", Align::Right),
    ]);
    for r in &s.intervals {
        t.row(vec![
            Cell::text(&r.interval),
            Cell::count(r.new),
            Cell::count(r.returning),
            Cell::count(r.resurrecting),
            Cell::num(
                r.dormant as f64,
                match r.dormant {
                    0 => "0".into(),
                    d => format!("-{}", thousands(d.unsigned_abs())),
                },
            ),
            Cell::count(r.active),
            Cell::opt(r.dormant_share.map(Cell::pct)),
        ]);
    }
    doc.push(Block::Table(t));
    doc.push(Block::Chart(Chart {
        title: "Active users by lifecycle state".into(),
        kind: ChartKind::Stacked {
            axis: format!("active users per {} (dormant in the table)", s.interval),
            parts: vec!["new".into(), "returning".into(), "resurrecting".into()],
            rows: s
                .intervals
                .iter()
                .map(|r| {
                    (
                        line().text(&r.interval).done(),
                        vec![r.new as f64, r.returning as f64, r.resurrecting as f64],
                    )
                })
                .collect(),
        },
    }));
    let mut m = Table::new(&[
        ("from \\ to", Align::Left),
        ("new", Align::Right),
        ("returning", Align::Right),
        ("resurrecting", Align::Right),
        ("dormant", Align::Right),
    ]);
    for (i, row) in s.transitions.iter().enumerate() {
        let mut cells = vec![Cell::text(&s.states[i])];
        cells.extend(row.iter().map(|&c| Cell::count(c)));
        m.row(cells);
    }
    doc.push(Block::text(
        "Transitions between consecutive intervals (users, from their first active interval on):",
    ));
    doc.push(Block::Table(m));
    let mix = s
        .stationary
        .as_ref()
        .map_or("no unique long-run mix".to_string(), |p| {
            s.states
                .iter()
                .map(|k| format!("{k} {}", pct(p.get(k).copied().unwrap_or(0.0))))
                .collect::<Vec<_>>()
                .join(", ")
        });
    let until: Vec<String> = s
        .intervals_until_dormant
        .iter()
        .map(|(k, v)| format!("{k} {}", v.map_or("–".into(), |x| format!("{x:.2}"))))
        .collect();
    doc.push(Block::text(format!(
        "Long-run mix if these transitions held (stationary distribution): {mix}. Expected intervals until dormant: {}.",
        until.join(", ")
    )));
    if let Some(d) = &s.daily {
        const SHOWN: usize = 14;
        doc.push(Block::title(3, "Daily states (retentioneering)"));
        doc.push(Block::text(format!(
            "Users per state per day, rows up to {} days past each user's last event (the last {SHOWN} days shown; all in report.json). prospect: not yet active (retentioneering counts these days as dormant).",
            d.max_dormant_days
        )));
        let mut head: Vec<(&str, Align)> = vec![("day", Align::Left)];
        head.extend(d.states.iter().map(|x| (x.as_str(), Align::Right)));
        let mut t = Table::new(&head);
        for r in d.days.iter().skip(d.days.len().saturating_sub(SHOWN)) {
            let mut row = vec![Cell::text(&r.day)];
            row.extend(r.counts.iter().map(|&c| Cell::count(c)));
            t.row(row);
        }
        doc.push(Block::Table(t));
    }
    doc
}
