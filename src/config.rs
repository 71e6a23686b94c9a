//! journey.toml: the funnel, the stage mapping and the conversion event.
//!
//! ```toml
//! [conversion]
//! event = "purchase"
//!
//! [funnel]
//! steps = ["product_view", "add_to_cart", { event = "page_view", page = "/checkout" }, "purchase"]
//! window = "14d"          # from the first step's event, inclusive
//! mode = "ordered"        # ordered | strict | unordered
//! per = "user"            # user | session
//! exclude = ["remove_from_cart"]
//!
//! [[stages]]
//! name = "Awareness"
//! events = ["page_view", "search"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::ingest::EventTable;

/// The five default journey stages, in order.
pub const DEFAULT_STAGES: [&str; 5] = [
    "Awareness",
    "Consideration",
    "Purchase",
    "Retention",
    "Advocacy",
];

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyConfig {
    #[serde(default)]
    pub conversion: Option<ConversionConfig>,
    #[serde(default)]
    pub funnel: Option<FunnelConfig>,
    #[serde(default)]
    pub stages: Vec<StageConfig>,
    /// `[propensity]`: the model `report` trains (docs/propensity.md).
    #[serde(default)]
    pub propensity: Option<crate::propensity::config::PropensitySection>,
    /// `[[interventions]]`: rules that name an action per scored user.
    #[serde(default)]
    pub interventions: Vec<crate::propensity::config::Rule>,
    /// `[segments]`: abandonment segments in the report (docs/segments.md).
    #[serde(default)]
    pub segments: Option<SegmentsConfig>,
    /// CI gates, e.g. `"funnel.step[3].conversion >= 0.2"` (docs/checks.md).
    #[serde(default)]
    pub checks: Vec<String>,
    /// Where the config came from, for error messages with line numbers.
    #[serde(skip)]
    pub source: Option<Source>,
}

/// `[segments]`: `k = "auto"` or a number, `on = "abandoned" | "all"`,
/// `unit = "user" | "session"`, `from_step`, `seed`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentsConfig {
    #[serde(default)]
    pub k: Option<KSetting>,
    #[serde(default)]
    pub on: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub from_step: Option<usize>,
    #[serde(default)]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum KSetting {
    Fixed(usize),
    Named(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Source {
    pub path: String,
    pub text: String,
}

impl Source {
    /// `path:line: ` of the first line containing `needle` (after `after`), or `path: `.
    pub fn at(&self, needle: &str, after: Option<&str>) -> String {
        let start = after.and_then(|a| self.text.find(a)).unwrap_or(0);
        match self.text[start..].find(needle) {
            Some(i) => format!(
                "{}:{}: ",
                self.path,
                self.text[..start + i].matches('\n').count() + 1
            ),
            None => format!("{}: ", self.path),
        }
    }
}

impl JourneyConfig {
    /// Every duration the config names, checked as soon as it is read: a
    /// typo is a usage error (exit 2) with its file and line, before any
    /// data is read.
    pub fn check_durations(&self) -> Result<(), crate::error::UsageError> {
        let mut named: Vec<(String, &str, &str)> = Vec::new(); // (key, value, section)
        if let Some(w) = self.funnel.as_ref().and_then(|f| f.window.as_deref()) {
            named.push(("[funnel] window".into(), w, "[funnel]"));
        }
        if let Some(p) = &self.propensity {
            let keys = [
                ("observe", &p.observe),
                ("horizon", &p.horizon),
                ("inactive", &p.inactive),
            ];
            for (key, v) in keys {
                match v.as_deref() {
                    Some("all") if key == "horizon" => {}
                    Some(v) => named.push((format!("[propensity] {key}"), v, "[propensity]")),
                    None => {}
                }
            }
        }
        for (i, r) in self.interventions.iter().enumerate() {
            if let Some(a) = r.after.as_deref() {
                named.push((
                    format!("intervention rule {}: after", i + 1),
                    a,
                    "[[interventions]]",
                ));
            }
        }
        for (key, v, section) in named {
            crate::duration::parse_ms(v).map_err(|e| {
                let at = self.at(&format!("{v:?}"), Some(section));
                crate::error::UsageError(format!("{at}{key}: {e}"))
            })?;
        }
        Ok(())
    }

    pub(crate) fn at(&self, needle: &str, after: Option<&str>) -> String {
        self.source
            .as_ref()
            .map(|s| s.at(needle, after))
            .unwrap_or_default()
    }

    /// Checks every event, property and duration the config names against
    /// the data, so a typo fails before any analysis runs, with its line.
    pub fn validate(&self, t: &EventTable) -> Result<(), DataError> {
        let check = |p: &Predicate, what: String, section: &str| -> Result<(), DataError> {
            resolve(p, t, &what).map(|_| ()).map_err(|e| {
                let needle = p.event().map(|e| format!("\"{e}\"")).unwrap_or_default();
                DataError::Input(format!("{}{e}", self.at(&needle, Some(section))))
            })
        };
        if let Some(c) = &self.conversion {
            check(&c.event, "[conversion] event".into(), "[conversion]")?;
        }
        if let Some(f) = &self.funnel {
            for (i, p) in f.steps.iter().enumerate() {
                check(p, format!("[funnel] steps[{}]", i + 1), "[funnel]")?;
            }
            for p in &f.exclude {
                check(p, "[funnel] exclude".into(), "[funnel]")?;
            }
        }
        for st in &self.stages {
            for p in &st.events {
                check(
                    p,
                    format!("stage {:?}", st.name),
                    &format!("\"{}\"", st.name),
                )?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionConfig {
    pub event: Predicate,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunnelConfig {
    pub steps: Vec<Predicate>,
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub per: Option<String>,
    #[serde(default)]
    pub exclude: Vec<Predicate>,
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    pub name: String,
    pub events: Vec<Predicate>,
}

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

    /// Parses the command-line form: `event` or `event[prop=value,prop=value]`.
    pub fn parse_cli(s: &str) -> Result<Predicate, String> {
        let s = s.trim();
        match s.split_once('[') {
            None if !s.is_empty() => Ok(Predicate::Event(s.to_string())),
            None => Err("empty step".into()),
            Some((event, rest)) => {
                let inner = rest
                    .strip_suffix(']')
                    .ok_or_else(|| format!("step {s:?}: expected `event[prop=value]`"))?;
                let mut m = BTreeMap::new();
                m.insert("event".to_string(), event.trim().to_string());
                for kv in inner.split(',') {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| format!("step {s:?}: expected prop=value, got {kv:?}"))?;
                    m.insert(k.trim().to_string(), v.trim().to_string());
                }
                Ok(Predicate::Where(m))
            }
        }
    }
}

/// A predicate resolved against one table: codes instead of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub event: u32,
    /// (property column index, value code); the value may be absent from the
    /// data, in which case the matcher never matches (`None`).
    pub props: Vec<(usize, Option<u32>)>,
}

impl Matcher {
    #[inline]
    pub fn matches(&self, t: &EventTable, i: usize) -> bool {
        t.event[i] == self.event
            && self
                .props
                .iter()
                .all(|&(p, code)| code.is_some_and(|c| t.props[p].codes[i] == c))
    }
}

/// Resolves a predicate; an unknown event or property is an error that names
/// the nearest valid name. `what` says where it came from ("funnel step 2").
pub fn resolve(pred: &Predicate, t: &EventTable, what: &str) -> Result<Matcher, DataError> {
    let event = pred
        .event()
        .ok_or_else(|| DataError::Input(format!("{what}: a step table needs an `event` key")))?;
    let code = (0..t.event_names.len() as u32)
        .find(|&c| t.event_names.get(c) == event)
        .ok_or_else(|| {
            DataError::Input(format!(
                "{what}: unknown event {event:?}{}",
                suggest(event, t.event_names.iter())
            ))
        })?;
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

/// "; did you mean \"x\"?" for the closest candidate by edit distance, if close.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let best = candidates
        .map(|c| (levenshtein(word, c), c))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    match best {
        Some((d, c)) if d <= (word.len() / 3).max(2) => format!("; did you mean {c:?}?"),
        _ => String::new(),
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Reads and parses journey.toml. TOML errors carry their line and column.
pub fn load(path: &Path) -> anyhow::Result<JourneyConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        crate::error::UsageError(format!("{}: cannot read config: {e}", path.display()))
    })?;
    let mut cfg =
        parse(&text).map_err(|e| crate::error::UsageError(format!("{}: {e}", path.display())))?;
    cfg.source = Some(Source {
        path: path.display().to_string(),
        text,
    });
    cfg.check_durations()?;
    Ok(cfg)
}

/// Parses TOML; an unknown key gets a "did you mean" from the keys allowed there.
pub fn parse(text: &str) -> Result<JourneyConfig, String> {
    toml::from_str(text).map_err(|e| {
        let msg = e.to_string();
        match unknown_field_hint(&msg) {
            Some(h) => format!("{}{h}", msg.trim_end()),
            None => msg,
        }
    })
}

/// From "unknown field `windw`, expected one of `steps`, `window`", the hint
/// "; did you mean `window`?".
fn unknown_field_hint(msg: &str) -> Option<String> {
    let rest = msg.split("unknown field `").nth(1)?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let s = suggest(field, expected.into_iter());
    (!s.is_empty()).then(|| s.replace('"', "`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_steps_and_predicates() {
        let c = parse(
            r#"
[funnel]
steps = ["a", { event = "page_view", page = "/checkout" }]
window = "7d"
[[stages]]
name = "Awareness"
events = ["a"]
"#,
        )
        .unwrap();
        let f = c.funnel.unwrap();
        assert_eq!(f.steps[0], Predicate::Event("a".into()));
        assert_eq!(f.steps[1].label(), "page_view[page=/checkout]");
        assert_eq!(c.stages[0].name, "Awareness");
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let e = parse("[funnel]\nsteps = [\"a\"]\nwindw = \"7d\"\n").unwrap_err();
        assert!(e.contains("windw") && e.contains("line 3"), "{e}");
        assert!(e.contains("did you mean `window`?"), "{e}");
        let e = parse("[funel]\nsteps = [\"a\"]\n").unwrap_err();
        assert!(e.contains("did you mean `funnel`?"), "{e}");
    }

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
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("purchse", ["purchase", "page_view"].into_iter()),
            "; did you mean \"purchase\"?"
        );
        assert_eq!(suggest("zzz", ["purchase"].into_iter()), "");
    }
}
