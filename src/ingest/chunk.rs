//! A slice of the input validated into columns with local codes; chunks are
//! built in parallel and merged in input order.

use super::interner::Interner;
use super::reject::{Reject, RejectCounts, RejectReason};
use super::timestamp::{self, Parsed, TimeParser, TsError};

/// The timestamp cell as the source holds it.
pub(crate) enum TimeCell<'a> {
    Null,
    Text(&'a str),
    EpochInt(i64),
    EpochFloat(f64),
    /// Already an instant (Parquet Datetime); `naive` when it had no zone.
    Instant {
        ms: i64,
        naive: bool,
    },
}

/// The mapped cells of one row. `session` is `None` when no session column is mapped.
pub(crate) struct Row<'a> {
    pub user: Option<&'a str>,
    pub event: Option<&'a str>,
    pub time: TimeCell<'a>,
    pub session: Option<Option<&'a str>>,
}

/// A rejected row before its location is attached.
pub(crate) struct Rejection {
    pub reason: RejectReason,
    pub column: String,
    pub detail: String,
}

pub(crate) struct Valid<'a> {
    user: &'a str,
    event: &'a str,
    ts: Parsed,
    session: Option<&'a str>,
}

fn present(v: Option<&str>) -> Option<&str> {
    v.map(trim).filter(|s| !s.is_empty())
}

/// `str::trim` with a fast path for the usual cell, which starts and ends
/// with a printable ASCII byte (Unicode whitespace in ASCII is all ≤ 0x20):
/// ten million rows × several cells made the general form 5% of a CSV read.
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    let printable = |b: u8| b > b' ' && b < 0x80;
    match s.as_bytes() {
        [f, .., l] if printable(*f) && printable(*l) => s,
        [c] if printable(*c) => s,
        _ => s.trim(),
    }
}

/// Checks one row's mapped cells, in the documented order.
pub(crate) fn validate<'a>(
    row: &Row<'a>,
    parser: &TimeParser,
    names: &ColumnNames,
) -> Result<Valid<'a>, Rejection> {
    let reject = |reason, column: &str, detail: String| Rejection {
        reason,
        column: column.to_string(),
        detail,
    };
    let user = present(row.user)
        .ok_or_else(|| reject(RejectReason::MissingUser, &names.user, String::new()))?;
    let event = present(row.event)
        .ok_or_else(|| reject(RejectReason::MissingEvent, &names.event, String::new()))?;
    let ts = match row.time {
        TimeCell::Null => {
            return Err(reject(
                RejectReason::MissingTimestamp,
                &names.time,
                String::new(),
            ));
        }
        TimeCell::Text(s) if trim(s).is_empty() => {
            return Err(reject(
                RejectReason::MissingTimestamp,
                &names.time,
                String::new(),
            ));
        }
        TimeCell::Text(s) => parser.parse(s).map_err(|e| ts_reject(e, &names.time, s))?,
        TimeCell::EpochInt(v) => timestamp::check_range(timestamp::int_time(v))
            .map_err(|e| ts_reject(e, &names.time, &v.to_string()))?,
        TimeCell::EpochFloat(v) if !v.is_finite() => {
            return Err(reject(
                RejectReason::BadTimestamp,
                &names.time,
                v.to_string(),
            ));
        }
        TimeCell::EpochFloat(v) => timestamp::check_range(Parsed {
            ms: timestamp::epoch_to_ms(v),
            naive: false,
        })
        .map_err(|e| ts_reject(e, &names.time, &v.to_string()))?,
        TimeCell::Instant { ms, naive } => timestamp::check_range(Parsed { ms, naive })
            .map_err(|e| ts_reject(e, &names.time, &timestamp::format_ms(ms)))?,
    };
    let session = match row.session {
        None => None,
        Some(s) => Some(present(s).ok_or_else(|| {
            reject(
                RejectReason::MissingSession,
                names.session.as_deref().unwrap_or(""),
                String::new(),
            )
        })?),
    };
    Ok(Valid {
        user,
        event,
        ts,
        session,
    })
}

fn ts_reject(e: TsError, column: &str, value: &str) -> Rejection {
    Rejection {
        reason: match e {
            TsError::Unparseable => RejectReason::BadTimestamp,
            TsError::OutOfRange => RejectReason::TimestampOutOfRange,
        },
        column: column.to_string(),
        detail: format!("{value:?}"),
    }
}

/// A hash of the cells of the property columns that are not read, given as
/// (the column's index among all property names, cell). A missing or empty
/// cell adds nothing, and cells combine by addition, so a file that lacks a
/// column, or orders its columns otherwise, hashes a row as the full read
/// would compare it. Duplicates compare this instead of the values
/// (docs/ingest.md).
pub(crate) fn rest_hash<'a>(cells: impl Iterator<Item = (usize, Option<&'a str>)>) -> u64 {
    use std::hash::Hasher;
    let mut sum = 0u64;
    for (name, c) in cells {
        if let Some(v) = present(c) {
            let mut h = rustc_hash::FxHasher::default();
            h.write_usize(name);
            h.write(v.as_bytes());
            sum = sum.wrapping_add(mix(h.finish()));
        }
    }
    sum
}

/// splitmix64's finalizer: Fx output is too regular to add up safely.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The source column names of the mapped roles, for messages.
#[derive(Debug, Clone)]
pub(crate) struct ColumnNames {
    pub user: String,
    pub event: String,
    pub time: String,
    pub session: Option<String>,
}

pub(crate) struct Chunk {
    pub users: Interner,
    pub events: Interner,
    pub sessions: Interner,
    pub props: Vec<Interner>,
    pub user: Vec<u32>,
    pub event: Vec<u32>,
    pub ts: Vec<i64>,
    pub session: Vec<u32>,
    pub prop_codes: Vec<Vec<u32>>,
    /// Per row, a hash of the property cells not read (see [`rest_hash`]);
    /// empty unless the run compares them that way.
    pub rest: Vec<u64>,
    pub read: u64,
    pub naive: u64,
    pub rejected: RejectCounts,
    pub rejects: Vec<Reject>,
    /// Set under `--strict` at the first bad row; the chunk stops there.
    pub strict_stop: Option<Reject>,
    /// The first rejected row, always kept: it is the example in the hint
    /// when every row is rejected.
    pub first_reject: Option<Reject>,
}

impl Chunk {
    pub fn new(n_props: usize, capacity: usize) -> Self {
        Chunk {
            users: Interner::new(),
            events: Interner::new(),
            sessions: Interner::new(),
            props: (0..n_props).map(|_| Interner::with_null()).collect(),
            user: Vec::with_capacity(capacity),
            event: Vec::with_capacity(capacity),
            ts: Vec::with_capacity(capacity),
            session: Vec::new(),
            prop_codes: (0..n_props).map(|_| Vec::with_capacity(capacity)).collect(),
            rest: Vec::new(),
            read: 0,
            naive: 0,
            rejected: RejectCounts::default(),
            rejects: Vec::new(),
            strict_stop: None,
            first_reject: None,
        }
    }

    /// Adds a valid row; `props` yields (global property index, value).
    pub fn push<'a>(
        &mut self,
        v: Valid<'_>,
        props: impl Iterator<Item = (usize, Option<&'a str>)>,
    ) {
        self.user.push(self.users.intern(v.user));
        self.event.push(self.events.intern(v.event));
        self.ts.push(v.ts.ms);
        self.naive += u64::from(v.ts.naive);
        if let Some(s) = v.session {
            self.session.push(self.sessions.intern(s));
        }
        let before = self.user.len();
        for (p, value) in props {
            let code = match present(value) {
                Some(s) => self.props[p].intern(s),
                None => 0,
            };
            self.prop_codes[p].push(code);
        }
        // Properties a file lacks stay null so every column keeps one code per row.
        for col in &mut self.prop_codes {
            if col.len() < before {
                col.push(0);
            }
        }
    }

    /// Adds `n` to the line numbers of the rejects (a piece of a file that
    /// numbered its lines from its own start).
    pub fn shift_lines(&mut self, n: u64) {
        let kept = self.rejects.iter_mut().chain(self.strict_stop.as_mut());
        for r in kept.chain(self.first_reject.as_mut()) {
            r.line += n;
        }
    }

    /// Records a rejected row. Returns false when reading must stop (`--strict`).
    pub fn reject(
        &mut self,
        r: Rejection,
        keep: bool,
        strict: bool,
        locate: impl FnOnce() -> (String, u64, String),
    ) -> bool {
        self.rejected.add(r.reason);
        let first = self.first_reject.is_none();
        if keep || strict || first {
            let (file, line, raw) = locate();
            let rec = Reject {
                file,
                line,
                reason: r.reason,
                column: r.column,
                detail: r.detail,
                raw,
            };
            if first {
                self.first_reject = Some(rec.clone());
            }
            if !(keep || strict) {
                return true;
            }
            if strict {
                self.strict_stop = Some(rec);
                return false;
            }
            self.rejects.push(rec);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trim_is_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\r\n",
            "ab",
            "a b",
            "\u{a0}a",
            "a\u{2003}",
            "\u{85}",
            "é",
            " é ",
            "\u{7f}",
            "x\u{7f}",
            "\u{feff}a",
            "a\u{3000}",
        ] {
            assert_eq!(super::trim(s), s.trim(), "{s:?}");
        }
    }
}
