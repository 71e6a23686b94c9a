//! `push --engine spark` and `report --aggregates` (docs/scaling.md): the
//! report built from a local Spark's aggregates equals the local report,
//! figure for figure, on a generated 100k-event file and on an ugly export;
//! refusals and a failing job are clear errors.
//!
//! The Spark test needs `spark-submit` (PyPI `pyspark` bundles Spark) and
//! Java: JOURNEYMAP_SPARK_SUBMIT names the program, else `spark-submit` on
//! PATH. Without them it says why and skips, unless JOURNEYMAP_REQUIRE_SPARK
//! is set (as .ci/run sets it once the install worked); then it fails.

use std::path::{Path, PathBuf};

use crate::common::{generate, jm, to_parquet};

const CONFIG: &str = r#"
[conversion]
event = "purchase"

[funnel]
steps = ["product_view", "add_to_cart", { event = "begin_checkout", device = "mobile" }, "purchase"]
exclude = ["remove_from_cart"]
window = "7d"
"#;

/// The stages both configs map (a predicate with a property, an event in
/// two stages, one that never occurs).
const STAGES: &str = r#"
[[stages]]
name = "Awareness"
events = ["page_view", { event = "search", device = "mobile" }]

[[stages]]
name = "Consideration"
events = ["search", "product_view", "compare", "no_such_event"]

[[stages]]
name = "Purchase"
events = ["add_to_cart", "begin_checkout", "purchase"]
"#;

/// Strict, per session, no window; a conversion with a property; the
/// Markov map over stages.
const STRICT: &str = r#"
[conversion]
event = { event = "add_to_cart", device = "desktop" }

[markov]
states = "stage"

[funnel]
steps = ["page_view", "product_view", "add_to_cart"]
mode = "strict"
per = "session"
exclude = ["compare"]
"#;

fn spark_submit() -> Result<PathBuf, String> {
    let program =
        std::env::var("JOURNEYMAP_SPARK_SUBMIT").unwrap_or_else(|_| "spark-submit".into());
    let found = if program.contains('/') {
        Path::new(&program)
            .is_file()
            .then(|| PathBuf::from(&program))
    } else {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(&program))
                .find(|c| c.is_file())
        })
    };
    let found = found.ok_or_else(|| {
        format!("no {program} (pip install pyspark, or set JOURNEYMAP_SPARK_SUBMIT)")
    })?;
    let java = std::process::Command::new("java").arg("-version").output();
    if !java.is_ok_and(|o| o.status.success()) {
        return Err("no Java on PATH (Spark needs Java 8, 11 or 17)".into());
    }
    Ok(found)
}

/// The report.json sections that must agree: all but where the input was
/// read from and the run's own facts.
fn figures(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("input");
    o.remove("run");
    v
}

fn config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Local report, Spark push, report from the aggregates; the figures equal.
fn same_on_spark(
    dir: &Path,
    submit: &Path,
    name: &str,
    cfg: &Path,
    inputs: &[&Path],
    flags: &[&str],
) {
    let local = dir.join(format!("{name}-local"));
    jm().arg("report")
        .args(inputs)
        .arg("--config")
        .arg(cfg)
        .args(flags)
        .arg("--out")
        .arg(&local)
        .assert()
        .success();
    let run = dir.join(format!("{name}-run"));
    let o = jm()
        .args(["push", "--engine", "spark"])
        .args(inputs)
        .arg("--config")
        .arg(cfg)
        .args(flags)
        .arg("--out")
        .arg(&run)
        .arg("--spark-submit")
        .arg(submit)
        .args(["--master", "local[2]"])
        .args([
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
        ])
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{name}: push failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let spark = dir.join(format!("{name}-spark"));
    jm().args(["report", "--aggregates"])
        .arg(&run)
        .arg("--config")
        .arg(cfg)
        .args(flags)
        .arg("--out")
        .arg(&spark)
        .assert()
        .success();
    let (a, b) = (
        figures(&local.join("report.json")),
        figures(&spark.join("report.json")),
    );
    for (k, v) in a.as_object().unwrap() {
        assert_eq!(Some(v), b.get(k), "{name}: section {k} differs");
    }
    assert_eq!(a, b, "{name}");
}

/// An export as they come: ids with spaces around them, empty events and
/// sessions, exact copies out of order, ties in time; in two files.
fn ugly(dir: &Path) -> [PathBuf; 2] {
    let csv = generate(&dir.join("base.csv"), "ecommerce", 300, 5);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let cols: Vec<&str> = header.split(',').collect();
    let at = |c: &str| cols.iter().position(|x| *x == c).unwrap();
    let (user, event, session) = (at("user_id"), at("event"), at("session_id"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert!(
        rows.iter().all(|r| r.len() == cols.len()),
        "no quoted commas"
    );
    let mut out: Vec<Vec<String>> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let mut r = r.clone();
        if i % 37 == 0 {
            r[user] = format!("  {} ", r[user]);
        }
        if i % 101 == 0 {
            r[event] = String::new();
        }
        if i % 53 == 0 {
            r[session] = " ".into();
        }
        if i % 89 == 0 {
            r[user] = String::new();
        }
        out.push(r);
    }
    for (i, r) in rows.iter().enumerate() {
        if i % 41 == 0 {
            out.push(r.clone());
        }
        if i % 59 == 0 {
            let mut t = r.clone();
            t[event] = "add_to_cart".into();
            out.push(t);
        }
    }
    let half = out.len() / 2;
    let mut files = Vec::new();
    for (j, part) in [&out[..half], &out[half..]].into_iter().enumerate() {
        let c = dir.join(format!("ugly{j}.csv"));
        let mut s = header.clone();
        s.push('\n');
        for r in part.iter().rev() {
            s.push_str(&r.join(","));
            s.push('\n');
        }
        std::fs::write(&c, s).unwrap();
        let p = dir.join(format!("ugly{j}.parquet"));
        to_parquet(&c, &p, "timestamp", &[], &[], &[]);
        files.push(p);
    }
    [files[0].clone(), files[1].clone()]
}

#[test]
fn spark_aggregates_give_the_local_report() {
    let submit = match spark_submit() {
        Ok(s) => s,
        Err(why) => {
            if std::env::var_os("JOURNEYMAP_REQUIRE_SPARK").is_some() {
                panic!("JOURNEYMAP_REQUIRE_SPARK is set but {why}");
            }
            eprintln!("SKIPPED Spark test: {why}");
            println!("SKIPPED Spark test: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // About 100k events.
    let events = generate(&d.join("e.parquet"), "ecommerce", 2800, 11);
    let cfg = config(d, "c.toml", &format!("{CONFIG}{STAGES}"));
    same_on_spark(d, &submit, "generated", &cfg, &[&events], &[]);
    let [a, b] = ugly(d);
    let strict = config(d, "strict.toml", &format!("{STRICT}{STAGES}"));
    same_on_spark(d, &submit, "ugly", &strict, &[&a, &b], &[]);
    same_on_spark(
        d,
        &submit,
        "ugly-gaps",
        &cfg,
        &[&a, &b],
        &["--resessionize", "--session-gap", "10m"],
    );
}

fn push_print(cfg: &Path, input: &Path, out: &Path) {
    jm().args(["push", "--engine", "spark", "--print"])
        .arg(input)
        .arg("--config")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    assert!(out.join("job.py").is_file());
}

#[test]
fn aggregates_of_another_config_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let events = generate(&d.join("e.parquet"), "ecommerce", 50, 1);
    let cfg = config(d, "c.toml", &format!("{CONFIG}{STAGES}"));
    let other = config(d, "other.toml", &format!("{STRICT}{STAGES}"));
    let run = d.join("run");
    push_print(&cfg, &events, &run);
    let plan = std::fs::read_to_string(run.join("plan.json")).unwrap();
    assert!(plan.contains("\"begin_checkout\""), "{plan}");
    let job = std::fs::read_to_string(run.join("job.py")).unwrap();
    assert!(job.contains("def evaluate("));

    // `report --aggregates RUN` with these arguments: its exit code and stderr.
    let refused = |args: &[&std::ffi::OsStr]| {
        let o = jm()
            .args(["report", "--aggregates"])
            .arg(&run)
            .args(args)
            .arg("--out")
            .arg(d.join("x"))
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let flag = |s: &'static str| std::ffi::OsStr::new(s);
    let (code, err) = refused(&[flag("--config"), other.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("computed for another config"), "{err}");

    // The same config, but the job never ran: no aggregates to read.
    let (code, err) = refused(&[flag("--config"), cfg.as_os_str()]);
    assert_eq!(code, Some(3));
    assert!(err.contains("_SUCCESS"), "{err}");

    // A session gap is part of what the counts mean.
    let (code, _) = refused(&[
        flag("--config"),
        cfg.as_os_str(),
        flag("--session-gap"),
        flag("5m"),
    ]);
    assert_eq!(code, Some(2));

    // Input files and --aggregates together are a usage error.
    let (code, _) = refused(&[events.as_os_str(), flag("--config"), cfg.as_os_str()]);
    assert_eq!(code, Some(2));
}

#[test]
fn what_the_job_cannot_compute_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let events = generate(&d.join("e.parquet"), "ecommerce", 50, 1);
    let cfg = config(
        d,
        "c.toml",
        "[funnel]\nsteps = [\"page_view\", \"purchase\"]\nmode = \"unordered\"\n\n[segments]\nk = 3\n",
    );
    let o = jm()
        .args(["push", "--engine", "spark", "--print"])
        .arg(&events)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(d.join("run"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("[segments]") && err.contains("unordered"),
        "{err}"
    );
    assert!(!d.join("run").exists(), "nothing written");

    // The job reads Parquet; CSV, and no input at all, are refused before
    // anything is written.
    let csv = generate(&d.join("e.csv"), "ecommerce", 20, 1);
    for input in [Some(csv.as_path()), None] {
        let o = jm()
            .args(["push", "--engine", "spark", "--print", "--out"])
            .arg(d.join("run"))
            .args(input)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{input:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("Parquet"), "{err}");
        assert!(!d.join("run").exists(), "nothing written");
    }
}

#[test]
fn a_failing_job_shows_its_log_tail_and_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let events = generate(&d.join("e.parquet"), "ecommerce", 50, 1);
    let cfg = config(d, "c.toml", &format!("{CONFIG}{STAGES}"));
    let fake = d.join("spark-submit");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho '26/12/03 07:50:46 INFO SparkContext: Running Spark'\necho 'journeymap job: no column user_id' >&2\nexit 3\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o = jm()
        .args(["push", "--engine", "spark"])
        .arg(&events)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(d.join("run"))
        .arg("--spark-submit")
        .arg(&fake)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("journeymap job: no column user_id"), "{err}");
    assert!(!err.contains("INFO"), "{err}");
    assert!(d.join("run/spark.log").is_file());
}

/// A Spark run recorded in fixtures/spark/run (scripts/record_spark_fixture.sh):
/// the report from it equals the local one without Spark on the machine.
#[test]
fn recorded_aggregates_give_the_local_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = "fixtures/spark/journey.toml";
    jm().args([
        "report",
        "fixtures/spark/events.parquet",
        "--config",
        cfg,
        "--out",
    ])
    .arg(d.join("local"))
    .assert()
    .success();
    jm().args([
        "report",
        "--aggregates",
        "fixtures/spark/run",
        "--config",
        cfg,
        "--out",
    ])
    .arg(d.join("spark"))
    .assert()
    .success();
    let (a, b) = (
        figures(&d.join("local/report.json")),
        figures(&d.join("spark/report.json")),
    );
    assert_eq!(a, b);
    // The recording's markdown differs from the local one only in where the
    // input was read.
    let md = |p: &str| -> Vec<String> {
        std::fs::read_to_string(d.join(p))
            .unwrap()
            .lines()
            .filter(|l| !l.contains("events.parquet") && !l.contains("report id"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(md("local/report.md"), md("spark/report.md"));
}
