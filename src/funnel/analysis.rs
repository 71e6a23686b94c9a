//! The funnel as an analysis of the report (see [`crate::analysis`]).

use anyhow::Result;
use serde_json::{Value, json};

use super::{FunnelOptions, FunnelReport, FunnelResult};
use crate::analysis::{Alias, Analysis, DiffPart, Partial};
use crate::config::JourneyConfig;
use crate::diff::{Change, f};
use crate::doc::fmt::pp;
use crate::doc::{Align, Block, Cell, Document, Line, Table, line};
use crate::output::{Cells, ColumnSpec, Kind, Rows};
use crate::pipeline::Context;
use crate::report::Report;
use crate::stats::two_proportion;

pub struct Funnel;

/// The funnel run and the options it ran with (segments reuse both).
pub struct FunnelRun {
    pub opts: FunnelOptions,
    pub result: FunnelResult,
}

impl Analysis for Funnel {
    const KEY: &'static str = "funnel";
    const TITLE: &'static str = "funnel";
    type Section = FunnelReport;
    type Product = FunnelRun;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.funnel.is_some()
    }

    fn run(ctx: &Context) -> Result<FunnelRun> {
        let c = ctx.config.funnel.as_ref().expect("configured");
        let opts = FunnelOptions::from_config(c);
        let result = super::analyze(ctx.table(), ctx.sessions(), &opts)?;
        Ok(FunnelRun { opts, result })
    }

    const PARTITIONED: bool = true;

    fn partial(ctx: &Context) -> Result<Partial> {
        let c = ctx.config.funnel.as_ref().expect("configured");
        let opts = FunnelOptions::from_config(c);
        let mut part = super::partial(ctx.table(), ctx.sessions(), &opts, ctx.span())?;
        // Session numbers are this partition's: keep each as its rank
        // among its user's sessions, which is the same in every table.
        let sessions = ctx.sessions();
        let mut rank = vec![0u32; sessions.len()];
        for s in 1..sessions.len() {
            if sessions.user[s] == sessions.user[s - 1] {
                rank[s] = rank[s - 1] + 1;
            }
        }
        for l in &mut part.levels {
            l.session = l.session.map(|s| rank[s as usize]);
        }
        Ok(Box::new(part))
    }

    fn merge(parts: Vec<Partial>, ctx: &Context) -> Result<FunnelRun> {
        let c = ctx.config.funnel.as_ref().expect("configured");
        let opts = FunnelOptions::from_config(c);
        let mut parts = crate::analysis::parts::<super::FunnelPart>(parts)?.into_iter();
        let mut all = parts
            .next()
            .ok_or_else(|| anyhow::anyhow!("internal: no partition"))?;
        for p in parts {
            all.merge(p);
        }
        // Units in table order: by user, then by the user's session rank;
        // in per-session funnels every session is a unit, so its place in
        // that order is its session number in the whole table.
        {
            use rayon::slice::ParallelSliceMut;
            // Keys are unique: an unstable sort gives the one order.
            all.levels
                .par_sort_unstable_by_key(|l| (l.user, l.session.unwrap_or(0)));
        }
        if opts.per == super::Per::Session {
            for (n, l) in all.levels.iter_mut().enumerate() {
                l.session = Some(n as u32);
            }
        }
        let result = super::finish(ctx.table(), &opts, all)?;
        Ok(FunnelRun { opts, result })
    }

    fn section(p: &FunnelRun) -> FunnelReport {
        p.result.report.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<FunnelReport> {
        &mut r.funnel
    }
    fn get(r: &Report) -> Option<&FunnelReport> {
        r.funnel.as_ref()
    }

    fn headline(f: &FunnelReport) -> Line {
        let mut l = line().text(format!(
            "funnel: {} of {} entered, {:.1}% converted (",
            f.entered,
            f.units,
            f.overall_conversion * 100.0
        ));
        for (i, s) in f.steps.iter().enumerate() {
            if i > 0 {
                l = l.text(" > ");
            }
            l = l.data(s);
        }
        l.text(")").done()
    }

    fn document(f: &FunnelReport) -> Document {
        crate::report::sections::funnel::document(f)
    }

    fn aliases() -> &'static [Alias] {
        &[
            Alias {
                pattern: "funnel.conversion",
                target: "funnel.overall_conversion",
            },
            Alias {
                pattern: "funnel.step[].conversion",
                target: "funnel.step_stats[].conversion_from_previous",
            },
            Alias {
                pattern: "funnel.step[].*",
                target: "funnel.step_stats[].*",
            },
        ]
    }

    fn diff(old: &Value, new: &Value) -> Option<DiffPart> {
        let (a, b) = match (old.get("funnel"), new.get("funnel")) {
            (None, None) => return None,
            (Some(a), Some(b)) if a["steps"] == b["steps"] => (a, b),
            (Some(_), Some(_)) => {
                return Some(note("the funnels have different steps; not compared"));
            }
            _ => return Some(note("only one report has a funnel")),
        };
        let steps: Vec<String> = a["steps"]
            .as_array()?
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        let reached = |v: &Value| -> Option<Vec<u64>> {
            v["step_stats"]
                .as_array()?
                .iter()
                .map(|s| s["reached"].as_u64())
                .collect()
        };
        let (ra, rb) = (reached(a)?, reached(b)?);
        let ratio = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
        let mut rows = Vec::new();
        let mut t = Table::new(&[
            ("step", Align::Left),
            ("old", Align::Right),
            ("new", Align::Right),
            ("change", Align::Right),
            ("p", Align::Right),
            ("", Align::Left),
        ]);
        for k in 1..steps.len().min(ra.len()).min(rb.len()) {
            let p = two_proportion(rb[k], rb[k - 1], ra[k], ra[k - 1])
                .map(|(_, p)| crate::stats::round6(p));
            let c = Change::new(ratio(ra[k], ra[k - 1]), ratio(rb[k], rb[k - 1]));
            let significant = p.is_some_and(|p| p < 0.05);
            t.row(vec![
                Cell::spans(line().text(format!("{}. ", k + 1)).name(&steps[k])),
                Cell::pct(c.old),
                Cell::pct(c.new),
                Cell::num(c.change, pp(c.change)),
                Cell::opt(p.map(|p| Cell::fixed(p, 4))),
                Cell::text(if significant { "significant" } else { "" }),
            ]);
            rows.push(json!({
                "step": k + 1, "label": steps[k], "conversion": c,
                "p_value": p, "significant": significant,
            }));
        }
        let overall = Change::new(f(a, "/overall_conversion")?, f(b, "/overall_conversion")?);
        t.row(vec![
            Cell::text("overall"),
            Cell::pct(overall.old),
            Cell::pct(overall.new),
            Cell::num(overall.change, pp(overall.change)),
            Cell::text(""),
            Cell::text(""),
        ]);
        let test = "pooled two-proportion z-test, two-sided, p < 0.05 (not run below 5 expected conversions or non-conversions)";
        Some(DiffPart {
            section: "funnel",
            figures: json!({ "steps": steps, "overall": overall, "step_conversion": rows, "test": test }),
            document: vec![
                Block::title(2, "Funnel"),
                Block::Table(t),
                Block::text(format!("Test: {test}.")),
            ],
            drift: None,
            notes: Vec::new(),
        })
    }
}

fn note(n: &str) -> DiffPart {
    DiffPart {
        section: "funnel",
        figures: Value::Null,
        document: Vec::new(),
        drift: None,
        notes: vec![n.to_string()],
    }
}

/// `--levels`: each unit's furthest step (-1: every attempt excluded).
pub struct Levels<'a> {
    pub ctx_table: &'a crate::ingest::EventTable,
    pub sessions: &'a crate::sessions::Sessions,
    pub result: &'a FunnelResult,
    pub per_session: bool,
}

impl Rows for Levels<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        let mut c = vec![ColumnSpec::new("user_id", Kind::Text)];
        if self.per_session {
            c.push(ColumnSpec::new("session_id", Kind::Text));
        }
        c.push(ColumnSpec::new("level", Kind::Int));
        c
    }
    fn len(&self) -> usize {
        self.result.levels.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let l = &self.result.levels[i];
        out.text(Some(self.ctx_table.user_names.get(l.user)));
        if self.per_session {
            let id = self
                .sessions
                .id(self.ctx_table, l.session.unwrap_or(0) as usize);
            out.text(Some(&id));
        }
        out.int(Some(i64::from(l.level)));
    }
}
