//! The stages section of report.md: the stage table, the journey as a
//! Mermaid flowchart, touchpoints, exits and the mapping used. Every number
//! shown is a field of [`StagesReport`]; this module only formats.

use std::fmt::Write;

use crate::stages::{StageReport, StagesReport, Touchpoint};
use crate::table::{Align, Table, thousands};

/// Touchpoints shown per cell of the touchpoint table.
const SHOWN: usize = 5;

pub fn render(s: &StagesReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Journey stages\n");
    let _ = writeln!(
        out,
        "{} users, {} events. Each event belongs to the first stage whose predicates match it; \
         \"→ next\" is the share of a stage's users who reached the next stage after entering \
         this one; time in a stage runs from its first event to the next event of a later stage \
         (definitions: docs/stages.md).\n",
        thousands(s.users),
        thousands(s.events)
    );

    let mut t = Table::new(
        &[
            "stage",
            "users",
            "% of users",
            "→ next",
            "median time",
            "p90 time",
            "top touchpoints",
        ],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
        ],
    );
    for st in &s.stages {
        t.row(vec![
            st.name.clone(),
            thousands(st.users_reached),
            pct(st.share_of_users),
            st.next
                .as_ref()
                .map_or_else(|| "—".to_string(), |n| pct(n.conversion)),
            st.time_spent
                .map_or_else(|| "—".to_string(), |x| duration(x.median_s)),
            st.time_spent
                .map_or_else(|| "—".to_string(), |x| duration(x.p90_s)),
            list(&st.touchpoints.events, 3),
        ]);
    }
    out += &t.to_markdown();
    out.push('\n');
    out += &mermaid(s);

    let _ = writeln!(out, "\n### Touchpoints\n");
    let has_pages = s.stages.iter().any(|x| x.touchpoints.pages.is_some());
    let has_channels = s.stages.iter().any(|x| x.touchpoints.channels.is_some());
    let mut header = vec!["stage", "events", "events in stage"];
    if has_pages {
        header.push("pages");
    }
    if has_channels {
        header.push("channels");
    }
    let mut align = vec![Align::Left, Align::Left, Align::Right];
    align.resize(header.len(), Align::Left);
    let mut tp = Table::new(&header, &align);
    for st in &s.stages {
        let mut row = vec![
            st.name.clone(),
            list(&st.touchpoints.events, SHOWN),
            thousands(st.events),
        ];
        if has_pages {
            row.push(opt_list(st.touchpoints.pages.as_deref()));
        }
        if has_channels {
            row.push(opt_list(st.touchpoints.channels.as_deref()));
        }
        tp.row(row);
    }
    out += &tp.to_markdown();

    let _ = writeln!(out, "\n### Where users left\n");
    let mut ex = Table::new(
        &[
            "stage",
            "reached",
            "went on to",
            "left",
            "% left",
            "last event of those who left",
        ],
        &[
            Align::Left,
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Left,
        ],
    );
    for st in &s.stages {
        if let Some(n) = &st.next {
            let exits: Vec<String> = n
                .exit_points
                .iter()
                .map(|e| format!("`{}` {}", e.event, thousands(e.users)))
                .collect();
            ex.row(vec![
                st.name.clone(),
                thousands(st.users_reached),
                format!("{} ({})", n.stage, thousands(n.users_next)),
                thousands(n.left),
                pct(n.left_share),
                dash_if_empty(exits.join(", ")),
            ]);
        }
    }
    out += &ex.to_markdown();

    let _ = writeln!(out, "\n### Stage mapping\n");
    let mut mp = Table::new(
        &["stage", "predicate", "events taken"],
        &[Align::Left, Align::Left, Align::Right],
    );
    for m in &s.mapping {
        for p in &m.predicates {
            mp.row(vec![
                m.stage.clone(),
                format!("`{}`", p.predicate),
                thousands(p.events),
            ]);
        }
    }
    out += &mp.to_markdown();
    out.push('\n');
    if s.unmapped_events == 0 {
        let _ = writeln!(out, "Every event belongs to a stage.");
    } else {
        let one = s.unmapped_events == 1;
        let _ = writeln!(
            out,
            "**{}** {} ({}) {} to no stage; most common: {}.",
            thousands(s.unmapped_events),
            if one { "event" } else { "events" },
            pct(s.unmapped_share),
            if one { "belongs" } else { "belong" },
            list(&s.top_unmapped, s.top_unmapped.len())
        );
    }
    for n in &s.notes {
        let _ = writeln!(out, "\n- {n}");
    }
    out
}

/// The journey as a left-to-right flowchart: a node per stage (S0, S1, …),
/// the conversion on each edge, and a dotted exit node (X0, …) per stage
/// that has a next stage and users who left.
pub fn mermaid(s: &StagesReport) -> String {
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (k, st) in s.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "    S{k}[\"{}<br/>{} ({})\"]",
            mermaid_text(&st.name),
            users(st.users_reached),
            pct(st.share_of_users)
        );
    }
    for (k, st) in s.stages.iter().enumerate() {
        if let Some(n) = &st.next {
            let _ = writeln!(out, "    S{k} -->|{}| S{}", pct(n.conversion), k + 1);
        }
    }
    let mut exits = Vec::new();
    for (k, st) in s.stages.iter().enumerate() {
        if let Some(label) = exit_label(st) {
            let _ = writeln!(out, "    X{k}[\"{label}\"]");
            let _ = writeln!(out, "    S{k} -.-> X{k}");
            exits.push(format!("X{k}"));
        }
    }
    if !exits.is_empty() {
        out += "    classDef exit fill:#fdf0f0,stroke:#c0392b,stroke-dasharray:4 3\n";
        let _ = writeln!(out, "    class {} exit", exits.join(","));
    }
    out += "```\n";
    out
}

fn exit_label(st: &StageReport) -> Option<String> {
    let n = st.next.as_ref().filter(|n| n.left > 0)?;
    let mut label = format!("left: {} ({})", users(n.left), pct(n.left_share));
    for e in &n.exit_points {
        let _ = write!(
            label,
            "<br/>{} ({})",
            mermaid_text(&e.event),
            thousands(e.users)
        );
    }
    Some(label)
}

/// Text for a quoted Mermaid label: entity codes for the characters that
/// would end the label or be read as markup, and no line breaks.
pub fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// "1 user", "1,200 users".
fn users(n: u64) -> String {
    format!("{} user{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// A share as a percentage with at most one decimal: 0.625 → "62.5%".
fn pct(x: f64) -> String {
    let s = format!("{:.1}", x * 100.0);
    format!("{}%", s.strip_suffix(".0").unwrap_or(&s))
}

/// Seconds as a readable span, the same everywhere in the report.
fn duration(secs: f64) -> String {
    crate::duration::human_seconds(secs)
}

fn list(items: &[Touchpoint], n: usize) -> String {
    let v: Vec<String> = items
        .iter()
        .take(n)
        .map(|t| format!("`{}` {}", t.name, thousands(t.events)))
        .collect();
    dash_if_empty(v.join(", "))
}

fn opt_list(items: Option<&[Touchpoint]>) -> String {
    items.map_or_else(|| "—".to_string(), |v| list(v, SHOWN))
}

fn dash_if_empty(s: String) -> String {
    if s.is_empty() { "—".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::{NextStage, StageMapping, TimeSpent, Touchpoints};

    fn report() -> StagesReport {
        let stage = |name: &str, users: u64, next: Option<NextStage>| StageReport {
            name: name.into(),
            events: users * 2,
            users_reached: users,
            share_of_users: users as f64 / 8.0,
            touchpoints: Touchpoints {
                events: vec![Touchpoint {
                    name: "page_view".into(),
                    events: users * 2,
                    users,
                }],
                pages: None,
                channels: None,
            },
            time_spent: Some(TimeSpent {
                median_s: 200.0,
                p90_s: 7_300.0,
            }),
            next,
        };
        StagesReport {
            users: 8,
            events: 20,
            mapping: vec![StageMapping {
                stage: "Aware \"ness\"".into(),
                predicates: vec![],
            }],
            stages: vec![
                stage(
                    "Aware \"ness\" <b>#1",
                    8,
                    Some(NextStage {
                        stage: "Buy".into(),
                        users_next: 5,
                        conversion: 0.625,
                        left: 3,
                        left_share: 0.375,
                        exit_points: vec![crate::stages::ExitPoint {
                            event: "search".into(),
                            users: 3,
                        }],
                    }),
                ),
                stage("Buy", 5, None),
            ],
            unmapped_events: 0,
            unmapped_share: 0.0,
            top_unmapped: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn mermaid_nodes_edges_exits_and_escaping() {
        let m = mermaid(&report());
        assert_eq!(
            m,
            "```mermaid\nflowchart LR\n\
             \x20   S0[\"Aware #quot;ness#quot; #lt;b#gt;#35;1<br/>8 users (100%)\"]\n\
             \x20   S1[\"Buy<br/>5 users (62.5%)\"]\n\
             \x20   S0 -->|62.5%| S1\n\
             \x20   X0[\"left: 3 users (37.5%)<br/>search (3)\"]\n\
             \x20   S0 -.-> X0\n\
             \x20   classDef exit fill:#fdf0f0,stroke:#c0392b,stroke-dasharray:4 3\n\
             \x20   class X0 exit\n\
             ```\n"
        );
    }

    #[test]
    fn the_section_has_the_table_and_the_flowchart() {
        let md = render(&report());
        assert!(md.starts_with("## Journey stages\n"), "{md}");
        assert!(md.contains("| Buy "), "{md}");
        assert!(
            md.contains("62.5%") && md.contains("3m 20s") && md.contains("2h 1m"),
            "{md}"
        );
        assert!(md.contains("```mermaid\nflowchart LR\n"), "{md}");
        assert!(md.contains("Every event belongs to a stage."), "{md}");
    }

    /// The worked example of docs/stages.md, rendered; UPDATE_GOLDEN=1 rewrites it.
    #[test]
    fn tiny_fixture_matches_golden() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stages");
        let table = crate::ingest::ingest(
            &[dir.join("tiny.csv")],
            &crate::ingest::IngestOptions::default(),
            &crate::progress::Progress::silent(),
        )
        .unwrap()
        .table;
        let text = std::fs::read_to_string(dir.join("tiny.toml")).unwrap();
        let cfg = crate::config::parse(&text).unwrap();
        let md = render(&crate::stages::analyze(&table, &cfg.stages).unwrap());
        let golden = dir.join("tiny.report.md");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &md).unwrap();
        }
        assert_eq!(md, std::fs::read_to_string(&golden).unwrap_or_default());
    }

    #[test]
    fn formats() {
        assert_eq!(pct(1.0), "100%");
        assert_eq!(pct(0.333333), "33.3%");
        assert_eq!(pct(0.6), "60%");
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(200.0), "3m 20s");
        assert_eq!(duration(7_260.0), "2h 1m");
        assert_eq!(users(1), "1 user");
        assert_eq!(mermaid_text("a\nb`c&"), "a b#96;c#amp;");
    }
}
