//! Every example in README.md runs: the `sh` blocks in order, the CI step
//! and the cron line (on its first night, with no previous report), in a
//! fresh directory with the built binary on PATH. Only the user count of
//! the first `generate` is lowered, to keep the suite fast.

use std::path::Path;
use std::process::Command;

fn blocks(readme: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut cur = String::new();
    for line in readme.lines() {
        if let Some(tag) = line.strip_prefix("```") {
            if inside {
                out.push(std::mem::take(&mut cur));
                inside = false;
            } else if tag == lang {
                inside = true;
            }
            continue;
        }
        if inside {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    out
}

fn sh(dir: &Path, script: &str) {
    let bin = assert_cmd::cargo::cargo_bin("journeymap");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "README example failed ({}):\n{script}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn every_readme_example_runs_from_a_clean_directory() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut commands: Vec<String> = Vec::new();
    for block in blocks(&readme, "sh") {
        for line in block.lines() {
            let line = line.trim();
            if line.starts_with("journeymap ") {
                commands.push(line.replace("--users 20000", "--users 3000"));
            }
        }
    }
    assert!(commands.len() >= 15, "too few examples found: {commands:?}");
    // The bad-rows examples read an export of the user's own.
    commands.insert(2, "cp shop.csv export.csv".into());
    for c in &commands {
        sh(dir.path(), c);
    }
    for name in [
        "out/report.json",
        "out/report.md",
        "model.json",
        "scores.csv",
        "segments.csv",
        "levels.csv",
    ] {
        assert!(dir.path().join(name).exists(), "{name} was not written");
    }

    // The CI step, as written.
    let yaml = blocks(&readme, "yaml").concat();
    let run = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("run: "))
        .expect("a run: line in the CI example");
    sh(dir.path(), run);

    // The cron line on its first night: exports/ and journey.toml as the
    // line expects them, no report from yesterday.
    let cron = blocks(&readme, "cron").concat();
    let line = cron.lines().find(|l| !l.trim().is_empty()).unwrap();
    let body = line
        .split_once(" && ")
        .map(|(_, rest)| rest)
        .expect("cron line starts with a cd")
        .replace("\\%", "%");
    sh(
        dir.path(),
        "mkdir -p exports && journeymap generate --scenario ecommerce --users 500 --seed 3 --out exports/day.parquet && cp exports/day.journey.toml journey.toml",
    );
    sh(dir.path(), &body);
    let nights: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(nights.len(), 1, "{nights:?}");
    assert!(nights[0].join("report.json").exists());
    assert!(nights[0].join("diff.md").exists());
}
