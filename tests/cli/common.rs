//! Set-up shared by the end-to-end tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn jm() -> Command {
    Command::cargo_bin("journeymap").expect("binary built")
}

/// Compares `actual` with fixtures/golden/`name`; UPDATE_GOLDEN=1 rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new("fixtures/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {} (run with UPDATE_GOLDEN=1)",
            path.display()
        )
    });
    assert_eq!(actual, want, "output differs from {}", path.display());
}

/// `journeymap generate` into `out` (its truth and journey.toml beside it).
pub fn generate(out: &Path, scenario: &str, users: usize, seed: u64) -> PathBuf {
    jm().args([
        "generate",
        "--scenario",
        scenario,
        "--users",
        &users.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
    ])
    .arg(out)
    .assert()
    .success();
    out.to_path_buf()
}

/// A CSV file's rows as column name → value.
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// stdout of a successful run.
pub fn stdout_of(args: &[&str]) -> Vec<u8> {
    jm().args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// The JSON a successful run prints with `--json` appended.
pub fn json_of(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_slice(&stdout_of(&all)).expect("stdout is only JSON")
}

/// Writes `csv` as Parquet with typed columns: `time` as a UTC datetime,
/// `floats` as doubles, `ints` as integers, `bools` (yes/no) as booleans,
/// the rest as text.
pub fn to_parquet(
    csv: &Path,
    out: &Path,
    time: &str,
    floats: &[&str],
    ints: &[&str],
    bools: &[&str],
) {
    use polars::prelude::*;
    let mut r = csv::Reader::from_path(csv).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let cols: Vec<Column> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let cells = rows.iter().map(|r| r[i].to_string());
            let name = PlSmallStr::from(h.as_str());
            let s = if h == time {
                let ms: Vec<i64> = cells
                    .map(|c| {
                        chrono::DateTime::parse_from_rfc3339(&c)
                            .unwrap()
                            .timestamp_millis()
                    })
                    .collect();
                Series::new(name, ms)
                    .cast(&DataType::Datetime(
                        TimeUnit::Milliseconds,
                        Some(TimeZone::UTC),
                    ))
                    .unwrap()
            } else if floats.contains(&h.as_str()) {
                Series::new(
                    name,
                    cells.map(|c| c.parse::<f64>().unwrap()).collect::<Vec<_>>(),
                )
            } else if ints.contains(&h.as_str()) {
                Series::new(
                    name,
                    cells.map(|c| c.parse::<i64>().unwrap()).collect::<Vec<_>>(),
                )
            } else if bools.contains(&h.as_str()) {
                Series::new(name, cells.map(|c| c == "yes").collect::<Vec<bool>>())
            } else {
                Series::new(name, cells.collect::<Vec<String>>())
            };
            s.into()
        })
        .collect();
    let mut df = DataFrame::new_infer_height(cols).unwrap();
    let f = std::fs::File::create(out).unwrap();
    ParquetWriter::new(f)
        .with_row_group_size(Some(5000))
        .finish(&mut df)
        .unwrap();
}

/// The consent columns of `generate --scenario bank`'s customer table.
pub const BANK_CONSENT: [&str; 5] = [
    "consent_email",
    "consent_sms",
    "consent_app",
    "consent_marketing",
    "consent_credit",
];

/// A bank customer table as typed Parquet: integer ages, boolean consent.
pub fn bank_customers_parquet(csv: &Path, out: &Path) {
    to_parquet(csv, out, "", &[], &["age"], &BANK_CONSENT);
}
