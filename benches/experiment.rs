//! The experiment analysis (assignments file, 3 metrics with CUPED, 3 arms,
//! 3 comparisons, Holm) on a generated 30,000-user export (~1.4M events).
//! The 10M-event figures come from scripts/bench_experiment.sh; this keeps
//! a quick, repeatable view of the analysis alone, without ingest.

use criterion::{Criterion, criterion_group, criterion_main};
use journeymap::experiment::analyze::{Inputs, analyze};
use journeymap::experiment::options::Options;
use journeymap::generate::{self, ExperimentPlan, GenerateOptions, Scenario};
use journeymap::ingest::{self, IngestOptions};
use journeymap::progress::Progress;

fn experiment(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bench.csv");
    generate::generate_with(
        &GenerateOptions {
            scenario: Scenario::Saas,
            users: 30_000,
            seed: 1,
            out: out.clone(),
        },
        Some(ExperimentPlan::Randomized { srm: false }),
    )
    .expect("generate");
    let ing = ingest::ingest(
        std::slice::from_ref(&out),
        &IngestOptions::default(),
        &Progress::silent(),
    )
    .expect("ingest");
    let cfg = journeymap::config::load(&dir.path().join("bench.journey.toml")).expect("config");
    let opts = Options::resolve(&cfg, cfg.experiment.as_ref().expect("section")).expect("options");
    let ranges = ing.table.user_ranges();
    let sessions = journeymap::sessions::build(
        &ing.table,
        &journeymap::sessions::SessionSource::Column {
            column: "session_id".into(),
        },
    );
    let inputs = Inputs {
        table: &ing.table,
        ranges: &ranges,
        sessions: &sessions,
        columns: &ing.property_names,
    };
    let mut group = c.benchmark_group("experiment");
    group.sample_size(10);
    group.bench_function("analyze_30k_users_3_metrics_cuped", |b| {
        b.iter(|| analyze(&inputs, &opts, &mut |_| {}).expect("analyze"))
    });
    group.finish();
}

criterion_group!(benches, experiment);
criterion_main!(benches);
