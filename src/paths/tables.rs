//! The MarkovReport as tables, shared by the terminal output of `paths` and
//! the Markdown report. Pure formatting: every number is a report field.

use super::{MarkovReport, PathCount, StateKind, Transition};
use crate::table::{Align, Table, thousands};

/// Transitions shown in the "top transitions" tables.
pub const TOP_TRANSITIONS: usize = 15;

/// "events" or "journey stages".
pub fn kind_label(kind: StateKind) -> &'static str {
    match kind {
        StateKind::Event => "events",
        StateKind::Stage => "journey stages",
    }
}

/// `12.5%`: one decimal.
pub fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// "1 event", "2,000 events".
fn events(n: u64) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} event{s}", thousands(n))
}

/// The facts above the tables, one sentence per line.
pub fn summary_lines(m: &MarkovReport) -> Vec<String> {
    let p_start = m.states.first().map_or(0.0, |s| s.p_conversion);
    let mut lines = vec![format!(
        "{} sessions, {} converted ({}); P(CONVERSION | START) = {:.4}.",
        thousands(m.sessions),
        thousands(m.converted_sessions),
        percent(m.conversion_rate),
        p_start
    )];
    if m.skipped_events > 0 {
        lines.push(format!(
            "{} mapped to no stage {} skipped.",
            events(m.skipped_events),
            if m.skipped_events == 1 { "was" } else { "were" }
        ));
    }
    if m.events_after_conversion > 0 {
        lines.push(format!(
            "{} after their session's conversion {} not part of any path.",
            events(m.events_after_conversion),
            if m.events_after_conversion == 1 {
                "is"
            } else {
                "are"
            }
        ));
    }
    if m.converted_sessions == 0 && m.sessions > 0 {
        lines.push("No session converted: every conversion probability is 0.".into());
    }
    lines
}

/// Every state: visits, P(conversion) and removal effect.
pub fn states_table(m: &MarkovReport) -> Table {
    let mut t = Table::new(
        &[
            "state",
            "visits",
            "p(conversion)",
            "removal effect",
            "share",
        ],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    );
    for s in &m.states {
        t.row(vec![
            s.state.clone(),
            thousands(s.visits),
            format!("{:.4}", s.p_conversion),
            s.removal_effect.map_or("-".into(), |v| format!("{v:.4}")),
            s.removal_share.map_or("-".into(), percent),
        ]);
    }
    t
}

/// The most frequent transitions (ties in report order).
pub fn top_transitions(m: &MarkovReport) -> Vec<&Transition> {
    let mut all: Vec<&Transition> = m.transitions.iter().collect();
    all.sort_by_key(|t| std::cmp::Reverse(t.count));
    all.truncate(TOP_TRANSITIONS);
    all
}

pub fn transitions_table(rows: &[&Transition]) -> Table {
    let mut t = Table::new(
        &["from", "to", "count", "probability"],
        &[Align::Left, Align::Left, Align::Right, Align::Right],
    );
    for r in rows {
        t.row(vec![
            r.from.clone(),
            r.to.clone(),
            thousands(r.count),
            format!("{:.4}", r.probability),
        ]);
    }
    t
}

pub fn paths_table(paths: &[PathCount]) -> Table {
    let mut t = Table::new(
        &["path", "sessions", "share"],
        &[Align::Left, Align::Right, Align::Right],
    );
    for p in paths {
        t.row(vec![p.path.clone(), thousands(p.count), percent(p.share)]);
    }
    t
}
