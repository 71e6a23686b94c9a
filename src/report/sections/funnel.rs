//! The funnel section: a step table with bars, drop-off detail and the
//! breakdown by a property. `journeymap funnel` prints the same document.

use crate::doc::fmt::{pct, thousands};
use crate::doc::{Align, Block, Cell, Chart, Document, Line, Table, line};
use crate::duration::human_seconds;
use crate::funnel::{EventCount, FunnelReport, Per};

fn unit(f: &FunnelReport) -> &'static str {
    match f.per {
        Per::User => "users",
        Per::Session => "sessions",
    }
}

pub fn step_table(f: &FunnelReport) -> Table {
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("step", Align::Left),
        ("reached", Align::Right),
        ("", Align::Left),
        ("from first", Align::Right),
        ("from previous", Align::Right),
        ("dropped", Align::Right),
        ("median time", Align::Right),
        ("p90 time", Align::Right),
    ]);
    let time = |x: Option<f64>| x.map_or(Cell::Missing, |s| Cell::num(s, human_seconds(s)));
    for s in &f.step_stats {
        let first = s.step == 1;
        t.row(vec![
            Cell::count(s.step as u64),
            Cell::name(&s.label),
            Cell::count(s.reached),
            Cell::Bar(s.conversion_from_first),
            Cell::pct(s.conversion_from_first),
            if first {
                Cell::Missing
            } else {
                Cell::pct(s.conversion_from_previous)
            },
            if first {
                Cell::Missing
            } else {
                Cell::count(s.dropped_before)
            },
            time(s.median_seconds_from_previous),
            time(s.p90_seconds_from_previous),
        ]);
    }
    t
}

/// Time from step 1 among converters, per step, and the last step's
/// histogram; units still inside their window at the export's end are
/// named apart from the drop-outs.
fn time_to_convert(f: &FunnelReport) -> Document {
    let unit = unit(f);
    let mut doc = vec![Block::title(3, "Time to convert")];
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("step", Align::Left),
        ("converted", Align::Right),
        ("median from step 1", Align::Right),
        ("p90", Align::Right),
        ("mean", Align::Right),
        ("dropped", Align::Right),
        ("of which still open", Align::Right),
    ]);
    let time = |s: f64| Cell::num(s, human_seconds(s));
    for s in f.step_stats.iter().skip(1) {
        let Some(tc) = &s.time_from_first else {
            continue;
        };
        t.row(vec![
            Cell::count(s.step as u64),
            Cell::name(&s.label),
            Cell::count(tc.units),
            time(tc.median_seconds),
            time(tc.p90_seconds),
            time(tc.mean_seconds),
            Cell::count(s.dropped_before),
            Cell::count(s.still_open_before),
        ]);
    }
    doc.push(Block::Table(t));
    let open: u64 = f.step_stats.iter().map(|s| s.still_open_before).sum();
    doc.push(Block::text(format!(
        "Still open: {} {unit} whose window had not closed by the export's last event; they may yet convert, so read the drop-off of the newest {unit} with care.",
        thousands(open)
    )));
    if let Some(last) = f.step_stats.last().and_then(|s| s.time_from_first.as_ref()) {
        doc.push(Chart::bars(
            "Time from step 1 to the last step",
            format!("share of the {unit} who converted"),
            last.histogram
                .iter()
                .map(|b| {
                    (
                        line().text(&b.label).done(),
                        b.units as f64 / last.units.max(1) as f64,
                    )
                })
                .collect(),
        ));
    }
    doc
}

fn event_list(v: &[EventCount]) -> Line {
    let mut l = line();
    for (i, e) in v.iter().enumerate() {
        if i > 0 {
            l = l.text(", ");
        }
        l = l.name(&e.event).text(format!(" {}", thousands(e.units)));
    }
    l.done()
}

pub fn dropoff_table(f: &FunnelReport) -> Table {
    let mut t = Table::new(&[
        ("stopped after", Align::Left),
        ("units", Align::Right),
        ("did next instead", Align::Left),
        ("last event (exit point)", Align::Left),
    ]);
    for s in f.step_stats.iter().filter(|s| s.stopped_here > 0) {
        t.row(vec![
            Cell::spans(line().text(format!("{}. ", s.step)).name(&s.label)),
            Cell::count(s.stopped_here),
            Cell::spans(event_list(&s.next_events_of_stopped)),
            Cell::spans(event_list(&s.exit_events_of_stopped)),
        ]);
    }
    t
}

/// The funnel's first sentence: mode, unit, window and the headline figures.
pub fn summary(f: &FunnelReport) -> Line {
    let unit = unit(f);
    let window = match (&f.window, f.per) {
        (Some(w), Per::User) => format!("window {w}"),
        (Some(w), Per::Session) => format!("within a session and a window of {w}"),
        (None, _) => "within a session".to_string(),
    };
    line()
        .text(format!(
            "{} funnel over {unit}, {window}; ",
            format!("{:?}", f.mode).to_lowercase()
        ))
        .strong(thousands(f.entered))
        .text(format!(" of {} {unit} entered, ", thousands(f.units)))
        .strong(pct(f.overall_conversion))
        .text(" converted overall.")
        .done()
}

pub fn document(f: &FunnelReport) -> Document {
    let unit = unit(f);
    let mut doc = vec![Block::title(2, "Funnel"), Block::Para(summary(f))];
    if !f.exclude.is_empty() {
        doc.push(Block::para(
            line()
                .text(format!(
                    "Excluded: {} {unit} whose every attempt contained ",
                    thousands(f.excluded)
                ))
                .names(f.exclude.iter().map(String::as_str), ", ")
                .text("."),
        ));
    }
    doc.push(Block::Table(step_table(f)));
    doc.push(Chart::bars(
        "Funnel",
        format!("share of the {unit} who entered"),
        f.step_stats
            .iter()
            .map(|s| (line().name(&s.label).done(), s.conversion_from_first))
            .collect(),
    ));
    if f.step_stats.iter().any(|s| s.time_from_first.is_some()) {
        doc.extend(time_to_convert(f));
    }
    if f.step_stats.iter().any(|s| s.stopped_here > 0) {
        doc.push(Block::title(3, "Where they go instead"));
        doc.push(Block::Table(dropoff_table(f)));
    }
    if let Some(tr) = &f.trend {
        doc.push(Block::title(
            3,
            &format!("Trend by {} of entry", tr.interval),
        ));
        let mut cols = vec![
            ("cohort".to_string(), Align::Left),
            ("entered".into(), Align::Right),
        ];
        cols.extend((2..=f.steps.len()).map(|s| (format!("→ step {s}"), Align::Right)));
        cols.push(("overall".into(), Align::Right));
        cols.push(("still open".into(), Align::Right));
        let refs: Vec<(&str, Align)> = cols.iter().map(|(h, a)| (h.as_str(), *a)).collect();
        let mut t = Table::new(&refs);
        for c in &tr.cohorts {
            let mut row = vec![Cell::text(&c.cohort), Cell::count(c.reached[0])];
            row.extend(c.step_conversion.iter().map(|&x| Cell::pct(x)));
            row.push(Cell::pct(c.overall_conversion));
            row.push(Cell::count(c.still_open));
            t.row(row);
        }
        doc.push(Block::Table(t));
        doc.push(Block::text(format!(
            "A cohort is the {} (UTC) of the best attempt's step-1 event; \"still open\" counts its {unit} that had not converted while their window was still open at the export's end, so the newest cohorts' rates are not final.",
            tr.interval
        )));
    }
    if let Some(b) = &f.breakdown {
        doc.push(Block::heading(3, line().text("By ").name(&b.property)));
        let head = |s: String| line().text(s).done();
        let mut cols = vec![
            (head("value".into()), Align::Left),
            (head("entered".into()), Align::Right),
        ];
        cols.extend((2..=f.steps.len()).map(|s| (head(format!("→ step {s}")), Align::Right)));
        cols.push((head("overall".into()), Align::Right));
        let mut t = Table::with_columns(cols);
        for g in &b.groups {
            let mut row = vec![Cell::name(&g.value), Cell::count(g.reached[0])];
            for (i, c) in g.step_conversion.iter().enumerate() {
                let flag = g.significant.iter().any(|s| s.step == i + 2);
                row.push(if flag {
                    Cell::spans(line().strong(pct(*c)))
                } else {
                    Cell::pct(*c)
                });
            }
            row.push(Cell::pct(g.overall_conversion));
            t.row(row);
        }
        doc.push(Block::Table(t));
        doc.push(Block::text(format!(
            "Bold: differs from all other groups ({}).",
            b.test
        )));
    }
    doc
}
