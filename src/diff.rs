//! The nightly diff: what changed between two report.json files. Works on
//! the JSON so reports from older versions of the tool still compare.

use serde::Serialize;
use serde_json::Value;

use crate::funnel::breakdown::two_proportion;
use crate::stats::round6;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffReport {
    pub old_schema: String,
    pub new_schema: String,
    pub rows: Option<RowsChange>,
    pub funnel: Option<FunnelChange>,
    pub segments: Vec<ShareShift>,
    pub model_auc: Option<Change>,
    /// Population stability index of the score distribution, when both reports carry one.
    pub score_psi: Option<f64>,
    /// Things that could not be compared, said plainly.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub old: f64,
    pub new: f64,
    pub change: f64,
}

impl Change {
    fn new(old: f64, new: f64) -> Self {
        Change {
            old: round6(old),
            new: round6(new),
            change: round6(new - old),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowsChange {
    pub read: Change,
    pub users: Change,
    pub rejected_share: Change,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunnelChange {
    pub steps: Vec<String>,
    pub overall: Change,
    pub step_conversion: Vec<StepChange>,
    pub test: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepChange {
    pub step: usize,
    pub label: String,
    pub conversion: Change,
    pub p_value: Option<f64>,
    pub significant: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShareShift {
    pub segment: String,
    pub share: Change,
}

fn f(v: &Value, ptr: &str) -> Option<f64> {
    v.pointer(ptr).and_then(Value::as_f64)
}

pub fn compare(old: &Value, new: &Value) -> DiffReport {
    let schema = |v: &Value| v["schema_version"].as_str().unwrap_or("?").to_string();
    let mut notes = Vec::new();
    let (os, ns) = (schema(old), schema(new));
    if os.split('.').next() != ns.split('.').next() {
        notes.push(format!(
            "schema versions differ in major version ({os} vs {ns}); fields may not line up"
        ));
    }
    let rows = (|| {
        let share = |v: &Value| {
            let read = f(v, "/data/rows/read")?;
            Some(if read == 0.0 {
                0.0
            } else {
                f(v, "/data/rows/rejected")? / read
            })
        };
        Some(RowsChange {
            read: Change::new(f(old, "/data/rows/read")?, f(new, "/data/rows/read")?),
            users: Change::new(f(old, "/data/users")?, f(new, "/data/users")?),
            rejected_share: Change::new(share(old)?, share(new)?),
        })
    })();
    let funnel = match (old.get("funnel"), new.get("funnel")) {
        (Some(a), Some(b)) if a["steps"] == b["steps"] => funnel_change(a, b),
        (Some(_), Some(_)) => {
            notes.push("the funnels have different steps; not compared".into());
            None
        }
        (None, None) => None,
        _ => {
            notes.push("only one report has a funnel".into());
            None
        }
    };
    let segments = segment_shifts(old, new);
    let model_auc = match (
        f(old, "/propensity/holdout/auc"),
        f(new, "/propensity/holdout/auc"),
    ) {
        (Some(a), Some(b)) => Some(Change::new(a, b)),
        _ => None,
    };
    let hist = |v: &Value| -> Option<Vec<f64>> {
        v.pointer("/propensity/scoring/score_histogram")?
            .as_array()?
            .iter()
            .map(|c| c["users"].as_f64())
            .collect()
    };
    let score_psi = match (hist(old), hist(new)) {
        (Some(a), Some(b)) if a.len() == b.len() && !a.is_empty() => Some(round6(psi(&a, &b))),
        (Some(_), Some(_)) => {
            notes.push("score histograms have different bins; PSI not computed".into());
            None
        }
        _ => None,
    };
    DiffReport {
        old_schema: os,
        new_schema: ns,
        rows,
        funnel,
        segments,
        model_auc,
        score_psi,
        notes,
    }
}

fn funnel_change(a: &Value, b: &Value) -> Option<FunnelChange> {
    let steps: Vec<String> = a["steps"]
        .as_array()?
        .iter()
        .filter_map(|s| s.as_str().map(String::from))
        .collect();
    let reached = |v: &Value| -> Option<Vec<u64>> {
        v["step_stats"]
            .as_array()?
            .iter()
            .map(|s| s["reached"].as_u64())
            .collect()
    };
    let (ra, rb) = (reached(a)?, reached(b)?);
    let ratio = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let step_conversion = (1..steps.len().min(ra.len()).min(rb.len()))
        .map(|k| {
            let p = two_proportion(rb[k], rb[k - 1], ra[k], ra[k - 1]).map(|(_, p)| round6(p));
            StepChange {
                step: k + 1,
                label: steps[k].clone(),
                conversion: Change::new(ratio(ra[k], ra[k - 1]), ratio(rb[k], rb[k - 1])),
                p_value: p,
                significant: p.is_some_and(|p| p < 0.05),
            }
        })
        .collect();
    Some(FunnelChange {
        overall: Change::new(f(a, "/overall_conversion")?, f(b, "/overall_conversion")?),
        steps,
        step_conversion,
        test: "pooled two-proportion z-test, two-sided, p < 0.05 (not run below 5 expected conversions or non-conversions)".into(),
    })
}

fn segment_shifts(old: &Value, new: &Value) -> Vec<ShareShift> {
    let shares = |v: &Value| -> Vec<(String, f64)> {
        v.pointer("/segments/segments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["share"].as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (a, b) = (shares(old), shares(new));
    let mut names: Vec<String> = a.iter().chain(&b).map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            let get =
                |v: &[(String, f64)]| v.iter().find(|(m, _)| *m == n).map_or(0.0, |(_, s)| *s);
            ShareShift {
                share: Change::new(get(&a), get(&b)),
                segment: n,
            }
        })
        .collect()
}

/// Population stability index over matching bins of counts:
/// Σ (pᵢ − qᵢ)·ln(pᵢ / qᵢ), with empty bins floored at 0.0001 so the log stays finite.
pub fn psi(old: &[f64], new: &[f64]) -> f64 {
    let (ta, tb) = (old.iter().sum::<f64>(), new.iter().sum::<f64>());
    if ta == 0.0 || tb == 0.0 {
        return 0.0;
    }
    old.iter()
        .zip(new)
        .map(|(a, b)| {
            let p = (a / ta).max(1e-4);
            let q = (b / tb).max(1e-4);
            (q - p) * (q / p).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn psi_is_zero_for_the_same_distribution_and_grows_with_shift() {
        assert_eq!(psi(&[10.0, 20.0, 30.0], &[1.0, 2.0, 3.0]), 0.0);
        let small = psi(&[50.0, 50.0], &[55.0, 45.0]);
        let big = psi(&[50.0, 50.0], &[90.0, 10.0]);
        assert!(small > 0.0 && small < 0.1 && big > 0.25, "{small} {big}");
        // Known value: 0.5/0.5 → 0.9/0.1: 0.4·ln(1.8) − 0.4·ln(0.2) = 0.8789.
        assert!((big - 0.878_890).abs() < 1e-5, "{big}");
    }

    #[test]
    fn compares_funnels_step_by_step() {
        let rep = |r: [u64; 3]| {
            json!({ "schema_version": "1.0.0", "data": { "rows": { "read": 100, "rejected": 1 }, "users": 50 },
                "funnel": { "steps": ["a", "b", "c"], "overall_conversion": r[2] as f64 / r[0] as f64,
                "step_stats": [ { "reached": r[0] }, { "reached": r[1] }, { "reached": r[2] } ] } })
        };
        let d = compare(&rep([1000, 500, 250]), &rep([1000, 400, 200]));
        let f = d.funnel.unwrap();
        assert_eq!(f.step_conversion[0].conversion.change, -0.1);
        assert!(f.step_conversion[0].significant);
        assert!(!f.step_conversion[1].significant);
        assert!(d.notes.is_empty());
    }
}
