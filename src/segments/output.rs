//! The tables a segments run writes (through [`crate::output`]): the
//! assignments and the scaled feature matrix; and the model as JSON.

use std::path::Path;

use anyhow::Result;

use super::SegmentsResult;
use crate::ingest::EventTable;
use crate::output::{Cells, ColumnSpec, Kind, Rows};
use crate::sessions::Sessions;

/// One row per clustered unit: `user_id[,session_id],segment,segment_name`.
pub struct Assignments<'a> {
    pub table: &'a EventTable,
    pub sessions: &'a Sessions,
    pub result: &'a SegmentsResult,
}

impl Assignments<'_> {
    fn per_session(&self) -> bool {
        self.result.ids.first().is_some_and(|(_, s)| s.is_some())
    }
}

impl Rows for Assignments<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        let mut c = vec![ColumnSpec::new("user_id", Kind::Text)];
        if self.per_session() {
            c.push(ColumnSpec::new("session_id", Kind::Text));
        }
        c.push(ColumnSpec::new("segment", Kind::Int));
        c.push(ColumnSpec::new("segment_name", Kind::Text));
        c
    }
    fn len(&self) -> usize {
        self.result.labels.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let r = self.result;
        let (u, s) = r.ids[i];
        out.text(Some(self.table.user_names.get(u)));
        if self.per_session() {
            out.text(Some(&self.sessions.id(self.table, s.unwrap_or(0) as usize)));
        }
        let l = r.labels[i] as usize;
        out.int(Some(l as i64 + 1));
        out.text(Some(&r.report.segments[l].name));
    }
}

/// The scaled feature matrix: a header of feature names, one row per
/// clustered unit (in assignment order).
pub struct FeatureRows<'a>(pub &'a SegmentsResult);

impl Rows for FeatureRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        self.0
            .model
            .features
            .iter()
            .map(|c| ColumnSpec::new(c.name.as_str(), Kind::Float))
            .collect()
    }
    fn len(&self) -> usize {
        self.0.matrix.nrows()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        for &v in self.0.matrix.row(i) {
            out.float(Some(v));
        }
    }
}

/// The model as pretty JSON.
pub fn write_model(path: &Path, r: &SegmentsResult) -> Result<()> {
    crate::atomic::write_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, &r.model)?;
        w.write_all(b"\n")?;
        Ok(())
    })
}
