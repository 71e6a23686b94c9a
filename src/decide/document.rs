//! decide's Markdown (decide.md and the terminal).

use super::DecideReport;
use super::backtest::Backtest;
use crate::doc::{Align, Block, Cell, Document, Table, line};

pub fn document(r: &DecideReport, bt: Option<&Backtest>) -> Document {
    let mut doc = vec![Block::title(1, &format!("Decisions as of {}", r.as_of))];
    if r.kill_switch {
        doc.push(Block::para(
            line()
                .strong("Kill switch on:")
                .text(" [decide] enabled = false, no action for anyone.")
                .done(),
        ));
    }
    if r.preview {
        doc.push(Block::para(
            line()
                .strong("A preview:")
                .text(" decided without the state of earlier runs (caps and cool-downs count none), overrides, erasure or pseudonyms. Act on the nightly ")
                .name("journeymap decide --state")
                .text(" instead (docs/decisions.md).")
                .done(),
        ));
    }
    doc.push(Block::text(format!(
        "{} customers; {} with an action (total value {:.2}); {} without.{}",
        r.customers,
        r.with_action,
        r.value,
        r.customers - r.with_action,
        if r.pseudonymized {
            " User ids are pseudonymized."
        } else {
            ""
        }
    )));

    doc.push(Block::title(2, "Sources"));
    let mut t = Table::new(&[
        ("source", Align::Left),
        ("rows", Align::Right),
        ("used", Align::Right),
        ("rejected", Align::Right),
        ("erased", Align::Right),
        ("after run date", Align::Right),
        ("unknown users", Align::Right),
    ]);
    for s in &r.sources {
        t.row(vec![
            Cell::name(&s.source),
            Cell::count(s.rows),
            Cell::count(s.used),
            Cell::count(s.rejected_rows()),
            Cell::count(s.erased),
            Cell::count(s.after_as_of),
            Cell::count(s.unknown_users),
        ]);
    }
    doc.push(Block::Table(t));
    // Built from the figures, not from `notes`: each data-derived piece
    // gets the renderer's escaping.
    let mut bullets = Vec::new();
    for s in &r.sources {
        if s.rejected_rows() == 0 {
            continue;
        }
        let mut l = line().name(&s.source).text(": rows rejected:");
        for (i, (k, x)) in s.rejected.iter().enumerate() {
            l = l
                .text(if i == 0 { " " } else { ", " })
                .text(format!("{} {k}", x.rows));
            if x.first_line > 0 {
                l = l.text(format!(" (first at line {})", x.first_line));
            }
        }
        bullets.push(l.done());
    }
    for o in &r.odd_consent {
        let mut l = line()
            .name(&o.column)
            .text(format!(": {} consent cells are not yes/no (", o.rows));
        for (i, v) in o.values.iter().enumerate() {
            l = l.text(if i == 0 { "" } else { ", " }).data(v);
        }
        bullets.push(
            l.text(format!(
                "; first at line {}): counted as no consent",
                o.first_line
            ))
            .done(),
        );
    }
    for p in &r.pathways {
        if let Some(m) = p.model.as_ref().filter(|m| *m != "usable") {
            bullets.push(
                line()
                    .name(&p.name)
                    .text(": model not used: ")
                    .data(m)
                    .done(),
            );
        }
    }
    if r.overrides.unknown_users > 0 {
        bullets.push(
            line()
                .text(format!(
                    "{} override rules name users who are not in the customer table",
                    r.overrides.unknown_users
                ))
                .done(),
        );
    }
    if !bullets.is_empty() {
        doc.push(Block::Bullets(bullets));
    }

    doc.push(Block::title(2, "Consent"));
    let mut t = Table::new(&[
        ("purpose or channel", Align::Left),
        ("without consent", Align::Right),
    ]);
    for (k, n) in &r.without_purpose_consent {
        t.row(vec![Cell::name(format!("purpose {k}")), Cell::count(*n)]);
    }
    for (k, n) in &r.without_channel_consent {
        t.row(vec![Cell::name(format!("channel {k}")), Cell::count(*n)]);
    }
    doc.push(Block::Table(t));

    doc.push(Block::title(2, "Triggers"));
    let mut t = Table::new(&[
        ("trigger", Align::Left),
        ("kind", Align::Left),
        ("fired", Align::Right),
    ]);
    for tr in &r.triggers {
        t.row(vec![
            Cell::name(&tr.name),
            Cell::text(
                serde_json::to_value(tr.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ),
            Cell::count(tr.fired),
        ]);
    }
    doc.push(Block::Table(t));

    doc.push(Block::title(2, "Pathways"));
    let mut t = Table::new(&[
        ("pathway", Align::Left),
        ("purpose", Align::Left),
        ("state", Align::Left),
        ("chosen", Align::Right),
        ("value", Align::Right),
        ("stopped at", Align::Left),
    ]);
    for p in &r.pathways {
        let state = match (&p.fallback_for, p.enabled, &p.model) {
            (_, false, _) => "off".to_string(),
            (Some(f), _, _) => format!("fallback for {f}"),
            (None, _, Some(m)) if m == "usable" => "model in use".into(),
            (None, _, Some(_)) => "model not used".into(),
            (None, _, None) => "rules".into(),
        };
        let stopped: Vec<String> = p.stopped.iter().map(|(k, n)| format!("{k} {n}")).collect();
        t.row(vec![
            Cell::name(&p.name),
            Cell::name(&p.purpose),
            Cell::text(state),
            Cell::count(p.chosen),
            Cell::fixed(p.value, 2),
            Cell::text(stopped.join(", ")),
        ]);
    }
    doc.push(Block::Table(t));

    let mut t = Table::new(&[("action", Align::Left), ("users", Align::Right)]);
    for (a, n) in &r.actions {
        t.row(vec![Cell::name(a), Cell::count(*n)]);
    }
    if !t.is_empty() {
        doc.push(Block::title(2, "Actions"));
        doc.push(Block::Table(t));
    }
    let mut t = Table::new(&[
        ("reason for no action", Align::Left),
        ("users", Align::Right),
    ]);
    for (a, n) in &r.no_action {
        t.row(vec![Cell::text(a), Cell::count(*n)]);
    }
    if !t.is_empty() {
        doc.push(Block::title(2, "No action"));
        doc.push(Block::Table(t));
    }
    let o = &r.overrides;
    if o.rules > 0 {
        doc.push(Block::title(2, "Overrides"));
        doc.push(Block::text(format!(
            "{} rules: {} users suppressed, {} forced, {} forced actions refused (no consent); {} rules name unknown users.",
            o.rules, o.suppressed, o.forced, o.refused, o.unknown_users
        )));
    }
    if let Some(b) = bt {
        doc.extend(backtest(b));
    }
    doc
}

pub fn backtest(b: &Backtest) -> Document {
    let mut doc = vec![Block::title(2, "Back-test")];
    doc.push(Block::text(format!(
        "{} run dates from {} to {} every {} days, {} customers.",
        b.dates.len(),
        b.from,
        b.to,
        b.every_days,
        b.customers
    )));
    let mut t = Table::new(&[
        ("trigger", Align::Left),
        ("users fired", Align::Right),
        ("mean per night", Align::Right),
        ("outcome", Align::Left),
        ("precision", Align::Right),
        ("base rate", Align::Right),
        ("lift", Align::Right),
    ]);
    for tr in &b.triggers {
        let mean =
            tr.fired_per_date.iter().sum::<u64>() as f64 / tr.fired_per_date.len().max(1) as f64;
        t.row(vec![
            Cell::name(&tr.name),
            Cell::count(tr.users),
            Cell::fixed(mean, 1),
            Cell::opt(tr.outcome.as_ref().map(|o| {
                Cell::data(format!(
                    "{o} within {}d",
                    tr.outcome_within_days.unwrap_or(0)
                ))
            })),
            Cell::opt(tr.precision.map(Cell::pct)),
            Cell::opt(tr.base_rate.map(Cell::pct)),
            Cell::opt(tr.lift.map(|l| Cell::fixed(l, 1))),
        ]);
    }
    doc.push(Block::Table(t));
    doc
}
