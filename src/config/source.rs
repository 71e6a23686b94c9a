//! Where each value of journey.toml sits, so that a value checked after
//! parsing (an event name against the data, a range) is reported with its
//! file and line. Keys are paths as people write them: `funnel.window`,
//! `funnel.steps[2]` (0-based), `stages[1].events[0]`.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Source {
    pub path: String,
    /// Key path → 1-based line of its value.
    lines: BTreeMap<String, usize>,
}

impl Source {
    /// The line map of `text` (already known to be valid TOML).
    pub fn new(path: &str, text: &str) -> Source {
        let mut lines = BTreeMap::new();
        if let Ok(doc) = DeTable::parse(text) {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
            let line = |at: usize| starts.partition_point(|&s| s <= at);
            walk_table(doc.get_ref(), "", &line, &mut lines);
        }
        Source {
            path: path.to_string(),
            lines,
        }
    }

    /// The line of a key path's value, or of the nearest enclosing key.
    pub fn line(&self, key: &str) -> Option<usize> {
        let mut k = key;
        loop {
            if let Some(&l) = self.lines.get(k) {
                return Some(l);
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }

    /// `path:line: ` for a key path, or `path: `.
    pub fn at(&self, key: &str) -> String {
        match self.line(key) {
            Some(l) => format!("{}:{l}: ", self.path),
            None => format!("{}: ", self.path),
        }
    }
}

fn walk_table(
    t: &DeTable<'_>,
    prefix: &str,
    line: &dyn Fn(usize) -> usize,
    out: &mut BTreeMap<String, usize>,
) {
    for (k, v) in t.iter() {
        let key = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        out.insert(key.clone(), line(v.span().start));
        walk_value(v.get_ref(), &key, line, out);
    }
}

fn walk_value(
    v: &DeValue<'_>,
    key: &str,
    line: &dyn Fn(usize) -> usize,
    out: &mut BTreeMap<String, usize>,
) {
    match v {
        DeValue::Table(t) => walk_table(t, key, line, out),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                let k = format!("{key}[{i}]");
                out.insert(k.clone(), line(item.span().start));
                walk_value(item.get_ref(), &k, line, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_of_keys_array_items_and_tables_of_arrays() {
        let text = "[funnel]\nsteps = [\n  \"a\",\n  { event = \"b\", page = \"/\" },\n]\nwindow = \"7d\"\n\n[[stages]]\nname = \"A\"\nevents = [\"x\"]\n\n[[stages]]\nname = \"B\"\nevents = [\"y\", \"z\"]\n";
        let s = super::Source::new("j.toml", text);
        assert_eq!(s.line("funnel.window"), Some(6));
        assert_eq!(s.line("funnel.steps[1]"), Some(4));
        assert_eq!(s.line("funnel.steps[1].page"), Some(4));
        assert_eq!(s.line("stages[1].events[1]"), Some(14));
        assert_eq!(s.line("stages[1].name"), Some(13));
        assert_eq!(s.at("funnel.nothing"), "j.toml:1: ");
        assert_eq!(s.at("nothing"), "j.toml: ");
    }
}
