//! `journeymap serve` end to end on a loopback port: every endpoint, a
//! reload on SIGHUP and on a file change, a refused reload, overrides, bad
//! requests and a graceful stop. Bounded: every read has a timeout and the
//! whole test sends a few dozen requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{generate, jm, read_csv};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("journeymap"))
        .arg("serve")
        .args(args)
        .args(["--bind", "127.0.0.1:0", "--watch-interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("serve printed its address");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, addr }
}

/// One request on its own connection: (status, headers, body).
fn request(addr: &str, raw: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn get(addr: &str, target: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = request(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    let v = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, v)
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn signal(s: &Server, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(s.child.id() as i32, sig);
    }
}

fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn serve_answers_reloads_overrides_refuses_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("books.csv");
    generate(&data, "bookstore", 600, 3);
    let model = dir.path().join("recs.model");
    let recs = dir.path().join("recs.csv");
    jm().arg("recommend")
        .arg("train")
        .arg(&data)
        .arg("--config")
        .arg(dir.path().join("books.journey.toml"))
        .arg("--out")
        .arg(&recs)
        .arg("--model-out")
        .arg(&model)
        .arg("--catalog")
        .arg(dir.path().join("books.catalog.csv"))
        .arg("-q")
        .assert()
        .success();
    let scores = dir.path().join("scores.csv");
    std::fs::write(
        &scores,
        "user_id,status,cutoff,score,risk,risk_band,stage,action\nr000001,scored,2026-11-01T00:00:00.000Z,0.2,0.8,high,Purchase,cart_reminder_email\nr000002,scored,2026-11-01T00:00:00.000Z,0.9,0.1,low,Purchase,(no action)\n",
    )
    .unwrap();
    let overrides = dir.path().join("overrides.csv");
    write_atomic(
        &overrides,
        "scope,id,rule,value,note\nuser,r000003,force_items,b0002 zz-new,staff pick\nuser,r000004,suppress,,opted out\nuser,r000005,force_action,call_back,\n",
    );
    let s = start(&[
        "--model",
        &model.display().to_string(),
        "--scores",
        &scores.display().to_string(),
        "--overrides",
        &overrides.display().to_string(),
    ]);
    let a = s.addr.as_str();

    assert_eq!(
        get(a, "/healthz"),
        (200, serde_json::json!({"status": "ok"}))
    );
    let (st, ready) = get(a, "/readyz");
    assert_eq!(st, 200);
    assert_eq!(ready["users"], 600);
    let version = ready["model_version"].clone();

    // A known user's answer is recs.csv's list, rank by rank, titles in
    // the reasons and new catalog items included.
    let rows = read_csv(&recs);
    let with_new = rows
        .iter()
        .find(|r| r["source"] == "new_in_category")
        .map(|r| r["user_id"].clone())
        .expect("some list holds a new catalog item");
    for user in [rows[0]["user_id"].clone(), with_new] {
        let (st, v) = get(a, &format!("/v1/users/{user}/recommendations"));
        assert_eq!(st, 200);
        let mine: Vec<_> = rows.iter().filter(|r| r["user_id"] == user).collect();
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), mine.len());
        for (it, r) in items.iter().zip(&mine) {
            assert_eq!(it["item_id"], r["item_id"].as_str());
            assert_eq!(it["source"], r["source"].as_str());
            assert_eq!(it["reason"], r["reason"].as_str());
            assert_eq!(it["rank"].to_string(), r["rank"]);
        }
        assert_eq!(v["model_version"], version);
    }
    let user = &rows[0]["user_id"];
    let (_, v) = get(a, &format!("/v1/users/{user}/recommendations?k=3"));
    assert_eq!(v["items"].as_array().unwrap().len(), 3);

    // Unknown users get the cold-start list, never an error.
    let (st, v) = get(a, "/v1/users/somebody%20new/recommendations?k=5");
    assert_eq!(st, 200);
    assert_eq!(v["user_id"], "somebody new");
    assert_eq!(v["fallback"], true);
    assert_eq!(v["items"].as_array().unwrap().len(), 5);
    assert_eq!(v["items"][0]["source"], "popularity");

    // Overrides: a forced list (an item the model does not know included),
    // a suppression, a forced action.
    let (_, v) = get(a, "/v1/users/r000003/recommendations?k=4");
    assert_eq!(v["override"], "forced");
    assert_eq!(v["items"][0]["item_id"], "b0002");
    assert_eq!(v["items"][0]["source"], "override");
    assert_eq!(v["items"][0]["reason"], "staff pick");
    assert_eq!(v["items"][1]["item_id"], "zz-new");
    assert_eq!(v["items"].as_array().unwrap().len(), 4);
    let (_, v) = get(a, "/v1/users/r000004/recommendations");
    assert_eq!(v["override"], "suppressed");
    assert!(v["items"].as_array().unwrap().is_empty());

    // Next best action: the model's, the rule's, an override's.
    let (_, v) = get(a, "/v1/users/r000001/next-best-action");
    assert_eq!(
        (v["action"].as_str(), v["source"].as_str()),
        (Some("cart_reminder_email"), Some("model"))
    );
    assert_eq!(v["risk_band"], "high");
    let (_, v) = get(a, "/v1/users/r000002/next-best-action");
    assert_eq!(
        (v["action"].as_str(), v["source"].as_str()),
        (Some("generic_reminder"), Some("rule"))
    );
    let (_, v) = get(a, "/v1/users/nobody/next-best-action");
    assert_eq!(v["source"], "rule");
    let (_, v) = get(a, "/v1/users/r000005/next-best-action");
    assert_eq!(
        (v["action"].as_str(), v["source"].as_str()),
        (Some("call_back"), Some("override"))
    );

    // Bad requests: 4xx with a JSON error, never a dropped connection.
    for (target, code) in [
        ("/v1/users/a/recommendations?k=0", 400),
        ("/v1/users/a/recommendations?k=abc", 400),
        ("/v1/users/a/recommendations?k=50", 400),
        ("/v1/users/a/recommendations?top=3", 400),
        ("/v1/users/%ff%fe/recommendations", 400),
        ("/v1/users/%/recommendations", 400),
        ("/nope", 404),
    ] {
        let (st, v) = get(a, target);
        assert_eq!(st, code, "{target}");
        assert!(
            v["error"].is_string() && v["message"].is_string(),
            "{target}: {v}"
        );
    }
    let long = "x".repeat(300);
    assert_eq!(get(a, &format!("/v1/users/{long}/recommendations")).0, 400);
    let (st, head, body) = request(
        a,
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(st, 405);
    assert!(
        head.to_ascii_lowercase().contains("allow: get, head"),
        "{head}"
    );
    assert!(body.contains("method_not_allowed"));
    // Headers past the limit: refused by hyper, the server stays up.
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "y".repeat(40_000)
    );
    let (st, _, _) = request(a, &huge);
    assert!(st == 431 || st == 400 || st == 0, "{st}");
    // Not HTTP at all.
    let _ = request(a, "\x16\x03\x01\x00\x7fgarbage\r\n\r\n");
    assert_eq!(get(a, "/healthz").0, 200);

    // Reload on SIGHUP: a new override file takes effect.
    std::fs::write(
        &overrides,
        "scope,id,rule,value,note\nuser,r000006,suppress,,\nitem,b0002,ban,,recalled\n",
    )
    .unwrap();
    signal(&s, libc::SIGHUP);
    wait_for("the SIGHUP reload", || {
        get(a, "/v1/users/r000006/recommendations").1["override"] == "suppressed"
    });
    let (_, v) = get(a, "/v1/users/r000003/recommendations");
    assert_eq!(v["override"], serde_json::Value::Null);
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["item_id"] != "b0002"),
        "banned"
    );

    // A bad model file is refused; the old model keeps serving.
    let good = std::fs::read(&model).unwrap();
    std::fs::write(
        &model,
        b"{\"format\": \"journeymap-recs\", \"version\": 1, \"trunc",
    )
    .unwrap();
    signal(&s, libc::SIGHUP);
    wait_for("the refused reload", || {
        let (_, _, m) = request(
            a,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        m.contains("journeymap_failed_reloads_total 1")
            || m.contains("journeymap_failed_reloads_total 2")
    });
    assert_eq!(get(a, "/readyz").1["model_version"], version);
    assert_eq!(get(a, &format!("/v1/users/{user}/recommendations")).0, 200);

    // A file change alone reloads (the watch).
    std::fs::write(&model, &good).unwrap();
    write_atomic(
        &overrides,
        "scope,id,rule,value,note\nuser,r000007,suppress,,\n",
    );
    wait_for("the watched reload", || {
        get(a, "/v1/users/r000007/recommendations").1["override"] == "suppressed"
    });

    let (_, _, m) = request(
        a,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        m.contains("journeymap_requests_total{route=\"recommendations\",status=\"2xx\"}"),
        "{m}"
    );
    assert!(
        m.contains("journeymap_requests_total{route=\"other\",status=\"4xx\"}"),
        "{m}"
    );

    // Graceful stop: an open keep-alive connection does not hold it up.
    let mut keep = TcpStream::connect(a).unwrap();
    keep.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    keep.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    keep.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let mut s = s;
    signal(&s, libc::SIGTERM);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(Instant::now() < until, "serve did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_refuses_what_it_cannot_serve() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.model");
    std::fs::write(&bad, "{}").unwrap();
    let out = jm()
        .args(["serve", "--model"])
        .arg(&bad)
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("recommend train --model-out"));
    let out = jm()
        .args(["serve", "--model"])
        .arg(&bad)
        .args(["--bind", "0.0.0.0:0"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("--allow-remote"));
    let out = jm()
        .args(["serve", "--model"])
        .arg(dir.path().join("missing.model"))
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("missing.model"));
}
