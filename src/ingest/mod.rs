//! Reading clickstream exports (CSV, gzip CSV, Parquet) into one validated,
//! per-user ordered event table, with every input row accounted for.

mod chunk;
pub(crate) mod csv_source;
pub mod dedup;
pub mod hint;
mod interner;
mod parquet_source;
pub mod reject;
pub mod spill;
pub mod timestamp;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::error::{DataError, UsageError};
use chunk::{Chunk, ColumnNames};
pub use interner::Interner;
pub use reject::{Reject, RejectCounts, RejectReason};
use timestamp::TimeParser;

/// Which source column plays which role.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ColumnMapping {
    pub user: String,
    pub event: String,
    pub time: String,
    /// `None`: use `session_id` when the file has it. `Some`: required.
    pub session: Option<String>,
}

impl Default for ColumnMapping {
    fn default() -> Self {
        ColumnMapping {
            user: "user_id".into(),
            event: "event".into(),
            time: "timestamp".into(),
            session: None,
        }
    }
}

pub const DEFAULT_SESSION_COL: &str = "session_id";

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub mapping: ColumnMapping,
    pub delimiter: u8,
    pub time_format: Option<String>,
    /// Ignore the session column (sessions come from inactivity gaps).
    pub ignore_session_col: bool,
    pub strict: bool,
    /// Keep each rejected row (for `--rejects`); counts are always kept.
    pub keep_rejects: bool,
    /// Remove exact duplicate rows (they are counted either way).
    pub drop_duplicates: bool,
    /// Worker threads for parsing; 0 means one per core.
    pub threads: usize,
    /// The property columns to read; `None` reads every one. The others are
    /// skipped in the CSV parser and projected away in the Parquet reader,
    /// but still listed among the file's properties.
    pub properties: Option<PropertySelection>,
    /// Keep a per-row hash of the property columns not read, so duplicates
    /// still compare every column (`inspect` reads no property values).
    pub hash_unread: bool,
}

/// Which property columns a run reads: those named, and with `unnamed`
/// every column that is not named like an identifier (the automatic
/// features may use any of those; docs/features.md).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertySelection {
    pub named: std::collections::BTreeSet<String>,
    pub unnamed: bool,
}

impl PropertySelection {
    pub fn reads(&self, column: &str) -> bool {
        self.named.contains(column) || self.unnamed && !crate::features::auto::id_like(column)
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            mapping: ColumnMapping::default(),
            delimiter: b',',
            time_format: None,
            ignore_session_col: false,
            strict: false,
            keep_rejects: false,
            drop_duplicates: false,
            threads: 0,
            properties: None,
            hash_unread: false,
        }
    }
}

impl IngestOptions {
    /// Whether the property column `name` is read.
    pub fn reads(&self, name: &str) -> bool {
        self.properties.as_ref().is_none_or(|s| s.reads(name))
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    CsvGz,
    Parquet,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format> {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name == STDIN {
            return Ok(Format::Csv);
        }
        if name.ends_with(".parquet") || name.ends_with(".pq") {
            Ok(Format::Parquet)
        } else if name.ends_with(".csv.gz") || name.ends_with(".tsv.gz") {
            Ok(Format::CsvGz)
        } else if name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt") {
            Ok(Format::Csv)
        } else {
            Err(UsageError(format!(
                "{}: unknown file type; expected .csv, .csv.gz or .parquet",
                path.display()
            ))
            .into())
        }
    }
}

/// What was read from one file.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FileInfo {
    pub path: String,
    pub format: Format,
    pub bytes: u64,
    pub rows_read: u64,
    pub rows_rejected: u64,
}

/// A property column: codes per event, 0 = missing.
#[derive(Debug, Clone)]
pub struct PropColumn {
    pub name: String,
    pub values: Interner,
    pub codes: Vec<u32>,
}

/// Valid events, ordered per user by (timestamp, input order). Users come in
/// the order of their ids (byte order), whatever the order of the rows.
#[derive(Debug, Clone, Default)]
pub struct EventTable {
    pub user_names: Interner,
    pub event_names: Interner,
    pub user: Vec<u32>,
    pub event: Vec<u32>,
    /// Milliseconds since the Unix epoch, UTC.
    pub ts: Vec<i64>,
    /// Source session ids, when a session column is used.
    pub session_names: Interner,
    pub session: Vec<u32>,
    pub props: Vec<PropColumn>,
}

impl EventTable {
    pub fn len(&self) -> usize {
        self.user.len()
    }
    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }
    /// Index ranges of each user's events, in table order.
    pub fn user_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::with_capacity(self.user_names.len());
        let mut start = 0;
        for i in 1..=self.user.len() {
            if i == self.user.len() || self.user[i] != self.user[start] {
                out.push(start..i);
                start = i;
            }
        }
        out
    }
    pub fn prop(&self, name: &str) -> Option<&PropColumn> {
        self.props.iter().find(|p| p.name == name)
    }

    /// The events before `end`, as an export that ended then would hold
    /// them (the same names and codes; users with no such event drop out).
    pub fn before(&self, end: i64) -> EventTable {
        let keep: Vec<usize> = (0..self.len()).filter(|&i| self.ts[i] < end).collect();
        let pick = |v: &[u32]| -> Vec<u32> {
            if v.len() == self.len() {
                keep.iter().map(|&i| v[i]).collect()
            } else {
                v.to_vec()
            }
        };
        EventTable {
            user_names: self.user_names.clone(),
            event_names: self.event_names.clone(),
            user: pick(&self.user),
            event: pick(&self.event),
            ts: keep.iter().map(|&i| self.ts[i]).collect(),
            session_names: self.session_names.clone(),
            session: pick(&self.session),
            props: self
                .props
                .iter()
                .map(|p| PropColumn {
                    name: p.name.clone(),
                    values: p.values.clone(),
                    codes: pick(&p.codes),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ingested {
    pub table: EventTable,
    pub files: Vec<FileInfo>,
    pub read: u64,
    pub rejected: RejectCounts,
    /// Each rejected row, in input order (only with `keep_rejects`).
    pub rejects: Vec<Reject>,
    /// Rows whose timestamp had no zone and was taken as UTC.
    pub naive_timestamps: u64,
    /// The session column used, if any.
    pub session_column: Option<String>,
    pub notes: Vec<String>,
    /// The first rejected row of the input, even without `keep_rejects`.
    pub first_reject: Option<Reject>,
    /// Exact copies of an earlier row (see [`dedup`]).
    pub duplicates: u64,
    /// Whether they were removed from the table.
    pub duplicates_dropped: bool,
    /// Every property column of the input, read or not, in order of first
    /// appearance (`table.props` holds the ones read).
    pub property_names: Vec<String>,
    /// Per event of `table`, a hash of the property cells not read, when
    /// `IngestOptions::hash_unread` kept them (else empty); duplicates
    /// compare it.
    pub unread_hashes: Vec<u64>,
    /// In a partitioned run (whose `table` holds no rows), the rows used.
    pub spilled_rows: Option<u64>,
}

impl Ingested {
    /// Rows and nothing else: a partition of a partitioned run.
    pub fn of(table: EventTable) -> Ingested {
        Ingested {
            table,
            files: Vec::new(),
            read: 0,
            rejected: RejectCounts::default(),
            rejects: Vec::new(),
            naive_timestamps: 0,
            session_column: None,
            notes: Vec::new(),
            first_reject: None,
            duplicates: 0,
            duplicates_dropped: false,
            property_names: Vec::new(),
            unread_hashes: Vec::new(),
            spilled_rows: None,
        }
    }

    pub fn used(&self) -> u64 {
        self.spilled_rows.unwrap_or(self.table.len() as u64)
    }
}

/// The input name that reads CSV (plain or gzip) from stdin.
pub const STDIN: &str = "-";

/// The data files directly inside `dir` (not hidden, known extensions), sorted.
fn data_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        UsageError(format!(
            "{}: cannot list the directory ({e})",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter(|p| Format::of(p).is_ok())
        .collect();
    files.sort();
    Ok(files)
}

/// Expands globs (`exports/*.parquet`) and directories into a sorted,
/// de-duplicated file list.
pub fn resolve_inputs(patterns: &[String]) -> Result<Vec<PathBuf>> {
    if patterns.is_empty() {
        return Err(UsageError(
            "no input: name the export's files (FILES), e.g. `events.csv` or 'exports/*.parquet'"
                .into(),
        )
        .into());
    }
    let mut out = Vec::new();
    for pat in patterns {
        if pat.contains(['*', '?', '[']) {
            let mut matched: Vec<PathBuf> = glob::glob(pat)
                .map_err(|e| UsageError(format!("bad glob {pat:?}: {e}")))?
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            if matched.is_empty() {
                return Err(UsageError(format!("no file matches {pat:?}")).into());
            }
            matched.sort();
            out.extend(matched);
        } else if pat == STDIN {
            out.push(PathBuf::from(STDIN));
        } else {
            let p = PathBuf::from(pat);
            if p.is_dir() {
                let files = data_files_in(&p)?;
                if files.is_empty() {
                    return Err(UsageError(format!(
                        "{pat}: the directory holds no .csv, .csv.gz, .tsv or .parquet file"
                    ))
                    .into());
                }
                out.extend(files);
                continue;
            }
            if !p.is_file() {
                return Err(UsageError(format!("{pat}: no such file")).into());
            }
            out.push(p);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    if out.is_empty() {
        return Err(UsageError("no input files given".into()).into());
    }
    Ok(out)
}

/// Where each role sits in one file's columns.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub user: usize,
    pub event: usize,
    pub time: usize,
    pub session: Option<usize>,
    /// (column index, global property index)
    pub props: Vec<(usize, usize)>,
    /// The property columns not read whose cells are hashed per row
    /// (`IngestOptions::hash_unread`): (column index, index in
    /// `PropRegistry::all`).
    pub hashed: Vec<(usize, usize)>,
    pub names: ColumnNames,
    pub n_cols: usize,
}

/// Global property names, shared by all files in order of first appearance:
/// `names` of the columns read, `all` of every property column.
#[derive(Debug, Default)]
pub(crate) struct PropRegistry {
    pub names: Vec<String>,
    pub all: Vec<String>,
}

impl PropRegistry {
    fn index(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        }
    }
}

pub(crate) fn resolve_layout<'a>(
    file: &str,
    header: &[String],
    opts: &'a IngestOptions,
    registry: &mut PropRegistry,
) -> Result<Layout, DataError> {
    let m = &opts.mapping;
    let mut missing: Vec<(&str, &'static str)> = Vec::new();
    let mut find = |name: &'a str, flag: &'static str| {
        let at = header.iter().position(|h| h == name);
        if at.is_none() {
            missing.push((name, flag));
        }
        at.unwrap_or(0)
    };
    let user = find(&m.user, "--user-col");
    let event = find(&m.event, "--event-col");
    let time = find(&m.time, "--time-col");
    let session = if opts.ignore_session_col {
        None
    } else {
        match &m.session {
            Some(s) => Some(find(s, "--session-col")),
            None => header.iter().position(|h| h == DEFAULT_SESSION_COL),
        }
    };
    if !missing.is_empty() {
        return Err(missing_columns(file, header, &missing, opts.delimiter));
    }
    let mut props = Vec::new();
    let mut hashed = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, h) in header.iter().enumerate() {
        let mapped = i == user || i == event || i == time || Some(i) == session;
        let ignored_session = opts.ignore_session_col
            && Some(h.as_str()) == m.session.as_deref().or(Some(DEFAULT_SESSION_COL));
        if !mapped && !ignored_session && seen.insert(h.clone()) {
            let name = match registry.all.iter().position(|a| a == h) {
                Some(at) => at,
                None => {
                    registry.all.push(h.clone());
                    registry.all.len() - 1
                }
            };
            if opts.reads(h) {
                props.push((i, registry.index(h)));
            } else if opts.hash_unread {
                hashed.push((i, name));
            }
        }
    }
    Ok(Layout {
        user,
        event,
        time,
        session,
        props,
        hashed,
        names: ColumnNames {
            user: header[user].clone(),
            event: header[event].clone(),
            time: header[time].clone(),
            session: session.map(|s| header[s].clone()),
        },
        n_cols: header.len(),
    })
}

fn missing_columns(
    file: &str,
    header: &[String],
    missing: &[(&str, &'static str)],
    delimiter: u8,
) -> DataError {
    let names = missing
        .iter()
        .map(|(c, f)| format!("'{c}' (mapped by {f})"))
        .collect::<Vec<_>>();
    let missing_text = if names.len() == 1 {
        format!("required column {}", names[0])
    } else {
        format!("required columns {}", names.join(", "))
    };
    let other = [(';', "';'"), ('\t', "tab"), ('|', "'|'"), (',', "','")]
        .into_iter()
        .find(|(d, _)| {
            *d as u32 != u32::from(delimiter) && header.len() == 1 && header[0].contains(*d)
        });
    let hint = match other {
        Some(('\t', _)) => {
            "the header is one column with tabs in it: pass --delimiter tab".to_string()
        }
        Some((d, name)) => {
            format!("the header is one column with {name} in it: pass --delimiter '{d}'")
        }
        None => {
            let (user, event, time, _) = crate::starter::guess_mapping(header);
            let guessed: Vec<String> = missing
                .iter()
                .filter_map(|(_, f)| {
                    let g = match *f {
                        "--user-col" => user.as_ref(),
                        "--event-col" => event.as_ref(),
                        "--time-col" => time.as_ref(),
                        _ => None,
                    }?;
                    Some(format!("{f} {}", shell_word(g)))
                })
                .collect();
            let mut hint = format!(
                "pass {} NAME to map one of these columns (or set it in journey.toml's [input])",
                missing
                    .iter()
                    .map(|(_, f)| *f)
                    .collect::<Vec<_>>()
                    .join(" NAME, ")
            );
            if !guessed.is_empty() {
                hint.push_str(&format!(
                    "; from the header, {} {} right (`journeymap init` writes the mapping into a config)",
                    guessed.join(" "),
                    if guessed.len() == 1 { "looks" } else { "look" }
                ));
            }
            if missing.iter().any(|(_, f)| *f == "--event-col") && event.is_none() {
                hint.push_str(
                    "; a table without an event column (transactions) needs one: add a column that names each row's event",
                );
            }
            hint
        }
    };
    DataError::MissingColumns {
        file: file.to_string(),
        missing: missing_text,
        found: header.join(", "),
        hint,
    }
}

/// A column name as a shell word: quoted when it holds anything but
/// letters, digits, `_`, `-` and `.`.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub(crate) fn thread_count(opts: &IngestOptions) -> usize {
    if opts.threads > 0 {
        opts.threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Reads every file, validates every row, and returns the ordered table.
pub fn ingest(
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: &crate::progress::Progress,
) -> Result<Ingested> {
    let mut registry = PropRegistry::default();
    let mut chunks: Vec<Chunk> = Vec::new();
    let head = read_files(paths, opts, progress, &mut registry, &mut |c| {
        chunks.push(c);
        Ok(())
    })?;
    progress.stage("ordering events per user");
    let mut ingested = merge(chunks, &registry, head.session_column.is_some());
    head.fill(&mut ingested);
    let (dup, n) = dedup::mark(&ingested.table, &ingested.unread_hashes);
    ingested.duplicates = n;
    if opts.drop_duplicates && n > 0 {
        dedup::drop_marked(&mut ingested.table, &dup);
        ingested.duplicates_dropped = true;
    }
    ingested.unread_hashes = Vec::new();
    Ok(ingested)
}

/// What reading the files says besides their rows.
pub(crate) struct ReadHead {
    pub files: Vec<FileInfo>,
    pub session_column: Option<String>,
    pub notes: Vec<String>,
    pub first_reject: Option<Reject>,
}

impl ReadHead {
    pub(crate) fn fill(self, ing: &mut Ingested) {
        ing.files = self.files;
        ing.session_column = self.session_column;
        ing.notes = self.notes;
        ing.first_reject = self.first_reject;
    }
}

/// Reads every file in order and hands each chunk of valid rows (with its
/// rejects) to `sink` as it is parsed: the in-memory run keeps them all,
/// a partitioned run spills them (`spill.rs`).
pub(crate) fn read_files(
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: &crate::progress::Progress,
    registry: &mut PropRegistry,
    sink: &mut dyn FnMut(Chunk) -> Result<()>,
) -> Result<ReadHead> {
    let parser = TimeParser::new(opts.time_format.clone());
    let mut files = Vec::new();
    let mut session_column: Option<String> = None;
    let mut sessionless_files = Vec::new();
    let mut notes = Vec::new();
    let mut first_reject: Option<Reject> = None;
    for path in paths {
        let format = Format::of(path)?;
        let bytes = if path.as_os_str() == STDIN {
            0
        } else {
            std::fs::metadata(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .len()
        };
        progress.stage(&format!("reading {}", path.display()));
        let display = path.display().to_string();
        let (mut read, mut rejected) = (0u64, 0u64);
        let mut stop: Option<Reject> = None;
        let mut each = |cs: Vec<Chunk>| -> Result<()> {
            for c in cs {
                read += c.read;
                rejected += c.rejected.total();
                if first_reject.is_none() {
                    first_reject = c.first_reject.clone();
                }
                if stop.is_none() {
                    stop = c.strict_stop.clone();
                }
                if stop.is_none() {
                    sink(c)?;
                }
            }
            Ok(())
        };
        let (layout, file_notes) = match format {
            Format::Csv | Format::CsvGz => {
                let (c, l, n) = csv_source::read(path, &display, format, opts, &parser, registry)?;
                each(c)?;
                (l, n)
            }
            Format::Parquet => {
                let (l, n) =
                    parquet_source::read(path, &display, opts, &parser, registry, &mut each)?;
                (Some(l), n)
            }
        };
        notes.extend(file_notes);
        if let Some(stop) = stop {
            return Err(DataError::StrictReject {
                file: stop.file,
                line: stop.line,
                place: if stop.column.is_empty() {
                    String::new()
                } else {
                    format!("column '{}': ", stop.column)
                },
                reason: stop.reason.describe().to_string(),
                detail: if stop.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", stop.detail)
                },
            }
            .into());
        }
        match layout.as_ref().map(|l| &l.names.session) {
            Some(Some(s)) => session_column = Some(s.clone()),
            Some(None) => sessionless_files.push(display.clone()),
            None => notes.push(format!(
                "{}: the file is empty (no header, 0 rows)",
                crate::doc::rich::code(&display)
            )),
        }
        files.push(FileInfo {
            path: display,
            format,
            bytes,
            rows_read: read,
            rows_rejected: rejected,
        });
    }
    // Sessions must come from one source for the whole table.
    if session_column.is_some() && !sessionless_files.is_empty() {
        return Err(DataError::Input(format!(
            "some files have the session column {:?} and some do not ({}).\n  hint: pass --resessionize to split sessions by inactivity for all files",
            session_column.unwrap_or_default(),
            sessionless_files.join(", ")
        ))
        .into());
    }
    Ok(ReadHead {
        files,
        session_column,
        notes,
        first_reject,
    })
}

/// How many rows ahead a gather asks the cache for its random read.
const PREFETCH: usize = 24;

/// A hint that `v[i]` is read soon: a gather is a random read per row, and
/// the memory latency, not the work, is what it costs.
#[inline(always)]
fn prefetch<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < v.len() {
        // SAFETY: prefetching is only a hint; the pointer is in bounds.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                v.as_ptr().add(i).cast::<i8>(),
                std::arch::x86_64::_MM_HINT_T0,
            )
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}

/// Remaps local codes to global ones, concatenates in input order, then orders
/// events per user by (timestamp, input order).
fn merge(chunks: Vec<Chunk>, registry: &PropRegistry, has_session: bool) -> Ingested {
    let total: usize = chunks.iter().map(|c| c.user.len()).sum();
    // Row hashes of the unread properties, when kept: a chunk without
    // them (a file whose columns are all read) hashes every row to 0.
    let hashes = chunks.iter().any(|c| !c.rest.is_empty());
    let mut row_hashes: Vec<u64> = Vec::new();
    if hashes {
        row_hashes.reserve(total);
        for c in &chunks {
            if c.rest.is_empty() {
                row_hashes.resize(row_hashes.len() + c.user.len(), 0);
            } else {
                row_hashes.extend_from_slice(&c.rest);
            }
        }
    }
    let mut chunks = chunks.into_iter();
    // The first chunk's codes become the global ones, so its columns are
    // moved, not copied; later chunks are remapped onto them.
    let mut first = chunks
        .next()
        .unwrap_or_else(|| Chunk::new(registry.names.len(), 0));
    let reserve = |v: &mut Vec<u32>| v.reserve(total - v.len());
    reserve(&mut first.user);
    reserve(&mut first.event);
    first.ts.reserve(total - first.ts.len());
    if has_session {
        reserve(&mut first.session);
    }
    first.prop_codes.iter_mut().for_each(reserve);
    let Chunk {
        mut users,
        mut events,
        mut sessions,
        mut props,
        mut user,
        mut event,
        mut ts,
        mut session,
        mut prop_codes,
        mut read,
        mut naive,
        mut rejected,
        mut rejects,
        ..
    } = first;
    let remap = |local: &Interner, global: &mut Interner| -> Vec<u32> {
        local.iter().map(|n| global.intern(n)).collect()
    };
    let mut rest: Vec<Chunk> = chunks.collect();
    // A file read before a later file added a column lacks that property:
    // its events have it missing (code 0).
    let n_props = registry.names.len();
    pad_props(&mut props, &mut prop_codes, user.len(), n_props);
    for c in rest.iter_mut() {
        pad_props(&mut c.props, &mut c.prop_codes, c.user.len(), n_props);
        read += c.read;
        naive += c.naive;
        rejected.merge(&c.rejected);
        rejects.append(&mut c.rejects);
    }
    // Each column has its own interner, so columns merge independently:
    // sessions (the largest vocabulary) and timestamps on one thread, users,
    // events and properties on this one. Codes still follow first appearance.
    std::thread::scope(|scope| {
        let rest = &rest;
        let (sessions, session, ts) = (&mut sessions, &mut session, &mut ts);
        scope.spawn(move || {
            for c in rest {
                ts.extend_from_slice(&c.ts);
                if has_session {
                    let sm = remap(&c.sessions, sessions);
                    session.extend(c.session.iter().map(|&s| sm[s as usize]));
                }
            }
        });
        for c in rest {
            let um = remap(&c.users, &mut users);
            user.extend(c.user.iter().map(|&u| um[u as usize]));
            let em = remap(&c.events, &mut events);
            event.extend(c.event.iter().map(|&e| em[e as usize]));
            for (p, (local, codes)) in c.props.iter().zip(&c.prop_codes).enumerate() {
                let pm = remap(local, &mut props[p]);
                prop_codes[p].extend(codes.iter().map(|&v| pm[v as usize]));
            }
        }
    });
    drop(rest);
    // Users in the order of their ids, not of their first row: every
    // result (splits, folds, fits, output order) then depends on the data
    // alone, not on how the export's rows happen to be ordered.
    let users = canonical_users(users, &mut user);
    // Exports usually come grouped by user and in time order already; then
    // the columns are kept as they are.
    let identity = already_ordered(&user, &ts);
    let perm = if identity {
        Vec::new()
    } else {
        order_by_user_then_time(&user, &ts, users.len())
    };
    // Each gather is a random read of the whole column: split over the
    // cores (rayon keeps the order).
    // Prefetching the row PREFETCH ahead overlaps the cache misses: on the
    // 10M-event retail export (global time order) the gathers took 0.27 s
    // instead of 0.47 s.
    fn gather_with<T: Copy + Default + Send + Sync>(perm: &[u32], v: Vec<T>) -> Vec<T> {
        use rayon::prelude::*;
        let mut out = vec![T::default(); perm.len()];
        out.par_chunks_mut(1 << 16)
            .zip(perm.par_chunks(1 << 16))
            .for_each(|(dst, idx)| {
                for (j, (d, &i)) in dst.iter_mut().zip(idx).enumerate() {
                    if let Some(&ahead) = idx.get(j + PREFETCH) {
                        prefetch(&v, ahead as usize);
                    }
                    *d = v[i as usize];
                }
            });
        out
    }
    let gather = |v: Vec<u32>| -> Vec<u32> { if identity { v } else { gather_with(&perm, v) } };
    let ts = if identity { ts } else { gather_with(&perm, ts) };
    let row_hashes = if identity || row_hashes.is_empty() {
        row_hashes
    } else {
        gather_with(&perm, row_hashes)
    };
    let table = EventTable {
        user: gather(user),
        event: gather(event),
        ts,
        session: if has_session {
            gather(session)
        } else {
            Vec::new()
        },
        session_names: sessions,
        props: registry
            .names
            .iter()
            .zip(props)
            .zip(prop_codes)
            .map(|((name, interner), codes)| PropColumn {
                name: name.clone(),
                values: interner,
                codes: gather(codes),
            })
            .collect(),
        user_names: users,
        event_names: events,
    };
    Ingested {
        table,
        files: Vec::new(),
        read,
        rejected,
        rejects,
        naive_timestamps: naive,
        session_column: None,
        notes: Vec::new(),
        first_reject: None,
        duplicates: 0,
        duplicates_dropped: false,
        property_names: registry.all.clone(),
        unread_hashes: row_hashes,
        spilled_rows: None,
    }
}

fn pad_props(props: &mut Vec<Interner>, codes: &mut Vec<Vec<u32>>, rows: usize, n: usize) {
    while props.len() < n {
        props.push(Interner::with_null());
        codes.push(vec![0; rows]);
    }
}

/// The user interner with codes in id order (byte order of the names), and
/// `user` recoded to match. Already sorted (as generated and many exported
/// files are): returned as it is.
fn canonical_users(users: Interner, user: &mut [u32]) -> Interner {
    let n = users.len();
    if (1..n).all(|c| users.get(c as u32 - 1) < users.get(c as u32)) {
        return users;
    }
    let (users, recode) = canonical_order(users);
    for u in user.iter_mut() {
        *u = recode[*u as usize];
    }
    users
}

/// The users in id order, and each old code's new one.
fn canonical_order(users: Interner) -> (Interner, Vec<u32>) {
    let n = users.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by(|&a, &b| users.get(a).cmp(users.get(b)));
    let mut recode = vec![0u32; n];
    for (new, &old) in order.iter().enumerate() {
        recode[old as usize] = new as u32;
    }
    (order.iter().map(|&c| users.get(c)).collect(), recode)
}

/// True when users come in code order (codes are in id order, so input
/// grouped by sorted user has each new user one above the last) and each
/// user's events are in time order.
fn already_ordered(user: &[u32], ts: &[i64]) -> bool {
    user.first().is_none_or(|&u| u == 0)
        && user.windows(2).zip(ts.windows(2)).all(|(u, t)| {
            if u[0] == u[1] {
                t[0] <= t[1]
            } else {
                u[1] == u[0] + 1
            }
        })
}

/// A stable counting sort by user code (codes are in id order), then a
/// stable sort by timestamp inside each user where it is not already ordered.
/// Stability is what keeps equal timestamps in export order.
fn order_by_user_then_time(user: &[u32], ts: &[i64], n_users: usize) -> Vec<u32> {
    let mut start = vec![0usize; n_users + 1];
    for &u in user {
        start[u as usize + 1] += 1;
    }
    for i in 0..n_users {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut perm = vec![0u32; user.len()];
    // Whether each user's rows come in time order is seen in the same
    // sequential pass (a user's last time stays in cache), instead of
    // reading the timestamps again in user order, a random read per row.
    let mut last = vec![i64::MIN; n_users];
    let mut unordered = vec![false; n_users];
    for (i, (&u, &t)) in user.iter().zip(ts).enumerate() {
        let u = u as usize;
        perm[next[u]] = i as u32;
        next[u] += 1;
        unordered[u] |= t < last[u];
        last[u] = t;
    }
    for (w, _) in start.windows(2).zip(&unordered).filter(|(_, u)| **u) {
        perm[w[0]..w[1]].sort_by_key(|&i| ts[i as usize]);
    }
    perm
}

/// The column names of a file, without reading its rows.
pub fn header(path: &Path, delimiter: u8) -> Result<Vec<String>> {
    let unreadable = |m: String| DataError::Unreadable {
        file: path.display().to_string(),
        message: m,
    };
    match Format::of(path)? {
        Format::Parquet => {
            use polars::prelude::{ParquetReader, SerReader};
            let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
            let schema = crate::guard::decoding(|| ParquetReader::new(file).schema())
                .map_err(|p| unreadable(format!("the Parquet decoder failed ({p})")))?
                .map_err(|e| unreadable(e.to_string()))?;
            Ok(schema.iter_names().map(|n| n.to_string()).collect())
        }
        format => {
            let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
            let reader: Box<dyn std::io::Read> = match format {
                Format::CsvGz => Box::new(flate2::read::MultiGzDecoder::new(file)),
                _ => Box::new(file),
            };
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_reader(reader);
            let h = rdr.headers().map_err(|e| unreadable(e.to_string()))?;
            Ok(h.iter()
                .map(|s| s.trim_start_matches('\u{feff}').trim().to_string())
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_is_stable_on_ties() {
        let user = [0, 1, 0, 0, 1];
        let ts = [5, 1, 3, 3, 0];
        let perm = order_by_user_then_time(&user, &ts, 2);
        assert_eq!(perm, vec![2, 3, 0, 4, 1]);
        assert!(!already_ordered(&user, &ts));
        assert!(already_ordered(&[0, 0, 1, 2, 2], &[1, 1, 0, 5, 6]));
        assert!(!already_ordered(&[0, 1, 0], &[1, 1, 1]));
        assert!(!already_ordered(&[0, 0], &[2, 1]));
    }
}
