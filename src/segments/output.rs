//! Files a segments run writes: assignments (CSV or Parquet), the scaled
//! feature matrix (CSV, what scikit-learn gets in the parity check) and the
//! model (JSON). Every file is written atomically.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use crate::atomic;
use crate::error::UsageError;
use crate::ingest::EventTable;
use crate::sessions::Sessions;

use super::SegmentsResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Parquet,
}

impl TableFormat {
    /// By extension: `.csv` or `.parquet`.
    pub fn of(path: &Path, flag: &str) -> Result<TableFormat, UsageError> {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".csv") {
            Ok(TableFormat::Csv)
        } else if name.ends_with(".parquet") {
            Ok(TableFormat::Parquet)
        } else {
            Err(UsageError(format!(
                "{flag} {}: expected a .csv or .parquet file",
                path.display()
            )))
        }
    }
}

/// One row per clustered unit: `user_id[,session_id],segment,segment_name`.
pub fn write_assignments(
    path: &Path,
    t: &EventTable,
    sessions: &Sessions,
    r: &SegmentsResult,
) -> Result<()> {
    let format = TableFormat::of(path, "--assignments")?;
    let per_session = r.ids.first().is_some_and(|(_, s)| s.is_some());
    let names: Vec<&str> = r.report.segments.iter().map(|s| s.name.as_str()).collect();
    let users: Vec<&str> = r.ids.iter().map(|&(u, _)| t.user_names.get(u)).collect();
    let session_ids: Vec<String> = if per_session {
        r.ids
            .iter()
            .map(|&(_, s)| sessions.id(t, s.unwrap_or(0) as usize))
            .collect()
    } else {
        Vec::new()
    };
    let segment: Vec<u32> = r.labels.iter().map(|&l| l + 1).collect();
    let segment_name: Vec<&str> = r.labels.iter().map(|&l| names[l as usize]).collect();
    match format {
        TableFormat::Csv => atomic::write_with(path, |w| {
            let mut out = csv::Writer::from_writer(w);
            if per_session {
                out.write_record(["user_id", "session_id", "segment", "segment_name"])?;
            } else {
                out.write_record(["user_id", "segment", "segment_name"])?;
            }
            for i in 0..users.len() {
                let seg = segment[i].to_string();
                if per_session {
                    out.write_record([users[i], &session_ids[i], &seg, segment_name[i]])?;
                } else {
                    out.write_record([users[i], &seg, segment_name[i]])?;
                }
            }
            out.flush()?;
            Ok(())
        }),
        TableFormat::Parquet => {
            let mut columns = vec![Column::new("user_id".into(), users)];
            if per_session {
                columns.push(Column::new("session_id".into(), session_ids));
            }
            columns.push(Column::new("segment".into(), segment));
            columns.push(Column::new("segment_name".into(), segment_name));
            let mut df = DataFrame::new(r.labels.len(), columns)?;
            atomic::write_with(path, |w| {
                ParquetWriter::new(w).finish(&mut df)?;
                Ok(())
            })
        }
    }
}

/// The scaled feature matrix as CSV: a header of feature names, one row per
/// clustered unit (in assignment order), shortest round-trip decimals.
pub fn write_features(path: &Path, r: &SegmentsResult) -> Result<()> {
    atomic::write_with(path, |w| {
        let header: Vec<&str> = r.model.features.iter().map(|c| c.name.as_str()).collect();
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header)?;
        let mut cells: Vec<String> = Vec::with_capacity(header.len());
        for row in r.matrix.rows() {
            cells.clear();
            cells.extend(row.iter().map(|v| format!("{v:?}")));
            out.write_record(&cells)?;
        }
        out.flush()?;
        Ok(())
    })
}

/// The model as pretty JSON.
pub fn write_model(path: &Path, r: &SegmentsResult) -> Result<()> {
    atomic::write_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, &r.model)?;
        w.write_all(b"\n")?;
        Ok(())
    })
}
