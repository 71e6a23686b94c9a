//! Propensity end to end: generated data with a planted logistic truth, the
//! Bayes-optimal AUC, leakage, score reproduction, a mismatched model and
//! config errors, all through the binary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{jm, read_csv};

const CONFIG: &str = "fixtures/propensity/saas.journey.toml";

fn generate(dir: &Path, scenario: &str, users: usize, seed: u64) -> PathBuf {
    crate::common::generate(
        &dir.join(format!("{scenario}-{users}-{seed}.csv")),
        scenario,
        users,
        seed,
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Trains and returns the report.
fn train(data: &Path, dir: &Path, extra: &[&str]) -> Value {
    let out = jm()
        .args([
            "propensity",
            "train",
            p(data),
            "--model-out",
            p(&dir.join("model.json")),
        ])
        .args(["--scores-out", p(&dir.join("train_scores.csv"))])
        .args(["--features-out", p(&dir.join("features.csv"))])
        .args(extra)
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("--json prints the report")
}

/// AUC by counting pairs in score order (ties count ½), written apart from the library's.
fn auc(pairs: &mut [(f64, bool)]) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut neg_below, mut wins, mut i) = (0.0, 0.0, 0);
    let pos = pairs.iter().filter(|x| x.1).count() as f64;
    let neg = pairs.len() as f64 - pos;
    while i < pairs.len() {
        let j = (i..pairs.len())
            .find(|&k| pairs[k].0 != pairs[i].0)
            .unwrap_or(pairs.len());
        let (p_tie, n_tie) =
            pairs[i..j].iter().fold(
                (0.0, 0.0),
                |(a, b), x| if x.1 { (a + 1.0, b) } else { (a, b + 1.0) },
            );
        wins += p_tie * (neg_below + n_tie / 2.0);
        neg_below += n_tie;
        i = j;
    }
    wins / (pos * neg)
}

/// (model AUC, Bayes-optimal AUC) on the hold-out users: the model's score
/// and the truth file's p_convert against the same realised labels.
fn holdout_aucs(dir: &Path, data: &Path) -> (f64, f64) {
    let truth_path = data.with_file_name(
        data.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replace(".csv", ".truth.csv"),
    );
    let truth: HashMap<String, (f64, bool)> = read_csv(&truth_path)
        .into_iter()
        .map(|r| {
            (
                r["user_id"].clone(),
                (r["p_convert"].parse().unwrap(), r["converted"] == "1"),
            )
        })
        .collect();
    let scores: HashMap<String, f64> = read_csv(&dir.join("train_scores.csv"))
        .into_iter()
        .filter(|r| r["status"] == "scored")
        .map(|r| (r["user_id"].clone(), r["score"].parse().unwrap()))
        .collect();
    let (mut model, mut bayes) = (Vec::new(), Vec::new());
    for r in read_csv(&dir.join("features.csv"))
        .into_iter()
        .filter(|r| r["split"] == "holdout")
    {
        let label = r["label"] == "1";
        let (p_true, converted) = truth[&r["user_id"]];
        // With the horizon to the end of the data, the label is the generator's own draw.
        assert_eq!(
            label, converted,
            "user {}: label differs from the truth file",
            r["user_id"]
        );
        model.push((scores[&r["user_id"]], label));
        bayes.push((p_true, label));
    }
    (auc(&mut model), auc(&mut bayes))
}

/// Acceptance 1. The SaaS generator draws conversion from a known logistic
/// function of the user's first 24 hours (milestone flags, log feature use,
/// device, channel: features the model has), and a converter's upgrade comes
/// at least 3 days after their first event. So with `--observe 1d --horizon
/// all` every user is labeled, the label is the truth file's `converted`, and
/// `p_convert` is the Bayes-optimal score: the model must come within 0.02
/// of its AUC, and must not beat it by more than noise (that would be a leak).
#[test]
fn holdout_auc_is_near_the_bayes_optimal_auc() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "saas", 60_000, 21);
    let r = train(
        &data,
        dir.path(),
        &["--config", CONFIG, "--observe", "1d", "--horizon", "all"],
    );
    assert_eq!(r["beats_base_rate"], true);
    let (model, bayes) = holdout_aucs(dir.path(), &data);
    assert!(
        (model - r["holdout"]["auc"].as_f64().unwrap()).abs() < 1e-6,
        "the report's AUC is the hold-out's"
    );
    eprintln!(
        "observe 1d: model AUC {model:.4}, Bayes-optimal {bayes:.4}, gap {:.4}",
        bayes - model
    );
    assert!(
        (bayes - model).abs() <= 0.02,
        "observe 1d: model AUC {model:.4} vs Bayes-optimal {bayes:.4}"
    );
    assert!(
        model <= bayes + 0.01,
        "observe 1d: model AUC {model:.4} above the Bayes-optimal {bayes:.4}: a leak?"
    );
}

/// Acceptance 3: events after the cutoff, the target event included, change
/// no feature and no score.
#[test]
fn events_after_the_cutoff_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "saas", 3_000, 5);
    train(&data, dir.path(), &["--config", CONFIG]);
    let before = std::fs::read(dir.path().join("train_scores.csv")).unwrap();

    // Append, for every scored user, the target and other events after their cutoff.
    let scores = read_csv(&dir.path().join("train_scores.csv"));
    let mut text = std::fs::read_to_string(&data).unwrap();
    let mut appended = 0;
    for r in scores.iter().filter(|r| r["status"] == "scored") {
        let cutoff = chrono::DateTime::parse_from_rfc3339(&r["cutoff"]).unwrap();
        for (event, secs) in [
            ("upgrade", 0),
            ("invite_teammate", 1),
            ("create_project", 60),
            ("use_feature", 3600),
            ("upgrade", 86_400),
        ] {
            let ts = (cutoff + chrono::Duration::seconds(secs))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            text += &format!(
                "{},{}-late,{event},{ts},/late,,desktop,email\n",
                r["user_id"], r["user_id"]
            );
            appended += 1;
        }
    }
    assert!(appended > 1000);
    let later = dir.path().join("later.csv");
    std::fs::write(&later, text).unwrap();

    let rescored = dir.path().join("rescored.csv");
    jm().args([
        "propensity",
        "score",
        p(&later),
        "--model",
        p(&dir.path().join("model.json")),
        "--out",
        p(&rescored),
    ])
    .assert()
    .success();
    assert!(
        std::fs::read(&rescored).unwrap() == before,
        "post-cutoff events changed a score, stage or action"
    );

    // An event just before a user's cutoff does change that user's row (the test can fail).
    let first = scores.iter().find(|r| r["status"] == "scored").unwrap();
    let cutoff = chrono::DateTime::parse_from_rfc3339(&first["cutoff"]).unwrap();
    let ts = (cutoff - chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut text = std::fs::read_to_string(&data).unwrap();
    text += &format!(
        "{},x,invite_teammate,{ts},/x,,desktop,email\n",
        first["user_id"]
    );
    std::fs::write(&later, text).unwrap();
    jm().args([
        "propensity",
        "score",
        p(&later),
        "--model",
        p(&dir.path().join("model.json")),
        "--out",
        p(&rescored),
    ])
    .assert()
    .success();
    let after = read_csv(&rescored);
    let row = after
        .iter()
        .find(|r| r["user_id"] == first["user_id"])
        .unwrap();
    assert_ne!(row["score"], first["score"]);
}

/// Acceptance 3: scoring the training data with the saved model gives the
/// training scores exactly, in CSV and in Parquet.
#[test]
fn scoring_the_training_data_reproduces_the_training_scores() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "saas", 4_000, 9);
    // A milestone cutoff: users who never log in again have none.
    train(
        &data,
        dir.path(),
        &[
            "--config",
            CONFIG,
            "--milestone",
            "login",
            "--horizon",
            "30d",
        ],
    );
    let model = dir.path().join("model.json");
    let scored = dir.path().join("scored.csv");
    jm().args([
        "propensity",
        "score",
        p(&data),
        "--model",
        p(&model),
        "--out",
        p(&scored),
    ])
    .assert()
    .success();
    let train_scores = std::fs::read_to_string(dir.path().join("train_scores.csv")).unwrap();
    assert_eq!(std::fs::read_to_string(&scored).unwrap(), train_scores);
    assert!(read_csv(&scored).iter().any(|r| r["status"] == "no_cutoff"));

    // A cutoff 7 days after the first event: some upgraded before it (the
    // generator's upgrades come 3 days or more after the first event).
    let r = train(&data, dir.path(), &["--config", CONFIG, "--observe", "7d"]);
    assert_eq!(r["label_definition"]["cutoff"]["kind"], "observe");
    let out = jm()
        .args([
            "propensity",
            "score",
            p(&data),
            "--model",
            p(&model),
            "--out",
            p(&scored),
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let summary: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        summary, r["scoring"],
        "the score summary is the training report's"
    );
    let train_scores = std::fs::read_to_string(dir.path().join("train_scores.csv")).unwrap();
    assert_eq!(std::fs::read_to_string(&scored).unwrap(), train_scores);
    let rows = read_csv(&scored);
    assert_eq!(rows.len(), 4_000, "one row per user");
    for status in ["scored", "converted"] {
        assert!(
            rows.iter().any(|r| r["status"] == status),
            "no {status} row"
        );
    }
    assert!(rows.iter().any(|r| r["action"] == "tutorial_email"));

    // Parquet holds the same values.
    let pq = dir.path().join("scored.parquet");
    jm().args([
        "propensity",
        "score",
        p(&data),
        "--model",
        p(&model),
        "--out",
        p(&pq),
    ])
    .assert()
    .success();
    use polars::prelude::*;
    let df = ParquetReader::new(std::fs::File::open(&pq).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 4_000);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "user_id",
            "status",
            "cutoff",
            "score",
            "risk",
            "risk_band",
            "stage",
            "action",
            "log_odds",
            "raises_1",
            "raises_2",
            "raises_3",
            "lowers_1",
            "lowers_2",
            "lowers_3"
        ]
    );
    let score = df.column("score").unwrap().f64().unwrap().clone();
    for (i, r) in rows.iter().enumerate() {
        let want: Option<f64> = r["score"].parse().ok();
        assert_eq!(score.get(i), want, "row {i}");
    }

    // The model file carries what the issue lists.
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    for key in [
        "format_version",
        "features",
        "intercept",
        "threshold",
        "label",
        "training_data",
        "metrics",
        "l2",
    ] {
        assert!(m.get(key).is_some(), "model.json lacks {key}");
    }
    assert!(m["features"][0]["mean"].is_number() && m["features"][0]["sd"].is_number());
    assert_eq!(m["training_data"]["users"], 4_000);
}

/// Acceptance 3: a model whose features do not match the data is refused.
#[test]
fn a_model_that_does_not_match_the_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let saas = generate(dir.path(), "saas", 2_000, 4);
    let shop = generate(dir.path(), "ecommerce", 500, 4);
    train(&saas, dir.path(), &["--target", "upgrade"]);
    let model = dir.path().join("model.json");
    let out = dir.path().join("s.csv");
    jm().args([
        "propensity",
        "score",
        p(&shop),
        "--model",
        p(&model),
        "--out",
        p(&out),
    ])
    .assert()
    .code(3)
    .stderr(predicate::str::contains(
        "the model does not match this data",
    ))
    .stderr(predicate::str::contains(
        "event features name events the data does not have",
    ));
    assert!(!out.exists(), "nothing written");

    // A file that is not a model, and a future format version.
    let bad = dir.path().join("bad.json");
    for (text, msg) in [
        (
            "{\"format\": \"journeymap-propensity-model\", \"format_version\": 99}",
            "format version 99 is not supported",
        ),
        (
            "{\"coefficients\": []}",
            "not a journeymap propensity model",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        jm().args([
            "propensity",
            "score",
            p(&saas),
            "--model",
            p(&bad),
            "--out",
            p(&out),
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(msg));
    }
}

/// Acceptance 3: an unknown stage or event in a rule is a config error
/// naming the rule, the key and the nearest valid name.
#[test]
fn config_errors_name_the_rule_key_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "saas", 500, 2);
    let base = std::fs::read_to_string(CONFIG).unwrap();
    let run = |edit: (&str, &str)| {
        assert!(base.contains(edit.0));
        let cfg = dir.path().join("bad.toml");
        std::fs::write(&cfg, base.replacen(edit.0, edit.1, 1)).unwrap();
        jm().args([
            "propensity",
            "train",
            p(&data),
            "--config",
            p(&cfg),
            "--model-out",
            p(&dir.path().join("m.json")),
        ])
        .assert()
    };
    run(("stage = \"Consideration\"\nmin_risk = 0.7\nmissing = \"invited_teammate\"", "stage = \"Consideraton\"\nmin_risk = 0.7\nmissing = \"invited_teammate\""))
        .code(3)
        .stderr(predicate::str::contains("intervention rule 2: stage = \"Consideraton\" is not a [[stages]] name; did you mean \"Consideration\"?"));
    run(("missing = \"created_project\"", "missing = \"create_projct\""))
        .code(3)
        .stderr(predicate::str::contains("intervention rule 1: missing = \"create_projct\" is neither a milestone nor an event in the data; did you mean \"create_project\"?"));
    run((
        "{ name = \"created_project\", event = \"create_project\"",
        "{ name = \"created_project\", event = \"create_prject\"",
    ))
    .code(3)
    .stderr(predicate::str::contains(
        "unknown event \"create_prject\"; did you mean \"create_project\"?",
    ));
    run(("action = \"tutorial_email\"", "acton = \"tutorial_email\""))
        .code(2)
        .stderr(predicate::str::contains("acton"));
    assert!(!dir.path().join("m.json").exists());

    // Flags are checked too.
    jm().args([
        "propensity",
        "train",
        p(&data),
        "--target",
        "upgrad",
        "--model-out",
        p(&dir.path().join("m.json")),
    ])
    .assert()
    .code(3)
    .stderr(predicate::str::contains(
        "the target (--target, [propensity] target or [conversion] event): unknown event \"upgrad\"; did you mean \"upgrade\"?",
    ));
    jm().args([
        "propensity",
        "train",
        p(&data),
        "--target",
        "upgrade",
        "--horizon",
        "2x",
        "--model-out",
        p(&dir.path().join("m.json")),
    ])
    .assert()
    .code(2);
}

/// Churn models, class weights and the report's sections.
#[test]
fn churn_model_and_report_sections() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "saas", 3_000, 8);
    let r = train(
        &data,
        dir.path(),
        &[
            "--churn",
            "--inactive",
            "7d",
            "--observe",
            "3d",
            "--class-weight",
            "balanced",
            "--config",
            CONFIG,
        ],
    );
    assert_eq!(r["kind"], "churn");
    assert!(r["regularization"]["minority_repeat"].as_u64().unwrap() >= 1);
    assert_eq!(r["calibration"].as_array().unwrap().len(), 10);
    assert_eq!(r["lift"].as_array().unwrap().len(), 10);
    assert_eq!(r["cv"]["folds"].as_array().unwrap().len(), 5);
    assert!(
        r["correlations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["odds_ratio"].as_f64().unwrap() > 0.0)
    );
    assert!(r["features"].as_array().unwrap().iter().all(|f| {
        f["sentence"]
            .as_str()
            .unwrap()
            .contains("as likely to churn")
    }));
    assert!(r["verdict"].as_str().unwrap().starts_with("The model"));
    let header = std::fs::read_to_string(dir.path().join("features.csv")).unwrap();
    let header = header.lines().next().unwrap();
    assert!(
        header.starts_with("user_id,split,events,") && header.ends_with(",label"),
        "{header}"
    );
}

/// A model.json written by the first release (format version 1) loads and
/// scores exactly as it did then: fixtures/propensity/v1 holds the model,
/// the data it was trained on and the scores that release wrote.
#[test]
fn a_model_saved_by_the_first_release_scores_identically() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = Path::new("fixtures/propensity/v1");
    let out = dir.path().join("scores.csv");
    jm().args(["propensity", "score"])
        .arg(v1.join("saas.csv"))
        .arg("--model")
        .arg(v1.join("model.json"))
        .arg("--scores-out")
        .arg(&out)
        .assert()
        .success();
    // The columns that release wrote are the same; the explanation
    // columns came later.
    let now = read_csv(&out);
    let then = read_csv(&v1.join("scores.csv"));
    assert_eq!(now.len(), then.len());
    for (a, b) in now.iter().zip(&then) {
        for (k, v) in b {
            assert_eq!(
                &a[k], v,
                "the first release's model scores differently now ({k})"
            );
        }
    }
}

/// Issue 12, acceptance 3. The retail generator draws conversion from the
/// first day's product views, cart adds, device, channel and the price of
/// what the user looked at; the export is in global time order and names
/// none of it in a config. `propensity train --target purchase --observe 1d`
/// with no config finds device, channel and price by itself and comes within
/// 0.02 of the Bayes-optimal AUC; without the automatic features it falls
/// clearly short.
#[test]
fn automatic_features_find_device_channel_and_price() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "retail", 12_000, 5);
    let args = [
        "--target",
        "purchase",
        "--observe",
        "1d",
        "--horizon",
        "all",
    ];
    let r = train(&data, dir.path(), &args);
    let names: Vec<&str> = r["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for want in [
        "property:device=mobile",
        "property:channel=social",
        "mean:price",
    ] {
        assert!(names.contains(&want), "{want} not among {names:?}");
    }
    let (model, bayes) = holdout_aucs(dir.path(), &data);
    assert!(
        (bayes - model).abs() <= 0.02 && model <= bayes + 0.01,
        "model {model:.4} vs Bayes {bayes:.4}"
    );
    let mut no_auto = args.to_vec();
    no_auto.push("--no-auto-features");
    train(&data, dir.path(), &no_auto);
    let (plain, _) = holdout_aucs(dir.path(), &data);
    assert!(
        plain < model - 0.01,
        "without device, channel and price: {plain:.4} vs {model:.4}"
    );
}

/// Issue 17, acceptance 3: for every scored user, base + Σ contributions
/// = the stored log-odds (to 1e-9), and the log-odds is the score's logit.
#[test]
fn contributions_add_up_to_the_log_odds_for_every_scored_user() {
    let dir = tempfile::tempdir().unwrap();
    let data = crate::common::generate(&dir.path().join("shop.csv"), "ecommerce", 3000, 11);
    let model = dir.path().join("model.json");
    let scores = dir.path().join("scores.csv");
    let why = dir.path().join("why.csv");
    crate::common::jm()
        .args(["propensity", "train", "-q"])
        .arg(&data)
        .args(["--target", "purchase", "--model-out"])
        .arg(&model)
        .assert()
        .success();
    crate::common::jm()
        .args(["propensity", "score", "-q"])
        .arg(&data)
        .arg("--model")
        .arg(&model)
        .arg("--scores-out")
        .arg(&scores)
        .arg("--contributions-out")
        .arg(&why)
        .assert()
        .success();
    let s = crate::common::read_csv(&scores);
    let c = crate::common::read_csv(&why);
    let scored: Vec<_> = s.iter().filter(|r| r["status"] == "scored").collect();
    assert_eq!(scored.len(), c.len());
    assert!(c.len() > 1000);
    let num = |v: &str| v.parse::<f64>().unwrap();
    for (srow, crow) in scored.iter().zip(&c) {
        assert_eq!(srow["user_id"], crow["user_id"]);
        let lo = num(&crow["log_odds"]);
        let sum: f64 = num(&crow["base_log_odds"])
            + crow
                .iter()
                .filter(|(k, _)| !["user_id", "base_log_odds", "log_odds"].contains(&k.as_str()))
                .map(|(_, v)| num(v))
                .sum::<f64>();
        assert!(
            (sum - lo).abs() <= 1e-9,
            "{}: {sum} vs {lo}",
            crow["user_id"]
        );
        assert_eq!(num(&srow["log_odds"]), lo);
        let p = num(&srow["score"]);
        assert!((lo - (p / (1.0 - p)).ln()).abs() <= 1e-9 * lo.abs().max(1.0));
        // Reasons name what raises and what lowers, in words.
        let r1 = &srow["raises_1"];
        assert!(
            r1.is_empty() || r1.contains("raises the chance to convert"),
            "{r1}"
        );
        let l1 = &srow["lowers_1"];
        assert!(
            l1.is_empty() || l1.contains("lowers the chance to convert"),
            "{l1}"
        );
    }
}
