//! End-to-end funnel tests: published cases, golden output, and agreement
//! with a literal per-user scan written independently here.

use std::collections::BTreeMap;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::common::jm;

fn json(args: &[&str]) -> Value {
    crate::common::json_of(args)
}

fn reached(v: &Value) -> Vec<u64> {
    v["step_stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect()
}

#[test]
fn posthog_exclusion_no_end_event() {
    let dir = tempfile::tempdir().unwrap();
    let levels = dir.path().join("levels.csv");
    let f = "fixtures/funnel/posthog_exclusion.csv";
    let v = json(&[
        "funnel",
        f,
        "--steps",
        "user signed up,paid",
        "--window",
        "1d",
        "--exclude",
        "x",
        "--levels",
        levels.to_str().unwrap(),
    ]);
    assert_eq!(reached(&v), vec![2, 1]);
    assert_eq!(v["excluded"], 2);
    assert_eq!(v["units"], 5);
    let got = std::fs::read_to_string(&levels).unwrap();
    assert_eq!(
        got,
        "user_id,level\nperson1,2\nperson2,-1\nperson3,-1\nperson4,1\nperson5,0\n"
    );
    // Without the exclusion everyone who signed up counts.
    let v = json(&[
        "funnel",
        f,
        "--steps",
        "user signed up,paid",
        "--window",
        "1d",
    ]);
    assert_eq!(reached(&v), vec![4, 2]);
}

#[test]
fn funnel_text_and_json_match_golden_files() {
    let f = "fixtures/shop_small.csv";
    let steps = "product_view,add_to_cart,begin_checkout,purchase";
    for (name, extra) in [
        ("funnel.txt", vec![]),
        ("funnel.json", vec!["--json"]),
        ("funnel_by_device.json", vec!["--by", "device", "--json"]),
    ] {
        let out = jm()
            .args(["funnel", f, "--steps", steps])
            .args(&extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let out = String::from_utf8(out).unwrap();
        let golden = Path::new("fixtures/golden").join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &out).unwrap();
        }
        assert_eq!(
            out,
            std::fs::read_to_string(&golden).unwrap(),
            "{name} differs from its golden file"
        );
    }
}

#[test]
fn unknown_step_names_the_nearest_event() {
    jm().args([
        "funnel",
        "fixtures/shop_small.csv",
        "--steps",
        "product_view,purchse",
    ])
    .assert()
    .code(3)
    .stderr(predicate::str::contains(
        "funnel step 2: unknown event \"purchse\"; did you mean \"purchase\"?",
    ));
    jm().args(["funnel", "fixtures/shop_small.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no steps"));
    jm().args([
        "funnel",
        "fixtures/shop_small.csv",
        "--steps",
        "a",
        "--window",
        "2x",
    ])
    .assert()
    .code(2);
}

/// A literal scan, written without looking at the engine: for each user,
/// every step-1 event starts an attempt that takes, step by step, the first
/// later event matching the next step within the window; the user's level
/// is the best attempt's.
fn literal_levels(csv_path: &Path, steps: &[&str], window_ms: i64) -> BTreeMap<String, usize> {
    let mut per_user: BTreeMap<String, Vec<(i64, usize, String)>> = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(csv_path).unwrap();
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        let ts = chrono::DateTime::parse_from_rfc3339(&rec[3])
            .unwrap()
            .timestamp_millis();
        per_user
            .entry(rec[0].to_string())
            .or_default()
            .push((ts, row, rec[2].to_string()));
    }
    per_user
        .into_iter()
        .map(|(user, mut events)| {
            events.sort();
            let mut best = 0;
            for start in 0..events.len() {
                if events[start].2 != steps[0] {
                    continue;
                }
                let (mut level, mut at) = (1, start);
                while level < steps.len() {
                    match (at + 1..events.len()).find(|&j| {
                        events[j].2 == steps[level] && events[j].0 <= events[start].0 + window_ms
                    }) {
                        Some(j) => {
                            level += 1;
                            at = j;
                        }
                        None => break,
                    }
                }
                best = best.max(level);
            }
            (user, best)
        })
        .collect()
}

#[test]
fn levels_match_a_literal_per_user_scan_on_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shop.csv");
    jm().args(["generate", "--users", "3000", "--seed", "5", "--out"])
        .arg(&data)
        .assert()
        .success();
    let steps = [
        "product_view",
        "add_to_cart",
        "begin_checkout",
        "add_payment_info",
        "purchase",
    ];
    for window in ["1h", "1d", "14d"] {
        let levels = dir.path().join(format!("levels-{window}.csv"));
        let v = json(&[
            "funnel",
            data.to_str().unwrap(),
            "--steps",
            &steps.join(","),
            "--window",
            window,
            "--levels",
            levels.to_str().unwrap(),
        ]);
        let want = literal_levels(
            &data,
            &steps,
            journeymap::duration::parse_ms(window).unwrap(),
        );
        let mut rdr = csv::Reader::from_path(&levels).unwrap();
        let got: BTreeMap<String, usize> = rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[1].parse().unwrap())
            })
            .collect();
        assert_eq!(got, want, "window {window}");
        let counts = reached(&v);
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "counts increase: {counts:?}"
        );
        for (k, c) in counts.iter().enumerate() {
            assert_eq!(*c as usize, want.values().filter(|&&l| l > k).count());
        }
    }
}

#[test]
fn time_to_convert_and_open_windows_are_reported_apart() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    // u1 converts a day later; u3 enters on day 0 and drops (window closed
    // on day 2); u2 enters on day 9 of a 10-day export: still open.
    std::fs::write(
        &p,
        "user_id,event,timestamp\n\
         u1,a,2026-11-01T00:00:00Z\nu1,b,2026-11-02T00:00:00Z\n\
         u3,a,2026-11-01T00:00:00Z\nu3,x,2026-11-05T00:00:00Z\n\
         u2,a,2026-11-10T00:00:00Z\nu4,x,2026-11-11T00:00:00Z\n",
    )
    .unwrap();
    let v = crate::common::json_of(&[
        "funnel",
        p.to_str().unwrap(),
        "--steps",
        "a,b",
        "--window",
        "2d",
    ]);
    let s = &v["step_stats"][1];
    assert_eq!(s["dropped_before"], 2, "{s}");
    assert_eq!(s["still_open_before"], 1, "{s}");
    let t = &s["time_from_first"];
    assert_eq!(t["units"], 1);
    assert_eq!(t["median_seconds"], 86400.0);
    let bins = t["histogram"].as_array().unwrap();
    let hit: Vec<&str> = bins
        .iter()
        .filter(|b| b["units"] == 1)
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(hit, ["1-3 d"]);
    assert!(v["step_stats"][0].get("time_from_first").is_none());
}

#[test]
fn trends_give_conversion_per_cohort_of_entry() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    // Week of 2026-11-02: u1 converts, u2 does not (its window closed).
    // Week of 2026-11-09: u3 converts; u4 enters a day before the export
    // ends and has not converted: still open.
    std::fs::write(
        &p,
        "user_id,event,timestamp\n\
         u1,a,2026-11-02T10:00:00Z\nu1,b,2026-11-02T11:00:00Z\n\
         u2,a,2026-11-03T10:00:00Z\n\
         u3,a,2026-11-09T10:00:00Z\nu3,b,2026-11-09T12:00:00Z\n\
         u4,a,2026-11-12T10:00:00Z\nu9,x,2026-11-13T10:00:00Z\n",
    )
    .unwrap();
    let v = crate::common::json_of(&[
        "funnel",
        p.to_str().unwrap(),
        "--steps",
        "a,b",
        "--window",
        "2d",
        "--trend",
        "week",
    ]);
    let c = v["trend"]["cohorts"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0]["cohort"], "2026-11-02");
    assert_eq!(c[0]["reached"], serde_json::json!([2, 1]));
    assert_eq!(c[0]["step_conversion"], serde_json::json!([0.5]));
    assert_eq!(c[0]["still_open"], 0);
    assert_eq!(c[1]["reached"], serde_json::json!([2, 1]));
    assert_eq!(c[1]["still_open"], 1);
    let out = crate::common::jm()
        .args([
            "funnel",
            p.to_str().unwrap(),
            "--steps",
            "a,b",
            "--trend",
            "fortnight",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--trend"), "{err}");
}
