//! `journeymap diff` as a document.

use crate::diff::{Change, DiffReport};
use crate::doc::fmt::pp;
use crate::doc::{Align, Block, Cell, Document, Table, line};

fn change(c: &Change) -> Cell {
    Cell::num(c.change, pp(c.change))
}

pub fn document(d: &DiffReport) -> Document {
    let mut doc = vec![
        Block::title(1, "Journey report diff"),
        Block::text(format!("Schema {} → {}.", d.old_schema, d.new_schema)),
    ];
    if let Some(r) = &d.rows {
        let mut t = Table::new(&[
            ("", Align::Left),
            ("old", Align::Right),
            ("new", Align::Right),
            ("change", Align::Right),
        ]);
        let n = |x: f64| Cell::num(x, format!("{x}"));
        t.row(vec![
            Cell::text("rows read"),
            n(r.read.old),
            n(r.read.new),
            Cell::num(r.read.change, format!("{:+}", r.read.change)),
        ]);
        t.row(vec![
            Cell::text("users"),
            n(r.users.old),
            n(r.users.new),
            Cell::num(r.users.change, format!("{:+}", r.users.change)),
        ]);
        t.row(vec![
            Cell::text("rejected share"),
            Cell::pct(r.rejected_share.old),
            Cell::pct(r.rejected_share.new),
            change(&r.rejected_share),
        ]);
        doc.push(Block::title(2, "Data"));
        doc.push(Block::Table(t));
    }
    if let Some(f) = &d.funnel {
        doc.push(Block::title(2, "Funnel"));
        let mut t = Table::new(&[
            ("step", Align::Left),
            ("old", Align::Right),
            ("new", Align::Right),
            ("change", Align::Right),
            ("p", Align::Right),
            ("", Align::Left),
        ]);
        for s in &f.step_conversion {
            t.row(vec![
                Cell::spans(line().text(format!("{}. ", s.step)).name(&s.label)),
                Cell::pct(s.conversion.old),
                Cell::pct(s.conversion.new),
                change(&s.conversion),
                Cell::opt(s.p_value.map(|p| Cell::fixed(p, 4))),
                Cell::text(if s.significant { "significant" } else { "" }),
            ]);
        }
        t.row(vec![
            Cell::text("overall"),
            Cell::pct(f.overall.old),
            Cell::pct(f.overall.new),
            change(&f.overall),
            Cell::text(""),
            Cell::text(""),
        ]);
        doc.push(Block::Table(t));
        doc.push(Block::text(format!("Test: {}.", f.test)));
    }
    if !d.segments.is_empty() {
        doc.push(Block::title(2, "Segment shares"));
        let mut t = Table::new(&[
            ("segment", Align::Left),
            ("old", Align::Right),
            ("new", Align::Right),
            ("change", Align::Right),
        ]);
        for s in &d.segments {
            t.row(vec![
                Cell::data(&s.segment),
                Cell::pct(s.share.old),
                Cell::pct(s.share.new),
                change(&s.share),
            ]);
        }
        doc.push(Block::Table(t));
    }
    if let Some(a) = &d.model_auc {
        doc.push(Block::title(2, "Model"));
        doc.push(Block::text(format!(
            "Hold-out AUC {:.4} → {:.4} ({:+.4}).",
            a.old, a.new, a.change
        )));
    }
    if let Some(p) = d.score_psi {
        let verdict = if p < 0.1 {
            "stable"
        } else if p < 0.25 {
            "moderate shift"
        } else {
            "major shift"
        };
        doc.push(Block::text(format!(
            "Score distribution PSI: {p:.4} ({verdict}; < 0.1 stable, 0.1–0.25 moderate, > 0.25 major)."
        )));
    }
    if !d.notes.is_empty() {
        doc.push(Block::Bullets(
            d.notes
                .iter()
                .map(|n| line().text("note: ").data(n).done())
                .collect(),
        ));
    }
    doc
}
