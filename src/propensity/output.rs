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

/// CSV lines (no header) for `rows` of the scores.
fn csv_rows(t: &EventTable, s: &Scores, rows: &[super::ScoreRow]) -> Result<Vec<u8>> {
    use std::fmt::Write as _;
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(rows.len() * 112));
    let (mut cutoff, mut score, mut risk) = (String::new(), String::new(), String::new());
    let num = |buf: &mut String, v: Option<f64>| {
        buf.clear();
        if let Some(x) = v {
            let _ = write!(buf, "{x}");
        }
    };
    for r in rows {
        match r.cutoff_ts {
            Some(ms) => iso_into(&mut cutoff, ms),
            None => cutoff.clear(),
        }
        num(&mut score, r.score);
        num(&mut risk, r.risk);
        let stage = r.stage.map_or(super::interventions::NO_STAGE, |k| {
            s.stage_names[k].as_str()
        });
        let action = match (r.status, r.action) {
            ("scored", Some(a)) => s.actions[a].as_str(),
            ("scored", None) => NO_ACTION,
            _ => "",
        };
        out.write_record([
            t.user_names.get(r.user),
            r.status,
            &cutoff,
            &score,
            &risk,
            r.band.unwrap_or(""),
            stage,
            action,
        ])?;
    }
    Ok(out.into_inner().map_err(|e| e.into_error())?)
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
    let c = columns(t, s);
    match kind(path)? {
        Kind::Csv => {
            // Formatting 280,000 rows is most of a report's writing time, so
            // row chunks are formatted on every core and written in order.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let per = s.rows.len().div_ceil(threads.max(1)).max(1);
            let parts = crate::parallel::map(s.rows.len().div_ceil(per), threads, |c| {
                csv_rows(t, s, &s.rows[c * per..((c + 1) * per).min(s.rows.len())])
            });
            atomic::write_with(path, |w| {
                let mut out = csv::Writer::from_writer(&mut *w);
                out.write_record(SCORE_COLUMNS)?;
                out.flush()?;
                drop(out);
                for part in parts {
                    w.write_all(&part?)?;
                }
                Ok(())
            })
        }
        Kind::Parquet => {
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
    atomic::write_with(path, |w| {
        let mut header = vec!["user_id".to_string(), "split".to_string()];
        header.extend(m.names.iter().cloned());
        header.push("label".into());
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header)?;
        let mut rec: Vec<String> = Vec::with_capacity(header.len());
        for (i, row) in m.values.rows().into_iter().enumerate() {
            rec.clear();
            rec.push(t.user_names.get(m.users[i]).to_string());
            rec.push(if m.holdout[i] { "holdout" } else { "train" }.into());
            rec.extend(row.iter().map(|v| v.to_string()));
            rec.push(if m.labels[i] { "1" } else { "0" }.into());
            out.write_record(&rec)?;
        }
        out.flush()?;
        Ok(())
    })?;
    Ok(())
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
