//! Timestamp parsing: ISO 8601 (with `Z`, an offset, or naive), epoch numbers,
//! or a user-given chrono format. Everything becomes milliseconds since the
//! Unix epoch, UTC.
//!
//! The ISO path is hand-written because it runs once per row and chrono's
//! generic parser is several times slower on 10M rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// 1970-01-01T00:00:00Z: clickstream data before the epoch is a broken export.
pub const MIN_MS: i64 = 0;
/// 2100-01-01T00:00:00Z: anything later is a unit mix-up (µs read as ms, say).
pub const MAX_MS: i64 = 4_102_444_800_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsError {
    Unparseable,
    OutOfRange,
}

/// A parsed instant and whether it carried no zone (taken as UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub ms: i64,
    pub naive: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TimeParser {
    format: Option<String>,
    format_has_zone: bool,
    /// The format ended in `%Z`: the value's last word is a zone name,
    /// and only UTC's names are understood.
    zone_name: bool,
}

/// Zone names that need no zone database. chrono's `%Z` would skip any
/// word when parsing, so `10:00 CET` would silently read as 10:00 UTC.
const UTC_NAMES: [&str; 4] = ["UTC", "GMT", "Z", "UT"];

impl TimeParser {
    /// `format` uses chrono's strftime codes, with two differences that
    /// make exports written for Python read right: `.%f` reads any number
    /// of fraction digits as a fraction of a second (chrono's own `%f`
    /// would read `.123456` as 123456 nanoseconds), and a trailing `%Z`
    /// accepts UTC's names only (see [`UTC_NAMES`]); other zones are
    /// rejected rows, never read as UTC.
    pub fn new(format: Option<String>) -> Self {
        let format = format.map(|f| f.replace(".%f", "%.f"));
        let (format, zone_name) = match format {
            Some(f) if f.trim_end().ends_with("%Z") => {
                let f = f.trim_end();
                (Some(f[..f.len() - 2].trim_end().to_string()), true)
            }
            f => (f, false),
        };
        let format_has_zone = format
            .as_deref()
            .is_some_and(|f| f.contains("%z") || f.contains("%:z") || f.contains("%#z"));
        TimeParser {
            format,
            format_has_zone,
            zone_name,
        }
    }

    /// A `--time-format` that can never be read right.
    pub fn check_format(format: &str) -> Result<(), String> {
        let f = format.trim_end();
        if f.contains("%Z") && !f.ends_with("%Z") {
            return Err(format!(
                "--time-format '{format}': %Z (a zone name) is only understood at the end of the format"
            ));
        }
        Ok(())
    }

    pub fn parse(&self, s: &str) -> Result<Parsed, TsError> {
        let s = super::chunk::trim(s);
        let parsed = match &self.format {
            Some(f) if self.zone_name => {
                let (time, zone) = s.rsplit_once(' ').ok_or(TsError::Unparseable)?;
                if !UTC_NAMES.iter().any(|z| z.eq_ignore_ascii_case(zone)) {
                    return Err(TsError::Unparseable);
                }
                let p = self.parse_with_format(time.trim_end(), f)?;
                Parsed {
                    ms: p.ms,
                    naive: false,
                }
            }
            Some(f) => self.parse_with_format(s, f)?,
            None => parse_auto(s)?,
        };
        check_range(parsed)
    }

    fn parse_with_format(&self, s: &str, f: &str) -> Result<Parsed, TsError> {
        if self.format_has_zone {
            let dt = DateTime::parse_from_str(s, f).map_err(|_| TsError::Unparseable)?;
            return Ok(Parsed {
                ms: dt.timestamp_millis(),
                naive: false,
            });
        }
        let ndt = NaiveDateTime::parse_from_str(s, f)
            .or_else(|_| {
                NaiveDate::parse_from_str(s, f).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            })
            .map_err(|_| TsError::Unparseable)?;
        Ok(Parsed {
            ms: ndt.and_utc().timestamp_millis(),
            naive: true,
        })
    }
}

/// Rejects instants outside [1970, 2100).
pub fn check_range(p: Parsed) -> Result<Parsed, TsError> {
    if (MIN_MS..MAX_MS).contains(&p.ms) {
        Ok(p)
    } else {
        Err(TsError::OutOfRange)
    }
}

/// Converts an epoch number to milliseconds by its magnitude: below 1e11 it is
/// seconds (1e11 s is the year 5138), below 1e14 milliseconds, below 1e17
/// microseconds, else nanoseconds.
pub fn epoch_to_ms(v: f64) -> i64 {
    let a = v.abs();
    let ms = if a < 1e11 {
        v * 1000.0
    } else if a < 1e14 {
        v
    } else if a < 1e17 {
        v / 1000.0
    } else {
        v / 1_000_000.0
    };
    ms.floor() as i64
}

/// A compact date written as an integer: `YYYYMMDD` (8 digits, year
/// 1900..=2100, a real calendar day) or `YYYYMMDDHHMMSS` (14 digits), as
/// warehouses and older exports write them (CDNOW: `19970101`). Read as
/// epoch seconds, 19970101 would be 1970-08-20, a silent wrong answer; the
/// only epochs this shadows are 8-digit seconds (April 1970 to March 1973)
/// and 14-digit milliseconds, which would be past 2100 anyway.
pub fn compact_date_ms(v: i64) -> Option<i64> {
    let (date, hms) = match v {
        19_000_101..=21_001_231 => (v, 0),
        19_000_101_000_000..=21_001_231_235_959 => (v / 1_000_000, v % 1_000_000),
        _ => return None,
    };
    let (y, m, d) = (date / 10_000, date / 100 % 100, date % 100);
    let (hh, mm, ss) = (hms / 10_000, hms / 100 % 100, hms % 100);
    let days_in = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    Some((days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss) * 1000)
}

/// An integer time: a compact date ([`compact_date_ms`], naive) or an
/// epoch by magnitude.
pub fn int_time(v: i64) -> Parsed {
    match compact_date_ms(v) {
        Some(ms) => Parsed { ms, naive: true },
        None => Parsed {
            ms: epoch_int_to_ms(v),
            naive: false,
        },
    }
}

/// Integer form of [`epoch_to_ms`], exact for integer inputs.
pub fn epoch_int_to_ms(v: i64) -> i64 {
    let a = v.unsigned_abs();
    if a < 100_000_000_000 {
        v.saturating_mul(1000)
    } else if a < 100_000_000_000_000 {
        v
    } else if a < 100_000_000_000_000_000 {
        v.div_euclid(1000)
    } else {
        v.div_euclid(1_000_000)
    }
}

fn parse_auto(s: &str) -> Result<Parsed, TsError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(TsError::Unparseable);
    }
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        return parse_iso(b);
    }
    parse_epoch(s)
}

fn parse_epoch(s: &str) -> Result<Parsed, TsError> {
    let b = s.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        let v: i64 = s.parse().map_err(|_| TsError::OutOfRange)?;
        return Ok(int_time(v));
    }
    // Fractional epoch seconds ("1700000000.25"); refuse "inf", "nan", exponents.
    if digits.iter().all(|c| c.is_ascii_digit() || *c == b'.') && digits.contains(&b'.') {
        let v: f64 = s.parse().map_err(|_| TsError::Unparseable)?;
        return Ok(Parsed {
            ms: epoch_to_ms(v),
            naive: false,
        });
    }
    Err(TsError::Unparseable)
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0')))
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:MM]]`
fn parse_iso(b: &[u8]) -> Result<Parsed, TsError> {
    let bad = TsError::Unparseable;
    let y = num(&b[0..4]).ok_or(bad)?;
    let mo = num(&b[5..7]).ok_or(bad)?;
    let d = num(&b[8..10]).ok_or(bad)?;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return Err(bad);
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    let mut rest = &b[10..];
    if rest.is_empty() {
        return Ok(Parsed { ms, naive: true });
    }
    if rest[0] != b'T' && rest[0] != b' ' && rest[0] != b't' {
        return Err(bad);
    }
    rest = &rest[1..];
    if rest.len() < 5 || rest[2] != b':' {
        return Err(bad);
    }
    let h = num(&rest[0..2]).ok_or(bad)?;
    let mi = num(&rest[3..5]).ok_or(bad)?;
    rest = &rest[5..];
    let mut sec = 0;
    if rest.first() == Some(&b':') {
        if rest.len() < 3 {
            return Err(bad);
        }
        sec = num(&rest[1..3]).ok_or(bad)?;
        rest = &rest[3..];
    }
    // 60 admits a leap second, folded onto the next second as chrono does.
    if h > 23 || mi > 59 || sec > 60 {
        return Err(bad);
    }
    ms += (h * 3600 + mi * 60 + sec) * 1000;
    if matches!(rest.first(), Some(b'.') | Some(b',')) {
        let frac_len = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac_len == 0 {
            return Err(bad);
        }
        let frac = &rest[1..1 + frac_len];
        let mut scaled = 0i64;
        for i in 0..3 {
            scaled = scaled * 10 + frac.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
        ms += scaled;
        rest = &rest[1 + frac_len..];
    }
    // Warehouses write the zone after a space: BigQuery `... UTC`,
    // Snowflake and Postgres `... +00:00`.
    if let [b' ', zone @ ..] = rest
        && !zone.is_empty()
    {
        rest = zone;
    }
    match rest {
        [] => Ok(Parsed { ms, naive: true }),
        [b'Z'] | [b'z'] | b"UTC" | b"GMT" => Ok(Parsed { ms, naive: false }),
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let (oh, om) = match tz {
                [a, b] => (num(&[*a, *b]), Some(0)),
                [a, b, b':', c, d] | [a, b, c, d] => (num(&[*a, *b]), num(&[*c, *d])),
                _ => (None, None),
            };
            let (oh, om) = (oh.ok_or(bad)?, om.ok_or(bad)?);
            if oh > 23 || om > 59 {
                return Err(bad);
            }
            let off = (oh * 60 + om) * 60_000;
            ms += if *sign == b'+' { -off } else { off };
            Ok(Parsed { ms, naive: false })
        }
        _ => Err(bad),
    }
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Parsed, TsError> {
        TimeParser::new(None).parse(s)
    }

    #[test]
    fn iso_forms_agree_with_chrono() {
        let want = DateTime::parse_from_rfc3339("2026-10-01T12:34:56.789Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(p("2026-10-01T12:34:56.789Z").unwrap().ms, want);
        assert_eq!(p("2026-10-01T14:34:56.789+02:00").unwrap().ms, want);
        assert_eq!(p("2026-10-01T07:34:56.789-0500").unwrap().ms, want);
        let naive = p("2026-10-01 12:34:56.789").unwrap();
        assert_eq!(
            naive,
            Parsed {
                ms: want,
                naive: true
            }
        );
        assert_eq!(p("2026-10-01T12:34:56.789123Z").unwrap().ms, want);
        assert_eq!(
            p("2026-10-01").unwrap().ms,
            want - (12 * 3600 + 34 * 60 + 56) * 1000 - 789
        );
    }

    #[test]
    fn epochs_by_magnitude() {
        assert_eq!(p("1700000000").unwrap().ms, 1_700_000_000_000);
        assert_eq!(p("1700000000123").unwrap().ms, 1_700_000_000_123);
        assert_eq!(p("1700000000123456").unwrap().ms, 1_700_000_000_123);
        assert_eq!(p("1700000000.5").unwrap().ms, 1_700_000_000_500);
    }

    #[test]
    fn compact_dates_are_dates_not_1970_epochs() {
        let day = |s: &str| format_ms(p(s).unwrap().ms);
        assert_eq!(day("19970101"), "1997-01-01T00:00:00.000Z");
        assert_eq!(day("20240229"), "2024-02-29T00:00:00.000Z");
        assert!(p("19970101").unwrap().naive);
        assert_eq!(day("20240102030405"), "2024-01-02T03:04:05.000Z");
        // Not a calendar day: an epoch as before (seconds, then out of range
        // for 14 digits as milliseconds).
        assert_eq!(p("20230229").unwrap().ms, 20_230_229_000);
        assert_eq!(p("19971301").unwrap().ms, 19_971_301_000);
        assert!(p("20240102036005").is_err());
        // Other 8-digit numbers stay epoch seconds.
        assert_eq!(p("99999999").unwrap().ms, 99_999_999_000);
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        for s in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30",
            "2026-10-01T25:00:00Z",
            "2026-10-01T10:00:00+99:00",
            "2026-10-01X10:00",
            "1e9",
            "NaN",
            "2026-10-01T10:00:00ZZ",
        ] {
            assert_eq!(p(s), Err(TsError::Unparseable), "{s:?}");
        }
        assert_eq!(p("1969-12-31T23:59:59Z"), Err(TsError::OutOfRange));
        assert_eq!(p("2100-01-01T00:00:00Z"), Err(TsError::OutOfRange));
        assert_eq!(p("-5"), Err(TsError::OutOfRange));
    }

    #[test]
    fn custom_formats() {
        let t = TimeParser::new(Some("%d/%m/%Y %H:%M".into()));
        let got = t.parse("01/10/2026 12:34").unwrap();
        assert_eq!(got.ms, p("2026-10-01T12:34:00Z").unwrap().ms);
        assert!(got.naive);
        let z = TimeParser::new(Some("%d/%m/%Y %H:%M %z".into()));
        assert_eq!(z.parse("01/10/2026 14:34 +0200").unwrap().ms, got.ms);
        assert_eq!(t.parse("2026-10-01"), Err(TsError::Unparseable));
    }

    #[test]
    fn warehouse_zone_suffixes() {
        let want = p("2024-01-02T03:04:05.123Z").unwrap();
        assert_eq!(p("2024-01-02 03:04:05.123456 UTC").unwrap(), want);
        assert_eq!(p("2024-01-02 03:04:05.123 +00:00").unwrap(), want);
        assert_eq!(p("2024-01-02 03:04:05.123GMT").unwrap(), want);
        assert_eq!(p("2024-01-02 03:04:05.123 CET"), Err(TsError::Unparseable));
        assert_eq!(p("2024-01-02 03:04:05.123 "), p("2024-01-02 03:04:05.123"));
    }

    #[test]
    fn fraction_reads_as_python_reads_it() {
        let t = TimeParser::new(Some("%Y-%m-%d %H:%M:%S.%f".into()));
        let want = p("2024-01-02T03:04:05.123Z").unwrap().ms;
        assert_eq!(t.parse("2024-01-02 03:04:05.123456").unwrap().ms, want);
        assert_eq!(t.parse("2024-01-02 03:04:05.123").unwrap().ms, want);
        assert_eq!(
            t.parse("2024-01-02 03:04:05.5").unwrap().ms,
            want - 123 + 500
        );
    }

    #[test]
    fn zone_names_other_than_utc_are_refused() {
        let t = TimeParser::new(Some("%d/%m/%Y %H:%M %Z".into()));
        let want = p("2024-01-02T03:04:00Z").unwrap();
        assert_eq!(t.parse("02/01/2024 03:04 UTC").unwrap(), want);
        assert_eq!(t.parse("02/01/2024 03:04 gmt").unwrap(), want);
        assert_eq!(t.parse("02/01/2024 03:04 CET"), Err(TsError::Unparseable));
        assert_eq!(t.parse("02/01/2024 03:04"), Err(TsError::Unparseable));
        assert!(TimeParser::check_format("%Z %d/%m/%Y").is_err());
        assert!(TimeParser::check_format("%d/%m/%Y %Z").is_ok());
    }

    #[test]
    fn civil_days_match_chrono_over_a_range() {
        for days in (-800_000i64..800_000).step_by(997) {
            let d = DateTime::from_timestamp(days * 86_400, 0)
                .unwrap()
                .date_naive();
            use chrono::Datelike;
            assert_eq!(
                days_from_civil(d.year().into(), d.month().into(), d.day().into()),
                days
            );
        }
    }
}
