//! Retention as an analysis of the report (see [`crate::analysis`]).

use anyhow::Result;
use serde_json::{Value, json};

use super::report::RetentionReport;
use super::run::{Options, retention};
use crate::analysis::{Analysis, DiffPart};
use crate::config::JourneyConfig;
use crate::doc::fmt::{pct, thousands};
use crate::doc::{Align, Block, Cell, Chart, ChartKind, Document, Line, Series, Table, line};
use crate::pipeline::Context;
use crate::report::Report;

pub struct Retention;

impl Analysis for Retention {
    const KEY: &'static str = "retention";
    const TITLE: &'static str = "retention";
    type Section = RetentionReport;
    type Product = RetentionReport;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.retention.is_some()
    }

    fn run(ctx: &Context) -> Result<RetentionReport> {
        let s = ctx.config.retention.clone().unwrap_or_default();
        let o = Options::resolve(ctx.config, &s)?;
        let mut warnings = Vec::new();
        let r = retention(
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

    fn section(p: &RetentionReport) -> RetentionReport {
        p.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<RetentionReport> {
        &mut r.retention
    }
    fn get(r: &Report) -> Option<&RetentionReport> {
        r.retention.as_ref()
    }

    fn headline(s: &RetentionReport) -> Line {
        let first = s.averages.get(1).and_then(|a| a.weighted);
        line()
            .text(format!(
                "retention: {} cohorts by {}, interval 1 {}",
                s.cohorts.len(),
                s.interval,
                first.map_or("not observed yet".to_string(), |r| format!(
                    "{:.1} % (weighted average)",
                    r * 100.0
                ))
            ))
            .done()
    }

    fn document(s: &RetentionReport) -> Document {
        document(s)
    }

    /// Per column, the weighted average before and after with a pooled
    /// two-proportion test.
    fn diff(old: &Value, new: &Value) -> Option<DiffPart> {
        let (o, n) = (old.pointer("/retention")?, new.pointer("/retention")?);
        let avg = |v: &Value, col: &str| -> Option<(u64, u64)> {
            let a = v.pointer("/average")?.get(col)?;
            Some((a.get("returned")?.as_u64()?, a.get("eligible")?.as_u64()?))
        };
        let mut rows = Vec::new();
        let mut doc = vec![Block::title(2, "Retention")];
        let mut notes = Vec::new();
        let differ = ["rule", "interval", "anchor", "min_occurrences", "clock"]
            .iter()
            .any(|k| o.get(k) != n.get(k));
        if differ {
            notes.push("the two reports count retention differently (rule, interval, anchor, clock or min_occurrences); rates are not compared".to_string());
        } else if let Some(cols) = n.get("columns").and_then(Value::as_array) {
            for c in cols.iter().filter_map(Value::as_str) {
                let (Some((r0, e0)), Some((r1, e1))) = (avg(o, c), avg(n, c)) else {
                    continue;
                };
                let rate = |r: u64, e: u64| (e > 0).then(|| r as f64 / e as f64);
                let test = crate::stats::two_proportion(r0, e0, r1, e1);
                rows.push(
                    json!({"column": c, "before": rate(r0, e0), "after": rate(r1, e1),
                    "p": test.map(|t| t.1)}),
                );
                let pct = |x: Option<f64>| x.map_or("–".to_string(), pct);
                doc.push(Block::para(line().text(format!(
                    "interval {c}: {} → {}{}",
                    pct(rate(r0, e0)),
                    pct(rate(r1, e1)),
                    test.map_or(String::new(), |t| format!(" (p = {:.4})", t.1))
                ))));
            }
        }
        Some(DiffPart {
            section: "retention",
            figures: json!({ "averages": rows }),
            document: doc,
            drift: None,
            notes,
        })
    }
}

/// The retention triangle: a row per cohort, a column per interval, then
/// the two averages.
pub fn document(s: &RetentionReport) -> Document {
    let mut doc = vec![Block::title(2, "Retention")];
    let rule = match s.rule.as_str() {
        "on_or_after" => "returned in interval N or later",
        "brackets" => "returned within each bracket of intervals",
        _ => "returned in interval N",
    };
    let by = match s.interval.as_str() {
        "day" => "day".to_string(),
        "week" => "ISO week (from Monday)".to_string(),
        "month" => "calendar month".to_string(),
        d => format!(
            "{d} period (counted from {})",
            match s.anchor {
                Some(super::clock::Anchor::Week) => "the Monday of the export's first week",
                Some(super::clock::Anchor::Month) => "the first of the export's first month",
                _ => "the export's first day",
            }
        ),
    };
    let mut what = line().text(format!(
        "Cohorts by the {by} of their start ({}; ",
        match s.start {
            super::engine::StartMode::First => "first occurrence",
            super::engine::StartMode::FirstMatching => "first matching occurrence",
            super::engine::StartMode::Recurring => "every occurrence",
        }
    ));
    what = match &s.start_event {
        Some(e) => what.text("start ").name(e),
        None => what.text("start: any event"),
    };
    what = match &s.return_event {
        Some(e) => what.text(", return ").name(e),
        None => what.text(", return: any event"),
    };
    doc.push(Block::para(
        what.text(format!(
            "); {rule}, interval 0 being the cohort's own; {} clock at {}; observed until {}. {} of {} users have no start. Cells: returned / eligible users, – where no user could be observed yet, * where only some could.",
            match s.clock {
                super::clock::ClockKind::Calendar => "calendar",
                super::clock::ClockKind::Rolling => "rolling",
            },
            s.tz,
            s.observed_until,
            thousands(s.users_without_start),
            thousands(s.users)
        ))
        .done(),
    ));
    let mut counting = Vec::new();
    if let Some(n) = s.min_occurrences {
        counting.push(format!(
            "a user counts as returned in an interval with at least {n} return events in it"
        ));
    }
    if s.reference.is_some() {
        counting.push("the figure after each rate (→) is the share of the column before's returned users, where both columns observed the same users".to_string());
    }
    if !counting.is_empty() {
        let mut text = counting.join("; ");
        text[..1].make_ascii_uppercase();
        doc.push(Block::para(line().text(format!("{text}.")).done()));
    }
    if let Some(b) = &s.breakdown {
        doc.push(Block::para(
            line()
                .text("Cohorts split by ")
                .name(b)
                .text(" on the cohort-defining event (column group).")
                .done(),
        ));
    }
    let mut head: Vec<(String, Align)> = vec![("cohort".into(), Align::Left)];
    if s.breakdown.is_some() {
        head.push(("group".into(), Align::Left));
    }
    head.push(("users".into(), Align::Right));
    head.extend(s.columns.iter().map(|c| (c.clone(), Align::Right)));
    let head_refs: Vec<(&str, Align)> = head.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let mut t = Table::new(&head_refs);
    for c in &s.cohorts {
        let mut row = vec![Cell::name(&c.cohort)];
        if s.breakdown.is_some() {
            row.push(Cell::name(c.group.as_deref().unwrap_or("")));
        }
        row.push(Cell::count(c.users));
        for x in &c.cells {
            let prev = x
                .of_previous
                .map_or(String::new(), |p| format!(" → {}", pct(p)));
            row.push(match x.rate {
                Some(r) => Cell::num(
                    r,
                    format!("{}{}{prev}", pct(r), if x.partial { "*" } else { "" }),
                ),
                None => Cell::text("–"),
            });
        }
        t.row(row);
    }
    if s.reference.is_some() {
        let mut row = vec![Cell::text("of the column before")];
        if s.breakdown.is_some() {
            row.push(Cell::text(""));
        }
        row.push(Cell::text(""));
        for a in &s.averages {
            row.push(
                a.of_previous
                    .map_or(Cell::text("–"), |r| Cell::num(r, pct(r))),
            );
        }
        t.row(row);
    }
    for (name, pick) in [("weighted average", true), ("unweighted average", false)] {
        let mut row = vec![Cell::text(name)];
        if s.breakdown.is_some() {
            row.push(Cell::text(""));
        }
        row.push(Cell::text(""));
        for a in &s.averages {
            let v = if pick { a.weighted } else { a.unweighted };
            row.push(v.map_or(Cell::text("–"), |r| Cell::num(r, pct(r))));
        }
        t.row(row);
    }
    doc.push(Block::Table(t));
    doc.push(Block::Chart(Chart {
        title: "Retention by cohort".into(),
        kind: ChartKind::Heatmap {
            row_axis: "cohort (users)".into(),
            col_axis: format!("{} since the cohort's start (0 = its own)", s.interval),
            columns: s.columns.clone(),
            rows: s
                .cohorts
                .iter()
                .map(|c| {
                    let mut l = line().data(&c.cohort);
                    if let Some(g) = &c.group {
                        l = l.text(" ").data(g);
                    }
                    (
                        l.text(format!(" ({})", thousands(c.users))).done(),
                        c.cells.iter().map(|x| x.rate).collect(),
                    )
                })
                .collect(),
        },
    }));
    let curve = |weighted: bool| -> Vec<(f64, f64)> {
        s.averages
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                Some((i as f64, if weighted { a.weighted? } else { a.unweighted? }))
            })
            .collect()
    };
    doc.push(Block::Chart(Chart {
        title: "Average retention curve (weighted by cohort size, and unweighted)".into(),
        kind: ChartKind::Lines {
            x_axis: format!("{} since the start (column index)", s.interval),
            y_axis: "share of eligible users who returned".into(),
            series: vec![
                Series {
                    name: line().text("weighted").done(),
                    points: curve(true),
                },
                Series {
                    name: line().text("unweighted").done(),
                    points: curve(false),
                },
            ],
            diagonal: false,
        },
    }));
    doc
}
