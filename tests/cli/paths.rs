//! End-to-end: `journeymap paths` on the published removal-effect toy.
//!
//! fixtures/paths/toy.csv holds the ChannelAttribution / DP6 toy as five
//! sessions (`conv` is the conversion event): google → conv ×2, mailing →
//! conv ×1, google > mailing → conv ×1, google → (no conversion) ×1. One
//! `mailing` event comes after a conversion and must not count.

use predicates::prelude::*;
use serde_json::Value;

use crate::common::jm;

const TOY: &str = "fixtures/paths/toy.csv";

fn json(args: &[&str]) -> Value {
    let mut all = vec!["paths"];
    all.extend_from_slice(args);
    crate::common::json_of(&all)
}

fn state<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == name)
        .unwrap_or_else(|| panic!("no state {name}"))
}

fn transitions(v: &Value) -> Vec<(String, String, u64, f64)> {
    v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap().to_string(),
                t["to"].as_str().unwrap().to_string(),
                t["count"].as_u64().unwrap(),
                t["probability"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn paths(v: &Value, key: &str) -> Vec<(String, u64)> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn assert_rows_sum_to_one(v: &Value) {
    let mut sums = std::collections::BTreeMap::<String, f64>::new();
    for (from, _, _, p) in transitions(v) {
        *sums.entry(from).or_default() += p;
    }
    assert!(!sums.is_empty());
    for (from, sum) in sums {
        assert!((sum - 1.0).abs() < 1e-9, "row {from} sums to {sum}");
    }
}

#[test]
fn toy_removal_effects_end_to_end() {
    let v = json(&[TOY, "--conversion", "conv"]);
    assert_eq!(v["states_kind"], "event");
    assert_eq!(v["conversion"], "conv");
    assert_eq!(v["sessions"], 5);
    assert_eq!(v["converted_sessions"], 4);
    assert_eq!(v["conversion_rate"], 0.8);
    assert_eq!(v["skipped_events"], 0);
    assert_eq!(v["events_after_conversion"], 1);

    let names: Vec<&str> = v["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["START", "google", "mailing", "CONVERSION", "EXIT"]);
    // P(conv) = 0.8; removing google leaves 0.2 (RE 0.75), removing mailing
    // leaves 0.4 (RE 0.5); shares 0.6 / 0.4.
    assert_eq!(state(&v, "START")["p_conversion"], 0.8);
    assert_eq!(state(&v, "START")["visits"], 5);
    assert_eq!(state(&v, "START")["removal_effect"], Value::Null);
    let g = state(&v, "google");
    assert_eq!(
        (g["visits"].as_u64(), g["p_conversion"].as_f64()),
        (Some(4), Some(0.75))
    );
    assert_eq!(g["removal_effect"], 0.75);
    assert_eq!(g["removal_share"], 0.6);
    let m = state(&v, "mailing");
    assert_eq!(
        (m["visits"].as_u64(), m["p_conversion"].as_f64()),
        (Some(2), Some(1.0))
    );
    assert_eq!(m["removal_effect"], 0.5);
    assert_eq!(m["removal_share"], 0.4);
    assert_eq!(state(&v, "CONVERSION")["visits"], 4);
    assert_eq!(state(&v, "EXIT")["visits"], 1);

    let t = |f: &str, to: &str, c: u64, p: f64| (f.to_string(), to.to_string(), c, p);
    assert_eq!(
        transitions(&v),
        [
            t("START", "google", 4, 0.8),
            t("START", "mailing", 1, 0.2),
            t("google", "mailing", 1, 0.25),
            t("google", "CONVERSION", 2, 0.5),
            t("google", "EXIT", 1, 0.25),
            t("mailing", "CONVERSION", 2, 1.0),
        ]
    );
    assert_rows_sum_to_one(&v);

    let p = |s: &str, c: u64| (s.to_string(), c);
    assert_eq!(
        paths(&v, "top_converting_paths"),
        [
            p("START > google > CONVERSION", 2),
            p("START > google > mailing > CONVERSION", 1),
            p("START > mailing > CONVERSION", 1),
        ]
    );
    assert_eq!(paths(&v, "top_exit_paths"), [p("START > google > EXIT", 1)]);
    assert_eq!(v["top_converting_paths"][0]["share"], 0.4);
}

#[test]
fn top_limits_the_path_lists() {
    let v = json(&[TOY, "--conversion", "conv", "--top", "1"]);
    assert_eq!(
        paths(&v, "top_converting_paths"),
        [("START > google > CONVERSION".to_string(), 2)]
    );
}

#[test]
fn text_output_shows_the_tables() {
    jm().args(["paths", TOY, "--conversion", "conv"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "5 sessions, 4 converted (80.0%); P(CONVERSION | START) = 0.8000.",
        ))
        .stdout(predicate::str::contains("removal effect"))
        .stdout(predicate::str::contains(
            "START > google > mailing > CONVERSION",
        ))
        .stderr("");
}

#[test]
fn stage_states_from_the_config() {
    // Only google has a stage (Search); mailing is skipped, conv comes from
    // [conversion] in the config.
    let v = json(&[
        TOY,
        "--states",
        "stage",
        "--config",
        "fixtures/paths/toy_stages.toml",
    ]);
    assert_eq!(v["states_kind"], "stage");
    assert_eq!(v["skipped_events"], 2);
    let names: Vec<&str> = v["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["START", "Search", "CONVERSION", "EXIT"]);
    // Search → CONV 3, → EXIT 1: p = 0.75; START → Search 4, → CONV 1:
    // p = 0.8; without Search only START → CONV remains: RE = 1 − 0.2/0.8.
    assert_eq!(state(&v, "Search")["p_conversion"], 0.75);
    assert_eq!(state(&v, "START")["p_conversion"], 0.8);
    assert_eq!(state(&v, "Search")["removal_effect"], 0.75);
    assert_eq!(state(&v, "Search")["removal_share"], 1.0);
    assert_rows_sum_to_one(&v);
    assert_eq!(
        paths(&v, "top_converting_paths"),
        [
            ("START > Search > CONVERSION".to_string(), 3),
            ("START > CONVERSION".to_string(), 1),
        ]
    );
    // The text output says how many events were skipped.
    jm().args([
        "paths",
        TOY,
        "--states",
        "stage",
        "--config",
        "fixtures/paths/toy_stages.toml",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains(
        "2 events mapped to no stage were skipped",
    ));
}

#[test]
fn stage_states_without_stages_are_a_usage_error() {
    for extra in [&[][..], &["--config", "fixtures/paths/no_stages.toml"][..]] {
        jm().args(["paths", TOY, "--conversion", "conv", "--states", "stage"])
            .args(extra)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "--states stage needs a stage mapping",
            ));
    }
}

#[test]
fn a_missing_conversion_event_is_a_clean_error() {
    jm().args(["paths", TOY])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("pass --target EVENT"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn an_unknown_conversion_event_suggests_the_nearest() {
    jm().args(["paths", TOY, "--conversion", "comv"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown event \"comv\"; did you mean \"conv\"?",
        ));
}

#[test]
fn a_bad_states_value_is_rejected_by_clap() {
    jm().args(["paths", TOY, "--conversion", "conv", "--states", "channel"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("event").and(predicate::str::contains("stage")));
}

#[test]
fn generated_shop_rows_sum_to_one_and_conversion_is_no_state() {
    let v = json(&["fixtures/shop_small.csv", "--conversion", "purchase"]);
    assert_rows_sum_to_one(&v);
    assert_eq!(v["converted_sessions"], 9);
    let states = v["states"].as_array().unwrap();
    assert!(states.iter().all(|s| s["state"] != "purchase"));
    // Every transient state's conversion probability is a probability, and
    // the removal shares add up to 1.
    let shares: f64 = states
        .iter()
        .filter_map(|s| s["removal_share"].as_f64())
        .sum();
    assert!((shares - 1.0).abs() < 1e-4, "{shares}");
    for s in states {
        let p = s["p_conversion"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }
}

#[test]
fn a_property_predicate_converts_only_on_matching_events() {
    // Viewing product p0001 converts; other product views stay a state.
    let v = json(&[
        "fixtures/shop_small.csv",
        "--conversion",
        "product_view[product_id=p0001]",
    ]);
    assert_eq!(v["conversion"], "product_view[product_id=p0001]");
    assert!(v["converted_sessions"].as_u64().unwrap() > 0);
    assert!(state(&v, "product_view")["visits"].as_u64().unwrap() > 0);
    assert_rows_sum_to_one(&v);
}

/// fixtures/paths/memory.csv: 40 sessions a > c > buy and 40 sessions b > c.
/// A first-order chain gives a and b the same 0.5; the report must say that
/// the observed shares (1 and 0) disagree and point to --order 2, which
/// gets them right.
const MEMORY: &str = "fixtures/paths/memory.csv";

#[test]
fn a_first_order_gap_is_flagged_with_the_fix() {
    jm().args(["paths", MEMORY, "--target", "buy"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2 states where the chain's p(conversion) and the observed share differ by 0.05 or more (marked !): a, b.",
        ))
        .stdout(predicate::str::contains("try --order 2"))
        .stdout(predicate::str::contains("1.0000 !"));
}

#[test]
fn order_two_matches_what_was_observed() {
    let v = json(&[MEMORY, "--target", "buy", "--order", "2"]);
    assert_eq!(v["order"], 2);
    assert_eq!(v["removal_order"], 2);
    for (name, p, re) in [("a", 1.0, 1.0), ("b", 0.0, 0.0), ("c", 0.5, 1.0)] {
        let s = state(&v, name);
        assert_eq!(s["p_conversion"], p, "{name}");
        assert_eq!(s["observed_conversion"], p, "{name}");
        assert_eq!(s["gap"], false, "{name}");
        assert_eq!(s["removal_effect"], re, "{name}");
    }
    jm().args(["paths", MEMORY, "--target", "buy", "--order", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("marked !").not());
}

#[test]
fn an_order_above_four_is_a_usage_error() {
    jm().args(["paths", MEMORY, "--target", "buy", "--order", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("5 is not in 1..=4"));
}
