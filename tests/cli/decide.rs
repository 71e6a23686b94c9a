//! `journeymap decide` on the generated bank: trigger quality against the
//! planted life events, compliance (consent, eligibility, caps across
//! runs, kill switch, overrides, pseudonyms, erasure), determinism with a
//! trail that re-derives each decision, and bad input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::{bank_customers_parquet, jm, read_csv, to_parquet};

struct Bank {
    _dir: tempfile::TempDir,
    root: PathBuf,
    events: String,
    config: PathBuf,
}

fn bank(users: usize) -> Bank {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let events = root.join("bank.csv");
    jm().args([
        "generate",
        "--scenario",
        "bank",
        "-q",
        "--seed",
        "5",
        "--users",
    ])
    .arg(users.to_string())
    .arg("--out")
    .arg(&events)
    .assert()
    .success();
    Bank {
        config: root.join("bank.journey.toml"),
        events: events.display().to_string(),
        root,
        _dir: dir,
    }
}

fn decide(
    b: &Bank,
    config: &Path,
    as_of: &str,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    jm().args(["decide", &b.events, "-q", "--config"])
        .arg(config)
        .args(["--as-of", as_of, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn ok(o: std::process::Output) -> std::process::Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// The run failed with `code`, and its stderr says each of `says`.
fn fails(o: &std::process::Output, code: i32, says: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    for s in says {
        assert!(err.contains(s), "expected {s:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

fn day(s: &str) -> i64 {
    let d = chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap();
    d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() / 86_400_000
}

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

#[test]
fn planted_life_events_are_found_with_precision_and_recall_over_0_9() {
    let b = bank(6000);
    let out = b.root.join("bt");
    ok(jm()
        .args(["decide", &b.events, "-q", "--config"])
        .arg(&b.config)
        .args([
            "--backtest",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap());
    let mut truth: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for r in read_csv(&b.root.join("bank.bank-truth.csv")) {
        truth
            .entry(r["life_event"].clone())
            .or_default()
            .insert(r["customer_id"].clone(), ms(&r["date"]));
    }
    let mut fired: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for r in read_csv(&out.join("backtest-triggers.csv")) {
        fired
            .entry(r["trigger"].clone())
            .or_default()
            .insert(r["user_id"].clone(), ms(&r["fired_at"]));
    }
    let windows = [
        ("home_purchase", 30),
        ("new_child", 30),
        ("salary_rise", 60),
        ("mortgage_research", 30),
    ];
    for (name, w) in windows {
        let t = &truth[name];
        let f = &fired[name];
        // Detected within the trigger's window after the planted date (the
        // research sequence is dated at its completing event).
        let hits = f
            .iter()
            .filter(|(u, at)| {
                t.get(*u)
                    .is_some_and(|d| **at >= *d && **at <= d + w * 86_400_000)
            })
            .count() as f64;
        let (p, r) = (hits / f.len() as f64, hits / t.len() as f64);
        assert!(t.len() > 50, "{name}: {} planted", t.len());
        assert!(
            p >= 0.9 && r >= 0.9,
            "{name}: precision {p:.3}, recall {r:.3}"
        );
    }
    let bt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("backtest.json")).unwrap()).unwrap();
    for t in bt["triggers"].as_array().unwrap() {
        assert!(t["lift"].as_f64().unwrap() > 3.0, "{t}");
        assert_eq!(t["fired_per_date"].as_array().unwrap().len(), 26);
    }
}

struct Customer {
    attrs: BTreeMap<String, String>,
}

fn customers(b: &Bank) -> BTreeMap<String, Customer> {
    read_csv(&b.root.join("bank.customers.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), Customer { attrs: r }))
        .collect()
}

/// What a decisions file must never contain: an action without consent for
/// its channel and purpose, or to an ineligible user.
fn assert_compliant(decisions: &[BTreeMap<String, String>], cust: &BTreeMap<String, Customer>) {
    let purpose = |p: &str| match p {
        "home_loan" => "consent_credit",
        _ => "consent_marketing",
    };
    for d in decisions {
        if d["action"].is_empty() {
            continue;
        }
        let c = &cust[&d["user_id"]].attrs;
        assert_eq!(c[&format!("consent_{}", d["channel"])], "yes", "{d:?}");
        assert_eq!(c[purpose(&d["pathway"])], "yes", "{d:?}");
        if d["pathway"] == "home_loan" {
            let age: u32 = c["age"].parse().unwrap();
            assert!(
                c["vulnerable"] != "true" && (18..=70).contains(&age),
                "{d:?} {c:?}"
            );
            assert_eq!(c["has_mortgage"], "false");
        }
        if d["pathway"] == "investment" {
            assert!(c["age"].parse::<u32>().unwrap() >= 21);
        }
    }
}

#[test]
fn consent_caps_kill_switch_overrides_and_determinism() {
    let b = bank(4000);
    let cust = customers(&b);
    // Three consecutive nights, each reading the state of the one before.
    let nights = ["2026-03-01", "2026-03-08", "2026-03-15"];
    let mut prev: Option<PathBuf> = None;
    for n in nights {
        let out = b.root.join(format!("run-{n}"));
        let mut extra: Vec<String> = Vec::new();
        if let Some(p) = &prev {
            extra.push("--state".into());
            extra.push(p.join("history.csv").display().to_string());
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        ok(decide(&b, &b.config, n, &out, &extra));
        assert_compliant(&read_csv(&out.join("decisions.csv")), &cust);
        prev = Some(out);
    }
    let history = read_csv(&prev.unwrap().join("history.csv"));
    assert!(history.len() > 50, "{}", history.len());
    let mut per: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for h in &history {
        per.entry((h["user_id"].clone(), h["pathway"].clone()))
            .or_default()
            .push(day(&h["as_of"]));
    }
    let mut last_any: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for ((u, p), days) in &per {
        let cap = match p.as_str() {
            "home_loan" => 2,
            _ => 1,
        };
        assert!(days.len() <= cap, "{u} {p} {days:?}");
        if p == "home_loan" {
            assert!(days.windows(2).all(|w| w[1] - w[0] >= 30), "{u} {days:?}");
        }
        last_any.entry(u.clone()).or_default().extend(days);
    }
    for (u, mut days) in last_any {
        days.sort();
        assert!(
            days.windows(2).all(|w| w[1] - w[0] >= 7),
            "{u}: global cool-down {days:?}"
        );
    }

    // Determinism, and each trail re-derives its decision.
    let a = b.root.join("again");
    ok(decide(&b, &b.config, "2026-03-01", &a, &[]));
    for f in [
        "decisions.csv",
        "trail.jsonl",
        "triggers.csv",
        "decide.json",
        "history.csv",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.root.join("run-2026-03-01").join(f)).unwrap(),
            "{f}"
        );
    }
    let decisions = read_csv(&a.join("decisions.csv"));
    let trails: Vec<serde_json::Value> = std::fs::read_to_string(a.join("trail.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(trails.len(), decisions.len());
    let mut with_action = 0;
    for (d, t) in decisions.iter().zip(&trails) {
        assert_eq!(t["user_id"], d["user_id"].as_str());
        // Replay: the last chosen/forced step, unless suppressed or killed after it.
        let mut derived: Option<(String, String)> = None;
        for s in t["steps"].as_array().unwrap() {
            match s["result"].as_str().unwrap() {
                "chosen" | "forced" => {
                    derived = Some((
                        s["action"].as_str().unwrap().into(),
                        s["channel"].as_str().unwrap().into(),
                    ))
                }
                "suppressed" | "kill_switch" => derived = None,
                _ => {}
            }
        }
        let taken = (!d["action"].is_empty()).then(|| (d["action"].clone(), d["channel"].clone()));
        assert_eq!(derived, taken, "{t}");
        // Every pathway before the chosen one says why it did not act.
        if taken.is_some() {
            with_action += 1;
            let steps = t["steps"].as_array().unwrap();
            assert!(
                steps[..steps.len() - 1]
                    .iter()
                    .all(|s| s["result"] != "chosen")
            );
        }
    }
    assert!(with_action > 20);

    // The kill switch: zero actions, even forced ones.
    let text = std::fs::read_to_string(&b.config).unwrap();
    let killed = b.root.join("killed.toml");
    std::fs::write(
        &killed,
        text.replace("[decide]\nenabled = true", "[decide]\nenabled = false"),
    )
    .unwrap();
    let chosen: Vec<&BTreeMap<String, String>> = decisions
        .iter()
        .filter(|d| !d["action"].is_empty())
        .collect();
    let consented = cust
        .iter()
        .find(|(_, c)| c.attrs["consent_email"] == "yes" && c.attrs["consent_credit"] == "yes")
        .map(|(id, _)| id.clone())
        .unwrap();
    let refused = cust
        .iter()
        .find(|(_, c)| c.attrs["consent_email"] == "no" && c.attrs["consent_app"] == "no")
        .map(|(id, _)| id.clone())
        .unwrap();
    let overrides = b.root.join("overrides.csv");
    std::fs::write(
        &overrides,
        format!(
            "scope,id,rule,value,note\nuser,{},suppress,,complaint\nuser,{consented},force_action,mortgage_offer_email,by hand\nuser,{refused},force_action,mortgage_offer_email,no consent\n",
            chosen[0]["user_id"]
        ),
    )
    .unwrap();
    let ov = overrides.display().to_string();
    let k = b.root.join("k");
    ok(decide(&b, &killed, "2026-03-01", &k, &["--overrides", &ov]));
    assert!(
        read_csv(&k.join("decisions.csv"))
            .iter()
            .all(|d| d["action"].is_empty())
    );
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(k.join("decide.json")).unwrap()).unwrap();
    assert_eq!(rep["with_action"], 0);
    assert_eq!(rep["kill_switch"], true);

    // Overrides win, are reported, and never break consent.
    let o = b.root.join("o");
    ok(decide(
        &b,
        &b.config,
        "2026-03-01",
        &o,
        &["--overrides", &ov],
    ));
    let by: BTreeMap<String, BTreeMap<String, String>> = read_csv(&o.join("decisions.csv"))
        .into_iter()
        .map(|d| (d["user_id"].clone(), d))
        .collect();
    assert_eq!(by[&chosen[0]["user_id"]]["action"], "");
    assert_eq!(by[&chosen[0]["user_id"]]["reason"], "suppressed");
    assert_eq!(by[&consented]["action"], "mortgage_offer_email");
    assert_eq!(by[&consented]["source"], "override");
    assert_ne!(by[&refused]["action"], "mortgage_offer_email");
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(o.join("decide.json")).unwrap()).unwrap();
    assert_eq!(rep["overrides"]["suppressed"], 1);
    assert_eq!(rep["overrides"]["forced"], 1);
    assert_eq!(rep["overrides"]["refused"], 1);
    assert_compliant(&by.into_values().collect::<Vec<_>>(), &cust);

    // A dry run with --compare says how many decisions the change moves.
    let strict = b.root.join("strict.toml");
    std::fs::write(
        &strict,
        text.replace("eligible = [\"age <= 70\"", "eligible = [\"age <= 40\""),
    )
    .unwrap();
    let out = ok(jm()
        .args([
            "decide",
            &b.events,
            "-q",
            "--json",
            "--dry-run",
            "--as-of",
            "2026-03-01",
            "--config",
        ])
        .arg(&strict)
        .arg("--compare")
        .arg(&b.config)
        .output()
        .unwrap());
    let cmp: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(cmp["changed"].as_u64().unwrap() > 0, "{cmp}");
}

#[test]
fn pseudonyms_are_stable_and_erased_users_are_nowhere() {
    let b = bank(1500);
    let key = b.root.join("key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").unwrap();
    let erase = b.root.join("erase.txt");
    std::fs::write(&erase, "# requests\nc0000001\nc0000002\n").unwrap();
    let (k, e) = (key.display().to_string(), erase.display().to_string());
    let runs: Vec<PathBuf> = (0..2)
        .map(|i| {
            let out = b.root.join(format!("p{i}"));
            ok(decide(
                &b,
                &b.config,
                "2026-04-01",
                &out,
                &["--pseudonymize-key", &k, "--erase", &e],
            ));
            out
        })
        .collect();
    let ids: BTreeSet<String> = customers(&b).into_keys().collect();
    for f in [
        "decisions.csv",
        "trail.jsonl",
        "triggers.csv",
        "history.csv",
        "decide.json",
        "decide.md",
    ] {
        let text = std::fs::read_to_string(runs[0].join(f)).unwrap();
        assert_eq!(
            text,
            std::fs::read_to_string(runs[1].join(f)).unwrap(),
            "{f}"
        );
        for id in ids.iter().step_by(7).chain(["c0000001".to_string()].iter()) {
            assert!(!text.contains(id.as_str()), "{f} holds {id}");
        }
    }
    let d = read_csv(&runs[0].join("decisions.csv"));
    assert_eq!(d.len(), ids.len() - 2, "erased users have no row");
    assert!(
        d.iter()
            .all(|r| r["user_id"].starts_with("p_") && r["user_id"].len() == 34)
    );
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("decide.json")).unwrap())
            .unwrap();
    let src = |name: &str| {
        rep["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(src("customers")["erased"], 2);
    assert!(src("transactions")["erased"].as_u64().unwrap() > 20);
    assert!(src("events")["erased"].as_u64().unwrap() > 0);
}

#[test]
fn bad_sources_are_accounted_and_bad_configs_refused_with_their_line() {
    let b = bank(300);
    // Damage the transactions and the customer table.
    let tx = b.root.join("bank.transactions.csv");
    let mut t = std::fs::read_to_string(&tx).unwrap();
    t.push_str("c0000003,2026-01-05T10:00:00Z,-20.00,groceries,M1\n");
    t.push_str("c0000003,2026-01-05T10:00:00Z,twelve,groceries,M1\n");
    t.push_str("nobody,2026-01-05T10:00:00Z,5.00,groceries,M1\n");
    t.push_str("c0000003,2026-01-05T10:00:00Z,5.00\n");
    std::fs::write(&tx, t).unwrap();
    let cu = b.root.join("bank.customers.csv");
    let mut c = std::fs::read_to_string(&cu).unwrap();
    let line5 = c.lines().nth(4).unwrap().to_string();
    c.push_str(&line5.replace(",yes,", ",maybe,"));
    c.push('\n');
    c.push_str("c9999999,mass,north,40,false,false,perhaps,yes,yes,yes,yes\n");
    std::fs::write(&cu, c).unwrap();
    let out = b.root.join("r");
    ok(decide(&b, &b.config, "2026-03-01", &out, &[]));
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("decide.json")).unwrap()).unwrap();
    let src = |name: &str| {
        rep["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == name)
            .unwrap()
            .clone()
    };
    let t = src("transactions");
    for reason in ["negative_amount", "non_numeric_amount", "wrong_field_count"] {
        assert_eq!(t["rejected"][reason]["rows"], 1, "{reason}: {t}");
    }
    // The duplicated customer's transactions are unknown now.
    assert!(
        t["rejected"]["unknown_user"]["rows"].as_u64().unwrap() > 1,
        "{t}"
    );
    let total = t["used"].as_u64().unwrap()
        + t["after_as_of"].as_u64().unwrap()
        + t["rejected"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| r["rows"].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(total, t["rows"].as_u64().unwrap());
    let cs = src("customers");
    assert_eq!(cs["rejected"]["duplicate_customer"]["rows"], 2, "{cs}");
    assert_eq!(cs["rejected"]["duplicate_customer"]["first_line"], 302);
    assert_eq!(rep["odd_consent"][0]["values"][0], "perhaps");
    let md = std::fs::read_to_string(out.join("decide.md")).unwrap();
    assert!(md.contains("counted as no consent"), "{md}");

    // A pathway naming an unknown trigger: refused with its line.
    let text = std::fs::read_to_string(&b.config).unwrap();
    let bad = b.root.join("bad.toml");
    std::fs::write(
        &bad,
        text.replace("triggers = [\"new_child\"]", "triggers = [\"new_chld\"]"),
    )
    .unwrap();
    let o = decide(&b, &bad, "2026-03-01", &b.root.join("x"), &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = text
        .lines()
        .position(|l| l.contains("triggers = [\"new_child\"]"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("bad.toml:{line}:")) && err.contains("did you mean"),
        "{err}"
    );
    // A missing consent column: refused with the file.
    std::fs::write(&bad, text.replace("consent_sms\"", "consent_text\"")).unwrap();
    let o = decide(&b, &bad, "2026-03-01", &b.root.join("x"), &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("consent_text") && err.contains("customers.csv:1"),
        "{err}"
    );
    // An empty transactions file.
    std::fs::write(&tx, "").unwrap();
    let o = decide(&b, &b.config, "2026-03-01", &b.root.join("x"), &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("empty") && !err.contains("panicked"),
        "{err}"
    );
}

/// The model gate: a pathway scored by a propensity model.json runs on the
/// scores when the model is usable (trained with consent for the pathway's
/// purpose), and its fallback pathway runs in its place when the file is
/// missing, trained without that purpose, or its hold-out AUC is below
/// `min_auc`; the trail names the step, decide.json the reason. Training
/// for a purpose leaves out every user without consent for it.
#[test]
fn an_unusable_model_hands_its_pathway_to_the_fallback() {
    let b = bank(3000);
    let train = |out: &str, purpose: Option<&str>| -> serde_json::Value {
        let model = b.root.join(out);
        let mut cmd = jm();
        cmd.args(["propensity", "train", &b.events, "-q", "--config"])
            .arg(&b.config)
            .args([
                "--target",
                "product_opened",
                "--observe",
                "60d",
                "--horizon",
                "90d",
            ])
            .arg("--model-out")
            .arg(&model)
            .arg("--features-out")
            .arg(b.root.join(format!("{out}.rows.csv")));
        if let Some(p) = purpose {
            cmd.args(["--purpose", p]);
        }
        ok(cmd.output().unwrap());
        serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap()
    };
    let m = train("model.json", Some("credit"));
    let any = train("model-any.json", None);
    let auc = m["metrics"]["holdout"]["auc"].as_f64().unwrap();
    let cust = customers(&b);
    let rows = read_csv(&b.root.join("model.json.rows.csv"));
    assert!(rows.len() > 1000, "{}", rows.len());
    for r in &rows {
        let c = &cust[&r["user_id"]].attrs;
        assert_eq!(
            c["consent_credit"], "yes",
            "{} trained without consent",
            r["user_id"]
        );
    }
    let all_rows = read_csv(&b.root.join("model-any.json.rows.csv"));
    let left_out = m["consent"]["without_consent"].as_u64().unwrap();
    assert_eq!(m["consent"]["purpose"], "credit");
    assert!(left_out > 100, "{left_out}");
    assert_eq!(rows.len() as u64 + left_out, all_rows.len() as u64);
    assert!(any.get("consent").is_none());
    let base = std::fs::read_to_string(&b.config).unwrap();
    assert!(
        base.contains("cooldown = \"30d\"\n"),
        "home_loan's last key moved"
    );
    let variant = |name: &str, model: &str, min_auc: f64, min_score: f64| -> serde_json::Value {
        let text = base.replace(
            "cooldown = \"30d\"\n",
            &format!(
                "cooldown = \"30d\"\nmodel = {model:?}\nmin_auc = {min_auc}\nmin_score = {min_score}\nfallback = \"home_loan_rules\"\n"
            ),
        ) + "\n[[pathways]]\nname = \"home_loan_rules\"\npurpose = \"credit\"\ntriggers = [\"home_purchase\"]\nactions = [{ name = \"mortgage_letter\", channel = \"email\", value = 50.0 }]\n";
        let cfg = b.root.join(format!("{name}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let out = b.root.join(name);
        ok(decide(&b, &cfg, "2026-03-01", &out, &[]));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("decide.json")).unwrap()).unwrap();
        let trails: Vec<serde_json::Value> = std::fs::read_to_string(out.join("trail.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        serde_json::json!({ "report": json, "trails": trails,
            "decisions": read_csv(&out.join("decisions.csv")) })
    };
    let pathway = |v: &serde_json::Value, name: &str| -> serde_json::Value {
        v["report"]["pathways"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    let steps_named = |v: &serde_json::Value, result: &str| -> usize {
        v["trails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| {
                t["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["result"] == result && s["pathway"] == "home_loan")
            })
            .count()
    };

    // Below the floor: every would-be home_loan user goes through the fallback.
    let low = variant("low", "model.json", auc + 0.05, 0.0);
    let hl = pathway(&low, "home_loan");
    assert!(
        hl["model"].as_str().unwrap().contains("below min_auc"),
        "{hl}"
    );
    assert_eq!(hl["chosen"], 0);
    let rules = pathway(&low, "home_loan_rules");
    assert_eq!(rules["fallback_for"], "home_loan");
    assert!(rules["chosen"].as_u64().unwrap() > 10, "{rules}");
    assert_eq!(
        steps_named(&low, "model_unusable"),
        3000,
        "every trail says so"
    );
    for d in low["decisions"].as_array().unwrap() {
        assert_ne!(d["pathway"], "home_loan", "{d}");
    }

    // A missing file is unusable in the same way, with its own reason.
    let missing = variant("missing", "nope.json", 0.0, 0.0);
    let hl = pathway(&missing, "home_loan");
    assert!(
        hl["model"].as_str().unwrap().contains("cannot read"),
        "{hl}"
    );
    assert_eq!(
        pathway(&missing, "home_loan_rules")["chosen"],
        rules["chosen"],
        "the same users fall back"
    );

    // Trained on everyone: not usable for a purpose-bound pathway.
    let unbound = variant("unbound", "model-any.json", 0.0, 0.0);
    let hl = pathway(&unbound, "home_loan");
    assert!(
        hl["model"]
            .as_str()
            .unwrap()
            .contains("trained without a purpose"),
        "{hl}"
    );
    assert_eq!(hl["chosen"], 0);

    // Usable: the pathway runs on the scores; the fallback never does.
    let usable = variant("usable", "model.json", auc - 0.05, 0.0);
    let hl = pathway(&usable, "home_loan");
    assert_eq!(hl["model"], "usable", "{hl}");
    assert!(hl["chosen"].as_u64().unwrap() > 10, "{hl}");
    assert_eq!(pathway(&usable, "home_loan_rules")["chosen"], 0);
    assert_eq!(steps_named(&usable, "model_unusable"), 0);

    // That night's export ended on the run date: the same decisions, so no
    // score read an event after it (a back-test sees what the night saw).
    let text = std::fs::read_to_string(&b.events).unwrap();
    let mut lines = text.lines();
    let mut early = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| l.split(',').nth(1).unwrap() < "2026-03-02") {
        early.push_str(l);
        early.push('\n');
    }
    let early_events = b.root.join("early.csv");
    std::fs::write(&early_events, early).unwrap();
    let night = b.root.join("night");
    ok(jm()
        .arg("decide")
        .arg(&early_events)
        .args(["-q", "--config"])
        .arg(b.root.join("usable.toml"))
        .args(["--as-of", "2026-03-01", "--out"])
        .arg(&night)
        .output()
        .unwrap());
    for f in ["decisions.csv", "trail.jsonl"] {
        assert!(
            std::fs::read(night.join(f)).unwrap()
                == std::fs::read(b.root.join("usable").join(f)).unwrap(),
            "{f} differs between the full export and the export of that night"
        );
    }

    // A score floor no user reaches stops the pathway at that step.
    let strict = variant("strict", "model.json", auc - 0.05, 0.999);
    let hl = pathway(&strict, "home_loan");
    assert_eq!(hl["chosen"], 0);
    assert!(hl["stopped"]["score_below"].as_u64().unwrap() > 0, "{hl}");
    assert!(steps_named(&strict, "score_below") > 0);
}

/// `[[triggers]]`/`[[pathways]]` in `report`: the section previews the
/// nightly run of the same day (same counts, same decisions.csv), says it
/// is a preview, answers checks, and reads the columns its triggers name
/// even with the automatic features (which read every column) off.
#[test]
fn report_previews_the_decisions_of_the_nightly_run() {
    let b = bank(2000);
    let base = std::fs::read_to_string(&b.config).unwrap();
    assert!(base.contains("[decide]\n"));
    let text = base.replace("[decide]\n", "[decide]\nas_of = \"2026-03-01\"\n")
        + "\n[features]\nauto = false\n";
    let cfg = b.root.join("report.toml");
    std::fs::write(&cfg, text).unwrap();
    let rep = b.root.join("rep");
    ok(jm()
        .args(["report", &b.events, "-q", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&rep)
        .args(["--check", "decide.with_action > 10"])
        .output()
        .unwrap());
    let nightly = b.root.join("nightly");
    ok(decide(&b, &cfg, "2026-03-01", &nightly, &[]));
    assert_eq!(
        std::fs::read(rep.join("decisions.csv")).unwrap(),
        std::fs::read(nightly.join("decisions.csv")).unwrap()
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rep.join("report.json")).unwrap()).unwrap();
    let n: serde_json::Value =
        serde_json::from_slice(&std::fs::read(nightly.join("decide.json")).unwrap()).unwrap();
    let d = &r["decide"];
    assert_eq!(d["preview"], true);
    assert!(n.get("preview").is_none());
    for k in [
        "as_of",
        "customers",
        "triggers",
        "pathways",
        "with_action",
        "value",
        "actions",
        "channels",
        "no_action",
        "without_purpose_consent",
    ] {
        assert_eq!(d[k], n[k], "{k}");
    }
    // The outcome predicates' column was read: every trigger fired.
    for t in d["triggers"].as_array().unwrap() {
        assert!(t["fired"].as_u64().unwrap() > 0, "{t}");
    }
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(md.contains("## Decisions as of 2026-03-01"), "{md}");
    assert!(md.contains("**A preview:**"));
    // A date that is not one is refused with its config line.
    let bad = b.root.join("bad.toml");
    std::fs::write(
        &bad,
        base.replace("[decide]\n", "[decide]\nas_of = \"March\"\n"),
    )
    .unwrap();
    let o = jm()
        .args(["report", &b.events, "-q", "--config"])
        .arg(&bad)
        .arg("--out")
        .arg(b.root.join("bad"))
        .output()
        .unwrap();
    fails(&o, 2, &["bad.toml:", "YYYY-MM-DD"]);
}

/// `[[sources]]` in Parquet (typed: a UTC datetime, doubles, integers,
/// booleans for consent) decide exactly as the same tables in CSV.
#[test]
fn parquet_sources_decide_as_their_csv() {
    let b = bank(1500);
    to_parquet(
        &b.root.join("bank.transactions.csv"),
        &b.root.join("tx.parquet"),
        "timestamp",
        &["amount"],
        &[],
        &[],
    );
    bank_customers_parquet(
        &b.root.join("bank.customers.csv"),
        &b.root.join("cust.parquet"),
    );
    let text = std::fs::read_to_string(&b.config)
        .unwrap()
        .replace("bank.transactions.csv", "tx.parquet")
        .replace("bank.customers.csv", "cust.parquet");
    let cfg = b.root.join("pq.toml");
    std::fs::write(&cfg, text).unwrap();
    let (a, p) = (b.root.join("csv-run"), b.root.join("pq-run"));
    ok(decide(&b, &b.config, "2026-03-01", &a, &[]));
    ok(decide(&b, &cfg, "2026-03-01", &p, &[]));
    for f in [
        "decisions.csv",
        "trail.jsonl",
        "triggers.csv",
        "history.csv",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(p.join(f)).unwrap(),
            "{f}"
        );
    }
    let json = |d: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("decide.json")).unwrap()).unwrap()
    };
    let (ja, jp) = (json(&a), json(&p));
    for (sa, sp) in ja["sources"]
        .as_array()
        .unwrap()
        .iter()
        .zip(jp["sources"].as_array().unwrap())
    {
        for k in ["rows", "used", "after_as_of", "rejected"] {
            assert_eq!(sa[k], sp[k], "{k}");
        }
    }
    assert!(ja["with_action"].as_u64().unwrap() > 5);
    // A damaged Parquet file is an error naming it, not a crash.
    std::fs::write(b.root.join("tx.parquet"), b"PAR1 not really").unwrap();
    let o = decide(&b, &cfg, "2026-03-01", &b.root.join("bad"), &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("tx.parquet") && !err.contains("panicked"),
        "{err}"
    );
}

/// What a new user met with ugly exports: `TRUE`/`Y` in a flag column
/// passing `vulnerable != true`, a source whose every row is rejected
/// (decimal commas) still deciding, an empty event file blaming a
/// property, a back-test step of 12 hours, and pseudonymized rows left in
/// the order of the original ids.
#[test]
fn ugly_exports_are_refused_or_read_safely() {
    let b = bank(1500);
    let (cu, tx) = (
        b.root.join("bank.customers.csv"),
        b.root.join("bank.transactions.csv"),
    );
    let clean_customers = std::fs::read_to_string(&cu).unwrap();
    // Every vulnerable flag spelled as a spreadsheet might.
    let spelled: String = clean_customers
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = if i % 2 == 0 {
                l.replace(",true,", ",TRUE,")
            } else {
                l.replace(",true,", ",Y,")
            };
            l + "\n"
        })
        .collect();
    std::fs::write(&cu, &spelled).unwrap();
    let out = b.root.join("spelled");
    ok(decide(&b, &b.config, "2026-03-01", &out, &[]));
    let cust = customers(&b);
    let mut credit = 0;
    for d in read_csv(&out.join("decisions.csv")) {
        if d["pathway"] == "home_loan" {
            credit += 1;
            let v = &cust[&d["user_id"]].attrs["vulnerable"];
            assert!(!matches!(v.as_str(), "TRUE" | "Y"), "{d:?}: vulnerable {v}");
        }
    }
    assert!(credit > 0);
    std::fs::write(&cu, &clean_customers).unwrap();

    // Decimal commas: every transaction rejected is an error, not a quiet night.
    let clean_tx = std::fs::read_to_string(&tx).unwrap();
    let comma: String = clean_tx
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return l.replace(',', ";") + "\n";
            }
            let f: Vec<&str> = l.split(',').collect();
            format!(
                "{};{};{};{};{}\n",
                f[0],
                f[1],
                f[2].replace('.', ","),
                f[3],
                f[4]
            )
        })
        .collect();
    std::fs::write(&tx, comma).unwrap();
    let cfg = b.root.join("semi.toml");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&b.config).unwrap().replace(
            "name = \"transactions\"\n",
            "name = \"transactions\"\ndelimiter = \";\"\n",
        ),
    )
    .unwrap();
    let o = decide(&b, &cfg, "2026-03-01", &b.root.join("comma"), &[]);
    fails(
        &o,
        3,
        &[
            "bank.transactions.csv",
            "every one of its",
            "non_numeric_amount",
            "decimal",
        ],
    );
    assert!(!b.root.join("comma").join("history.csv").exists());
    std::fs::write(&tx, &clean_tx).unwrap();

    // An empty event file: said so, naming it.
    let empty = b.root.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let o = jm()
        .arg("decide")
        .arg(&empty)
        .args(["-q", "--config"])
        .arg(&b.config)
        .args(["--as-of", "2026-03-01", "--dry-run"])
        .output()
        .unwrap();
    fails(&o, 3, &["empty.csv", "no app event"]);

    // A back-test step that is not whole days.
    let o = jm()
        .args(["decide", &b.events, "-q", "--config"])
        .arg(&b.config)
        .args([
            "--backtest",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
            "--every",
            "12h",
        ])
        .output()
        .unwrap();
    fails(&o, 2, &["whole days"]);

    // Pseudonymized rows are in pseudonym order, not the original ids'.
    let key = b.root.join("key");
    std::fs::write(&key, "a key of at least sixteen bytes, kept elsewhere\n").unwrap();
    let p = b.root.join("pseudo");
    ok(decide(
        &b,
        &b.config,
        "2026-03-01",
        &p,
        &["--pseudonymize-key", key.to_str().unwrap()],
    ));
    let ids: Vec<String> = read_csv(&p.join("decisions.csv"))
        .into_iter()
        .map(|d| d["user_id"].clone())
        .collect();
    assert!(ids.is_sorted() && ids.len() == 1500);

    // A run date half a year after the export, and ids in another case: warned.
    let o = decide(
        &b,
        &b.config,
        "2027-01-01",
        &b.root.join("late"),
        &["--dry-run"],
    );
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: the last transaction before the run date"),
        "{err}"
    );
    let upper: String = clean_tx
        .lines()
        .map(|l| l.replacen("c00000", "C00000", 1) + "\n")
        .collect();
    std::fs::write(&tx, upper).unwrap();
    let o = decide(
        &b,
        &b.config,
        "2026-03-01",
        &b.root.join("case"),
        &["--dry-run"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("differ from a customer id only in letter case"),
        "{err}"
    );
    // A header-only transactions file runs, with a warning.
    std::fs::write(&tx, clean_tx.lines().next().unwrap().to_string() + "\n").unwrap();
    let o = ok(decide(
        &b,
        &b.config,
        "2026-03-01",
        &b.root.join("hdr"),
        &["--dry-run"],
    ));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the transactions file has no rows"), "{err}");
}
