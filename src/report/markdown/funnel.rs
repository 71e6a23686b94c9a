//! The funnel section: a step table with bar glyphs, drop-off detail and the
//! breakdown. `step_table` is shared with the terminal output.

use std::fmt::Write;

use crate::duration::human_seconds;
use crate::funnel::FunnelReport;
use crate::table::{Align, Table, thousands};

const BAR_WIDTH: usize = 20;

fn bar(share: f64) -> String {
    let full = ((share * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
    format!("{}{}", "█".repeat(full), "░".repeat(BAR_WIDTH - full))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub fn step_table(f: &FunnelReport, code: bool) -> Table {
    let mut t = Table::new(
        &[
            "#",
            "step",
            "reached",
            "",
            "from first",
            "from previous",
            "dropped",
            "median time",
            "p90 time",
        ],
        &[
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    );
    for s in &f.step_stats {
        let label = if code {
            format!("`{}`", s.label)
        } else {
            s.label.clone()
        };
        let time = |x: Option<f64>| x.map(human_seconds).unwrap_or_else(|| "-".into());
        t.row(vec![
            s.step.to_string(),
            label,
            thousands(s.reached),
            bar(s.conversion_from_first),
            pct(s.conversion_from_first),
            if s.step == 1 {
                "-".into()
            } else {
                pct(s.conversion_from_previous)
            },
            if s.step == 1 {
                "-".into()
            } else {
                thousands(s.dropped_before)
            },
            time(s.median_seconds_from_previous),
            time(s.p90_seconds_from_previous),
        ]);
    }
    t
}

pub fn dropoff_table(f: &FunnelReport, code: bool) -> Table {
    let q = |s: &str| {
        if code {
            format!("`{s}`")
        } else {
            s.to_string()
        }
    };
    let mut t = Table::new(
        &[
            "stopped after",
            "units",
            "did next instead",
            "last event (exit point)",
        ],
        &[Align::Left, Align::Right, Align::Left, Align::Left],
    );
    let list = |v: &[crate::funnel::EventCount]| {
        v.iter()
            .map(|e| format!("{} {}", q(&e.event), thousands(e.units)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for s in f.step_stats.iter().filter(|s| s.stopped_here > 0) {
        t.row(vec![
            format!("{}. {}", s.step, q(&s.label)),
            thousands(s.stopped_here),
            list(&s.next_events_of_stopped),
            list(&s.exit_events_of_stopped),
        ]);
    }
    t
}

pub fn render(f: &FunnelReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Funnel\n");
    let unit = match f.per {
        crate::funnel::Per::User => "users",
        crate::funnel::Per::Session => "sessions",
    };
    let window = f
        .window
        .as_deref()
        .map_or("within a session".to_string(), |w| format!("window {w}"));
    let _ = writeln!(
        out,
        "{} funnel over {}, {}; **{}** of {} {} entered, **{}** converted overall.",
        format!("{:?}", f.mode).to_lowercase(),
        unit,
        window,
        thousands(f.entered),
        thousands(f.units),
        unit,
        pct(f.overall_conversion)
    );
    if !f.exclude.is_empty() {
        let _ = writeln!(
            out,
            "\nExcluded: {} {unit} whose every attempt contained {}.",
            thousands(f.excluded),
            f.exclude
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.push('\n');
    out += &step_table(f, true).to_markdown();
    let drop = dropoff_table(f, true);
    if f.step_stats.iter().any(|s| s.stopped_here > 0) {
        let _ = writeln!(out, "\n### Where they go instead\n");
        out += &drop.to_markdown();
    }
    if let Some(b) = &f.breakdown {
        let _ = writeln!(out, "\n### By `{}`\n", b.property);
        let mut header = vec!["value".to_string(), "entered".to_string()];
        header.extend((2..=f.steps.len()).map(|s| format!("→ step {s}")));
        header.push("overall".into());
        let h: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut align = vec![Align::Left];
        align.extend(std::iter::repeat_n(Align::Right, h.len() - 1));
        let mut t = Table::new(&h, &align);
        for g in &b.groups {
            let mut row = vec![format!("`{}`", g.value), thousands(g.reached[0])];
            for (i, c) in g.step_conversion.iter().enumerate() {
                let flag = g.significant.iter().any(|s| s.step == i + 2);
                row.push(if flag {
                    format!("**{}**", pct(*c))
                } else {
                    pct(*c)
                });
            }
            row.push(pct(g.overall_conversion));
            t.row(row);
        }
        out += &t.to_markdown();
        let _ = writeln!(out, "\nBold: differs from all other groups ({}).", b.test);
    }
    out
}
