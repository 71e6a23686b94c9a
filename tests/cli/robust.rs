//! Real exports and damaged inputs, as a new user and a nightly job meet
//! them: each test is one situation that once crashed, injected markup or
//! misled (issue 11). None may end in a panic (exit 101) or a signal.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Stdio};
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::common::jm;

const SHOP: &str = "fixtures/shop_small.csv";

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("journeymap")
}

/// Exit code and stderr of a run that must end with a code, never a signal
/// or a panic.
fn run_clean(args: &[&str]) -> (i32, String) {
    let out = jm().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("{args:?} ended by a signal: {err}"));
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_ne!(code, 101, "{args:?}: {err}");
    (code, err)
}

fn inspect_json(args: &[&str]) -> Value {
    let mut all = vec!["inspect"];
    all.extend_from_slice(args);
    crate::common::json_of(&all)
}

fn header() -> String {
    std::fs::read_to_string(SHOP)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes `text` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---- crashes ----------------------------------------------------------

#[test]
fn a_glob_over_days_with_an_empty_and_a_header_only_day_reads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(SHOP, dir.path().join("day1.csv")).unwrap();
    std::fs::write(dir.path().join("day2.csv"), format!("{}\n", header())).unwrap();
    std::fs::write(dir.path().join("day3.csv"), "").unwrap();
    std::fs::write(
        dir.path().join("day4.csv.gz"),
        gz(format!("{}\n", header()).as_bytes()),
    )
    .unwrap();
    let pattern = format!("{}/day*", dir.path().display());
    let v = inspect_json(&[&pattern]);
    assert_eq!(v["rows"]["read"], 1163);
    // The directory itself reads the same files.
    assert_eq!(inspect_json(&[s(dir.path())])["rows"]["read"], 1163);
    // A header-only file alone is zero rows, not a crash.
    let (code, _) = run_clean(&["inspect", s(&dir.path().join("day4.csv.gz"))]);
    assert_eq!(code, 0);
    // A report over nothing but empty days says so instead of printing
    // empty tables.
    let out = dir.path().join("out");
    let (code, err) = run_clean(&["report", s(&dir.path().join("day2.csv")), "--out", s(&out)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: no events"), "{err}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("no events: the file read held no rows"), "{md}");
    assert!(!md.contains("Event vocabulary"), "{md}");
}

#[test]
fn files_whose_columns_differ_are_unioned_and_a_missing_required_column_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(
        &a,
        "user_id,event,timestamp,page\nu1,view,2026-01-01T00:00:00Z,/\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "device,user_id,timestamp,event\nmobile,u2,2026-01-01T00:01:00Z,buy\n",
    )
    .unwrap();
    let v = inspect_json(&[s(&a), s(&b)]);
    assert_eq!(v["rows"]["used"], 2);
    let props: Vec<&str> = v["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(props, ["page", "device"]);
    let c = file(
        dir.path(),
        "c.csv",
        "user_id,timestamp\nu3,2026-01-01T00:02:00Z\n",
    );
    let (code, err) = run_clean(&["inspect", s(&a), s(&c)]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("c.csv") && err.contains("event"), "{err}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `journeymap schema | head -1`: the schema is larger than a pipe's
    // buffer, so the write after head exits fails.
    let mut child = Std::new(bin())
        .arg("schema")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe is closed.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(first.trim(), "{");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn parquet_decimal_list_and_struct_columns_from_pyarrow() {
    // Written by pyarrow: price decimal128(10, 2), tags list<string>, meta
    // struct<k: int64>.
    let file = "fixtures/parquet/types.parquet";
    let out = jm()
        .args(["inspect", file])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("skipped property tags"), "{text}");
    assert!(text.contains("skipped property meta"), "{text}");
    let v = inspect_json(&[file]);
    assert_eq!(v["properties"], serde_json::json!(["price"]));
    // Decimals read as their decimal text: a step on a price matches.
    let out = jm()
        .args([
            "funnel",
            file,
            "--steps",
            "page_view[price=19.99],purchase",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let f: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(f["step_stats"][0]["reached"], 1, "{f}");
    assert_eq!(f["step_stats"][1]["reached"], 1, "{f}");
}

#[test]
fn parquet_small_int_and_half_float_columns_are_skipped_not_fatal() {
    // Written by pyarrow: flag int8, qty int16, level uint8, port uint16,
    // ratio float16 (pandas' downcasts), n int32. The decoder lacks the
    // small types; they used to fail the whole file.
    let file = "fixtures/parquet/small_ints.parquet";
    let out = jm().args(["inspect", file]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for (col, ty) in [
        ("flag", "int8"),
        ("qty", "int16"),
        ("level", "uint8"),
        ("port", "uint16"),
        ("ratio", "float16"),
    ] {
        assert!(
            text.contains(&format!(
                "skipped property {col} (type {ty} is not supported)"
            )),
            "{text}"
        );
    }
    let v = inspect_json(&[file]);
    assert_eq!(v["properties"], serde_json::json!(["device", "n"]));
    assert_eq!(v["rows"]["used"], 3, "{v}");
    // Mapped to a role, the column is an error that says what to do.
    let out = jm()
        .args(["inspect", file, "--user-col", "qty"])
        .assert()
        .code(3);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("'qty' has the Parquet type int16") && err.contains("cast it when exporting"),
        "{err}"
    );
}

/// A tiny seeded generator, so the damaged files are the same every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn damaged_parquet_files_are_a_data_error_with_the_file_name() {
    let good = std::fs::read("fixtures/parquet/shop_small.parquet").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(11);
    let mut codes = [0usize; 2];
    for i in 0..60 {
        let mut bytes = good.clone();
        match i % 3 {
            // Flip bytes anywhere (pages, dictionaries, the footer).
            0 => {
                for _ in 0..1 + rng.next() % 8 {
                    let at = rng.next() as usize % bytes.len();
                    bytes[at] ^= 1 << (rng.next() % 8);
                }
            }
            // Damage the footer: the metadata the reader trusts most.
            1 => {
                let n = bytes.len();
                for _ in 0..4 {
                    let at = n - 8 - (rng.next() as usize % 400.min(n - 8));
                    bytes[at] = rng.next() as u8;
                }
            }
            // Cut the file short.
            _ => {
                let keep = rng.next() as usize % bytes.len();
                bytes.truncate(keep);
            }
        }
        let path = dir.path().join(format!("damaged{i}.parquet"));
        std::fs::write(&path, &bytes).unwrap();
        let (code, err) = run_clean(&["inspect", s(&path)]);
        assert!(code == 0 || code == 3, "exit {code}: {err}");
        if code == 3 {
            assert!(err.contains(&format!("damaged{i}.parquet")), "{err}");
        }
        codes[usize::from(code == 3)] += 1;
    }
    assert!(
        codes[1] >= 20,
        "most damaged files should be refused: {codes:?}"
    );
}

/// Found by the fuzz target: a flipped bit makes a page claim 2^61 values;
/// the decoder's allocation fails, which Rust answers with abort.
#[test]
fn a_parquet_page_claiming_billions_of_values_is_a_data_error_not_an_abort() {
    let out = jm()
        .args(["inspect", "fixtures/parquet/damaged_alloc.parquet"])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{:?}: {err}", out.status);
    // Which column's decoder fails first depends on the threads: the
    // allocation, or another page's bad header.
    assert!(err.contains("damaged_alloc.parquet: "), "{err}");
    assert!(
        err.contains("ran out of memory while decoding it")
            || err.contains("not a readable Parquet file"),
        "{err}"
    );
}

#[test]
fn a_csv_truncated_while_it_is_read_fails_with_a_message_not_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let body: String = std::fs::read_to_string(SHOP)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    for (round, wait_ms) in [5u64, 30, 80].into_iter().enumerate() {
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            writeln!(f, "{}", header()).unwrap();
            // About 120 MB, so reading it outlasts the wait.
            for _ in 0..1100 {
                f.write_all(body.as_bytes()).unwrap();
            }
        }
        let child = Std::new(bin())
            .args(["inspect", s(&path)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(4096)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("round {round}: ended by a signal: {err}"));
        assert!(code == 0 || code == 3, "round {round}: exit {code}: {err}");
        if code == 3 {
            assert!(err.contains("big.csv"), "{err}");
        }
    }
}

#[test]
fn a_gzip_file_that_expands_past_the_limit_stops_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.csv.gz");
    let mut text = format!("{}\n", header());
    while text.len() < 2_000_000 {
        text.push_str("u1,s1,page_view,2026-01-01T00:00:00Z,/,,desktop,direct\n");
    }
    std::fs::write(&path, gz(text.as_bytes())).unwrap();
    let out = jm()
        .args(["inspect", s(&path)])
        .env("JOURNEYMAP_GZIP_LIMIT", "1000000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("bomb.csv.gz") && err.contains("gunzip -k"),
        "{err}"
    );
    // Under the limit it reads.
    jm().args(["inspect", s(&path)])
        .env("JOURNEYMAP_GZIP_LIMIT", "3000000")
        .assert()
        .success();
}

#[test]
fn out_of_range_settings_are_refused_with_their_bounds() {
    for (args, want) in [
        (
            vec!["segments", SHOP, "--on", "all", "--n-init", "100000000"],
            "between 1 and 1000",
        ),
        (
            vec!["segments", SHOP, "--on", "all", "--k", "5000"],
            "between 2 and 100",
        ),
        (
            vec![
                "propensity",
                "train",
                SHOP,
                "--target",
                "purchase",
                "--l2",
                "1e-300",
                "--model-out",
                "never-written.json",
            ],
            "1e-300 is not a number between 1e-6 and 1e9",
        ),
    ] {
        let (code, err) = run_clean(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn a_model_file_with_a_zero_standard_deviation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.json");
    let events = crate::common::generate(&dir.path().join("events.csv"), "ecommerce", 600, 4);
    jm().args([
        "propensity",
        "train",
        s(&events),
        "--target",
        "purchase",
        "--model-out",
    ])
    .arg(&model)
    .assert()
    .success();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let text = v.to_string();
    assert!(text.contains("\"sd\""), "model.json has no sd field");
    // Zero every standard deviation: every score would be NaN.
    fn zero(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "sd" {
                        *x = serde_json::json!(0.0);
                    } else {
                        zero(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(zero),
            _ => {}
        }
    }
    zero(&mut v);
    std::fs::write(&model, v.to_string()).unwrap();
    let scores = dir.path().join("scores.csv");
    let (code, err) = run_clean(&[
        "propensity",
        "score",
        s(&events),
        "--model",
        s(&model),
        "--scores-out",
        s(&scores),
    ]);
    assert_ne!(code, 0, "a broken model scored: {err}");
    assert!(err.contains("model.json") && err.contains("sd"), "{err}");
    assert!(!scores.exists());
}

#[test]
fn one_megabyte_event_name_keeps_report_md_small() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("long.csv");
    let long = "x".repeat(1 << 20);
    let mut text = std::fs::read_to_string(SHOP).unwrap();
    text.push_str(&format!(
        "u0000001,u0000001-s9,{long},2026-11-09T12:48:00.000Z,/,,desktop,direct\n"
    ));
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("out");
    jm().args(["report", s(&data), "--out", s(&out)])
        .assert()
        .success();
    let md = std::fs::metadata(out.join("report.md")).unwrap().len();
    assert!(md < 64 * 1024, "report.md is {md} bytes");
    // The full name stays in the JSON.
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(json.contains(&long));
}

// ---- injection --------------------------------------------------------

const NASTY: [&str; 10] = [
    "a`b",
    "<script>alert(1)</script>",
    "x|y",
    "line1\nline2",
    "close]]",
    "--> arrow",
    "[[interventions]]",
    "quote\"d",
    "<img src=x onerror=alert(1)>",
    "**bold**",
];

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Sessions over the nasty names, with a nasty device and user id too.
fn nasty_export(dir: &Path) -> PathBuf {
    let mut text = String::from("user_id,session_id,event,timestamp,device\n");
    let mut t = 1_700_000_000u64;
    for u in 0..60 {
        let user = if u % 7 == 0 {
            format!("=cmd|{u}<b>")
        } else {
            format!("u{u}")
        };
        for k in 0..6 {
            let e = NASTY[(u * 3 + k * 5) % NASTY.len()];
            let e = if k == 5 && u % 2 == 0 { "purchase" } else { e };
            let device = if u % 3 == 0 { "<b>dev</b>" } else { "x|`y`" };
            text.push_str(&format!(
                "{},s{u},{},{t},{}\n",
                csv_field(&user),
                csv_field(e),
                csv_field(device)
            ));
            t += 60;
        }
    }
    let path = dir.join("nasty.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// Unescaped pipes on a Markdown table line.
fn cells(line: &str) -> usize {
    let b = line.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
        .count()
}

#[test]
fn names_from_the_data_cannot_inject_markup_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let data = nasty_export(dir.path());
    let init = jm()
        .args(["init", s(&data)])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let init = String::from_utf8(init).unwrap();
    let parsed: toml::Table = toml::from_str(&init).unwrap_or_else(|e| panic!("{e}\n{init}"));
    assert!(!parsed.contains_key("interventions"), "{init}");
    let config = file(dir.path(), "nasty.journey.toml", &init);

    let out = dir.path().join("out");
    jm().args(["report", s(&data), "--config", s(&config), "--out", s(&out)])
        .assert()
        .success();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for raw in ["<script", "<img", "<b>", "</b>"] {
        assert!(!md.contains(raw), "raw {raw} in report.md:\n{md}");
    }
    // Every table keeps one column count: no pipe or newline from the data
    // splits a row.
    let mut table: Vec<&str> = Vec::new();
    for line in md.lines().chain(std::iter::once("")) {
        if line.starts_with('|') {
            table.push(line);
            continue;
        }
        if let Some(first) = table.first() {
            let n = cells(first);
            for row in &table {
                assert_eq!(cells(row), n, "broken table row {row:?} in:\n{md}");
            }
        }
        table.clear();
    }
    // Mermaid labels stay inside their quotes.
    if let Some(start) = md.find("```mermaid") {
        let block = &md[start..start + md[start + 3..].find("```").unwrap() + 6];
        for l in block.lines().skip(1) {
            assert!(!l.contains("-->") || l.matches('"').count() % 2 == 0, "{l}");
        }
    }
}

// ---- outputs a nightly job can trust ----------------------------------

fn verify(dir: &Path) -> i32 {
    jm().args(["verify", s(dir)])
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("journeymap-tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_report_killed_at_any_moment_is_never_mistaken_for_a_whole_one() {
    let dir = tempfile::tempdir().unwrap();
    let csv = crate::common::generate(&dir.path().join("events.csv"), "ecommerce", 1500, 3);
    let config = dir.path().join("events.journey.toml");
    let out = dir.path().join("out");
    // A first whole report, so kills land on top of an old one.
    jm().args(["report", s(&csv), "--config", s(&config), "--out", s(&out)])
        .assert()
        .success();
    assert_eq!(verify(&out), 0);
    let mut rng = Lcg(5);
    for round in 0..10 {
        let mut child = Std::new(bin())
            .args(["report", s(&csv), "--config", s(&config), "--out", s(&out)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.next() % 600));
        let _ = child.kill();
        let _ = child.wait();
        let whole = verify(&out);
        let has_json = out.join("report.json").exists();
        assert!(
            (has_json && whole == 0) || (!has_json && whole == 3),
            "round {round}: report.json {has_json}, verify exit {whole}"
        );
    }
    jm().args(["report", s(&csv), "--config", s(&config), "--out", s(&out)])
        .assert()
        .success();
    assert_eq!(verify(&out), 0);
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
}

#[test]
fn two_runs_into_one_directory_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let spawn = || {
        Std::new(bin())
            .args(["report", SHOP, "--out", s(&out)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(verify(&out), 0);
    assert!(leftovers(&out).is_empty());
}

#[cfg(unix)]
#[test]
fn a_symlinked_output_is_written_through_and_inputs_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let elsewhere = dir.path().join("elsewhere.md");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(&elsewhere, "old").unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("report.md")).unwrap();
    jm().args(["report", SHOP, "--out", s(&out)])
        .assert()
        .success();
    assert!(out.join("report.md").is_symlink());
    assert!(
        std::fs::read_to_string(&elsewhere)
            .unwrap()
            .starts_with("# Journey report")
    );

    let data = dir.path().join("events.csv");
    std::fs::copy(SHOP, &data).unwrap();
    let before = std::fs::read(&data).unwrap();
    let (code, err) = run_clean(&["inspect", s(&data), "--rejects", s(&data)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("events.csv"), "{err}");
    assert_eq!(std::fs::read(&data).unwrap(), before);
}

#[test]
fn a_dash_streams_to_stdout_and_reads_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let bad = file(
        dir.path(),
        "bad.csv",
        "user_id,event,timestamp\nu1,a,2026-01-01T00:00:00Z\nu2,b,not a time\n",
    );
    jm().args(["inspect", s(&bad), "--rejects", "-"])
        .assert()
        .success()
        .stdout(predicate::str::contains("not a time"));
    let stdin = jm()
        .args(["inspect", "-", "--json"])
        .pipe_stdin(SHOP)
        .unwrap()
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&stdin).unwrap();
    assert_eq!(v["rows"]["read"], 1163);
    // Gzip on stdin is recognized by its magic bytes.
    let packed = file(dir.path(), "shop.csv.gz", gz(&std::fs::read(SHOP).unwrap()));
    let v: Value = serde_json::from_slice(
        &jm()
            .args(["inspect", "-", "--json"])
            .pipe_stdin(&packed)
            .unwrap()
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert_eq!(v["rows"]["read"], 1163);
}

// ---- nightly jobs -----------------------------------------------------

#[test]
fn a_quiet_day_without_conversions_still_reports_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let events = crate::common::generate(&dir.path().join("events.csv"), "ecommerce", 400, 9);
    let text = std::fs::read_to_string(&events).unwrap();
    let quiet: String = text
        .lines()
        .filter(|l| !l.contains(",purchase,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let csv = file(dir.path(), "quiet.csv", quiet);
    let out = dir.path().join("out");
    let (code, err) = run_clean(&[
        "report",
        s(&csv),
        "--config",
        s(&dir.path().join("events.journey.toml")),
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("purchase"), "{warnings}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Warnings"), "{md}");
}

#[test]
fn every_row_rejected_is_a_data_error_with_the_likely_fix() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("dayfirst.csv");
    let mut text = String::from("user_id,event,timestamp\n");
    for d in 13..28 {
        text.push_str(&format!("u{d},view,{d}/03/2026 10:00\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let (code, err) = run_clean(&["report", s(&csv), "--out", s(&dir.path().join("out"))]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--time-format"), "{err}");
    assert!(err.contains("%d/%m/%Y"), "{err}");
}

#[test]
fn diff_refuses_what_is_not_a_report_and_the_first_night_has_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    jm().args(["report", SHOP, "--out", s(&out)])
        .assert()
        .success();
    let report = out.join("report.json");
    let other = file(dir.path(), "other.json", "{\"hello\": 1}");
    let (code, err) = run_clean(&["diff", s(&other), s(&report)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("other.json"), "{err}");
    let missing = dir.path().join("yesterday/report.json");
    let (code, _) = run_clean(&["diff", s(&missing), s(&report)]);
    assert_eq!(code, 2);
    let (code, err) = run_clean(&["diff", s(&missing), s(&report), "--allow-missing-old"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn exact_duplicate_rows_are_counted_and_dropped_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("dup.csv");
    let text = std::fs::read_to_string(SHOP).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let again: Vec<&str> = lines[1..=25].to_vec();
    lines.extend(again);
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let v = inspect_json(&[s(&csv)]);
    assert_eq!(v["rows"]["read"], 1188);
    assert_eq!(v["rows"]["duplicates"], 25);
    assert_eq!(v["rows"]["used"], 1188);
    let v = inspect_json(&[s(&csv), "--drop-duplicates"]);
    assert_eq!(v["rows"]["used"], 1163);
}

/// `inspect` hashes property cells instead of reading their values; the
/// duplicate count must be the one a full read gives: a copy that differs
/// in any property is no copy, a missing cell equals an empty one, and a
/// second file that lacks a column (null there) or orders its columns
/// otherwise matches rows of the first.
#[test]
fn duplicates_compare_every_property_without_reading_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let a = file(
        dir.path(),
        "a.csv",
        "user_id,event,timestamp,plan,note\n\
         u1,view,2026-01-01T00:00:00Z,pro,x\n\
         u1,view,2026-01-01T00:00:00Z,pro,x\n\
         u1,view,2026-01-01T00:00:00Z,pro,y\n\
         u1,view,2026-01-01T00:00:00Z,free,x\n\
         u2,view,2026-01-01T00:00:00Z,pro,\n\
         u2,view,2026-01-01T00:00:00Z, pro ,\n\
         u3,view,2026-01-01T00:00:00Z,,x\n",
    );
    let b = file(
        dir.path(),
        "b.csv",
        "note,timestamp,event,user_id\n\
         x,2026-01-01T00:00:00Z,view,u3\n\
         x,2026-01-01T00:00:00Z,view,u1\n",
    );
    // Copies: u1's second row, u2's second (trimmed, the note empty in
    // both), b's u3 (no plan column = missing). b's u1 lacks the plan pro.
    let v = inspect_json(&[s(&a), s(&b)]);
    assert_eq!(v["rows"]["duplicates"], 3, "{v}");
    let v = inspect_json(&[s(&a), s(&b), "--drop-duplicates"]);
    assert_eq!(v["rows"]["used"], 6, "{v}");
}

#[test]
fn init_guesses_the_conversion_from_the_data_and_matches_stage_words_whole() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("shop.csv");
    let mut text = String::from("user_id,event,timestamp\n");
    let mut t = 1_700_000_000u64;
    for u in 0..40 {
        let mut path = vec!["home", "Desperate Measures", "delivery_choice"];
        if u % 2 == 0 {
            path.push("payment_done");
        }
        for e in path {
            text.push_str(&format!("u{u},{e},{t}\n"));
            t += 30;
        }
    }
    std::fs::write(&csv, text).unwrap();
    let init = jm()
        .args(["init", s(&csv)])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let init = String::from_utf8(init).unwrap();
    let cfg: toml::Table = toml::from_str(&init).unwrap();
    assert_eq!(
        cfg["conversion"]["event"].as_str(),
        Some("payment_done"),
        "{init}"
    );
    if let Some(stages) = cfg.get("stages").and_then(|s| s.as_array()) {
        for st in stages {
            if st["name"].as_str() == Some("Advocacy") {
                assert!(!st.to_string().contains("Desperate"), "{init}");
            }
        }
    }
    if let Some(steps) = cfg
        .get("funnel")
        .and_then(|f| f.get("steps"))
        .and_then(|s| s.as_array())
    {
        assert!(steps.len() >= 2, "{init}");
    }
}

/// lifetimes' CDNOW transactions, as pandas writes them: the date is the
/// integer 19970101. Read as epoch seconds it was 1970-08-20 with exit 0.
#[test]
fn integer_dates_from_a_warehouse_export_are_dates() {
    let dir = tempfile::tempdir().unwrap();
    let csv = file(
        dir.path(),
        "cdnow.csv",
        "customer_id,date,number_of_cds,dollar_value,event\n1,19970101,1,11.77,purchase\n2,19970112,1,12.0,purchase\n2,19980630,5,77.0,purchase\n",
    );
    let v = inspect_json(&[s(&csv), "--user-col", "customer_id", "--time-col", "date"]);
    assert_eq!(v["time_range"]["first"], "1997-01-01T00:00:00.000Z");
    assert_eq!(v["time_range"]["last"], "1998-06-30T00:00:00.000Z");
}
