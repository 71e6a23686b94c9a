//! Retention (weekly, start first, 12 intervals; and daily rolling with
//! brackets) on a generated 30,000-user export (~1.4M events), without
//! ingest. The 10M-event figures come from scripts/bench_retention.sh.

use criterion::{Criterion, criterion_group, criterion_main};
use journeymap::config::JourneyConfig;
use journeymap::generate::{self, GenerateOptions, Scenario};
use journeymap::ingest::{self, IngestOptions};
use journeymap::progress::Progress;
use journeymap::retention::clock::ClockKind;
use journeymap::retention::config::RetentionSection;
use journeymap::retention::run::{Options, retention};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bench.csv");
    generate::generate_with(
        &GenerateOptions {
            scenario: Scenario::Saas,
            users: 30_000,
            seed: 1,
            out: out.clone(),
        },
        None,
    )
    .expect("generate");
    let ing = ingest::ingest(
        std::slice::from_ref(&out),
        &IngestOptions::default(),
        &Progress::silent(),
    )
    .expect("ingest");
    let ranges = ing.table.user_ranges();
    let cfg = JourneyConfig::default();
    let weekly = RetentionSection {
        interval: Some("week".into()),
        intervals: Some(12),
        ..Default::default()
    };
    let rolling = RetentionSection {
        interval: Some("day".into()),
        clock: Some(ClockKind::Rolling),
        returns: Some("1,2-7,8-30".into()),
        ..Default::default()
    };
    let mut group = c.benchmark_group("retention");
    group.sample_size(10);
    for (name, s) in [
        ("weekly_first_12", &weekly),
        ("daily_rolling_brackets", &rolling),
    ] {
        let o = Options::resolve(&cfg, s).expect("options");
        group.bench_function(name, |b| {
            b.iter(|| {
                retention(&ing.table, &ranges, &ing.property_names, s, &o, &mut |_| {})
                    .expect("retention")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
