//! Ingest throughput on a generated export (CSV and Parquet), and the
//! timestamp parser on its own. The 10M-event figures come from
//! scripts/bench.sh; this keeps a quick, repeatable view of the same paths.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use journeymap::generate::{self, GenerateOptions, Scenario};
use journeymap::ingest::{self, IngestOptions, timestamp::TimeParser};
use journeymap::progress::Progress;

fn ingest_files(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    for ext in ["csv", "parquet"] {
        let out = dir.path().join(format!("bench.{ext}"));
        let summary = generate::generate(&GenerateOptions {
            scenario: Scenario::Ecommerce,
            users: 5_000,
            seed: 1,
            out: out.clone(),
        })
        .expect("generate");
        group.throughput(Throughput::Elements(summary.events));
        group.bench_function(ext, |b| {
            b.iter(|| {
                ingest::ingest(
                    std::slice::from_ref(&out),
                    &IngestOptions::default(),
                    &Progress::silent(),
                )
                .expect("ingest")
            })
        });
    }
    group.finish();
}

fn parse_timestamps(c: &mut Criterion) {
    let parser = TimeParser::new(None);
    let values = [
        "2026-10-01T12:34:56.789Z",
        "2026-10-01T14:34:56+02:00",
        "2026-10-01 12:34:56",
        "1759312860",
    ];
    let mut group = c.benchmark_group("timestamp");
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("auto", |b| {
        b.iter(|| {
            values
                .iter()
                .map(|v| {
                    parser
                        .parse(std::hint::black_box(v))
                        .map(|p| p.ms)
                        .unwrap_or(0)
                })
                .sum::<i64>()
        })
    });
    group.finish();
}

criterion_group!(benches, ingest_files, parse_timestamps);
criterion_main!(benches);
