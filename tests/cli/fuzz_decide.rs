//! Fuzz targets for the decision engine's outside bytes: the customer
//! table, the transactions (plain and gzip), the state file of earlier
//! runs, the erasure list, and the bank config's sections, each mutated
//! from the small bank fixture (fixtures/bank, `generate --scenario bank
//! --users 30 --seed 7`). The properties: nothing panics, and every file
//! read balances its rows (used + rejected + erased + after the run date).
//! Run longer with JOURNEYMAP_FUZZ_CASES as in fuzz.rs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use journeymap::decide::{self, Events, Inputs, config, sources, state::History};
use journeymap::ingest::{ColumnMapping, IngestOptions};
use journeymap::pipeline::{self, LoadOptions};
use journeymap::progress::Progress;
use proptest::prelude::*;

use crate::fuzz::{apply, cases, mutation};

const DIR: &str = "fixtures/bank";
/// 2026-03-01, a run date inside the fixture's year.
const AS_OF: i64 = 1_772_323_200_000;
const DAY: i64 = 86_400_000;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(DIR).join(name)).unwrap()
}

fn source(kind: &str) -> config::SourceConfig {
    let cfg = journeymap::config::load(&Path::new(DIR).join("bank.journey.toml")).unwrap();
    let plan = config::check(&cfg).unwrap();
    plan.sources
        .iter()
        .find(|s| format!("{:?}", s.kind).eq_ignore_ascii_case(kind))
        .unwrap()
        .clone()
}

fn customers() -> &'static sources::Customers {
    static C: std::sync::OnceLock<sources::Customers> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        sources::read_customers(
            &source("customers"),
            &Path::new(DIR).join("bank.customers.csv"),
            &BTreeSet::new(),
            &BTreeSet::new(),
        )
        .unwrap()
    })
}

fn events() -> &'static pipeline::Data {
    static D: std::sync::OnceLock<pipeline::Data> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let opts = LoadOptions {
            ingest: IngestOptions {
                mapping: ColumnMapping {
                    user: "customer_id".into(),
                    ..ColumnMapping::default()
                },
                ..IngestOptions::default()
            },
            session_gap_ms: 30 * 60 * 1000,
            rejects: None,
        };
        pipeline::load(
            &[PathBuf::from(DIR).join("bank.csv")],
            &opts,
            &Progress::silent(),
        )
        .expect("the bank fixture loads")
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn erasure(bytes: &[u8]) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    sources::read_erasure(&write(dir.path(), "erase.txt", bytes)).unwrap_or_default()
}

const ERASE_SEED: &[u8] = b"# erased on request\nc0000003\n\n  c0000007  \nnobody\n";

/// The whole engine on the fixture with a (possibly damaged) config: the
/// sections are parsed, checked, resolved against the data and run.
/// Returns the users decided for, when the run got that far.
fn decide_with(text: &str) -> Option<usize> {
    let cfg = journeymap::config::parse(text).ok()?;
    let plan = config::check(&cfg).ok()?;
    let data = events();
    let ev = Events {
        table: &data.ingested.table,
        sessions: &data.sessions,
        session_source: &data.source,
        account: sources::Account {
            source: "events".into(),
            rows: data.ingested.read,
            used: data.ingested.used(),
            ..Default::default()
        },
    };
    let erased = BTreeSet::new();
    let loaded = decide::load(&plan, Path::new(DIR), Some(&ev), &erased, AS_OF + DAY).ok()?;
    let overrides = Default::default();
    let run = decide::run(
        Inputs {
            plan: &plan,
            config_dir: Path::new(DIR),
            events: Some(ev),
            as_of: AS_OF,
            erased: &erased,
            overrides: &overrides,
            history: History::default(),
            pseudo: None,
        },
        &loaded,
    )
    .ok()?;
    assert_eq!(run.users.len(), loaded.customers.len());
    let chosen: u64 = run.report.pathways.iter().map(|p| p.chosen).sum();
    assert_eq!(chosen, run.report.with_action, "each action counted once");
    Some(run.users.len())
}

/// The seed itself goes the whole way, so the targets reach the engine.
#[test]
fn the_unmutated_bank_fixture_is_decided() {
    let text = String::from_utf8(fixture("bank.journey.toml")).unwrap();
    assert_eq!(decide_with(&text), Some(30));
}

/// Values the decide sections' keys may meet.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"30d\"".to_string()),
        Just("\"0d\"".to_string()),
        Just("\"-1d\"".to_string()),
        Just("\"99999999999d\"".to_string()),
        Just("0".to_string()),
        Just("-2.5".to_string()),
        Just("1e308".to_string()),
        Just("nan".to_string()),
        Just("4294967296".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("\"salary\"".to_string()),
        Just("\"baby\"".to_string()),
        Just("\"spend_change\"".to_string()),
        Just("\"level_change\"".to_string()),
        Just("\"new_category\"".to_string()),
        Just("\"sequence\"".to_string()),
        Just("\"mortgage_calculator\"".to_string()),
        Just("\"credit\"".to_string()),
        Just("[\"home_purchase\", \"nope\"]".to_string()),
        Just("[\"age >= 18\", \"vulnerable != true\"]".to_string()),
        Just("[\"age >=\", \"== 3\", \"x ~ y\"]".to_string()),
        Just("[{ name = \"a\", channel = \"email\", value = 1.0 }]".to_string()),
        Just("[{ name = \"a\", channel = \"pigeon\" }]".to_string()),
        Just("{ credit = [\"age < 0\"] }".to_string()),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
    ]
}

const KEYS: [(&str, &[&str]); 3] = [
    (
        "[[triggers]]",
        &[
            "name",
            "kind",
            "category",
            "window",
            "baseline",
            "ratio",
            "min_amount",
            "min_count",
            "min_history",
            "first",
            "first_count",
            "first_within",
            "then",
            "then_within",
            "outcome",
            "outcome_within",
        ],
    ),
    (
        "[[pathways]]",
        &[
            "name",
            "purpose",
            "priority",
            "triggers",
            "eligible",
            "actions",
            "cap",
            "cap_window",
            "cooldown",
            "enabled",
            "model",
            "min_score",
            "min_auc",
            "fallback",
        ],
    ),
    ("[decide]", &["enabled", "cooldown", "purpose_rules"]),
];

proptest! {
    #![proptest_config(cases(32))]

    #[test]
    fn customer_table_bytes_balance(
        muts in proptest::collection::vec(mutation(), 1..12),
        erase in proptest::collection::vec(mutation(), 0..4),
    ) {
        let bytes = apply(fixture("bank.customers.csv"), &muts);
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "customers.csv", &bytes);
        let erased = erasure(&apply(ERASE_SEED.to_vec(), &erase));
        let needed: BTreeSet<String> = ["age".to_string()].into();
        if let Ok(c) = sources::read_customers(&source("customers"), &p, &needed, &erased) {
            prop_assert!(c.account.balanced(), "{:?}", c.account);
            prop_assert_eq!(c.len() as u64, c.account.used);
        }
    }

    #[test]
    fn transactions_bytes_balance(
        muts in proptest::collection::vec(mutation(), 1..12),
        gzip in any::<bool>(),
    ) {
        let mut bytes = fixture("bank.transactions.csv");
        bytes.truncate(30_000);
        let bytes = apply(bytes, &muts);
        let dir = tempfile::tempdir().unwrap();
        let p = if gzip {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            write(dir.path(), "t.csv.gz", &apply(e.finish().unwrap(), &muts[..1]))
        } else {
            write(dir.path(), "t.csv", &bytes)
        };
        let erased = erasure(ERASE_SEED);
        let c = customers();
        if let Ok(t) = sources::read_transactions(&source("transactions"), &p, c, &erased, AS_OF + DAY) {
            prop_assert!(t.account.balanced(), "{:?}", t.account);
            prop_assert_eq!(t.ts.len() as u64, t.account.used);
            prop_assert_eq!(t.starts.len(), c.len() + 1);
            for u in 0..c.len() as u32 {
                prop_assert!(t.ts[t.of(u)].is_sorted());
            }
        }
    }

    #[test]
    fn history_bytes_never_panic(muts in proptest::collection::vec(mutation(), 0..12)) {
        let seed = b"as_of,user_id,pathway,action,channel,source\n2026-02-27,c0000001,home_loan,mortgage_offer_email,email,trigger\n2026-02-28,c0000002,family,child_savings_app,app,override\n2026-03-01,c0000003,home_loan,mortgage_offer_app,app,trigger\n";
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "history.csv", &apply(seed.to_vec(), &muts));
        if let Ok(h) = History::read(&p, AS_OF) {
            // Rows on or after the run date are the run's own, replaced.
            prop_assert!(h.rows.iter().all(|r| r.day < AS_OF));
        }
    }

    #[test]
    fn bank_config_bytes_never_panic(muts in proptest::collection::vec(mutation(), 1..8)) {
        let bytes = apply(fixture("bank.journey.toml"), &muts);
        let _ = decide_with(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn bank_config_sections_never_panic(
        extra in proptest::collection::vec(
            (0..KEYS.len(), proptest::collection::vec((any::<prop::sample::Index>(), value()), 0..6)),
            0..4,
        ),
    ) {
        let mut text = String::from_utf8(fixture("bank.journey.toml")).unwrap();
        for (i, kvs) in extra {
            let (head, keys) = KEYS[i];
            text.push_str(&format!("\n{head}\n"));
            for (k, v) in kvs {
                text.push_str(&format!("{} = {v}\n", keys[k.index(keys.len())]));
            }
        }
        let _ = decide_with(&text);
    }
}

/// The bank fixture's customer table as typed Parquet (booleans for
/// consent, integers for age), the seed of the Parquet target.
fn customers_parquet() -> &'static [u8] {
    static B: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.parquet");
        crate::common::bank_customers_parquet(&Path::new(DIR).join("bank.customers.csv"), &p);
        std::fs::read(&p).unwrap()
    })
}

proptest! {
    #![proptest_config(cases(16))]

    /// In a process of its own, as the event ingest's Parquet target: a
    /// decoder's failed allocation aborts, which the binary turns into exit 3.
    #[test]
    fn customer_parquet_bytes_end_in_a_clean_exit(
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cust = write(dir.path(), "c.parquet", &apply(customers_parquet().to_vec(), &muts));
        let root = std::fs::canonicalize(DIR).unwrap();
        let text = String::from_utf8(fixture("bank.journey.toml"))
            .unwrap()
            .replace("\"bank.customers.csv\"", &format!("{:?}", cust.display().to_string()))
            .replace(
                "\"bank.transactions.csv\"",
                &format!("{:?}", root.join("bank.transactions.csv").display().to_string()),
            );
        let cfg = write(dir.path(), "bank.toml", text.as_bytes());
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("journeymap"))
            .arg("decide")
            .arg(root.join("bank.csv"))
            .arg("--config")
            .arg(&cfg)
            .args(["--as-of", "2026-03-01", "--dry-run", "-q"])
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        prop_assert!(matches!(out.status.code(), Some(0 | 2 | 3)), "{:?}: {err}", out.status);
        prop_assert!(!err.contains("panicked"), "{err}");
    }
}

/// The unmutated seed decides, so the target reaches the engine.
#[test]
fn the_parquet_seed_is_decided() {
    let dir = tempfile::tempdir().unwrap();
    let cust = write(dir.path(), "c.parquet", customers_parquet());
    let c = sources::read_customers(
        &source("customers"),
        &cust,
        &BTreeSet::new(),
        &BTreeSet::new(),
    )
    .unwrap();
    assert_eq!(c.len(), 30);
    assert!(c.odd_consent.is_empty(), "{:?}", c.odd_consent);
    assert_eq!(
        c.channel_consent["email"],
        customers().channel_consent["email"]
    );
}
