//! report.html: the report's document (the same one report.md renders) as
//! one self-contained page.

use super::Report;
use crate::doc;

pub fn render(report: &Report) -> String {
    let title = match &report.run {
        Some(run) => format!("Journey report {}", run.id),
        None => "Journey report".to_string(),
    };
    doc::html::render(&title, &super::markdown::document(report))
}
