//! journey.toml: one file for every command. It holds the definitions the
//! analyses share (`[conversion]`, `[funnel]`, `[[stages]]`), one section
//! per analysis (`[segments]`, `[propensity]` with `[[interventions]]`,
//! `[markov]`), how to read the export (`[input]`) and CI gates (`checks`).
//!
//! ```toml
//! [input]
//! user_col = "customer_id"   # the column mapping; flags override it
//! time_format = "%d/%m/%Y %H:%M"
//!
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
//!
//! Values are typed where they are read (durations, modes, choices), so a
//! bad one is refused by the TOML parser with its line; names checked
//! against the data later carry their line through [`Source`].

mod input;
pub mod layer;
mod reads;
mod source;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::error::DataError;
use crate::funnel::{Mode, Per};
use crate::ingest::EventTable;
use crate::predicate::{self, Predicate, suggest};
pub use input::InputSection;
pub use layer::{Origins, ParamError};
pub use source::Source;

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
    /// `[input]`: how to read the export (docs/ingest.md).
    #[serde(default)]
    pub input: Option<InputSection>,
    /// `[features]`: the automatic property features (docs/features.md).
    #[serde(default)]
    pub features: Option<crate::features::FeaturesSection>,
    #[serde(default)]
    pub conversion: Option<ConversionConfig>,
    #[serde(default)]
    pub funnel: Option<FunnelConfig>,
    #[serde(default)]
    pub stages: Vec<StageConfig>,
    /// `[markov]`: the journey map's settings (it runs whenever
    /// `[conversion]` names the conversion event).
    #[serde(default)]
    pub markov: Option<crate::paths::MarkovSection>,
    /// `[segments]`: abandonment segments in the report (docs/segments.md).
    #[serde(default)]
    pub segments: Option<crate::segments::SegmentsSection>,
    /// `[propensity]`: the model `report` trains (docs/propensity.md).
    #[serde(default)]
    pub propensity: Option<crate::propensity::config::PropensitySection>,
    /// `[[interventions]]`: rules that name an action per scored user.
    #[serde(default)]
    pub interventions: Vec<crate::propensity::config::Rule>,
    /// `[experiment]`: the A/B/n analysis (docs/experiments.md).
    #[serde(default)]
    pub experiment: Option<crate::experiment::config::ExperimentSection>,
    /// `[retention]`: cohort retention (docs/retention.md).
    #[serde(default)]
    pub retention: Option<crate::retention::config::RetentionSection>,
    /// `[lifecycle]`: new, returning, resurrecting, dormant (docs/lifecycle.md).
    #[serde(default)]
    pub lifecycle: Option<crate::lifecycle::run::LifecycleSection>,
    /// `[recommend]`: next-item recommendations (docs/recommend.md).
    #[serde(default)]
    pub recommend: Option<crate::recommend::config::RecommendSection>,
    /// `[fairness]`: the propensity model's decisions by group (docs/monitoring.md).
    #[serde(default)]
    pub fairness: Option<crate::fairness::analysis::FairnessSection>,
    /// `[drift]`: how `journeymap drift` compares two exports (docs/monitoring.md).
    #[serde(default)]
    pub drift: Option<crate::drift::DriftSection>,
    /// `[[sources]]`: files joined to the export by user id (docs/decisions.md).
    #[serde(default)]
    pub sources: Vec<crate::decide::config::SourceConfig>,
    /// `[[triggers]]`: life events detected as of a run date (docs/decisions.md).
    #[serde(default)]
    pub triggers: Vec<crate::decide::config::TriggerConfig>,
    /// `[[pathways]]`: triggers and attributes matched to actions (docs/decisions.md).
    #[serde(default)]
    pub pathways: Vec<crate::decide::config::PathwayConfig>,
    /// `[decide]`: the kill switch and rules over every pathway (docs/decisions.md).
    #[serde(default)]
    pub decide: Option<crate::decide::config::DecideSection>,
    /// CI gates, e.g. `"funnel.step[3].conversion >= 0.2"` (docs/checks.md).
    #[serde(default)]
    pub checks: Vec<String>,
    /// Where the config came from, for error messages with line numbers.
    #[serde(skip)]
    pub source: Option<Source>,
}

impl JourneyConfig {
    /// Whether models add the automatic property features (default yes).
    pub fn auto_features(&self) -> bool {
        self.features.as_ref().and_then(|f| f.auto).unwrap_or(true)
    }

    /// The directory that the config's relative paths (`[[sources]]`,
    /// models) are relative to: the file's own, or `.` when not read from one.
    pub fn dir(&self) -> std::path::PathBuf {
        self.source
            .as_ref()
            .and_then(|s| std::path::Path::new(&s.path).parent())
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| ".".into(), std::path::Path::to_path_buf)
    }

    /// `path:line: ` of a key path (`funnel.steps[1]`), or nothing for a
    /// config that was not read from a file.
    pub fn at(&self, key: &str) -> String {
        self.source.as_ref().map(|s| s.at(key)).unwrap_or_default()
    }

    /// Every predicate the config names, with its key path and a label for
    /// messages.
    fn predicates(&self) -> Vec<(String, String, &Predicate)> {
        let mut out = Vec::new();
        if let Some(c) = &self.conversion {
            out.push((
                "conversion.event".into(),
                "[conversion] event".into(),
                &c.event,
            ));
        }
        if let Some(f) = &self.funnel {
            for (i, p) in f.steps.iter().enumerate() {
                out.push((
                    format!("funnel.steps[{i}]"),
                    format!("[funnel] steps[{}]", i + 1),
                    p,
                ));
            }
            for (i, p) in f.exclude.iter().enumerate() {
                out.push((format!("funnel.exclude[{i}]"), "[funnel] exclude".into(), p));
            }
        }
        for (k, st) in self.stages.iter().enumerate() {
            for (i, p) in st.events.iter().enumerate() {
                out.push((
                    format!("stages[{k}].events[{i}]"),
                    format!("stage {:?}", st.name),
                    p,
                ));
            }
        }
        if let Some(e) = &self.experiment {
            if let Some(x) = &e.exposure {
                out.push((
                    "experiment.exposure".into(),
                    "[experiment] exposure".into(),
                    x,
                ));
            }
            for (i, m) in e.metrics.iter().enumerate() {
                out.push((
                    format!("experiment.metrics[{i}].event"),
                    format!("[experiment] metric {:?}", m.name),
                    &m.event,
                ));
            }
        }
        if let Some(p) = &self.propensity {
            if let Some(t) = &p.target {
                out.push(("propensity.target".into(), "[propensity] target".into(), t));
            }
            for (i, m) in p.milestones.iter().enumerate() {
                out.push((
                    format!("propensity.milestones[{i}]"),
                    format!("[propensity] milestone {:?}", m.name),
                    &m.event,
                ));
            }
        }
        out
    }

    /// Checks every event and property the config names against the data,
    /// so a typo fails before any analysis runs, with its line. Returns a
    /// warning for each named event that does not occur in the data (its
    /// counts are zero: a quiet day is no failure).
    pub fn validate(&self, t: &EventTable) -> Result<Vec<String>, DataError> {
        let mut warnings = Vec::new();
        for (key, what, p) in self.predicates() {
            predicate::resolve(p, t, &what)
                .map_err(|e| DataError::Input(format!("{}{e}", self.at(&key))))?;
            for e in predicate::absent([p], t) {
                warnings.push(format!(
                    "{}{what}: the event {} does not occur in the data; its counts are zero",
                    self.at(&key),
                    crate::doc::rich::code(&e)
                ));
            }
        }
        Ok(warnings)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionConfig {
    pub event: Predicate,
}

/// `[funnel]`; also the flags of `funnel` and `segments`, merged over it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunnelConfig {
    pub steps: Vec<Predicate>,
    #[serde(default)]
    pub window: Option<Duration>,
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub per: Option<Per>,
    #[serde(default)]
    pub exclude: Vec<Predicate>,
    #[serde(default)]
    pub by: Option<String>,
    /// Funnel trends: the per-step conversion per cohort of entry, by this
    /// calendar interval (day, week, month or a duration; UTC).
    #[serde(default)]
    pub trend: Option<String>,
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
    let shown = path.display().to_string();
    let mut cfg = parse(&text).map_err(|e| crate::error::UsageError(format!("{shown}:{e}")))?;
    cfg.source = Some(Source::new(&shown, &text));
    Ok(cfg)
}

/// Parses TOML. An error reads `line:column: message`, then the line
/// itself; an unknown key or value gets a "did you mean" from the ones
/// allowed there.
pub fn parse(text: &str) -> Result<JourneyConfig, String> {
    toml::from_str(text).map_err(|e| {
        let msg = e.message().trim_end().to_string();
        let msg = match unknown_field_hint(&msg) {
            Some(h) => format!("{msg}{h}"),
            None => msg,
        };
        match e.span() {
            Some(span) => {
                let start = span.start.min(text.len());
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let line_no = text[..start].matches('\n').count() + 1;
                let col = text[line_start..start].chars().count() + 1;
                let line = text[line_start..].lines().next().unwrap_or("");
                format!(
                    "{line_no}:{col}: {msg}\n  {line_no} | {}",
                    crate::doc::text::clean(line)
                )
            }
            None => format!(" {msg}"),
        }
    })
}

/// From "unknown field `windw`, expected one of `steps`, `window`", the hint
/// "; did you mean `window`?".
fn unknown_field_hint(msg: &str) -> Option<String> {
    let rest = msg
        .split("unknown field `")
        .nth(1)
        .or_else(|| msg.split("unknown variant `").nth(1))?;
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
        assert!(e.contains("windw") && e.starts_with("3:1: "), "{e}");
        assert!(e.contains("did you mean `window`?"), "{e}");
        let e = parse("[funel]\nsteps = [\"a\"]\n").unwrap_err();
        assert!(e.contains("did you mean `funnel`?"), "{e}");
    }

    #[test]
    fn typed_values_are_refused_with_their_line() {
        let e = parse("[funnel]\nsteps = [\"a\"]\nmode = \"strct\"\n").unwrap_err();
        assert!(
            e.starts_with("3:8: ") && e.contains("did you mean `strict`?"),
            "{e}"
        );
        let e = parse("[funnel]\nsteps = [\"a\"]\n\nwindow = \"3 days\"\n").unwrap_err();
        assert!(e.starts_with("4:10: ") && e.contains("bad duration"), "{e}");
        let c = parse("[funnel]\nsteps = [\"a\"]\nwindow = \"2w\"\nper = \"session\"\n").unwrap();
        let f = c.funnel.unwrap();
        assert_eq!(f.window.map(|w| w.ms()), Some(14 * 86_400_000));
        assert_eq!(f.per, Some(Per::Session));
    }
}
