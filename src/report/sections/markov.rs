//! The Markov journey map section; `journeymap paths` prints the same
//! document.

use crate::doc::fmt::{count, pct, thousands};
use crate::doc::{Align, Block, Cell, Chart, Document, Line, Table, line};
use crate::paths::{MarkovReport, PathCount, StateKind, Transition};

/// Transitions shown in the "top transitions" table.
pub const TOP_TRANSITIONS: usize = 15;

/// "events" or "journey stages".
pub fn kind_label(kind: StateKind) -> &'static str {
    match kind {
        StateKind::Event => "events",
        StateKind::Stage => "journey stages",
    }
}

fn events(n: u64) -> String {
    count(n, "event", "events")
}

/// The facts above the tables, one sentence per line.
pub fn summary_lines(m: &MarkovReport) -> Vec<Line> {
    let p_start = m.states.first().map_or(0.0, |s| s.p_conversion);
    let mut lines = vec![
        line()
            .text(format!(
                "{} sessions, {} converted ({}); P(CONVERSION | START) = {:.4}.",
                thousands(m.sessions),
                thousands(m.converted_sessions),
                pct(m.conversion_rate),
                p_start
            ))
            .done(),
    ];
    if m.skipped_events > 0 {
        lines.push(
            line()
                .text(format!(
                    "{} mapped to no stage {} skipped.",
                    events(m.skipped_events),
                    if m.skipped_events == 1 { "was" } else { "were" }
                ))
                .done(),
        );
    }
    if m.events_after_conversion > 0 {
        lines.push(
            line()
                .text(format!(
                    "{} after their session's conversion {} not part of any path.",
                    events(m.events_after_conversion),
                    if m.events_after_conversion == 1 {
                        "is"
                    } else {
                        "are"
                    }
                ))
                .done(),
        );
    }
    if m.order > 1 {
        lines.push(
            line()
                .text(format!(
                    "Order {}: a state remembers the last {} states of its path ({} histories); a state's p(conversion) averages its histories by the sessions first reaching it through each; {}.",
                    m.order,
                    m.order,
                    thousands(m.chain_states),
                    if m.removal_order == m.order {
                        "removing a state removes every history ending in it"
                    } else {
                        "removal effects are first-order (too many histories to re-solve per state)"
                    }
                ))
                .done(),
        );
    }
    let gaps: Vec<&str> = m
        .states
        .iter()
        .filter(|s| s.gap)
        .map(|s| s.state.as_str())
        .collect();
    if !gaps.is_empty() {
        let mut l = line().text(format!(
            "{} {} where the chain's p(conversion) and the observed share differ by {:.2} or more (marked !): ",
            gaps.len(),
            if gaps.len() == 1 { "state" } else { "states" },
            crate::paths::GAP_FLAG
        ));
        for (i, g) in gaps.iter().take(5).enumerate() {
            if i > 0 {
                l = l.text(", ");
            }
            l = l.name(*g);
        }
        if gaps.len() > 5 {
            l = l.text(format!(" and {} more", gaps.len() - 5));
        }
        let hint = if m.order < crate::paths::MAX_ORDER {
            format!(
                ". Where a session came from matters there; try --order {} (or [markov] order = {}).",
                m.order + 1,
                m.order + 1
            )
        } else {
            ". Where a session came from matters there even at the highest order.".to_string()
        };
        lines.push(l.text(hint).done());
    }
    if m.converted_sessions == 0 && m.sessions > 0 {
        lines.push(
            line()
                .text("No session converted: every conversion probability is 0.")
                .done(),
        );
    }
    lines
}

/// A state's label: START, CONVERSION and EXIT are ours, the rest data.
fn state(s: &str) -> Cell {
    match s {
        crate::paths::START | crate::paths::CONVERSION | crate::paths::EXIT => Cell::text(s),
        _ => Cell::data(s),
    }
}

pub fn states_table(m: &MarkovReport) -> Table {
    let mut t = Table::new(&[
        ("state", Align::Left),
        ("visits", Align::Right),
        ("p(conversion)", Align::Right),
        ("sessions", Align::Right),
        ("observed", Align::Right),
        ("removal effect", Align::Right),
        ("share", Align::Right),
    ]);
    for s in &m.states {
        let observed = s.observed_conversion.map(|o| {
            if s.gap {
                Cell::text(format!("{o:.4} !"))
            } else {
                Cell::fixed(o, 4)
            }
        });
        t.row(vec![
            state(&s.state),
            Cell::count(s.visits),
            Cell::fixed(s.p_conversion, 4),
            Cell::count(s.sessions),
            Cell::opt(observed),
            Cell::opt(s.removal_effect.map(|v| Cell::fixed(v, 4))),
            Cell::opt(s.removal_share.map(Cell::pct)),
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
    let mut t = Table::new(&[
        ("from", Align::Left),
        ("to", Align::Left),
        ("count", Align::Right),
        ("probability", Align::Right),
    ]);
    for r in rows {
        t.row(vec![
            state(&r.from),
            state(&r.to),
            Cell::count(r.count),
            Cell::fixed(r.probability, 4),
        ]);
    }
    t
}

/// A path: START > a > b > CONVERSION, with the states between as names.
fn path_line(p: &PathCount) -> Line {
    let mut l = line();
    for (i, s) in p.states.iter().enumerate() {
        if i > 0 {
            l = l.text(" > ");
        }
        l = match s.as_str() {
            crate::paths::START | crate::paths::CONVERSION | crate::paths::EXIT => l.text(s),
            _ => l.name(s),
        };
    }
    l.done()
}

fn paths(title: &str, paths: &[PathCount]) -> Vec<Block> {
    let mut out = vec![Block::title(3, title)];
    if paths.is_empty() {
        out.push(Block::text("None."));
        return out;
    }
    out.push(Block::Numbered(
        paths
            .iter()
            .map(|p| {
                let mut l = path_line(p);
                l.push(crate::doc::Span::Text(format!(
                    ": {} ({})",
                    count(p.count, "session", "sessions"),
                    pct(p.share)
                )));
                l
            })
            .collect(),
    ));
    out
}

/// The states whose removal loses the most conversions, largest first.
fn removal_chart(m: &MarkovReport) -> Block {
    let mut states: Vec<_> = m
        .states
        .iter()
        .filter_map(|s| Some((s, s.removal_effect?)))
        .collect();
    states.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.state.cmp(&b.0.state)));
    Chart::bars(
        "Removal effect (top 12 states)",
        "share of conversions lost without the state",
        states
            .into_iter()
            .take(12)
            .map(|(s, e)| (line().name(&s.state).done(), e))
            .collect(),
    )
}

/// Where sessions end without converting: the transitions into EXIT.
fn exit_chart(m: &MarkovReport) -> Block {
    let mut exits: Vec<_> = m.transitions.iter().filter(|t| t.to == "EXIT").collect();
    let total: u64 = exits.iter().map(|t| t.count).sum();
    exits.sort_by(|a, b| b.count.cmp(&a.count).then(a.from.cmp(&b.from)));
    Chart::bars(
        "Exit points (top 12 states before EXIT)",
        format!("share of the {} exits", thousands(total)),
        exits
            .into_iter()
            .take(12)
            .map(|t| {
                (
                    line().name(&t.from).done(),
                    t.count as f64 / total.max(1) as f64,
                )
            })
            .collect(),
    )
}

pub fn document(m: &MarkovReport) -> Document {
    let top = top_transitions(m);
    let mut doc = vec![
        Block::title(2, "Journey map (Markov chain)"),
        Block::para(
            line()
                .text(format!(
                    "States are {}; a session's path runs from START to CONVERSION (its first ",
                    kind_label(m.states_kind)
                ))
                .name(&m.conversion)
                .text(" event) or to EXIT."),
        ),
        Block::Lines(summary_lines(m)),
        Block::title(3, "States"),
        Block::Table(states_table(m)),
        Block::text(
            "p(conversion): the probability of converting from the state, under the chain. Sessions, observed: the sessions that visited the state and the share of them that converted. Removal effect: the share of conversions lost if the state were removed (its visitors exit).",
        ),
        removal_chart(m),
        exit_chart(m),
        Block::title(3, "Top transitions"),
        Block::text(format!(
            "{} of {} transitions, by count.",
            top.len(),
            thousands(m.transitions.len() as u64)
        )),
        Block::Table(transitions_table(&top)),
    ];
    doc.extend(paths("Top converting paths", &m.top_converting_paths));
    doc.extend(paths("Top exit paths", &m.top_exit_paths));
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::EventTable;
    use crate::paths::{PathsOptions, StateKind, analyze};
    use crate::predicate::Predicate;
    use crate::sessions::{self, SessionSource};

    #[test]
    fn renders_states_transitions_and_paths() {
        // Two sessions: a → b → buy, and a → (exit).
        let mut t = EventTable::default();
        for (n, (s, e)) in [("s1", "a"), ("s1", "b"), ("s1", "buy"), ("s2", "a")]
            .into_iter()
            .enumerate()
        {
            t.user.push(t.user_names.intern(s));
            t.session.push(t.session_names.intern(s));
            t.event.push(t.event_names.intern(e));
            t.ts.push(n as i64);
        }
        let s = sessions::build(
            &t,
            &SessionSource::Column {
                column: "session_id".into(),
            },
        );
        let opts = PathsOptions {
            states: StateKind::Event,
            conversion: Predicate::Event("buy".into()),
            top: 10,
            stages: Vec::new(),
            order: 1,
        };
        let md = crate::doc::markdown::render(&document(&analyze(&t, &s, &opts).unwrap()));
        assert!(md.starts_with("## Journey map (Markov chain)\n"), "{md}");
        assert!(md.contains("2 sessions, 1 converted (50.0%)"), "{md}");
        assert!(
            md.contains("| a          |      2 |        0.5000 |        2 |   0.5000 |         1.0000 | 50.0% |"),
            "{md}"
        );
        assert!(
            md.contains("| START | a          |     2 |      1.0000 |"),
            "{md}"
        );
        assert!(
            md.contains("1. START > `a` > `b` > CONVERSION: 1 session (50.0%)"),
            "{md}"
        );
        assert!(
            md.contains("### Top exit paths\n\n1. START > `a` > EXIT"),
            "{md}"
        );
    }
}
