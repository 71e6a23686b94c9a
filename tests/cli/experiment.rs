//! `journeymap experiment`: planted effects recovered on generated data,
//! the sample-ratio gate, row accounting on a damaged assignments file,
//! the exposure-event mode, bad configs and the report section.

use std::path::Path;

use serde_json::Value;

use crate::common::{jm, json_of, stdout_of};

const FIX: &str = "fixtures/experiment";

fn generate_experiment(dir: &Path, users: usize, srm: bool) -> std::path::PathBuf {
    let out = dir.join("exp.csv");
    let mut cmd = jm();
    cmd.args([
        "generate",
        "--scenario",
        "saas",
        "--experiment",
        "--seed",
        "11",
        "--users",
    ])
    .arg(users.to_string())
    .arg("--out")
    .arg(&out);
    if srm {
        cmd.arg("--experiment-srm");
    }
    cmd.assert().success();
    out
}

fn truth(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("exp.experiment-truth.json")).unwrap())
        .unwrap()
}

fn comparison<'a>(v: &'a Value, metric: &str, treatment: &str, baseline: &str) -> &'a Value {
    v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == metric)
        .unwrap_or_else(|| panic!("metric {metric}"))["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["treatment"] == treatment && c["baseline"] == baseline)
        .unwrap()
}

#[test]
fn planted_lifts_are_recovered_and_reruns_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate_experiment(dir.path(), 12_000, false);
    let cfg = dir.path().join("exp.journey.toml");
    let args = [
        "experiment",
        "analyze",
        data.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ];
    let v = json_of(&args);
    let t = truth(dir.path());
    assert_eq!(v["srm"]["status"], "ok", "{}", v["srm"]);
    for (metric, lifts) in [
        ("purchase", "purchase_lift"),
        ("revenue", "revenue_lift"),
        ("feature_use", "use_feature_lift"),
    ] {
        for (k, arm) in ["reminder", "intervention"].iter().enumerate() {
            let planted = t[lifts][k + 1].as_f64().unwrap();
            let lift = &comparison(&v, metric, arm, "control")["lift"];
            // Within 3 standard errors (six checks: a false alarm ~1.6 %
            // of seeds); the 95 % intervals miss at their nominal rate.
            let (est, se) = (
                lift["estimate"].as_f64().unwrap(),
                lift["se"].as_f64().unwrap(),
            );
            assert!(
                (est - planted).abs() <= 3.0 * se,
                "{metric}/{arm}: planted {planted}, measured {est} ± {se}"
            );
        }
    }
    // The targeted intervention's planted effect is large: it must win.
    assert_eq!(
        comparison(&v, "purchase", "intervention", "control")["direction"],
        "better"
    );
    assert_eq!(
        comparison(&v, "purchase", "intervention", "reminder")["direction"],
        "better"
    );
    // Usage has a pre-exposure covariate: CUPED is applied and cuts variance.
    let c = comparison(&v, "feature_use", "intervention", "control");
    assert_eq!(c["cuped"], true);
    assert!(c["variance_reduction"].as_f64().unwrap() > 0.3, "{c}");
    assert!(c["unadjusted"]["estimate"].is_number());
    // Allocation favours the planted best arm (the reruns below compare
    // the whole JSON, weights included, byte for byte).
    let a = &v["allocation"];
    let th: Vec<f64> = a["thompson"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(th[2] > th[1] && th[2] > th[0], "{a}");
    let tt: Vec<f64> = a["top_two"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(tt[2] >= tt[1] && tt[2] > tt[0], "{a}");
    // Uplift: targeting by the T-learner beats random targeting on the
    // planted responders (the intervention helps high-risk users only).
    let mut up = args.to_vec();
    let scores = dir.path().join("uplift.csv");
    up.extend(["--uplift-out", scores.to_str().unwrap()]);
    let u = json_of(&up);
    let iv = u["uplift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["treatment"] == "intervention" && x["baseline"] == "control")
        .unwrap();
    assert!(
        iv["qini_coefficient_vs_perfect"].as_f64().unwrap() > 0.0,
        "{iv}"
    );
    assert!(
        iv["qini_area_normalized_by_total"].as_f64().unwrap() > 0.0,
        "{iv}"
    );
    assert!(
        iv["uplift_at_k"].as_f64().unwrap() > iv["overall_uplift"].as_f64().unwrap(),
        "{iv}"
    );
    let rows = crate::common::read_csv(&scores);
    assert_eq!(
        rows.len() as u64,
        u["uplift"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["users"].as_u64().unwrap())
            .sum::<u64>()
    );
    // A retention metric: came back to use a feature in days 7-14; usage
    // before exposure is its CUPED covariate.
    let mut ret = vec![
        "experiment",
        "analyze",
        data.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ];
    ret.extend(["--metric", "retention:use_feature"]);
    let r = json_of(&ret);
    let c = comparison(&r, "use_feature_retention", "intervention", "control");
    assert_eq!(c["cuped"], true, "{c}");
    assert!(c["lift"]["estimate"].as_f64().unwrap() > 0.0, "{c}");
    let arms = &r["metrics"][0]["arms"];
    let (late, all) = (
        arms[0]["mean"].as_f64().unwrap(),
        comparison(&v, "feature_use", "intervention", "control"),
    );
    assert!(late > 0.0 && late < 1.0 && all.is_object());
    // Effects by segment: exploratory, every value x metric x comparison.
    let mut by = args.to_vec();
    by.extend(["--by", "device"]);
    let b = &json_of(&by)["breakdown"];
    assert_eq!(b["exploratory"], true);
    let values: std::collections::BTreeSet<&str> = b["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values.into_iter().collect::<Vec<_>>(),
        ["desktop", "mobile", "tablet"]
    );
    assert_eq!(b["effects"].as_array().unwrap().len(), 3 * 3 * 3);
    // The same breakdown under the sequential engine: named, and its
    // always-valid intervals are wider than the fixed ones, effect by effect.
    let mut seq = by.clone();
    seq.extend(["--engine", "sequential"]);
    let bs = &json_of(&seq)["breakdown"];
    assert_eq!(b["engine"], "frequentist");
    assert_eq!(bs["engine"], "sequential");
    let width = |e: &Value| e["ci_high"].as_f64().unwrap() - e["ci_low"].as_f64().unwrap();
    for (f, q) in b["effects"]
        .as_array()
        .unwrap()
        .iter()
        .zip(bs["effects"].as_array().unwrap())
    {
        if f["lift"].is_number() {
            assert_eq!(f["lift"], q["lift"]);
            assert!(width(q) > width(f), "{f} vs {q}");
        }
    }
    // Byte-identical reruns.
    let mut with_json = args.to_vec();
    with_json.push("--json");
    assert_eq!(stdout_of(&with_json), stdout_of(&with_json));
    // Checks on the figures: a passing one, then one that fails (exit 4).
    let mut pass = args.to_vec();
    pass.extend([
        "--check",
        "experiment.purchase.intervention.lift_ci_low > 0",
        "--check",
        "experiment.srm.p >= 0.001",
    ]);
    jm().args(&pass).assert().success();
    let mut fail = args.to_vec();
    fail.extend([
        "--check",
        "experiment.purchase.reminder_vs_control.lift > 5",
    ]);
    jm().args(&fail).assert().code(4);
}

#[test]
fn ratio_and_funnel_metrics_recover_the_planted_effects() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate_experiment(dir.path(), 12_000, false);
    let cfg = dir.path().join("exp.journey.toml");
    let v = json_of(&[
        "experiment",
        "analyze",
        data.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--metric",
        "ratio:purchase:amount/purchase",
        "--metric",
        "funnel:use_feature,purchase",
        "--metric",
        "ratio:use_feature/use_feature",
    ]);
    let t = truth(dir.path());
    // Revenue per order: the planted ratio of revenue per user to the
    // purchase rate, per arm.
    let aov = |k: usize| {
        t["revenue_per_user"][k].as_f64().unwrap() / t["purchase_rate"][k].as_f64().unwrap()
    };
    for (k, arm) in ["reminder", "intervention"].iter().enumerate() {
        let planted = aov(k + 1) / aov(0) - 1.0;
        let c = comparison(&v, "amount_per_purchase", arm, "control");
        let (est, se) = (
            c["lift"]["estimate"].as_f64().unwrap(),
            c["lift"]["se"].as_f64().unwrap(),
        );
        assert!(
            (est - planted).abs() <= 3.0 * se,
            "order value/{arm}: planted {planted}, measured {est} ± {se}"
        );
    }
    let m = &v["metrics"][0];
    assert_eq!(m["kind"], "ratio");
    assert_eq!(m["per"], "purchase");
    // The arm's figure is Σ amount / Σ purchases.
    let arm = &m["arms"][0];
    let ratio = arm["sums"]["y"].as_f64().unwrap() / arm["ratio"]["den"]["y"].as_f64().unwrap();
    assert!(
        (arm["mean"].as_f64().unwrap() - ratio).abs() < 1e-4,
        "{arm}"
    );
    // The funnel level: between 0 and 2 steps, higher where purchases
    // and usage are planted higher.
    let f = &v["metrics"][1];
    assert_eq!(f["kind"], "funnel");
    for a in f["arms"].as_array().unwrap() {
        let mean = a["mean"].as_f64().unwrap();
        assert!(mean > 0.0 && mean < 2.0, "{a}");
    }
    let c = comparison(&v, "purchase_funnel", "intervention", "control");
    assert_eq!(c["direction"], "better", "{c}");
    assert_eq!(c["cuped"], true, "{c}");
    // A ratio of an event to itself is 1 for every arm: no estimate, a
    // reason, and no NaN anywhere.
    let c = comparison(&v, "use_feature_per_use_feature", "intervention", "control");
    assert!(c["lift"].is_null(), "{c}");
    assert!(
        c["error"].as_str().unwrap().contains("zero variance"),
        "{c}"
    );
    assert!(!serde_json::to_string(&v).unwrap().contains("NaN"));
    // Planning a ratio reads its mean and delta-method variance.
    let p = json_of(&[
        "experiment",
        "plan",
        "--baseline-from",
        data.to_str().unwrap(),
        "--metric",
        "ratio:purchase:amount/purchase",
        "--mde",
        "0.05",
        "--arms",
        "3",
    ]);
    let pm = &p["metrics"][0];
    assert!(pm["mean"].as_f64().unwrap() > 0.0, "{pm}");
    assert!(pm["users_needed"].as_u64().unwrap() > 0, "{pm}");
    // Malformed ratio and funnel flags say how to write them.
    for bad in ["ratio:purchase", "funnel:purchase", "ratio:a/b/c"] {
        let out = jm()
            .args([
                "experiment",
                "analyze",
                data.to_str().unwrap(),
                "--config",
                cfg.to_str().unwrap(),
                "--metric",
                bad,
            ])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains("ratio:EVENT[:PROPERTY]/EVENT[:PROPERTY]"),
            "{err}"
        );
    }
}

#[test]
fn a_planted_sample_ratio_mismatch_fails_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate_experiment(dir.path(), 6_000, true);
    let cfg = dir.path().join("exp.journey.toml");
    let v = json_of(&[
        "experiment",
        "analyze",
        data.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(v["srm"]["status"], "fail", "{}", v["srm"]);
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("not trustworthy: sample ratio mismatch")
    );
    // The report carries the same section, and a config check can gate on it.
    let out = dir.path().join("rep");
    jm().args([
        "report",
        data.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
    ])
    .arg(&out)
    .args(["--check", "experiment.srm.p >= 0.001"])
    .assert()
    .code(4);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["experiment"]["srm"]["status"], "fail");
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("## Experiment")
    );
}

#[test]
fn a_damaged_assignments_file_is_accounted_row_by_row() {
    let v = json_of(&[
        "experiment",
        "analyze",
        &format!("{FIX}/events.csv"),
        "--config",
        &format!("{FIX}/journey.toml"),
    ]);
    let a = &v["assignment"];
    assert_eq!(a["rows"], 17);
    let rows: Vec<(String, u64, Value)> = a["rejected_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["rows"].as_u64().unwrap(),
                r["lines"].clone(),
            )
        })
        .collect();
    let want = [
        ("missing_field", 13),
        ("unreadable", 17),
        ("empty_user", 14),
        ("empty_arm", 15),
        ("bad_time", 16),
    ];
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    for (reason, line) in want {
        assert!(
            rows.iter()
                .any(|r| r.0 == reason && r.1 == 1 && r.2[0] == line),
            "{reason} at line {line}: {rows:?}"
        );
    }
    let excluded: Vec<&str> = a["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        excluded,
        [
            "multiple_arms",
            "unknown_arm",
            "unknown_user",
            "assigned_after_last_event",
            "window_open"
        ]
    );
    assert_eq!(a["users"], 11);
    assert_eq!(a["analyzed"], 6);
    // Every assigned user is analyzed or excluded for one reason.
    let sum: u64 = a["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["users"].as_u64().unwrap())
        .sum();
    assert_eq!(sum + 6, 11);
    // 45 % excluded: a warning on stderr.
    let err = jm()
        .args([
            "experiment",
            "analyze",
            &format!("{FIX}/events.csv"),
            "--config",
            &format!("{FIX}/journey.toml"),
        ])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&err).contains("of assigned users are excluded"));
}

#[test]
fn the_first_exposure_event_assigns_users() {
    let v = json_of(&[
        "experiment",
        "analyze",
        &format!("{FIX}/events.csv"),
        "--exposure",
        "experiment_viewed",
        "--arm-property",
        "variant",
        "--arms",
        "control,treatment",
        "--metric",
        "conversion:purchase",
        "--metric",
        "sum:purchase:amount",
    ]);
    let a = &v["assignment"];
    assert_eq!(a["source"], "exposure event experiment_viewed[variant]");
    let reasons: Vec<(&str, u64)> = a["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["reason"].as_str().unwrap(), e["users"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [("multiple_arms", 1), ("unknown_arm", 1), ("no_arm", 1)]
    );
    assert_eq!(v["arms"][0]["users"], 3);
    assert_eq!(v["arms"][1]["users"], 3);
    // revenue: control u1 10, u5 0, u8 40; treatment u3 25, u4 0, u6 5.
    let m = &v["metrics"][1]["arms"];
    assert_eq!(m[0]["sums"]["y"], 50.0);
    assert_eq!(m[1]["sums"]["y"], 30.0);
}

#[test]
fn degenerate_experiments_give_reasons_not_nan() {
    // An arm with no users, an event that never occurs, a property with
    // no numbers: every comparison says why it has no estimate.
    let out = stdout_of(&[
        "experiment",
        "analyze",
        &format!("{FIX}/events.csv"),
        "--config",
        &format!("{FIX}/journey.toml"),
        "--arms",
        "control,treatment,ghost",
        "--metric",
        "conversion:never_happens",
        "--metric",
        "sum:purchase:variant",
        "--json",
    ]);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    for m in v["metrics"].as_array().unwrap() {
        for c in m["comparisons"].as_array().unwrap() {
            assert!(c.get("lift").is_none(), "{c}");
            let e = c["error"].as_str().unwrap();
            let want = if c["treatment"] == "ghost" {
                "fewer than 2 users"
            } else {
                "zero variance"
            };
            assert!(e.contains(want), "{e}");
        }
    }
    assert_eq!(v["verdict"], "no significant effect on the goal metrics");
}

#[test]
fn bad_configs_and_files_fail_with_the_place_and_a_fix() {
    let events = format!("{FIX}/events.csv");
    let cfg = format!("{FIX}/journey.toml");
    let run = |extra: &[&str], code: i32, needle: &str| {
        let mut args = vec![
            "experiment",
            "analyze",
            events.as_str(),
            "--config",
            cfg.as_str(),
        ];
        args.extend_from_slice(extra);
        let err = jm()
            .args(&args)
            .assert()
            .code(code)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8_lossy(&err).to_string();
        assert!(err.contains(needle), "{extra:?}: {err}");
    };
    run(
        &["--arms", "control"],
        2,
        "--arms: an experiment needs at least two arms",
    );
    run(&["--control", "contrl"], 2, "did you mean \"control\"");
    run(&["--metric", "sum:purchase"], 2, "sum:EVENT:PROPERTY");
    run(
        &["--metric", "conversion:purchse"],
        3,
        "did you mean \"purchase\"",
    );
    run(
        &["--assignments", "no/such/assign.csv"],
        2,
        "no such assignments file",
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "user,variant\nu1,a\n").unwrap();
    run(
        &["--assignments", bad.to_str().unwrap()],
        3,
        "required column 'assigned_at'",
    );
    // A header without rows: a warning, empty figures, exit 0.
    let header = dir.path().join("header.csv");
    std::fs::write(&header, "user_id,arm,assigned_at\n").unwrap();
    let err = jm()
        .args([
            "experiment",
            "analyze",
            events.as_str(),
            "--config",
            cfg.as_str(),
            "--assignments",
        ])
        .arg(&header)
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&err).contains("no user is assigned"));
    // Arm names from the data are marked as data in report.md, never markup,
    // also in a comparison without an estimate.
    let ugly = dir.path().join("ugly.csv");
    std::fs::write(&ugly, "user_id,arm,assigned_at\nu1,control,2026-11-02T00:00:00Z\nu3,\"<script>x</script>\nb\",2026-11-02T00:00:00Z\n").unwrap();
    let ugly_cfg = dir.path().join("ugly.toml");
    std::fs::write(
        &ugly_cfg,
        format!(
            "[experiment]\nassignments = {:?}\narms = [{{ name = \"control\" }}, {{ name = \"<script>x</script>\\nb\" }}]\n[[experiment.metrics]]\nname = \"buy\"\nkind = \"conversion\"\nevent = \"purchase\"\n",
            ugly.display().to_string()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    jm().args(["report", events.as_str(), "--config"])
        .arg(&ugly_cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("no estimate for"), "{md}");
    assert!(!md.contains("<script>"), "{md}");
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    run(
        &["--assignments", empty.to_str().unwrap()],
        3,
        "the assignments file is empty",
    );
    // Ratio and funnel metrics in journey.toml: the missing part is named
    // with its config key.
    let assign = std::fs::canonicalize(format!("{FIX}/assign.csv"))
        .unwrap()
        .display()
        .to_string();
    for (metric, needle) in [
        (
            "kind = \"ratio\"\nevent = \"purchase\"",
            "experiment.metrics[1]: a `ratio` metric needs `per`",
        ),
        (
            "kind = \"funnel\"\nevent = \"purchase\"",
            "experiment.metrics[1]: a `funnel` metric needs `then`",
        ),
        (
            "kind = \"count\"\nevent = \"purchase\"\nthen = [\"signup\"]",
            "`then` belongs to a `funnel` metric",
        ),
        (
            "kind = \"ratio\"\nevent = \"purchase\"\nper = \"signup\"\nper_property = \"amout\"",
            "did you mean \"amount\"",
        ),
    ] {
        let c = dir.path().join("metric.toml");
        std::fs::write(
            &c,
            format!(
                "[experiment]\nassignments = {assign:?}\narms = [{{ name = \"control\" }}, {{ name = \"treatment\" }}]\n[[experiment.metrics]]\nname = \"m\"\n{metric}\n"
            ),
        )
        .unwrap();
        let out = jm()
            .args(["experiment", "analyze", events.as_str(), "--config"])
            .arg(&c)
            .assert()
            .failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(needle), "{metric}: {err}");
    }
}

#[test]
fn plan_estimates_the_baseline_from_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate_experiment(dir.path(), 3_000, false);
    let v = json_of(&[
        "experiment",
        "plan",
        data.to_str().unwrap(),
        "--metric",
        "conversion:upgrade",
        "--metric",
        "count:use_feature",
        "--mde",
        "0.05",
        "--arms",
        "3",
    ]);
    for m in v["metrics"].as_array().unwrap() {
        let fixed = m["users_needed"].as_u64().unwrap();
        let seq = m["users_needed_sequential"].as_u64().unwrap();
        assert!(seq > fixed, "{m}");
        assert!(m["days_needed"].as_f64().unwrap() > 0.0);
    }
    jm().args([
        "experiment",
        "plan",
        data.to_str().unwrap(),
        "--metric",
        "conversion:upgrade",
        "--mde",
        "0",
    ])
    .assert()
    .code(2);
}

#[test]
fn did_recovers_a_planted_rollout_and_passes_the_placebo() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ro.parquet");
    jm().args([
        "generate",
        "--scenario",
        "saas",
        "--rollout",
        "--users",
        "20000",
        "--seed",
        "9",
        "--out",
    ])
    .arg(&out)
    .assert()
    .success();
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ro.rollout-truth.json")).unwrap(),
    )
    .unwrap();
    let planted = truth["planted_effect"].as_f64().unwrap();
    let treated = dir.path().join("ro.rollout.csv");
    let v = json_of(&[
        "experiment",
        "did",
        out.to_str().unwrap(),
        "--treated",
        treated.to_str().unwrap(),
        "--start",
        truth["start"].as_str().unwrap(),
        "--metric",
        "count:use_feature",
    ]);
    let e = &v["effect"];
    let (lo, hi) = (
        e["ci_low"].as_f64().unwrap(),
        e["ci_high"].as_f64().unwrap(),
    );
    assert!(
        lo <= planted && planted <= hi,
        "planted {planted} outside [{lo}, {hi}]"
    );
    assert!(lo > 0.0, "the planted effect is detected: {e}");
    assert_eq!(v["parallel_trends_plausible"], true, "{}", v["placebo"]);
    assert!(v["excluded_new_users"].as_u64().unwrap() > 0);
    assert_eq!(v["weeks"].as_array().unwrap().len(), 4);
    // Usage errors: no group, both groups, a bad start.
    let base = [
        "experiment",
        "did",
        out.to_str().unwrap(),
        "--metric",
        "count:use_feature",
    ];
    jm().args(base)
        .args(["--start", "2026-10-22"])
        .assert()
        .code(2);
    jm().args(base)
        .args(["--start", "soon", "--treated-where", "device=mobile"])
        .assert()
        .code(2);
    let err = jm()
        .args(base)
        .args(["--start", "2026-10-22", "--treated-where", "devise=mobile"])
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&err).contains("did you mean \"device\""));
}
