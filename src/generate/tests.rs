use std::collections::HashMap;
use std::path::Path;

use chrono::DateTime;
use polars::prelude::*;

use super::*;

fn run(scenario: Scenario, users: usize, seed: u64, out: &Path) -> GenerateSummary {
    generate(&GenerateOptions {
        scenario,
        users,
        seed,
        out: out.to_path_buf(),
    })
    .unwrap()
}

fn parse_ms(ts: &str) -> i64 {
    DateTime::parse_from_rfc3339(ts).unwrap().timestamp_millis()
}

struct TruthRow {
    segment: String,
    p: f64,
    converted: bool,
}

fn read_truth(p: &Path) -> Vec<(String, TruthRow)> {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user_id,segment,p_convert,converted"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{l}");
            assert_eq!(f[2].split('.').nth(1).map(str::len), Some(6), "{l}");
            let row = TruthRow {
                segment: f[1].to_string(),
                p: f[2].parse().unwrap(),
                converted: match f[3] {
                    "0" => false,
                    "1" => true,
                    other => panic!("converted = {other}"),
                },
            };
            (f[0].to_string(), row)
        })
        .collect()
}

#[test]
fn truth_paths() {
    assert_eq!(
        truth_path(Path::new("data/events.csv")),
        Path::new("data/events.truth.csv")
    );
    assert_eq!(truth_path(Path::new("x.parquet")), Path::new("x.truth.csv"));
    assert_eq!(truth_path(Path::new("x.csv.gz")), Path::new("x.truth.csv"));
    assert_eq!(
        truth_path(Path::new("/tmp/a.b.CSV")),
        Path::new("/tmp/a.b.truth.csv")
    );
}

#[test]
fn deterministic_per_seed_all_formats() {
    let dir = tempfile::tempdir().unwrap();
    for scenario in [Scenario::Ecommerce, Scenario::Saas] {
        for ext in ["csv", "csv.gz", "parquet"] {
            let a = dir.path().join(format!("a.{ext}"));
            let b = dir.path().join(format!("b.{ext}"));
            let c = dir.path().join(format!("c.{ext}"));
            run(scenario, 300, 7, &a);
            run(scenario, 300, 7, &b);
            run(scenario, 300, 8, &c);
            let read = |p: &Path| std::fs::read(p).unwrap();
            assert_eq!(read(&a), read(&b), "{scenario:?} {ext}");
            assert_ne!(read(&a), read(&c), "{scenario:?} {ext}");
            assert_eq!(read(&truth_path(&a)), read(&truth_path(&b)));
            assert_ne!(read(&truth_path(&a)), read(&truth_path(&c)));
        }
    }
    // Only final files remain: temp files were renamed.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

/// Structural invariants of the CSV, checked against the truth file.
fn check_csv(scenario: Scenario, users: usize, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.csv");
    let summary = run(scenario, users, seed, &out);
    let conv = scenario.conversion_event();
    let truth = read_truth(&summary.truth);
    assert_eq!(truth.len(), users);
    for (i, (uid, row)) in truth.iter().enumerate() {
        assert_eq!(uid, &format!("u{:07}", i + 1));
        assert!(row.p > 0.0 && row.p < 1.0);
    }

    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("user_id,session_id,event,timestamp,page,product_id,device,channel")
    );
    let mut order: Vec<String> = Vec::new();
    let mut conversions: HashMap<String, u32> = HashMap::new();
    let mut rows = 0u64;
    let mut prev: Option<(String, String, i64)> = None;
    for line in lines {
        rows += 1;
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 8, "{line}");
        let (uid, sid, ev, ts, page, pid, device, channel) =
            (f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
        assert!(sid.starts_with(&format!("{uid}-s")), "{line}");
        assert!(ts.ends_with('Z') && ts.len() == 24, "{line}");
        assert!(page.starts_with('/'), "{line}");
        assert!(["desktop", "mobile", "tablet"].contains(&device));
        assert!(["organic", "paid_search", "social", "email", "direct"].contains(&channel));
        let product_event = matches!(
            ev,
            "product_view" | "add_to_cart" | "remove_from_cart" | "use_feature"
        );
        assert_eq!(product_event, !pid.is_empty(), "{line}");
        let t = parse_ms(ts);
        match &prev {
            Some((pu, ps, pt)) if pu == uid => {
                assert!(t >= *pt, "timestamps go back: {line}");
                let gap = t - pt;
                if ps == sid {
                    assert!(
                        (5_000..=120_000).contains(&gap),
                        "in-session gap {gap}: {line}"
                    );
                } else {
                    assert!(gap > 45 * 60_000, "session gap {gap}: {line}");
                }
            }
            _ => {
                assert!(
                    !order.contains(&uid.to_string()),
                    "user {uid} not contiguous"
                );
                assert!(sid.ends_with("-s1"), "{line}");
                order.push(uid.to_string());
            }
        }
        if ev == conv {
            *conversions.entry(uid.to_string()).or_default() += 1;
        }
        prev = Some((uid.to_string(), sid.to_string(), t));
    }
    assert_eq!(rows, summary.events);
    assert_eq!(order.len(), users, "every user has events");
    let mut converted = 0;
    for (uid, row) in &truth {
        let n = conversions.get(uid).copied().unwrap_or(0);
        assert_eq!(n, u32::from(row.converted), "{uid}");
        converted += u64::from(row.converted);
    }
    assert_eq!(converted, summary.converted_users);
}

#[test]
fn csv_structure_ecommerce() {
    check_csv(Scenario::Ecommerce, 2_000, 1);
}

#[test]
fn csv_structure_saas() {
    check_csv(Scenario::Saas, 2_000, 2);
}

#[test]
fn parquet_matches_csv() {
    let dir = tempfile::tempdir().unwrap();
    for scenario in [Scenario::Ecommerce, Scenario::Saas] {
        let csv = dir.path().join("e.csv");
        let pq = dir.path().join("e.parquet");
        let gz = dir.path().join("e.csv.gz");
        let s1 = run(scenario, 500, 3, &csv);
        let s2 = run(scenario, 500, 3, &pq);
        run(scenario, 500, 3, &gz);
        assert_eq!(s1.events, s2.events);

        let mut decoded = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()),
            &mut decoded,
        )
        .unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(decoded, text);

        let df = ParquetReader::new(std::fs::File::open(&pq).unwrap())
            .finish()
            .unwrap();
        assert_eq!(df.height() as u64, s1.events);
        let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "user_id",
                "session_id",
                "event",
                "timestamp",
                "page",
                "product_id",
                "device",
                "channel"
            ]
        );
        assert_eq!(
            df.column("timestamp").unwrap().dtype(),
            &DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
        );
        let strs = |n: &str| df.column(n).unwrap().str().unwrap().clone();
        let (uid, sid, ev, page, pid, dev, ch) = (
            strs("user_id"),
            strs("session_id"),
            strs("event"),
            strs("page"),
            strs("product_id"),
            strs("device"),
            strs("channel"),
        );
        let ts = df
            .column("timestamp")
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .clone();
        for (i, line) in text.lines().skip(1).enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(uid.get(i), Some(f[0]));
            assert_eq!(sid.get(i), Some(f[1]));
            assert_eq!(ev.get(i), Some(f[2]));
            assert_eq!(ts.get(i), Some(parse_ms(f[3])));
            assert_eq!(page.get(i), Some(f[4]));
            assert_eq!(pid.get(i), if f[5].is_empty() { None } else { Some(f[5]) });
            assert_eq!(dev.get(i), Some(f[6]));
            assert_eq!(ch.get(i), Some(f[7]));
        }
    }
}

#[test]
fn empty_and_bad_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("sub/empty.parquet");
    let s = run(Scenario::Saas, 0, 1, &pq);
    assert_eq!(s.events, 0);
    let df = ParquetReader::new(std::fs::File::open(&pq).unwrap())
        .finish()
        .unwrap();
    assert_eq!((df.height(), df.width()), (0, 8));
    let bad = generate(&GenerateOptions {
        scenario: Scenario::Saas,
        users: 1,
        seed: 1,
        out: dir.path().join("x.json"),
    });
    assert!(bad.is_err());
}

/// Aggregate behaviour the rest of the project relies on (segment separation,
/// conversion following the planted probabilities, funnel shape).
#[derive(Debug, Default)]
struct Stats {
    users: u64,
    events: u64,
    converted: u64,
    p_sum: f64,
    carted: u64,
    carted_converted: u64,
    by_segment: HashMap<String, (u64, u64, f64)>,
}

fn stats(scenario: Scenario, users: usize, seed: u64) -> Stats {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let summary = run(scenario, users, seed, &out);
    let truth = read_truth(&summary.truth);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut carted: HashMap<&str, bool> = HashMap::new();
    let mut events_per_user: HashMap<&str, u64> = HashMap::new();
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        let uid = f.next().unwrap();
        let ev = f.nth(1).unwrap();
        *events_per_user.entry(uid).or_default() += 1;
        if ev == "add_to_cart" {
            carted.insert(uid, true);
        }
    }
    let mut st = Stats {
        users: users as u64,
        events: summary.events,
        ..Default::default()
    };
    for (uid, row) in &truth {
        st.converted += u64::from(row.converted);
        st.p_sum += row.p;
        if carted.contains_key(uid.as_str()) {
            st.carted += 1;
            st.carted_converted += u64::from(row.converted);
        }
        let seg = st.by_segment.entry(row.segment.clone()).or_default();
        seg.0 += 1;
        seg.1 += u64::from(row.converted);
        seg.2 += events_per_user[uid.as_str()] as f64;
    }
    st
}

#[test]
fn aggregate_shape() {
    for scenario in [Scenario::Ecommerce, Scenario::Saas] {
        let st = stats(scenario, 20_000, 11);
        let mean_events = st.events as f64 / st.users as f64;
        assert!(
            (30.0..=42.0).contains(&mean_events),
            "{scenario:?} {mean_events}"
        );
        // Realised conversions track the planted probabilities.
        let rate = st.converted as f64 / st.users as f64;
        let expected = st.p_sum / st.users as f64;
        assert!(
            (rate - expected).abs() < 0.015,
            "{scenario:?} {rate} vs {expected}"
        );
        assert_eq!(st.by_segment.len(), 4);
        if scenario == Scenario::Ecommerce {
            let abandonment = 1.0 - st.carted_converted as f64 / st.carted as f64;
            assert!(
                (0.62..=0.78).contains(&abandonment),
                "abandonment {abandonment}"
            );
            let conv = |s: &str| {
                let (n, c, _) = st.by_segment[s];
                c as f64 / n as f64
            };
            assert!(conv("decisive_buyer") > conv("price_sensitive"));
            assert!(conv("price_sensitive") > conv("cart_abandoner"));
            assert!(conv("cart_abandoner") > conv("window_shopper"));
        }
    }
}

/// `cargo test --release --lib generate::tests::report -- --ignored --nocapture`
#[test]
#[ignore]
fn report() {
    for scenario in [Scenario::Ecommerce, Scenario::Saas] {
        let st = stats(scenario, 100_000, 1);
        println!(
            "{scenario:?}: events/user {:.2}, conversion {:.4} (mean p {:.4})",
            st.events as f64 / st.users as f64,
            st.converted as f64 / st.users as f64,
            st.p_sum / st.users as f64,
        );
        if st.carted > 0 {
            println!(
                "  users with add_to_cart {:.4}, cart abandonment {:.4}",
                st.carted as f64 / st.users as f64,
                1.0 - st.carted_converted as f64 / st.carted as f64
            );
        }
        let mut segs: Vec<_> = st.by_segment.iter().collect();
        segs.sort_by(|a, b| a.0.cmp(b.0));
        for (name, (n, c, ev)) in segs {
            println!(
                "  {name:16} share {:.3} conv {:.4} events/user {:.1}",
                *n as f64 / st.users as f64,
                *c as f64 / *n as f64,
                ev / *n as f64
            );
        }
    }
}

/// `cargo test --release --lib generate::tests::perf -- --ignored --nocapture`
#[test]
#[ignore]
fn perf() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv", "parquet", "csv.gz"] {
        let out = dir.path().join(format!("perf.{ext}"));
        let t = std::time::Instant::now();
        let s = run(Scenario::Ecommerce, 280_000, 1, &out);
        let secs = t.elapsed().as_secs_f64();
        let size = std::fs::metadata(&out).unwrap().len();
        println!(
            "{ext}: {} events, {} users in {secs:.2}s ({:.1} MB)",
            s.events,
            s.users,
            size as f64 / 1e6
        );
        std::fs::remove_file(&out).unwrap();
    }
}

/// The SaaS truth is a logistic function of each user's first 24 hours (the
/// propensity acceptance test relies on it): recomputing p_convert from the
/// events gives the truth file's value, and every upgrade comes at least 3
/// days after the user's first event, in a session of its own at the end.
#[test]
fn saas_truth_is_the_first_day_logistic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.csv");
    let summary = run(Scenario::Saas, 1_500, 7, &out);
    let truth = read_truth(&summary.truth);
    let text = std::fs::read_to_string(&out).unwrap();
    // Per user: first ts, window counts, device, channel, upgrade ts and sessions.
    #[derive(Default)]
    struct U {
        first: i64,
        invited: bool,
        project: bool,
        uses: u32,
        device: String,
        channel: String,
        upgrade: Option<(i64, String)>,
        last_session: String,
    }
    let mut users: HashMap<String, U> = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let t = parse_ms(f[3]);
        let u = users.entry(f[0].to_string()).or_insert_with(|| U {
            first: t,
            device: f[6].to_string(),
            channel: f[7].to_string(),
            ..Default::default()
        });
        if t < u.first + saas::WINDOW_MS {
            match f[2] {
                "invite_teammate" => u.invited = true,
                "create_project" => u.project = true,
                "use_feature" => u.uses += 1,
                _ => {}
            }
        }
        if f[2] == "upgrade" {
            u.upgrade = Some((t, f[1].to_string()));
        }
        u.last_session = f[1].to_string();
    }
    let mut converters = 0;
    for (uid, row) in &truth {
        let u = &users[uid];
        let device = Device::ALL
            .iter()
            .find(|d| d.as_str() == u.device)
            .copied()
            .unwrap();
        let channel = Channel::ALL
            .iter()
            .find(|c| c.as_str() == u.channel)
            .copied()
            .unwrap();
        let p = saas::p_convert(u.invited, u.project, u.uses, device, channel);
        // The truth file holds 6 decimals.
        assert!((p - row.p).abs() <= 5e-7, "{uid}: {p} vs truth {}", row.p);
        assert_eq!(u.upgrade.is_some(), row.converted, "{uid}");
        if let Some((t, session)) = &u.upgrade {
            converters += 1;
            assert!(
                *t >= u.first + saas::UPGRADE_AFTER_MS,
                "{uid}: upgrade before 3 days"
            );
            assert_eq!(
                session, &u.last_session,
                "{uid}: the upgrade session is the last"
            );
        }
    }
    assert!(converters > 100, "{converters} converters");
}
