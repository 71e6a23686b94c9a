//! Durations on the command line and in configs: `30m`, `14d`, `1h30m`, `90s`, `2w`.
//!
//! [`Duration`] and [`Horizon`] parse the same way from a flag (clap uses
//! `FromStr`) and from journey.toml (serde), so a bad value is refused where
//! it is written: with the flag's name, or with the config file's line.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A length of time, in milliseconds; written `30m`, `14d`, `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(i64);

impl Duration {
    pub const fn from_ms(ms: i64) -> Duration {
        Duration(ms)
    }
    pub fn ms(self) -> i64 {
        self.0
    }
    /// The duration, or an error naming `what` when it is zero.
    pub fn positive(self, what: &str) -> Result<i64, crate::error::UsageError> {
        if self.0 > 0 {
            Ok(self.0)
        } else {
            Err(crate::error::UsageError(format!(
                "{what}: must be longer than zero"
            )))
        }
    }
}

impl FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_ms(s).map(Duration)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_ms(self.0))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "e.g. 30m, 14d, 1h30m" })
    }
}

/// How long after a cutoff an outcome counts: a duration, or `all` (to the
/// end of the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizon {
    All,
    Within(Duration),
}

impl FromStr for Horizon {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "all" {
            Ok(Horizon::All)
        } else {
            s.parse()
                .map(Horizon::Within)
                .map_err(|e| format!("{e}, or all"))
        }
    }
}

impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Horizon::All => f.write_str("all"),
            Horizon::Within(d) => d.fmt(f),
        }
    }
}

impl Serialize for Horizon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Horizon {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Horizon {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Horizon".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "a duration (14d) or all" })
    }
}

/// Parses a duration into milliseconds.
pub fn parse_ms(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let hint = || {
        format!(
            "bad duration {s:?}: expected a number and a unit (s, m, h, d, w), e.g. 30m, 14d, 1h30m"
        )
    };
    if s.is_empty() {
        return Err(hint());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return Err(hint()),
        };
        let n: i64 = digits.parse().map_err(|_| hint())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(hint)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(hint());
    }
    Ok(total)
}

/// Formats milliseconds back into the shortest unit form (`1800000` → `30m`).
pub fn format_ms(ms: i64) -> String {
    // Days, not weeks: people write 14d and expect to read it back.
    let units = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ];
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    for (name, size) in units {
        if rest >= size {
            out.push_str(&format!("{}{name}", rest / size));
            rest %= size;
        }
    }
    if rest > 0 {
        out.push_str(&format!("{rest}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_ms("30m"), Ok(1_800_000));
        assert_eq!(parse_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_ms("14d"), Ok(14 * 86_400_000));
        for bad in ["", "30", "m", "3x", "-5m", "1.5h"] {
            assert!(parse_ms(bad).is_err(), "{bad}");
        }
        assert_eq!(format_ms(1_800_000), "30m");
        assert_eq!(format_ms(5_400_000), "1h30m");
        assert_eq!(format_ms(14 * 86_400_000), "14d");
    }
}

/// Seconds as a short human duration: `42s`, `5m 3s`, `2h 10m`, `3d 4h`.
pub fn human_seconds(secs: f64) -> String {
    let s = secs.round() as i64;
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod human_tests {
    #[test]
    fn human() {
        assert_eq!(super::human_seconds(42.4), "42s");
        assert_eq!(super::human_seconds(303.0), "5m 3s");
        assert_eq!(super::human_seconds(7800.0), "2h 10m");
        assert_eq!(super::human_seconds(273_600.0), "3d 4h");
    }
}
