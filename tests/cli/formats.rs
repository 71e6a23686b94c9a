//! End-to-end: the same data as CSV, gzip CSV and Parquet; reports; demo.

use std::path::Path;

use crate::common::jm;

fn inspect_json(file: &Path) -> String {
    let out = crate::common::stdout_of(&["inspect", file.to_str().unwrap(), "--json"]);
    String::from_utf8(out).unwrap()
}

fn generate(dir: &Path, name: &str, scenario: &str) -> std::path::PathBuf {
    crate::common::generate(&dir.join(name), scenario, 300, 11)
}

#[test]
fn csv_gzip_and_parquet_forms_give_identical_inspect_json() {
    let dir = tempfile::tempdir().unwrap();
    for scenario in ["ecommerce", "saas"] {
        let csv = inspect_json(&generate(dir.path(), &format!("{scenario}.csv"), scenario));
        let gz = inspect_json(&generate(
            dir.path(),
            &format!("{scenario}.csv.gz"),
            scenario,
        ));
        let pq = inspect_json(&generate(
            dir.path(),
            &format!("{scenario}.parquet"),
            scenario,
        ));
        assert!(csv.contains("\"rejected\": 0"), "{csv}");
        assert_eq!(csv, pq, "{scenario}: CSV and Parquet differ");
        assert_eq!(csv, gz, "{scenario}: CSV and gzip CSV differ");
    }
}

#[test]
fn resessionizing_generated_data_recovers_its_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let f = generate(dir.path(), "e.parquet", "ecommerce");
    let with_column: serde_json::Value = serde_json::from_str(&inspect_json(&f)).unwrap();
    let out = jm()
        .arg("inspect")
        .arg(&f)
        .args(["--json", "--resessionize"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let by_gap: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(by_gap["sessions_from"]["kind"], "inactivity");
    assert_eq!(with_column["sessions"], by_gap["sessions"]);
}

#[test]
fn a_glob_reads_several_files_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let all = std::fs::read_to_string("fixtures/shop_small.csv").unwrap();
    let mut lines = all.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let (a, b) = body.split_at(body.len() / 2);
    std::fs::write(
        dir.path().join("part-1.csv"),
        format!("{header}\n{}\n", a.join("\n")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("part-2.csv"),
        format!("{header}\n{}\n", b.join("\n")),
    )
    .unwrap();
    let whole: serde_json::Value =
        serde_json::from_str(&inspect_json(Path::new("fixtures/shop_small.csv"))).unwrap();
    let glob = format!("{}/part-*.csv", dir.path().display());
    let out = jm()
        .args(["inspect", &glob, "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let parts: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(whole, parts);
}

#[test]
fn report_matches_golden_files_and_is_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    for run in ["a", "b"] {
        jm().args(["report", "fixtures/shop_small.csv", "--out"])
            .arg(dir.path().join(run))
            .assert()
            .success();
    }
    for name in ["report.json", "report.md"] {
        let a = std::fs::read_to_string(dir.path().join("a").join(name)).unwrap();
        let b = std::fs::read_to_string(dir.path().join("b").join(name)).unwrap();
        assert_eq!(a, b, "{name} differs between runs");
        let golden = Path::new("fixtures/golden").join(format!("shop_small.{name}"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &a).unwrap();
        }
        assert_eq!(
            a,
            std::fs::read_to_string(&golden).unwrap(),
            "{name} differs from {}",
            golden.display()
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(dir.path().join("a"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".journeymap.lock", "report.json", "report.md"],
        "temp files left behind"
    );
}

#[test]
fn generate_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(dir.path(), "a.csv", "ecommerce");
    let b = generate(dir.path(), "b.csv", "ecommerce");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(dir.path().join("a.truth.csv").is_file());
}

#[test]
fn demo_runs_and_says_where_the_report_is() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    jm().args(["demo", "--users", "500", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("report.md"));
    for f in ["report.json", "report.md", "scores.csv", "segments.csv"] {
        assert!(out.join(f).is_file(), "{f}");
    }
}
