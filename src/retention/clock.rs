//! Which interval a timestamp falls in. Cohorts are calendar buckets of
//! the start event (day, ISO week from Monday, month, or periods of a
//! fixed length or of N months counted from an anchor: the export's first
//! day, the Monday of its week or the first of its month, as
//! retentioneering's `cohort_start_unit` and `cohort_period`) on the
//! local calendar of a [`Zone`]: a fixed UTC offset, or an IANA zone whose
//! offset follows daylight saving (a day is then 23 or 25 hours when the
//! clocks change). Return intervals are counted
//! either on that calendar (`calendar`: interval N is the N-th bucket after
//! the start's) or from each user's own start timestamp (`rolling`: exact
//! multiples of the interval's length, a month being 30 days, with no
//! rounding of timestamps to the hour, unlike Amplitude).

use chrono::{Datelike, LocalResult, NaiveDate, Offset, TimeZone};
use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    /// A fixed length in milliseconds (`7d`, `30d`).
    Fixed(i64),
    /// N calendar months (N ≥ 2), counted from the anchor's month.
    Months(u32),
}

/// Where the grid of `Fixed` and `Months` periods starts: the export's
/// first local day, the Monday of that day's week, or the first of its
/// month (retentioneering's `cohort_start_unit` D, W, M).
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
pub enum Anchor {
    #[default]
    Day,
    Week,
    Month,
}

impl Anchor {
    pub fn name(self) -> &'static str {
        match self {
            Anchor::Day => "day",
            Anchor::Week => "week",
            Anchor::Month => "month",
        }
    }

    /// The local midnight (ms, local clock) where the grid starts, for an
    /// export whose first event is at `first` (UTC ms).
    pub fn start_ms(self, first: i64, zone: Zone) -> i64 {
        let day = zone.local_day(first);
        let day = match self {
            Anchor::Day => day,
            // Day 0 (1970-01-01) was a Thursday.
            Anchor::Week => day - (day + 3).rem_euclid(7),
            Anchor::Month => {
                let d = date_of_day(day);
                day - i64::from(d.day0())
            }
        };
        day * DAY_MS
    }
}

impl Unit {
    /// `day`, `week`, `month`, `N months` or a duration such as `7d`.
    pub fn parse(s: &str) -> Result<Unit, String> {
        let bad = || {
            format!(
                "{s:?}: use day, week, month, N months (\"2 months\") or a duration such as 7d or 30d"
            )
        };
        match s {
            "day" => Ok(Unit::Day),
            "week" => Ok(Unit::Week),
            "month" => Ok(Unit::Month),
            _ => {
                let t = s.trim();
                if let Some(n) = t
                    .strip_suffix("months")
                    .or_else(|| t.strip_suffix("month"))
                    .map(str::trim)
                {
                    return match n.parse::<u32>() {
                        Ok(1) => Ok(Unit::Month),
                        Ok(n) if (2..=120).contains(&n) => Ok(Unit::Months(n)),
                        _ => Err(bad()),
                    };
                }
                match crate::duration::parse_ms(t) {
                    Ok(ms) if ms > 0 => Ok(Unit::Fixed(ms)),
                    _ => Err(bad()),
                }
            }
        }
    }

    /// Whether the unit's periods are counted from an [`Anchor`] (a day
    /// or a week is a calendar bucket whatever the anchor).
    pub fn anchored(self) -> bool {
        matches!(self, Unit::Fixed(_) | Unit::Months(_))
    }

    /// The length of one rolling interval.
    pub fn length_ms(self) -> i64 {
        match self {
            Unit::Day => DAY_MS,
            Unit::Week => 7 * DAY_MS,
            Unit::Month => 30 * DAY_MS,
            Unit::Months(n) => i64::from(n) * 30 * DAY_MS,
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
    let bad = || format!("{s:?}: give a fixed UTC offset such as UTC, +02:00 or -05:30");
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

/// The calendar's time zone: a fixed offset, or an IANA zone (the tz
/// database compiled in by chrono-tz, so the result does not depend on
/// the machine's zoneinfo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Local time = UTC + this many milliseconds.
    Fixed(i64),
    Named(chrono_tz::Tz),
}

pub const UTC: Zone = Zone::Fixed(0);

impl Zone {
    /// `UTC`, an offset (`+02:00`) or an IANA name (`Europe/Paris`).
    pub fn parse(s: &str) -> Result<Zone, String> {
        if let Ok(o) = parse_offset(s) {
            return Ok(Zone::Fixed(o));
        }
        s.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            format!(
                "{s:?}: give a UTC offset such as UTC, +02:00 or -05:30, or an IANA time zone such as Europe/Paris or America/New_York"
            )
        })
    }

    /// The local wall-clock time of a UTC instant, as milliseconds since
    /// the local epoch.
    pub fn local_ms(self, ts: i64) -> i64 {
        match self {
            Zone::Fixed(o) => ts + o,
            Zone::Named(tz) => match chrono::DateTime::from_timestamp_millis(ts) {
                Some(d) => {
                    let off = tz.offset_from_utc_datetime(&d.naive_utc()).fix();
                    ts + i64::from(off.local_minus_utc()) * 1000
                }
                None => ts,
            },
        }
    }

    /// The first UTC instant whose local time is `local` or later: the
    /// earlier of two when the clocks went back, the moment they jumped
    /// when `local` was skipped.
    pub fn utc_ms(self, local: i64) -> i64 {
        match self {
            Zone::Fixed(o) => local - o,
            Zone::Named(tz) => {
                let naive = chrono::DateTime::from_timestamp_millis(local).map(|d| d.naive_utc());
                match naive.map(|n| tz.from_local_datetime(&n)) {
                    Some(LocalResult::Single(d)) => d.timestamp_millis(),
                    Some(LocalResult::Ambiguous(first, _)) => first.timestamp_millis(),
                    Some(LocalResult::None) => {
                        // In a gap local time only jumps forward: the
                        // first instant at or after `local`, by bisection
                        // over two days (offsets stay within ±26 h).
                        let (mut lo, mut hi) = (local - 2 * DAY_MS, local + 2 * DAY_MS);
                        while hi - lo > 1 {
                            let mid = lo + (hi - lo) / 2;
                            if self.local_ms(mid) >= local {
                                hi = mid;
                            } else {
                                lo = mid;
                            }
                        }
                        hi
                    }
                    None => local,
                }
            }
        }
    }

    fn local_day(self, ts: i64) -> i64 {
        self.local_ms(ts).div_euclid(DAY_MS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    pub unit: Unit,
    pub kind: ClockKind,
    pub zone: Zone,
    /// For `Fixed` and `Months` buckets: the local midnight where the grid
    /// starts ([`Anchor::start_ms`]), in local milliseconds.
    pub anchor_ms: i64,
}

fn date_of_day(day: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt((day + 719_163) as i32).unwrap_or(NaiveDate::MIN)
}

fn day_of_date(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 719_163
}

/// Months since year 0 of a local day.
fn month_of_day(day: i64) -> i64 {
    let d = date_of_day(day);
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn first_day_of_month(m: i64) -> i64 {
    let (y, m) = (m.div_euclid(12), m.rem_euclid(12));
    day_of_date(NaiveDate::from_ymd_opt(y as i32, m as u32 + 1, 1).unwrap_or(NaiveDate::MIN))
}

impl Clock {
    /// The calendar bucket of `ts` (the cohort key).
    pub fn bucket(&self, ts: i64) -> i64 {
        match self.unit {
            Unit::Day => self.zone.local_day(ts),
            // 1970-01-01 was a Thursday: day 0 is in the week of Monday −3.
            Unit::Week => (self.zone.local_day(ts) + 3).div_euclid(7),
            Unit::Month => month_of_day(self.zone.local_day(ts)),
            Unit::Months(n) => (month_of_day(self.zone.local_day(ts)) - self.anchor_month())
                .div_euclid(i64::from(n)),
            Unit::Fixed(len) => (self.zone.local_ms(ts) - self.anchor_ms).div_euclid(len),
        }
    }

    /// The UTC timestamp where bucket `b` begins.
    pub fn bucket_start(&self, b: i64) -> i64 {
        let day_start = |day: i64| self.zone.utc_ms(day * DAY_MS);
        match self.unit {
            Unit::Day => day_start(b),
            Unit::Week => day_start(b * 7 - 3),
            Unit::Month => day_start(first_day_of_month(b)),
            Unit::Months(n) => {
                day_start(first_day_of_month(self.anchor_month() + b * i64::from(n)))
            }
            Unit::Fixed(len) => self.zone.utc_ms(self.anchor_ms + b * len),
        }
    }

    fn anchor_month(&self) -> i64 {
        month_of_day(self.anchor_ms.div_euclid(DAY_MS))
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
        date_of_day(self.zone.local_day(start))
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
            zone: Zone::Fixed(offset),
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
        assert!(matches!(Zone::parse("Europe/Paris"), Ok(Zone::Named(_))));
    }

    #[test]
    fn anchors_start_the_grid_on_the_day_its_monday_or_the_first() {
        // 2021-12-28 was a Tuesday.
        let first = ts("2021-12-28T00:01:00Z");
        let at = |a: Anchor| {
            let c = Clock {
                unit: Unit::Fixed(28 * DAY_MS),
                kind: ClockKind::Calendar,
                zone: UTC,
                anchor_ms: a.start_ms(first, UTC),
            };
            c.label(c.bucket(first))
        };
        assert_eq!(at(Anchor::Day), "2021-12-28");
        assert_eq!(at(Anchor::Week), "2021-12-27");
        assert_eq!(at(Anchor::Month), "2021-12-01");
        // Two-month periods from the anchor's month: Dec–Jan, Feb–Mar.
        let m2 = Clock {
            unit: Unit::Months(2),
            kind: ClockKind::Calendar,
            zone: UTC,
            anchor_ms: Anchor::Month.start_ms(first, UTC),
        };
        let b = m2.bucket(ts("2022-01-31T23:59:59Z"));
        assert_eq!((b, m2.label(b)), (0, "2021-12-01".to_string()));
        let b = m2.bucket(ts("2022-03-31T12:00:00Z"));
        assert_eq!((b, m2.label(b)), (1, "2022-02-01".to_string()));
        assert_eq!(m2.bucket_start(2), ts("2022-04-01T00:00:00Z"));
        assert_eq!(m2.bucket(ts("2021-11-30T00:00:00Z")), -1);
        assert_eq!(m2.label(-1), "2021-10-01");
        // A negative offset moves the anchor's day back.
        let o = Zone::parse("-05:00").unwrap();
        assert_eq!(
            Anchor::Day.start_ms(ts("2021-12-28T03:00:00Z"), o),
            ts("2021-12-27T00:00:00Z")
        );
    }

    fn named(name: &str, unit: Unit) -> Clock {
        Clock {
            unit,
            kind: ClockKind::Calendar,
            zone: Zone::parse(name).unwrap(),
            anchor_ms: 0,
        }
    }

    #[test]
    fn named_zones_follow_daylight_saving() {
        // Europe/Paris: +01:00 until 2026-03-29 01:00 UTC, then +02:00
        // until 2026-10-25 01:00 UTC.
        let d = named("Europe/Paris", Unit::Day);
        let b = d.bucket(ts("2026-03-28T23:30:00Z"));
        assert_eq!(d.label(b), "2026-03-29");
        assert_eq!(d.bucket_start(b), ts("2026-03-28T23:00:00Z"));
        // That day has 23 hours, 2026-10-25 has 25.
        assert_eq!(d.bucket_start(b + 1), ts("2026-03-29T22:00:00Z"));
        let oct = d.bucket(ts("2026-10-25T12:00:00Z"));
        assert_eq!(
            d.bucket_start(oct + 1) - d.bucket_start(oct),
            25 * 3_600_000
        );
        assert_eq!(d.label(d.bucket(ts("2026-10-25T22:59:59Z"))), "2026-10-25");
        assert_eq!(d.label(d.bucket(ts("2026-10-25T23:00:00Z"))), "2026-10-26");
        // A summer offset where a fixed one would put the event on the
        // day before.
        let fixed = clock(Unit::Day, ClockKind::Calendar, 3_600_000);
        let t = ts("2026-07-01T22:30:00Z");
        assert_eq!(fixed.label(fixed.bucket(t)), "2026-07-01");
        assert_eq!(d.label(d.bucket(t)), "2026-07-02");
        // Weeks and months start at local midnight too.
        let w = named("America/New_York", Unit::Week);
        assert_eq!(
            w.bucket_start(w.bucket(ts("2026-03-10T12:00:00Z"))),
            ts("2026-03-09T04:00:00Z")
        );
        let m = named("America/New_York", Unit::Month);
        assert_eq!(
            m.bucket_start(m.bucket(ts("2026-11-15T12:00:00Z"))),
            ts("2026-11-01T04:00:00Z")
        );
        assert!(Zone::parse("Europe/Pariss").unwrap_err().contains("IANA"));
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_when_the_clocks_jump() {
        // America/Santiago moved from -04:00 to -03:00 at local midnight
        // on 2026-09-06: 00:00-00:59 did not exist that day, which began
        // at 04:00 UTC.
        let d = named("America/Santiago", Unit::Day);
        let b = d.bucket(ts("2026-09-06T12:00:00Z"));
        assert_eq!(d.label(b), "2026-09-06");
        assert_eq!(d.bucket_start(b), ts("2026-09-06T04:00:00Z"));
        // Every day's first instant is in it, the instant before in the
        // day before, across a year of transitions in several zones.
        for name in [
            "America/Santiago",
            "Europe/Paris",
            "Australia/Lord_Howe",
            "Asia/Tehran",
            "UTC",
            "+05:45",
        ] {
            let d = named(name, Unit::Day);
            let first = d.bucket(ts("2026-01-01T00:00:00Z"));
            for b in first..first + 400 {
                let s = d.bucket_start(b);
                assert_eq!(d.bucket(s), b, "{name} {}", d.label(b));
                assert_eq!(d.bucket(s - 1), b - 1, "{name} {}", d.label(b));
            }
        }
    }

    #[test]
    fn units_parse_months_and_durations() {
        assert_eq!(Unit::parse("2 months"), Ok(Unit::Months(2)));
        assert_eq!(Unit::parse("3months"), Ok(Unit::Months(3)));
        assert_eq!(Unit::parse("1 month"), Ok(Unit::Month));
        assert_eq!(Unit::parse("30d"), Ok(Unit::Fixed(30 * DAY_MS)));
        for bad in ["0 months", "x months", "fortnight", "0d", "-3d"] {
            assert!(Unit::parse(bad).is_err(), "{bad}");
        }
        assert!(Unit::Months(2).anchored() && Unit::Fixed(1).anchored());
        assert!(!Unit::Month.anchored() && !Unit::Week.anchored());
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
