//! `journeymap lifecycle` and `[lifecycle]` in a report.

use serde_json::Value;

use crate::common::{generate, jm, json_of};

// PostHog posthog/hogql_queries/insights/trends/test/
// test_lifecycle_query_runner.py::test_lifecycle_query_group_0: one actor
// active on Jan 9, 11, 12, 13, 15, 17, 18, 19 (created Jan 9), by day.
#[test]
fn posthog_lifecycle_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("user_id,event,timestamp\n");
    for d in [9, 11, 12, 13, 15, 17, 18, 19] {
        csv.push_str(&format!("org5,$pageview,2020-01-{d:02}T12:00:00Z\n"));
    }
    let p = dir.path().join("l.csv");
    std::fs::write(&p, csv).unwrap();
    let v = json_of(&["lifecycle", p.to_str().unwrap(), "--interval", "day"]);
    let rows = v["intervals"].as_array().unwrap();
    assert_eq!(rows.len(), 11);
    let days = |key: &str| -> Vec<u32> {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| r[key].as_i64().unwrap() != 0)
            .map(|(i, _)| 9 + i as u32)
            .collect()
    };
    assert_eq!(days("new"), [9]);
    assert_eq!(days("returning"), [12, 13, 18, 19]);
    assert_eq!(days("resurrecting"), [11, 15, 17]);
    assert_eq!(days("dormant"), [10, 14, 16]);
    assert_eq!(rows[1]["dormant"], -1);
    // With a creation date before the export, the first active day is
    // resurrecting, not new (PostHog's person.created_at rule).
    let mut csv = String::from("user_id,event,timestamp,created_at\n");
    csv.push_str("u1,a,2020-01-09T12:00:00Z,2019-12-01\nu1,a,2020-01-10T12:00:00Z,2019-12-01\n");
    std::fs::write(&p, csv).unwrap();
    let v = json_of(&[
        "lifecycle",
        p.to_str().unwrap(),
        "--interval",
        "day",
        "--created-column",
        "created_at",
    ]);
    assert_eq!(v["intervals"][0]["resurrecting"], 1);
    assert_eq!(v["intervals"][1]["returning"], 1);
}

#[test]
fn counts_add_up_and_the_report_carries_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(&dir.path().join("s.csv"), "saas", 1200, 4);
    let v = json_of(&["lifecycle", data.to_str().unwrap(), "--interval", "week"]);
    let mut prev_active = None;
    for r in v["intervals"].as_array().unwrap() {
        let n = |k: &str| r[k].as_i64().unwrap();
        assert_eq!(
            n("new") + n("returning") + n("resurrecting"),
            n("active"),
            "{r}"
        );
        // Dormant users were active the interval before.
        if let Some(p) = prev_active {
            assert!(-n("dormant") <= p, "{r}");
        }
        prev_active = Some(n("active"));
    }
    let new_total: i64 = v["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["new"].as_i64().unwrap())
        .sum();
    assert_eq!(
        new_total, 1200,
        "every user is new once (creation = first event)"
    );
    let mix = v["stationary"].as_object().unwrap();
    let total: f64 = mix.values().map(|x| x.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-5, "{mix:?}");
    jm().args(["lifecycle", data.to_str().unwrap()])
        .args(["--check", "lifecycle.latest.active >= 0"])
        .assert()
        .success();
    jm().args(["lifecycle", data.to_str().unwrap()])
        .args(["--check", "lifecycle.latest.active > 1000000"])
        .assert()
        .code(4);
    // In a report.
    let cfg = dir.path().join("s.journey.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[lifecycle]\ninterval = \"week\"\nactive_event = \"login\"\n");
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
    assert_eq!(json["lifecycle"]["active_event"], "login");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Lifecycle"), "{md}");
}

#[test]
fn bad_input_is_clear() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("one.csv");
    std::fs::write(&p, "user_id,event,timestamp\nu1,a,2026-11-01T10:00:00Z\n").unwrap();
    let v = json_of(&["lifecycle", p.to_str().unwrap(), "--interval", "month"]);
    assert_eq!(v["intervals"][0]["new"], 1);
    assert!(!v.to_string().contains("NaN"));
    for (flag, value, needle) in [
        ("--interval", "fortnight", "or a duration such as 7d"),
        ("--tz", "Europe/Pariss", "IANA time zone"),
        ("--created-column", "created", "no column"),
    ] {
        let out = jm()
            .args(["lifecycle", p.to_str().unwrap(), flag, value])
            .assert()
            .failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
}

#[test]
fn daily_states_follow_retentioneering() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.csv");
    // u1: login Jan 1, purchase Jan 2 (only purchases count: Jan 1 is a
    // prospect day); u2: active Jan 1 and Jan 3.
    std::fs::write(
        &p,
        "user_id,event,timestamp\n\
         u1,login,2024-01-01T10:00:00Z\nu1,purchase,2024-01-02T10:00:00Z\n\
         u2,purchase,2024-01-01T10:00:00Z\nu2,purchase,2024-01-03T10:00:00Z\n",
    )
    .unwrap();
    let v = json_of(&[
        "lifecycle",
        p.to_str().unwrap(),
        "--interval",
        "day",
        "--daily-states",
        "--active-event",
        "purchase",
    ]);
    let d = &v["daily"];
    let states: Vec<&str> = d["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let at = |day: usize, state: &str| {
        let k = states.iter().position(|s| *s == state).unwrap();
        d["days"][day]["counts"][k].as_u64().unwrap()
    };
    assert_eq!(d["days"][0]["day"], "2024-01-01");
    assert_eq!((at(0, "prospect"), at(0, "new")), (1, 1));
    assert_eq!((at(1, "new"), at(1, "at_risk_wau")), (1, 1));
    assert_eq!((at(2, "current"), at(2, "at_risk_wau")), (1, 1));
    // Every user is in exactly one state per day of its rows.
    for day in d["days"].as_array().unwrap() {
        let n: u64 = day["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(n, 2, "{day}");
    }
}

#[test]
fn an_export_without_events_gives_empty_sections() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.csv");
    std::fs::write(&p, "user_id,event,timestamp\n").unwrap();
    let v = json_of(&["lifecycle", p.to_str().unwrap(), "--daily-states"]);
    assert_eq!(v["intervals"], serde_json::json!([]));
    assert!(v["latest"].is_null());
    assert_eq!(v["daily"]["days"], serde_json::json!([]));
    let r = json_of(&["retention", p.to_str().unwrap()]);
    assert_eq!(r["cohorts"], serde_json::json!([]));
    assert!(
        r["observed_until"].as_str().unwrap().contains("no events"),
        "{r}"
    );
}
