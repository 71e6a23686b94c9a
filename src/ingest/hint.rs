//! When every row of the input is rejected, the run stops (exit 3) with the
//! likely cause and the flag that fixes it: empty tables with exit 0 would
//! let a nightly job report nothing and look healthy.

use super::reject::{Reject, RejectReason};
use super::timestamp::TimeParser;
use super::{IngestOptions, Ingested};
use crate::error::DataError;

/// Formats tried on a timestamp nothing else could read, most common first.
/// Day-first forms come before month-first ones only where the example's
/// first number is above 12; see [`suggest_time_format`].
const DATE_FORMATS: &[&str] = &[
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%y %H:%M",
    "%m/%d/%y %H:%M",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y",
    "%b %d, %Y %H:%M:%S",
    "%b %d %Y %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
];

/// The error for an input whose every row was rejected, or `None` when
/// some rows were used (or there were none to read).
pub fn all_rejected(ing: &Ingested, opts: &IngestOptions) -> Option<DataError> {
    if ing.read == 0 || ing.used() > 0 {
        return None;
    }
    let counts = ing
        .rejected
        .by_reason()
        .iter()
        .map(|(r, n)| format!("{n} {}", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut msg = format!(
        "all {} rows were rejected ({counts}); nothing is left to analyse",
        ing.read
    );
    if let Some(r) = &ing.first_reject {
        msg.push_str(&format!(
            "\n  first: {}:{}: {}{}",
            r.file,
            r.line,
            if r.column.is_empty() {
                String::new()
            } else {
                format!("column '{}': ", r.column)
            },
            r.reason.describe()
        ));
        if !r.detail.is_empty() {
            msg.push_str(&format!(" ({})", clip(&r.detail)));
        }
        msg.push_str(&format!("\n  hint: {}", hint(r, opts)));
    }
    msg.push_str("\n  list every rejected row with --rejects FILE");
    Some(DataError::Input(msg))
}

fn clip(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(MAX).collect::<String>())
    }
}

fn hint(r: &Reject, opts: &IngestOptions) -> String {
    match r.reason {
        RejectReason::WrongFieldCount => {
            let guess = [(b';', "';'"), (b'\t', "tab"), (b'|', "'|'"), (b',', "','")]
                .into_iter()
                .filter(|(d, _)| *d != opts.delimiter)
                .max_by_key(|(d, _)| r.raw.bytes().filter(|b| b == d).count())
                .filter(|(d, _)| r.raw.bytes().any(|b| b == *d));
            match guess {
                Some((b'\t', _)) => {
                    "the rows do not split into the header's columns; the file looks tab-separated: pass --delimiter tab".into()
                }
                Some((d, name)) => format!(
                    "the rows do not split into the header's columns; the file looks separated by {name}: pass --delimiter '{}'",
                    d as char
                ),
                None => "the rows do not split into the header's columns: check --delimiter and the quoting".into(),
            }
        }
        RejectReason::BadTimestamp => match &opts.time_format {
            Some(f) => format!(
                "the timestamps do not match --time-format '{f}'; it uses chrono's strftime codes (docs: README, Timestamps)"
            ),
            None => match suggest_time_format(r.detail.trim_matches('"')) {
                Some(f) => format!(
                    "the timestamps look like '{f}': pass --time-format '{f}' (or set time_format in [input])"
                ),
                None => "pass --time-format with the timestamps' strftime form, e.g. --time-format '%d/%m/%Y %H:%M'".into(),
            },
        },
        RejectReason::TimestampOutOfRange => {
            "the timestamps parse but fall outside 1970..2100: an epoch in another unit, or the wrong column for --time-col?".into()
        }
        RejectReason::MissingUser => "the user column is empty on every row: map another one with --user-col".into(),
        RejectReason::MissingEvent => "the event column is empty on every row: map another one with --event-col".into(),
        RejectReason::MissingTimestamp => "the time column is empty on every row: map another one with --time-col".into(),
        RejectReason::MissingSession => {
            "the session column is empty: pass --resessionize to split sessions by inactivity".into()
        }
        RejectReason::InvalidUtf8 => {
            "the file is not UTF-8 (Latin-1 or UTF-16?): convert it first, e.g. iconv -f latin1 -t utf-8".into()
        }
        RejectReason::RepeatedHeader => "every row repeats the header".into(),
    }
}

/// A `--time-format` that reads `example`, when one of the common forms
/// does. A first number above 12 settles day-first; otherwise the
/// day-first reading is offered (it is the more common one in exports
/// outside the US) and the user is told to check.
pub fn suggest_time_format(example: &str) -> Option<String> {
    let first: Option<u32> = example
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok());
    let month_first_impossible = first.is_some_and(|n| n > 12);
    DATE_FORMATS
        .iter()
        .filter(|f| !(month_first_impossible && f.starts_with("%m")))
        .find(|f| TimeParser::new(Some(f.to_string())).parse(example).is_ok())
        .map(|f| f.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_first_and_other_common_forms_are_recognized() {
        assert_eq!(
            suggest_time_format("31/12/2024 10:00:05").as_deref(),
            Some("%d/%m/%Y %H:%M:%S")
        );
        assert_eq!(
            suggest_time_format("12/31/2024 10:00").as_deref(),
            Some("%m/%d/%Y %H:%M")
        );
        assert_eq!(
            suggest_time_format("24.12.2024").as_deref(),
            Some("%d.%m.%Y")
        );
        assert_eq!(
            suggest_time_format("3 Mar 2024 10:00:00").as_deref(),
            Some("%d %b %Y %H:%M:%S")
        );
        assert_eq!(suggest_time_format("yesterday"), None);
    }
}
