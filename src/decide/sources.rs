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
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
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

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
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
    pub ts: Vec<i64>,
    pub amount: Vec<f64>,
    pub category: Vec<u32>,
    pub categories: Interner,
    /// `starts[u]..starts[u + 1]`: user u's rows.
    pub starts: Vec<usize>,
    pub account: Account,
    /// Unknown ids equal to a customer id but for ASCII case: how many, one example.
    pub case_only_unknown: Option<(u64, String)>,
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

fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// A source's rows one at a time: CSV (plain or gzip) or Parquet.
enum Records {
    Csv(csv::Reader<Box<dyn Read>>),
    Parquet(super::parquet_rows::ParquetRows),
}

impl Records {
    fn open(path: &Path, delim: u8) -> Result<(Records, Vec<String>), DataError> {
        if is_parquet(path) {
            let p = super::parquet_rows::ParquetRows::open(path)?;
            let header = p.header.clone();
            if header.is_empty() {
                return Err(DataError::Input(format!(
                    "{}: the Parquet file has no columns",
                    path.display()
                )));
            }
            return Ok((Records::Parquet(p), header));
        }
        let (r, header) = reader(path, delim)?;
        Ok((Records::Csv(r), header))
    }

    /// The next row and its line (its row number in Parquet); None at the end.
    fn next(&mut self, rec: &mut csv::ByteRecord, path: &Path) -> Result<Option<u64>, DataError> {
        match self {
            Records::Csv(r) => match r.read_byte_record(rec) {
                Ok(false) => Ok(None),
                Ok(true) => Ok(Some(rec.position().map_or(0, |p| p.line()))),
                Err(e) => Err(DataError::Input(format!("{}: {e}", path.display()))),
            },
            Records::Parquet(p) => p.next(rec),
        }
    }
}

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
    let (mut r, header) = Records::open(path, delimiter(s)?)?;
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
    while let Some(line) = r.next(&mut rec, path)? {
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

/// Reads the transactions of known customers up to `as_of_end` (exclusive),
/// on every core for a plain file; the result does not depend on the
/// number of threads.
pub fn read_transactions(
    s: &SourceConfig,
    path: &Path,
    customers: &Customers,
    erased: &BTreeSet<String>,
    as_of_end: i64,
) -> Result<Transactions, DataError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    read_transactions_on(s, path, customers, erased, as_of_end, threads, 4 << 20)
}

/// Where the columns of a transactions file are, and what a row is checked against.
struct TxContext<'a> {
    n_cols: usize,
    user: usize,
    time: usize,
    amount: usize,
    category: usize,
    parser: TimeParser,
    customers: &'a Customers,
    erased: &'a BTreeSet<String>,
    as_of_end: i64,
}

/// The rows of one piece of the file, in input order. Category codes are
/// the piece's own; line numbers count from 1 at the piece's first line.
#[derive(Default)]
struct Part {
    user: Vec<u32>,
    ts: Vec<i64>,
    amount: Vec<f64>,
    category: Vec<u32>,
    categories: Interner,
    account: Account,
    unknown: rustc_hash::FxHashSet<Vec<u8>>,
    /// Whether a record ended exactly at the piece's end (or the data did).
    on_boundary: bool,
}

/// Distinct unknown ids kept for the count; past this the count is a floor.
const MAX_UNKNOWN: usize = 10_000_000;

impl Part {
    fn with_capacity(rows: usize) -> Part {
        Part {
            user: Vec::with_capacity(rows),
            ts: Vec::with_capacity(rows),
            amount: Vec::with_capacity(rows),
            category: Vec::with_capacity(rows),
            ..Default::default()
        }
    }

    fn row(&mut self, cx: &TxContext, rec: &csv::ByteRecord, line: u64) {
        let a = &mut self.account;
        a.rows += 1;
        if rec.len() != cx.n_cols {
            a.reject("wrong_field_count", line);
            return;
        }
        let (Ok(uid), Ok(ts), Ok(amount), Ok(cat)) = (
            std::str::from_utf8(&rec[cx.user]),
            std::str::from_utf8(&rec[cx.time]),
            std::str::from_utf8(&rec[cx.amount]),
            std::str::from_utf8(&rec[cx.category]),
        ) else {
            a.reject("invalid_utf8", line);
            return;
        };
        let uid = uid.trim();
        if uid.is_empty() {
            a.reject("missing_user", line);
            return;
        }
        let ts = ts.trim();
        if ts.is_empty() {
            a.reject("missing_timestamp", line);
            return;
        }
        let Ok(parsed) = cx.parser.parse(ts) else {
            a.reject("bad_timestamp", line);
            return;
        };
        let amount = amount.trim();
        if amount.is_empty() {
            a.reject("missing_amount", line);
            return;
        }
        let value = match amount.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                a.reject("non_numeric_amount", line);
                return;
            }
        };
        if value < 0.0 {
            a.reject("negative_amount", line);
            return;
        }
        let cat = cat.trim();
        if cat.is_empty() {
            a.reject("missing_category", line);
            return;
        }
        if cx.erased.contains(uid) {
            a.erased += 1;
            return;
        }
        let Some(user) = cx.customers.find(uid) else {
            a.reject("unknown_user", line);
            if self.unknown.len() < MAX_UNKNOWN && !self.unknown.contains(uid.as_bytes()) {
                self.unknown.insert(uid.as_bytes().to_vec());
            }
            return;
        };
        if parsed.ms >= cx.as_of_end {
            a.after_as_of += 1;
            return;
        }
        a.used += 1;
        self.user.push(user);
        self.ts.push(parsed.ms);
        self.amount.push(value);
        self.category.push(self.categories.intern(cat));
    }
}

fn csv_reader<R: Read>(delim: u8, r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .has_headers(false)
        .buffer_capacity(1 << 20)
        .from_reader(r)
}

fn header_of(rec: &csv::ByteRecord, path: &Path) -> Result<Vec<String>, DataError> {
    let header: Vec<String> = rec
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(DataError::Input(format!(
            "{}: the file is empty: expected a header line",
            path.display()
        )));
    }
    Ok(header)
}

fn tx_context<'a>(
    s: &SourceConfig,
    path: &Path,
    header: &[String],
    customers: &'a Customers,
    erased: &'a BTreeSet<String>,
    as_of_end: i64,
) -> Result<TxContext<'a>, DataError> {
    let col = |key: &str, v: &Option<String>, default: &str| {
        find_col(header, v.as_deref().unwrap_or(default), path, key)
    };
    if let Some(f) = &s.time_format {
        TimeParser::check_format(f)
            .map_err(|e| DataError::Input(format!("source {:?}: {e}", s.name)))?;
    }
    Ok(TxContext {
        n_cols: header.len(),
        user: col("user_col", &s.user_col, "user_id")?,
        time: col("time_col", &s.time_col, "timestamp")?,
        amount: col("amount_col", &s.amount_col, "amount")?,
        category: col("category_col", &s.category_col, "category")?,
        parser: TimeParser::new(s.time_format.clone()),
        customers,
        erased,
        as_of_end,
    })
}

fn read_transactions_on(
    s: &SourceConfig,
    path: &Path,
    customers: &Customers,
    erased: &BTreeSet<String>,
    as_of_end: i64,
    threads: usize,
    min_bytes: usize,
) -> Result<Transactions, DataError> {
    let delim = delimiter(s)?;
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let account = Account {
        source: s.name.clone(),
        path: path.display().to_string(),
        ..Default::default()
    };
    let file = std::fs::File::open(path)
        .map_err(|e| DataError::Input(format!("{}: cannot open: {e}", path.display())))?;
    // SAFETY: read-only map; a truncation meanwhile raises SIGBUS, which the
    // guard below turns into a message naming the file.
    let map = if gz || is_parquet(path) {
        None
    } else {
        unsafe { memmap2::Mmap::map(&file) }.ok()
    };
    let parts = match &map {
        Some(m) => {
            let _guard = crate::guard::Mapped::new(&path.display().to_string());
            let split = (threads, min_bytes);
            read_mapped(s, path, m, customers, erased, as_of_end, split)?
        }
        None => {
            // A gzip stream is decoded on one core anyway (Parquet a batch
            // at a time): parse it as it comes.
            let (mut r, header) = Records::open(path, delim)?;
            let cx = tx_context(s, path, &header, customers, erased, as_of_end)?;
            let mut part = Part::default();
            let mut rec = csv::ByteRecord::new();
            while let Some(line) = r.next(&mut rec, path)? {
                part.row(&cx, &rec, line);
            }
            vec![(part, 0)]
        }
    };
    Ok(assemble(parts, customers, account))
}

/// Parsed bytes of a mapped file are handed back in steps of this many, so
/// the file's pages do not add up in the process's memory.
const RELEASE_EVERY: usize = 8 << 20;
const RELEASE_ALIGN: usize = 1 << 20;

/// Parses a mapped file in pieces split at record boundaries, one per
/// thread; when a stray quote made a split wrong, the file is parsed again
/// in one piece. Each piece comes with the line count before it.
fn read_mapped(
    s: &SourceConfig,
    path: &Path,
    m: &memmap2::Mmap,
    customers: &Customers,
    erased: &BTreeSet<String>,
    as_of_end: i64,
    (threads, min_bytes): (usize, usize),
) -> Result<Vec<(Part, u64)>, DataError> {
    let delim = delimiter(s)?;
    let data: &[u8] = m;
    let mut r = csv_reader(delim, data);
    let mut rec = csv::ByteRecord::new();
    let header = match r.read_byte_record(&mut rec) {
        Ok(true) => header_of(&rec, path)?,
        _ => header_of(&csv::ByteRecord::new(), path)?,
    };
    let cx = tx_context(s, path, &header, customers, erased, as_of_end)?;
    let header_end = r.position().byte() as usize;
    let release = |from: usize, to: usize| {
        #[cfg(unix)]
        {
            let lo = from.next_multiple_of(RELEASE_ALIGN);
            let hi = to / RELEASE_ALIGN * RELEASE_ALIGN;
            if hi > lo {
                // SAFETY: the map is read-only, so MADV_DONTNEED discards no
                // data; a later read faults the file's bytes in again.
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, lo, hi - lo)
                };
            }
        }
        #[cfg(not(unix))]
        let _ = (from, to);
    };
    let bounds = crate::ingest::csv_source::split_points(data, header_end, threads, min_bytes);
    let parse = |from: usize, to: usize| parse_piece(data, from, to, delim, &cx, &release);
    let mut parts: Vec<(Part, u64)> = std::thread::scope(|sc| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (from, to) = (w[0], w[1]);
                let parse = &parse;
                sc.spawn(move || parse(from, to))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("transactions worker panicked"))
            .collect()
    });
    let Some(last) = parts.len().checked_sub(1) else {
        return Ok(Vec::new());
    };
    if !parts[..last].iter().all(|p| p.0.on_boundary) {
        parts = vec![parse(header_end, data.len())];
    }
    // Line numbers: each piece counted from its own start.
    let mut before = newlines(&data[..header_end]);
    for p in &mut parts {
        let n = p.1;
        p.1 = before;
        before += n;
    }
    Ok(parts)
}

fn newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// The records that start in `from..to`, and the line ends in that range.
fn parse_piece(
    all: &[u8],
    from: usize,
    to: usize,
    delim: u8,
    cx: &TxContext,
    release: &(dyn Fn(usize, usize) + Sync),
) -> (Part, u64) {
    let (data, limit) = (&all[from..], to - from);
    // About 40 bytes a row or more; untouched capacity costs no memory.
    let mut part = Part::with_capacity(limit / 40);
    part.on_boundary = limit >= data.len();
    let mut r = csv_reader(delim, data);
    let mut rec = csv::ByteRecord::new();
    let (mut released, mut lines_before) = (0, 0);
    while let Ok(true) = r.read_byte_record(&mut rec) {
        let Some(pos) = rec.position() else { break };
        // The reader reports where it stood before skipping line ends.
        let (mut start, mut line) = (pos.byte() as usize, pos.line());
        while start < data.len() && matches!(data[start], b'\r' | b'\n') {
            line += u64::from(data[start] == b'\n');
            start += 1;
        }
        if start >= limit {
            part.on_boundary = start == limit;
            break;
        }
        if start - released >= RELEASE_EVERY {
            lines_before += newlines(&data[released..start]);
            release(from + released, from + start);
            released = start;
        }
        part.row(cx, &rec, line);
    }
    let lines = lines_before + newlines(&data[released..limit.min(data.len())]);
    (part, lines)
}

/// Joins the pieces in file order: categories coded by first appearance,
/// rows grouped by user (a counting sort, so ties keep input order), then
/// by time within each user.
fn assemble(parts: Vec<(Part, u64)>, customers: &Customers, mut account: Account) -> Transactions {
    let n_users = customers.len();
    let mut categories = Interner::new();
    let mut unknown: rustc_hash::FxHashSet<Vec<u8>> = Default::default();
    let mut codes: Vec<Vec<u32>> = Vec::with_capacity(parts.len());
    let mut starts = vec![0usize; n_users + 1];
    let mut parts: Vec<Part> = parts
        .into_iter()
        .map(|(mut p, shift)| {
            let a = std::mem::take(&mut p.account);
            account.rows += a.rows;
            account.used += a.used;
            account.erased += a.erased;
            account.after_as_of += a.after_as_of;
            for (reason, r) in a.rejected {
                let e = account.rejected.entry(reason).or_insert(Rejected {
                    rows: 0,
                    first_line: u64::MAX,
                });
                e.rows += r.rows;
                e.first_line = e.first_line.min(r.first_line + shift);
            }
            for id in std::mem::take(&mut p.unknown) {
                if unknown.len() < MAX_UNKNOWN {
                    unknown.insert(id);
                }
            }
            codes.push(p.categories.iter().map(|c| categories.intern(c)).collect());
            for &u in &p.user {
                starts[u as usize + 1] += 1;
            }
            p
        })
        .collect();
    account.unknown_users = unknown.len() as u64;
    let case_only_unknown = case_only(&unknown, customers);
    drop(unknown);
    for u in 0..n_users {
        starts[u + 1] += starts[u];
    }
    let total = starts[n_users];
    // One column at a time, each piece's copy freed once placed.
    fn scatter<T: Copy + Default>(
        parts: &mut [Part],
        starts: &[usize],
        total: usize,
        take: impl Fn(&mut Part) -> Vec<T>,
        map: impl Fn(usize, T) -> T,
    ) -> Vec<T> {
        let mut out = vec![T::default(); total];
        let mut cursor = starts[..starts.len() - 1].to_vec();
        for (k, p) in parts.iter_mut().enumerate() {
            let col = take(p);
            for (&u, v) in p.user.iter().zip(col) {
                let c = &mut cursor[u as usize];
                out[*c] = map(k, v);
                *c += 1;
            }
        }
        out
    }
    let mut ts = scatter(
        &mut parts,
        &starts,
        total,
        |p| std::mem::take(&mut p.ts),
        |_, v| v,
    );
    let mut amount = scatter(
        &mut parts,
        &starts,
        total,
        |p| std::mem::take(&mut p.amount),
        |_, v| v,
    );
    let mut category = scatter(
        &mut parts,
        &starts,
        total,
        |p| std::mem::take(&mut p.category),
        |k, c| codes[k][c as usize],
    );
    drop(parts);
    let mut order: Vec<usize> = Vec::new();
    for u in 0..n_users {
        let r = starts[u]..starts[u + 1];
        if ts[r.clone()].is_sorted() {
            continue;
        }
        order.clear();
        order.extend(r.clone());
        order.sort_by_key(|&i| ts[i]);
        let t: Vec<i64> = order.iter().map(|&i| ts[i]).collect();
        let a: Vec<f64> = order.iter().map(|&i| amount[i]).collect();
        let c: Vec<u32> = order.iter().map(|&i| category[i]).collect();
        ts[r.clone()].copy_from_slice(&t);
        amount[r.clone()].copy_from_slice(&a);
        category[r].copy_from_slice(&c);
    }
    Transactions {
        ts,
        amount,
        category,
        categories,
        starts,
        account,
        case_only_unknown,
    }
}

/// Unknown ids that match a customer id when ASCII case is ignored.
fn case_only(
    unknown: &rustc_hash::FxHashSet<Vec<u8>>,
    customers: &Customers,
) -> Option<(u64, String)> {
    if unknown.is_empty() {
        return None;
    }
    let lower: rustc_hash::FxHashSet<String> = customers
        .ids
        .iter()
        .map(|i| i.to_ascii_lowercase())
        .collect();
    let mut hits: Vec<String> = unknown
        .iter()
        .filter_map(|u| std::str::from_utf8(u).ok())
        .filter(|u| lower.contains(&u.to_ascii_lowercase()))
        .map(str::to_string)
        .collect();
    hits.sort();
    let example = hits.first()?.clone();
    Some((hits.len() as u64, example))
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

    fn fingerprint(t: &Transactions) -> String {
        let account = Account {
            path: String::new(),
            ..t.account.clone()
        };
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            t.ts,
            t.amount,
            t.category
                .iter()
                .map(|&c| t.categories.get(c))
                .collect::<Vec<_>>(),
            (0..t.categories.len() as u32)
                .map(|c| t.categories.get(c))
                .collect::<Vec<_>>(),
            t.starts,
            account
        )
    }

    /// Pieces on several threads, one thread, and the gzip stream give the
    /// same rows, order, category codes, accounting and line numbers; a
    /// stray quote that misleads the split falls back to one piece.
    #[test]
    fn transactions_do_not_depend_on_threads_or_compression() {
        let dir = std::env::temp_dir().join(format!("jm-tx-par-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.csv");
        let mut cust = String::from("id,c_email,c_credit\n");
        for u in 0..50 {
            cust.push_str(&format!("u{u:02},yes,yes\n"));
        }
        std::fs::write(&p, cust).unwrap();
        let c = read_customers(
            &src(SourceKind::Customers),
            &p,
            &BTreeSet::new(),
            &BTreeSet::new(),
        )
        .unwrap();
        let cats = [
            "food",
            "home",
            "\"travel, abroad\"",
            "\"multi\nline\"",
            "baby",
        ];
        for stray in [false, true] {
            // \u{feff}: a spreadsheet's byte order mark before the header.
            let mut text = String::from("\u{feff}id,timestamp,amount,category\n");
            for i in 0..3000u64 {
                let u = (i * 7919) % 53; // u50..u52 are unknown users
                let day = 1 + (i * 31) % 28; // not in time order
                let amount = if i % 97 == 0 {
                    "-1".to_string()
                } else {
                    format!("{}.5", i % 400)
                };
                let cat = if stray && i == 1500 {
                    "ca\"t"
                } else {
                    cats[(i % 5) as usize]
                };
                text.push_str(&format!(
                    "u{u:02},2026-01-{day:02}T00:00:00Z,{amount},{cat}\n"
                ));
                if i % 211 == 0 {
                    text.push_str("u01,2026-01-01\n");
                }
            }
            std::fs::write(dir.join("t.csv"), &text).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
            std::fs::write(dir.join("t.csv.gz"), gz.finish().unwrap()).unwrap();
            let read = |name: &str, threads| {
                let tx = read_transactions_on(
                    &src(SourceKind::Transactions),
                    &dir.join(name),
                    &c,
                    &BTreeSet::new(),
                    i64::MAX,
                    threads,
                    0,
                )
                .unwrap();
                assert!(tx.account.balanced());
                fingerprint(&tx)
            };
            let one = read("t.csv", 1);
            for threads in [2, 3, 7] {
                assert!(
                    read("t.csv", threads) == one,
                    "{threads} threads, stray {stray}"
                );
            }
            assert!(read("t.csv.gz", 1) == one, "gzip, stray {stray}");
            let tx = read_transactions_on(
                &src(SourceKind::Transactions),
                &dir.join("t.csv"),
                &c,
                &BTreeSet::new(),
                i64::MAX,
                1,
                0,
            )
            .unwrap();
            let a = &tx.account;
            assert_eq!(a.rejected["negative_amount"].first_line, 2);
            assert_eq!(a.rejected["wrong_field_count"].first_line, 3);
            assert_eq!(a.unknown_users, 3);
            for u in 0..50 {
                let r = tx.of(u);
                assert!(tx.ts[r].is_sorted(), "user {u} in time order");
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
