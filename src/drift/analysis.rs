//! Drift summaries as an analysis of the report: each property column's
//! distribution, compact enough for report.json, so that `journeymap diff`
//! tests property drift between two nightly reports without their data,
//! with the tests `journeymap drift` runs (docs/monitoring.md).
//!
//! A property is numerical in a report when every value it holds is a
//! number; its summary is then [`super::summary`]'s (exact up to
//! [`MAX_POINTS`] distinct values, else quantiles). A categorical property
//! keeps its [`MAX_CATEGORIES`] most frequent values with their counts and
//! the count of the rest.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::stattest::Sample;
use super::summary::{MAX_POINTS, counts, summarize_distinct};
use super::{ColumnDrift, DatasetDrift, DriftSection, Level, PsiBins, test_column};
use crate::analysis::{Analysis, DiffPart, Partial};
use crate::config::JourneyConfig;
use crate::doc::{Align, Block, Cell, Document, Line, Table, line};
use crate::ingest::{EventTable, PropColumn};
use crate::pipeline::Context;
use crate::report::Report;

/// The most values a categorical summary lists; the rest are counted.
pub const MAX_CATEGORIES: usize = 1000;

/// The `drift` section of report.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DriftSummaries {
    /// Dataset drift (in `diff`) when at least this share of the tested properties drift.
    pub drift_share: f64,
    /// PSI bins `diff` uses for numbers.
    pub psi_bins: PsiBins,
    /// One per property column, by name.
    pub properties: Vec<PropertySummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every value is a number.
    Numerical,
    Categorical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PropertySummary {
    pub column: String,
    pub kind: Kind,
    /// Events with a value.
    pub values: u64,
    /// Events with an empty cell (left out of the tests).
    pub missing: u64,
    /// Distinct values (numerical: distinct numbers).
    pub distinct: u64,
    /// true: every value is listed with its count, so `diff`'s statistics
    /// are the ones `journeymap drift` computes on the exports.
    pub exact: bool,
    /// Numerical: (value, count) pairs ascending, or equal-weight quantiles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<[f64; 2]>,
    /// Categorical: the most frequent values first (ties by value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<ValueCount>,
    /// Categorical: events whose value is not listed.
    #[serde(default)]
    pub other: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// The category that stands for a summary's unlisted values in a test.
const OTHER: &str = "(other values)";

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The summary of one property from its events per value code (code 0:
/// no value).
pub fn summarize(
    column: &str,
    values: &crate::ingest::Interner,
    per_code: &[u64],
) -> PropertySummary {
    let used: Vec<(&str, u64)> = per_code
        .iter()
        .enumerate()
        .skip(1)
        .filter(|&(_, &n)| n > 0)
        .map(|(code, &n)| (values.get(code as u32), n))
        .collect();
    let missing = per_code.first().copied().unwrap_or(0);
    let n: u64 = used.iter().map(|u| u.1).sum();
    let numeric = !used.is_empty() && used.iter().all(|(v, _)| number(v).is_some());
    if numeric {
        let mut pairs: Vec<(f64, u64)> = used
            .iter()
            .map(|&(v, c)| (number(v).unwrap_or(0.0), c))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut distinct: Vec<[f64; 2]> = Vec::new();
        for (x, c) in pairs {
            match distinct.last_mut() {
                // -0.0 and 0.0 are one value, as in the tests.
                Some(l) if l[0] == x => l[1] += c as f64,
                _ => distinct.push([if x == 0.0 { 0.0 } else { x }, c as f64]),
            }
        }
        let d = distinct.len() as u64;
        let s = summarize_distinct(column, distinct);
        return PropertySummary {
            column: column.to_string(),
            kind: Kind::Numerical,
            values: n,
            missing,
            distinct: d,
            exact: s.exact,
            points: s.values,
            categories: Vec::new(),
            other: 0,
        };
    }
    let mut cats: Vec<(&str, u64)> = used;
    cats.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let distinct = cats.len() as u64;
    let other: u64 = cats.iter().skip(MAX_CATEGORIES).map(|c| c.1).sum();
    cats.truncate(MAX_CATEGORIES);
    PropertySummary {
        column: column.to_string(),
        kind: Kind::Categorical,
        values: n,
        missing,
        distinct,
        exact: distinct as usize <= MAX_CATEGORIES,
        points: Vec::new(),
        categories: cats
            .into_iter()
            .map(|(v, c)| ValueCount {
                value: v.to_string(),
                count: c,
            })
            .collect(),
        other,
    }
}

/// Events per value code of each property column, by name: what a
/// partition contributes (codes are the whole input's).
#[derive(Debug, Default)]
pub struct CodeCounts(BTreeMap<String, Vec<u64>>);

impl CodeCounts {
    pub fn of(t: &EventTable, wanted: &dyn Fn(&str) -> bool) -> CodeCounts {
        CodeCounts(
            t.props
                .iter()
                .filter(|p| wanted(&p.name))
                .map(|p: &PropColumn| {
                    let mut c = vec![0u64; p.values.len().max(1)];
                    for &x in &p.codes {
                        c[x as usize] += 1;
                    }
                    (p.name.clone(), c)
                })
                .collect(),
        )
    }

    pub fn merge(&mut self, other: CodeCounts) {
        for (name, c) in other.0 {
            let mine = self.0.entry(name).or_default();
            if mine.len() < c.len() {
                mine.resize(c.len(), 0);
            }
            for (m, x) in mine.iter_mut().zip(c) {
                *m += x;
            }
        }
    }
}

/// The section from the counts, with the table's value names.
pub fn finish(t: &EventTable, counts: &CodeCounts, sec: &DriftSection) -> DriftSummaries {
    let mut notes = Vec::new();
    if let Some(list) = &sec.properties {
        for name in list {
            if t.prop(name).is_none() {
                notes.push(format!(
                    "[drift] properties names {}, which the export does not have",
                    crate::doc::rich::code(name)
                ));
            }
        }
    }
    let properties = counts
        .0
        .iter()
        .filter_map(|(name, c)| t.prop(name).map(|p| summarize(name, &p.values, c)))
        .collect();
    DriftSummaries {
        drift_share: sec.drift_share.unwrap_or(0.5),
        psi_bins: sec.psi_bins.unwrap_or_default(),
        properties,
        notes,
    }
}

fn wanted(sec: &DriftSection) -> impl Fn(&str) -> bool + '_ {
    move |name| {
        sec.properties
            .as_ref()
            .is_none_or(|l| l.iter().any(|p| p == name))
    }
}

/// A column of one report, as a side of a test.
fn sample_side(s: &PropertySummary, k: usize, out: &mut Vec<(f64, u64, u64)>) {
    for (x, c) in counts(&s.points) {
        out.push(if k == 0 { (x, c, 0) } else { (x, 0, c) });
    }
}

fn not_tested(column: &str, note: String) -> ColumnDrift {
    let mut c = test_column(
        column.to_string(),
        Level::Event,
        Sample::Categorical(Vec::new()),
        (0, 0),
        PsiBins::Deciles,
    );
    c.note = Some(note);
    c
}

/// Property drift between two reports' summaries: every column either
/// summarizes, with the tests `journeymap drift` runs; approximate
/// summaries are noted.
pub fn compare(old: &DriftSummaries, new: &DriftSummaries) -> (Vec<ColumnDrift>, DatasetDrift) {
    let mut names: Vec<&str> = old
        .properties
        .iter()
        .chain(&new.properties)
        .map(|p| p.column.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let find =
        |s: &'_ DriftSummaries, n: &str| s.properties.iter().find(|p| p.column == n).cloned();
    let columns: Vec<ColumnDrift> = names
        .into_iter()
        .map(|name| match (find(old, name), find(new, name)) {
            (Some(a), Some(b)) => compare_one(&a, &b, new.psi_bins),
            (Some(_), None) => {
                not_tested(name, "not tested: only the old report summarizes it".into())
            }
            _ => not_tested(name, "not tested: only the new report summarizes it".into()),
        })
        .collect();
    let dataset = DatasetDrift::of(&columns, new.drift_share);
    (columns, dataset)
}

fn compare_one(a: &PropertySummary, b: &PropertySummary, bins: PsiBins) -> ColumnDrift {
    // A side without values takes the other's kind (the test then says it
    // has nothing to compare), as `drift` decides over both sides.
    let kind = match (a.values, b.values) {
        (0, _) => b.kind,
        (_, 0) => a.kind,
        _ if a.kind == b.kind => a.kind,
        _ => {
            return not_tested(
                &a.column,
                "not tested: numerical in one report and categorical in the other (run journeymap drift on the two exports)".into(),
            );
        }
    };
    let sample = match kind {
        Kind::Numerical => {
            let mut v = Vec::with_capacity(a.points.len() + b.points.len());
            sample_side(a, 0, &mut v);
            sample_side(b, 1, &mut v);
            Sample::numeric(v)
        }
        Kind::Categorical => {
            // With a side's rarest values unlisted, a value listed on the
            // other side only may hide in its rest: such values join the
            // rest as one category (a coarser split of the same values, so
            // the distance is never overstated).
            super::columns::categorical([coarse(a, b), coarse(b, a)])
        }
    };
    let mut c = test_column(
        a.column.clone(),
        Level::Event,
        sample,
        (a.missing, b.missing),
        bins,
    );
    if !(a.exact && b.exact) {
        let note = match kind {
            Kind::Numerical => format!(
                "approximate: from {MAX_POINTS} quantiles of a side with more distinct values"
            ),
            Kind::Categorical => format!(
                "approximate: a side has more than {MAX_CATEGORIES} values; the values both list are compared, the rest as one category"
            ),
        };
        c.note = Some(match c.note.take() {
            Some(n) => format!("{n}; {note}"),
            None => note,
        });
    }
    c
}

/// One side's categories for a test against `o`: a value `o` may hold in
/// its unlisted rest joins this side's rest.
fn coarse<'a>(s: &'a PropertySummary, o: &PropertySummary) -> Vec<(&'a str, u64)> {
    let listed = |v: &str| o.categories.iter().any(|c| c.value == v);
    s.categories
        .iter()
        .map(|c| {
            let kept = o.other == 0 || listed(&c.value);
            (if kept { c.value.as_str() } else { OTHER }, c.count)
        })
        .chain((s.other > 0).then_some((OTHER, s.other)))
        .collect()
}

pub struct Drift;

impl Analysis for Drift {
    const KEY: &'static str = "drift";
    const TITLE: &'static str = "drift summaries";
    type Section = DriftSummaries;
    type Product = DriftSummaries;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.drift.is_some()
    }
    fn run(ctx: &Context) -> Result<DriftSummaries> {
        let sec = ctx.config.drift.clone().unwrap_or_default();
        let counts = CodeCounts::of(ctx.table(), &wanted(&sec));
        Ok(finish(ctx.table(), &counts, &sec))
    }
    const PARTITIONED: bool = true;
    fn partial(ctx: &Context) -> Result<Partial> {
        let sec = ctx.config.drift.clone().unwrap_or_default();
        Ok(Box::new(CodeCounts::of(ctx.table(), &wanted(&sec))))
    }
    fn merge(parts: Vec<Partial>, ctx: &Context) -> Result<DriftSummaries> {
        let sec = ctx.config.drift.clone().unwrap_or_default();
        let mut all = CodeCounts::default();
        for p in crate::analysis::parts::<CodeCounts>(parts)? {
            all.merge(p);
        }
        Ok(finish(ctx.table(), &all, &sec))
    }

    fn section(p: &DriftSummaries) -> DriftSummaries {
        p.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<DriftSummaries> {
        &mut r.drift
    }
    fn get(r: &Report) -> Option<&DriftSummaries> {
        r.drift.as_ref()
    }
    fn headline(s: &DriftSummaries) -> Line {
        line()
            .text(format!(
                "drift: {} kept for journeymap diff",
                crate::doc::fmt::count(
                    s.properties.len() as u64,
                    "property summary",
                    "property summaries"
                )
            ))
            .done()
    }
    fn document(s: &DriftSummaries) -> Document {
        document(s)
    }
    fn diff(old: &Value, new: &Value) -> Option<DiffPart> {
        let get = |v: &Value| -> Option<DriftSummaries> {
            serde_json::from_value(v.get("drift")?.clone()).ok()
        };
        let (a, b) = match (get(old), get(new)) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => return None,
            (a, _) => {
                let which = if a.is_some() { "old" } else { "new" };
                return Some(DiffPart {
                    section: "drift",
                    figures: Value::Null,
                    document: Vec::new(),
                    drift: None,
                    notes: vec![format!(
                        "property drift not compared: only the {which} report keeps property summaries (add [drift] to both nights' configs)"
                    )],
                });
            }
        };
        let (columns, dataset) = compare(&a, &b);
        let mut document = vec![Block::title(2, "Property drift")];
        document.push(Block::text(format!(
            "{} of {} tested property columns drifted (Evidently's default tests on the reports' summaries): {}dataset drift (threshold {} of the columns).",
            dataset.drifted_columns,
            dataset.tested_columns,
            if dataset.drifted { "" } else { "no " },
            crate::doc::fmt::pct(dataset.threshold)
        )));
        document.push(Block::Table(super::document::columns_table(&columns)));
        let approximate: Vec<&str> = columns
            .iter()
            .filter(|c| c.note.as_deref().is_some_and(|n| n.contains("approximate")))
            .map(|c| c.column.as_str())
            .collect();
        if !approximate.is_empty() {
            document.push(Block::para(
                line()
                    .text("Approximate (a report summarizes them by quantiles or by their most frequent values, so the statistics and means are near, not equal to, those of journeymap drift on the exports): ")
                    .names(approximate, ", ")
                    .text(".")
                    .done(),
            ));
        }
        Some(DiffPart {
            section: "drift",
            figures: json!({ "properties": columns, "dataset": dataset }),
            document,
            drift: None,
            notes: Vec::new(),
        })
    }
}

fn document(s: &DriftSummaries) -> Document {
    let mut d = vec![Block::title(2, "Drift summaries")];
    d.push(Block::text(format!(
        "Each property's distribution, kept so that journeymap diff can test drift against another night's report (exact up to {MAX_POINTS} distinct numbers or {} values).",
        crate::doc::fmt::thousands(MAX_CATEGORIES as u64)
    )));
    let mut t = Table::new(&[
        ("property", Align::Left),
        ("type", Align::Left),
        ("values", Align::Right),
        ("missing", Align::Right),
        ("distinct", Align::Right),
        ("most frequent", Align::Left),
        ("summary", Align::Left),
    ]);
    for p in &s.properties {
        let top = match p.kind {
            Kind::Categorical => Cell::opt(p.categories.first().map(|c| {
                Cell::spans(
                    line()
                        .data(&c.value)
                        .text(format!(
                            " ({})",
                            crate::doc::fmt::pct(c.count as f64 / p.values.max(1) as f64)
                        ))
                        .done(),
                )
            })),
            Kind::Numerical => Cell::opt(
                p.points
                    .iter()
                    .max_by(|a, b| a[1].total_cmp(&b[1]).then_with(|| b[0].total_cmp(&a[0])))
                    .filter(|_| p.exact)
                    .map(|m| Cell::short(m[0])),
            ),
        };
        t.row(vec![
            Cell::name(&p.column),
            Cell::text(match p.kind {
                Kind::Numerical => "numerical",
                Kind::Categorical => "categorical",
            }),
            Cell::count(p.values),
            Cell::count(p.missing),
            Cell::count(p.distinct),
            top,
            Cell::text(if p.exact { "exact" } else { "approximate" }),
        ]);
    }
    d.push(Block::Table(t));
    for n in &s.notes {
        d.push(Block::text(format!("Note: {n}")));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::stattest::CategoryCount;
    use crate::ingest::Interner;

    fn interner(values: &[&str]) -> Interner {
        let mut i = Interner::with_null();
        for v in values {
            i.intern(v);
        }
        i
    }

    #[test]
    fn summaries_compare_as_the_exports_do() {
        // The same statistics as drift::columns on the raw values.
        let names = interner(&["a", "b", "c"]);
        let old = summarize("p", &names, &[2, 50, 30, 20]);
        let new = summarize("p", &names, &[0, 20, 30, 50]);
        assert_eq!(old.kind, Kind::Categorical);
        assert!(old.exact && old.categories[0].value == "a");
        let sec = |p| DriftSummaries {
            drift_share: 0.5,
            psi_bins: PsiBins::Deciles,
            properties: vec![p],
            notes: Vec::new(),
        };
        let (cols, ds) = compare(&sec(old), &sec(new));
        let direct = test_column(
            "p".into(),
            Level::Event,
            Sample::Categorical(
                [("a", 50, 20), ("b", 30, 30), ("c", 20, 50)]
                    .iter()
                    .map(|&(k, r, c)| CategoryCount {
                        key: k.into(),
                        reference: r,
                        current: c,
                    })
                    .collect(),
            ),
            (2, 0),
            PsiBins::Deciles,
        );
        assert_eq!(cols[0].statistic, direct.statistic);
        assert_eq!(cols[0].reference_missing, 2);
        assert!(cols[0].drifted && ds.drifted && ds.tested_columns == 1);

        // Numbers: "1" and "1.0" are one value; every value parses.
        let nums = interner(&["1", "1.0", "2.5", "-0"]);
        let s = summarize("x", &nums, &[0, 3, 4, 5, 1]);
        assert_eq!(s.kind, Kind::Numerical);
        assert_eq!(s.points, vec![[0.0, 1.0], [1.0, 7.0], [2.5, 5.0]]);
        assert_eq!((s.values, s.distinct), (13, 3));
    }

    #[test]
    fn many_values_are_approximate_and_kinds_must_agree() {
        let vals: Vec<String> = (0..MAX_CATEGORIES + 100)
            .map(|i| format!("v{i:04}"))
            .collect();
        let refs: Vec<&str> = vals.iter().map(|s| s.as_str()).collect();
        let names = interner(&refs);
        let per_code: Vec<u64> = std::iter::once(0)
            .chain((0..vals.len() as u64).map(|i| 1 + i % 7))
            .collect();
        let s = summarize("c", &names, &per_code);
        assert!(!s.exact && s.categories.len() == MAX_CATEGORIES);
        assert_eq!(
            s.categories.iter().map(|c| c.count).sum::<u64>() + s.other,
            s.values
        );
        let sec = |p| DriftSummaries {
            drift_share: 0.5,
            psi_bins: PsiBins::Deciles,
            properties: vec![p],
            notes: Vec::new(),
        };
        let (cols, _) = compare(&sec(s.clone()), &sec(s.clone()));
        assert!(!cols[0].drifted);
        assert!(cols[0].note.as_deref().unwrap().starts_with("approximate"));

        let nums = interner(&["1", "2"]);
        let n = summarize("c", &nums, &[0, 5, 5]);
        let (cols, ds) = compare(&sec(s), &sec(n));
        assert!(
            cols[0].method.is_none()
                && cols[0]
                    .note
                    .as_deref()
                    .unwrap()
                    .contains("numerical in one")
        );
        assert_eq!(ds.tested_columns, 0);
        assert!(!ds.drifted);
    }

    #[test]
    fn a_coarser_split_never_overstates_the_distance() {
        // Two sides over 1,300 values whose rare tails differ: the
        // summaries list 1,000 each, and the distance from them is at
        // most the one over every value.
        let n = MAX_CATEGORIES + 300;
        let vals: Vec<String> = (0..n).map(|i| format!("v{i:04}")).collect();
        let refs: Vec<&str> = vals.iter().map(|s| s.as_str()).collect();
        let names = interner(&refs);
        let old_c: Vec<u64> = std::iter::once(0)
            .chain((0..n as u64).map(|i| 2000 - i))
            .collect();
        let new_c: Vec<u64> = std::iter::once(0)
            .chain((0..n as u64).map(|i| {
                if i < 900 {
                    2000 - i
                } else {
                    100 + (i * 7919) % 500
                }
            }))
            .collect();
        let sec = |p| DriftSummaries {
            drift_share: 0.5,
            psi_bins: PsiBins::Deciles,
            properties: vec![p],
            notes: Vec::new(),
        };
        let (a, b) = (
            summarize("c", &names, &old_c),
            summarize("c", &names, &new_c),
        );
        assert!(!a.exact && !b.exact);
        let (cols, _) = compare(&sec(a), &sec(b));
        let full = test_column(
            "c".into(),
            Level::Event,
            Sample::Categorical(
                (0..n)
                    .map(|i| CategoryCount {
                        key: vals[i].clone(),
                        reference: old_c[i + 1],
                        current: new_c[i + 1],
                    })
                    .collect(),
            ),
            (0, 0),
            PsiBins::Deciles,
        );
        let (approx, exact) = (cols[0].statistic.unwrap(), full.statistic.unwrap());
        assert!(
            approx <= exact + 1e-12 && approx > 0.5 * exact,
            "{approx} vs {exact}"
        );
    }

    #[test]
    fn partition_counts_add_up() {
        let mut a = CodeCounts(BTreeMap::from([("p".to_string(), vec![1, 2])]));
        a.merge(CodeCounts(BTreeMap::from([
            ("p".to_string(), vec![0, 1, 4]),
            ("q".to_string(), vec![3]),
        ])));
        assert_eq!(a.0["p"], vec![1, 3, 4]);
        assert_eq!(a.0["q"], vec![3]);
    }
}
