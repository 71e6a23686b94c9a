//! The state that frequency caps and cool-downs read across runs: every
//! action taken so far, one row each (`history.csv` in the output
//! directory; the next run reads it back). A run keeps the rows dated
//! before its run date and replaces the rest with its own actions, so
//! re-running a night gives the same files.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::error::DataError;

pub const HEADER: [&str; 6] = ["as_of", "user_id", "pathway", "action", "channel", "source"];
const DAY: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub day: i64,
    pub user: String,
    pub pathway: String,
    pub action: String,
    pub channel: String,
    pub source: String,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    pub rows: Vec<Row>,
    by_user: HashMap<String, Vec<usize>>,
}

impl History {
    pub fn new(mut rows: Vec<Row>) -> History {
        rows.sort();
        let mut by_user: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            by_user.entry(r.user.clone()).or_default().push(i);
        }
        History { rows, by_user }
    }

    fn of<'a>(&'a self, user: &str) -> impl Iterator<Item = &'a Row> + 'a {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .map(|&i| &self.rows[i])
    }

    /// Actions of `pathway` to `user` dated in [from, to).
    pub fn count(&self, user: &str, pathway: &str, from: i64, to: i64) -> u32 {
        self.of(user)
            .filter(|r| r.pathway == pathway && r.day >= from && r.day < to)
            .count() as u32
    }

    /// The day of the last action of `pathway` to `user` before `end`.
    pub fn last(&self, user: &str, pathway: &str, end: i64) -> Option<i64> {
        self.of(user)
            .filter(|r| r.pathway == pathway && r.day < end)
            .map(|r| r.day)
            .max()
    }

    pub fn last_any(&self, user: &str, end: i64) -> Option<i64> {
        self.of(user).filter(|r| r.day < end).map(|r| r.day).max()
    }

    /// Reads a history file; `before` drops rows dated on or after it.
    pub fn read(path: &Path, before: i64) -> Result<History, DataError> {
        let what = path.display().to_string();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(path)
            .map_err(|e| DataError::Input(format!("{what}: cannot read the state file: {e}")))?;
        let header: Vec<String> = r
            .headers()
            .map_err(|e| DataError::Input(format!("{what}:1: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        if header != HEADER {
            return Err(DataError::Input(format!(
                "{what}:1: a state file starts with {} (found {}); pass the history.csv an earlier run wrote",
                HEADER.join(","),
                header.join(",")
            )));
        }
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| DataError::Input(format!("{what}: {e}")))?;
            let line = rec.position().map_or(0, |p| p.line());
            let day = parse_day(&rec[0]).ok_or_else(|| {
                DataError::Input(format!(
                    "{what}:{line}: as_of {:?} is not a date (YYYY-MM-DD)",
                    &rec[0]
                ))
            })?;
            if day >= before {
                continue;
            }
            rows.push(Row {
                day,
                user: rec[1].to_string(),
                pathway: rec[2].to_string(),
                action: rec[3].to_string(),
                channel: rec[4].to_string(),
                source: rec[5].to_string(),
            });
        }
        Ok(History::new(rows))
    }

    pub fn write(&self, w: &mut dyn Write) -> anyhow::Result<()> {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(HEADER)?;
        for r in &self.rows {
            c.write_record([
                format_day(r.day).as_str(),
                &r.user,
                &r.pathway,
                &r.action,
                &r.channel,
                &r.source,
            ])?;
        }
        c.flush()?;
        Ok(())
    }
}

/// `YYYY-MM-DD` → the day's start in ms (UTC).
pub fn parse_day(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

pub fn format_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms.div_euclid(DAY) * DAY)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_last_days() {
        let d = |s| parse_day(s).unwrap();
        let row = |day, p: &str| Row {
            day,
            user: "u".into(),
            pathway: p.into(),
            action: "a".into(),
            channel: "email".into(),
            source: "pathway".into(),
        };
        let h = History::new(vec![
            row(d("2026-03-01"), "x"),
            row(d("2026-03-08"), "x"),
            row(d("2026-03-05"), "y"),
        ]);
        assert_eq!(h.count("u", "x", d("2026-03-01"), d("2026-03-09")), 2);
        assert_eq!(h.count("u", "x", d("2026-03-02"), d("2026-03-09")), 1);
        assert_eq!(h.last("u", "x", d("2026-03-08")), Some(d("2026-03-01")));
        assert_eq!(h.last_any("u", d("2026-03-07")), Some(d("2026-03-05")));
        assert_eq!(h.last_any("v", d("2026-03-07")), None);
        assert_eq!(format_day(d("2026-03-05") + 5), "2026-03-05");
        let mut buf = Vec::new();
        h.write(&mut buf).unwrap();
        let dir = std::env::temp_dir().join(format!("jm-hist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("h.csv");
        std::fs::write(&p, &buf).unwrap();
        let back = History::read(&p, d("2026-03-08")).unwrap();
        assert_eq!(back.rows.len(), 2, "the row of the run date is replaced");
        std::fs::write(&p, "as_of,user\n").unwrap();
        assert!(
            History::read(&p, 0)
                .unwrap_err()
                .to_string()
                .contains(":1:")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
