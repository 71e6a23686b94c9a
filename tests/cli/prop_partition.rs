//! Property: for any export (users in any order, ties in time, sessions
//! from a column that interleaves or from gaps, exact duplicates) and any
//! number of partitions, the partitioned report equals the in-memory one
//! byte for byte.

use std::path::PathBuf;

use journeymap::config::{self, JourneyConfig};
use journeymap::ingest::spill::SpillOptions;
use journeymap::ingest::{ColumnMapping, IngestOptions};
use journeymap::partitioned;
use journeymap::pipeline::{self, Context, LoadOptions};
use journeymap::progress::Progress;
use proptest::prelude::*;

const CONFIG: &str = r#"
[funnel]
steps = ["a", "b", "c"]
window = "20m"
trend = "day"
by = "page"
[conversion]
event = "c"
[[stages]]
name = "Look"
events = ["a", "d"]
[[stages]]
name = "Buy"
events = ["b", "c"]
"#;

/// (user, session, event, minute, page) per row.
fn rows() -> impl Strategy<Value = Vec<(u8, u8, u8, u16, u8)>> {
    prop::collection::vec((0u8..12, 0u8..4, 0u8..5, 0u16..3000, 0u8..3), 0..160)
}

/// The report.json text, or the error that stopped the run (a config
/// event the data lacks is one; both modes must stop alike).
fn report(
    paths: &[PathBuf],
    opts: &LoadOptions,
    cfg: &JourneyConfig,
    parts: usize,
) -> Result<String, String> {
    let progress = Progress::silent();
    let built = if parts == 1 {
        let data = pipeline::load(paths, opts, &progress).unwrap();
        let ctx = Context::new(&data, cfg, &progress);
        pipeline::build(&ctx)
    } else {
        let spill = SpillOptions {
            partitions: parts,
            dir: None,
        };
        let l = partitioned::load(paths, opts, cfg, &spill, &progress).unwrap();
        let ctx = Context::new(&l.data, cfg, &progress).spanning(l.span);
        partitioned::merge(&ctx, l.partials, l.warnings);
        pipeline::build(&ctx)
    };
    built
        .map(|r| journeymap::report::json::render(&r))
        .map_err(|e| format!("{e:#}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn partitioning_changes_no_byte(rows in rows(), parts in 2usize..9, gaps in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("user_id,session_id,event,timestamp,page\n");
        for (u, s, e, m, p) in &rows {
            csv.push_str(&format!(
                "u{u},s{s},{},2026-10-{:02}T{:02}:{:02}:00Z,/p{p}\n",
                ["a", "b", "c", "d", "e"][*e as usize],
                1 + m / 1440,
                (m / 60) % 24,
                m % 60
            ));
        }
        // Every step's event occurs, so the run has something to compute.
        for e in ["a", "b", "c", "d"] {
            csv.push_str(&format!("u5,s9,{e},2026-10-01T00:00:00Z,/p0\n"));
        }
        let path = dir.path().join("e.csv");
        std::fs::write(&path, csv).unwrap();
        let cfg = config::parse(CONFIG).unwrap();
        let opts = LoadOptions {
            ingest: IngestOptions {
                mapping: ColumnMapping::default(),
                ignore_session_col: gaps,
                ..IngestOptions::default()
            },
            session_gap_ms: 10 * 60_000,
            rejects: None,
        };
        let paths = [path];
        let whole = report(&paths, &opts, &cfg, 1);
        prop_assert_eq!(&whole, &report(&paths, &opts, &cfg, parts));
        prop_assert!(whole.is_ok(), "{:?}", whole);
    }
}
