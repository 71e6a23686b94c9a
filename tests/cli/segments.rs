//! End-to-end tests of `journeymap segments`: planted segments are found
//! (adjusted Rand index against the truth, on our generator and on a small
//! independent one written here), runs are byte-identical for a seed, and bad
//! flags fail cleanly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use journeymap::segments::ari::adjusted_rand_index;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::{jm, read_csv};

/// ARI between `--assignments` and a truth file (user_id → segment).
fn ari(assignments: &Path, truth: &BTreeMap<String, String>) -> f64 {
    let found: BTreeMap<String, String> = read_csv(assignments)
        .into_iter()
        .map(|r| (r["user_id"].clone(), r["segment"].clone()))
        .collect();
    assert_eq!(found.len(), truth.len(), "one assignment per user");
    let (a, b): (Vec<&String>, Vec<&String>) = truth.iter().map(|(u, s)| (s, &found[u])).unzip();
    adjusted_rand_index(&a, &b)
}

fn generate(dir: &Path, users: usize, seed: u64) -> std::path::PathBuf {
    crate::common::generate(&dir.join("shop.csv"), "ecommerce", users, seed)
}

/// user_id → planted segment, from the truth file `generate` wrote in `dir`.
fn planted(dir: &Path) -> BTreeMap<String, String> {
    read_csv(&dir.join("shop.truth.csv"))
        .into_iter()
        .map(|r| (r["user_id"].clone(), r["segment"].clone()))
        .collect()
}

#[test]
fn planted_segments_are_recovered_on_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 3000, 5);
    let truth = planted(dir.path());
    for k in ["auto", "4"] {
        let a = dir.path().join(format!("a-{k}.csv"));
        let out = jm()
            .args([
                "segments",
                "--unit",
                "user",
                "--on",
                "all",
                "--k",
                k,
                "--json",
                "--assignments",
            ])
            .arg(&a)
            .arg(&data)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let score = ari(&a, &truth);
        println!(
            "ARI vs planted segments, ecommerce generator, 3000 users, --k {k}: {score:.4} (k found: {})",
            v["k"]
        );
        assert!(score >= 0.8, "ARI {score} < 0.8 with --k {k}");
    }
}

/// With more units than the silhouette sample, `--k auto` fits the
/// candidates on the sample and refits the chosen k on all units: the
/// planted segments are still found, every unit is assigned, the report says
/// how many units the candidates saw, and the run is deterministic.
#[test]
fn auto_k_on_a_sample_refits_on_all_units() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 3000, 5);
    let truth = planted(dir.path());
    let run = |name: &str| -> (Value, std::path::PathBuf) {
        let a = dir.path().join(name);
        let out = jm()
            .args([
                "segments",
                "--on",
                "all",
                "--k",
                "auto",
                "--silhouette-sample",
                "800",
            ])
            .args(["--json", "--assignments"])
            .arg(&a)
            .arg(&data)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        (serde_json::from_slice(&out).unwrap(), a)
    };
    let (v, a) = run("a1.csv");
    assert_eq!(v["selection"]["silhouette_sample"], 800);
    assert_eq!(v["selection"]["fitted_on"], 800);
    assert_eq!(v["units"], 3000);
    let sizes: u64 = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["units"].as_u64().unwrap())
        .sum();
    assert_eq!(sizes, 3000, "the refit assigns every unit");
    let score = ari(&a, &truth);
    println!(
        "ARI, candidates fitted on 800 of 3000 users: {score:.4} (k found: {})",
        v["k"]
    );
    assert!(score >= 0.8, "ARI {score} < 0.8");
    let (again, b) = run("a2.csv");
    assert_eq!(v, again);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

/// A generator independent of `journeymap generate`: GA4-style event names,
/// epoch-millisecond timestamps, no session column, other column names, and
/// three planted behaviours of its own.
fn other_generator(users: usize, seed: u64) -> (String, BTreeMap<String, String>) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("uid,event_name,event_time,device_category,traffic_source\n");
    let mut truth = BTreeMap::new();
    for u in 0..users {
        let r = next();
        let (kind, sessions_max) = if r < 0.4 {
            ("researcher", 5)
        } else if r < 0.75 {
            ("deal_hunter", 4)
        } else {
            ("quick_cart", 2)
        };
        let uid = format!("user-{u:05}");
        truth.insert(uid.clone(), kind.to_string());
        let device = match (kind, next()) {
            ("researcher", x) if x < 0.6 => "desktop",
            ("deal_hunter", x) if x < 0.6 => "mobile",
            (_, x) if x < 0.5 => "desktop",
            _ => "mobile",
        };
        let source = ["google", "newsletter", "instagram", "direct"][(next() * 4.0) as usize];
        let mut t: i64 = 1_790_000_000_000 + (next() * 20.0 * 86_400_000.0) as i64;
        let sessions = 1 + (next() * sessions_max as f64) as usize;
        for s in 0..sessions {
            let mut evs: Vec<&str> = vec!["session_start"];
            let rep =
                |evs: &mut Vec<&'static str>, e: &'static str, lo: usize, hi: usize, x: f64| {
                    for _ in 0..lo + (x * (hi - lo + 1) as f64) as usize {
                        evs.push(e);
                    }
                };
            let (gap_lo, gap_hi) = match kind {
                "researcher" => {
                    rep(&mut evs, "view_item_list", 2, 4, next());
                    rep(&mut evs, "view_item", 4, 10, next());
                    if next() < 0.05 {
                        evs.push("add_to_cart");
                    }
                    (30.0, 120.0)
                }
                "deal_hunter" => {
                    rep(&mut evs, "view_promotion", 1, 3, next());
                    if next() < 0.7 {
                        evs.push("select_promotion");
                    }
                    rep(&mut evs, "view_item", 2, 5, next());
                    if next() < 0.5 {
                        evs.push("add_to_cart");
                    }
                    (10.0, 60.0)
                }
                _ => {
                    rep(&mut evs, "view_item", 1, 2, next());
                    evs.push("add_to_cart");
                    if next() < 0.6 {
                        evs.push("begin_checkout");
                        if s + 1 == sessions && next() < 0.3 {
                            evs.push("purchase");
                        }
                    }
                    (3.0, 15.0)
                }
            };
            for e in evs {
                let _ = writeln!(csv, "{uid},{e},{t},{device},{source}");
                t += ((gap_lo + next() * (gap_hi - gap_lo)) * 1000.0) as i64;
            }
            t += ((1.0 + next() * 2.0) * 86_400_000.0) as i64;
        }
    }
    (csv, truth)
}

#[test]
fn planted_segments_are_recovered_on_an_independent_generator() {
    let dir = tempfile::tempdir().unwrap();
    let (data, truth) = other_generator(1500, 42);
    let path = dir.path().join("ga4.csv");
    std::fs::write(&path, data).unwrap();
    let a = dir.path().join("a.csv");
    let out = jm()
        .args([
            "segments",
            "--on",
            "all",
            "--user-col",
            "uid",
            "--event-col",
            "event_name",
            "--time-col",
            "event_time",
            "--json",
        ])
        .arg("--assignments")
        .arg(&a)
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    // The role events and columns are found by their GA4 names.
    assert_eq!(v["roles"]["product_view_event"], "view_item");
    assert_eq!(v["roles"]["device_column"], "device_category");
    let renamed: BTreeMap<String, String> = read_csv(&a)
        .into_iter()
        .map(|r| (r["user_id"].clone(), r["segment"].clone()))
        .collect();
    let (x, y): (Vec<&String>, Vec<&String>) = truth.iter().map(|(u, s)| (s, &renamed[u])).unzip();
    let score = adjusted_rand_index(&x, &y);
    println!(
        "ARI vs planted segments, independent generator, 1500 users, --k auto: {score:.4} (k found: {})",
        v["k"]
    );
    assert!(score >= 0.8, "ARI {score} < 0.8");
}

#[test]
fn same_input_and_seed_give_byte_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 800, 3);
    let run = |tag: &str| {
        let p = |name: &str| dir.path().join(format!("{tag}-{name}"));
        let out = jm()
            .args(["segments", "--seed", "7", "--json"])
            .arg(&data)
            .arg("--assignments")
            .arg(p("a.csv"))
            .arg("--model-out")
            .arg(p("model.json"))
            .arg("--features-out")
            .arg(p("x.csv"))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        jm().args([
            "segments", "--seed", "7", "--on", "all", "--unit", "session", "--k", "3",
        ])
        .arg(&data)
        .arg("--assignments")
        .arg(p("a.parquet"))
        .assert()
        .success();
        let files: Vec<Vec<u8>> = ["a.csv", "model.json", "x.csv", "a.parquet"]
            .iter()
            .map(|n| std::fs::read(p(n)).unwrap())
            .collect();
        (out, files)
    };
    let (out1, files1) = run("one");
    let (out2, files2) = run("two");
    assert_eq!(out1, out2, "--json report differs between runs");
    for (i, (a, b)) in files1.iter().zip(&files2).enumerate() {
        assert!(a == b, "output file {i} differs between runs");
    }
    // The report's shape: named, numbered, with funnel stops and exits.
    let v: Value = serde_json::from_slice(&out1).unwrap();
    assert_eq!(v["on"], "abandoned");
    let segs = v["segments"].as_array().unwrap();
    assert_eq!(segs.len() as u64, v["k"].as_u64().unwrap());
    let mut names: Vec<&str> = segs.iter().map(|s| s["name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), segs.len(), "names are unique");
    for s in segs {
        let n = s["distinguishing"].as_array().unwrap().len();
        assert!((3..=5).contains(&n), "{n} distinguishing features");
        assert!(!s["exits"].as_array().unwrap().is_empty());
        // Abandoning users stop between the from-step and the last step.
        for st in s["funnel_stops"].as_array().unwrap() {
            let step = st["step"].as_u64().unwrap();
            assert!((2..5).contains(&step), "stop at step {step}");
        }
    }
    let tried: Vec<u64> = v["selection"]["tried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["k"].as_u64().unwrap())
        .collect();
    assert_eq!(tried, (2..=8).collect::<Vec<u64>>());
    assert!(
        v["selection"]["tried"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["silhouette"].is_f64())
    );
    // Assignments: one row per abandoning user, segment numbers and names.
    let rows = read_csv(&dir.path().join("one-a.csv"));
    assert_eq!(rows.len() as u64, v["units"].as_u64().unwrap());
    let header = std::fs::read_to_string(dir.path().join("one-x.csv")).unwrap();
    let names_in_report: Vec<&str> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(header.lines().next().unwrap(), names_in_report.join(","));
}

#[test]
fn constant_features_are_dropped_and_reported() {
    let out = jm()
        .args([
            "segments",
            "fixtures/segments/tiny.csv",
            "--on",
            "all",
            "--k",
            "2",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let dropped: Vec<&str> = v["dropped_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["feature"].as_str().unwrap())
        .collect();
    assert!(dropped.contains(&"property:device=desktop"), "{dropped:?}");
    assert!(
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] != "property:device=desktop")
    );
    // The funnel came from tiny.journey.toml beside the data.
    assert_eq!(v["funnel"]["steps"][0], "product_view");
    // Browsers and cart users are told apart.
    let names: Vec<&str> = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("window shoppers")),
        "{names:?}"
    );
    // The text output says so too.
    jm().args([
        "segments",
        "fixtures/segments/tiny.csv",
        "--on",
        "all",
        "--k",
        "2",
    ])
    .assert()
    .success()
    .stdout(
        predicate::str::contains("dropped: ")
            .and(predicate::str::contains("device=desktop (constant")),
    );
}

#[test]
fn session_units_assign_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    jm().args([
        "segments",
        "fixtures/segments/tiny.csv",
        "--unit",
        "session",
        "--on",
        "all",
        "--k",
        "2",
        "--assignments",
    ])
    .arg(&a)
    .assert()
    .success();
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(
        text.starts_with("user_id,session_id,segment,segment_name\nb01,b01#1,"),
        "{text}"
    );
}

#[test]
fn bad_flags_give_clean_errors() {
    let f = "fixtures/segments/tiny.csv";
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--k", "1"], 2, "a whole number of segments, 2 or more"),
        (&["--k", "many"], 2, "a whole number of segments"),
        (&["--on", "nobody"], 2, "invalid value 'nobody'"),
        (&["--unit", "team"], 2, "invalid value 'team'"),
        (
            &["--assignments", "out.txt"],
            2,
            "expected a .csv or .parquet file",
        ),
        (
            &["--from-step", "4"],
            2,
            "--from-step: 4 is not between 1 and 3",
        ),
        (
            &["--steps", "product_view"],
            2,
            "needs a funnel of at least 2 steps",
        ),
        (
            &["--cart-add", "add_to_crat", "--on", "all"],
            3,
            "did you mean \"add_to_cart\"",
        ),
        (
            &["--k", "40", "--on", "all"],
            3,
            "only 18 users: at least 40 are needed",
        ),
        (
            &["--steps", "product_veiw,add_to_cart,purchase"],
            3,
            "did you mean \"product_view\"",
        ),
    ];
    for (args, code, msg) in cases {
        jm().arg("segments")
            .arg(f)
            .args(*args)
            .assert()
            .code(*code)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(*msg));
    }
    // No funnel anywhere and --on abandoned (the default): say how to give one.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("data.csv");
    std::fs::copy(f, &copy).unwrap();
    jm().arg("segments")
        .arg(&copy)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("on: abandoned needs a funnel"));
}

/// Issue 12, acceptance 3. In the retail data 30% of users are bargain
/// hunters: they browse the cheap end of the catalogue and compare more.
/// With no config the segments find the price column by themselves, and the
/// segment that holds most bargain hunters is the one named price-sensitive,
/// with a low mean price.
#[test]
fn segments_name_price_driven_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let data = crate::common::generate(&dir.path().join("retail.csv"), "retail", 12_000, 4);
    let assignments = dir.path().join("a.csv");
    let out = jm()
        .arg("segments")
        .arg(&data)
        .args(["--on", "all", "--k", "4", "--json", "--assignments"])
        .arg(&assignments)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let truth: std::collections::HashMap<String, String> =
        read_csv(&dir.path().join("retail.truth.csv"))
            .into_iter()
            .map(|r| (r["user_id"].clone(), r["segment"].clone()))
            .collect();
    let mut bargain = [0usize; 5];
    for row in read_csv(&assignments) {
        if truth[&row["user_id"]] == "bargain_hunter" {
            bargain[row["segment"].parse::<usize>().unwrap()] += 1;
        }
    }
    let most = (1..5).max_by_key(|&s| bargain[s]).unwrap();
    let seg = &v["segments"][most - 1];
    let name = seg["name"].as_str().unwrap();
    assert!(name.contains("price-sensitive"), "segment {most}: {name}");
    let price_z = seg["profile"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["feature"] == "mean:price")
        .unwrap()["z"]
        .as_f64()
        .unwrap();
    assert!(price_z <= -0.5, "mean price z {price_z}");
}

/// fixtures/segments/late.csv: 8 users add to cart and never buy, 4 buy 20
/// days later (outside the 14-day window), 4 buy at once. The abandoning
/// users are the 12 that did not buy within the window, as in the funnel's
/// dropped count, and the report says that 4 of them did buy later.
#[test]
fn abandoning_users_who_bought_outside_the_window_are_counted_and_said() {
    let args = [
        "segments",
        "fixtures/segments/late.csv",
        "--steps",
        "page_view,add_to_cart,purchase",
        "--k",
        "2",
    ];
    jm().args(args)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "abandoning users (reached step 2 add_to_cart but not purchase within the 14d window; 4 of them have a purchase event all the same, outside the window or out of step order): 12 of 16 users",
        ));
    let out = jm().args(args).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["funnel"]["window"], "14d");
    assert_eq!(v["funnel"]["converted_outside_window"], 4);
    assert_eq!(v["units"], 12);
    // With a window long enough, the late buyers convert and are not
    // abandoning at all.
    let out = jm()
        .args(args)
        .args(["--window", "30d", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["funnel"]["converted_outside_window"], 0);
    assert_eq!(v["units"], 8);
}
