//! The document model every renderer draws: a report section is built once
//! as [`Block`]s (headings, paragraphs, tables with typed cells, lists, a
//! flow diagram, charts that carry their data), and each backend renders
//! blocks in one place — [`text`] for the terminal, [`markdown`] for
//! report.md, [`html`] for report.html. Builders never format for a backend, and
//! backends never compute.
//!
//! Every string that comes from the data (event names, property values,
//! stage and segment names, user ids) goes in as [`Span::Name`],
//! [`Span::Data`], [`Cell::Name`] or [`Cell::Data`], never inside
//! [`Span::Text`]: the backend escapes exactly those, for its output, in one
//! function each.

pub mod fmt;
pub mod html;
pub mod markdown;
pub mod rich;
pub mod svg;
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
    /// Our own words linking to the section whose level-2 heading is
    /// `target` (a report's summary pointing at its sections).
    Link { text: String, target: String },
}

/// A heading's anchor, as GitHub makes it for Markdown and as the HTML
/// backend writes section ids: lowercase, letters, digits, `-` and `_`
/// kept, spaces to `-`, everything else dropped.
pub fn slug(s: &str) -> String {
    s.trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// A line's words without markup (for anchors and lengths).
pub fn plain_text(l: &Line) -> String {
    l.iter()
        .map(|s| match s {
            Span::Text(t) | Span::Strong(t) | Span::Name(t) | Span::Data(t) => t.as_str(),
            Span::Link { text, .. } => text.as_str(),
        })
        .collect()
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
    /// A link to the section titled `target`.
    pub fn link(mut self, text: impl Into<String>, target: impl Into<String>) -> Self {
        self.0.push(Span::Link {
            text: text.into(),
            target: target.into(),
        });
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
    /// Small multiples: charts of the same kind side by side (one per
    /// segment); skipped like [`Block::Chart`] where nothing is drawn.
    Grid(Vec<Chart>),
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
    /// The share of the flow's users it carries (0..1), for backends that
    /// draw edge widths.
    pub weight: Option<f64>,
}

/// A chart: its title and the data it draws. Backends that draw (HTML)
/// render it with its own data table beside it; text and Markdown skip it,
/// because every section that has a chart also has the table it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub kind: ChartKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChartKind {
    /// Horizontal bars, one per label, of shares in 0..1; `axis` says of what
    /// ("share of the users who entered").
    Bars {
        axis: String,
        bars: Vec<(Line, f64)>,
    },
    /// Lines through points on shared axes (calibration, lift, a curve over
    /// intervals); `diagonal` draws y = x for reference.
    Lines {
        x_axis: String,
        y_axis: String,
        series: Vec<Series>,
        diagonal: bool,
    },
    /// A grid of shares (retention: cohorts by interval); `None` is a cell
    /// with nothing observable (drawn hatched, not as zero).
    Heatmap {
        row_axis: String,
        col_axis: String,
        columns: Vec<String>,
        rows: Vec<(Line, Vec<Option<f64>>)>,
    },
    /// Estimates with intervals around a reference line (a forest plot).
    Intervals {
        axis: String,
        reference: f64,
        rows: Vec<Interval>,
    },
    /// Bars split into parts that add up (lifecycle states per interval);
    /// values are counts, `parts` names them in drawing order.
    Stacked {
        axis: String,
        parts: Vec<String>,
        rows: Vec<(Line, Vec<f64>)>,
    },
}

/// One line of a [`ChartKind::Lines`] chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: Line,
    pub points: Vec<(f64, f64)>,
}

/// One row of a forest plot: the estimate, its interval and how it is
/// written.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub label: Line,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    pub text: String,
}

impl Chart {
    pub fn bars(
        title: impl Into<String>,
        axis: impl Into<String>,
        bars: Vec<(Line, f64)>,
    ) -> Block {
        Block::Chart(Chart {
            title: title.into(),
            kind: ChartKind::Bars {
                axis: axis.into(),
                bars,
            },
        })
    }
}

/// A whole document: its blocks in order.
pub type Document = Vec<Block>;
