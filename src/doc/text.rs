//! Documents as plain text for the terminal: aligned tables, one line per
//! paragraph. Data-derived text is cleaned in one place ([`clean`]):
//! control characters (which could move the cursor or recolour the
//! terminal) are shown as `\u{..}` escapes, line breaks as spaces, and very
//! long names are cut (the JSON outputs keep them whole).

use super::{Align, Block, Cell, Line, Span, Table};

/// Data-derived text longer than this many characters is cut with "…".
pub const MAX_DATA_CHARS: usize = 80;

/// `s` with control characters made visible and line breaks as spaces.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that reorder the text around them (a trick to make a name
/// display as something else).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// At most [`MAX_DATA_CHARS`] characters, the cut marked with "…".
pub fn cap(s: &str) -> String {
    if s.chars().count() <= MAX_DATA_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_DATA_CHARS - 1).collect();
    out.push('…');
    out
}

/// Data-derived text as the terminal shows it.
pub fn data(s: &str) -> String {
    cap(&clean(s))
}

pub fn spans(l: &Line) -> String {
    l.iter()
        .map(|s| match s {
            Span::Text(t) | Span::Strong(t) => t.clone(),
            Span::Name(n) | Span::Data(n) => data(n),
            Span::Link { text, .. } => text.clone(),
        })
        .collect()
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(t) => t.clone(),
        Cell::Name(n) | Cell::Data(n) => data(n),
        Cell::Num { text, .. } => text.clone(),
        Cell::Bar(share) => bar(*share),
        Cell::Spans(l) => spans(l),
        Cell::Missing => "-".into(),
    }
}

/// Bar glyphs for a share, 20 wide.
pub fn bar(share: f64) -> String {
    const WIDTH: usize = 20;
    let share = if share.is_finite() { share } else { 0.0 };
    let full = ((share * WIDTH as f64).round().max(0.0) as usize).min(WIDTH);
    format!("{}{}", "█".repeat(full), "░".repeat(WIDTH - full))
}

fn pad(cell: &str, width: usize, align: Align) -> String {
    let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
    match align {
        Align::Left => format!("{cell}{fill}"),
        Align::Right => format!("{fill}{cell}"),
    }
}

/// Space-separated columns with a dashed rule under the header.
pub fn table(t: &Table) -> String {
    let header: Vec<String> = t.columns.iter().map(|c| spans(&c.header)).collect();
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
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
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    out += &(w
        .iter()
        .map(|n| "-".repeat(*n))
        .collect::<Vec<_>>()
        .join("  ")
        + "\n");
    for r in &rows {
        out += &line(r);
    }
    out
}

fn block(b: &Block) -> Option<String> {
    Some(match b {
        Block::Heading(_, l) | Block::Para(l) => spans(l) + "\n",
        Block::Lines(ls) => ls.iter().map(|l| spans(l) + "\n").collect(),
        Block::Bullets(ls) => ls.iter().map(|l| format!("  {}\n", spans(l))).collect(),
        Block::Numbered(ls) => ls
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{:>3}. {}\n", i + 1, spans(l)))
            .collect(),
        Block::Table(t) => table(t),
        Block::Flow(_) | Block::Chart(_) | Block::Grid(_) => return None,
    })
}

/// The document as terminal text: a blank line between blocks, except
/// right after a heading.
pub fn render(doc: &[Block]) -> String {
    let mut out = String::new();
    let mut after_heading = true;
    for b in doc {
        let Some(text) = block(b) else { continue };
        if !out.is_empty() && !after_heading {
            out.push('\n');
        }
        out += &text;
        after_heading = matches!(b, Block::Heading(..));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Cell, Table};

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(clean("a\x1b[31mb\nc\u{202e}d"), "a\\u{1b}[31mb c\\u{202e}d");
        let long = "x".repeat(200);
        assert_eq!(data(&long).chars().count(), MAX_DATA_CHARS);
        assert!(data(&long).ends_with('…'));
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&[("a", Align::Left), ("n", Align::Right)]);
        t.row(vec![Cell::name("x|y"), Cell::count(1234)]);
        t.row(vec![Cell::Missing, Cell::pct(0.5)]);
        assert_eq!(
            table(&t),
            "a        n\n---  -----\nx|y  1,234\n-    50.0%\n"
        );
    }
}
