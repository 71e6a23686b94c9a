//! `journeymap drift` on the generator's planted drift, a model's features,
//! and inputs that cannot compare.

use std::path::Path;

use crate::common::{generate, jm, json_of};

fn column<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == name)
        .unwrap_or_else(|| panic!("no column {name}: {v}"))
}

fn drifted_export(dir: &Path, users: usize, seed: u64) -> String {
    let out = dir.join(format!("cur{seed}.csv"));
    jm().args(["generate", "--drift", "-q", "--users", &users.to_string()])
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(&out)
        .assert()
        .success();
    out.display().to_string()
}

/// `generate --fairness` (12,000 users): tablet users are under-served.
fn fairness_export(dir: &Path, seed: &str, name: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    jm().args([
        "generate",
        "--fairness",
        "-q",
        "--users",
        "12000",
        "--seed",
        seed,
        "--out",
    ])
    .arg(&p)
    .assert()
    .success();
    p
}

/// A fairness section's column: its groups sorted by one figure, and the
/// column itself.
fn groups_by<'a>(
    f: &'a serde_json::Value,
    column: &str,
    figure: &str,
) -> (Vec<(&'a str, f64)>, &'a serde_json::Value) {
    let col = f["by"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["column"] == column)
        .unwrap();
    let mut g: Vec<(&str, f64)> = col["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["group"].as_str().unwrap(), g[figure].as_f64().unwrap()))
        .collect();
    g.sort_by(|a, b| a.1.total_cmp(&b.1));
    (g, col)
}

#[test]
fn planted_drift_is_found_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let reference = generate(&dir.path().join("ref.csv"), "ecommerce", 3000, 1);
    let reference = reference.display().to_string();
    let current = drifted_export(dir.path(), 3000, 2);
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("cur2.drift-truth.json")).unwrap(),
    )
    .unwrap();
    let v = json_of(&["drift", &reference, &current, "-q"]);
    for c in truth["drifted"].as_array().unwrap() {
        let c = column(&v, c.as_str().unwrap());
        assert_eq!(c["drifted"], true, "{c}");
        assert!(!c["drilldown"].as_array().unwrap().is_empty(), "{c}");
    }
    for c in truth["stable"].as_array().unwrap() {
        let c = column(&v, c.as_str().unwrap());
        assert_eq!(c["drifted"], false, "{c}");
    }
    // The channel's move is explained by the social group, and the
    // contributions add up to the change.
    let ch = column(&v, "duration_s");
    let by_channel = ch["drilldown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["by"] == "channel")
        .unwrap();
    assert_eq!(by_channel["groups"][0]["group"], "social");
    let mean = |k: &str| ch[k].as_f64().unwrap();
    let change = by_channel["change"].as_f64().unwrap();
    assert!((change - (mean("current_mean") - mean("reference_mean"))).abs() < 1e-6);
    // Same exports, same bytes; the gate exits 4 only on dataset drift.
    let again = json_of(&["drift", &reference, &current, "-q"]);
    assert_eq!(v, again);
    let st = jm()
        .args(["drift", &reference, &current, "-q", "--fail-on-drift"])
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(0),
        "2 of 10 columns is no dataset drift"
    );
    let st = jm()
        .args(["drift", &reference, &current, "-q", "--fail-on-drift"])
        .args(["--drift-share", "0.2"])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(4));
}

#[test]
fn a_model_s_features_and_score_are_compared() {
    let dir = tempfile::tempdir().unwrap();
    let reference = generate(&dir.path().join("ref.csv"), "ecommerce", 3000, 1);
    let current = drifted_export(dir.path(), 3000, 2);
    let model = dir.path().join("model.json");
    jm().args(["propensity", "train", "-q"])
        .arg(&reference)
        .args(["--target", "purchase", "--model-out"])
        .arg(&model)
        .assert()
        .success();
    let v = json_of(&[
        "drift",
        &reference.display().to_string(),
        &current,
        "--model",
        &model.display().to_string(),
        "-q",
    ]);
    let score = column(&v, "score");
    assert_eq!(score["level"], "score");
    assert!(score["statistic"].as_f64().is_some());
    assert!(v["reference"]["scored_users"].as_u64().unwrap() > 0);
    let users = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] == "user")
        .count();
    assert!(users >= 3, "{v}");
    // Labels are known in both exports: performance against training.
    let perf = &v["performance"];
    assert!(perf["training"]["auc"].as_f64().unwrap() > 0.5);
    for side in ["reference", "current"] {
        let f = &perf[side];
        assert!(f["labeled_users"].as_u64().unwrap() > 100, "{perf}");
        let [lo, hi] = [0, 1].map(|k| f["auc_ci"][k].as_f64().unwrap());
        assert!(lo <= f["auc"].as_f64().unwrap() && f["auc"].as_f64().unwrap() <= hi);
    }
    assert!(perf["auc_change_vs_training"].as_f64().is_some());
}

#[test]
fn empty_tiny_and_unlike_exports_give_clear_output() {
    let dir = tempfile::tempdir().unwrap();
    let reference = generate(&dir.path().join("ref.csv"), "ecommerce", 300, 1);
    let reference = reference.display().to_string();
    let header = dir.path().join("header.csv");
    std::fs::write(
        &header,
        "user_id,session_id,event,timestamp,page,product_id,device,channel\n",
    )
    .unwrap();
    let v = json_of(&["drift", &reference, &header.display().to_string(), "-q"]);
    assert_eq!(v["dataset"]["tested_columns"], 0);
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("current export holds no events")
    );
    // Other vocabularies, one user, constant values: no NaN, no panic.
    let odd = dir.path().join("odd.csv");
    std::fs::write(
        &odd,
        "user_id,event,timestamp,plan\nu1,signup,2026-01-01T00:00:00Z,gold\nu1,signup,2026-01-02T00:00:00Z,gold\n",
    )
    .unwrap();
    let out = jm()
        .args([
            "drift",
            &reference,
            &odd.display().to_string(),
            "--json",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("NaN"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        column(&v, "plan")["note"]
            .as_str()
            .unwrap()
            .contains("only in the current")
    );
    let st = jm().args(["drift", &reference, "-q"]).output().unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("REFERENCE and CURRENT"));
}

/// Issue 17, acceptance 4's second half: the under-served group planted by
/// `generate --fairness` has the lowest AUC and the largest calibration
/// error; a fairness check gates the build.
#[test]
fn the_fairness_section_finds_the_under_served_group() {
    let dir = tempfile::tempdir().unwrap();
    let data = fairness_export(dir.path(), "3", "shop.csv");
    let cfg = dir.path().join("shop.journey.toml");
    let out = dir.path().join("out");
    let st = jm()
        .args(["report", "-q"])
        .arg(&data)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .args(["--check", "fairness.equalized_odds_difference <= 0.1"])
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let f = &r["fairness"];
    let (auc, device) = groups_by(f, "device", "auc");
    assert_eq!(auc[0].0, "tablet", "{device}");
    let (cal, _) = groups_by(f, "device", "calibration_error");
    assert_eq!(cal.last().unwrap().0, "tablet");
    let [lo, hi] = [0, 1].map(|k| device["equalized_odds_difference_ci"][k].as_f64().unwrap());
    assert!(lo <= hi && hi <= 1.0);
    assert!(f["equalized_odds_difference"].as_f64().unwrap() > 0.1);
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("## Fairness")
    );
}

/// The model card beside model.json: training data and period, label,
/// metrics with intervals, calibration, fairness, drift status, limits.
#[test]
fn propensity_train_writes_a_model_card_beside_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(&dir.path().join("shop.csv"), "ecommerce", 3000, 4);
    let model = dir.path().join("model.json");
    jm().args(["propensity", "train", "-q"])
        .arg(&data)
        .arg("--config")
        .arg(dir.path().join("shop.journey.toml"))
        .arg("--model-out")
        .arg(&model)
        .assert()
        .success();
    let card = std::fs::read_to_string(dir.path().join("model-card.md")).unwrap();
    for part in [
        "# Model card",
        "**Intended use:**",
        "**Training data:**",
        "2026-",
        "**Label:**",
        "**Metrics (hold-out):** AUC",
        "95% CI",
        "**Calibration:**",
        "**Drift status:**",
        "**Fairness (hold-out, by group):**",
        "**Known limits:**",
        "## Fairness",
    ] {
        assert!(card.contains(part), "no {part:?} in the card:\n{card}");
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(m["training_data"]["period"].as_array().unwrap().len(), 2);
}

/// `diff` tests the model features' drift from the two reports' compact
/// summaries (report.json keeps them), as `drift` would on the data.
#[test]
fn diff_tests_feature_drift_from_the_reports_alone() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(&dir.path().join("a.csv"), "ecommerce", 2000, 1);
    let cfg = dir.path().join("a.journey.toml");
    let b = drifted_export(dir.path(), 2000, 2);
    for (data, out) in [(a.display().to_string(), "ra"), (b, "rb")] {
        jm().args(["report", "-q", &data, "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(dir.path().join(out))
            .assert()
            .success();
    }
    let old = dir.path().join("ra/report.json").display().to_string();
    let new = dir.path().join("rb/report.json").display().to_string();
    let v = json_of(&["diff", &old, &new]);
    let part = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == "propensity")
        .unwrap();
    let cols = part["figures"]["feature_drift"].as_array().unwrap();
    assert!(cols.len() > 5, "{part}");
    assert!(cols.iter().any(|c| c["column"] == "score"));
    assert!(cols.iter().all(|c| c["statistic"].as_f64().is_some()));
}

/// With `[drift]` in both configs, `diff` tests every property from the
/// reports' summaries: where they list every value, the statistics are
/// exactly `drift`'s on the two exports; the planted channel shift is
/// found, the stable columns are not flagged, and the gate exits 4 on
/// dataset drift.
#[test]
fn diff_tests_property_drift_as_drift_does_on_the_exports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = generate(&d.join("a.csv"), "ecommerce", 2000, 1);
    let b = drifted_export(d, 2000, 2);
    let base = std::fs::read_to_string(d.join("a.journey.toml")).unwrap();
    let cfg = d.join("drift.toml");
    std::fs::write(&cfg, format!("{base}\n[drift]\n")).unwrap();
    // drift_share 0.2: one drifted column of four is dataset drift.
    let strict = d.join("strict.toml");
    std::fs::write(&strict, format!("{base}\n[drift]\ndrift_share = 0.2\n")).unwrap();
    let a = a.display().to_string();
    for (data, out, cfg) in [
        (&a, "ra", &cfg),
        (&b, "rb", &cfg),
        (&a, "ra2", &cfg),
        (&b, "rs", &strict),
    ] {
        jm().args(["report", "-q", data, "--config"])
            .arg(cfg)
            .arg("--out")
            .arg(d.join(out))
            .assert()
            .success();
    }
    let path = |r: &str| d.join(r).join("report.json").display().to_string();
    let v = json_of(&["diff", &path("ra"), &path("rb")]);
    let part = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == "drift")
        .unwrap_or_else(|| panic!("no drift section: {v}"));
    let cols = part["figures"]["properties"].as_array().unwrap();
    let direct = json_of(&["drift", &a, &b, "-q"]);
    let names: Vec<&str> = cols.iter().map(|c| c["column"].as_str().unwrap()).collect();
    assert_eq!(names, ["channel", "device", "page", "product_id"]);
    for c in cols {
        let name = c["column"].as_str().unwrap();
        let want = column(&direct, name);
        assert_eq!(c["method_name"], want["method_name"], "{name}");
        if c["note"].is_null() {
            for key in [
                "statistic",
                "psi",
                "reference_values",
                "current_missing",
                "drifted",
            ] {
                assert_eq!(c[key], want[key], "{name} {key}");
            }
        } else {
            // More values than a summary lists: never above the exact distance.
            assert!(
                c["statistic"].as_f64().unwrap() <= want["statistic"].as_f64().unwrap() + 1e-12
            );
        }
        assert_eq!(c["drifted"], name == "channel", "{name}: {c}");
    }
    assert_eq!(part["figures"]["dataset"]["drifted"], false);
    // `[drift] properties` also narrows what `drift` tests.
    let only = d.join("only.toml");
    std::fs::write(&only, "[drift]\nproperties = [\"channel\", \"nope\"]\n").unwrap();
    let narrow = json_of(&["drift", &a, &b, "-q", "--config", only.to_str().unwrap()]);
    let events: Vec<&str> = narrow["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] == "event")
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["event", "channel"]);
    assert!(
        narrow["notes"].to_string().contains("nope"),
        "{}",
        narrow["notes"]
    );
    jm().args([
        "diff",
        "--fail-on-property-drift",
        &path("ra"),
        &path("ra2"),
    ])
    .assert()
    .success();
    jm().args(["diff", "--fail-on-property-drift", &path("ra"), &path("rs")])
        .assert()
        .code(4)
        .stderr(predicates::str::contains("the properties drifted: 1 of 4"));
    // Against an empty export nothing can be tested: the gate fails.
    let empty = d.join("empty.csv");
    std::fs::write(
        &empty,
        "user_id,session_id,event,timestamp,page,product_id,device,channel\n",
    )
    .unwrap();
    jm().args(["report", "-q"])
        .arg(&empty)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(d.join("re"))
        .assert()
        .success();
    jm().args(["diff", "--fail-on-property-drift", &path("ra"), &path("re")])
        .assert()
        .code(4)
        .stderr(predicates::str::contains("no property could be tested"));
    // A report without [drift] cannot gate, and says why.
    jm().args(["report", "-q", &a, "--config"])
        .arg(d.join("a.journey.toml"))
        .arg("--out")
        .arg(d.join("plain"))
        .assert()
        .success();
    jm().args([
        "diff",
        "--fail-on-property-drift",
        &path("plain"),
        &path("rb"),
    ])
    .assert()
    .code(4)
    .stderr(predicates::str::contains("add [drift] to both configs"));
}

/// Checks each group of a fairness column carries exactly the breakdown
/// effects of its value; the number of effects carried.
fn measured_as(column: &serde_json::Value, effects: &[serde_json::Value]) -> usize {
    let mut measured = 0;
    for a in column["actions"].as_array().unwrap() {
        let want: Vec<&serde_json::Value> = effects
            .iter()
            .filter(|e| e["value"] == a["group"])
            .collect();
        let got: Vec<&serde_json::Value> = a["measured"]
            .as_array()
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        assert_eq!(got, want, "{}", a["group"]);
        measured += got.len();
    }
    measured
}

/// Business impact per group: each fairness group counts the actions its
/// users were given, and where the experiment breaks its effects down by
/// the same column, carries that group's measured effects.
#[test]
fn fairness_groups_carry_their_actions_and_the_experiments_effects() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("e.parquet");
    jm().args(["generate", "--scenario", "saas", "--experiment", "-q"])
        .args(["--users", "6000", "--seed", "3", "--out"])
        .arg(&data)
        .assert()
        .success();
    let base = std::fs::read_to_string(dir.path().join("e.journey.toml")).unwrap();
    let run = |text: &str| -> serde_json::Value {
        let cfg = dir.path().join("b.toml");
        std::fs::write(&cfg, text).unwrap();
        let out = dir.path().join("out");
        jm().args(["report", "-q"])
            .arg(&data)
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
    };
    let v = run(&base.replacen(
        "[experiment]\n",
        "[experiment]\nbreakdown = \"channel\"\n",
        1,
    ));
    let effects = v["experiment"]["breakdown"]["effects"].as_array().unwrap();
    assert!(!effects.is_empty());
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    for col in ["channel", "device"] {
        assert!(
            md.contains(&format!("#### Business impact by `{col}`")),
            "{md}"
        );
    }
    let by = v["fairness"]["by"].as_array().unwrap();
    let channel = by.iter().find(|b| b["column"] == "channel").unwrap();
    for a in channel["actions"].as_array().unwrap() {
        let given: u64 = a["by_action"]
            .as_object()
            .map_or(0, |m| m.values().map(|n| n.as_u64().unwrap()).sum());
        assert_eq!(given, a["with_action"].as_u64().unwrap(), "{a}");
    }
    assert!(measured_as(channel, effects) > 0);
    // Another fairness column's groups get the effects the experiment
    // measures when it breaks down by that column.
    let device = by.iter().find(|b| b["column"] == "device").unwrap();
    let w = run(&base.replacen(
        "[experiment]\n",
        "[experiment]\nbreakdown = \"device\"\n",
        1,
    ));
    let by_device = w["experiment"]["breakdown"]["effects"].as_array().unwrap();
    assert!(measured_as(device, by_device) > 0);
    // Without a breakdown every group column is still measured, and the
    // experiment's own section has no breakdown.
    let v = run(&base);
    assert!(v["experiment"].get("breakdown").is_none_or(|b| b.is_null()));
    assert!(v["fairness"]["by"].as_array().unwrap().iter().all(|b| {
        b["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.get("measured").is_some())
    }));
}

/// Fairness once outcomes are known: `drift --model` assesses the model's
/// decisions on the later export's users whose label window has closed,
/// and finds the group the generator made the model under-serve there.
#[test]
fn fairness_is_assessed_on_a_later_export_once_its_labels_are_known() {
    let dir = tempfile::tempdir().unwrap();
    let export = |seed: &str, name: &str| {
        fairness_export(dir.path(), seed, name)
            .display()
            .to_string()
    };
    let (reference, current) = (export("3", "ref.csv"), export("4", "cur.csv"));
    let cfg = dir.path().join("ref.journey.toml");
    let model = dir.path().join("model.json");
    jm().args(["propensity", "train", "-q", &reference, "--config"])
        .arg(&cfg)
        .arg("--model-out")
        .arg(&model)
        .assert()
        .success();
    let cfg_s = cfg.display().to_string();
    let model_s = model.display().to_string();
    let v = json_of(&[
        "drift", &reference, &current, "--model", &model_s, "--config", &cfg_s, "-q",
    ]);
    let f = &v["fairness"];
    assert_eq!(
        f["data"],
        "the current export's users whose label window has closed"
    );
    assert_eq!(f["users"], v["performance"]["current"]["labeled_users"]);
    let (auc, device) = groups_by(f, "device", "auc");
    assert_eq!(auc[0].0, "tablet", "{device}");
    let md = jm()
        .args([
            "drift", &reference, &current, "--model", &model_s, "--config", &cfg_s, "-q",
        ])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("## Fairness") && md.contains("label window has closed"),
        "{md}"
    );
    // Without a model there are no decisions to assess.
    let v = json_of(&["drift", &reference, &current, "-q"]);
    assert!(v.get("fairness").is_none());
}
