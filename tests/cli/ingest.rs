//! End-to-end: the binary on the hand-made fixture of bad rows.

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{golden, jm};

#[test]
fn lenient_mode_counts_every_reason_and_lists_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let out = jm()
        .args(["inspect", "fixtures/bad_rows.csv", "--json", "--rejects"])
        .arg(&rejects)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let rows = &v["rows"];
    assert_eq!(rows["read"], 23);
    assert_eq!(rows["used"], 11);
    assert_eq!(rows["rejected"], 12);
    let by_reason: Vec<(String, u64)> = rows["rejected_by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("wrong_field_count", 2),
        ("invalid_utf8", 1),
        ("repeated_header", 1),
        ("missing_user", 1),
        ("missing_event", 1),
        ("missing_timestamp", 1),
        ("bad_timestamp", 2),
        ("timestamp_out_of_range", 2),
        ("missing_session", 1),
    ];
    assert_eq!(
        by_reason,
        want.iter()
            .map(|(r, n)| (r.to_string(), *n))
            .collect::<Vec<_>>()
    );

    let listed = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<u64> = csv::Reader::from_reader(listed.as_bytes())
        .records()
        .map(|r| r.unwrap()[1].parse().unwrap())
        .collect();
    assert_eq!(lines, vec![12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
    golden("bad_rows.rejects.csv", &listed);
    assert_eq!(v["naive_timestamps"], 2);
    assert_eq!(v["users"], 4);
}

#[test]
fn strict_mode_stops_at_the_first_bad_row_with_file_line_and_reason() {
    jm().args(["inspect", "fixtures/bad_rows.csv", "--strict"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("fixtures/bad_rows.csv:12:"))
        .stderr(predicate::str::contains("wrong number of fields"))
        .stderr(predicate::str::contains("expected 6 fields, found 3"));
}

#[test]
fn strict_mode_names_the_column_of_a_bad_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    std::fs::write(
        &f,
        "user_id,event,timestamp\nu1,a,2026-10-01T00:00:00Z\nu1,b,not-a-time\n",
    )
    .unwrap();
    jm().args(["inspect", "--strict"])
        .arg(&f)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "t.csv:3: column 'timestamp': unparseable timestamp",
        ))
        .stderr(predicate::str::contains("\"not-a-time\""));
}

#[test]
fn missing_column_lists_what_was_found_and_the_flag() {
    jm().args(["inspect", "fixtures/bad_rows.csv", "--user-col", "uid"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "required column 'uid' (mapped by --user-col) not found",
        ))
        .stderr(predicate::str::contains(
            "user_id, session_id, event, timestamp, page, device",
        ))
        .stderr(predicate::str::contains("--user-col"));
}

#[test]
fn events_are_ordered_per_user_by_time_then_export_order() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    std::fs::write(
        &f,
        "user_id,event,timestamp\nu1,b,2026-10-01T00:00:05Z\nu1,a,2026-10-01T00:00:00Z\nu1,c,2026-10-01T00:00:05Z\n",
    )
    .unwrap();
    let out = jm()
        .args(["inspect", "--json"])
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["sessions_from"]["kind"], "inactivity");
    assert_eq!(v["sessions"], 1);
    assert_eq!(v["session_duration_seconds"]["max"], 5.0);
}

#[test]
fn unknown_file_type_and_missing_file_are_usage_errors() {
    jm().args(["inspect", "nope.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    jm().args(["inspect", "Cargo.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown file type"));
    jm().args(["inspect", "fixtures/bad_rows.csv", "--session-gap", "soon"])
        .assert()
        .code(2);
}

#[test]
fn inspect_table_is_readable() {
    jm().args(["inspect", "fixtures/bad_rows.csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "rows: 23 read = 11 used + 12 rejected",
        ))
        .stdout(predicate::str::contains("events per user"));
}

#[test]
fn line_numbers_survive_crlf_blank_lines_and_quoted_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    let rejects = dir.path().join("r.csv");
    std::fs::write(
        &f,
        "user_id,event,timestamp,note\r\n\r\nu1,a,2026-10-01T00:00:00Z,\"two\r\nlines\"\r\n\r\n\r\nu1,,2026-10-01T00:00:01Z,x\r\n",
    )
    .unwrap();
    jm().args(["inspect", "--json", "--rejects"])
        .arg(&rejects)
        .arg(&f)
        .assert()
        .success();
    let listed = std::fs::read_to_string(&rejects).unwrap();
    let row: Vec<&str> = listed.lines().nth(1).unwrap().split(',').collect();
    assert_eq!((row[1], row[2]), ("7", "missing_event"), "{listed}");
    assert!(
        listed.contains(",\"u1,,2026-10-01T00:00:01Z,x\""),
        "{listed}"
    );
}
