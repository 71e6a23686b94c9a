//! The markov section of report.md.

use std::fmt::Write;

use crate::paths::MarkovReport;
use crate::paths::tables::{
    kind_label, percent, states_table, summary_lines, top_transitions, transitions_table,
};
use crate::table::thousands;

/// The section for a report that has a Markov journey map.
// Called from report/markdown/mod.rs once the lead wires the section in;
// until then nothing outside the tests calls it.
pub fn render(m: &MarkovReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Journey map (Markov chain)\n");
    let _ = writeln!(
        out,
        "States are {}; a session's path runs from START to CONVERSION (its first `{}` event) or to EXIT.\n",
        kind_label(m.states_kind),
        m.conversion
    );
    for line in summary_lines(m) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n### States\n");
    out += &states_table(m).to_markdown();
    let _ = writeln!(
        out,
        "\np(conversion): the probability of converting from the state. Removal effect: the share of conversions lost if the state were removed (its visitors exit).\n"
    );
    let top = top_transitions(m);
    let _ = writeln!(
        out,
        "### Top transitions\n\n{} of {} transitions, by count.\n",
        top.len(),
        thousands(m.transitions.len() as u64)
    );
    out += &transitions_table(&top).to_markdown();
    for (title, paths) in [
        ("Top converting paths", &m.top_converting_paths),
        ("Top exit paths", &m.top_exit_paths),
    ] {
        let _ = writeln!(out, "\n### {title}\n");
        if paths.is_empty() {
            let _ = writeln!(out, "None.");
        }
        for (i, p) in paths.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. `{}`: {} ({})",
                i + 1,
                p.path,
                sessions(p.count),
                percent(p.share)
            );
        }
    }
    out
}

fn sessions(n: u64) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} session{s}", thousands(n))
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
        };
        let md = render(&analyze(&t, &s, &opts).unwrap());
        assert!(md.starts_with("## Journey map (Markov chain)\n"), "{md}");
        assert!(md.contains("2 sessions, 1 converted (50.0%)"), "{md}");
        assert!(
            md.contains("| a          |      2 |        0.5000 |         1.0000 | 50.0% |"),
            "{md}"
        );
        assert!(
            md.contains("| START | a          |     2 |      1.0000 |"),
            "{md}"
        );
        assert!(
            md.contains("1. `START > a > b > CONVERSION`: 1 session (50.0%)"),
            "{md}"
        );
        assert!(
            md.contains("### Top exit paths\n\n1. `START > a > EXIT`"),
            "{md}"
        );
    }
}
