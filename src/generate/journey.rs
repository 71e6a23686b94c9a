//! The journey.toml shipped with each scenario: the conversion event, a
//! funnel and the stage mapping for the scenario's event vocabulary.
//! `generate` writes it beside the events as `<stem>.journey.toml`.

use std::path::{Path, PathBuf};

use super::Scenario;

const ECOMMERCE: &str = r#"# journey.toml for data from `journeymap generate --scenario ecommerce`.
# Predicates are an event name, or { event = "...", <property> = "value", ... }
# to match property values too. Stages come in file order, and an event
# belongs to the first stage with a predicate that matches it (docs/stages.md).

# The event that counts as converting.
[conversion]
event = "purchase"

# The checkout funnel; each step must follow the previous one within the
# window, counted from the first step's event.
[funnel]
steps = ["product_view", "add_to_cart", "begin_checkout", "add_payment_info", "purchase"]
window = "14d"

# Who buys within 14 days of their first day? Features come only from that
# first day (docs/propensity.md); risk is the chance of NOT converting.
# Abandonment segments: users who reached step 2 of the funnel (add_to_cart)
# without purchasing, clustered by behaviour; k chosen by silhouette.
[segments]
k = "auto"
on = "abandoned"

[propensity]
target = "purchase"
observe = "1d"
horizon = "14d"
properties = ["device", "channel"]
milestones = [
  { name = "added_to_cart", event = "add_to_cart", label = "added to cart" },
  { name = "compared", event = "compare", label = "compared products" },
]

# Interventions: checked in order, the first match names the action.
[[interventions]]
stage = "Purchase"
min_risk = 0.7
action = "cart_reminder_email"

[[interventions]]
stage = "Consideration"
min_risk = 0.8
missing = "added_to_cart"
action = "recommendation_email"

[[interventions]]
min_risk = 0.9
action = "discount_offer"

# Finding the shop: every session opens on the home page; a search is still
# looking for what is on offer.
[[stages]]
name = "Awareness"
events = [{ event = "page_view", page = "/" }, "search"]

# Looking at products.
[[stages]]
name = "Consideration"
events = ["product_view", "compare", "view_promotions"]

# From the cart to the order; the cart chores (coupon, removal) count too.
[[stages]]
name = "Purchase"
events = [
  "add_to_cart",
  "view_cart",
  "apply_coupon",
  "remove_from_cart",
  "begin_checkout",
  "add_payment_info",
  "purchase",
]

# Retention and Advocacy are left out: this scenario has no event for them.
# It has no repeat-order, account, review or referral events, and a returning
# visit opens with the same home-page page_view as a first one (an event
# belongs to one stage only). With such events in your export, add e.g.
#
# [[stages]]
# name = "Retention"
# events = ["login", "reorder"]
#
# [[stages]]
# name = "Advocacy"
# events = ["write_review", "refer_friend"]
"#;

const SAAS: &str = r#"# journey.toml for data from `journeymap generate --scenario saas`.
# Predicates are an event name, or { event = "...", <property> = "value", ... }
# to match property values too. Stages come in file order, and an event
# belongs to the first stage with a predicate that matches it (docs/stages.md).

# The event that counts as converting.
[conversion]
event = "upgrade"

# Activation to upgrade; sessions are about two days apart, so the window is
# a month, counted from the first step's event.
[funnel]
steps = ["signup", "create_project", "invite_teammate", "view_pricing", "upgrade"]
window = "30d"

# Who upgrades within 14 days of their first 3 days? (docs/propensity.md)
[propensity]
target = "upgrade"
observe = "3d"
horizon = "14d"
properties = ["device", "channel"]
milestones = [
  { name = "invited_teammate", event = "invite_teammate", label = "invited a teammate" },
  { name = "created_project", event = "create_project", label = "created a project" },
]

# Interventions: checked in order, the first match names the action.
[[interventions]]
stage = "Consideration"
min_risk = 0.7
missing = "created_project"
after = "3d"
action = "tutorial_email"

[[interventions]]
stage = "Consideration"
min_risk = 0.7
missing = "invited_teammate"
action = "invite_nudge"

[[interventions]]
min_risk = 0.9
action = "win_back_email"

# The data starts at sign-up (there are no marketing-site events), so signing
# up is the first touchpoint.
[[stages]]
name = "Awareness"
events = ["signup"]

# Trying the product out.
[[stages]]
name = "Consideration"
events = [
  "view_dashboard",
  "create_project",
  "use_feature",
  "use_integration",
  "read_docs",
  "comment",
]

# Looking at plans and upgrading.
[[stages]]
name = "Purchase"
events = ["view_pricing", "upgrade"]

# Coming back: every later session opens with a login; support contacts are
# service touchpoints. Converted users' last session ends with the upgrade, so
# Purchase → Retention counts users who came back after viewing pricing.
[[stages]]
name = "Retention"
events = ["login", "contact_support"]

# Bringing teammates in.
[[stages]]
name = "Advocacy"
events = ["invite_teammate"]
"#;

/// The commented journey.toml for a scenario.
const RETAIL: &str = r#"# journey.toml for data from `journeymap generate --scenario retail`.
# Predicates are an event name, or { event = "...", <property> = "value", ... }.
# Stages come in file order; an event belongs to the first stage that matches.

[conversion]
event = "purchase"

# Product to purchase, each step within 7 days of the first.
[funnel]
steps = ["product", "add_to_cart", "checkout", "payment", "purchase"]
window = "7d"

# Segments of every user, four of them.
[segments]
k = 4
on = "all"

# Who buys? Features come from the first day only (device, channel and the
# price of what they look at are found without being named here).
[propensity]
target = "purchase"
observe = "1d"
horizon = "14d"

[[interventions]]
stage = "Purchase"
min_risk = 0.7
action = "cart_reminder_email"

[[interventions]]
min_risk = 0.9
action = "discount_offer"

[[stages]]
name = "Awareness"
events = ["home", "search", "category"]

[[stages]]
name = "Consideration"
events = ["product"]

[[stages]]
name = "Purchase"
events = ["add_to_cart", "view_cart", "checkout", "shipping", "payment", "purchase"]
"#;

const BOOKSTORE: &str = r#"# journey.toml for data from `journeymap generate --scenario bookstore`.
# The catalog is beside the events (<stem>.catalog.csv); the truth file
# names each user's kind and planted next item (docs/recommend.md).

[conversion]
event = "purchase"

[funnel]
steps = ["view", "add_to_cart", "purchase"]
window = "7d"

# Next-book recommendations: a view counts 1, a cart 3, a purchase 5;
# "viewed X then Y" pairs within 30 days; cold-start users get their
# channel's (then their device's) most popular books.
[recommend]
item_column = "book_id"
weights = { view = 1, add_to_cart = 3, purchase = 5 }
cooc_window = "30d"
fallback_by = ["channel", "device"]
k = 10

[[stages]]
name = "Awareness"
events = ["home", "search"]

[[stages]]
name = "Consideration"
events = ["view"]

[[stages]]
name = "Purchase"
events = ["add_to_cart", "purchase"]
"#;

pub fn journey_toml(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Ecommerce => ECOMMERCE,
        Scenario::Saas => SAAS,
        Scenario::Retail => RETAIL,
        Scenario::Bookstore => BOOKSTORE,
        // Names the files beside it: written by generate::bank::config_toml.
        Scenario::Bank => "",
    }
}

/// `data/events.csv` → `data/events.journey.toml` (the stem as in
/// [`super::truth_path`]).
pub fn journey_path(out: &Path) -> PathBuf {
    let truth = super::truth_path(out);
    let name = truth
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".truth.csv").unwrap_or(&name);
    truth.with_file_name(format!("{stem}.journey.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::ingest::{IngestOptions, ingest};
    use crate::predicate::resolve;
    use crate::progress::Progress;

    #[test]
    fn journey_paths() {
        assert_eq!(
            journey_path(Path::new("data/events.csv")),
            Path::new("data/events.journey.toml")
        );
        assert_eq!(
            journey_path(Path::new("x.csv.gz")),
            Path::new("x.journey.toml")
        );
        assert_eq!(
            journey_path(Path::new("/tmp/a.b.PARQUET")),
            Path::new("/tmp/a.b.journey.toml")
        );
    }

    /// Every scenario's config parses, every predicate names an event of the generated
    /// data, and every generated event belongs to a stage.
    #[test]
    fn shipped_configs_resolve_against_generated_data() {
        let dir = tempfile::tempdir().unwrap();
        for scenario in [Scenario::Ecommerce, Scenario::Saas, Scenario::Retail] {
            let out = dir.path().join(format!("{scenario:?}.csv"));
            let summary = super::super::generate(&super::super::GenerateOptions {
                scenario,
                users: 300,
                seed: 11,
                out: out.clone(),
            })
            .unwrap();
            assert_eq!(summary.journey_config, journey_path(&out));
            let written = std::fs::read_to_string(&summary.journey_config).unwrap();
            assert_eq!(written, journey_toml(scenario));

            let table = ingest(&[out], &IngestOptions::default(), &Progress::silent())
                .unwrap()
                .table;
            let cfg = parse(&written).unwrap_or_else(|e| panic!("{scenario:?}: {e}"));
            let conv = cfg.conversion.as_ref().unwrap();
            assert_eq!(conv.event.event(), Some(scenario.conversion_event()));
            resolve(&conv.event, &table, "conversion").unwrap();
            let funnel = cfg.funnel.as_ref().unwrap();
            assert_eq!(funnel.steps.len(), 5);
            for p in funnel.steps.iter().chain(&funnel.exclude) {
                resolve(p, &table, "funnel").unwrap();
            }
            assert!(funnel.window.is_some());
            let names: Vec<&str> = cfg.stages.iter().map(|s| s.name.as_str()).collect();
            let expected: &[&str] = match scenario {
                Scenario::Ecommerce | Scenario::Retail | Scenario::Bookstore => {
                    &crate::config::DEFAULT_STAGES[..3]
                }
                Scenario::Saas => &crate::config::DEFAULT_STAGES,
                Scenario::Bank => &[],
            };
            assert_eq!(names, expected, "{scenario:?}");
            for st in &cfg.stages {
                for p in &st.events {
                    resolve(p, &table, &st.name).unwrap();
                }
            }
            let r = crate::stages::analyze(&table, &cfg.stages).unwrap();
            assert_eq!(r.unmapped_events, 0, "{scenario:?}: {:?}", r.top_unmapped);
            assert!(r.notes.is_empty(), "{scenario:?}: {:?}", r.notes);
        }
    }
}
