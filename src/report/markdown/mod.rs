//! report.md: the Report for people.

use std::fmt::Write;

pub mod diff;
pub mod funnel;
mod markov;
pub mod propensity;
mod segments;
mod stages;

use super::Report;
use super::terminal::{distributions, sessions_from};
use crate::table::{Align, Table, thousands};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let d = &report.data;
    let _ = writeln!(out, "# Journey report\n");
    let _ = writeln!(
        out,
        "Made by {} {} (report schema {}).\n",
        report.tool.name, report.tool.version, report.schema_version
    );

    let _ = writeln!(out, "## Input\n");
    let mut files = Table::new(
        &["file", "format", "bytes", "rows read", "rows rejected"],
        &[
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    );
    for f in &report.input.files {
        files.row(vec![
            format!("`{}`", f.path),
            format!("{:?}", f.format).to_lowercase(),
            thousands(f.bytes),
            thousands(f.rows_read),
            thousands(f.rows_rejected),
        ]);
    }
    out += &files.to_markdown();
    let c = &report.parameters.columns;
    let _ = writeln!(
        out,
        "\nColumns: user `{}`, event `{}`, time `{}`; sessions {}.\n",
        c.user,
        c.event,
        c.time,
        sessions_from(&report.parameters.sessions)
    );

    let _ = writeln!(out, "## Data\n");
    let r = &d.rows;
    let _ = writeln!(
        out,
        "**{}** rows read = **{}** used + **{}** rejected.\n",
        thousands(r.read),
        thousands(r.used),
        thousands(r.rejected)
    );
    if !r.rejected_by_reason.is_empty() {
        let mut rej = Table::new(&["rejected because", "rows"], &[Align::Left, Align::Right]);
        for rc in &r.rejected_by_reason {
            rej.row(vec![format!("`{}`", rc.reason), thousands(rc.rows)]);
        }
        out += &rej.to_markdown();
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} users, {} sessions.",
        thousands(d.users),
        thousands(d.sessions)
    );
    if let Some(tr) = &d.time_range {
        let _ = writeln!(out, "Events from {} to {}.", tr.first, tr.last);
    }
    out.push('\n');
    out += &distributions(d).to_markdown();
    let _ = writeln!(out, "\n### Event vocabulary\n");
    let mut vocab = Table::new(
        &["event", "count", "users"],
        &[Align::Left, Align::Right, Align::Right],
    );
    for e in &d.event_vocabulary {
        vocab.row(vec![
            format!("`{}`", e.event),
            thousands(e.count),
            thousands(e.users),
        ]);
    }
    out += &vocab.to_markdown();
    if !d.notes.is_empty() {
        let _ = writeln!(out, "\n### Notes\n");
        for n in &d.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    if let Some(f) = &report.funnel {
        out.push('\n');
        out += &funnel::render(f);
    }
    if let Some(s) = &report.stages {
        out.push('\n');
        out += &stages::render(s);
    }
    if let Some(m) = &report.markov {
        out.push('\n');
        out += &markov::render(m);
    }
    if let Some(s) = &report.segments {
        out.push('\n');
        out += &segments::render(s);
    }
    if let Some(p) = &report.propensity {
        out.push('\n');
        out += &propensity::render(p);
    }
    out
}
