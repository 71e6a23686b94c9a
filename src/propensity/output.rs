//! Output files: scores (CSV or Parquet, by extension) and the standardized
//! feature matrix (CSV). Both are written atomically.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use super::{FeatureMatrix, NO_ACTION, Scores};
use crate::atomic;
use crate::error::UsageError;
use crate::ingest::EventTable;

/// The scores file's columns.
pub const SCORE_COLUMNS: [&str; 8] = [
    "user_id",
    "status",
    "cutoff",
    "score",
    "risk",
    "risk_band",
    "stage",
    "action",
];

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// [`iso`] into a reused buffer (no allocation per row for years 0–9999).
fn iso_into(buf: &mut String, ms: i64) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    buf.clear();
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(d) if (0..=9999).contains(&d.year()) => {
            let _ = write!(
                buf,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.timestamp_subsec_millis()
            );
        }
        _ => buf.push_str(&iso(ms)),
    }
}

/// Writes `path` atomically: the header, then rows 0..n, each written by
/// `row` into a CSV writer (a field at a time, one shared text buffer).
/// Formatting 280,000 rows was most of a report's writing time, so chunks
/// of rows are formatted on every core and written in order.
fn write_csv<F>(path: &Path, header: &[&str], n: usize, row: F) -> Result<()>
where
    F: Fn(usize, &mut csv::Writer<Vec<u8>>, &mut String) -> csv::Result<()> + Sync,
{
    let parts = crate::parallel::map_ranges(n, |range| -> Result<Vec<u8>> {
        let mut out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(range.len() * 112));
        let mut buf = String::new();
        for i in range {
            row(i, &mut out, &mut buf)?;
        }
        Ok(out.into_inner().map_err(|e| e.into_error())?)
    });
    atomic::write_with(path, |w| {
        let mut out = csv::Writer::from_writer(&mut *w);
        out.write_record(header)?;
        out.flush()?;
        drop(out);
        for part in parts {
            w.write_all(&part?)?;
        }
        Ok(())
    })
}

/// A number in full precision (shortest round-trip form), or empty.
fn number(buf: &mut String, v: Option<f64>) -> &str {
    use std::fmt::Write as _;
    buf.clear();
    if let Some(x) = v {
        let _ = write!(buf, "{x}");
    }
    buf
}

/// One scores row as CSV fields.
fn score_row(
    t: &EventTable,
    s: &Scores,
    r: &super::ScoreRow,
    out: &mut csv::Writer<Vec<u8>>,
    buf: &mut String,
) -> csv::Result<()> {
    out.write_field(t.user_names.get(r.user))?;
    out.write_field(r.status)?;
    match r.cutoff_ts {
        Some(ms) => iso_into(buf, ms),
        None => buf.clear(),
    }
    out.write_field(&*buf)?;
    out.write_field(number(buf, r.score))?;
    out.write_field(number(buf, r.risk))?;
    out.write_field(r.band.unwrap_or(""))?;
    out.write_field(r.stage.map_or(super::interventions::NO_STAGE, |k| {
        s.stage_names[k].as_str()
    }))?;
    out.write_field(match (r.status, r.action) {
        ("scored", Some(a)) => s.actions[a].as_str(),
        ("scored", None) => NO_ACTION,
        _ => "",
    })?;
    out.write_record(None::<&[u8]>)
}

enum Kind {
    Csv,
    Parquet,
}

fn kind(path: &Path) -> Result<Kind> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".csv") {
        Ok(Kind::Csv)
    } else if name.ends_with(".parquet") {
        Ok(Kind::Parquet)
    } else {
        Err(UsageError(format!(
            "{}: scores go to a .csv or .parquet file",
            path.display()
        ))
        .into())
    }
}

/// Checks the extension before any work is done.
pub fn check_scores_path(path: &Path) -> Result<()> {
    kind(path).map(|_| ())
}

struct Columns {
    user: Vec<String>,
    status: Vec<&'static str>,
    cutoff: Vec<Option<i64>>,
    score: Vec<Option<f64>>,
    risk: Vec<Option<f64>>,
    band: Vec<Option<&'static str>>,
    stage: Vec<String>,
    action: Vec<Option<String>>,
}

fn columns(t: &EventTable, s: &Scores) -> Columns {
    let stage = |k: Option<usize>| {
        k.map_or(super::interventions::NO_STAGE.to_string(), |k| {
            s.stage_names[k].clone()
        })
    };
    let action = |r: &super::ScoreRow| {
        if r.status != "scored" {
            None
        } else {
            Some(
                r.action
                    .map_or(NO_ACTION.to_string(), |a| s.actions[a].clone()),
            )
        }
    };
    Columns {
        user: s
            .rows
            .iter()
            .map(|r| t.user_names.get(r.user).to_string())
            .collect(),
        status: s.rows.iter().map(|r| r.status).collect(),
        cutoff: s.rows.iter().map(|r| r.cutoff_ts).collect(),
        score: s.rows.iter().map(|r| r.score).collect(),
        risk: s.rows.iter().map(|r| r.risk).collect(),
        band: s.rows.iter().map(|r| r.band).collect(),
        stage: s.rows.iter().map(|r| stage(r.stage)).collect(),
        action: s.rows.iter().map(action).collect(),
    }
}

/// One row per user. Scores are written in full precision (shortest
/// round-trip form), so a file is reproduced byte for byte.
pub fn write_scores(path: &Path, t: &EventTable, s: &Scores) -> Result<()> {
    match kind(path)? {
        Kind::Csv => write_csv(path, &SCORE_COLUMNS, s.rows.len(), |i, out, buf| {
            score_row(t, s, &s.rows[i], out, buf)
        }),
        Kind::Parquet => {
            let c = columns(t, s);
            let cutoff = Int64Chunked::new("cutoff".into(), &c.cutoff)
                .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC));
            let mut df = DataFrame::new_infer_height(vec![
                Column::new("user_id".into(), &c.user),
                Column::new("status".into(), &c.status),
                cutoff.into_column(),
                Column::new("score".into(), &c.score),
                Column::new("risk".into(), &c.risk),
                Column::new("risk_band".into(), &c.band),
                Column::new("stage".into(), &c.stage),
                Column::new("action".into(), &c.action),
            ])?;
            atomic::write_with(path, |w| {
                ParquetWriter::new(w).finish(&mut df)?;
                Ok(())
            })
        }
    }
}

/// user_id, split (train / holdout), the standardized features, label (0/1).
pub fn write_features(path: &Path, t: &EventTable, m: &FeatureMatrix) -> Result<()> {
    let mut header = vec!["user_id", "split"];
    header.extend(m.names.iter().map(String::as_str));
    header.push("label");
    write_csv(path, &header, m.users.len(), |i, out, buf| {
        out.write_field(t.user_names.get(m.users[i]))?;
        out.write_field(if m.holdout[i] { "holdout" } else { "train" })?;
        for &v in m.values.row(i) {
            out.write_field(number(buf, Some(v)))?;
        }
        out.write_field(if m.labels[i] { "1" } else { "0" })?;
        out.write_record(None::<&[u8]>)
    })
}

/// Writes a string atomically (model.json).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    atomic::write_with(path, |w| Ok(w.write_all(text.as_bytes())?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_into_writes_what_chrono_writes() {
        let mut buf = String::from("left over");
        for ms in [
            0,
            1,
            -1,
            999,
            1_790_000_000_123,
            -62_135_596_800_000, // 0001-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // year 10000: chrono's own form
            -62_198_755_200_000, // year -1
        ] {
            super::iso_into(&mut buf, ms);
            assert_eq!(buf, super::iso(ms), "{ms}");
        }
    }
}
