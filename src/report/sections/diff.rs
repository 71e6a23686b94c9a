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
    if let Some(m) = &d.event_mix {
        doc.push(Block::title(2, "Event mix"));
        let mut l = line().text(format!(
            "{} of the event distributions {:.4} (Evidently's default test, threshold {}): {}. {} events before, {} after, {} event names.",
            m.method,
            m.statistic,
            m.threshold,
            if m.drifted { "drifted" } else { "no drift" },
            crate::doc::fmt::thousands(m.events_old),
            crate::doc::fmt::thousands(m.events_new),
            m.names
        ));
        for (what, names) in [
            ("Only before: ", &m.only_old),
            ("Only after: ", &m.only_new),
        ] {
            if !names.is_empty() {
                l = l.text(format!(" {what}"));
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        l = l.text(", ");
                    }
                    l = l.name(n);
                }
                l = l.text(".");
            }
        }
        doc.push(Block::para(l.done()));
        let mut t = Table::new(&[
            ("event", Align::Left),
            ("share before", Align::Right),
            ("share after", Align::Right),
            ("change", Align::Right),
        ]);
        for e in &m.largest_changes {
            t.row(vec![
                Cell::name(&e.event),
                Cell::pct(e.share.old),
                Cell::pct(e.share.new),
                change(&e.share),
            ]);
        }
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
