//! Predicates: an event name, or an event plus property equalities, as
//! journey.toml and the command line write them; and matchers, the same
//! resolved against one table (codes instead of strings).
//!
//! A leaf module: config, every analysis and the feature layer use it, and
//! it uses none of them.
//!
//! On the command line a predicate is `event` or `event[prop=value,...]`.
//! A name that holds `,`, `[`, `]`, `=` or `"` is written in double quotes,
//! with `""` for a quote inside (as in CSV): `"add,to cart"`,
//! `page_view[page="/a,b"]`, `"say ""hi"""`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::ingest::EventTable;

/// An event name, or an event plus property equalities
/// (`{ event = "page_view", page = "/checkout" }`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Predicate {
    Event(String),
    Where(BTreeMap<String, String>),
}

impl Predicate {
    pub fn event(&self) -> Option<&str> {
        match self {
            Predicate::Event(e) => Some(e),
            Predicate::Where(m) => m.get("event").map(String::as_str),
        }
    }

    /// A short label: `add_to_cart` or `page_view[page=/checkout]`.
    pub fn label(&self) -> String {
        match self {
            Predicate::Event(e) => e.clone(),
            Predicate::Where(m) => {
                let props: Vec<String> = m
                    .iter()
                    .filter(|(k, _)| k.as_str() != "event")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("{}[{}]", self.event().unwrap_or("?"), props.join(","))
            }
        }
    }

    /// Parses the command-line form of one predicate (see the module doc).
    pub fn parse_cli(s: &str) -> Result<Predicate, String> {
        let mut parts = split_top(s, ',')?;
        if parts.len() != 1 {
            return Err(format!(
                "{s:?} holds a comma: write the name in double quotes (\"a,b\") for a name with a comma"
            ));
        }
        one(&parts.remove(0), s)
    }

    /// Parses a comma-separated list of predicates (`--steps`).
    pub fn parse_list(s: &str) -> Result<Vec<Predicate>, String> {
        split_top(s, ',')?.iter().map(|p| one(p, s)).collect()
    }
}

/// Splits at `sep` outside quotes and brackets; quotes are kept.
pub(crate) fn split_top(s: &str, sep: char) -> Result<Vec<String>, String> {
    let (mut parts, mut cur) = (Vec::new(), String::new());
    let (mut quoted, mut depth) = (false, 0i32);
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            c if c == sep && !quoted && depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if quoted {
        return Err(format!("{s:?}: a double quote is not closed"));
    }
    if depth != 0 {
        return Err(format!("{s:?}: a [ is not closed"));
    }
    parts.push(cur);
    Ok(parts)
}

/// A name, unquoted (`"a ""b"""` → `a "b"`) or trimmed as it is.
fn name(s: &str, whole: &str) -> Result<String, String> {
    let s = s.trim();
    match s.strip_prefix('"') {
        Some(rest) => {
            let inner = rest
                .strip_suffix('"')
                .ok_or_else(|| format!("{whole:?}: text after a quoted name"))?;
            if inner.replace("\"\"", "").contains('"') {
                return Err(format!(
                    "{whole:?}: a quote inside a quoted name is written \"\""
                ));
            }
            Ok(inner.replace("\"\"", "\""))
        }
        None if s.contains('"') => Err(format!(
            "{whole:?}: quote the whole name (\"...\"), not part of it"
        )),
        None => Ok(s.to_string()),
    }
}

/// Position of the first `[` outside quotes.
fn open_bracket(s: &str) -> Option<usize> {
    let mut quoted = false;
    s.char_indices().find_map(|(i, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        '[' if !quoted => Some(i),
        _ => None,
    })
}

fn one(s: &str, whole: &str) -> Result<Predicate, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(format!("{whole:?}: an empty step"));
    }
    let Some(at) = open_bracket(s) else {
        return Ok(Predicate::Event(name(s, whole)?));
    };
    let event = name(&s[..at], whole)?;
    if event.is_empty() {
        return Err(format!("{whole:?}: no event before ["));
    }
    let inner = s[at + 1..]
        .trim_end()
        .strip_suffix(']')
        .ok_or_else(|| format!("step {s:?}: expected `event[prop=value]`"))?;
    let mut m = BTreeMap::new();
    m.insert("event".to_string(), event);
    for kv in split_top(inner, ',')? {
        let eq = split_top(&kv, '=')?;
        let [k, v] = eq.as_slice() else {
            return Err(format!(
                "step {s:?}: expected prop=value, got {:?}",
                kv.trim()
            ));
        };
        m.insert(name(k, whole)?, name(v, whole)?);
    }
    Ok(Predicate::Where(m))
}

/// A predicate resolved against one table: codes instead of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The event code; `None` when the event does not occur in this table
    /// (a quiet day): the matcher then matches nothing.
    pub event: Option<u32>,
    /// (property column index, value code); the value may be absent from the
    /// data, in which case the matcher never matches (`None`).
    pub props: Vec<(usize, Option<u32>)>,
}

impl Matcher {
    #[inline]
    pub fn matches(&self, t: &EventTable, i: usize) -> bool {
        self.event == Some(t.event[i])
            && self
                .props
                .iter()
                .all(|&(p, code)| code.is_some_and(|c| t.props[p].codes[i] == c))
    }
}

/// The code of an event name in `t`, if it occurs.
pub fn event_code(t: &EventTable, name: &str) -> Option<u32> {
    (0..t.event_names.len() as u32).find(|&c| t.event_names.get(c) == name)
}

/// Resolves a predicate. An event that does not occur in the data matches
/// nothing (a quiet day must not fail a nightly job; [`absent`] lists them
/// for a warning), unless its name is a near miss of one that does: that is
/// a typo, an error that names the nearest event. An unknown property is
/// always an error (a column missing from the export is not a quiet day).
/// `what` says where it came from ("funnel step 2").
pub fn resolve(pred: &Predicate, t: &EventTable, what: &str) -> Result<Matcher, DataError> {
    let event = pred
        .event()
        .ok_or_else(|| DataError::Input(format!("{what}: a step table needs an `event` key")))?;
    let code = event_code(t, event);
    if code.is_none() {
        let hint = suggest(event, t.event_names.iter());
        if !hint.is_empty() {
            return Err(DataError::Input(format!(
                "{what}: unknown event {event:?}{hint}"
            )));
        }
    }
    let mut props = Vec::new();
    if let Predicate::Where(m) = pred {
        for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "event") {
            let p = t.props.iter().position(|c| &c.name == k).ok_or_else(|| {
                DataError::Input(format!(
                    "{what}: unknown property {k:?}{}",
                    suggest(k, t.props.iter().map(|c| c.name.as_str()))
                ))
            })?;
            let col = &t.props[p];
            let value = (1..col.values.len() as u32).find(|&c| col.values.get(c) == v);
            props.push((p, value));
        }
    }
    Ok(Matcher { event: code, props })
}

/// The event names among `preds` that do not occur in `t` (and are no
/// typo, which [`resolve`] refuses), each once, in order.
pub fn absent<'a>(preds: impl IntoIterator<Item = &'a Predicate>, t: &EventTable) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in preds {
        if let Some(e) = p.event()
            && event_code(t, e).is_none()
            && !out.iter().any(|x| x == e)
        {
            out.push(e.to_string());
        }
    }
    out
}

/// "; did you mean \"x\"?" for the closest candidate by edit distance, if close.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let best = candidates
        .map(|c| (strsim::levenshtein(word, c), c))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    match best {
        Some((d, c)) if d <= (word.chars().count() / 3).max(2) => format!("; did you mean {c:?}?"),
        _ => String::new(),
    }
}

/// Per event code, the bits of the predicates a plain event name satisfies,
/// plus the predicates with property conditions, checked per row. One table
/// serves every analysis that tags events with bits (funnel steps and
/// exclusions).
#[derive(Debug, Clone)]
pub struct MaskTable {
    by_event: Vec<u32>,
    with_props: Vec<(u32, Matcher)>,
}

impl MaskTable {
    /// `matchers`: (bit, matcher) pairs; bits may repeat.
    pub fn new<'a>(t: &EventTable, matchers: impl IntoIterator<Item = (u32, &'a Matcher)>) -> Self {
        let mut by_event = vec![0u32; t.event_names.len()];
        let mut with_props = Vec::new();
        for (bit, m) in matchers {
            match m.event {
                None => {}
                Some(e) if m.props.is_empty() => by_event[e as usize] |= bit,
                Some(_) => with_props.push((bit, m.clone())),
            }
        }
        MaskTable {
            by_event,
            with_props,
        }
    }

    /// The bits event `i` of `t` carries.
    #[inline]
    pub fn mask(&self, t: &EventTable, i: usize) -> u32 {
        let mut m = self.by_event[t.event[i] as usize];
        for (bit, matcher) in &self.with_props {
            if matcher.matches(t, i) {
                m |= bit;
            }
        }
        m
    }
}

/// The index of property column `name`, or an error naming `what` and the
/// nearest of `columns` (every column of the export, read or not).
pub fn column(
    t: &EventTable,
    columns: &[String],
    name: &str,
    what: &str,
) -> Result<usize, DataError> {
    t.props.iter().position(|c| c.name == name).ok_or_else(|| {
        DataError::Input(format!(
            "{what}: the export has no column {name:?}{}",
            suggest(name, columns.iter().map(String::as_str))
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_predicates() {
        assert_eq!(
            Predicate::parse_cli("a").unwrap(),
            Predicate::Event("a".into())
        );
        assert_eq!(
            Predicate::parse_cli("pv[page=/x]").unwrap().label(),
            "pv[page=/x]"
        );
        assert!(Predicate::parse_cli("pv[page]").is_err());
        assert!(Predicate::parse_cli("a,b").is_err());
    }

    #[test]
    fn quoted_names_hold_commas_brackets_and_quotes() {
        let steps = Predicate::parse_list(
            r#""add,to cart",page_view[page="/a,b"],"x[1]","say ""hi""",plain"#,
        )
        .unwrap();
        let labels: Vec<String> = steps.iter().map(Predicate::label).collect();
        assert_eq!(
            labels,
            [
                "add,to cart",
                "page_view[page=/a,b]",
                "x[1]",
                "say \"hi\"",
                "plain"
            ]
        );
        assert_eq!(
            Predicate::parse_cli("\"a=b\"[\"p=q\"=\"v]\"]").unwrap(),
            Predicate::Where(
                [("event", "a=b"), ("p=q", "v]")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            )
        );
        for bad in ["\"open", "a\"b", "a[b=1", "\"x\"y", "", "a,,b"] {
            assert!(Predicate::parse_list(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("purchse", ["purchase", "page_view"].into_iter()),
            "; did you mean \"purchase\"?"
        );
        assert_eq!(suggest("zzz", ["purchase"].into_iter()), "");
    }

    #[test]
    fn absent_events_match_nothing_and_typos_are_errors() {
        let t = EventTable {
            user_names: ["u"].into_iter().collect(),
            event_names: ["purchase", "view"].into_iter().collect(),
            user: vec![0, 0],
            event: vec![1, 0],
            ts: vec![0, 1],
            ..EventTable::default()
        };
        let quiet = resolve(&Predicate::Event("refund_requested".into()), &t, "x").unwrap();
        assert_eq!(quiet.event, None);
        assert!(!(0..2).any(|i| quiet.matches(&t, i)));
        let typo = resolve(&Predicate::Event("purchse".into()), &t, "funnel step 2");
        assert!(
            typo.unwrap_err()
                .to_string()
                .contains("did you mean \"purchase\"")
        );
        let preds = [
            Predicate::Event("refund_requested".into()),
            Predicate::Event("view".into()),
            Predicate::Event("refund_requested".into()),
        ];
        assert_eq!(absent(&preds, &t), ["refund_requested"]);
    }
}
