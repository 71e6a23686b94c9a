//! The tables a propensity run writes: every user's score, and the
//! standardized feature matrix of the labeled users; both go through the
//! one table writer ([`crate::output`]).

use super::{FeatureMatrix, NO_ACTION, ScoreRow, Scores};
use crate::ingest::EventTable;
use crate::output::{Cells, ColumnSpec, Kind, Rows};

/// Scores: `user_id, status, cutoff, score, risk, risk_band, stage, action,
/// log_odds, raises_1..3, lowers_1..3` (the largest additive contributions
/// to the log-odds as sentences; docs/propensity.md).
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
            ColumnSpec::new("log_odds", Kind::Float),
            ColumnSpec::new("raises_1", Kind::Text),
            ColumnSpec::new("raises_2", Kind::Text),
            ColumnSpec::new("raises_3", Kind::Text),
            ColumnSpec::new("lowers_1", Kind::Text),
            ColumnSpec::new("lowers_2", Kind::Text),
            ColumnSpec::new("lowers_3", Kind::Text),
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
        let e = s.explained.get(i).copied().flatten();
        out.float(e.map(|e| e.log_odds));
        let mut text = String::new();
        for slots in [e.map(|e| e.raises), e.map(|e| e.lowers)] {
            for k in 0..3 {
                match slots.and_then(|s| s[k]) {
                    Some((j, phi)) => {
                        super::explain::reason_into(
                            &mut text,
                            &s.features[j as usize],
                            phi,
                            s.verb,
                        );
                        out.text(Some(&text));
                    }
                    None => out.text(None),
                }
            }
        }
    }
}

/// Every scored user's additive contributions: `user_id, base_log_odds,
/// log_odds, <feature>...`, where base_log_odds + Σ contributions =
/// log_odds (the intercept is the base: features are centred on the
/// training means).
pub struct ContributionRows<'a> {
    pub table: &'a EventTable,
    pub scores: &'a Scores,
    /// Indices of the scored rows.
    pub scored: Vec<usize>,
}

impl<'a> ContributionRows<'a> {
    pub fn new(table: &'a EventTable, scores: &'a Scores) -> ContributionRows<'a> {
        let scored = (0..scores.rows.len())
            .filter(|&i| scores.explained[i].is_some())
            .collect();
        ContributionRows {
            table,
            scores,
            scored,
        }
    }
}

impl Rows for ContributionRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        let mut c = vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("base_log_odds", Kind::Float),
            ColumnSpec::new("log_odds", Kind::Float),
        ];
        c.extend(
            self.scores
                .features
                .iter()
                .map(|f| ColumnSpec::new(f.name.as_str(), Kind::Float)),
        );
        c
    }
    fn len(&self) -> usize {
        self.scored.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let s = self.scores;
        let r = self.scored[i];
        out.text(Some(self.table.user_names.get(s.rows[r].user)));
        out.float(Some(s.intercept));
        out.float(s.explained[r].map(|e| e.log_odds));
        let d = s.features.len();
        let phi = s.contributions.as_deref().unwrap_or(&[]);
        for k in 0..d {
            out.float(phi.get(i * d + k).copied());
        }
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
