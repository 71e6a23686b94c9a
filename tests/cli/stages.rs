//! Journey stages end to end: data and journey.toml from the `generate`
//! binary, analysed through the library, checked against the planted truth.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use journeymap::config;
use journeymap::ingest::{self, EventTable, IngestOptions};
use journeymap::progress::Progress;
use journeymap::sessions::{self, SessionSource};
use journeymap::stages::{self, StagesReport};

struct Generated {
    events: PathBuf,
    truth: PathBuf,
    journey: PathBuf,
}

fn generate(dir: &Path, scenario: &str) -> Generated {
    let events = crate::common::generate(&dir.join(format!("{scenario}.csv")), scenario, 500, 3);
    let g = Generated {
        truth: dir.join(format!("{scenario}.truth.csv")),
        journey: dir.join(format!("{scenario}.journey.toml")),
        events,
    };
    assert!(g.truth.is_file() && g.journey.is_file());
    g
}

fn load(path: &Path) -> EventTable {
    let ingested = ingest::ingest(
        &[path.to_path_buf()],
        &IngestOptions::default(),
        &Progress::silent(),
    )
    .unwrap();
    let source = SessionSource::Column {
        column: ingested.session_column.clone().expect("session_id column"),
    };
    let s = sessions::build(&ingested.table, &source);
    assert!(!s.is_empty());
    ingested.table
}

/// Users marked converted in the truth file.
fn converted(truth: &Path) -> u64 {
    let text = std::fs::read_to_string(truth).unwrap();
    text.lines().skip(1).filter(|l| l.ends_with(",1")).count() as u64
}

fn analyze(g: &Generated) -> (StagesReport, EventTable) {
    let table = load(&g.events);
    let cfg = config::load(&g.journey).unwrap();
    (stages::analyze(&table, &cfg.stages).unwrap(), table)
}

/// What holds for any stages report.
fn check_invariants(r: &StagesReport) {
    let stage_events: u64 = r.stages.iter().map(|s| s.events).sum();
    assert_eq!(stage_events + r.unmapped_events, r.events);
    for (k, st) in r.stages.iter().enumerate() {
        assert!(st.users_reached <= r.users, "{}", st.name);
        assert!((0.0..=1.0).contains(&st.share_of_users));
        let tp_events: u64 = st.touchpoints.events.iter().map(|t| t.events).sum();
        assert!(tp_events <= st.events);
        for w in st.touchpoints.events.windows(2) {
            assert!(
                w[0].events >= w[1].events,
                "{}: touchpoints not sorted",
                st.name
            );
        }
        if let Some(t) = st.time_spent {
            assert!(
                0.0 <= t.median_s && t.median_s <= t.p90_s,
                "{}: {t:?}",
                st.name
            );
        } else {
            assert_eq!(st.users_reached, 0);
        }
        match &st.next {
            None => assert_eq!(k, r.stages.len() - 1),
            Some(n) => {
                assert_eq!(n.stage, r.stages[k + 1].name);
                assert!(
                    (0.0..=1.0).contains(&n.conversion),
                    "{}: {}",
                    st.name,
                    n.conversion
                );
                assert!(n.users_next <= r.stages[k + 1].users_reached);
                assert_eq!(n.users_next + n.left, st.users_reached);
                let exits: u64 = n.exit_points.iter().map(|e| e.users).sum();
                assert!(exits <= st.users_reached - n.users_next, "{}", st.name);
                assert!(n.exit_points.len() <= stages::TOP_EXITS);
            }
        }
    }
}

#[test]
fn ecommerce_stages_match_the_planted_journeys() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(dir.path(), "ecommerce");
    let (r, _) = analyze(&g);
    check_invariants(&r);
    assert_eq!(r.users, 500);
    let names: Vec<&str> = r.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Awareness", "Consideration", "Purchase"]);
    // Every session starts with page_view of "/": everybody is aware, first.
    let aware = &r.stages[0];
    assert_eq!(aware.users_reached, r.users);
    assert_eq!(aware.share_of_users, 1.0);
    assert_eq!(aware.touchpoints.events[0].name, "page_view");
    assert_eq!(aware.touchpoints.pages.as_ref().unwrap()[0].name, "/");
    assert_eq!(aware.touchpoints.channels.as_ref().unwrap().len(), 5);
    // Every user views products after the home page.
    let to_consideration = aware.next.as_ref().unwrap();
    assert!(to_consideration.conversion > 0.9, "{to_consideration:?}");
    let purchase = &r.stages[2];
    let buyers = converted(&g.truth);
    assert!(buyers > 0);
    assert!(
        purchase.users_reached >= buyers,
        "{} < {buyers}",
        purchase.users_reached
    );
    assert!(
        purchase
            .touchpoints
            .events
            .iter()
            .any(|t| t.name == "purchase" && t.users == buyers)
    );
    assert_eq!(r.unmapped_events, 0);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
}

#[test]
fn saas_stages_cover_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(dir.path(), "saas");
    let (r, _) = analyze(&g);
    check_invariants(&r);
    assert_eq!(r.stages.len(), 5);
    // Everybody signs up, then uses the product.
    assert_eq!(r.stages[0].users_reached, 500);
    assert_eq!(r.stages[0].next.as_ref().unwrap().conversion, 1.0);
    assert!(r.stages[2].users_reached >= converted(&g.truth));
    assert_eq!(r.unmapped_events, 0);
}

#[test]
fn same_data_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(dir.path(), "ecommerce");
    let a = serde_json::to_string(&analyze(&g).0).unwrap();
    let b = serde_json::to_string(&analyze(&g).0).unwrap();
    assert_eq!(a, b);
}

#[test]
fn unknown_stage_event_is_a_data_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(dir.path(), "ecommerce");
    let table = load(&g.events);
    let text = std::fs::read_to_string(&g.journey)
        .unwrap()
        .replace("\"compare\"", "\"comapre\"");
    let cfg = config::parse(&text).unwrap();
    let e = stages::analyze(&table, &cfg.stages)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Consideration") && e.contains("did you mean \"compare\""),
        "{e}"
    );
}

/// `report --config` puts the stages into report.json and report.md, with a
/// Mermaid flowchart of the journey.
#[test]
fn report_with_config_has_the_stage_flowchart() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(dir.path(), "ecommerce");
    let out = dir.path().join("report");
    Command::cargo_bin("journeymap")
        .expect("binary built")
        .arg("report")
        .arg(&g.events)
        .arg("--config")
        .arg(&g.journey)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(
        json["stages"].is_object(),
        "report.json has no stages section: `report --config` does not run stages::analyze"
    );
    let (direct, _) = analyze(&g);
    assert_eq!(json["stages"], serde_json::to_value(&direct).unwrap());

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let start = md
        .find("```mermaid\nflowchart LR\n")
        .unwrap_or_else(|| panic!("no mermaid block in report.md:\n{md}"));
    let block = &md[start..];
    let block = &block[..block[3..].find("```").expect("closed block") + 6];
    for id in [
        "S0[\"Awareness<br/>500 users (100.0%)\"]",
        "S0 -->|",
        "S1 -->|",
        "-.-> X",
    ] {
        assert!(block.contains(id), "{id} missing from\n{block}");
    }
    assert!(
        !block.contains("S2 -->"),
        "the last stage has no next: {block}"
    );
    for line in block.lines().skip(2).filter(|l| !l.starts_with("```")) {
        assert!(line.starts_with("    "), "{line:?}");
        assert_eq!(line.matches('"').count() % 2, 0, "{line:?}");
    }
}
