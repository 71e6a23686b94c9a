//! Partitioned runs (docs/scaling.md): the same report as in memory, byte
//! for byte, whatever the number of partitions; refused where a section
//! cannot run partitioned; a full spill disk is a clear error that leaves
//! nothing behind.

use std::path::{Path, PathBuf};

use crate::common::{generate, jm};

/// Everything a run shows: report.json, report.md, stdout and stderr.
fn run(dir: &Path, name: &str, args: &[&str]) -> [Vec<u8>; 4] {
    let out = dir.join(name);
    let o = jm()
        .arg("report")
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout).replace(&*out.to_string_lossy(), "OUT");
    [
        std::fs::read(out.join("report.json")).unwrap(),
        std::fs::read(out.join("report.md")).unwrap(),
        stdout.into_bytes(),
        o.stderr,
    ]
}

fn same_for_every_partitioning(dir: &Path, name: &str, args: &[&str]) {
    let whole = run(dir, &format!("{name}-whole"), args);
    for n in ["2", "3", "16"] {
        let mut with = args.to_vec();
        with.extend(["--partitions", n]);
        let part = run(dir, &format!("{name}-{n}"), &with);
        for (what, (a, b)) in ["report.json", "report.md", "stdout", "stderr"]
            .iter()
            .zip(whole.iter().zip(&part))
        {
            assert!(
                a == b,
                "{name}, {n} partitions: {what} differs\n--- in memory\n{}\n--- partitioned\n{}",
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            );
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const RETAIL: &str = r#"
[funnel]
steps = ["home", "product", "add_to_cart", "checkout", "purchase"]
per = "session"
window = "2h"
trend = "day"
by = "device"
[conversion]
event = "purchase"
[markov]
states = "stage"
[[stages]]
name = "Awareness"
events = ["home", "search", "category"]
[[stages]]
name = "Consideration"
events = ["product", "view_cart", "wishlist"]
[[stages]]
name = "Purchase"
events = ["add_to_cart", "checkout", "shipping", "payment", "purchase"]
[drift]
properties = ["device", "page", "not_a_column"]
"#;

const SHOP: &str = r#"
[funnel]
steps = ["page_view", "product_view", "add_to_cart", "purchase"]
trend = "week"
by = "channel"
exclude = ["apply_coupon"]
[conversion]
event = "purchase"
[[stages]]
name = "Awareness"
events = ["page_view", "search"]
[[stages]]
name = "Consideration"
events = ["product_view", "compare", "not_an_event"]
[[stages]]
name = "Purchase"
events = ["add_to_cart", "begin_checkout", "purchase"]
[drift]
"#;

#[test]
fn partitioned_reports_equal_in_memory_ones_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shop = write(d, "shop.toml", SHOP);
    let shop = shop.to_str().unwrap();
    same_for_every_partitioning(d, "shop", &["fixtures/shop_small.csv", "--config", shop]);
    same_for_every_partitioning(
        d,
        "stages",
        &[
            "fixtures/stages/tiny.csv",
            "--config",
            "fixtures/stages/tiny.toml",
        ],
    );
    same_for_every_partitioning(
        d,
        "toy",
        &[
            "fixtures/paths/toy.csv",
            "--config",
            "fixtures/paths/toy_stages.toml",
        ],
    );
    let retail = generate(&d.join("retail.parquet"), "retail", 1500, 5);
    let cfg = write(d, "retail.toml", RETAIL);
    same_for_every_partitioning(
        d,
        "retail",
        &[retail.to_str().unwrap(), "--config", cfg.to_str().unwrap()],
    );
    let unordered = write(
        d,
        "unordered.toml",
        &SHOP.replace(
            "trend = \"week\"",
            "mode = \"unordered\"\nper = \"session\"",
        ),
    );
    same_for_every_partitioning(
        d,
        "unordered",
        &[
            "fixtures/shop_small.csv",
            "--config",
            unordered.to_str().unwrap(),
        ],
    );
}

/// Two files, the second with an extra column, rejected rows and exact
/// copies of earlier rows; sessions from gaps; duplicates dropped.
#[test]
fn partitioned_runs_account_for_ugly_input_as_in_memory_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let events = generate(&d.join("e.csv"), "ecommerce", 400, 9);
    let text = std::fs::read_to_string(&events).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;
    let first = lines[..half].join("\n") + "\n";
    let mut second = format!("{},extra\n", lines[0]);
    for l in lines[half..].iter().chain(&lines[half..half + 30]) {
        second.push_str(&format!("{l},x\n"));
    }
    second.push_str("u0000001,,page_view,not-a-time,/,,desktop,organic,x\n");
    second.push_str(",s,page_view,2026-10-06T20:47:04.032Z,/,,desktop,organic,x\n");
    let a = write(d, "a.csv", &first);
    let b = write(d, "b.csv", &second);
    let cfg = write(d, "shop.toml", SHOP);
    let (a, b, cfg) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        cfg.to_str().unwrap(),
    );
    same_for_every_partitioning(d, "ugly", &[a, b, "--config", cfg]);
    same_for_every_partitioning(
        d,
        "ugly-gaps",
        &[a, b, "--config", cfg, "--resessionize", "--drop-duplicates"],
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("ugly-gaps-3/report.json")).unwrap()).unwrap();
    let rows = &json["data"]["rows"];
    assert_eq!(rows["rejected"], 2, "{rows}");
    assert_eq!(rows["duplicates"], 30, "{rows}");
}

/// `--memory-limit` below the input's estimated size partitions the run
/// (progress names the partitions) and changes nothing in the report.
#[test]
fn a_memory_limit_below_the_input_partitions_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write(d, "shop.toml", SHOP);
    let args = ["fixtures/shop_small.csv", "--config", cfg.to_str().unwrap()];
    let out = d.join("limited");
    let o = jm()
        .env("JOURNEYMAP_PROGRESS", "1")
        .arg("report")
        .args(args)
        .args(["--memory-limit", "40K", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("partition 1 of "), "{err}");
    let whole = run(d, "whole", &args);
    assert_eq!(std::fs::read(out.join("report.json")).unwrap(), whole[0]);
    let o = jm()
        .arg("report")
        .args(args)
        .args(["--memory-limit", "6X"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown unit"));
}

#[test]
fn a_partitioned_run_refuses_sections_it_cannot_compute() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, extra, says) in [
        ("segments", "[segments]\nk = 3\n", "segments"),
        ("order2", "[markov]\norder = 2\n", "markov"),
    ] {
        let cfg = write(d, &format!("{name}.toml"), &format!("{SHOP}\n{extra}"));
        let o = jm()
            .args(["report", "fixtures/shop_small.csv", "--config"])
            .arg(&cfg)
            .args(["--partitions", "2", "--out"])
            .arg(d.join(name))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("not built for it yet") && err.contains(says),
            "{name}: {err}"
        );
        assert!(err.contains("--memory-limit"), "{err}");
        assert!(!d.join(name).exists(), "{name}: no output set on refusal");
    }
}

/// A disk that fills while spilling: an I/O error (exit 1) naming the spill
/// file and the remedy, and no spill file or directory left.
#[test]
fn a_full_spill_disk_is_a_clear_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spill = d.join("spill");
    std::fs::create_dir(&spill).unwrap();
    let cfg = write(d, "shop.toml", SHOP);
    let o = jm()
        .env("JOURNEYMAP_SPILL_LIMIT", "20000")
        .args(["report", "fixtures/shop_small.csv", "--config"])
        .arg(&cfg)
        .args(["--partitions", "2", "--spill-dir"])
        .arg(&spill)
        .arg("--out")
        .arg(d.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write the spill file") && err.contains("No space left on device"),
        "{err}"
    );
    assert!(err.contains("--spill-dir"), "{err}");
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0, "spill left");
    let o = jm()
        .args([
            "report",
            "fixtures/shop_small.csv",
            "--partitions",
            "2",
            "--spill-dir",
        ])
        .arg(d.join("missing/dir"))
        .arg("--out")
        .arg(d.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot create the spill directory"), "{err}");
}
