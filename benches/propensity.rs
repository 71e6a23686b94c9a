//! Propensity training and scoring on a small generated export (5,000 SaaS
//! users). The 280k-user / 10M-event figures come from
//! scripts/bench_propensity.sh; this keeps a quick, repeatable view.

use criterion::{Criterion, criterion_group, criterion_main};
use journeymap::generate::{self, GenerateOptions, Scenario};
use journeymap::ingest::{self, IngestOptions};
use journeymap::predicate::Predicate;
use journeymap::progress::Progress;
use journeymap::propensity::config::PropensitySection;
use journeymap::propensity::{self, TrainOptions};
use journeymap::sessions::{self, SessionSource};

fn propensity(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bench.csv");
    generate::generate(&GenerateOptions {
        scenario: Scenario::Saas,
        users: 5_000,
        seed: 1,
        out: out.clone(),
    })
    .expect("generate");
    let ing = ingest::ingest(
        std::slice::from_ref(&out),
        &IngestOptions::default(),
        &Progress::silent(),
    )
    .expect("ingest");
    let s = sessions::build(
        &ing.table,
        &SessionSource::Column {
            column: "session_id".into(),
        },
    );
    let cfg = journeymap::config::load(std::path::Path::new(
        "fixtures/propensity/saas.journey.toml",
    ))
    .expect("config");
    let overrides = PropensitySection {
        target: Some(Predicate::Event("upgrade".into())),
        ..PropensitySection::default()
    };
    let opts = TrainOptions::new(&cfg, &overrides).expect("options");
    let mut group = c.benchmark_group("propensity");
    group.sample_size(10);
    group.bench_function("train_5k_users", |b| {
        b.iter(|| {
            propensity::train(&ing.table, &s, &ing.files, &opts, &Progress::silent())
                .expect("train")
        })
    });
    let trained =
        propensity::train(&ing.table, &s, &ing.files, &opts, &Progress::silent()).expect("train");
    let m = &trained.model;
    group.bench_function("score_5k_users", |b| {
        b.iter(|| propensity::score(&ing.table, &s, m, &m.stages, &m.interventions).expect("score"))
    });
    group.finish();
}

criterion_group!(benches, propensity);
criterion_main!(benches);
