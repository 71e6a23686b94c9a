//! report.json: the Report as pretty JSON with a trailing newline.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a Report always serializes");
    s.push('\n');
    s
}
