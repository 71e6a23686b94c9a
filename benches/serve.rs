//! Load on `journeymap serve` over loopback: 100k users' lists loaded, then
//! (1) a paced run at a fixed rate (default 1,000 requests/s) measuring
//! each request's latency from its scheduled send time, so a stall counts
//! against every request it delays (no coordinated omission), and (2) an
//! unpaced run for throughput. Reports p50/p99/p99.9/max, requests/s and
//! the server's resident memory.
//!
//!   cargo bench --bench serve            (scripts/bench_serve.sh builds first)
//!   JOURNEYMAP_SERVE_REQUESTS=20000 JOURNEYMAP_SERVE_RATE=1000 cargo bench --bench serve

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use journeymap::recommend::modelfile::{Compact, ModelFile, SourceCode};

const USERS: usize = 100_000;
const ITEMS: u32 = 10_000;
const CONNECTIONS: usize = 4;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn model() -> ModelFile {
    let mut x: u64 = 7;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let users = (0..USERS)
        .map(|u| {
            let list = (0..10)
                .map(|r| {
                    Compact(
                        (next() % u64::from(ITEMS)) as u32,
                        1.0 / (r as f32 + 1.0),
                        SourceCode::Ease,
                        Some((next() % u64::from(ITEMS)) as u32),
                    )
                })
                .collect();
            (format!("u{u:06}"), list)
        })
        .collect();
    ModelFile {
        format: "journeymap-recs".into(),
        version: 2,
        model: "ease".into(),
        item_column: "item_id".into(),
        k: 10,
        generated_at: "2026-11-30T00:00:00.000Z".into(),
        items: (0..ITEMS).map(|i| format!("b{i:05}")).collect(),
        titles: Vec::new(),
        categories: Vec::new(),
        groups: Vec::new(),
        global: (0..10)
            .map(|i| Compact(i, 100.0 - i as f32, SourceCode::Popularity, None))
            .collect(),
        group_lists: Vec::new(),
        users,
    }
}

struct Client {
    s: BufReader<TcpStream>,
}

impl Client {
    fn new(addr: &str) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client {
            s: BufReader::new(s),
        }
    }
    /// One keep-alive GET; panics on anything but 200.
    fn get(&mut self, target: &str) {
        // One write, one segment: `write!` on the stream would send each
        // formatted piece as its own packet (TCP_NODELAY is on).
        let req = format!("GET {target} HTTP/1.1\r\nHost: b\r\n\r\n");
        self.s.get_mut().write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.s.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        let mut len = 0;
        loop {
            line.clear();
            self.s.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.s.read_exact(&mut body).unwrap();
    }
}

fn target(i: usize) -> String {
    // Every 20th request is for an unknown user (the cold-start list).
    if i.is_multiple_of(20) {
        format!("/v1/users/new{i}/recommendations?k=10")
    } else {
        format!("/v1/users/u{:06}/recommendations?k=10", (i * 7919) % USERS)
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

fn rss_mib(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let requests = env("JOURNEYMAP_SERVE_REQUESTS", 100_000);
    let rate = env("JOURNEYMAP_SERVE_RATE", 1_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recs.model");
    std::fs::write(&path, serde_json::to_string(&model()).unwrap()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("journeymap");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release ({})",
        bin.display()
    );
    let started = Instant::now();
    let mut child = Command::new(&bin)
        .args(["serve", "--no-watch", "--bind", "127.0.0.1:0", "--model"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let load_s = started.elapsed().as_secs_f64();
    let idle_rss = rss_mib(child.id());

    // Paced: each connection sends at rate / CONNECTIONS.
    let per = requests / CONNECTIONS;
    let interval = Duration::from_secs_f64(CONNECTIONS as f64 / rate as f64);
    let t0 = Instant::now() + Duration::from_millis(100);
    let both: Vec<(Duration, Duration)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let addr = addr.clone();
                s.spawn(move || {
                    let mut cl = Client::new(&addr);
                    let mut out = Vec::with_capacity(per);
                    for i in 0..per {
                        let due = t0
                            + interval * i as u32
                            + interval.mul_f64(c as f64 / CONNECTIONS as f64);
                        if let Some(w) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(w);
                        }
                        let sent = Instant::now();
                        cl.get(&target(i * CONNECTIONS + c));
                        let done = Instant::now();
                        out.push((done.saturating_duration_since(due), done - sent));
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let paced_s = t0.elapsed().as_secs_f64();
    let mut lat: Vec<Duration> = both.iter().map(|x| x.0).collect();
    let mut service: Vec<Duration> = both.iter().map(|x| x.1).collect();
    lat.sort();
    service.sort();
    let busy_rss = rss_mib(child.id());

    // Unpaced: as fast as four keep-alive connections go.
    let t1 = Instant::now();
    std::thread::scope(|s| {
        for c in 0..CONNECTIONS {
            let addr = addr.clone();
            s.spawn(move || {
                let mut cl = Client::new(&addr);
                for i in 0..per {
                    cl.get(&target(i * CONNECTIONS + c + 1));
                }
            });
        }
    });
    let burst_s = t1.elapsed().as_secs_f64();
    let peak_rss = rss_mib(child.id());
    // SAFETY: SIGTERM to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();

    println!(
        "serve: {USERS} users x 10 items ({ITEMS} items) loaded in {load_s:.2} s; RSS {idle_rss:.0} MiB idle, {busy_rss:.0} MiB after the paced run, {peak_rss:.0} MiB after the unpaced run"
    );
    println!(
        "paced {} requests at {rate}/s over {CONNECTIONS} keep-alive connections ({paced_s:.1} s): latency p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        lat.len(),
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        pct(&lat, 0.999),
        pct(&lat, 1.0)
    );
    println!(
        "  the same requests from send to last byte (without the client's own wake-up lateness): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        pct(&service, 0.50),
        pct(&service, 0.99),
        pct(&service, 0.999),
        pct(&service, 1.0)
    );
    println!(
        "unpaced {} requests over {CONNECTIONS} connections: {burst_s:.2} s, {:.0} requests/s",
        per * CONNECTIONS,
        (per * CONNECTIONS) as f64 / burst_s
    );
    println!("stopped on SIGTERM: {status}");
}
