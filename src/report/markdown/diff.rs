//! `journeymap diff` as Markdown.

use std::fmt::Write;

use crate::diff::{Change, DiffReport};
use crate::table::{Align, Table};

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn pp(c: &Change) -> String {
    format!("{:+.1} pp", c.change * 100.0)
}

pub fn render(d: &DiffReport) -> String {
    let mut out = String::from("# Journey report diff\n\n");
    let _ = writeln!(out, "Schema {} → {}.\n", d.old_schema, d.new_schema);
    if let Some(r) = &d.rows {
        let mut t = Table::new(
            &["", "old", "new", "change"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
        );
        t.row(vec![
            "rows read".into(),
            format!("{}", r.read.old),
            format!("{}", r.read.new),
            format!("{:+}", r.read.change),
        ]);
        t.row(vec![
            "users".into(),
            format!("{}", r.users.old),
            format!("{}", r.users.new),
            format!("{:+}", r.users.change),
        ]);
        t.row(vec![
            "rejected share".into(),
            pct(r.rejected_share.old),
            pct(r.rejected_share.new),
            pp(&r.rejected_share),
        ]);
        out += "## Data\n\n";
        out += &t.to_markdown();
        out.push('\n');
    }
    if let Some(f) = &d.funnel {
        out += "## Funnel\n\n";
        let mut t = Table::new(
            &["step", "old", "new", "change", "p", ""],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Left,
            ],
        );
        for s in &f.step_conversion {
            t.row(vec![
                format!("{}. `{}`", s.step, s.label),
                pct(s.conversion.old),
                pct(s.conversion.new),
                pp(&s.conversion),
                s.p_value.map_or("-".into(), |p| format!("{p:.4}")),
                if s.significant {
                    "significant".into()
                } else {
                    String::new()
                },
            ]);
        }
        t.row(vec![
            "overall".into(),
            pct(f.overall.old),
            pct(f.overall.new),
            pp(&f.overall),
            String::new(),
            String::new(),
        ]);
        out += &t.to_markdown();
        let _ = writeln!(out, "\nTest: {}.\n", f.test);
    }
    if !d.segments.is_empty() {
        out += "## Segment shares\n\n";
        let mut t = Table::new(
            &["segment", "old", "new", "change"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
        );
        for s in &d.segments {
            t.row(vec![
                s.segment.clone(),
                pct(s.share.old),
                pct(s.share.new),
                pp(&s.share),
            ]);
        }
        out += &t.to_markdown();
        out.push('\n');
    }
    if let Some(a) = &d.model_auc {
        let _ = writeln!(
            out,
            "## Model\n\nHold-out AUC {:.4} → {:.4} ({:+.4}).\n",
            a.old, a.new, a.change
        );
    }
    if let Some(p) = d.score_psi {
        let verdict = if p < 0.1 {
            "stable"
        } else if p < 0.25 {
            "moderate shift"
        } else {
            "major shift"
        };
        let _ = writeln!(
            out,
            "Score distribution PSI: {p:.4} ({verdict}; < 0.1 stable, 0.1–0.25 moderate, > 0.25 major).\n"
        );
    }
    for n in &d.notes {
        let _ = writeln!(out, "- note: {n}");
    }
    out
}
