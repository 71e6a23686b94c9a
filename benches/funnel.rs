//! The funnel scan and the Markov map on a generated export, without the
//! read: the 10M-event figures come from scripts/bench.sh.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use journeymap::funnel::{self, FunnelOptions, Mode, Per};
use journeymap::generate::{self, GenerateOptions, Scenario};
use journeymap::ingest::{self, IngestOptions};
use journeymap::paths::{self, PathsOptions, StateKind};
use journeymap::predicate::Predicate;
use journeymap::progress::Progress;
use journeymap::sessions::{self, SessionSource};

fn funnel_and_paths(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bench.parquet");
    let summary = generate::generate(&GenerateOptions {
        scenario: Scenario::Ecommerce,
        users: 20_000,
        seed: 1,
        out: out.clone(),
    })
    .expect("generate");
    let ing =
        ingest::ingest(&[out], &IngestOptions::default(), &Progress::silent()).expect("ingest");
    let s = sessions::build(
        &ing.table,
        &SessionSource::Column {
            column: "session_id".into(),
        },
    );
    let steps = [
        "product_view",
        "add_to_cart",
        "begin_checkout",
        "add_payment_info",
        "purchase",
    ];
    let opts = FunnelOptions {
        steps: steps
            .iter()
            .map(|e| Predicate::Event(e.to_string()))
            .collect(),
        window_ms: None,
        mode: Mode::Ordered,
        per: Per::User,
        exclude: Vec::new(),
        by: None,
        trend: None,
    };
    let mut group = c.benchmark_group("journey");
    group.sample_size(20);
    group.throughput(Throughput::Elements(summary.events));
    group.bench_function("funnel_5_steps_ordered", |b| {
        b.iter(|| funnel::analyze(&ing.table, &s, &opts).expect("funnel"))
    });
    let popts = PathsOptions {
        states: StateKind::Event,
        conversion: Predicate::Event("purchase".into()),
        top: 10,
        stages: Vec::new(),
        order: 1,
    };
    group.bench_function("paths", |b| {
        b.iter(|| paths::analyze(&ing.table, &s, &popts).expect("paths"))
    });
    group.finish();
}

criterion_group!(benches, funnel_and_paths);
criterion_main!(benches);
