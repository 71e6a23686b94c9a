//! Which property columns a report reads: known from the config before the
//! first byte, so the readers skip the rest (a 30-column export whose config
//! uses four should cost what a 4-column one does).
//!
//! Keep this in step with the analyses: a property an analysis looks up that
//! is missing here reads as absent. `tests/cli/report.rs` runs report, funnel,
//! paths, segments and propensity train with and without the selection on a
//! wide CSV and Parquet export and compares the bytes.

use std::collections::BTreeSet;

use super::JourneyConfig;
use crate::ingest::PropertySelection;
use crate::predicate::Predicate;
use crate::segments::features::{CHANNEL_COLUMNS, DEVICE_COLUMNS, PAGE_COLUMNS, PRODUCT_COLUMNS};

impl JourneyConfig {
    /// The property columns `report` reads with this config.
    pub fn properties_read(&self) -> PropertySelection {
        let mut named: BTreeSet<String> = BTreeSet::new();
        // The feature roles (pages, products, device, channel) and the stage
        // tallies find their columns by these names.
        for list in [
            PAGE_COLUMNS,
            PRODUCT_COLUMNS,
            DEVICE_COLUMNS,
            CHANNEL_COLUMNS,
        ] {
            named.extend(list.iter().map(|s| s.to_string()));
        }
        let mut predicates: Vec<&Predicate> =
            self.predicates().into_iter().map(|(_, _, p)| p).collect();
        if let Some(p) = &self.propensity {
            predicates.extend(&p.milestone);
            named.extend(p.properties.iter().cloned());
        }
        if let Some(e) = &self.experiment {
            named.extend(e.properties());
        }
        if let Some(r) = &self.retention {
            named.extend(r.properties());
        }
        if let Some(l) = &self.lifecycle {
            named.extend(l.properties());
        }
        if let Some(r) = &self.recommend {
            named.extend(r.properties());
        }
        if let Some(f) = &self.fairness {
            named.extend(f.groups.iter().cloned());
        }
        for t in &self.triggers {
            predicates.extend(t.first.iter().chain(&t.then).chain(&t.outcome));
        }
        named.extend(predicate_properties(predicates));
        if let Some(by) = self.funnel.as_ref().and_then(|f| f.by.as_ref()) {
            named.insert(by.clone());
        }
        // Drift summaries: the columns listed, or every one.
        let drift_all = match self.drift.as_ref().map(|d| &d.properties) {
            Some(Some(list)) => {
                named.extend(list.iter().cloned());
                false
            }
            Some(None) => true,
            None => false,
        };
        // A pathway's model.json names its own property columns, unknown
        // until the file is read: read every column not named like an id.
        let models = self.pathways.iter().any(|p| p.model.is_some());
        PropertySelection {
            named,
            // The automatic features may use any column not named like an id.
            unnamed: self.auto_features() || models || drift_all,
        }
    }
}

/// The property columns that predicates name.
fn predicate_properties<'a>(
    predicates: impl IntoIterator<Item = &'a Predicate>,
) -> impl Iterator<Item = String> {
    predicates.into_iter().flat_map(|p| match p {
        Predicate::Where(m) => m
            .keys()
            .filter(|k| k.as_str() != "event")
            .cloned()
            .collect::<Vec<_>>(),
        Predicate::Event(_) => Vec::new(),
    })
}

impl PropertySelection {
    /// This selection widened for one command: the columns its flags'
    /// `predicates` and `by` breakdown name; `unnamed` says whether its
    /// automatic features may use any other column (never for `funnel` and
    /// `paths`, which have no model).
    pub fn with<'a>(
        mut self,
        predicates: impl IntoIterator<Item = &'a Predicate>,
        by: Option<&String>,
        unnamed: bool,
    ) -> Self {
        self.unnamed = unnamed;
        self.named.extend(predicate_properties(predicates));
        self.named.extend(by.cloned());
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    #[test]
    fn names_what_the_config_uses() {
        let cfg = parse(
            r#"
[features]
auto = false
[funnel]
steps = ["a", { event = "b", plan = "pro" }]
by = "country"
[propensity]
properties = ["tier"]
milestone = { event = "signup", source = "ad" }
[[stages]]
name = "S"
events = [{ event = "c", region = "eu" }]
"#,
        )
        .unwrap();
        let s = cfg.properties_read();
        for c in [
            "plan",
            "country",
            "tier",
            "source",
            "region",
            "page",
            "product_id",
            "device",
        ] {
            assert!(s.reads(c), "{c}");
        }
        assert!(!s.reads("utm_campaign") && !s.reads("request_id") && !s.reads("event"));
        assert!(!s.unnamed);
    }

    #[test]
    fn automatic_features_read_all_but_ids() {
        let s = parse("").unwrap().properties_read();
        assert!(s.reads("plan") && s.reads("price") && s.reads("product_id"));
        assert!(!s.reads("request_id") && !s.reads("order_uuid"));
    }
}
