//! uplift.csv: user_id,metric,treatment,baseline,arm,outcome,uplift,p_treatment,
//! p_baseline: one row per user of each uplift comparison (report and
//! `--uplift-out`); `arm` is the user's own arm, `outcome` their 0/1 metric.

use super::analyze::UpliftScores;
use crate::ingest::EventTable;
use crate::output::{Cells, ColumnSpec, Kind, Rows};

pub struct UpliftRows<'a> {
    pub table: &'a EventTable,
    pub scores: &'a [UpliftScores],
}

impl UpliftRows<'_> {
    fn locate(&self, mut i: usize) -> (&UpliftScores, usize) {
        for s in self.scores {
            if i < s.scores.len() {
                return (s, i);
            }
            i -= s.scores.len();
        }
        unreachable!("row index within len()")
    }
}

impl Rows for UpliftRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("metric", Kind::Text),
            ColumnSpec::new("treatment", Kind::Text),
            ColumnSpec::new("baseline", Kind::Text),
            ColumnSpec::new("arm", Kind::Text),
            ColumnSpec::new("outcome", Kind::Int),
            ColumnSpec::new("uplift", Kind::Float),
            ColumnSpec::new("p_treatment", Kind::Float),
            ColumnSpec::new("p_baseline", Kind::Float),
        ]
    }
    fn len(&self) -> usize {
        self.scores.iter().map(|s| s.scores.len()).sum()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let (s, k) = self.locate(i);
        let r = &s.scores[k];
        out.text(Some(self.table.user_names.get(r.user)));
        out.text(Some(&s.metric));
        out.text(Some(&s.treatment));
        out.text(Some(&s.baseline));
        out.text(Some(if r.treated { &s.treatment } else { &s.baseline }));
        out.int(Some(i64::from(r.y)));
        out.float(Some(r.uplift));
        out.float(Some(r.p_treatment));
        out.float(Some(r.p_baseline));
    }
}
