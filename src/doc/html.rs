//! Documents as one self-contained HTML page (report.html).
//!
//! Everything the page shows is drawn here from the blocks: CSS inline,
//! charts as inline SVG, no script or font or image from anywhere else (a
//! Content-Security-Policy forbids any request), so the file opens offline,
//! prints, reads with JavaScript off and is byte-identical for the same
//! document. The one inline script (sorting tables by a click on a header)
//! is allowed by its hash and is never needed to read the page.
//!
//! Text is escaped here and nowhere else: [`escape`] for every string that
//! reaches the page, ours or the data's, and [`data`] for data-derived
//! strings (line breaks become spaces and names are cut at
//! [`super::text::MAX_DATA_CHARS`] characters, as in the other backends).

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::svg;
use super::text::{cap, clean};
use super::{Align, Block, Cell, Chart, Line, Span, Table};

/// A string for HTML text or a double- or single-quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    out
}

/// A data-derived string for the page.
pub fn data(s: &str) -> String {
    escape(&cap(&clean(s)))
}

/// A line as HTML: names as code, emphasis as strong, links to sections.
pub fn spans(l: &Line) -> String {
    let mut out = String::new();
    for s in l {
        match s {
            Span::Text(t) => out += &escape(t),
            Span::Strong(t) => {
                let _ = write!(out, "<strong>{}</strong>", escape(t));
            }
            Span::Name(n) => {
                let _ = write!(out, "<code>{}</code>", data(n));
            }
            Span::Data(d) => out += &data(d),
            Span::Link { text, target } => {
                let _ = write!(
                    out,
                    "<a href=\"#{}\">{}</a>",
                    escape(&super::slug(target)),
                    escape(text)
                );
            }
        }
    }
    out
}

/// A line as plain text (an SVG label, a title attribute), escaped.
pub fn plain(l: &Line) -> String {
    let mut out = String::new();
    for s in l {
        match s {
            Span::Text(t) | Span::Strong(t) => out += &escape(t),
            Span::Name(n) | Span::Data(n) => out += &data(n),
            Span::Link { text, .. } => out += &escape(text),
        }
    }
    out
}

fn cell(c: &Cell, align: Align) -> String {
    let class = if align == Align::Right {
        " class=\"r\""
    } else {
        ""
    };
    match c {
        Cell::Text(t) => format!("<td{class}>{}</td>", escape(t)),
        Cell::Name(n) => format!("<td{class}><code>{}</code></td>", data(n)),
        Cell::Data(d) => format!("<td{class}>{}</td>", data(d)),
        Cell::Num { value, text } => {
            format!("<td{class} data-v=\"{value}\">{}</td>", escape(text))
        }
        Cell::Bar(share) => {
            let w = share.clamp(0.0, 1.0) * 100.0;
            format!(
                "<td data-v=\"{share}\"><span class=\"bar\"><span style=\"width:{w:.1}%\"></span></span></td>"
            )
        }
        Cell::Spans(l) => format!("<td{class}>{}</td>", spans(l)),
        Cell::Missing => format!("<td{class} data-v=\"\">-</td>"),
    }
}

pub fn table(t: &Table) -> String {
    let mut out = String::from("<div class=\"tw\"><table>\n<thead><tr>");
    for c in &t.columns {
        let class = if c.align == Align::Right {
            " class=\"r\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{}</th>", spans(&c.header));
    }
    out += "</tr></thead>\n<tbody>\n";
    for r in &t.rows {
        out += "<tr>";
        for (c, col) in r.iter().zip(&t.columns) {
            out += &cell(c, col.align);
        }
        out += "</tr>\n";
    }
    out += "</tbody></table></div>\n";
    out
}

/// A chart: its SVG, then its data in a table a screen reader (or a person
/// who wants the numbers) can open.
fn chart(c: &Chart, n: usize) -> String {
    let id = format!("chart-{n}");
    let svg = svg::chart(c, &id);
    let data = table(&svg::data_table(c));
    format!(
        "<figure class=\"chart\">\n<figcaption id=\"{id}-t\">{}</figcaption>\n{svg}<details><summary>Data</summary>\n{data}</details>\n</figure>\n",
        escape(&c.title)
    )
}

fn block(b: &Block, charts: &mut usize) -> String {
    match b {
        Block::Heading(level, l) => {
            let level = (*level).clamp(1, 6);
            format!("<h{level}>{}</h{level}>\n", spans(l))
        }
        Block::Para(l) => format!("<p>{}</p>\n", spans(l)),
        Block::Lines(ls) => {
            let body: Vec<String> = ls.iter().map(spans).collect();
            format!("<p>{}</p>\n", body.join("<br>\n"))
        }
        Block::Bullets(ls) => list("ul", ls),
        Block::Numbered(ls) => list("ol", ls),
        Block::Table(t) => table(t),
        Block::Flow(f) => {
            *charts += 1;
            format!(
                "<figure class=\"chart flow\">\n{}</figure>\n",
                svg::flow(f, &format!("chart-{charts}"))
            )
        }
        Block::Chart(c) => {
            *charts += 1;
            chart(c, *charts)
        }
        Block::Grid(cs) => {
            let mut out = String::from("<div class=\"grid\">\n");
            for c in cs {
                *charts += 1;
                out += &chart(c, *charts);
            }
            out + "</div>\n"
        }
    }
}

fn list(tag: &str, ls: &[Line]) -> String {
    let mut out = format!("<{tag}>\n");
    for l in ls {
        let _ = writeln!(out, "<li>{}</li>", spans(l));
    }
    out + &format!("</{tag}>\n")
}

const STYLE: &str = "\
:root{--fg:#1d2330;--mut:#5b6475;--line:#d9dde5;--bg:#fff;--acc:#2f6db5;--exit:#c0392b}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 8px}h2{font-size:21px;margin:0 0 10px;padding-top:6px}h3{font-size:17px;margin:18px 0 8px}
section{border-top:2px solid var(--line);padding-top:14px;margin-top:26px}
nav ul{columns:2;padding-left:18px}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f2f4f8;padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
.tw{overflow-x:auto;margin:8px 0 14px}
table{border-collapse:collapse;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:3px 9px;text-align:left;vertical-align:top}
th{background:#f6f7fa;font-weight:600;cursor:pointer}
.r{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;width:120px;height:10px;background:#eef1f6}
.bar span{display:block;height:10px;background:var(--acc)}
figure{margin:12px 0 18px}
figcaption{font-weight:600;margin-bottom:4px}
svg{max-width:100%;height:auto;font:12px system-ui,sans-serif}
svg text{fill:var(--fg)}
svg .mut{fill:var(--mut)}
details summary{cursor:pointer;color:var(--mut);font-size:13px}
.summary li{margin:3px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px 18px}
.grid svg{width:100%}
@media print{th{cursor:auto}details summary{display:none}figure{break-inside:avoid-page}}
";

/// Sorts a table by the column whose header was clicked (numbers by value).
const SCRIPT: &str = "document.querySelectorAll('th').forEach(function(th){th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th),d=th.dataset.d==='1'?-1:1;th.dataset.d=d===1?'1':'0';var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){var a=x.cells[i],c=y.cells[i];if(!a||!c)return 0;var u=a.dataset.v,v=c.dataset.v;if(u!==undefined&&v!==undefined&&u!==''&&v!==''){return d*(parseFloat(u)-parseFloat(v));}return d*a.textContent.localeCompare(c.textContent);});rows.forEach(function(r){b.appendChild(r);});});});";

/// The whole page: `title` in the head, every level-2 heading opening a
/// `<section>` whose id is [`super::slug`] of its text (the links of the
/// report's summary point there).
pub fn render(title: &str, doc: &[Block]) -> String {
    let hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; img-src data:; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(title)
    );
    let mut charts = 0;
    let mut open = false;
    let mut seen: Vec<String> = Vec::new();
    for b in doc {
        if let Block::Heading(2, l) = b {
            if open {
                out += "</section>\n";
            }
            let mut id = super::slug(&super::plain_text(l));
            if seen.contains(&id) {
                let mut n = 1;
                while seen.contains(&format!("{id}-{n}")) {
                    n += 1;
                }
                id = format!("{id}-{n}");
            }
            seen.push(id.clone());
            let _ = writeln!(out, "<section id=\"{}\">", escape(&id));
            open = true;
        }
        out += &block(b, &mut charts);
    }
    if open {
        out += "</section>\n";
    }
    let _ = write!(
        out,
        "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    out
}

/// Standard base64 with padding (for the script's CSP hash).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::line;

    #[test]
    fn data_cannot_inject_markup() {
        let evil = "</script><script>alert(\"x\")</script>&`'\nnext";
        let out = render(
            "t",
            &[
                Block::heading(2, line().data(evil)),
                Block::para(line().name(evil).data(evil)),
            ],
        );
        assert!(!out.contains("<script>alert"));
        assert_eq!(out.matches("<script>").count(), 1, "only our own script");
        assert!(out.contains("&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)"));
        assert!(out.contains("&amp;&#96;&#39; next"));
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn sections_get_unique_ids() {
        let out = render(
            "t",
            &[
                Block::title(2, "Funnel"),
                Block::title(2, "Funnel"),
                Block::title(2, "Journey stages"),
            ],
        );
        assert!(out.contains("<section id=\"funnel\">"));
        assert!(out.contains("<section id=\"funnel-1\">"));
        assert!(out.contains("<section id=\"journey-stages\">"));
        assert_eq!(out.matches("</section>").count(), 3);
    }
}
