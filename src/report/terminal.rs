//! The data summary as readable text for `inspect` on a terminal.

use std::fmt::Write;

use crate::duration;
use crate::sessions::SessionSource;
use crate::stats::Distribution;
use crate::summary::DataSummary;
use crate::table::{Align, Table, num, thousands};

pub fn render(d: &DataSummary) -> String {
    let mut out = String::new();
    let r = &d.rows;
    let _ = writeln!(
        out,
        "rows: {} read = {} used + {} rejected",
        thousands(r.read),
        thousands(r.used),
        thousands(r.rejected)
    );
    for rc in &r.rejected_by_reason {
        let _ = writeln!(
            out,
            "  rejected {:<24} {:>12}",
            rc.reason,
            thousands(rc.rows)
        );
    }
    let _ = writeln!(
        out,
        "users: {}   sessions: {} ({})",
        thousands(d.users),
        thousands(d.sessions),
        sessions_from(&d.sessions_from)
    );
    if let Some(tr) = &d.time_range {
        let _ = writeln!(out, "time range: {} .. {}", tr.first, tr.last);
    }
    out.push('\n');
    out += &distributions(d).to_text();
    out.push('\n');
    let mut vocab = Table::new(
        &["event", "count", "users"],
        &[Align::Left, Align::Right, Align::Right],
    );
    for e in &d.event_vocabulary {
        vocab.row(vec![
            e.event.clone(),
            thousands(e.count),
            thousands(e.users),
        ]);
    }
    out += &vocab.to_text();
    if !d.properties.is_empty() {
        let _ = writeln!(out, "\nproperties: {}", d.properties.join(", "));
    }
    for n in &d.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

pub fn sessions_from(s: &SessionSource) -> String {
    match s {
        SessionSource::Column { column } => format!("from column '{column}'"),
        SessionSource::Inactivity { gap_ms } => {
            format!("split at gaps > {}", duration::format_ms(*gap_ms))
        }
    }
}

/// The per-user, per-session and duration distributions as one table.
pub fn distributions(d: &DataSummary) -> Table {
    let mut t = Table::new(
        &["", "min", "median", "p95", "max", "mean"],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    );
    let mut add = |name: &str, dist: &Option<Distribution>| {
        if let Some(x) = dist {
            t.row(vec![
                name.into(),
                num(x.min),
                num(x.median),
                num(x.p95),
                num(x.max),
                num(x.mean),
            ]);
        }
    };
    add("events per user", &d.events_per_user);
    add("events per session", &d.events_per_session);
    add("session duration (s)", &d.session_duration_seconds);
    t
}
