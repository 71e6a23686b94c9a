//! Reading `[[sources]]`: the customer table and the transactions, each
//! with its own row accounting (every row read is used, rejected for one
//! named reason, erased, or after the run date).
//!
//! The customer table is the universe of the decision engine: consent
//! lives there, so a user without a customer row is never decided for.
//! Transactions and events of such users are counted (`unknown_user`) and
//! left out. A user id that appears on two customer rows is ambiguous
//! (which consent holds?): every row of that id is rejected
//! (`duplicate_customer`) and the user is unknown. A consent cell that is
//! not one of the accepted words counts as no consent and is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::config::SourceConfig;
use crate::error::DataError;
use crate::ingest::Interner;
use crate::ingest::timestamp::TimeParser;

/// Rows of one source, by what happened to them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Account {
    pub source: String,
    pub path: String,
    pub rows: u64,
    pub used: u64,
    /// Reason → rows and the first line (1-based, the header is line 1).
    pub rejected: BTreeMap<String, Rejected>,
    /// Rows of users on the erasure list.
    pub erased: u64,
    /// Transactions after the run date (not rejected: not yet happened).
    pub after_as_of: u64,
    /// Distinct user ids of rows rejected as `unknown_user`.
    pub unknown_users: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Rejected {
    pub rows: u64,
    pub first_line: u64,
}

impl Account {
    fn reject(&mut self, reason: &str, line: u64) {
        let r = self.rejected.entry(reason.to_string()).or_insert(Rejected {
            rows: 0,
            first_line: line,
        });
        r.rows += 1;
    }
    pub fn rejected_rows(&self) -> u64 {
        self.rejected.values().map(|r| r.rows).sum()
    }
    /// rows = used + rejected + erased + after_as_of, always.
    pub fn balanced(&self) -> bool {
        self.rows == self.used + self.rejected_rows() + self.erased + self.after_as_of
    }
}

/// A consent cell that was not understood, per column.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OddConsent {
    pub column: String,
    pub rows: u64,
    pub first_line: u64,
    /// Up to five distinct values seen, sorted.
    pub values: Vec<String>,
}

/// The customer table: users sorted by id.
#[derive(Debug, Clone, Default)]
pub struct Customers {
    pub ids: Vec<String>,
    index: FxHashMap<String, u32>,
    pub columns: Vec<String>,
    /// Per column: a code per user into `values[column]`.
    codes: Vec<Vec<u32>>,
    values: Vec<Interner>,
    /// Channel/purpose name → consent per user.
    pub channel_consent: BTreeMap<String, Vec<bool>>,
    pub purpose_consent: BTreeMap<String, Vec<bool>>,
    pub odd_consent: Vec<OddConsent>,
    pub account: Account,
}

impl Customers {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    pub fn find(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
    pub fn attr(&self, column: usize, user: u32) -> &str {
        self.values[column].get(self.codes[column][user as usize])
    }
}

/// The transactions of known users, sorted by (user, time, input order).
#[derive(Debug, Clone, Default)]
pub struct Transactions {
    pub user: Vec<u32>,
    pub ts: Vec<i64>,
    pub amount: Vec<f64>,
    pub category: Vec<u32>,
    pub categories: Interner,
    /// `starts[u]..starts[u + 1]`: user u's rows.
    pub starts: Vec<usize>,
    pub account: Account,
}

impl Transactions {
    pub fn of(&self, user: u32) -> std::ops::Range<usize> {
        self.starts[user as usize]..self.starts[user as usize + 1]
    }
    pub fn category_code(&self, name: &str) -> Option<u32> {
        (0..self.categories.len() as u32).find(|&c| self.categories.get(c) == name)
    }
}

/// Consent words: anything else is no consent, and reported.
pub fn consent(cell: &str) -> Option<bool> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" | "granted" | "opt_in" | "opt-in" => Some(true),
        "no" | "n" | "false" | "f" | "0" | "denied" | "opt_out" | "opt-out" | "" => Some(false),
        _ => None,
    }
}

/// The config's relative paths are relative to its directory.
pub fn resolve_path(config_dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config_dir.join(p)
    }
}

fn delimiter(s: &SourceConfig) -> Result<u8, DataError> {
    match s.delimiter.as_deref() {
        None => Ok(b','),
        Some(d) => crate::cli::input::parse_delimiter(d)
            .map_err(|e| DataError::Input(format!("source {:?}: {e}", s.name))),
    }
}

fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let f = std::fs::File::open(path)
        .map_err(|e| DataError::Input(format!("{}: cannot open: {e}", path.display())))?;
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    Ok(if gz {
        Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(1 << 20, f),
        ))
    } else {
        Box::new(f)
    })
}

type Opened = (csv::Reader<Box<dyn Read>>, Vec<String>);

fn reader(path: &Path, delim: u8) -> Result<Opened, DataError> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(1 << 20)
        .from_reader(open(path)?);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| {
            DataError::Input(format!("{}:1: cannot read the header: {e}", path.display()))
        })?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(DataError::Input(format!(
            "{}: the file is empty: expected a header line",
            path.display()
        )));
    }
    Ok((r, header))
}

fn find_col(header: &[String], name: &str, path: &Path, key: &str) -> Result<usize, DataError> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        DataError::Input(format!(
            "{}:1: column {name:?} ({key}) is not in the header{}\n  columns found: {}",
            path.display(),
            crate::predicate::suggest(name, header.iter().map(String::as_str)),
            header.join(", ")
        ))
    })
}

/// Reads the customer table. `needed` are attribute columns rules use.
pub fn read_customers(
    s: &SourceConfig,
    path: &Path,
    needed: &BTreeSet<String>,
    erased: &BTreeSet<String>,
) -> Result<Customers, DataError> {
    let (mut r, header) = reader(path, delimiter(s)?)?;
    let user_col = s.user_col.as_deref().unwrap_or("user_id");
    let ucol = find_col(&header, user_col, path, "user_col")?;
    for (k, col) in s.channels.iter().chain(&s.purposes) {
        find_col(&header, col, path, &format!("consent of {k}"))?;
    }
    for col in needed {
        find_col(&header, col, path, "used by a rule")?;
    }
    let mut account = Account {
        source: s.name.clone(),
        path: path.display().to_string(),
        ..Default::default()
    };
    // (id, line, fields) of rows that passed the per-row checks.
    let mut rows: Vec<(String, u64, Vec<String>)> = Vec::new();
    let mut rec = csv::ByteRecord::new();
    loop {
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(DataError::Input(format!("{}: {e}", path.display()))),
        }
        let line = rec.position().map_or(account.rows + 2, |p| p.line());
        account.rows += 1;
        if rec.len() != header.len() {
            account.reject("wrong_field_count", line);
            continue;
        }
        let Ok(fields) = rec
            .iter()
            .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_string()))
            .collect::<Result<Vec<String>, _>>()
        else {
            account.reject("invalid_utf8", line);
            continue;
        };
        let id = fields[ucol].clone();
        if id.is_empty() {
            account.reject("missing_user", line);
            continue;
        }
        if erased.contains(&id) {
            account.erased += 1;
            continue;
        }
        rows.push((id, line, fields));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut kept: Vec<(String, u64, Vec<String>)> = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let mut j = i + 1;
        while j < rows.len() && rows[j].0 == rows[i].0 {
            j += 1;
        }
        if j - i > 1 {
            let second = rows[i + 1].1;
            for _ in i..j {
                account.reject("duplicate_customer", second);
            }
            // The first line reported is that of the second occurrence.
            if let Some(r) = account.rejected.get_mut("duplicate_customer") {
                r.first_line = r.first_line.min(second);
            }
        } else {
            kept.push(rows[i].clone());
        }
        i = j;
    }
    account.used = kept.len() as u64;
    let mut c = Customers {
        columns: header.clone(),
        codes: vec![Vec::with_capacity(kept.len()); header.len()],
        values: (0..header.len()).map(|_| Interner::new()).collect(),
        account,
        ..Default::default()
    };
    let mut odd: BTreeMap<usize, OddConsent> = BTreeMap::new();
    let consent_cols: Vec<(bool, String, usize)> = s
        .channels
        .iter()
        .map(|(k, col)| {
            (
                true,
                k.clone(),
                header.iter().position(|h| h == col).unwrap_or(0),
            )
        })
        .chain(s.purposes.iter().map(|(k, col)| {
            (
                false,
                k.clone(),
                header.iter().position(|h| h == col).unwrap_or(0),
            )
        }))
        .collect();
    for (is_channel, k, _) in &consent_cols {
        let map = if *is_channel {
            &mut c.channel_consent
        } else {
            &mut c.purpose_consent
        };
        map.insert(k.clone(), Vec::with_capacity(kept.len()));
    }
    for (u, (id, line, fields)) in kept.into_iter().enumerate() {
        c.index.insert(id.clone(), u as u32);
        c.ids.push(id);
        for (k, f) in fields.iter().enumerate() {
            let code = c.values[k].intern(f);
            c.codes[k].push(code);
        }
        for (is_channel, k, col) in &consent_cols {
            let cell = &fields[*col];
            let given = consent(cell).unwrap_or_else(|| {
                let o = odd.entry(*col).or_insert_with(|| OddConsent {
                    column: header[*col].clone(),
                    first_line: line,
                    ..Default::default()
                });
                o.rows += 1;
                o.first_line = o.first_line.min(line);
                if o.values.len() < 5 && !o.values.contains(cell) {
                    o.values.push(cell.clone());
                    o.values.sort();
                }
                false
            });
            let map = if *is_channel {
                &mut c.channel_consent
            } else {
                &mut c.purpose_consent
            };
            map.get_mut(k).expect("inserted above").push(given);
        }
    }
    c.odd_consent = odd.into_values().collect();
    Ok(c)
}

/// Reads the transactions of known customers up to `as_of_end` (exclusive).
pub fn read_transactions(
    s: &SourceConfig,
    path: &Path,
    customers: &Customers,
    erased: &BTreeSet<String>,
    as_of_end: i64,
) -> Result<Transactions, DataError> {
    let (mut r, header) = reader(path, delimiter(s)?)?;
    let col = |key: &str, v: &Option<String>, default: &str| {
        find_col(&header, v.as_deref().unwrap_or(default), path, key)
    };
    let ucol = col("user_col", &s.user_col, "user_id")?;
    let tcol = col("time_col", &s.time_col, "timestamp")?;
    let acol = col("amount_col", &s.amount_col, "amount")?;
    let ccol = col("category_col", &s.category_col, "category")?;
    if let Some(f) = &s.time_format {
        TimeParser::check_format(f)
            .map_err(|e| DataError::Input(format!("source {:?}: {e}", s.name)))?;
    }
    let parser = TimeParser::new(s.time_format.clone());
    let mut t = Transactions {
        account: Account {
            source: s.name.clone(),
            path: path.display().to_string(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut unknown: BTreeSet<Vec<u8>> = BTreeSet::new();
    // (user, ts, input index) sorted later; amount/category beside.
    let mut rows: Vec<(u32, i64, u32)> = Vec::new();
    let mut amounts: Vec<f64> = Vec::new();
    let mut cats: Vec<u32> = Vec::new();
    let mut rec = csv::ByteRecord::new();
    let a = &mut t.account;
    loop {
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(DataError::Input(format!("{}: {e}", path.display()))),
        }
        let line = rec.position().map_or(a.rows + 2, |p| p.line());
        a.rows += 1;
        if rec.len() != header.len() {
            a.reject("wrong_field_count", line);
            continue;
        }
        let (Ok(uid), Ok(ts), Ok(amount), Ok(cat)) = (
            std::str::from_utf8(&rec[ucol]),
            std::str::from_utf8(&rec[tcol]),
            std::str::from_utf8(&rec[acol]),
            std::str::from_utf8(&rec[ccol]),
        ) else {
            a.reject("invalid_utf8", line);
            continue;
        };
        let uid = uid.trim();
        if uid.is_empty() {
            a.reject("missing_user", line);
            continue;
        }
        let ts = ts.trim();
        if ts.is_empty() {
            a.reject("missing_timestamp", line);
            continue;
        }
        let Ok(parsed) = parser.parse(ts) else {
            a.reject("bad_timestamp", line);
            continue;
        };
        let amount = amount.trim();
        if amount.is_empty() {
            a.reject("missing_amount", line);
            continue;
        }
        let Ok(value) = amount.parse::<f64>() else {
            a.reject("non_numeric_amount", line);
            continue;
        };
        if !value.is_finite() {
            a.reject("non_numeric_amount", line);
            continue;
        }
        if value < 0.0 {
            a.reject("negative_amount", line);
            continue;
        }
        let cat = cat.trim();
        if cat.is_empty() {
            a.reject("missing_category", line);
            continue;
        }
        if erased.contains(uid) {
            a.erased += 1;
            continue;
        }
        let Some(user) = customers.find(uid) else {
            a.reject("unknown_user", line);
            if unknown.len() < 10_000_000 {
                unknown.insert(uid.as_bytes().to_vec());
            }
            continue;
        };
        if parsed.ms >= as_of_end {
            a.after_as_of += 1;
            continue;
        }
        rows.push((user, parsed.ms, rows.len() as u32));
        amounts.push(value);
        cats.push(t.categories.intern(cat));
        a.used += 1;
    }
    a.unknown_users = unknown.len() as u64;
    rows.sort_unstable();
    t.user = rows.iter().map(|r| r.0).collect();
    t.ts = rows.iter().map(|r| r.1).collect();
    t.amount = rows.iter().map(|r| amounts[r.2 as usize]).collect();
    t.category = rows.iter().map(|r| cats[r.2 as usize]).collect();
    t.starts = vec![0; customers.len() + 1];
    for &u in &t.user {
        t.starts[u as usize + 1] += 1;
    }
    for u in 0..customers.len() {
        t.starts[u + 1] += t.starts[u];
    }
    Ok(t)
}

/// The erasure list: one user id per line; blank lines and `#` comments skipped.
pub fn read_erasure(path: &Path) -> Result<BTreeSet<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        DataError::Input(format!(
            "{}: cannot read the erasure list: {e}",
            path.display()
        ))
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::config::SourceKind;

    fn src(kind: SourceKind) -> SourceConfig {
        SourceConfig {
            name: "s".into(),
            kind,
            path: String::new(),
            user_col: Some("id".into()),
            time_col: None,
            amount_col: None,
            category_col: None,
            delimiter: None,
            time_format: None,
            channels: [("email".to_string(), "c_email".to_string())].into(),
            purposes: [("credit".to_string(), "c_credit".to_string())].into(),
        }
    }

    #[test]
    fn customers_duplicates_odd_consent_and_accounting() {
        let dir = std::env::temp_dir().join(format!("jm-cust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.csv");
        std::fs::write(
            &p,
            "id,age,c_email,c_credit\nb,30,yes,no\na,40,maybe,yes\nb,31,no,no\n,5,yes,yes\nc,7,yes\nd,50,YES,1\ne,1,y,y\n",
        )
        .unwrap();
        let erased: BTreeSet<String> = ["e".to_string()].into();
        let c = read_customers(&src(SourceKind::Customers), &p, &BTreeSet::new(), &erased).unwrap();
        assert_eq!(c.ids, ["a", "d"]);
        let a = &c.account;
        assert_eq!((a.rows, a.used, a.erased), (7, 2, 1));
        assert_eq!(
            a.rejected["duplicate_customer"],
            Rejected {
                rows: 2,
                first_line: 4
            }
        );
        assert_eq!(a.rejected["missing_user"].first_line, 5);
        assert_eq!(a.rejected["wrong_field_count"].first_line, 6);
        assert!(a.balanced());
        assert_eq!(c.channel_consent["email"], [false, true]);
        assert_eq!(c.purpose_consent["credit"], [true, true]);
        assert_eq!(c.odd_consent[0].column, "c_email");
        assert_eq!((c.odd_consent[0].rows, c.odd_consent[0].first_line), (1, 3));
        assert_eq!(c.attr(c.column("age").unwrap(), 1), "50");

        let t = dir.join("t.csv");
        std::fs::write(
            &t,
            "id,timestamp,amount,category\na,2026-01-02T00:00:00Z,10.5,food\nd,2026-01-01T00:00:00Z,-3,food\na,2026-01-01T00:00:00Z,abc,food\nzz,2026-01-01T00:00:00Z,1,food\na,yesterday,1,food\na,2026-01-01T00:00:00Z,2,\nd,2027-01-01T00:00:00Z,2,food\na,2026-01-01T00:00:00Z,4,home\ne,2026-01-01T00:00:00Z,4,home\n",
        )
        .unwrap();
        let end = 1_798_761_600_000; // 2027-01-01
        let tx = read_transactions(&src(SourceKind::Transactions), &t, &c, &erased, end).unwrap();
        let a = &tx.account;
        assert_eq!((a.rows, a.used, a.after_as_of, a.erased), (9, 2, 1, 1));
        for (reason, line) in [
            ("negative_amount", 3),
            ("non_numeric_amount", 4),
            ("unknown_user", 5),
            ("bad_timestamp", 6),
            ("missing_category", 7),
        ] {
            assert_eq!(
                a.rejected[reason],
                Rejected {
                    rows: 1,
                    first_line: line
                },
                "{reason}"
            );
        }
        assert!(a.balanced());
        assert_eq!(a.unknown_users, 1);
        assert_eq!(tx.of(0), 0..2);
        assert_eq!(tx.amount, [4.0, 10.5]);
        assert_eq!(tx.of(1), 2..2);
        std::fs::remove_dir_all(&dir).ok();
    }
}
