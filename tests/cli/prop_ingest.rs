//! Property: for any corruption of a valid export, every row read is either
//! used or rejected, nothing panics, and the result does not depend on how
//! many threads parsed the file.

use journeymap::ingest::{self, IngestOptions};
use journeymap::progress::Progress;
use proptest::prelude::*;

const HEADER: &str = "user_id,session_id,event,timestamp,page";

fn good_row(i: usize) -> String {
    format!(
        "u{},s{},ev{},2026-10-01T10:{:02}:{:02}Z,/p/{}",
        i % 7,
        i % 5,
        i % 4,
        (i / 60) % 60,
        i % 60,
        i
    )
}

/// One way to damage a row.
#[derive(Debug, Clone)]
enum Damage {
    None,
    DropField(usize),
    ExtraField,
    Blank(usize),
    BadBytes(Vec<u8>),
    Quote(usize),
    QuotedNewline,
    EmptyLine,
    Garbage(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => Just(Damage::None),
        1 => (0usize..5).prop_map(Damage::DropField),
        1 => Just(Damage::ExtraField),
        1 => (0usize..5).prop_map(Damage::Blank),
        1 => proptest::collection::vec(any::<u8>(), 1..4).prop_map(Damage::BadBytes),
        1 => (0usize..40).prop_map(Damage::Quote),
        1 => Just(Damage::QuotedNewline),
        1 => Just(Damage::EmptyLine),
        1 => proptest::collection::vec(any::<u8>(), 0..30).prop_map(Damage::Garbage),
    ]
}

fn apply(row: String, d: &Damage) -> Vec<u8> {
    let fields: Vec<&str> = row.split(',').collect();
    match d {
        Damage::None => row.into_bytes(),
        Damage::DropField(i) => {
            let mut f = fields.clone();
            f.remove(*i);
            f.join(",").into_bytes()
        }
        Damage::ExtraField => format!("{row},x").into_bytes(),
        Damage::Blank(i) => {
            let mut f = fields.clone();
            f[*i] = "";
            f.join(",").into_bytes()
        }
        Damage::BadBytes(b) => {
            let mut v = row.into_bytes();
            let at = v.len() / 2;
            v.splice(at..at, b.iter().copied());
            v
        }
        Damage::Quote(i) => {
            let mut v = row.into_bytes();
            let at = (*i).min(v.len());
            v.insert(at, b'"');
            v
        }
        Damage::QuotedNewline => format!("{},\"a\nb\"", fields[..4].join(",")).into_bytes(),
        Damage::EmptyLine => Vec::new(),
        Damage::Garbage(g) => g.clone(),
    }
}

fn run(path: &std::path::Path, threads: usize) -> ingest::Ingested {
    let opts = IngestOptions {
        threads,
        keep_rejects: true,
        ..IngestOptions::default()
    };
    ingest::ingest(&[path.to_path_buf()], &opts, &Progress::silent())
        .expect("lenient ingest never fails on row damage")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_row_is_used_or_rejected(damages in proptest::collection::vec(damage(), 1..120), crlf in any::<bool>()) {
        let mut data = HEADER.as_bytes().to_vec();
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        data.extend_from_slice(eol);
        for (i, d) in damages.iter().enumerate() {
            data.extend(apply(good_row(i), d));
            data.extend_from_slice(eol);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, &data).unwrap();

        let one = run(&path, 1);
        prop_assert_eq!(one.read, one.used() + one.rejected.total());
        prop_assert_eq!(one.rejects.len() as u64, one.rejected.total());
        // An independent count of records: the csv crate on its own.
        let records = csv::ReaderBuilder::new().has_headers(true).flexible(true)
            .from_reader(&data[..]).byte_records().count() as u64;
        prop_assert_eq!(one.read, records);

        for threads in [2, 3, 5] {
            let many = run(&path, threads);
            prop_assert_eq!(many.read, one.read);
            prop_assert_eq!(many.rejected, one.rejected);
            prop_assert_eq!(&many.rejects, &one.rejects);
            prop_assert_eq!(&many.table.ts, &one.table.ts);
            prop_assert_eq!(&many.table.user_names, &one.table.user_names);
        }
    }
}
