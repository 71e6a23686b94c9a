//! `journeymap diff` as a document: the data section, then each
//! analysis's comparison.

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
    for part in &d.sections {
        doc.extend(part.document.iter().cloned());
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
