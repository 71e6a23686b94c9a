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

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::ingest::EventTable;
use crate::predicate::{Predicate, resolve, suggest};

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
}
