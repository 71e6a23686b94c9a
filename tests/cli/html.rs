//! report.html: stable bytes, escaping of hostile names, and `render`
//! reading a report.json back.

use std::path::Path;

use predicates::prelude::*;

use crate::common::{golden, jm};

fn report(data: &Path, config: &Path, out: &Path) {
    jm().arg("report")
        .arg(data)
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--html")
        .assert()
        .success()
        .stdout(predicate::str::contains("report.html"));
}

#[test]
fn the_html_report_of_a_fixture_is_golden_stable_and_rendered_again_from_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new("fixtures/shop_small.csv");
    let config = Path::new("fixtures/html/shop_small.journey.toml");
    report(data, config, &dir.path().join("a"));
    report(data, config, &dir.path().join("b"));
    let html = std::fs::read_to_string(dir.path().join("a/report.html")).unwrap();
    golden("shop_small.report.html", &html);
    for f in ["report.html", "report.json", "report.md"] {
        assert_eq!(
            std::fs::read(dir.path().join("a").join(f)).unwrap(),
            std::fs::read(dir.path().join("b").join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    // The manifest lists report.html with its digest, so `verify` covers it.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("a/report.json")).unwrap())
            .unwrap();
    let files: Vec<&str> = json["run"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"report.html"), "{files:?}");
    jm().arg("verify")
        .arg(dir.path().join("a"))
        .assert()
        .success();

    // Self-contained: nothing is fetched, and the policy says so.
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("default-src 'none'"));
    for needle in ["http://", "https://", "src=\"//", "@import", "url(http"] {
        let allowed = html.matches("http://www.w3.org/2000/svg").count();
        let found = html.matches(needle).count();
        if needle == "http://" {
            assert_eq!(found, allowed, "only the SVG namespace may name a URL");
        } else {
            assert_eq!(found, 0, "{needle} in report.html");
        }
    }
    // Every analysis section is there with its charts.
    for (id, svgs) in [
        ("funnel", 2),
        ("journey-stages", 1),
        ("journey-map-markov-chain", 2),
        ("abandonment-segments", 1),
        ("retention", 2),
        ("lifecycle", 1),
    ] {
        let start = html
            .find(&format!("<section id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no section {id}"));
        let end = start + html[start..].find("</section>").unwrap();
        let n = html[start..end].matches("<svg").count();
        assert!(
            n >= svgs,
            "section {id}: {n} charts, expected at least {svgs}"
        );
    }
    // The summary links to sections that exist.
    for target in ["#funnel", "#abandonment-segments"] {
        assert!(html.contains(&format!("href=\"{target}\"")), "{target}");
    }

    // render: the same bytes from report.json alone.
    let again = dir.path().join("again.html");
    let md = dir.path().join("again.md");
    jm().arg("render")
        .arg(dir.path().join("a/report.json"))
        .arg("--html")
        .arg(&again)
        .arg("--md")
        .arg(&md)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
    assert_eq!(
        std::fs::read(&md).unwrap(),
        std::fs::read(dir.path().join("a/report.md")).unwrap()
    );
    // With no output named, Markdown goes to stdout.
    let out = jm()
        .arg("render")
        .arg(dir.path().join("a/report.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, std::fs::read(dir.path().join("a/report.md")).unwrap());
}

#[test]
fn hostile_event_names_render_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("evil.csv");
    let names = [
        "<script>alert(1)</script>",
        "</script><img src=x onerror=alert(2)>",
        "a&b \"quoted\" 'single'",
        "`backticks` ${x}",
        "line\nbreak",
        "</style><style>*{display:none}</style>",
        "--> <!--",
    ];
    let mut csv = String::from("user_id,event,timestamp\n");
    for u in 0..6 {
        for (k, n) in names.iter().enumerate() {
            let quoted = format!("\"{}\"", n.replace('"', "\"\""));
            csv += &format!("u{u},{quoted},2026-11-0{}T00:00:0{k}Z\n", 1 + u % 3);
        }
    }
    std::fs::write(&data, csv).unwrap();
    let config = dir.path().join("journey.toml");
    std::fs::write(
        &config,
        "[funnel]\nsteps = ['<script>alert(1)</script>', '</script><img src=x onerror=alert(2)>', '`backticks` ${x}']\n\n[[stages]]\nname = \"<b>Stage</b>\"\nevents = [\"a&b \\\"quoted\\\" 'single'\"]\n\n[conversion]\nevent = '--> <!--'\n\n[markov]\n\n[retention]\ninterval = 'day'\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    report(&data, &config, &out);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches("<script").count(), 1, "only our own script");
    assert_eq!(html.matches("</script>").count(), 1);
    assert_eq!(html.matches("<style").count(), 1, "only our own style");
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>Stage"));
    assert!(!html.contains("<!--"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("a&amp;b &quot;quoted&quot; &#39;single&#39;"));
    assert!(html.contains("&#96;backticks&#96; ${x}"));
    assert!(
        html.contains("line break"),
        "a line break in a name becomes a space"
    );
    assert!(html.contains("&lt;b&gt;Stage&lt;/b&gt;"));
}

#[test]
fn render_refuses_what_is_not_a_report_it_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": \"1.0.0\",").unwrap();
    jm().args(["render"])
        .arg(&bad)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not valid JSON at line 1"));
    std::fs::write(&bad, "{\"schema_version\": \"99.0.0\"}").unwrap();
    jm().args(["render"])
        .arg(&bad)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("report schema 99.0.0"));
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    jm().args(["render"])
        .arg(&bad)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no schema_version"));
    std::fs::write(&bad, "{\"schema_version\": \"1.0.0\", \"tool\": 3}").unwrap();
    jm().args(["render"])
        .arg(&bad)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("does not read back"));
    jm().args(["render", "no/such/report.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read no/such/report.json"));
}

#[test]
fn every_section_reads_back_from_report_json_unchanged() {
    // A report with every analysis there is, so each section's types are
    // read back: render must give report.md and report.html byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("saas.csv");
    jm().args([
        "generate",
        "--scenario",
        "saas",
        "--experiment",
        "--users",
        "900",
        "--seed",
        "12",
        "--out",
    ])
    .arg(&data)
    .assert()
    .success();
    let cfg = dir.path().join("saas.journey.toml");
    let mut toml = std::fs::read_to_string(&cfg).unwrap();
    toml += "\n[segments]\nk = 3\n\n[retention]\ninterval = \"week\"\n\n[lifecycle]\ninterval = \"week\"\ndaily_states = true\n";
    std::fs::write(&cfg, toml).unwrap();
    let out = dir.path().join("out");
    report(&data, &cfg, &out);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for s in [
        "funnel",
        "stages",
        "markov",
        "segments",
        "propensity",
        "experiment",
        "retention",
        "lifecycle",
    ] {
        assert!(json.get(s).is_some(), "the report lacks {s}");
    }
    let html = dir.path().join("r.html");
    let md = dir.path().join("r.md");
    jm().arg("render")
        .arg(out.join("report.json"))
        .arg("--html")
        .arg(&html)
        .arg("--md")
        .arg(&md)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&md).unwrap(),
        std::fs::read(out.join("report.md")).unwrap()
    );
    assert_eq!(
        std::fs::read(&html).unwrap(),
        std::fs::read(out.join("report.html")).unwrap()
    );
}
