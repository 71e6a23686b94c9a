//! Documents as GitHub-flavoured Markdown (report.md).
//!
//! Data-derived text is escaped here and nowhere else: [`data`] for plain
//! text (Markdown punctuation backslash-escaped, `<`, `>` and `&` as
//! entities, so no raw HTML, link or emphasis can come from the data), and
//! [`name`] for names shown as code (a code span fenced with enough
//! backticks, or escaped plain text when the name holds `<`, `>` or `&`,
//! which a code span would show but not neutralize in the file). In table
//! cells `|` is escaped too; line breaks become spaces everywhere, and
//! names are cut at [`super::text::MAX_DATA_CHARS`] characters (JSON keeps
//! them whole). Mermaid labels have their own escaping, [`mermaid_text`].

use std::fmt::Write;

use super::text::{bar, cap, clean};
use super::{Align, Block, Cell, Flow, Line, Span, Table};

/// Where text goes: in a table cell `|` ends the cell unless escaped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Prose,
    Cell,
}

/// Data-derived text, escaped for Markdown.
fn data_in(s: &str, place: Place) -> String {
    let s = cap(&clean(s));
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // An underscore inside a word never starts emphasis.
        let inside = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        match c {
            '_' if inside(i.checked_sub(1)) && inside(Some(i + 1)) => out.push(c),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '!' | '|' | '$' => {
                if c == '|' && place == Place::Prose {
                    out.push(c);
                } else {
                    out.push('\\');
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A name from the data as inline code (see the module doc).
fn name_in(s: &str, place: Place) -> String {
    let s = cap(&clean(s));
    if s.is_empty() || s.contains(['<', '>', '&']) || s.trim() != s {
        return data_in(&s, place);
    }
    // A fence one backtick longer than the longest run inside.
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let body = if place == Place::Cell {
        s.replace('|', "\\|")
    } else {
        s
    };
    if longest > 0 {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// Data-derived text for running Markdown text.
pub fn data(s: &str) -> String {
    data_in(s, Place::Prose)
}

/// A data-derived name as inline code in running Markdown text.
pub fn name(s: &str) -> String {
    name_in(s, Place::Prose)
}

fn spans_in(l: &Line, place: Place) -> String {
    let mut out = String::new();
    for s in l {
        match s {
            Span::Text(t) if place == Place::Cell => out += &t.replace('|', "\\|"),
            Span::Text(t) => out += t,
            Span::Strong(t) => {
                let _ = write!(out, "**{t}**");
            }
            Span::Name(n) => out += &name_in(n, place),
            Span::Data(d) => out += &data_in(d, place),
            Span::Link { text, target } => {
                let _ = write!(out, "[{text}](#{})", super::slug(target));
            }
        }
    }
    out
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(t) => t.replace('|', "\\|"),
        Cell::Name(n) => name_in(n, Place::Cell),
        Cell::Data(d) => data_in(d, Place::Cell),
        Cell::Num { text, .. } => text.clone(),
        Cell::Bar(share) => bar(*share),
        Cell::Spans(l) => spans_in(l, Place::Cell),
        Cell::Missing => "-".into(),
    }
}

fn pad(cell: &str, width: usize, align: Align) -> String {
    let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
    match align {
        Align::Left => format!("{cell}{fill}"),
        Align::Right => format!("{fill}{cell}"),
    }
}

/// A pipe table, padded so the file reads well as text too.
pub fn table(t: &Table) -> String {
    let header: Vec<String> = t
        .columns
        .iter()
        .map(|c| spans_in(&c.header, Place::Cell))
        .collect();
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count().max(3)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| pad(c, w[i], t.columns[i].align))
            .collect();
        format!("| {} |\n", parts.join(" | "))
    };
    let mut out = line(&header);
    let rule: Vec<String> = w
        .iter()
        .zip(&t.columns)
        .map(|(n, c)| match c.align {
            Align::Left => "-".repeat(*n),
            Align::Right => format!("{}:", "-".repeat(n - 1)),
        })
        .collect();
    out += &format!("| {} |\n", rule.join(" | "));
    for r in &rows {
        out += &line(r);
    }
    out
}

/// Text for a quoted Mermaid label: entity codes for the characters that
/// would end the label or be read as markup, and no line breaks.
pub fn mermaid_text(s: &str) -> String {
    let s = cap(&clean(s));
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '[' => out.push_str("#91;"),
            ']' => out.push_str("#93;"),
            '|' => out.push_str("#124;"),
            c => out.push(c),
        }
    }
    out
}

fn mermaid_spans(l: &Line) -> String {
    l.iter()
        .map(|s| match s {
            Span::Text(t) | Span::Strong(t) => mermaid_text(t),
            Span::Name(n) | Span::Data(n) => mermaid_text(n),
            Span::Link { text, .. } => mermaid_text(text),
        })
        .collect()
}

/// The flow as a left-to-right Mermaid flowchart: the nodes, the edges
/// between them, then each exit node with the dotted edges into it.
fn flow(f: &Flow) -> String {
    let mut out = String::from("```mermaid\nflowchart LR\n");
    let label = |n: &super::FlowNode| {
        n.lines
            .iter()
            .map(mermaid_spans)
            .collect::<Vec<_>>()
            .join("<br/>")
    };
    for n in f.nodes.iter().filter(|n| !n.exit) {
        let _ = writeln!(out, "    {}[\"{}\"]", n.id, label(n));
    }
    for e in f.edges.iter().filter(|e| !e.dotted) {
        match &e.label {
            Some(l) => {
                let _ = writeln!(out, "    {} -->|{}| {}", e.from, mermaid_text(l), e.to);
            }
            None => {
                let _ = writeln!(out, "    {} --> {}", e.from, e.to);
            }
        }
    }
    let exits: Vec<&super::FlowNode> = f.nodes.iter().filter(|n| n.exit).collect();
    for n in &exits {
        let _ = writeln!(out, "    {}[\"{}\"]", n.id, label(n));
        for e in f.edges.iter().filter(|e| e.dotted && e.to == n.id) {
            let _ = writeln!(out, "    {} -.-> {}", e.from, e.to);
        }
    }
    if !exits.is_empty() {
        out += "    classDef exit fill:#fdf0f0,stroke:#c0392b,stroke-dasharray:4 3\n";
        let ids: Vec<&str> = exits.iter().map(|n| n.id.as_str()).collect();
        let _ = writeln!(out, "    class {} exit", ids.join(","));
    }
    out += "```\n";
    out
}

fn block(b: &Block) -> Option<String> {
    Some(match b {
        Block::Heading(level, l) => format!(
            "{} {}\n",
            "#".repeat(usize::from((*level).clamp(1, 6))),
            spans_in(l, Place::Prose)
        ),
        Block::Para(l) => spans_in(l, Place::Prose) + "\n",
        Block::Lines(ls) => ls
            .iter()
            .map(|l| spans_in(l, Place::Prose) + "\n")
            .collect(),
        Block::Bullets(ls) => ls
            .iter()
            .map(|l| format!("- {}\n", spans_in(l, Place::Prose)))
            .collect(),
        Block::Numbered(ls) => ls
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}. {}\n", i + 1, spans_in(l, Place::Prose)))
            .collect(),
        Block::Table(t) => table(t),
        Block::Flow(f) => flow(f),
        Block::Chart(_) | Block::Grid(_) => return None,
    })
}

/// The document as Markdown: blocks separated by a blank line.
pub fn render(doc: &[Block]) -> String {
    let mut out = String::new();
    for b in doc {
        let Some(text) = block(b) else { continue };
        if !out.is_empty() {
            out.push('\n');
        }
        out += &text;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Cell, Table, line};

    #[test]
    fn data_cannot_inject_markup() {
        assert_eq!(
            data("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            data("a*b_c [x](y) `z` #1 _e_"),
            "a\\*b_c \\[x\\](y) \\`z\\` \\#1 \\_e\\_"
        );
        assert_eq!(data("line1\nline2\r"), "line1 line2 ");
        assert_eq!(name("add_to_cart"), "`add_to_cart`");
        assert_eq!(name("a`b"), "`` a`b ``");
        assert_eq!(name("x``y"), "``` x``y ```");
        assert_eq!(name("<b>"), "&lt;b&gt;");
        assert_eq!(name("-->"), "&gt;".replace("&gt;", "--&gt;"));
        assert_eq!(name("]]"), "`]]`");
    }

    #[test]
    fn pipes_are_escaped_in_cells_only() {
        let mut t = Table::new(&[("a", Align::Left), ("n", Align::Right)]);
        t.row(vec![Cell::name("x|y"), Cell::count(10)]);
        t.row(vec![Cell::data("p|q"), Cell::count(2)]);
        assert_eq!(
            table(&t),
            "| a      |   n |\n| ------ | --: |\n| `x\\|y` |  10 |\n| p\\|q   |   2 |\n"
        );
        let p = render(&[Block::para(line().text("in ").name("x|y").data("|"))]);
        assert_eq!(p, "in `x|y`|\n");
    }

    #[test]
    fn mermaid_labels_are_escaped() {
        assert_eq!(mermaid_text("a\nb`c&"), "a b#96;c#amp;");
        assert_eq!(
            mermaid_text("x]] --> \"y\""),
            "x#93;#93; --#gt; #quot;y#quot;"
        );
    }
}
