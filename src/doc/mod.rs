//! The document model every renderer draws: a report section is built once
//! as [`Block`]s (headings, paragraphs, tables with typed cells, lists, a
//! flow diagram, charts that carry their data), and each backend renders
//! blocks in one place — [`text`] for the terminal, [`markdown`] for
//! report.md, next an HTML one. Builders never format for a backend, and
//! backends never compute.
//!
//! Every string that comes from the data (event names, property values,
//! stage and segment names, user ids) goes in as [`Span::Name`],
//! [`Span::Data`], [`Cell::Name`] or [`Cell::Data`], never inside
//! [`Span::Text`]: the backend escapes exactly those, for its output, in one
//! function each.

pub mod fmt;
pub mod markdown;
pub mod rich;
pub mod text;

/// One piece of running text.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    /// Our own words and formatted numbers.
    Text(String),
    /// Our own words or numbers, emphasized.
    Strong(String),
    /// A name from the data, shown as code (an event, a column, a path).
    Name(String),
    /// Text from the data, shown as it is (a segment name, a value, a note).
    Data(String),
}

/// A line of running text.
pub type Line = Vec<Span>;

/// Builds a [`Line`] piece by piece: `line().text("reached ").name(step)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineBuilder(pub Line);

pub fn line() -> LineBuilder {
    LineBuilder::default()
}

impl LineBuilder {
    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Text(s.into()));
        self
    }
    pub fn strong(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Strong(s.into()));
        self
    }
    pub fn name(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Name(s.into()));
        self
    }
    pub fn data(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Data(s.into()));
        self
    }
    /// Names joined by `sep` (`a`, `b`, `c`).
    pub fn names<'a>(mut self, names: impl IntoIterator<Item = &'a str>, sep: &str) -> Self {
        for (i, n) in names.into_iter().enumerate() {
            if i > 0 {
                self.0.push(Span::Text(sep.to_string()));
            }
            self.0.push(Span::Name(n.to_string()));
        }
        self
    }
    pub fn spans(mut self, spans: impl IntoIterator<Item = Span>) -> Self {
        self.0.extend(spans);
        self
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn done(self) -> Line {
        self.0
    }
}

impl From<LineBuilder> for Line {
    fn from(b: LineBuilder) -> Line {
        b.0
    }
}

/// A block of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading: level 1 is the document title, 2 a section, 3 a subsection.
    Heading(u8, Line),
    /// A paragraph.
    Para(Line),
    /// Lines shown one under another, without a blank line between them.
    Lines(Vec<Line>),
    Bullets(Vec<Line>),
    Numbered(Vec<Line>),
    Table(Table),
    /// A left-to-right flow diagram (Markdown: Mermaid).
    Flow(Flow),
    /// A chart's data, for backends that draw (text and Markdown show the
    /// table that goes with it instead).
    Chart(Chart),
}

impl Block {
    pub fn heading(level: u8, l: impl Into<Line>) -> Block {
        Block::Heading(level, l.into())
    }
    pub fn title(level: u8, s: &str) -> Block {
        Block::Heading(level, vec![Span::Text(s.to_string())])
    }
    pub fn para(l: impl Into<Line>) -> Block {
        Block::Para(l.into())
    }
    pub fn text(s: impl Into<String>) -> Block {
        Block::Para(vec![Span::Text(s.into())])
    }
}

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub header: Line,
    pub align: Align,
}

/// A table cell. Numbers keep their value next to their text, so a backend
/// that sorts or draws has the number and every backend shows the same text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Our own words.
    Text(String),
    /// A name from the data, shown as code.
    Name(String),
    /// Text from the data.
    Data(String),
    /// A number and how it is written.
    Num { value: f64, text: String },
    /// A share (0..1) drawn as a bar.
    Bar(f64),
    /// Mixed running text (names with counts, emphasis).
    Spans(Line),
    /// Nothing to show (written "-").
    Missing,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
    pub fn name(s: impl Into<String>) -> Cell {
        Cell::Name(s.into())
    }
    pub fn data(s: impl Into<String>) -> Cell {
        Cell::Data(s.into())
    }
    pub fn num(value: f64, text: String) -> Cell {
        Cell::Num { value, text }
    }
    /// A count with thousands separators.
    pub fn count(n: u64) -> Cell {
        Cell::Num {
            value: n as f64,
            text: fmt::thousands(n),
        }
    }
    /// A share as a percentage with one decimal.
    pub fn pct(x: f64) -> Cell {
        Cell::Num {
            value: x,
            text: fmt::pct(x),
        }
    }
    /// A number with `decimals` decimals.
    pub fn fixed(x: f64, decimals: usize) -> Cell {
        Cell::Num {
            value: x,
            text: format!("{x:.decimals$}"),
        }
    }
    /// A number without trailing zeros (see [`fmt::num`]).
    pub fn short(x: f64) -> Cell {
        Cell::Num {
            value: x,
            text: fmt::num(x),
        }
    }
    pub fn spans(l: impl Into<Line>) -> Cell {
        Cell::Spans(l.into())
    }
    pub fn opt(v: Option<Cell>) -> Cell {
        v.unwrap_or(Cell::Missing)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// `columns`: (header, alignment) pairs.
    pub fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            columns: columns
                .iter()
                .map(|&(h, align)| Column {
                    header: vec![Span::Text(h.to_string())],
                    align,
                })
                .collect(),
            rows: Vec::new(),
        }
    }
    /// Columns built from the data's shape; a header may name data.
    pub fn with_columns(columns: Vec<(Line, Align)>) -> Table {
        Table {
            columns: columns
                .into_iter()
                .map(|(header, align)| Column { header, align })
                .collect(),
            rows: Vec::new(),
        }
    }
    pub fn row(&mut self, cells: Vec<Cell>) -> &mut Self {
        debug_assert_eq!(cells.len(), self.columns.len(), "one cell per column");
        self.rows.push(cells);
        self
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A flow diagram: nodes with a label of one or more lines, edges with an
/// optional label, some nodes and edges marked as exits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flow {
    pub nodes: Vec<FlowNode>,
    pub edges: Vec<FlowEdge>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowNode {
    /// A short identifier made by the builder (S0, X1), never data.
    pub id: String,
    pub lines: Vec<Line>,
    pub exit: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowEdge {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
    /// Drawn dotted (to an exit).
    pub dotted: bool,
}

/// The data of a bar chart: one bar per label.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// What the values are, with their unit ("share of users who entered").
    pub axis: String,
    pub bars: Vec<(Line, f64)>,
}

/// A whole document: its blocks in order.
pub type Document = Vec<Block>;
