//! Fuzz targets for every parser of outside bytes: CSV, Parquet,
//! journey.toml, assignment files, the server's request targets,
//! override file and model file, and a Spark job's aggregates. Each starts from a seed corpus (files under fixtures/ that
//! real writers made) and mutates it; the property is only that nothing
//! panics: every input is read, or refused with an error.
//!
//! CI runs a few dozen cases per target. To run longer:
//!   JOURNEYMAP_FUZZ_CASES=20000 cargo test --release --test cli fuzz::
//! A failure is saved under proptest-regressions/ and replayed first on the
//! next run; commit that file with the fix.

use std::path::{Path, PathBuf};

use journeymap::config;
use journeymap::ingest::{self, IngestOptions};
use journeymap::pipeline::{self, Context, LoadOptions};
use journeymap::progress::Progress;
use proptest::prelude::*;

pub(crate) fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("JOURNEYMAP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        // Shrinking replays a panic many times; the first case is enough.
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    }
}

/// One byte-level mutation: AFL's usual moves.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Cut { at: usize },
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Copy { from: usize, to: usize, len: usize },
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        3 => (at, 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        2 => (at, prop_oneof![Just(0u8), Just(0xff), Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), any::<u8>()])
            .prop_map(|(at, byte)| Mutation::Set { at, byte }),
        1 => at.prop_map(|at| Mutation::Cut { at }),
        1 => (at, 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (at, proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (at, at, 1usize..256).prop_map(|(from, to, len)| Mutation::Copy { from, to, len }),
    ]
}

pub(crate) fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if b.is_empty() {
            break;
        }
        let n = b.len();
        match m {
            Mutation::Flip { at, bit } => b[at % n] ^= 1 << bit,
            Mutation::Set { at, byte } => b[at % n] = *byte,
            Mutation::Cut { at } => b.truncate(at % n),
            Mutation::Delete { at, len } => {
                let s = at % n;
                b.drain(s..(s + len).min(n));
            }
            Mutation::Insert { at, bytes } => {
                let s = at % (n + 1);
                b.splice(s..s, bytes.iter().copied());
            }
            Mutation::Copy { from, to, len } => {
                let s = from % n;
                let chunk: Vec<u8> = b[s..(s + len).min(n)].to_vec();
                let t = to % n;
                b.splice(t..t, chunk);
            }
        }
    }
    b
}

fn corpus(ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from("fixtures")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no *{ext} seeds under fixtures/");
    out
}

/// Reads `bytes` as a file named `name`; Ok or Err, never a panic (a panic
/// fails the property).
fn ingest_bytes(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let opts = IngestOptions {
        threads: 2,
        keep_rejects: true,
        ..IngestOptions::default()
    };
    let _ = ingest::ingest(&[path], &opts, &Progress::silent());
}

/// The seeds' bytes, small ones only (a fuzz case should take milliseconds).
fn seeds(ext: &str, max: usize) -> Vec<Vec<u8>> {
    corpus(ext)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .map(|mut b| {
            b.truncate(max);
            b
        })
        .collect()
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn csv_bytes_never_panic(
        seed in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 1..12),
        gzip in any::<bool>(),
    ) {
        let seeds = seeds(".csv", 20_000);
        let bytes = apply(seeds[seed.index(seeds.len())].clone(), &muts);
        let dir = tempfile::tempdir().unwrap();
        if gzip {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            // Damage the compressed stream too.
            let packed = apply(e.finish().unwrap(), &muts[..1]);
            ingest_bytes(dir.path(), "fuzz.csv.gz", &packed);
        } else {
            ingest_bytes(dir.path(), "fuzz.csv", &bytes);
        }
    }

    /// In a process of its own: a page that claims billions of values
    /// makes the decoder's allocation fail, which aborts rather than
    /// panics; the binary turns that into exit 3 (src/guard.rs).
    #[test]
    fn parquet_bytes_end_in_exit_0_or_3(
        seed in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds(".parquet", usize::MAX);
        let bytes = apply(seeds[seed.index(seeds.len())].clone(), &muts);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.parquet");
        std::fs::write(&path, &bytes).unwrap();
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("journeymap"))
            .arg("inspect")
            .arg(&path)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        prop_assert!(matches!(out.status.code(), Some(0 | 3)), "{:?}: {err}", out.status);
        prop_assert!(!err.contains("panicked"), "{err}");
    }
}

/// Values a config key may meet: valid, odd, and wrong.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"purchase\"".to_string()),
        Just("\"page_view[page=/]\"".to_string()),
        Just("\"a[\"".to_string()),
        Just("\"[x=]\"".to_string()),
        Just("\"\"".to_string()),
        Just("\"14d\"".to_string()),
        Just("\"-1d\"".to_string()),
        Just("\"999999999999d\"".to_string()),
        Just("\"auto\"".to_string()),
        Just("0".to_string()),
        Just("-5".to_string()),
        Just("1e308".to_string()),
        Just("nan".to_string()),
        Just("9223372036854775807".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("[\"product_view\", \"add_to_cart\", \"purchase\"]".to_string()),
        Just("[\"purchase\"]".to_string()),
        Just("[{ event = \"page_view\", page = \"/\" }, \"search\"]".to_string()),
        Just("{ event = \"x\" }".to_string()),
        Just("\"device\"".to_string()),
        Just("[{ name = \"control\" }, { name = \"desktop\" }, { name = \"mobile\", weight = 0 }]".to_string()),
        Just("[{ name = \"m\", kind = \"conversion\", event = \"purchase\" }, { name = \"r\", kind = \"sum\", event = \"purchase\", property = \"product_id\" }]".to_string()),
        Just("[[\"mobile\", \"desktop\"]]".to_string()),
        Just("\"sequential\"".to_string()),
        Just("\"bayesian\"".to_string()),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
    ]
}

const SECTIONS: [(&str, &[&str]); 9] = [
    (
        "[input]",
        &[
            "user_col",
            "event_col",
            "time_col",
            "session_col",
            "delimiter",
            "time_format",
            "session_gap",
            "drop_duplicates",
        ],
    ),
    ("[conversion]", &["event"]),
    (
        "[funnel]",
        &["steps", "window", "mode", "per", "exclude", "by"],
    ),
    ("[markov]", &["states", "top", "order"]),
    (
        "[segments]",
        &["k", "on", "unit", "from_step", "seed", "n_init"],
    ),
    (
        "[propensity]",
        &[
            "target",
            "observe",
            "horizon",
            "properties",
            "milestones",
            "l2",
            "churn",
            "inactive",
        ],
    ),
    ("[[stages]]", &["name", "events"]),
    (
        "[[interventions]]",
        &["stage", "min_risk", "missing", "action"],
    ),
    (
        "[experiment]",
        &[
            "exposure",
            "arm_property",
            "control",
            "arms",
            "compare",
            "metrics",
            "window",
            "lookback",
            "engine",
            "alpha",
            "sequential_tuning",
            "prior_sd",
            "uplift",
            "breakdown",
            "seed",
        ],
    ),
];

fn section() -> impl Strategy<Value = String> {
    (
        0..SECTIONS.len(),
        proptest::collection::vec((any::<prop::sample::Index>(), value()), 0..5),
    )
        .prop_map(|(i, kvs)| {
            let (head, keys) = SECTIONS[i];
            let mut s = format!("{head}\n");
            for (k, v) in kvs {
                s.push_str(&format!("{} = {v}\n", keys[k.index(keys.len())]));
            }
            s
        })
}

fn shop() -> &'static pipeline::Data {
    static DATA: std::sync::OnceLock<pipeline::Data> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let opts = LoadOptions {
            ingest: IngestOptions::default(),
            session_gap_ms: 30 * 60 * 1000,
            rejects: None,
        };
        pipeline::load(
            &[PathBuf::from("fixtures/shop_small.csv")],
            &opts,
            &Progress::silent(),
        )
        .expect("fixture loads")
    })
}

/// Parses the text and, when it is a config, builds the whole report from
/// it on the small shop: validation and every analysis meet the values.
fn config_text(text: &str) {
    if let Ok(cfg) = config::parse(text) {
        let progress = Progress::silent();
        let ctx = Context::new(shop(), &cfg, &progress);
        let _ = pipeline::build(&ctx);
    }
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn journey_toml_from_sections_never_panics(
        checks in proptest::option::of(value()),
        sections in proptest::collection::vec(section(), 0..6),
    ) {
        let top = checks.map_or(String::new(), |v| format!("checks = [{v}]\n"));
        config_text(&(top + &sections.concat()));
    }

    #[test]
    fn journey_toml_bytes_never_panic(
        seed in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 1..8),
    ) {
        let seeds = seeds(".toml", usize::MAX);
        let bytes = apply(seeds[seed.index(seeds.len())].clone(), &muts);
        config_text(&String::from_utf8_lossy(&bytes));
    }
}

/// The experiment's outside bytes: an assignments file, read against the
/// small shop (whose users are u0000001…) with two arms.
fn assignments_bytes(bytes: &[u8]) {
    use journeymap::experiment::assign::{Source, assign};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assign.csv");
    std::fs::write(&path, bytes).unwrap();
    let t = &shop().ingested.table;
    let arms = ["control".to_string(), "treatment".to_string()];
    if let Ok((users, acc)) = assign(t, &t.user_ranges(), Source::File(&path), &arms, 86_400_000) {
        let excluded: u64 = acc.excluded.iter().map(|e| e.users).sum();
        assert_eq!(
            acc.analyzed + excluded,
            acc.users,
            "every assigned user is accounted for"
        );
        assert_eq!(users.len() as u64, acc.analyzed);
    }
}

const ASSIGN_SEED: &[u8] = b"user_id,arm,assigned_at\nu0000001,control,2026-10-03T00:00:00Z\nu0000002,treatment,2026-10-03T01:00:00Z\nu0000003,control,1759450000000\n\"u0000004\",\"treatment\",\"2026-10-03 00:00:00\"\nu0000002,control,2026-10-04T00:00:00Z\n";

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn assignments_bytes_never_panic_and_account_for_every_user(
        muts in proptest::collection::vec(mutation(), 0..12),
    ) {
        assignments_bytes(&apply(ASSIGN_SEED.to_vec(), &muts));
    }
}

/// The recommender's catalog file: any bytes parse or give an error,
/// and what parses lines up with any item list.
fn catalog_bytes(bytes: &[u8]) {
    use journeymap::recommend::catalog::{parse, place};
    if let Ok(c) = parse(bytes, "c.csv", "book_id", None) {
        assert_eq!(c.ids.len(), c.titles.len());
        assert_eq!(c.ids.len(), c.category.len());
        let items: Vec<String> = c
            .ids
            .iter()
            .take(2)
            .cloned()
            .chain(["zz".to_string()])
            .collect();
        let p = place(&c, &items);
        assert_eq!(p.titles.len(), items.len() + p.new_names.len());
        assert_eq!(p.missing, u64::from(!c.ids.contains(&"zz".to_string())));
    }
}

const CATALOG_SEED: &[u8] = b"book_id,title,author,genre\nb0001,Saga 1 volume 1,author001,fantasy\nb0002,\"Quoted, title\",author002,crime\nb0003,,author001,\n";

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn catalog_bytes_never_panic(muts in proptest::collection::vec(mutation(), 0..12)) {
        catalog_bytes(&apply(CATALOG_SEED.to_vec(), &muts));
    }
}

/// The server's outside bytes: the request target (method, path, query)
/// through routing and answering, the override file and the model file.
/// hyper parses HTTP itself; what is ours starts at the target.
fn serve_state() -> &'static journeymap::serve::state::State {
    use journeymap::recommend::modelfile::{Compact, ModelFile, SourceCode};
    static S: std::sync::OnceLock<journeymap::serve::state::State> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let model = ModelFile {
            format: "journeymap-recs".into(),
            version: 2,
            model: "ease".into(),
            item_column: "item".into(),
            k: 3,
            generated_at: "2026-11-30T00:00:00.000Z".into(),
            items: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            titles: vec!["A".into(), String::new(), "C".into(), "D".into()],
            categories: vec![String::new(), "sf".into()],
            groups: vec![("channel".into(), "email".into())],
            global: vec![Compact(0, 9.0, SourceCode::Popularity, None)],
            group_lists: vec![vec![Compact(1, 3.0, SourceCode::GroupPopularity, Some(0))]],
            users: vec![
                (
                    "u1".into(),
                    vec![
                        Compact(2, 0.5, SourceCode::Ease, Some(0)),
                        Compact(3, 0.1, SourceCode::Cooc, Some(1)),
                        Compact(1, 0.0, SourceCode::NewInCategory, Some(1)),
                    ],
                ),
                (
                    "u2".into(),
                    vec![Compact(1, 3.0, SourceCode::GroupPopularity, Some(0))],
                ),
            ],
        };
        let overrides =
            journeymap::serve::overrides::Overrides::parse(OVERRIDE_SEED, "seed").unwrap();
        journeymap::serve::state::State::new(model, b"seed", None, overrides)
    })
}

const OVERRIDE_SEED: &[u8] = b"scope,id,rule,value,note\nuser,u1,force_items,d a zz,pick\nuser,u3,suppress,,\nuser,u4,force_action,call,\nitem,b,ban,,\n";

const TARGET_SEEDS: &[&str] = &[
    "GET /v1/users/u1/recommendations?k=2",
    "GET /v1/users/u%202/recommendations",
    "HEAD /v1/users/u3/next-best-action",
    "GET /healthz",
    "GET /readyz",
    "POST /metrics",
    "GET /v1/users/%C3%A9/recommendations?k=1&k=3",
];

fn target_bytes(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let (method, rest) = text.split_once(' ').unwrap_or(("GET", &text));
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let counters = journeymap::serve::respond::Counters::default();
    let answer = match journeymap::serve::route::route(method, path, query) {
        Ok(r) => journeymap::serve::respond::answer(serve_state(), &r, &counters, "reminder"),
        Err(refusal) => journeymap::serve::respond::refusal(&refusal),
    };
    assert!((200..600).contains(&answer.status));
    if answer.content_type == "application/json" {
        serde_json::from_slice::<serde_json::Value>(&answer.body).expect("the body is JSON");
    }
}

const MODEL_SEED: &[u8] = br#"{"format":"journeymap-recs","version":1,"model":"ease","item_column":"item","k":2,"generated_at":"2026-11-30T00:00:00.000Z","items":["a","b","c"],"groups":[["channel","email"]],"global":[[0,2.0,"popularity",null]],"group_lists":[[[1,1.0,"group_popularity",0]]],"users":[["u1",[[2,0.5,"ease",0],[1,0.25,"cooc",2]]],["u2",[[1,1.0,"group_popularity",0]]]]}"#;

fn model_bytes(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(m) = journeymap::recommend::modelfile::ModelFile::from_json(&text, "fuzz") {
        let users: Vec<String> = m.users.iter().map(|u| u.0.clone()).collect();
        let st = journeymap::serve::state::State::new(m, bytes, None, Default::default());
        let counters = journeymap::serve::respond::Counters::default();
        for u in users.iter().map(String::as_str).chain(["nobody"]) {
            let r = journeymap::serve::route::Route::Recommendations {
                user: u.into(),
                k: None,
            };
            let a = journeymap::serve::respond::answer(&st, &r, &counters, "x");
            serde_json::from_slice::<serde_json::Value>(&a.body).expect("the body is JSON");
        }
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn request_targets_never_panic_and_answer_json(
        seed in 0..TARGET_SEEDS.len(),
        muts in proptest::collection::vec(mutation(), 0..6),
    ) {
        target_bytes(&apply(TARGET_SEEDS[seed].as_bytes().to_vec(), &muts));
    }

    #[test]
    fn override_bytes_never_panic(muts in proptest::collection::vec(mutation(), 1..8)) {
        let _ = journeymap::serve::overrides::Overrides::parse(&apply(OVERRIDE_SEED.to_vec(), &muts), "fuzz");
    }

    #[test]
    fn model_file_bytes_never_panic(muts in proptest::collection::vec(mutation(), 1..8)) {
        model_bytes(&apply(MODEL_SEED.to_vec(), &muts));
    }
}

/// The Spark aggregates `report --aggregates` reads (plan.json, the rows
/// record, the counts), from the run recorded in fixtures/spark/run.
const AGGREGATES: [&str; 3] = [
    "plan.json",
    "aggregates/rows/part-00000",
    "aggregates/counts/part-00000",
];

/// Copies the recorded run with file `which` replaced by `bytes`, then
/// builds the report from it: a report or an error, never a panic.
fn aggregates_bytes(which: usize, bytes: Option<&[u8]>) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    for f in [
        "plan.json",
        "aggregates/rows/_SUCCESS",
        "aggregates/counts/_SUCCESS",
    ]
    .iter()
    .chain(&AGGREGATES)
    {
        let to = run.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(Path::new("fixtures/spark/run").join(f), &to).unwrap();
    }
    if let Some(b) = bytes {
        std::fs::write(run.join(AGGREGATES[which]), b).unwrap();
    }
    let cfg = config::load(Path::new("fixtures/spark/journey.toml")).unwrap();
    let opts = LoadOptions {
        ingest: IngestOptions::default(),
        session_gap_ms: 30 * 60 * 1000,
        rejects: None,
    };
    match journeymap::spark::aggregates::load(&run, &cfg, &opts) {
        Ok(l) => {
            let progress = Progress::silent();
            let ctx = Context::new(&l.data, &cfg, &progress).spanning(l.span);
            journeymap::partitioned::merge(&ctx, l.partials, l.warnings);
            pipeline::build(&ctx).is_ok()
        }
        Err(_) => false,
    }
}

#[test]
fn the_recorded_aggregates_load() {
    assert!(
        aggregates_bytes(0, None),
        "the unmutated recording must build"
    );
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn aggregates_bytes_never_panic(
        which in 0usize..3,
        muts in proptest::collection::vec(mutation(), 1..8),
    ) {
        let seed = std::fs::read(Path::new("fixtures/spark/run").join(AGGREGATES[which])).unwrap();
        aggregates_bytes(which, Some(&apply(seed, &muts)));
    }

    /// Whole counts changed: lines dropped, repeated, or given another
    /// number in any field, so every check of what a count may say is met.
    #[test]
    fn aggregates_counts_changed_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<prop::sample::Index>(), prop_oneof![Just(0i64), Just(-1), Just(-4), Just(1 << 40), Just(i64::MAX), any::<i64>(), 0i64..10]), 1..6),
    ) {
        let text = std::fs::read_to_string("fixtures/spark/run/aggregates/counts/part-00000").unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (line, op, field, n) in edits {
            let i = line.index(lines.len());
            match op {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.push(l); }
                _ => {
                    let mut v: Vec<serde_json::Value> = serde_json::from_str(&lines[i]).unwrap();
                    let f = 1 + field.index(v.len() - 1);
                    v[f] = serde_json::json!(n);
                    lines[i] = serde_json::to_string(&v).unwrap();
                }
            }
            if lines.is_empty() { break; }
        }
        aggregates_bytes(2, Some(lines.join("\n").as_bytes()));
    }
}
