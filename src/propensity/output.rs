//! The tables a propensity run writes: every user's score, and the
//! standardized feature matrix of the labeled users; both go through the
//! one table writer ([`crate::output`]).

use super::{FeatureMatrix, NO_ACTION, ScoreRow, Scores};
use crate::ingest::EventTable;
use crate::output::{Cells, ColumnSpec, Kind, Rows};

/// Scores: `user_id, status, cutoff, score, risk, risk_band, stage, action`.
pub struct ScoreRows<'a> {
    pub table: &'a EventTable,
    pub scores: &'a Scores,
}

impl Rows for ScoreRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("status", Kind::Text),
            ColumnSpec::new("cutoff", Kind::Time),
            ColumnSpec::new("score", Kind::Float),
            ColumnSpec::new("risk", Kind::Float),
            ColumnSpec::new("risk_band", Kind::Text),
            ColumnSpec::new("stage", Kind::Text),
            ColumnSpec::new("action", Kind::Text),
        ]
    }
    fn len(&self) -> usize {
        self.scores.rows.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let s = self.scores;
        let r: &ScoreRow = &s.rows[i];
        out.text(Some(self.table.user_names.get(r.user)));
        out.text(Some(r.status));
        out.time(r.cutoff_ts);
        out.float(r.score);
        out.float(r.risk);
        out.text(r.band);
        out.text(Some(r.stage.map_or(super::interventions::NO_STAGE, |k| {
            s.stage_names[k].as_str()
        })));
        out.text(match (r.status, r.action) {
            ("scored", Some(a)) => Some(s.actions[a].as_str()),
            ("scored", None) => Some(NO_ACTION),
            _ => None,
        });
    }
}

/// `user_id, split, <features...>, label`: what scikit-learn gets in the
/// parity check.
pub struct FeatureRows<'a> {
    pub table: &'a EventTable,
    pub matrix: &'a FeatureMatrix,
}

impl Rows for FeatureRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        let mut c = vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("split", Kind::Text),
        ];
        c.extend(
            self.matrix
                .names
                .iter()
                .map(|n| ColumnSpec::new(n.as_str(), Kind::Float)),
        );
        c.push(ColumnSpec::new("label", Kind::Int));
        c
    }
    fn len(&self) -> usize {
        self.matrix.users.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let m = self.matrix;
        out.text(Some(self.table.user_names.get(m.users[i])));
        out.text(Some(if m.holdout[i] { "holdout" } else { "train" }));
        for &v in m.values.row(i) {
            out.float(Some(v));
        }
        out.int(Some(i64::from(m.labels[i])));
    }
}
