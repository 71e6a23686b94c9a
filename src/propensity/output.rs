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
        Kind::Csv => atomic::write_with(path, |w| {
            let mut out = csv::Writer::from_writer(w);
            out.write_record(SCORE_COLUMNS)?;
            let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            for i in 0..c.user.len() {
                out.write_record([
                    c.user[i].as_str(),
                    c.status[i],
                    &c.cutoff[i].map(iso).unwrap_or_default(),
                    &num(c.score[i]),
                    &num(c.risk[i]),
                    c.band[i].unwrap_or(""),
                    &c.stage[i],
                    c.action[i].as_deref().unwrap_or(""),
                ])?;
            }
            out.flush()?;
            Ok(())
        }),
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
