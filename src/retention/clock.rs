//! Which interval a timestamp falls in. Cohorts are calendar buckets of
//! the start event (day, ISO week from Monday, month, or fixed-length
//! periods counted from the export's first day, as retentioneering's
//! cohort periods) at a fixed UTC offset. Return intervals are counted
//! either on that calendar (`calendar`: interval N is the N-th bucket after
//! the start's) or from each user's own start timestamp (`rolling`: exact
//! multiples of the interval's length, a month being 30 days, with no
//! rounding of timestamps to the hour, unlike Amplitude).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    /// A fixed length in milliseconds (`7d`, `30d`).
    Fixed(i64),
}

impl Unit {
    /// `day`, `week`, `month` or a duration such as `7d`.
    pub fn parse(s: &str) -> Result<Unit, String> {
        match s {
            "day" => Ok(Unit::Day),
            "week" => Ok(Unit::Week),
            "month" => Ok(Unit::Month),
            _ => match crate::duration::parse_ms(s) {
                Ok(ms) if ms > 0 => Ok(Unit::Fixed(ms)),
                _ => Err(format!(
                    "{s:?}: use day, week, month or a duration such as 7d or 30d"
                )),
            },
        }
    }

    /// The length of one rolling interval.
    pub fn length_ms(self) -> i64 {
        match self {
            Unit::Day => DAY_MS,
            Unit::Week => 7 * DAY_MS,
            Unit::Month => 30 * DAY_MS,
            Unit::Fixed(ms) => ms,
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// Interval N is the N-th calendar bucket after the start's.
    #[default]
    Calendar,
    /// Interval N is [start + N·length, start + (N+1)·length) per user.
    Rolling,
}

/// Parses `UTC`, `Z`, `+02:00`, `-0530` into an offset in milliseconds.
pub fn parse_offset(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{s:?}: give a fixed UTC offset such as UTC, +02:00 or -05:30 (named time zones with daylight saving are not supported)"
        )
    };
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Ok(0);
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i64, i64) = (
        digits[..2].parse().map_err(|_| bad())?,
        digits[2..].parse().map_err(|_| bad())?,
    );
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3_600_000 + m * 60_000))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    pub unit: Unit,
    pub kind: ClockKind,
    /// Local time = UTC + offset.
    pub offset_ms: i64,
    /// For `Fixed` buckets: the local midnight of the export's first day.
    pub anchor_ms: i64,
}

fn local_day(ts: i64, offset: i64) -> i64 {
    (ts + offset).div_euclid(DAY_MS)
}

fn date_of_day(day: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt((day + 719_163) as i32).unwrap_or(NaiveDate::MIN)
}

fn day_of_date(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 719_163
}

impl Clock {
    /// The calendar bucket of `ts` (the cohort key).
    pub fn bucket(&self, ts: i64) -> i64 {
        match self.unit {
            Unit::Day => local_day(ts, self.offset_ms),
            // 1970-01-01 was a Thursday: day 0 is in the week of Monday −3.
            Unit::Week => (local_day(ts, self.offset_ms) + 3).div_euclid(7),
            Unit::Month => {
                let d = date_of_day(local_day(ts, self.offset_ms));
                i64::from(d.year()) * 12 + i64::from(d.month0())
            }
            Unit::Fixed(len) => (ts + self.offset_ms - self.anchor_ms).div_euclid(len),
        }
    }

    /// The UTC timestamp where bucket `b` begins.
    pub fn bucket_start(&self, b: i64) -> i64 {
        let day_start = |day: i64| day * DAY_MS - self.offset_ms;
        match self.unit {
            Unit::Day => day_start(b),
            Unit::Week => day_start(b * 7 - 3),
            Unit::Month => {
                let (y, m) = (b.div_euclid(12), b.rem_euclid(12));
                let d =
                    NaiveDate::from_ymd_opt(y as i32, m as u32 + 1, 1).unwrap_or(NaiveDate::MIN);
                day_start(day_of_date(d))
            }
            Unit::Fixed(len) => self.anchor_ms + b * len - self.offset_ms,
        }
    }

    /// The interval of `ts` counted from a start at `start` (negative
    /// before it).
    pub fn interval_of(&self, start: i64, ts: i64) -> i64 {
        match self.kind {
            ClockKind::Calendar => self.bucket(ts) - self.bucket(start),
            ClockKind::Rolling => (ts - start).div_euclid(self.unit.length_ms()),
        }
    }

    /// Where the user's interval `n` begins and (exclusive) ends.
    pub fn interval_span(&self, start: i64, n: i64) -> (i64, i64) {
        match self.kind {
            ClockKind::Calendar => {
                let b = self.bucket(start) + n;
                (self.bucket_start(b), self.bucket_start(b + 1))
            }
            ClockKind::Rolling => {
                let len = self.unit.length_ms();
                (start + n * len, start + (n + 1) * len)
            }
        }
    }

    /// The bucket's first day as `YYYY-MM-DD` (local).
    pub fn label(&self, b: i64) -> String {
        let start = self.bucket_start(b);
        date_of_day(local_day(start, self.offset_ms))
            .format("%Y-%m-%d")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn clock(unit: Unit, kind: ClockKind, offset: i64) -> Clock {
        Clock {
            unit,
            kind,
            offset_ms: offset,
            anchor_ms: 0,
        }
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let w = clock(Unit::Week, ClockKind::Calendar, 0);
        // 2026-11-30 is a Monday.
        assert_eq!(w.label(w.bucket(ts("2026-12-06T23:59:59Z"))), "2026-11-30");
        assert_eq!(w.label(w.bucket(ts("2026-11-30T00:00:00Z"))), "2026-11-30");
        assert_eq!(w.label(w.bucket(ts("2026-11-29T23:59:59Z"))), "2026-11-23");
        let m = clock(Unit::Month, ClockKind::Calendar, 0);
        let b = m.bucket(ts("2026-02-28T12:00:00Z"));
        assert_eq!(m.label(b), "2026-02-01");
        assert_eq!(m.bucket_start(b + 1), ts("2026-03-01T00:00:00Z"));
        assert_eq!(
            m.bucket(ts("2026-12-31T23:00:00Z")) + 1,
            m.bucket(ts("2027-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn an_offset_moves_the_day_boundary() {
        let utc = clock(Unit::Day, ClockKind::Calendar, 0);
        let plus2 = clock(
            Unit::Day,
            ClockKind::Calendar,
            parse_offset("+02:00").unwrap(),
        );
        let t = ts("2026-11-30T23:00:00Z");
        assert_eq!(utc.label(utc.bucket(t)), "2026-11-30");
        assert_eq!(plus2.label(plus2.bucket(t)), "2026-12-01");
        assert_eq!(
            plus2.bucket_start(plus2.bucket(t)),
            ts("2026-11-30T22:00:00Z")
        );
        assert_eq!(
            parse_offset("-0530").unwrap(),
            -(5 * 3_600_000 + 30 * 60_000)
        );
        assert!(parse_offset("Europe/Paris").is_err());
    }

    #[test]
    fn rolling_counts_from_the_start_calendar_from_the_bucket() {
        let start = ts("2026-11-30T23:00:00Z");
        let next = ts("2026-12-01T01:00:00Z");
        let cal = clock(Unit::Day, ClockKind::Calendar, 0);
        let roll = clock(Unit::Day, ClockKind::Rolling, 0);
        assert_eq!(cal.interval_of(start, next), 1);
        assert_eq!(roll.interval_of(start, next), 0);
        assert_eq!(
            roll.interval_span(start, 1),
            (start + DAY_MS, start + 2 * DAY_MS)
        );
        assert_eq!(
            cal.interval_span(start, 1),
            (ts("2026-12-01T00:00:00Z"), ts("2026-12-02T00:00:00Z"))
        );
    }
}
