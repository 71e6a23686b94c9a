use std::path::Path;

use super::*;
use crate::config::parse;
use crate::ingest::{IngestOptions, ingest};
use crate::predicate::Predicate;
use crate::progress::Progress;

fn load(csv: &Path) -> EventTable {
    ingest(
        &[csv.to_path_buf()],
        &IngestOptions::default(),
        &Progress::silent(),
    )
    .unwrap()
    .table
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/stages")
        .join(name)
}

fn tiny() -> StagesReport {
    let table = load(&fixture("tiny.csv"));
    let text = std::fs::read_to_string(fixture("tiny.toml")).unwrap();
    let cfg = parse(&text).unwrap();
    analyze(&table, &cfg.stages).unwrap()
}

fn tp(name: &str, events: u64, users: u64) -> Touchpoint {
    Touchpoint {
        name: name.into(),
        events,
        users,
    }
}

fn exit(event: &str, users: u64) -> ExitPoint {
    ExitPoint {
        event: event.into(),
        users,
    }
}

/// The worked example of docs/stages.md, number by number.
#[test]
fn tiny_fixture_exact_numbers() {
    let r = tiny();
    assert_eq!((r.users, r.events), (5, 22));
    let names: Vec<&str> = r.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["Awareness", "Consideration", "Purchase", "Advocacy"]
    );
    let reached: Vec<u64> = r.stages.iter().map(|s| s.users_reached).collect();
    assert_eq!(reached, [5, 4, 3, 1]);
    let shares: Vec<f64> = r.stages.iter().map(|s| s.share_of_users).collect();
    assert_eq!(shares, [1.0, 0.8, 0.6, 0.2]);
    let events: Vec<u64> = r.stages.iter().map(|s| s.events).collect();
    assert_eq!(events, [10, 5, 5, 1]);

    // Time spent: Awareness 20,30,40,45,60 s; Consideration 30,60,60,80;
    // Purchase 0,60,300; Advocacy 0.
    let times: Vec<(f64, f64)> = r
        .stages
        .iter()
        .map(|s| {
            let t = s.time_spent.unwrap();
            (t.median_s, t.p90_s)
        })
        .collect();
    assert_eq!(
        times,
        [(40.0, 60.0), (60.0, 80.0), (60.0, 300.0), (0.0, 0.0)]
    );

    let a = r.stages[0].next.as_ref().unwrap();
    assert_eq!(a.stage, "Consideration");
    // u3 viewed a product before the home page: reached Consideration, but
    // not after entering Awareness.
    assert_eq!((a.users_next, a.left), (3, 2));
    assert_eq!((a.conversion, a.left_share), (0.6, 0.4));
    assert_eq!(a.exit_points, [exit("add_to_cart", 1), exit("search", 1)]);

    let c = r.stages[1].next.as_ref().unwrap();
    assert_eq!((c.users_next, c.left, c.conversion), (3, 1, 0.75));
    assert_eq!(c.exit_points, [exit("page_view", 1)]);

    let p = r.stages[2].next.as_ref().unwrap();
    assert_eq!((p.users_next, p.left, p.conversion), (1, 2, 0.333333));
    assert_eq!(p.left_share, 0.666667);
    assert_eq!(
        p.exit_points,
        [exit("add_to_cart", 1), exit("page_view", 1)]
    );
    assert!(r.stages[3].next.is_none());

    let aw = &r.stages[0].touchpoints;
    assert_eq!(aw.events, [tp("page_view", 6, 5), tp("search", 4, 3)]);
    assert_eq!(
        aw.pages.as_deref().unwrap(),
        [tp("/", 6, 5), tp("/search", 4, 3)]
    );
    assert_eq!(
        aw.channels.as_deref().unwrap(),
        [
            tp("social", 4, 2),
            tp("direct", 2, 1),
            tp("email", 2, 1),
            tp("organic", 2, 1)
        ]
    );
    assert_eq!(
        r.stages[1].touchpoints.pages.as_deref().unwrap(),
        [
            tp("/product/p1", 3, 3),
            tp("/product/p2", 1, 1),
            tp("/product/p3", 1, 1)
        ]
    );

    assert_eq!((r.unmapped_events, r.unmapped_share), (1, 0.045455));
    assert_eq!(r.top_unmapped, [tp("page_view", 1, 1)]);
    assert_eq!(r.mapping[0].predicates[0].predicate, "page_view[page=/]");
    let per_pred: Vec<u64> = r
        .mapping
        .iter()
        .flat_map(|m| m.predicates.iter().map(|p| p.events))
        .collect();
    assert_eq!(per_pred, [6, 4, 5, 3, 2, 1]);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
}

#[test]
fn analysis_is_deterministic_and_serializes() {
    let a = tiny();
    let b = tiny();
    assert_eq!(a, b);
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, serde_json::to_string(&b).unwrap());
    assert!(json.contains("\"unmapped_events\":1"), "{json}");
}

fn stage(name: &str, events: &[&str]) -> StageConfig {
    StageConfig {
        name: name.into(),
        events: events
            .iter()
            .map(|e| Predicate::parse_cli(e).unwrap())
            .collect(),
    }
}

#[test]
fn an_event_belongs_to_its_first_matching_stage() {
    let table = load(&fixture("tiny.csv"));
    // search is listed in both; Awareness comes first and takes it all.
    let r = analyze(
        &table,
        &[
            stage("Awareness", &["search"]),
            stage("Again", &["search", "page_view[page=/nowhere]"]),
        ],
    )
    .unwrap();
    assert_eq!(r.stages[0].events, 4);
    assert_eq!(r.stages[1].users_reached, 0);
    assert_eq!(r.stages[1].time_spent, None);
    let n = r.stages[0].next.as_ref().unwrap();
    assert_eq!((n.users_next, n.conversion, n.left), (0, 0.0, 3));
    assert_eq!(r.unmapped_events, 18);
    assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
    assert!(r.notes[0].contains("earlier stage"), "{}", r.notes[0]);
    assert!(r.notes[1].contains("matches no event"), "{}", r.notes[1]);
}

#[test]
fn config_mistakes_are_errors() {
    let table = load(&fixture("tiny.csv"));
    let err = |stages: &[StageConfig]| analyze(&table, stages).unwrap_err().to_string();
    let e = err(&[stage("Awareness", &["serch"])]);
    assert!(
        e.contains("stage \"Awareness\"") && e.contains("did you mean \"search\""),
        "{e}"
    );
    assert!(err(&[]).contains("no stages"));
    let e = err(&[stage("A", &["search"]), stage("A", &["review"])]);
    assert!(e.contains("twice"), "{e}");
    assert!(err(&[stage("A", &[])]).contains("maps no events"));
}

#[test]
fn tables_without_page_or_channel_have_no_such_touchpoints() {
    let mut table = load(&fixture("tiny.csv"));
    table.props.clear();
    let r = analyze(&table, &[stage("All", &["search", "page_view"])]).unwrap();
    assert_eq!(r.stages[0].touchpoints.pages, None);
    assert_eq!(r.stages[0].touchpoints.channels, None);
    assert_eq!(r.stages[0].users_reached, 5);
}
