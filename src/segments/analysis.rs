//! Abandonment segments as an analysis of the report (see
//! [`crate::analysis`]).

use anyhow::Result;
use serde_json::{Value, json};

use super::output::Assignments;
use super::{SegmentsOptions, SegmentsReport, SegmentsResult, SegmentsSection, Unit};
use crate::analysis::{Alias, Analysis, DiffPart, UnitTable};
use crate::config::{JourneyConfig, Origins};
use crate::diff::Change;
use crate::doc::fmt::pp;
use crate::doc::{Align, Block, Cell, Document, Line, Table, line};
use crate::funnel::analysis::Funnel;
use crate::funnel::{FunnelOptions, Per};
use crate::pipeline::Context;
use crate::report::Report;

pub struct Segments;

impl Analysis for Segments {
    const KEY: &'static str = "segments";
    const TITLE: &'static str = "segments";
    const COST: u32 = 8;
    type Section = SegmentsReport;
    type Product = SegmentsResult;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.segments.is_some()
    }

    fn run(ctx: &Context) -> Result<SegmentsResult> {
        let mut origins = Origins::default();
        let funnel = ctx.config.funnel.as_ref().map(FunnelOptions::from_config);
        let opts = SegmentsOptions::resolve(
            &SegmentsSection::default(),
            ctx.config,
            funnel,
            &mut origins,
        );
        opts.check().map_err(|e| origins.word(e))?;
        let per = match opts.unit {
            Unit::User => Per::User,
            Unit::Session => Per::Session,
        };
        // The report's own funnel run, when it counted the same units.
        let reuse = match &opts.funnel {
            Some(f) if f.per == per && f.by.is_none() => Some(&ctx.product::<Funnel>()?.result),
            _ => None,
        };
        super::analyze_with(ctx.table(), ctx.sessions(), &opts, reuse)
    }

    fn section(p: &SegmentsResult) -> SegmentsReport {
        p.report.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<SegmentsReport> {
        &mut r.segments
    }
    fn get(r: &Report) -> Option<&SegmentsReport> {
        r.segments.as_ref()
    }

    fn headline(s: &SegmentsReport) -> Line {
        let unit = match s.unit {
            super::Unit::User => "users",
            super::Unit::Session => "sessions",
        };
        let mut l = line().text(format!(
            "segments: {} of {} {unit}: ",
            s.units, s.units_in_data
        ));
        for (i, g) in s.segments.iter().enumerate() {
            if i > 0 {
                l = l.text("; ");
            }
            l = l.data(&g.name).text(format!(" {:.0}%", g.share * 100.0));
        }
        l.done()
    }

    fn document(s: &SegmentsReport) -> Document {
        crate::report::sections::segments::document(s)
    }

    fn tables<'a>(p: &'a SegmentsResult, ctx: &'a Context) -> Vec<UnitTable<'a>> {
        vec![UnitTable {
            file: "segments.csv",
            rows: Box::new(Assignments {
                table: ctx.table(),
                sessions: ctx.sessions(),
                result: p,
            }),
        }]
    }

    fn aliases() -> &'static [Alias] {
        &[Alias {
            pattern: "segment[].*",
            target: "segments.segments[].*",
        }]
    }

    fn diff(old: &Value, new: &Value) -> Option<DiffPart> {
        let shares = |v: &Value| -> Vec<(String, f64)> {
            v.pointer("/segments/segments")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| {
                            Some((s["name"].as_str()?.to_string(), s["share"].as_f64()?))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (a, b) = (shares(old), shares(new));
        if a.is_empty() && b.is_empty() {
            return None;
        }
        let mut names: Vec<String> = a.iter().chain(&b).map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        let get =
            |v: &[(String, f64)], n: &str| v.iter().find(|(m, _)| m == n).map_or(0.0, |(_, s)| *s);
        let mut t = Table::new(&[
            ("segment", Align::Left),
            ("old", Align::Right),
            ("new", Align::Right),
            ("change", Align::Right),
        ]);
        let mut rows = Vec::new();
        for n in &names {
            let c = Change::new(get(&a, n), get(&b, n));
            t.row(vec![
                Cell::data(n),
                Cell::pct(c.old),
                Cell::pct(c.new),
                Cell::num(c.change, pp(c.change)),
            ]);
            rows.push(json!({ "segment": n, "share": c }));
        }
        Some(DiffPart {
            section: "segments",
            figures: Value::Array(rows),
            document: vec![Block::title(2, "Segment shares"), Block::Table(t)],
            drift: None,
            notes: Vec::new(),
        })
    }
}
