//! report.md: the report's document rendered as Markdown.

use super::Report;
use crate::doc::{self, Document};

/// The whole report as a document: the opening, the data section, then
/// every analysis section the report holds.
pub fn document(report: &Report) -> Document {
    use super::sections as s;
    let mut d = s::data::header(report);
    d.extend(s::data::document(&report.data));
    if let Some(f) = &report.funnel {
        d.extend(s::funnel::document(f));
    }
    if let Some(x) = &report.stages {
        d.extend(s::stages::document(x));
    }
    if let Some(m) = &report.markov {
        d.extend(s::markov::document(m));
    }
    if let Some(x) = &report.segments {
        d.extend(s::segments::document(x));
    }
    if let Some(p) = &report.propensity {
        d.extend(s::propensity::document(p));
    }
    d
}

pub fn render(report: &Report) -> String {
    doc::markdown::render(&document(report))
}
