//! `journeymap recommend` on the bookstore generator's planted truth, on
//! shuffled rows, and on inputs that cannot work.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{generate, jm, json_of, read_csv};

fn bookstore(dir: &Path, users: usize) -> (String, String) {
    let data = dir.join("books.csv");
    generate(&data, "bookstore", users, 5);
    (
        data.display().to_string(),
        dir.join("books.journey.toml").display().to_string(),
    )
}

#[test]
fn the_models_recover_the_planted_next_items_and_cold_users_fall_back() {
    let dir = tempfile::tempdir().unwrap();
    let (data, cfg) = bookstore(dir.path(), 4000);
    let ranks = dir.path().join("ranks.csv");
    let ranks_s = ranks.display().to_string();
    let v = json_of(&[
        "recommend",
        "evaluate",
        &data,
        "--config",
        &cfg,
        "--ranks-out",
        &ranks_s,
        "-q",
    ]);
    let ev = &v["evaluation"];
    let hr = |m: &str| {
        ev["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["model"] == m)
            .unwrap_or_else(|| panic!("no {m}"))["hit_rate"]
            .as_f64()
            .unwrap()
    };
    let pop = hr("popularity");
    assert!(pop > 0.0);
    for m in ["ease", "cooc"] {
        assert!(
            hr(m) >= 2.0 * pop,
            "{m}: HR@10 {} vs popularity {pop}",
            hr(m)
        );
        let ci = &ev["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["model"] == m)
            .unwrap()["vs_popularity"]["hit_rate"];
        assert!(ci["low"].as_f64().unwrap() > 0.0, "{m}: {ci}");
    }
    // Series readers: the next volume in the top 10 for at least 80 %.
    let truth: BTreeMap<String, (String, String)> = read_csv(&dir.path().join("books.truth.csv"))
        .into_iter()
        .map(|r| {
            (
                r["user_id"].clone(),
                (r["kind"].clone(), r["next_item"].clone()),
            )
        })
        .collect();
    for m in ["ease", "cooc"] {
        let (mut n, mut hit) = (0, 0);
        for r in read_csv(&ranks) {
            let (kind, next) = &truth[&r["user_id"]];
            if r["model"] == m && kind == "series" {
                assert_eq!(&r["item_id"], next, "the held-out item is the planted one");
                n += 1;
                hit += usize::from(r["hit"] == "1");
            }
        }
        assert!(n > 300, "{n} series readers");
        assert!(hit * 100 >= 80 * n, "{m}: {hit} of {n} series readers");
    }
    // Cold-start users: their channel's list (or the global one), named so.
    let recs = dir.path().join("recs.csv");
    jm().args(["recommend", "train", &data, "--config", &cfg, "-q", "--out"])
        .arg(&recs)
        .assert()
        .success();
    let rows = read_csv(&recs);
    let mut firsts: BTreeMap<&str, &BTreeMap<String, String>> = BTreeMap::new();
    for r in &rows {
        firsts.entry(r["user_id"].as_str()).or_insert(r);
    }
    let mut cold = 0;
    for (u, r) in &firsts {
        let (kind, next) = &truth[*u];
        if kind == "cold" && next.is_empty() {
            cold += 1;
            assert_eq!(r["source"], "group_popularity", "{u}");
            assert!(
                r["reason"].starts_with("popular with channel "),
                "{u}: {}",
                r["reason"]
            );
        } else if kind == "series" {
            assert_eq!(r["source"], "ease", "{u}");
            assert!(r["reason"].starts_with("because you viewed b"), "{u}");
        }
    }
    assert!(cold > 50, "{cold} users without a book");
    assert_eq!(firsts.len(), 4000, "every user has a list");
}

#[test]
fn outputs_are_byte_identical_across_runs_and_row_orders() {
    let dir = tempfile::tempdir().unwrap();
    let (data, cfg) = bookstore(dir.path(), 800);
    // The same rows, last first.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let shuffled = dir.path().join("shuffled.csv");
    std::fs::write(&shuffled, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let run = |input: &str, tag: &str| {
        let recs = dir.path().join(format!("recs-{tag}.csv"));
        let model = dir.path().join(format!("recs-{tag}.model"));
        let out = jm()
            .args([
                "recommend",
                "train",
                input,
                "--config",
                &cfg,
                "--evaluate",
                "--json",
                "-q",
            ])
            .arg("--out")
            .arg(&recs)
            .arg("--model-out")
            .arg(&model)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        (
            out,
            std::fs::read(recs).unwrap(),
            std::fs::read(model).unwrap(),
        )
    };
    let a = run(&data, "a");
    let b = run(&data, "b");
    assert!(a == b, "two runs differ");
    // The model file is written in chunks on several threads: it must be
    // exactly serde's JSON of what it holds.
    let text = String::from_utf8(a.2.clone()).unwrap();
    let m = journeymap::recommend::modelfile::ModelFile::from_json(&text, "recs-a.model").unwrap();
    assert!(m.users.len() > 100);
    assert_eq!(serde_json::to_string(&m).unwrap() + "\n", text);
    // Ties in time keep export order, so reversing the rows changes only
    // users with two rows at the same millisecond; the generator has none.
    let c = run(&shuffled.display().to_string(), "c");
    assert!(a == c, "reversed rows give other outputs");
}

#[test]
fn inputs_that_cannot_work_fail_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = bookstore(dir.path(), 100);
    let fail = |args: &[&str], code: i32, words: &str| {
        let out = jm()
            .args(args)
            .assert()
            .code(code)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains(words), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    fail(&["recommend", "evaluate", &data], 2, "--item-col");
    fail(
        &["recommend", "evaluate", &data, "--item-col", "isbn"],
        3,
        "not in the export",
    );
    fail(
        &[
            "recommend",
            "evaluate",
            &data,
            "--item-col",
            "book_id",
            "-k",
            "0",
        ],
        2,
        "k",
    );
    fail(
        &[
            "recommend",
            "evaluate",
            &data,
            "--item-col",
            "book_id",
            "--weights",
            "view",
        ],
        2,
        "--weights",
    );
    fail(
        &["recommend", "train", &data, "--item-col", "book_id"],
        2,
        "--out",
    );
    fail(
        &[
            "recommend",
            "evaluate",
            &data,
            "--item-col",
            "book_id",
            "--ease-items",
            "0",
        ],
        2,
        "ease_items",
    );
    // An empty file and a header-only one.
    let nothing = dir.path().join("nothing.csv");
    std::fs::write(&nothing, "").unwrap();
    let nothing = nothing.display().to_string();
    fail(
        &["recommend", "evaluate", &nothing, "--item-col", "book_id"],
        3,
        "no events",
    );
    let header = dir.path().join("header.csv");
    std::fs::write(&header, "user_id,timestamp,event,book_id\n").unwrap();
    let header = header.display().to_string();
    fail(
        &[
            "recommend",
            "train",
            &header,
            "--item-col",
            "book_id",
            "--model-out",
            "m",
        ],
        3,
        "no events",
    );
    // An item column that is empty in every row.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "user_id,timestamp,event,book_id\nu1,2026-01-01T00:00:00Z,view,\nu2,2026-01-01T00:00:01Z,view,\n").unwrap();
    let empty = empty.display().to_string();
    fail(
        &["recommend", "evaluate", &empty, "--item-col", "book_id"],
        3,
        "no interactions",
    );
    // One item only.
    let one = dir.path().join("one.csv");
    std::fs::write(&one, "user_id,timestamp,event,book_id\nu1,2026-01-01T00:00:00Z,view,b1\nu2,2026-01-01T00:00:01Z,view,b1\n").unwrap();
    let one = one.display().to_string();
    fail(
        &["recommend", "evaluate", &one, "--item-col", "book_id"],
        3,
        "only one item",
    );
    // Weights that name no event of the data count nothing: a warning.
    let out = jm()
        .args([
            "recommend",
            "evaluate",
            &data,
            "--item-col",
            "book_id",
            "--weights",
            "view=1,wishlist=2",
            "-q",
        ])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("wishlist"));
}

#[test]
fn report_holds_the_section_and_writes_recs_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (data, cfg) = bookstore(dir.path(), 600);
    let out = dir.path().join("out");
    jm().args(["report", &data, "--config", &cfg, "-q", "--out"])
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let r = &v["recommend"];
    assert_eq!(r["item_column"], "book_id");
    assert!(r["evaluation"]["models"].as_array().unwrap().len() == 4);
    assert!(r["lists"]["users"].as_u64().unwrap() == 600);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Recommendations"));
    assert!(md.contains("HR@10"));
    assert!(out.join("recs.csv").exists());
    // A check on a model by name.
    jm().args([
        "report",
        &data,
        "--config",
        &cfg,
        "-q",
        "--check",
        "recommend.ease.hit_rate >= 0.99",
        "--out",
    ])
    .arg(dir.path().join("out2"))
    .assert()
    .code(4);
}

/// The bookstore's catalog with one new book per genre: no user
/// interacted with them, so only the catalog can give them a place.
fn catalog_with_new_books(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let generated = std::fs::read_to_string(dir.join("books.catalog.csv")).unwrap();
    let mut genres: Vec<String> = generated
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().to_string())
        .collect();
    genres.sort();
    genres.dedup();
    let mut text = generated.clone();
    for g in &genres {
        text.push_str(&format!(
            "new-{g},The new {g} book,author999,{g},,,2026-11-30T00:00:00.000Z\n"
        ));
    }
    let p = dir.join("catalog.csv");
    std::fs::write(&p, text).unwrap();
    (p, genres)
}

#[test]
fn a_catalog_titles_the_reasons_and_places_new_items_by_category() {
    let dir = tempfile::tempdir().unwrap();
    let (data, cfg) = bookstore(dir.path(), 600);
    let (catalog, genres) = catalog_with_new_books(dir.path());
    let train = |extra: &[&str], out: &str| {
        let recs = dir.path().join(out);
        let o = jm()
            .args([
                "recommend",
                "train",
                &data,
                "--config",
                &cfg,
                "-q",
                "--json",
                "--out",
            ])
            .arg(&recs)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, read_csv(&recs))
    };
    let (plain_v, plain) = train(&[], "plain.csv");
    let cat = catalog.to_str().unwrap();
    let (v, with) = train(&["--catalog", cat], "with.csv");
    let info = &v["catalog"];
    // The generated catalog has books nobody read yet too.
    let read: std::collections::BTreeSet<String> = read_csv(Path::new(&data))
        .into_iter()
        .map(|r| r["book_id"].clone())
        .collect();
    let genre_of: BTreeMap<String, String> = std::fs::read_to_string(&catalog)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[3].to_string())
        })
        .collect();
    let unread = genre_of.keys().filter(|b| !read.contains(*b)).count();
    assert!(unread >= genres.len());
    assert_eq!(info["new_items"], unread);
    assert_eq!(info["category_column"], "genre");
    assert_eq!(info["not_in_catalog"], 0);
    assert_eq!(info["slots"], 1);
    assert_eq!(
        v["items"], plain_v["items"],
        "new items are not interacted items"
    );
    // Model entries name the viewed book by its title.
    assert!(
        with.iter()
            .any(|r| r["reason"].starts_with("because you viewed Saga "))
    );
    assert!(
        !plain
            .iter()
            .any(|r| r["reason"].starts_with("because you viewed Saga "))
    );
    // A list with a new book holds it last, from the genre the user's
    // history weighs most; its first k-1 entries are the plain list's.
    let by_user = |rows: &[BTreeMap<String, String>]| {
        let mut m: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
        for r in rows {
            m.entry(r["user_id"].clone()).or_default().push(r.clone());
        }
        m
    };
    let (plain_u, with_u) = (by_user(&plain), by_user(&with));
    let mut placed = 0;
    for (u, list) in &with_u {
        let news: Vec<_> = list
            .iter()
            .filter(|r| r["source"] == "new_in_category")
            .collect();
        if news.is_empty() {
            continue;
        }
        placed += 1;
        assert_eq!(news.len(), 1, "{u}");
        let last = list.last().unwrap();
        assert_eq!(last["source"], "new_in_category", "{u}");
        assert!(!read.contains(&last["item_id"]), "{u}: {last:?}");
        let genre = &genre_of[&last["item_id"]];
        assert_eq!(
            last["reason"],
            format!("new in {genre}, your most viewed category"),
            "{u}"
        );
        let before: Vec<&str> = list[..list.len() - 1]
            .iter()
            .map(|r| r["item_id"].as_str())
            .collect();
        let plain_items: Vec<&str> = plain_u[u].iter().map(|r| r["item_id"].as_str()).collect();
        assert_eq!(before, plain_items[..before.len()], "{u}");
    }
    assert_eq!(info["users_with_new_items"], placed);
    assert!(placed > 300, "{placed} of 600 users");
    // No slot: the lists are the plain ones, titles aside.
    let (_, none) = train(&["--catalog", cat, "--new-items", "0"], "none.csv");
    let ids = |rows: &[BTreeMap<String, String>]| -> Vec<(String, String)> {
        rows.iter()
            .map(|r| (r["user_id"].clone(), r["item_id"].clone()))
            .collect()
    };
    assert_eq!(ids(&none), ids(&plain));
    // Mistakes name the file, the line or the setting.
    let dup = dir.path().join("dup.csv");
    std::fs::write(&dup, "book_id,title,genre\nb0001,A,x\nb0001,B,y\n").unwrap();
    for (extra, needle) in [
        (
            vec!["--catalog", dup.to_str().unwrap()],
            "line 3: item \"b0001\" is listed again",
        ),
        (
            vec!["--catalog", "/nonexistent/c.csv"],
            "cannot read the catalog",
        ),
        (
            vec!["--catalog", cat, "--catalog-category", "shelf"],
            "no column \"shelf\"",
        ),
        (
            vec!["--catalog", cat, "--new-items", "11"],
            "more than the list's 10 places",
        ),
        (vec!["--new-items", "2"], "need a catalog file"),
    ] {
        let o = jm()
            .args(["recommend", "train", &data, "--config", &cfg, "-q", "--out"])
            .arg(dir.path().join("bad.csv"))
            .args(&extra)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{extra:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
}

/// `fallback_by = ["[segments]", …]`: the report's k-means segments of
/// users serve as a fallback group, ahead of the columns.
#[test]
fn the_k_means_segments_are_a_fallback_group() {
    let dir = tempfile::tempdir().unwrap();
    let (data, cfg) = bookstore(dir.path(), 600);
    let base = std::fs::read_to_string(&cfg).unwrap();
    let with_segments = base.replace(
        "fallback_by = [\"channel\", \"device\"]",
        "fallback_by = [\"[segments]\", \"channel\"]",
    );
    assert_ne!(
        with_segments, base,
        "the generated config names its fallback columns"
    );
    let seg_cfg = dir.path().join("seg.toml");
    std::fs::write(
        &seg_cfg,
        format!("{with_segments}\n[segments]\non = \"all\"\nk = 3\n"),
    )
    .unwrap();
    let recs = dir.path().join("recs.csv");
    let model = dir.path().join("recs.model");
    // No user has 1000 items: every list comes from a fallback group.
    jm().args([
        "recommend",
        "train",
        &data,
        "-q",
        "--min-history",
        "1000",
        "--config",
    ])
    .arg(&seg_cfg)
    .arg("--out")
    .arg(&recs)
    .arg("--model-out")
    .arg(&model)
    .assert()
    .success();
    let seg: serde_json::Value = serde_json::from_slice(
        &jm()
            .args(["segments", &data, "--json", "--config"])
            .arg(&seg_cfg)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let names: Vec<String> = seg["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    let rows = read_csv(&recs);
    let from_segment = rows
        .iter()
        .filter(|r| {
            r["reason"]
                .strip_prefix("popular with segment ")
                .is_some_and(|n| names.iter().any(|s| s == n))
        })
        .count();
    assert!(
        from_segment > rows.len() / 2,
        "{from_segment} of {}",
        rows.len()
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert!(
        m["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g[0] == "segment")
    );
    // Without a [segments] section, or with session segments: said plainly.
    for (text, needle) in [
        (with_segments.clone(), "no [segments] section"),
        (
            format!("{with_segments}\n[segments]\nunit = \"session\"\non = \"all\"\nk = 3\n"),
            "unit = \"user\"",
        ),
    ] {
        std::fs::write(&seg_cfg, text).unwrap();
        let o = jm()
            .args(["recommend", "train", &data, "-q", "--config"])
            .arg(&seg_cfg)
            .arg("--out")
            .arg(&recs)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{err}");
    }
}
