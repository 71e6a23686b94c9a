//! `journeymap retention` and `[retention]` in a report: the anchors'
//! fixtures through the binary, censoring invariants on generated data,
//! checks, and bad input.

use serde_json::Value;

use crate::common::{generate, jm, json_of};

/// Writes `rows` (user, day offset from 2020-06-10, hour) as events.
fn journeys(dir: &std::path::Path, rows: &[(&str, i64)]) -> std::path::PathBuf {
    let base = chrono::NaiveDate::from_ymd_opt(2020, 6, 10).unwrap();
    let mut csv = String::from("user_id,event,timestamp\n");
    for (u, d) in rows {
        let day = base + chrono::Duration::days(*d);
        csv.push_str(&format!("{u},$pageview,{day}T12:00:00Z\n"));
    }
    let p = dir.join("events.csv");
    std::fs::write(&p, csv).unwrap();
    p
}

fn returned_observed(cohort: &Value) -> Vec<u64> {
    cohort["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["eligible"].as_u64().unwrap() > 0)
        .map(|c| c["returned"].as_u64().unwrap())
        .collect()
}

// PostHog posthog/hogql_queries/insights/test/test_retention_query_runner.py
// ::test_day_interval: recurring, day, 11 intervals over 2020-06-10..20;
// person1 active on days 0, 1, 2, 5, 6 and person2 on 1, 2, 3, 6. The
// published first four rows.
#[test]
fn posthog_day_interval_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for d in [0, 1, 2, 5, 6] {
        rows.push(("person1", d));
    }
    for d in [1, 2, 3, 6] {
        rows.push(("person2", d));
    }
    let events = journeys(dir.path(), &rows);
    let v = json_of(&[
        "retention",
        events.to_str().unwrap(),
        "--start",
        "recurring",
        "--interval",
        "day",
        "--intervals",
        "11",
        "--until",
        "2020-06-20",
    ]);
    let c = v["cohorts"].as_array().unwrap();
    assert_eq!(c[0]["cohort"], "2020-06-10");
    assert_eq!(returned_observed(&c[0]), [1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0]);
    assert_eq!(returned_observed(&c[1]), [2, 2, 1, 0, 1, 2, 0, 0, 0, 0]);
    assert_eq!(returned_observed(&c[2]), [2, 1, 0, 1, 2, 0, 0, 0, 0]);
    assert_eq!(returned_observed(&c[3]), [1, 0, 0, 1, 0, 0, 0, 0]);
    // The cells past 2020-06-20 are censored, never a 0.
    let last = &c[0]["cells"][10];
    assert_eq!(last["censored"], false);
    assert_eq!(c[1]["cells"][10]["censored"], true);
    assert!(c[1]["cells"][10]["rate"].is_null());
}

// ClickHouse tests/queries/0_stateless/00688_aggregation_retention.sql:
// uids 0-79 on 2018-08-06, 0-49 on 08-07, 0-59 on 08-08.
#[test]
fn clickhouse_00688_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("user_id,event,timestamp\n");
    for u in 0..80 {
        csv.push_str(&format!("{u},a,2018-08-06T10:00:00Z\n"));
        if u < 50 {
            csv.push_str(&format!("{u},a,2018-08-07T10:00:00Z\n"));
        }
        if u < 60 {
            csv.push_str(&format!("{u},a,2018-08-08T10:00:00Z\n"));
        }
    }
    let p = dir.path().join("ch.csv");
    std::fs::write(&p, csv).unwrap();
    let v = json_of(&[
        "retention",
        p.to_str().unwrap(),
        "--interval",
        "day",
        "--intervals",
        "3",
        "--until",
        "2018-08-08",
    ]);
    let row = &v["cohorts"][0];
    assert_eq!(row["users"], 80);
    assert_eq!(returned_observed(row), [80, 50, 60]);
    assert_eq!(v["average"]["1"]["weighted"], 0.625);
}

#[test]
fn cells_are_consistent_and_checks_gate() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(&dir.path().join("s.csv"), "saas", 1500, 5);
    for args in [
        vec!["--interval", "week"],
        vec![
            "--interval",
            "day",
            "--clock",
            "rolling",
            "--intervals",
            "20",
            "--until",
            "2026-10-15T12:00:00Z",
        ],
        vec![
            "--interval",
            "day",
            "--return",
            "on-or-after",
            "--start",
            "recurring",
        ],
        vec![
            "--interval",
            "7d",
            "--return",
            "1,2-3,4-10",
            "--by",
            "channel",
        ],
        vec![
            "--interval",
            "month",
            "--start-event",
            "upgrade",
            "--start",
            "first-matching",
        ],
    ] {
        let mut a = vec!["retention", data.to_str().unwrap()];
        a.extend(&args);
        let v = json_of(&a);
        let text = v.to_string();
        assert!(!text.contains("NaN"), "{args:?}");
        let mut members = 0;
        for c in v["cohorts"].as_array().unwrap() {
            let users = c["users"].as_u64().unwrap();
            members += users;
            for cell in c["cells"].as_array().unwrap() {
                let (e, r) = (
                    cell["eligible"].as_u64().unwrap(),
                    cell["returned"].as_u64().unwrap(),
                );
                assert!(r <= e && e <= users, "{args:?}: {cell}");
                assert_eq!(cell["censored"], e == 0, "{args:?}: {cell}");
                assert_eq!(cell["rate"].is_null(), e == 0, "{args:?}: {cell}");
            }
        }
        // Rolling: each user's interval ends at its own time, so the cells
        // at the export's end are partly observed.
        if args.contains(&"rolling") {
            assert!(text.contains("\"partial\":true"), "{args:?}");
        } else if args.contains(&"week") {
            assert!(!text.contains("\"partial\":true"), "{args:?}");
        }
        if !args.contains(&"recurring") {
            assert_eq!(
                members + v["users_without_start"].as_u64().unwrap(),
                v["users"].as_u64().unwrap(),
                "{args:?}"
            );
        }
    }
    let base = ["retention", data.to_str().unwrap()];
    let pass = [&base[..], &["--check", "retention.average.1.weighted > 0"]].concat();
    jm().args(&pass).assert().success();
    let fail = [&base[..], &["--check", "retention.average.1.weighted > 1"]].concat();
    jm().args(&fail).assert().code(4);
    // Cells and brackets are addressed by their labels (dates, `2-7`).
    let v = json_of(&["retention", data.to_str().unwrap(), "--return", "1,2-7"]);
    let cohort = v["cohorts"][0]["cohort"].as_str().unwrap().to_string();
    let cell = format!("retention.rate.{cohort}.1 >= 0");
    jm().args(["retention", data.to_str().unwrap(), "--return", "1,2-7"])
        .args([
            "--check",
            &cell,
            "--check",
            "retention.average.2-7.weighted <= 1",
        ])
        .assert()
        .success();
}

#[test]
fn the_report_carries_retention_and_diff_compares_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(&dir.path().join("s.csv"), "saas", 800, 9);
    let cfg = dir.path().join("s.journey.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[retention]\ninterval = \"week\"\nreturn_event = \"login\"\n");
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out");
    jm().args(["report", data.to_str().unwrap(), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["retention"]["return_event"], "login");
    assert!(json["retention"]["cohorts"].as_array().unwrap().len() > 1);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Retention"), "{md}");
    let d = json_of(&[
        "diff",
        out.join("report.json").to_str().unwrap(),
        out.join("report.json").to_str().unwrap(),
    ]);
    let part = d["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["section"] == "retention")
        .expect("a retention part");
    let week1 = &part["figures"]["averages"][1];
    assert_eq!(week1["column"], "1");
    assert_eq!(week1["before"], week1["after"]);
    assert_eq!(week1["p"], 1.0);
}

#[test]
fn bad_input_gives_clear_output_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    // One user on a single day.
    let p = dir.path().join("one.csv");
    std::fs::write(
        &p,
        "user_id,event,timestamp,channel\nu1,signup,2026-11-01T10:00:00Z,<b>x</b>\n",
    )
    .unwrap();
    let v = json_of(&["retention", p.to_str().unwrap(), "--interval", "month"]);
    assert_eq!(v["cohorts"][0]["users"], 1);
    assert_eq!(v["cohorts"][0]["cells"][0]["censored"], true);
    assert!(!v.to_string().contains("NaN"));
    // A start event that never occurs: a warning, empty cohorts, exit 0.
    let out = jm()
        .args(["retention", p.to_str().unwrap(), "--start-event", "nope"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("does not occur"), "{err}");
    // Values from the data are names in report.md, never markup.
    let cfg = dir.path().join("r.toml");
    std::fs::write(&cfg, "[retention]\nbreakdown = \"channel\"\n").unwrap();
    let out_dir = dir.path().join("out");
    jm().args(["report", p.to_str().unwrap(), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .success();
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("## Retention") && !md.contains("<b>"), "{md}");
    // Bad values name the flag and the fix.
    for (flag, value, needle) in [
        (
            "--interval",
            "fortnight",
            "N months (\"2 months\") or a duration",
        ),
        ("--interval", "0 months", "N months"),
        ("--min-occurrences", "0", "1 or more"),
        ("--return", "0-3", "brackets start at 1"),
        ("--tz", "Europe/Pariss", "IANA time zone"),
        ("--until", "tomorrow", "ISO 8601"),
        ("--intervals", "0", "1 to 1000"),
        ("--by", "chanel", "did you mean \"channel\""),
    ] {
        let out = jm()
            .args(["retention", p.to_str().unwrap(), flag, value])
            .assert()
            .failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
    // An anchor that would be ignored is an error naming the flag, or
    // the config key and its line.
    for (interval, anchor) in [("day", "week"), ("week", "day"), ("2 months", "week")] {
        let out = jm()
            .args(["retention", p.to_str().unwrap(), "--interval", interval])
            .args(["--anchor", anchor])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains("--anchor: "), "{interval} {anchor}: {err}");
    }
    std::fs::write(
        &cfg,
        "[retention]\ninterval = \"day\"\nanchor = \"month\"\n",
    )
    .unwrap();
    let out = jm()
        .args(["retention", p.to_str().unwrap(), "--config"])
        .arg(&cfg)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("retention.anchor") && err.contains("r.toml:3:"),
        "{err}"
    );
}

fn dated(dir: &std::path::Path, rows: &[(&str, &str)]) -> std::path::PathBuf {
    let mut csv = String::from("user_id,event,timestamp\n");
    for (u, d) in rows {
        csv.push_str(&format!("{u},$pageview,{d}T00:00:00Z\n"));
    }
    let p = dir.join("events.csv");
    std::fs::write(&p, csv).unwrap();
    p
}

/// The observed cohorts' returned counts, keyed by cohort.
fn rows_of(v: &Value) -> Vec<(String, Vec<u64>)> {
    v["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cohort"].as_str().unwrap().to_string(),
                returned_observed(c),
            )
        })
        .collect()
}

// PostHog test_retention_query_runner.py::test_month_interval (recurring,
// month, 11 intervals; `_date(0, month=m)` is 2020-(6+m)-10). PostHog counts
// the whole interval holding date_to (2020-11-25), so observation runs to
// the end of November here. Its empty cohorts (April, August, October) have
// no row in ours.
#[test]
fn posthog_month_interval() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for m in ["01", "02", "03", "05", "06", "09"] {
        rows.push(("person1", format!("2020-{m}-10")));
    }
    for m in ["01", "02", "03", "06", "07", "11"] {
        rows.push(("person2", format!("2020-{m}-10")));
    }
    let refs: Vec<(&str, &str)> = rows.iter().map(|(u, d)| (*u, d.as_str())).collect();
    let p = dated(dir.path(), &refs);
    let v = json_of(&[
        "retention",
        p.to_str().unwrap(),
        "--start",
        "recurring",
        "--interval",
        "month",
        "--intervals",
        "11",
        "--until",
        "2020-11-30",
    ]);
    let want: Vec<(&str, Vec<u64>)> = vec![
        ("2020-01-01", vec![2, 2, 2, 0, 1, 2, 1, 0, 1, 0, 1]),
        ("2020-02-01", vec![2, 2, 0, 1, 2, 1, 0, 1, 0, 1]),
        ("2020-03-01", vec![2, 0, 1, 2, 1, 0, 1, 0, 1]),
        ("2020-05-01", vec![1, 1, 0, 0, 1, 0, 0]),
        ("2020-06-01", vec![2, 1, 0, 1, 0, 1]),
        ("2020-07-01", vec![1, 0, 0, 0, 1]),
        ("2020-09-01", vec![1, 0, 0]),
        ("2020-11-01", vec![1]),
    ];
    let got = rows_of(&v);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((gc, gr), (wc, wr)) in got.iter().zip(&want) {
        assert_eq!((gc.as_str(), gr), (*wc, wr));
    }
}

// Same file, test_week_interval with weeks from Monday (team.week_start_day
// = 1): cohorts from 2020-06-08; date_to 2020-07-20 (a Monday), whose week
// PostHog counts whole.
#[test]
fn posthog_week_interval_from_monday() {
    let dir = tempfile::tempdir().unwrap();
    let p = dated(
        dir.path(),
        &[
            ("person1", "2020-06-10"),
            ("person2", "2020-06-10"),
            ("person1", "2020-06-11"),
            ("person2", "2020-06-11"),
            ("person1", "2020-06-17"),
            ("person2", "2020-06-17"),
            ("person1", "2020-06-24"),
            ("person1", "2020-07-04"),
            ("person2", "2020-07-04"),
            ("person2", "2020-07-11"),
            ("person1", "2020-07-11"),
            ("person2", "2020-07-25"),
        ],
    );
    let v = json_of(&[
        "retention",
        p.to_str().unwrap(),
        "--start",
        "recurring",
        "--interval",
        "week",
        "--intervals",
        "7",
        "--until",
        "2020-07-26",
    ]);
    let want: Vec<(&str, Vec<u64>)> = vec![
        ("2020-06-08", vec![2, 2, 1, 2, 2, 0, 1]),
        ("2020-06-15", vec![2, 1, 2, 2, 0, 1]),
        ("2020-06-22", vec![1, 1, 1, 0, 0]),
        ("2020-06-29", vec![2, 2, 0, 1]),
        ("2020-07-06", vec![2, 0, 1]),
        ("2020-07-20", vec![1]),
    ];
    let got = rows_of(&v);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((gc, gr), (wc, wr)) in got.iter().zip(&want) {
        assert_eq!((gc.as_str(), gr), (*wc, wr));
    }
}

// Acceptance 3: a planted curve (`generate --retention`) is measured back:
// every column's weighted average within 4 standard errors of the planted
// rate, and the cells' Wilson intervals cover it at about their 95 %.
#[test]
fn planted_retention_curves_are_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ret.csv");
    jm().args([
        "generate",
        "--scenario",
        "saas",
        "--retention",
        "--users",
        "6000",
    ])
    .args(["--seed", "8", "--out"])
    .arg(&out)
    .assert()
    .success();
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ret.retention-truth.json")).unwrap(),
    )
    .unwrap();
    let rates: Vec<f64> = truth["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_f64().unwrap())
        .collect();
    let v = json_of(&[
        "retention",
        out.to_str().unwrap(),
        "--return-event",
        "return_visit",
        "--clock",
        "rolling",
        "--interval",
        "week",
        "--intervals",
        "9",
    ]);
    for (a, &r) in v["averages"].as_array().unwrap().iter().zip(&rates) {
        let (w, e) = (
            a["weighted"].as_f64().unwrap(),
            a["eligible"].as_f64().unwrap(),
        );
        let se = (r * (1.0 - r) / e).sqrt().max(1e-9);
        assert!((w - r).abs() <= 4.0 * se + 1e-9, "{a}: planted {r}");
    }
    let (mut cells, mut covered) = (0, 0);
    for c in v["cohorts"].as_array().unwrap() {
        for (n, cell) in c["cells"].as_array().unwrap().iter().enumerate().skip(1) {
            if cell["eligible"].as_u64().unwrap() >= 30 {
                cells += 1;
                let (lo, hi) = (
                    cell["ci_low"].as_f64().unwrap(),
                    cell["ci_high"].as_f64().unwrap(),
                );
                covered += usize::from(lo <= rates[n] && rates[n] <= hi);
            }
        }
    }
    assert!(cells >= 20, "{cells} cells");
    assert!(
        covered as f64 >= 0.85 * cells as f64,
        "{covered} of {cells} cells cover the planted rate"
    );
}

/// retentioneering 3.x `Cohorts.fit` on its own test input
/// (fixtures/retention/README.md): the published matrices of
/// tests/tooling/fixtures/cohorts_corr.py, rows × columns, −1 for its NaN.
/// retentioneering counts a period's returns whatever part of it the data
/// covers, so the runs observe until long after the last event; its NaN
/// stands both for "no data" and for an observed zero (the matrix is a
/// pivot of observed pairs), so a NaN is matched by a 0 or a censored cell
/// here, and any other value by the rate rounded to two places, as its
/// test rounds.
#[test]
fn retentioneering_cohort_matrices() {
    const N: f64 = -1.0;
    let input = "fixtures/retention/retentioneering_input_1.csv";
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static [f64]],
    );
    let cases: &[Case] = &[
        // matrix_MM_corr: cohort_start_unit M, cohort_period (1, M).
        (
            "MM",
            "month",
            "month",
            &["2021-12", "2022-01", "2022-02", "2022-03"],
            &[
                &[1.0, 1.0, 1.0, N, 0.5],
                &[1.0, 1.0, N, 0.25, N],
                &[1.0, 0.67, 0.33, N, N],
                &[1.0, 1.0, N, N, N],
            ],
        ),
        // matrix_M2M_corr: M, (2, M).
        (
            "M2M",
            "2 months",
            "month",
            &["2021-12", "2022-02"],
            &[&[1.0, 1.0, 0.33], &[1.0, 0.5, N]],
        ),
        // matrix_D30D_corr: D, (30, D).
        (
            "D30D",
            "30d",
            "day",
            &["2021-12-28", "2022-01-27", "2022-02-26"],
            &[
                &[1.0, 1.0, N, 0.33],
                &[1.0, 0.67, 0.33, N],
                &[1.0, 1.0, N, N],
            ],
        ),
        // matrix_W4W_corr: W, (4, W).
        (
            "W4W",
            "28d",
            "week",
            &["2021-12-27", "2022-01-24", "2022-02-21"],
            &[
                &[1.0, 1.0, N, 0.33],
                &[1.0, 0.6667, 0.33, N],
                &[1.0, 1.0, N, N],
            ],
        ),
        // matrix_D4W_corr: D, (4, W).
        (
            "D4W",
            "28d",
            "day",
            &["2021-12-28", "2022-01-25", "2022-02-22"],
            &[
                &[1.0, 1.0, N, 0.3333],
                &[1.0, 0.6667, 0.3333, N],
                &[1.0, 1.0, N, N],
            ],
        ),
        // matrix_W30D_corr: W, (30, D).
        (
            "W30D",
            "30d",
            "week",
            &["2021-12-27", "2022-01-26", "2022-02-25"],
            &[
                &[1.0, 1.0, N, 0.3333],
                &[1.0, 0.6667, 0.3333, N],
                &[1.0, 1.0, N, N],
            ],
        ),
        // matrix_avg_corr without its Average row (checked below): D, (21, D).
        (
            "D21D",
            "21d",
            "day",
            &["2021-12-28", "2022-01-18", "2022-02-08", "2022-03-01"],
            &[
                &[1.0, 0.83, 0.17, N, 0.33],
                &[1.0, N, 0.5, 0.5, N],
                &[1.0, 1.0, N, N, N],
                &[1.0, 1.0, N, N, N],
            ],
        ),
    ];
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    for &(name, interval, anchor, index, want) in cases {
        let k = want[0].len().to_string();
        let v = json_of(&[
            "retention",
            input,
            "--interval",
            interval,
            "--anchor",
            anchor,
            "--intervals",
            &k,
            "--until",
            "2023-01-01",
        ]);
        let rows = v["cohorts"].as_array().unwrap();
        let labels: Vec<&str> = rows.iter().map(|r| r["cohort"].as_str().unwrap()).collect();
        assert_eq!(labels.len(), index.len(), "{name}: {labels:?}");
        for ((row, label), want_row) in rows.iter().zip(index).zip(want) {
            assert!(
                row["cohort"].as_str().unwrap().starts_with(label),
                "{name}: {labels:?}"
            );
            let cells = row["cells"].as_array().unwrap();
            assert_eq!(cells.len(), want_row.len(), "{name} {label}");
            for (j, (c, &w)) in cells.iter().zip(*want_row).enumerate() {
                let got = c["rate"].as_f64();
                if w == N {
                    assert!(got.is_none_or(|g| g == 0.0), "{name} {label} [{j}]: {c}");
                } else {
                    assert_eq!(got.map(r2), Some(r2(w)), "{name} {label} [{j}]: {c}");
                }
            }
        }
        // matrix_avg_corr's Average row [1.0, 0.94, 0.33, 0.5, 0.33] is the
        // mean over its non-NaN cells, so it leaves the observed zeros out;
        // the unweighted average here counts them (0.71 for column 1).
        if name == "D21D" {
            let mean_without_zeros: Vec<f64> = (0..5)
                .map(|j| {
                    let rates: Vec<f64> = rows
                        .iter()
                        .filter_map(|r| r["cells"][j]["rate"].as_f64())
                        .filter(|&x| x > 0.0)
                        .collect();
                    r2(rates.iter().sum::<f64>() / rates.len() as f64)
                })
                .collect();
            assert_eq!(mean_without_zeros, [1.0, 0.94, 0.33, 0.5, 0.33]);
            assert_eq!(v["averages"][1]["unweighted"].as_f64().map(r2), Some(0.71));
            // matrix_cut_corr (cut_bottom 3, cut_right 3): the first row's
            // first two columns, [1.0, 0.83].
            let first: Vec<f64> = (0..2)
                .map(|j| r2(rows[0]["cells"][j]["rate"].as_f64().unwrap()))
                .collect();
            assert_eq!(first, [1.0, 0.83]);
        }
    }
    // test_cohorts__matrix_D1M: a month period from a day start raises
    // ValueError there; it is a usage error naming the anchor here.
    let out = jm()
        .args(["retention", input, "--interval", "month", "--anchor", "day"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--anchor"), "{err}");
}

/// An IANA zone follows daylight saving: in July Paris is at +02:00, so
/// the two events fall on one local day there, but on two days at the
/// winter offset +01:00.
#[test]
fn a_named_zone_follows_daylight_saving() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.csv");
    std::fs::write(
        &p,
        "user_id,event,timestamp\nu1,open,2026-07-01T22:30:00Z\nu1,open,2026-07-02T21:00:00Z\nu2,open,2026-07-04T12:00:00Z\n",
    )
    .unwrap();
    let run = |tz: &str| {
        json_of(&[
            "retention",
            p.to_str().unwrap(),
            "--interval",
            "day",
            "--intervals",
            "2",
            "--tz",
            tz,
        ])
    };
    let paris = run("Europe/Paris");
    assert_eq!(paris["tz"], "Europe/Paris");
    assert_eq!(paris["cohorts"][0]["cohort"], "2026-07-02");
    assert_eq!(paris["cohorts"][0]["cells"][1]["returned"], 0);
    let winter = run("+01:00");
    assert_eq!(winter["cohorts"][0]["cohort"], "2026-07-01");
    assert_eq!(winter["cohorts"][0]["cells"][1]["returned"], 1);
    // `until` as a date ends that day in the zone (22:00 UTC in Paris).
    let v = json_of(&[
        "retention",
        p.to_str().unwrap(),
        "--interval",
        "day",
        "--tz",
        "Europe/Paris",
        "--until",
        "2026-07-04",
    ]);
    assert_eq!(v["observed_until"], "2026-07-04T21:59:59.999Z");
    // The lifecycle takes the same zones.
    let v = json_of(&[
        "lifecycle",
        p.to_str().unwrap(),
        "--interval",
        "day",
        "--tz",
        "Europe/Paris",
    ]);
    assert_eq!(v["intervals"][0]["interval"], "2026-07-02");
}
