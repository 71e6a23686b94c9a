//! The stages section: the stage table, the journey as a flow diagram,
//! touchpoints, exits and the mapping used. Every number shown is a field
//! of [`StagesReport`].

use crate::doc::fmt::{count, pct, thousands};
use crate::doc::{Align, Block, Cell, Document, Flow, FlowEdge, FlowNode, Line, Table, line};
use crate::duration::human_seconds;
use crate::stages::{StagesReport, Touchpoint};

/// Touchpoints shown per cell of the touchpoint table.
const SHOWN: usize = 5;

fn users(n: u64) -> String {
    count(n, "user", "users")
}

/// "`a` 12, `b` 3", or "—".
fn list(items: &[Touchpoint], n: usize) -> Cell {
    if items.is_empty() {
        return Cell::text("—");
    }
    let mut l = line();
    for (i, t) in items.iter().take(n).enumerate() {
        if i > 0 {
            l = l.text(", ");
        }
        l = l.name(&t.name).text(format!(" {}", thousands(t.events)));
    }
    Cell::spans(l)
}

fn opt_list(items: Option<&[Touchpoint]>) -> Cell {
    items.map_or_else(|| Cell::text("—"), |v| list(v, SHOWN))
}

fn time(x: Option<f64>) -> Cell {
    x.map_or_else(|| Cell::text("—"), |s| Cell::num(s, human_seconds(s)))
}

/// The journey as a flow: a node per stage, the conversion on each edge,
/// and an exit node per stage that has a next stage and users who left.
pub fn flow(s: &StagesReport) -> Flow {
    let mut f = Flow::default();
    for (k, st) in s.stages.iter().enumerate() {
        f.nodes.push(FlowNode {
            id: format!("S{k}"),
            lines: vec![
                line().data(&st.name).done(),
                line()
                    .text(format!(
                        "{} ({})",
                        users(st.users_reached),
                        pct(st.share_of_users)
                    ))
                    .done(),
            ],
            exit: false,
        });
    }
    for (k, st) in s.stages.iter().enumerate() {
        if let Some(n) = &st.next {
            f.edges.push(FlowEdge {
                from: format!("S{k}"),
                to: format!("S{}", k + 1),
                label: Some(pct(n.conversion)),
                dotted: false,
                weight: s.stages.get(k + 1).map(|next| next.share_of_users),
            });
        }
    }
    for (k, st) in s.stages.iter().enumerate() {
        let Some(n) = st.next.as_ref().filter(|n| n.left > 0) else {
            continue;
        };
        let mut lines: Vec<Line> = vec![
            line()
                .text(format!("left: {} ({})", users(n.left), pct(n.left_share)))
                .done(),
        ];
        for e in &n.exit_points {
            lines.push(
                line()
                    .data(&e.event)
                    .text(format!(" ({})", thousands(e.users)))
                    .done(),
            );
        }
        f.nodes.push(FlowNode {
            id: format!("X{k}"),
            lines,
            exit: true,
        });
        f.edges.push(FlowEdge {
            from: format!("S{k}"),
            to: format!("X{k}"),
            label: None,
            dotted: true,
            weight: Some(st.share_of_users * n.left_share),
        });
    }
    f
}

fn overview(s: &StagesReport) -> Table {
    let mut t = Table::new(&[
        ("stage", Align::Left),
        ("users", Align::Right),
        ("% of users", Align::Right),
        ("→ next", Align::Right),
        ("median time", Align::Right),
        ("p90 time", Align::Right),
        ("top touchpoints", Align::Left),
    ]);
    for st in &s.stages {
        t.row(vec![
            Cell::data(&st.name),
            Cell::count(st.users_reached),
            Cell::pct(st.share_of_users),
            st.next
                .as_ref()
                .map_or_else(|| Cell::text("—"), |n| Cell::pct(n.conversion)),
            time(st.time_spent.map(|x| x.median_s)),
            time(st.time_spent.map(|x| x.p90_s)),
            list(&st.touchpoints.events, 3),
        ]);
    }
    t
}

fn touchpoints(s: &StagesReport) -> Table {
    let has_pages = s.stages.iter().any(|x| x.touchpoints.pages.is_some());
    let has_channels = s.stages.iter().any(|x| x.touchpoints.channels.is_some());
    let mut cols = vec![
        ("stage", Align::Left),
        ("events", Align::Left),
        ("events in stage", Align::Right),
    ];
    if has_pages {
        cols.push(("pages", Align::Left));
    }
    if has_channels {
        cols.push(("channels", Align::Left));
    }
    let mut tp = Table::new(&cols);
    for st in &s.stages {
        let mut row = vec![
            Cell::data(&st.name),
            list(&st.touchpoints.events, SHOWN),
            Cell::count(st.events),
        ];
        if has_pages {
            row.push(opt_list(st.touchpoints.pages.as_deref()));
        }
        if has_channels {
            row.push(opt_list(st.touchpoints.channels.as_deref()));
        }
        tp.row(row);
    }
    tp
}

fn exits(s: &StagesReport) -> Table {
    let mut ex = Table::new(&[
        ("stage", Align::Left),
        ("reached", Align::Right),
        ("went on to", Align::Left),
        ("left", Align::Right),
        ("% left", Align::Right),
        ("last event of those who left", Align::Left),
    ]);
    for st in s.stages.iter() {
        let Some(n) = &st.next else { continue };
        let last = if n.exit_points.is_empty() {
            Cell::text("—")
        } else {
            let mut l = line();
            for (i, e) in n.exit_points.iter().enumerate() {
                if i > 0 {
                    l = l.text(", ");
                }
                l = l.name(&e.event).text(format!(" {}", thousands(e.users)));
            }
            Cell::spans(l)
        };
        ex.row(vec![
            Cell::data(&st.name),
            Cell::count(st.users_reached),
            Cell::spans(
                line()
                    .data(&n.stage)
                    .text(format!(" ({})", thousands(n.users_next))),
            ),
            Cell::count(n.left),
            Cell::pct(n.left_share),
            last,
        ]);
    }
    ex
}

pub fn document(s: &StagesReport) -> Document {
    let mut doc = vec![
        Block::title(2, "Journey stages"),
        Block::text(format!(
            "{} users, {} events. Each event belongs to the first stage whose predicates match it; \
             \"→ next\" is the share of a stage's users who reached the next stage after entering \
             this one; time in a stage runs from its first event to the next event of a later stage \
             (definitions: docs/stages.md).",
            thousands(s.users),
            thousands(s.events)
        )),
        Block::Table(overview(s)),
        Block::Flow(flow(s)),
        Block::title(3, "Touchpoints"),
        Block::Table(touchpoints(s)),
        Block::title(3, "Where users left"),
        Block::Table(exits(s)),
        Block::title(3, "Stage mapping"),
    ];
    let mut mp = Table::new(&[
        ("stage", Align::Left),
        ("predicate", Align::Left),
        ("events taken", Align::Right),
    ]);
    for m in &s.mapping {
        for p in &m.predicates {
            mp.row(vec![
                Cell::data(&m.stage),
                Cell::name(&p.predicate),
                Cell::count(p.events),
            ]);
        }
    }
    doc.push(Block::Table(mp));
    if s.unmapped_events == 0 {
        doc.push(Block::text("Every event belongs to a stage."));
    } else {
        let one = s.unmapped_events == 1;
        let mut l = line().strong(thousands(s.unmapped_events)).text(format!(
            " {} ({}) {} to no stage; most common: ",
            if one { "event" } else { "events" },
            pct(s.unmapped_share),
            if one { "belongs" } else { "belong" },
        ));
        for (i, t) in s.top_unmapped.iter().enumerate() {
            if i > 0 {
                l = l.text(", ");
            }
            l = l.name(&t.name).text(format!(" {}", thousands(t.events)));
        }
        doc.push(Block::para(l.text(".")));
    }
    if !s.notes.is_empty() {
        doc.push(Block::Bullets(
            s.notes.iter().map(|n| crate::doc::rich::parse(n)).collect(),
        ));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::{NextStage, StageMapping, StageReport, TimeSpent, Touchpoints};

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
        let m = crate::doc::markdown::render(&[Block::Flow(flow(&report()))]);
        assert_eq!(
            m,
            "```mermaid\nflowchart LR\n\
             \x20   S0[\"Aware #quot;ness#quot; #lt;b#gt;#35;1<br/>8 users (100.0%)\"]\n\
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
        let md = crate::doc::markdown::render(&document(&report()));
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
        let md = crate::doc::markdown::render(&document(
            &crate::stages::analyze(&table, &cfg.stages).unwrap(),
        ));
        let golden = dir.join("tiny.report.md");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &md).unwrap();
        }
        assert_eq!(md, std::fs::read_to_string(&golden).unwrap_or_default());
    }
}
