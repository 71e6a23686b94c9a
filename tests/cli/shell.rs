//! Completions, the man pages and `--quiet`.

use crate::common::jm;

/// The subcommands as `journeymap --help` lists them.
fn subcommands() -> Vec<String> {
    let help = jm()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(help).unwrap();
    let list = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .split("\n\n")
        .next()
        .unwrap();
    let names: Vec<String> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 18, "{names:?}");
    names
}

#[test]
fn completions_and_man_pages_name_every_subcommand() {
    let subs = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = jm()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        for s in &subs {
            assert!(text.contains(s.as_str()), "{shell} completions lack {s}");
        }
    }
    let bash = jm()
        .args(["completions", "bash"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(
        String::from_utf8(bash).unwrap().contains("--html"),
        "flags are completed too"
    );
    jm().args(["completions", "tcsh"]).assert().code(2);

    let man = jm()
        .arg("man")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let man = String::from_utf8(man).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH journeymap 1"),
        "{}",
        &man[..80.min(man.len())]
    );
    for s in &subs {
        assert!(
            man.contains(&format!("journeymap\\-{}", s.replace('-', "\\-")))
                || man.contains(s.as_str()),
            "man page lacks {s}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    jm().args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(dir.path().join("journeymap.1").is_file());
    for s in &subs {
        let page = std::fs::read_to_string(dir.path().join(format!("journeymap-{s}.1")))
            .unwrap_or_else(|_| panic!("no page for {s}"));
        assert!(page.contains(".TH journeymap-"), "{s}");
        assert!(
            page.contains("Examples"),
            "{s}: the help's examples are in its page"
        );
    }
}

#[test]
fn progress_lines_go_to_stderr_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let run = |quiet: bool| {
        let mut cmd = jm();
        cmd.env("JOURNEYMAP_PROGRESS", "1").args([
            "funnel",
            "fixtures/shop_small.csv",
            "--steps",
            "page_view,purchase",
        ]);
        if quiet {
            cmd.arg("--quiet");
        }
        let out = cmd.assert().success().get_output().clone();
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (out_loud, err_loud) = run(false);
    let (out_quiet, err_quiet) = run(true);
    assert!(err_loud.contains("s] reading"), "{err_loud}");
    assert!(!err_quiet.contains("s] "), "{err_quiet}");
    assert_eq!(out_loud, out_quiet, "stdout does not depend on progress");
    drop(dir);
}
