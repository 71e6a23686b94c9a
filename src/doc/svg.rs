//! Charts and flow diagrams as inline SVG for the HTML backend: geometry
//! only (scales, ticks, positions); every string goes through
//! [`super::html`]'s escaping. Coordinates are written with one decimal, so
//! the same chart gives the same bytes.

use std::fmt::Write;

use super::fmt::{num, pct};
use super::html::{escape, plain};
use super::{Align, Cell, Chart, ChartKind, Flow, FlowNode, Line, Span, Table};

const W: f64 = 720.0;
const ROW: f64 = 22.0;
const PALETTE: [&str; 8] = [
    "#2f6db5", "#e07b39", "#3a9d5d", "#b0413e", "#7b5ea7", "#8c6d31", "#d45d9e", "#5b6475",
];
const ACC: &str = "#2f6db5";
const EXIT: &str = "#c0392b";
const GRID: &str = "#e3e6ec";

/// A label cut to `max` characters for a chart axis (the data table beside
/// the chart keeps it whole).
fn short(l: &Line, max: usize) -> Line {
    let mut left = max;
    let mut out = Vec::new();
    for s in l {
        let (t, make): (&str, fn(String) -> Span) = match s {
            Span::Text(t) => (t, Span::Text),
            Span::Strong(t) => (t, Span::Strong),
            Span::Name(t) => (t, Span::Name),
            Span::Data(t) => (t, Span::Data),
            Span::Link { text, .. } => (text, Span::Text),
        };
        let n = t.chars().count();
        if n <= left {
            out.push(make(t.to_string()));
            left -= n;
        } else {
            let cut: String = t.chars().take(left.saturating_sub(1)).collect();
            out.push(make(cut + "…"));
            break;
        }
    }
    out
}

fn chars(l: &Line) -> usize {
    super::plain_text(l).chars().count()
}

fn open(out: &mut String, id: &str, w: f64, h: f64) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.1} {h:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" role=\"img\" aria-labelledby=\"{id}-t\">"
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, class: &str, body: &str) {
    let class = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{class}\"")
    };
    let _ = writeln!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\"{class}>{body}</text>"
    );
}

/// An axis's title: what its values are, in our words.
fn axis_label(out: &mut String, x: f64, y: f64, label: &str) {
    text(out, x, y, "middle", "mut", &escape(label));
}

/// Ticks over [lo, hi]: about five round steps (1, 2 or 5 times a power of ten).
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).abs().max(1e-12);
    let raw = span / 5.0;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * p);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn tick_text(v: f64, share: bool) -> String {
    if share {
        format!("{:.0}%", v * 100.0)
    } else {
        num(v)
    }
}

/// The SVG of a chart; `id` is unique in the page (its caption is `{id}-t`).
pub fn chart(c: &Chart, id: &str) -> String {
    match &c.kind {
        ChartKind::Bars { axis, bars } => bars_svg(id, axis, bars),
        ChartKind::Lines {
            x_axis,
            y_axis,
            series,
            diagonal,
        } => lines_svg(id, x_axis, y_axis, series, *diagonal),
        ChartKind::Heatmap {
            row_axis,
            col_axis,
            columns,
            rows,
        } => heatmap_svg(id, row_axis, col_axis, columns, rows),
        ChartKind::Intervals {
            axis,
            reference,
            rows,
        } => intervals_svg(id, axis, *reference, rows),
        ChartKind::Stacked { axis, parts, rows } => stacked_svg(id, axis, parts, rows),
    }
}

fn label_width(labels: impl Iterator<Item = usize>) -> f64 {
    let longest = labels.max().unwrap_or(0).min(40);
    (longest as f64 * 6.6 + 12.0).clamp(60.0, 280.0)
}

fn bars_svg(id: &str, axis: &str, bars: &[(Line, f64)]) -> String {
    let lw = label_width(bars.iter().map(|(l, _)| chars(l)));
    let pw = W - lw - 70.0;
    let h = bars.len() as f64 * ROW + 44.0;
    let mut out = String::new();
    open(&mut out, id, W, h);
    let bottom = bars.len() as f64 * ROW + 4.0;
    for t in ticks(0.0, 1.0) {
        let x = lw + t * pw;
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"2\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{GRID}\"/>"
        );
        text(
            &mut out,
            x,
            bottom + 14.0,
            "middle",
            "mut",
            &tick_text(t, true),
        );
    }
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        // Not a number: no bar (NaN in an attribute is a console error) and a dash.
        let w = if v.is_finite() {
            v.clamp(0.0, 1.0) * pw
        } else {
            0.0
        };
        text(
            &mut out,
            lw - 6.0,
            y + 15.0,
            "end",
            "",
            &plain(&short(label, 40)),
        );
        let _ = writeln!(
            out,
            "<rect x=\"{lw:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"16\" fill=\"{ACC}\"/>",
            y + 2.0
        );
        text(
            &mut out,
            lw + w + 4.0,
            y + 15.0,
            "start",
            "",
            &if v.is_finite() {
                pct(*v)
            } else {
                "–".to_string()
            },
        );
    }
    axis_label(&mut out, lw + pw / 2.0, bottom + 34.0, axis);
    out += "</svg>\n";
    out
}

struct Scale {
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
}

impl Scale {
    fn new(lo: f64, hi: f64, a: f64, b: f64) -> Scale {
        let (lo, hi) = if hi - lo < 1e-12 {
            (lo - 1.0, hi + 1.0)
        } else {
            (lo, hi)
        };
        Scale { lo, hi, a, b }
    }
    fn at(&self, v: f64) -> f64 {
        self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a)
    }
}

fn finite(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

fn lines_svg(
    id: &str,
    x_axis: &str,
    y_axis: &str,
    series: &[super::Series],
    diagonal: bool,
) -> String {
    let (w, h) = (560.0, 330.0);
    let (left, right, top, bottom) = (58.0, 150.0, 12.0, 48.0);
    let (mut x0, mut x1) = finite(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (_, mut y1) = finite(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    if !x0.is_finite() {
        (x0, x1, y1) = (0.0, 1.0, 1.0);
    }
    if diagonal {
        x0 = x0.min(0.0);
        x1 = x1.max(1.0);
        y1 = y1.max(1.0);
    }
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.05 };
    let sx = Scale::new(x0, x1, left, w - right);
    let sy = Scale::new(0.0, y1, h - bottom, top);
    let mut out = String::new();
    open(&mut out, id, w, h);
    for t in ticks(sy.lo, sy.hi) {
        let y = sy.at(t);
        let _ = writeln!(
            out,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>",
            w - right
        );
        text(&mut out, left - 6.0, y + 4.0, "end", "mut", &num(t));
    }
    for t in ticks(sx.lo, sx.hi) {
        let x = sx.at(t);
        text(&mut out, x, h - bottom + 16.0, "middle", "mut", &num(t));
    }
    let _ = writeln!(
        out,
        "<line x1=\"{left:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#9aa1ad\"/>",
        h - bottom,
        w - right,
        h - bottom
    );
    if diagonal {
        let hi = x1.min(sy.hi);
        let _ = writeln!(
            out,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#9aa1ad\" stroke-dasharray=\"4 3\"/>",
            sx.at(x0.max(0.0)),
            sy.at(x0.max(0.0)),
            sx.at(hi),
            sy.at(hi)
        );
    }
    for (k, s) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<String> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx.at(x), sy.at(y)))
            .collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
            pts.join(" ")
        );
        for p in &pts {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(
                out,
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{color}\"/>"
            );
        }
        let ly = top + 14.0 + k as f64 * 18.0;
        let lx = w - right + 12.0;
        let _ = writeln!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{color}\"/>",
            ly - 5.0
        );
        text(
            &mut out,
            lx + 16.0,
            ly,
            "start",
            "",
            &plain(&short(&s.name, 18)),
        );
    }
    axis_label(&mut out, (left + w - right) / 2.0, h - 10.0, x_axis);
    let _ = writeln!(
        out,
        "<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\" class=\"mut\">{}</text>",
        (top + h - bottom) / 2.0,
        escape(y_axis)
    );
    out += "</svg>\n";
    out
}

/// White to the accent colour by share.
fn shade(v: f64) -> String {
    let t = v.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 47.0),
        mix(255.0, 109.0),
        mix(255.0, 181.0)
    )
}

fn heatmap_svg(
    id: &str,
    row_axis: &str,
    col_axis: &str,
    columns: &[String],
    rows: &[(Line, Vec<Option<f64>>)],
) -> String {
    let lw = label_width(rows.iter().map(|(l, _)| chars(l)));
    let (cw, ch) = (50.0, 20.0);
    let top = 40.0;
    let w = (lw + cw * columns.len() as f64 + 10.0).max(300.0);
    let h = top + ch * rows.len() as f64 + 34.0;
    let mut out = String::new();
    open(&mut out, id, w, h);
    let _ = writeln!(
        out,
        "<defs><pattern id=\"{id}-h\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f4f5f8\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#c9ced8\" stroke-width=\"2\"/></pattern></defs>"
    );
    axis_label(
        &mut out,
        lw + cw * columns.len() as f64 / 2.0,
        12.0,
        col_axis,
    );
    for (j, c) in columns.iter().enumerate() {
        text(
            &mut out,
            lw + cw * (j as f64 + 0.5),
            top - 8.0,
            "middle",
            "",
            &escape(c),
        );
    }
    for (i, (label, cells)) in rows.iter().enumerate() {
        let y = top + ch * i as f64;
        text(
            &mut out,
            lw - 6.0,
            y + 14.0,
            "end",
            "",
            &plain(&short(label, 40)),
        );
        for (j, v) in cells.iter().enumerate() {
            let x = lw + cw * j as f64;
            match v.filter(|v| v.is_finite()) {
                Some(v) => {
                    let _ = writeln!(
                        out,
                        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch:.1}\" fill=\"{}\" stroke=\"#fff\"/>",
                        shade(v)
                    );
                    let color = if v > 0.55 { "#fff" } else { "#1d2330" };
                    let _ = writeln!(
                        out,
                        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" style=\"fill:{color};font-size:11px\">{}</text>",
                        x + cw / 2.0,
                        y + 14.0,
                        pct(v)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch:.1}\" fill=\"url(#{id}-h)\" stroke=\"#fff\"/>"
                    );
                }
            }
        }
    }
    text(
        &mut out,
        6.0,
        h - 10.0,
        "start",
        "mut",
        &format!(
            "rows: {}; hatched: censored (no user observable)",
            escape(row_axis)
        ),
    );
    out += "</svg>\n";
    out
}

fn intervals_svg(id: &str, axis: &str, reference: f64, rows: &[super::Interval]) -> String {
    let lw = label_width(rows.iter().map(|r| chars(&r.label)));
    let tw = 190.0;
    let h = rows.len() as f64 * 26.0 + 50.0;
    let (lo, hi) = finite(
        rows.iter()
            .flat_map(|r| [r.low, r.high, r.estimate])
            .chain([reference]),
    );
    let pad = ((hi - lo) * 0.06).max(1e-9);
    let s = Scale::new(lo - pad, hi + pad, lw, W - tw);
    let bottom = rows.len() as f64 * 26.0 + 6.0;
    let mut out = String::new();
    open(&mut out, id, W, h);
    for t in ticks(s.lo, s.hi) {
        let x = s.at(t);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"2\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{GRID}\"/>"
        );
        text(&mut out, x, bottom + 14.0, "middle", "mut", &num(t));
    }
    let rx = s.at(reference);
    let _ = writeln!(
        out,
        "<line x1=\"{rx:.1}\" y1=\"2\" x2=\"{rx:.1}\" y2=\"{bottom:.1}\" stroke=\"#5b6475\" stroke-dasharray=\"4 3\"/>"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 16.0 + i as f64 * 26.0;
        text(
            &mut out,
            lw - 8.0,
            y + 4.0,
            "end",
            "",
            &plain(&short(&r.label, 40)),
        );
        if r.low.is_finite() && r.high.is_finite() {
            let _ = writeln!(
                out,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{ACC}\" stroke-width=\"2\"/>",
                s.at(r.low),
                s.at(r.high)
            );
        }
        if r.estimate.is_finite() {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4.5\" fill=\"{ACC}\"/>",
                s.at(r.estimate)
            );
        }
        text(
            &mut out,
            W - tw + 10.0,
            y + 4.0,
            "start",
            "",
            &escape(&r.text),
        );
    }
    axis_label(&mut out, (lw + W - tw) / 2.0, bottom + 34.0, axis);
    out += "</svg>\n";
    out
}

fn stacked_svg(id: &str, axis: &str, parts: &[String], rows: &[(Line, Vec<f64>)]) -> String {
    let lw = label_width(rows.iter().map(|(l, _)| chars(l)));
    let pw = W - lw - 80.0;
    let top = 26.0;
    let h = top + rows.len() as f64 * ROW + 44.0;
    let total = rows
        .iter()
        .map(|(_, v)| v.iter().filter(|x| x.is_finite()).sum::<f64>())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let mut out = String::new();
    open(&mut out, id, W, h);
    let mut lx = lw;
    for (k, p) in parts.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let _ = writeln!(
            out,
            "<rect x=\"{lx:.1}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{color}\"/>"
        );
        text(&mut out, lx + 16.0, 16.0, "start", "", &escape(p));
        lx += 30.0 + p.chars().count() as f64 * 6.6;
    }
    let bottom = top + rows.len() as f64 * ROW;
    for t in ticks(0.0, total) {
        let x = lw + t / total * pw;
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{GRID}\"/>"
        );
        text(&mut out, x, bottom + 14.0, "middle", "mut", &num(t));
    }
    for (i, (label, values)) in rows.iter().enumerate() {
        let y = top + i as f64 * ROW;
        text(
            &mut out,
            lw - 6.0,
            y + 15.0,
            "end",
            "",
            &plain(&short(label, 40)),
        );
        let mut x = lw;
        for (k, v) in values.iter().enumerate() {
            let w = if v.is_finite() {
                v.max(0.0) / total * pw
            } else {
                0.0
            };
            if w > 0.0 {
                let _ = writeln!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"16\" fill=\"{}\"/>",
                    y + 2.0,
                    PALETTE[k % PALETTE.len()]
                );
            }
            x += w;
        }
    }
    axis_label(&mut out, lw + pw / 2.0, bottom + 34.0, axis);
    out += "</svg>\n";
    out
}

/// The chart's numbers as a table, shown next to it.
pub fn data_table(c: &Chart) -> Table {
    match &c.kind {
        ChartKind::Bars { axis, bars } => {
            let mut t = Table::with_columns(vec![
                (vec![], Align::Left),
                (vec![Span::Text(axis.clone())], Align::Right),
            ]);
            for (l, v) in bars {
                t.row(vec![Cell::Spans(l.clone()), Cell::pct(*v)]);
            }
            t
        }
        ChartKind::Lines {
            x_axis,
            y_axis,
            series,
            ..
        } => {
            let mut t = Table::with_columns(vec![
                (vec![Span::Text("series".into())], Align::Left),
                (vec![Span::Text(x_axis.clone())], Align::Right),
                (vec![Span::Text(y_axis.clone())], Align::Right),
            ]);
            for s in series {
                for &(x, y) in &s.points {
                    t.row(vec![
                        Cell::Spans(s.name.clone()),
                        Cell::short(x),
                        Cell::short(y),
                    ]);
                }
            }
            t
        }
        ChartKind::Heatmap {
            row_axis,
            columns,
            rows,
            ..
        } => {
            let mut cols = vec![(vec![Span::Text(row_axis.clone())], Align::Left)];
            cols.extend(
                columns
                    .iter()
                    .map(|c| (vec![Span::Text(c.clone())], Align::Right)),
            );
            let mut t = Table::with_columns(cols);
            for (l, cells) in rows {
                let mut r = vec![Cell::Spans(l.clone())];
                r.extend(cells.iter().map(|v| Cell::opt(v.map(Cell::pct))));
                t.row(r);
            }
            t
        }
        ChartKind::Intervals { axis, rows, .. } => {
            let mut t = Table::with_columns(vec![
                (vec![], Align::Left),
                (vec![Span::Text(axis.clone())], Align::Right),
                (vec![Span::Text("low".into())], Align::Right),
                (vec![Span::Text("high".into())], Align::Right),
            ]);
            for r in rows {
                t.row(vec![
                    Cell::Spans(r.label.clone()),
                    Cell::num(r.estimate, r.text.clone()),
                    Cell::short(r.low),
                    Cell::short(r.high),
                ]);
            }
            t
        }
        ChartKind::Stacked { parts, rows, .. } => {
            let mut cols = vec![(vec![], Align::Left)];
            cols.extend(
                parts
                    .iter()
                    .map(|p| (vec![Span::Text(p.clone())], Align::Right)),
            );
            let mut t = Table::with_columns(cols);
            for (l, values) in rows {
                let mut r = vec![Cell::Spans(l.clone())];
                r.extend(values.iter().map(|v| Cell::short(*v)));
                t.row(r);
            }
            t
        }
    }
}

const NODE_W: f64 = 170.0;
const GAP: f64 = 90.0;
const LINE_H: f64 = 17.0;

fn node_h(n: &FlowNode) -> f64 {
    n.lines.len() as f64 * LINE_H + 12.0
}

/// A flow left to right: the main nodes in a row in their order, each exit
/// node under the node its dotted edge leaves; edge widths follow their
/// weight (a Sankey-like reading of how many go on and how many leave).
pub fn flow(f: &Flow, id: &str) -> String {
    let main: Vec<&FlowNode> = f.nodes.iter().filter(|n| !n.exit).collect();
    let top = 8.0;
    let main_h = main.iter().map(|n| node_h(n)).fold(0.0f64, f64::max);
    let exit_top = top + main_h + 60.0;
    let mut pos: Vec<(&str, f64, f64, f64)> = Vec::new();
    for (i, n) in main.iter().enumerate() {
        pos.push((&n.id, 8.0 + i as f64 * (NODE_W + GAP), top, node_h(n)));
    }
    let mut exit_h = 0.0f64;
    for n in f.nodes.iter().filter(|n| n.exit) {
        let from = f
            .edges
            .iter()
            .find(|e| e.to == n.id)
            .and_then(|e| pos.iter().find(|p| p.0 == e.from))
            .map(|p| p.1);
        let x = from.unwrap_or(8.0);
        pos.push((&n.id, x, exit_top, node_h(n)));
        exit_h = exit_h.max(node_h(n));
    }
    let w = (main.len().max(1) as f64) * (NODE_W + GAP) - GAP + 16.0;
    let h = if exit_h > 0.0 {
        exit_top + exit_h + 8.0
    } else {
        top + main_h + 8.0
    };
    let find = |id: &str| pos.iter().find(|p| p.0 == id).copied();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.1} {h:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" role=\"img\" aria-labelledby=\"{id}-t\">\n<title id=\"{id}-t\">Flow diagram</title>"
    );
    let _ = writeln!(
        out,
        "<defs><marker id=\"{id}-a\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"5\" markerHeight=\"5\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#7d8594\"/></marker></defs>"
    );
    for e in &f.edges {
        let (Some(a), Some(b)) = (find(&e.from), find(&e.to)) else {
            continue;
        };
        let sw = 1.5
            + 16.0
                * e.weight
                    .filter(|w| w.is_finite())
                    .unwrap_or(0.0)
                    .clamp(0.0, 1.0);
        if e.dotted {
            let x = a.1 + NODE_W / 2.0;
            let _ = writeln!(
                out,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{EXIT}\" stroke-opacity=\"0.55\" stroke-width=\"{sw:.1}\" stroke-dasharray=\"5 4\"/>",
                a.2 + a.3,
                b.2
            );
        } else {
            let y = a.2 + a.3 / 2.0;
            let (x1, x2) = (a.1 + NODE_W, b.1);
            let _ = writeln!(
                out,
                "<line x1=\"{x1:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{ACC}\" stroke-opacity=\"0.45\" stroke-width=\"{sw:.1}\"/>",
                x2 - 2.0
            );
            let _ = writeln!(
                out,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\" stroke=\"#7d8594\" stroke-width=\"1.5\" marker-end=\"url(#{id}-a)\"/>",
                x2 - 12.0
            );
            if let Some(l) = &e.label {
                text(
                    &mut out,
                    (x1 + x2) / 2.0,
                    y - sw / 2.0 - 5.0,
                    "middle",
                    "",
                    &escape(l),
                );
            }
        }
    }
    for n in &f.nodes {
        let Some(p) = find(&n.id) else { continue };
        let (fill, stroke) = if n.exit {
            ("#fdf0f0", EXIT)
        } else {
            ("#eef3fa", ACC)
        };
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{NODE_W:.1}\" height=\"{:.1}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
            p.1, p.2, p.3
        );
        for (k, l) in n.lines.iter().enumerate() {
            let class = if k == 0 { "" } else { "mut" };
            text(
                &mut out,
                p.1 + NODE_W / 2.0,
                p.2 + 20.0 + k as f64 * LINE_H,
                "middle",
                class,
                &plain(&short(l, 26)),
            );
        }
    }
    out += "</svg>\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(
            ticks(0.0, 1.0),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = ticks(-0.03, 0.07);
        assert!(t.iter().all(|v| (-0.03..=0.07).contains(v)));
        assert!(t.len() >= 3 && t.len() <= 7, "{t:?}");
        assert_eq!(ticks(0.0, 1234.0), vec![0.0, 500.0, 1000.0]);
    }

    #[test]
    fn values_that_are_not_numbers_draw_nothing() {
        let bars = Chart {
            title: "t".into(),
            kind: ChartKind::Bars {
                axis: "a".into(),
                bars: vec![(vec![Span::Text("x".into())], f64::NAN), (vec![], 0.5)],
            },
        };
        let heat = Chart {
            title: "t".into(),
            kind: ChartKind::Heatmap {
                row_axis: "r".into(),
                col_axis: "c".into(),
                columns: vec!["0".into()],
                rows: vec![(vec![], vec![Some(f64::NAN), None])],
            },
        };
        let stacked = Chart {
            title: "t".into(),
            kind: ChartKind::Stacked {
                axis: "a".into(),
                parts: vec!["p".into()],
                rows: vec![(vec![], vec![f64::INFINITY, 2.0])],
            },
        };
        for c in [bars, heat, stacked] {
            let svg = chart(&c, "c1");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }

    #[test]
    fn labels_are_cut_for_the_axis_only() {
        let l = vec![Span::Name("a".repeat(50))];
        let s = short(&l, 10);
        assert_eq!(super::super::plain_text(&s), format!("{}…", "a".repeat(9)));
    }
}
