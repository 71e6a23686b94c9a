//! Segments stages on a generated shop (10,000 users, all of them): the
//! features, one k-means fit (k = 4, 10 restarts) and the silhouette of the
//! seven labellings `--k auto` scores. The 280k-user figures come from
//! scripts/bench_segments.sh; this keeps a quick, repeatable view of the same code.

use criterion::{Criterion, criterion_group, criterion_main};
use journeymap::features::{UnitKind, Units};
use journeymap::generate::{self, GenerateOptions, Scenario};
use journeymap::ingest::{self, IngestOptions};
use journeymap::progress::Progress;
use journeymap::segments::features::{self, RoleNames};
use journeymap::segments::kmeans::{self, KMeansParams};
use journeymap::segments::scale::Scaler;
use journeymap::segments::silhouette;
use journeymap::sessions::{self, SessionSource};

fn stages(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("shop.parquet");
    generate::generate(&GenerateOptions {
        scenario: Scenario::Ecommerce,
        users: 10_000,
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
    let t = &ing.table;
    let s = sessions::build(t, &SessionSource::Inactivity { gap_ms: 1_800_000 });
    let units = Units::all(t, &s, UnitKind::User);
    let all: Vec<usize> = (0..units.len()).collect();
    let roles = features::resolve_roles(t, &RoleNames::default()).expect("roles");

    let mut group = c.benchmark_group("segments");
    group.sample_size(10);
    group.bench_function("features", |b| {
        b.iter(|| {
            let defs = features::definitions(&units, &all, false, &roles, None);
            features::extract(&units, &s, &all, None, defs)
        })
    });
    let defs = features::definitions(&units, &all, false, &roles, None);
    let feats = features::extract(&units, &s, &all, None, defs);
    let (scaler, _) = Scaler::fit(&feats);
    let x = scaler.transform(&feats);
    group.bench_function("fit_k4_n_init10", |b| {
        b.iter(|| {
            kmeans::fit(
                x.view(),
                KMeansParams {
                    k: 4,
                    n_init: 10,
                    seed: 0,
                },
            )
            .expect("fit")
        })
    });
    let fits: Vec<_> = (2..=8)
        .map(|k| {
            kmeans::fit(
                x.view(),
                KMeansParams {
                    k,
                    n_init: 1,
                    seed: 0,
                },
            )
            .expect("fit")
        })
        .collect();
    let labels: Vec<&[u32]> = fits.iter().map(|f| f.labels.as_slice()).collect();
    let keys: Vec<u64> = (0..x.nrows())
        .map(|i| journeymap::rng::user_key(&i.to_string(), 0))
        .collect();
    let sample = silhouette::sample(&keys, silhouette::MAX_SAMPLE);
    group.bench_function("silhouette_7_labellings", |b| {
        b.iter(|| silhouette::scores(x.view(), &sample, &labels))
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
