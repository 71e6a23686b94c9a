//! The report's opening: who made it, the input files, and the data
//! section (row accounting, users and sessions, distributions, the event
//! vocabulary, notes). Also what `inspect` prints.

use crate::doc::fmt::thousands;
use crate::doc::{Align, Block, Cell, Document, Line, Table, line};
use crate::report::Report;
use crate::sessions::SessionSource;
use crate::stats::Distribution;
use crate::summary::DataSummary;

/// The title, the input files and the columns used.
pub fn header(report: &Report) -> Document {
    let mut files = Table::new(&[
        ("file", Align::Left),
        ("format", Align::Left),
        ("bytes", Align::Right),
        ("rows read", Align::Right),
        ("rows rejected", Align::Right),
    ]);
    for f in &report.input.files {
        files.row(vec![
            Cell::name(&f.path),
            Cell::text(format!("{:?}", f.format).to_lowercase()),
            Cell::count(f.bytes),
            Cell::count(f.rows_read),
            Cell::count(f.rows_rejected),
        ]);
    }
    let c = &report.parameters.columns;
    vec![
        Block::title(1, "Journey report"),
        Block::text(format!(
            "Made by {} {} (report schema {}){}.",
            report.tool.name,
            report.tool.version,
            report.schema_version,
            report
                .run
                .as_ref()
                .map(|r| format!("; report id {}", r.id))
                .unwrap_or_default()
        )),
        Block::title(2, "Input"),
        Block::Table(files),
        Block::para(
            line()
                .text("Columns: user ")
                .name(&c.user)
                .text(", event ")
                .name(&c.event)
                .text(", time ")
                .name(&c.time)
                .text("; sessions ")
                .spans(sessions_from(&report.parameters.sessions))
                .text("."),
        ),
    ]
}

/// "from column `session_id`" or "split at gaps > 30m".
pub fn sessions_from(s: &SessionSource) -> Line {
    match s {
        SessionSource::Column { column } => line().text("from column ").name(column).done(),
        SessionSource::Inactivity { gap_ms } => line()
            .text(format!(
                "split at gaps > {}",
                crate::duration::format_ms(*gap_ms)
            ))
            .done(),
    }
}

/// The per-user, per-session and duration distributions as one table.
pub fn distributions(d: &DataSummary) -> Table {
    let mut t = Table::new(&[
        ("", Align::Left),
        ("min", Align::Right),
        ("median", Align::Right),
        ("p95", Align::Right),
        ("max", Align::Right),
        ("mean", Align::Right),
    ]);
    let mut add = |name: &str, dist: &Option<Distribution>| {
        if let Some(x) = dist {
            t.row(vec![
                Cell::text(name),
                Cell::short(x.min),
                Cell::short(x.median),
                Cell::short(x.p95),
                Cell::short(x.max),
                Cell::short(x.mean),
            ]);
        }
    };
    add("events per user", &d.events_per_user);
    add("events per session", &d.events_per_session);
    add("session duration (s)", &d.session_duration_seconds);
    t
}

fn rows_line(d: &DataSummary) -> Line {
    let r = &d.rows;
    let l = line()
        .strong(thousands(r.read))
        .text(" rows read = ")
        .strong(thousands(r.used))
        .text(" used + ")
        .strong(thousands(r.rejected))
        .text(" rejected");
    match (r.duplicates, r.duplicates_dropped) {
        (0, _) => l.text("."),
        (n, true) => l
            .text(" + ")
            .strong(thousands(n))
            .text(" exact duplicates dropped."),
        (n, false) => l.text(format!(
            ". {} of the used rows are exact copies of an earlier row (--drop-duplicates removes them).",
            thousands(n)
        )),
    }
    .done()
}

fn vocabulary(d: &DataSummary) -> Table {
    let mut vocab = Table::new(&[
        ("event", Align::Left),
        ("count", Align::Right),
        ("users", Align::Right),
    ]);
    for e in &d.event_vocabulary {
        vocab.row(vec![
            Cell::name(&e.event),
            Cell::count(e.count),
            Cell::count(e.users),
        ]);
    }
    vocab
}

/// The data section of the report.
pub fn document(d: &DataSummary) -> Document {
    let r = &d.rows;
    let mut doc = vec![Block::title(2, "Data"), Block::Para(rows_line(d))];
    if !r.rejected_by_reason.is_empty() {
        let mut rej = Table::new(&[("rejected because", Align::Left), ("rows", Align::Right)]);
        for rc in &r.rejected_by_reason {
            rej.row(vec![Cell::name(&rc.reason), Cell::count(rc.rows)]);
        }
        doc.push(Block::Table(rej));
    }
    let mut lines = vec![
        line()
            .text(format!(
                "{} users, {} sessions.",
                thousands(d.users),
                thousands(d.sessions)
            ))
            .done(),
    ];
    if let Some(tr) = &d.time_range {
        lines.push(
            line()
                .text(format!("Events from {} to {}.", tr.first, tr.last))
                .done(),
        );
    }
    doc.push(Block::Lines(lines));
    // No events: no statistics to tabulate (the warnings say why).
    if d.users > 0 {
        doc.push(Block::Table(distributions(d)));
        doc.push(Block::title(3, "Event vocabulary"));
        doc.push(Block::Table(vocabulary(d)));
    }
    if !d.notes.is_empty() {
        doc.push(Block::title(3, "Notes"));
        doc.push(Block::Bullets(
            d.notes.iter().map(|n| crate::doc::rich::parse(n)).collect(),
        ));
    }
    doc
}

/// What the run went on past, before the analyses' sections.
pub fn warnings(report: &Report) -> Document {
    if report.warnings.is_empty() {
        return Vec::new();
    }
    vec![
        Block::title(3, "Warnings"),
        Block::Bullets(
            report
                .warnings
                .iter()
                .map(|w| crate::doc::rich::parse(w))
                .collect(),
        ),
    ]
}

/// What `inspect` prints: the same facts, compact.
pub fn inspect(d: &DataSummary) -> Document {
    let r = &d.rows;
    let mut head = vec![
        line()
            .text(format!(
                "rows: {} read = {} used + {} rejected{}",
                thousands(r.read),
                thousands(r.used),
                thousands(r.rejected),
                match (r.duplicates, r.duplicates_dropped) {
                    (0, _) => String::new(),
                    (n, true) => format!(" + {} exact duplicates dropped", thousands(n)),
                    (n, false) => format!(
                        " ({} exact duplicates among the used; --drop-duplicates removes them)",
                        thousands(n)
                    ),
                }
            ))
            .done(),
    ];
    for rc in &r.rejected_by_reason {
        head.push(
            line()
                .text(format!(
                    "  rejected {:<24} {:>12}",
                    rc.reason,
                    thousands(rc.rows)
                ))
                .done(),
        );
    }
    head.push(
        line()
            .text(format!(
                "users: {}   sessions: {} (",
                thousands(d.users),
                thousands(d.sessions)
            ))
            .spans(sessions_from(&d.sessions_from))
            .text(")")
            .done(),
    );
    if let Some(tr) = &d.time_range {
        head.push(
            line()
                .text(format!("time range: {} .. {}", tr.first, tr.last))
                .done(),
        );
    }
    let mut doc = vec![Block::Lines(head)];
    if d.users > 0 {
        doc.push(Block::Table(distributions(d)));
        doc.push(Block::Table(vocabulary(d)));
    }
    let mut tail = Vec::new();
    if !d.properties.is_empty() {
        tail.push(
            line()
                .text("properties: ")
                .names(d.properties.iter().map(String::as_str), ", ")
                .done(),
        );
    }
    tail.extend(d.notes.iter().map(|n| {
        let mut l = vec![crate::doc::Span::Text("note: ".into())];
        l.extend(crate::doc::rich::parse(n));
        l
    }));
    if !tail.is_empty() {
        doc.push(Block::Lines(tail));
    }
    doc
}
