//! The whole report: schema, determinism, checks and diff exit codes.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{golden, jm};

/// A validator for the subset of JSON Schema that schemars emits: $ref,
/// type, properties, required, additionalProperties, items, enum, const,
/// anyOf/oneOf/allOf and minimum. Returns the first violation with its path.
fn validate(root: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = root
            .pointer(r.trim_start_matches('#'))
            .ok_or(format!("{at}: dangling $ref {r}"))?;
        return validate(root, target, v, at);
    }
    if schema == &Value::Bool(true) {
        return Ok(());
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {v} is not of type {types:?}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        return Err(format!("{at}: {v} not in {e:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        return Err(format!("{at}: {v} != const {c}"));
    }
    if let (Some(min), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64())
        && x < min
    {
        return Err(format!("{at}: {x} < minimum {min}"));
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(root, s, v, at)?;
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = schema.get(key).and_then(Value::as_array) {
            let passing = any
                .iter()
                .filter(|s| validate(root, s, v, at).is_ok())
                .count();
            if passing == 0 || (key == "oneOf" && passing > 1) {
                return Err(format!(
                    "{at}: {passing} of the {key} alternatives match {v}"
                ));
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    return Err(format!("{at}: missing required {r}"));
                }
            }
        }
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(root, s, val, &format!("{at}/{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: unexpected property {k}"));
                    }
                    Some(s @ Value::Object(_)) => validate(root, s, val, &format!("{at}/{k}"))?,
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(root, items, x, &format!("{at}/{i}"))?;
        }
    }
    Ok(())
}

#[test]
fn the_schema_in_docs_is_current_and_the_demo_report_validates() {
    let out = jm()
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let generated = String::from_utf8(out).unwrap();
    let path = Path::new("docs/report.schema.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    assert_eq!(
        generated,
        std::fs::read_to_string(path).unwrap(),
        "docs/report.schema.json is stale: run UPDATE_GOLDEN=1 cargo test --release"
    );
    let schema: Value = serde_json::from_str(&generated).unwrap();

    let dir = tempfile::tempdir().unwrap();
    jm().args(["demo", "--users", "800", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    for section in ["funnel", "stages", "markov", "segments", "propensity"] {
        assert!(report.get(section).is_some(), "demo report lacks {section}");
    }
    validate(&schema, &schema, &report, "").unwrap();
    // The validator does reject what does not fit.
    let mut broken = report.clone();
    broken["data"]["users"] = Value::String("many".into());
    assert!(validate(&schema, &schema, &broken, "").is_err());
}

#[test]
fn report_with_config_is_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shop.csv");
    jm().args(["generate", "--users", "600", "--seed", "9", "--out"])
        .arg(&data)
        .assert()
        .success();
    let config = dir.path().join("shop.journey.toml");
    for run in ["a", "b"] {
        jm().arg("report")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(dir.path().join(run))
            .assert()
            .success();
    }
    for f in ["report.json", "report.md"] {
        assert_eq!(
            std::fs::read(dir.path().join("a").join(f)).unwrap(),
            std::fs::read(dir.path().join("b").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn checks_pass_fail_and_reject_bad_expressions_with_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = dir.path().join("j.toml");
    std::fs::write(&cfg, "checks = [\"data.rejected_share <= 0.0\"]\n[funnel]\nsteps = [\"product_view\", \"add_to_cart\", \"purchase\"]\n").unwrap();
    let base = |extra: &[&str]| {
        let mut c = jm();
        c.args(["report", "fixtures/shop_small.csv", "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .args(extra);
        c
    };
    base(&[
        "--check",
        "funnel.step[2].conversion >= 0.5",
        "--check",
        "data.users == 30",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains(
        "ok   funnel.step[2].conversion >= 0.5: actual 0.7",
    ));
    base(&["--check", "funnel.conversion >= 0.9"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("1 of 2 checks failed"))
        .stderr(predicate::str::contains(
            "funnel.conversion >= 0.9: actual 0.3, expected >= 0.9",
        ));
    base(&["--check", "model.auc >= 0.7"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "the report has no propensity section (is it configured?)",
        ));
    base(&["--check", "funnel.overall.conversion >= 0.1"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "funnel has no \"overall\" (it has: ",
        ));
    for bad in [
        "funnel.conversion",
        "funnel.conversion >= high",
        "funnel.step[0].conversion > 1",
        "a b >= 1",
    ] {
        base(&["--check", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("bad check"));
    }
}

/// `model.*` and `segment[N].*` gates on a report that has both sections
/// (the generated e-commerce config trains a model and clusters abandoners).
#[test]
fn model_and_segment_checks_read_real_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shop.csv");
    jm().args([
        "generate",
        "--scenario",
        "ecommerce",
        "--users",
        "2000",
        "--seed",
        "3",
        "--out",
    ])
    .arg(&data)
    .assert()
    .success();
    let run = |check: &str| {
        jm().args(["report"])
            .arg(&data)
            .arg("--config")
            .arg(dir.path().join("shop.journey.toml"))
            .arg("--out")
            .arg(dir.path().join("out"))
            .args(["--check", check])
            .assert()
    };
    run("model.auc >= 0.55")
        .success()
        .stdout(predicate::str::contains(
            "ok   model.auc >= 0.55: actual 0.",
        ));
    run("segment[1].share >= 0.5")
        .success()
        .stdout(predicate::str::contains(
            "ok   segment[1].share >= 0.5: actual 0.",
        ));
    run("model.auc > 0.99")
        .code(4)
        .stderr(predicate::str::contains("model.auc > 0.99: actual 0."));
}

#[test]
fn bad_configs_are_clean_errors_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[funnel]\nsteps = [\"product_view\"]\nwindw = \"7d\"\n",
            2,
            "did you mean `window`?",
        ),
        ("[funel]\nsteps = []\n", 2, "did you mean `funnel`?"),
        (
            "[funnel]\nsteps = [\"product_view\", \"purchse\"]\n",
            3,
            ":2: [funnel] steps[2]: unknown event \"purchse\"; did you mean \"purchase\"?",
        ),
        (
            "[funnel]\nsteps = [\"product_view\"]\nwindow = \"2 weeks\"\n",
            2,
            ":3:10: bad duration \"2 weeks\"",
        ),
        (
            "[propensity]\ntarget = \"purchase\"\nobserve = \"3 days\"\n",
            2,
            ":3:11: bad duration \"3 days\"",
        ),
        (
            "[[interventions]]\naction = \"email\"\nafter = \"2x\"\n",
            2,
            ":3:9: bad duration \"2x\"",
        ),
        (
            "[segments]\nk = \"many\"\n",
            2,
            ":2:5: expected \"auto\" or a whole number of segments",
        ),
        (
            "[[stages]]\nname = \"Awareness\"\nevents = [\"page_veiw\"]\n",
            3,
            "did you mean \"page_view\"?",
        ),
        ("checks = [\"funnel.conversion >= \"]\n", 2, "bad check"),
        ("this is not toml", 2, ":1:6: key with no value"),
    ];
    for (i, (text, code, msg)) in cases.iter().enumerate() {
        let cfg = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&cfg, text).unwrap();
        jm().args(["report", "fixtures/shop_small.csv", "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(dir.path().join("o"))
            .assert()
            .code(*code)
            .stderr(predicate::str::contains(*msg))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn diff_shows_changes_and_fails_on_drift_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("j.toml");
    std::fs::write(
        &cfg,
        "[funnel]\nsteps = [\"product_view\", \"add_to_cart\", \"purchase\"]\n",
    )
    .unwrap();
    for (seed, name) in [("1", "a"), ("2", "b")] {
        let data = dir.path().join(format!("{name}.csv"));
        jm().args(["generate", "--users", "1500", "--seed", seed, "--out"])
            .arg(&data)
            .assert()
            .success();
        jm().arg("report")
            .arg(&data)
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(dir.path().join(name))
            .assert()
            .success();
    }
    let (a, b) = (
        dir.path().join("a/report.json"),
        dir.path().join("b/report.json"),
    );
    jm().arg("diff")
        .arg(&a)
        .arg(&b)
        .assert()
        .success()
        .stdout(predicate::str::contains("## Funnel"));
    let out = jm()
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let funnel = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["section"] == "funnel")
        .unwrap();
    assert_eq!(
        funnel["figures"]["step_conversion"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Two draws of the same shop: the event mix does not drift.
    let mix = &v["event_mix"];
    assert_eq!(mix["method"], "Jensen-Shannon distance");
    assert_eq!(mix["drifted"], false, "{mix}");
    assert!(mix["statistic"].as_f64().unwrap() < 0.02, "{mix}");
    jm().args(["diff", "--fail-on-event-mix"])
        .arg(&a)
        .arg(&b)
        .assert()
        .success();
    // A night where half the events are a new one: drifted, named, gated.
    let c = dir.path().join("c.csv");
    let text = std::fs::read_to_string(dir.path().join("b.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let event_col = header.split(',').position(|h| h == "event").unwrap();
    let mut shifted = vec![header];
    for (i, l) in lines.enumerate() {
        let mut f: Vec<&str> = l.split(',').collect();
        if i % 2 == 0 {
            f[event_col] = "app_crash";
        }
        shifted.push(f.join(","));
    }
    std::fs::write(&c, shifted.join("\n") + "\n").unwrap();
    jm().arg("report")
        .arg(&c)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("c"))
        .assert()
        .success();
    let cj = dir.path().join("c/report.json");
    let out = jm()
        .args(["diff", "--json"])
        .arg(&a)
        .arg(&cj)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["event_mix"]["drifted"], true);
    assert_eq!(v["event_mix"]["only_new"], serde_json::json!(["app_crash"]));
    assert_eq!(v["event_mix"]["largest_changes"][0]["event"], "app_crash");
    jm().args(["diff", "--fail-on-event-mix"])
        .arg(&a)
        .arg(&cj)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("the event mix drifted"));
    jm().arg("diff")
        .arg(&a)
        .arg(&a)
        .arg("--fail-on-drift")
        .arg("0.1")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("no score PSI to compare"));
    jm().arg("diff")
        .arg(&a)
        .arg("Cargo.toml")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a report.json"));
}

#[test]
fn init_and_diff_match_golden_files() {
    let out = jm()
        .args(["init", "fixtures/shop_small.csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let init = String::from_utf8(out).unwrap();
    golden("shop_small.init.toml", &init);
    // The starter config is itself a valid config for the data.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("j.toml");
    std::fs::write(&cfg, &init).unwrap();
    jm().args(["report", "fixtures/shop_small.csv", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("a"))
        .assert()
        .success();
    let mut funnel_only =
        String::from("[funnel]\nsteps = [\"product_view\", \"add_to_cart\", \"purchase\"]\n");
    std::fs::write(&cfg, &funnel_only).unwrap();
    jm().args(["report", "fixtures/shop_small.csv", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("b"))
        .assert()
        .success();
    funnel_only.push_str("window = \"1d\"\n");
    std::fs::write(&cfg, &funnel_only).unwrap();
    jm().args(["report", "fixtures/shop_small.csv", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("c"))
        .assert()
        .success();
    let out = jm()
        .arg("diff")
        .arg(dir.path().join("b/report.json"))
        .arg(dir.path().join("c/report.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    golden("shop_small.diff.md", &String::from_utf8(out).unwrap());
}

/// The same events in another row order give the same report: users are
/// ordered by id and every choice of users (hold-out, folds, samples) is
/// keyed by the user, so nothing depends on the export's row order. (Ties
/// in timestamp within a user keep export order by design; the generator
/// makes none.)
#[test]
fn a_row_shuffled_export_gives_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let data = crate::common::generate(&a.join("shop.csv"), "ecommerce", 1500, 31);
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    // A seeded Fisher-Yates shuffle of the rows.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in (1..lines.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lines.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let shuffled = b.join("shop.csv");
    std::fs::write(&shuffled, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let config = a.join("shop.journey.toml");
    for (input, out) in [(&data, a.join("out")), (&shuffled, b.join("out"))] {
        jm().arg("report")
            .arg(input)
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
    }
    // The file's path and bytes differ; nothing else may.
    let json = |d: &Path| {
        let text = std::fs::read_to_string(d.join("out/report.json"))
            .unwrap()
            .replace(d.to_str().unwrap(), "DIR");
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("input");
        // The run id and manifest hash the input's name too.
        v.as_object_mut().unwrap().remove("run");
        v
    };
    assert_eq!(json(&a), json(&b), "report.json differs after shuffling");
    for f in ["scores.csv", "segments.csv"] {
        assert_eq!(
            std::fs::read(a.join("out").join(f)).unwrap(),
            std::fs::read(b.join("out").join(f)).unwrap(),
            "{f} differs after shuffling"
        );
    }
    // The report id hashes the input's name and size too.
    let md = |d: &Path| {
        let text = std::fs::read_to_string(d.join("out/report.md")).unwrap();
        let id = text.find("report id ").unwrap();
        let text = format!("{}{}", &text[..id], &text[id + 26..]);
        text.replace(d.to_str().unwrap(), "DIR")
    };
    assert_eq!(md(&a), md(&b), "report.md differs after shuffling");
}

/// `report` reads only the property columns its config uses (the feature
/// roles, predicates, `[propensity] properties`, `[funnel] by`, and with
/// automatic features every column not named like an id). Reading every
/// column must give the same bytes, in CSV and in Parquet.
#[test]
fn reading_only_the_columns_the_config_uses_changes_no_output() {
    let dir = tempfile::tempdir().unwrap();
    // A CSV export with three columns no analysis names: a campaign (the
    // automatic features use it), a request id and a free-text referrer.
    let csv = crate::common::generate(&dir.path().join("shop.csv"), "retail", 500, 12);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut wide = String::new();
    for (i, line) in text.lines().enumerate() {
        let extra = if i == 0 {
            "utm_campaign,request_id,referrer".to_string()
        } else {
            format!(
                "camp{},r{:08x},https://ref.example/{}",
                i % 5,
                i * 7919,
                i % 37
            )
        };
        wide.push_str(&format!("{line},{extra}\n"));
    }
    let wide_csv = dir.path().join("wide.csv");
    std::fs::write(&wide_csv, wide).unwrap();
    let auto = dir.path().join("shop.journey.toml");
    let named = dir.path().join("named.toml");
    std::fs::write(
        &named,
        r#"
[features]
auto = false
[conversion]
event = "purchase"
[funnel]
steps = ["product", { event = "add_to_cart", utm_campaign = "camp1" }, "purchase"]
by = "device"
[segments]
k = 3
on = "all"
[propensity]
target = "purchase"
observe = "1d"
properties = ["channel"]
[[stages]]
name = "Awareness"
events = ["home", "search", "category"]
[[stages]]
name = "Purchase"
events = [{ event = "checkout", utm_campaign = "camp2" }, "add_to_cart", "purchase"]
[experiment]
exposure = "product"
arm_property = "utm_campaign"
arms = [{ name = "camp0" }, { name = "camp1" }, { name = "camp2" }]
breakdown = "referrer"
lookback = "0d"
[[experiment.metrics]]
name = "revenue"
kind = "sum"
event = "purchase"
property = "price"
[retention]
interval = "day"
breakdown = "utm_campaign"
return_event = { event = "purchase", referrer = "https://ref.example/3" }
[drift]
properties = ["request_id", "utm_campaign"]
"#,
    )
    .unwrap();
    let parquet = Path::new("fixtures/parquet/wide_small.parquet");
    // `funnel`, `paths`, `segments` and `propensity train` read the columns
    // their flags and config name; --drop-duplicates reads all (the data
    // has no copies).
    let commands: [(&[&str], Vec<&str>); 4] = [
        (
            &["funnel"],
            vec![
                "--steps",
                "home,product,add_to_cart[utm_campaign=camp1],purchase",
                "--by",
                "price",
                "--json",
            ],
        ),
        (
            &["paths"],
            vec!["--target", "purchase[channel=email]", "--json"],
        ),
        (
            &["segments"],
            vec![
                "--steps",
                "home,product[utm_campaign=camp2],purchase",
                "--on",
                "all",
                "--k",
                "3",
                "--json",
            ],
        ),
        (
            &["propensity", "train"],
            vec![
                "--target",
                "purchase[utm_campaign=camp1]",
                "--observe",
                "1d",
            ],
        ),
    ];
    for input in [wide_csv.as_path(), parquet] {
        for (cmd, args) in &commands {
            let run = |all: bool| {
                let mut c = jm();
                c.args(*cmd).arg(input).args(args);
                let model = dir.path().join("model.json");
                if cmd[0] == "paths" {
                    c.arg("--config").arg(&named);
                }
                if cmd[0] == "propensity" {
                    c.arg("--model-out").arg(&model);
                }
                if all {
                    c.arg("--drop-duplicates");
                }
                let out = c.assert().success().get_output().stdout.clone();
                let model = std::fs::read_to_string(&model).unwrap_or_default();
                String::from_utf8(out).unwrap() + &model
            };
            assert_eq!(run(false), run(true), "{} on {}", cmd[0], input.display());
        }
    }
    let runs = [
        (wide_csv.as_path(), &auto),
        (wide_csv.as_path(), &named),
        (parquet, &auto),
        (parquet, &named),
    ];
    for (i, (input, config)) in runs.iter().enumerate() {
        let out = |tag: &str| dir.path().join(format!("{i}{tag}"));
        for (tag, all) in [("a", false), ("b", true)] {
            let mut c = jm();
            c.arg("report")
                .arg(input)
                .arg("--config")
                .arg(config)
                .arg("--out")
                .arg(out(tag));
            if all {
                c.arg("--read-all-columns");
            }
            c.assert().success();
        }
        for f in ["report.json", "report.md", "scores.csv", "segments.csv"] {
            let a = std::fs::read_to_string(out("a").join(f)).unwrap();
            let b = std::fs::read_to_string(out("b").join(f)).unwrap();
            let first = a.lines().zip(b.lines()).position(|(x, y)| x != y);
            assert!(
                a == b,
                "{f} of {} with {} differs at line {first:?}: {:?}",
                input.display(),
                config.display(),
                first.map(|i| (a.lines().nth(i), b.lines().nth(i)))
            );
        }
    }
}
