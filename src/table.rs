//! Plain aligned tables for the terminal and pipe tables for Markdown.

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    header: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str], align: &[Align]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            align: align.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    fn widths(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        w
    }

    fn pad(cell: &str, width: usize, align: Align) -> String {
        let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
        match align {
            Align::Left => format!("{cell}{fill}"),
            Align::Right => format!("{fill}{cell}"),
        }
    }

    /// Space-separated columns with a dashed rule under the header.
    pub fn to_text(&self) -> String {
        let w = self.widths();
        let line = |cells: &[String]| -> String {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| Self::pad(c, w[i], self.align[i]))
                .collect();
            parts.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = line(&self.header);
        out += &(w
            .iter()
            .map(|n| "-".repeat(*n))
            .collect::<Vec<_>>()
            .join("  ")
            + "\n");
        for r in &self.rows {
            out += &line(r);
        }
        out
    }

    /// A GitHub-flavoured Markdown pipe table; `|` in cells is escaped.
    pub fn to_markdown(&self) -> String {
        let esc =
            |r: &[String]| -> Vec<String> { r.iter().map(|c| c.replace('|', "\\|")).collect() };
        let escaped = Table {
            header: esc(&self.header),
            align: self.align.clone(),
            rows: self.rows.iter().map(|r| esc(r)).collect(),
        };
        let w: Vec<usize> = escaped.widths().into_iter().map(|n| n.max(3)).collect();
        let line = |cells: &[String]| -> String {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| Self::pad(c, w[i], self.align[i]))
                .collect();
            format!("| {} |\n", parts.join(" | "))
        };
        let mut out = line(&escaped.header);
        let rule: Vec<String> = w
            .iter()
            .zip(&self.align)
            .map(|(n, a)| match a {
                Align::Left => "-".repeat(*n),
                Align::Right => format!("{}:", "-".repeat(n - 1)),
            })
            .collect();
        out += &format!("| {} |\n", rule.join(" | "));
        for r in &escaped.rows {
            out += &line(r);
        }
        out
    }
}

/// A number with thousands separators: 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A float without trailing noise: 3.0 → "3", 2.5 → "2.5", 0.123456 → "0.123".
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        let mut t = Table::new(&["a", "n"], &[Align::Left, Align::Right]);
        t.row(vec!["x|y".into(), "10".into()]);
        assert_eq!(
            t.to_markdown(),
            "| a    |   n |\n| ---- | --: |\n| x\\|y |  10 |\n"
        );
    }
}
