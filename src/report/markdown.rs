//! report.md: the report's document rendered as Markdown.

use super::Report;
use crate::doc::{self, Document};

/// The whole report as a document: the opening, the data section, then
/// every analysis section the report holds, in [`crate::analysis::ALL`]'s
/// order.
pub fn document(report: &Report) -> Document {
    let mut d = super::sections::data::header(report);
    // The summary goes right under the title line, before the input table.
    let rest = d.split_off(2.min(d.len()));
    d.extend(super::sections::summary::document(report));
    d.extend(rest);
    d.extend(super::sections::data::document(&report.data));
    d.extend(super::sections::data::warnings(report));
    for a in crate::analysis::ALL {
        d.extend(a.document(report).unwrap_or_default());
    }
    d
}

pub fn render(report: &Report) -> String {
    doc::markdown::render(&document(report))
}
