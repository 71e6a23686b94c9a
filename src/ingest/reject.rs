//! Why a row was not used, and the rejects file that lists each one.

use std::path::Path;

use serde::Serialize;

/// Every reason a row can be rejected. The order is the order of the checks:
/// a row is rejected for the first reason that applies.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// A CSV row with more or fewer fields than the header.
    WrongFieldCount,
    /// A field that is not valid UTF-8.
    InvalidUtf8,
    /// A copy of the header row inside the data (concatenated exports).
    RepeatedHeader,
    /// The user column is empty or null.
    MissingUser,
    /// The event column is empty or null.
    MissingEvent,
    /// The timestamp column is empty or null.
    MissingTimestamp,
    /// The timestamp does not parse in any accepted form.
    BadTimestamp,
    /// The timestamp parses but lies outside [1970-01-01, 2100-01-01).
    TimestampOutOfRange,
    /// A session column is mapped but this row's session id is empty or null.
    MissingSession,
}

impl RejectReason {
    pub const ALL: [RejectReason; 9] = [
        RejectReason::WrongFieldCount,
        RejectReason::InvalidUtf8,
        RejectReason::RepeatedHeader,
        RejectReason::MissingUser,
        RejectReason::MissingEvent,
        RejectReason::MissingTimestamp,
        RejectReason::BadTimestamp,
        RejectReason::TimestampOutOfRange,
        RejectReason::MissingSession,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::WrongFieldCount => "wrong_field_count",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::RepeatedHeader => "repeated_header",
            RejectReason::MissingUser => "missing_user",
            RejectReason::MissingEvent => "missing_event",
            RejectReason::MissingTimestamp => "missing_timestamp",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::TimestampOutOfRange => "timestamp_out_of_range",
            RejectReason::MissingSession => "missing_session",
        }
    }

    /// A sentence for people, used in `--strict` errors.
    pub fn describe(self) -> &'static str {
        match self {
            RejectReason::WrongFieldCount => "wrong number of fields",
            RejectReason::InvalidUtf8 => "invalid UTF-8",
            RejectReason::RepeatedHeader => "a repeated header row",
            RejectReason::MissingUser => "the user id is empty",
            RejectReason::MissingEvent => "the event name is empty",
            RejectReason::MissingTimestamp => "the timestamp is empty",
            RejectReason::BadTimestamp => {
                "unparseable timestamp (expected ISO 8601, epoch seconds or milliseconds, or pass --time-format)"
            }
            RejectReason::TimestampOutOfRange => {
                "timestamp outside 1970-01-01..2100-01-01 (a unit mix-up? epoch microseconds read as milliseconds?)"
            }
            RejectReason::MissingSession => {
                "the session id is empty (pass --resessionize to split sessions by inactivity instead)"
            }
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// One rejected row. `line` is the CSV line where the record starts (the
/// header is line 1) or, for Parquet, the 1-based row number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub reason: RejectReason,
    /// The column the reason is about ("" for whole-row reasons).
    pub column: String,
    /// What was found, e.g. "expected 8 fields, found 7" or the bad value.
    pub detail: String,
    /// The raw row (lossy UTF-8, without its line ending).
    pub raw: String,
}

/// Writes rejects as CSV: `file,line,reason,column,detail,raw`, sorted by file order then line.
pub fn write_rejects(path: &Path, rejects: &[Reject]) -> anyhow::Result<()> {
    crate::atomic::write_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["file", "line", "reason", "column", "detail", "raw"])?;
        for r in rejects {
            out.write_record([
                r.file.as_str(),
                &r.line.to_string(),
                r.reason.as_str(),
                &r.column,
                &r.detail,
                &r.raw,
            ])?;
        }
        out.flush()?;
        Ok(())
    })
}

/// Per-reason counters, indexed by [`RejectReason::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectCounts(pub [u64; 9]);

impl RejectCounts {
    pub fn add(&mut self, reason: RejectReason) {
        self.0[reason.index()] += 1;
    }
    pub fn add_n(&mut self, reason: RejectReason, n: u64) {
        self.0[reason.index()] += n;
    }
    pub fn merge(&mut self, other: &RejectCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    /// Nonzero counts by reason name, in check order.
    pub fn by_reason(&self) -> Vec<(RejectReason, u64)> {
        RejectReason::ALL
            .iter()
            .map(|r| (*r, self.0[r.index()]))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
