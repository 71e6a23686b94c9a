//! The nightly diff: what changed between two report.json files. Works on
//! the JSON so reports from older versions of the tool still compare. The
//! data section is compared here; every analysis compares its own section
//! ([`crate::analysis::Analysis::diff`]).

use serde::Serialize;
use serde_json::Value;

use crate::analysis::{ALL, DiffPart};
use crate::stats::round6;

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub old_schema: String,
    pub new_schema: String,
    pub rows: Option<RowsChange>,
    /// The event mix compared (both reports' event vocabularies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_mix: Option<EventMix>,
    /// One entry per analysis section either report holds.
    pub sections: Vec<DiffPart>,
    /// Things that could not be compared, said plainly.
    pub notes: Vec<String>,
}

impl DiffReport {
    /// The largest drift measure of any section (the score PSI today).
    pub fn drift(&self) -> Option<f64> {
        self.sections
            .iter()
            .filter_map(|p| p.drift)
            .reduce(f64::max)
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Change {
    pub old: f64,
    pub new: f64,
    pub change: f64,
}

impl Change {
    pub fn new(old: f64, new: f64) -> Self {
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

/// Events listed by name in the comparison: the largest movers.
const EVENT_MIX_SHOWN: usize = 10;

/// How the share of each event name moved between the two exports,
/// with one drift statistic over the whole mix.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventMix {
    /// Evidently's default test of a categorical column, chosen as it
    /// chooses: Jensen–Shannon distance above 1,000 reference events,
    /// chi-square (or Z for two names) p-value at or below.
    pub method: &'static str,
    pub statistic: f64,
    pub threshold: f64,
    /// Evidently's verdict (a distance at or above, a p-value below, the threshold).
    pub drifted: bool,
    pub events_old: u64,
    pub events_new: u64,
    /// Event names in either export.
    pub names: u64,
    /// The largest share changes, largest first (ties by name).
    pub largest_changes: Vec<EventShare>,
    /// Names in only one export.
    pub only_old: Vec<String>,
    pub only_new: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventShare {
    pub event: String,
    pub share: Change,
}

fn vocabulary(v: &Value) -> Option<std::collections::BTreeMap<String, f64>> {
    v.pointer("/data/event_vocabulary")?
        .as_array()?
        .iter()
        .map(|e| {
            Some((
                e.get("event")?.as_str()?.to_string(),
                e.get("count")?.as_f64()?,
            ))
        })
        .collect()
}

/// The event mix of two reports, when both list their events.
pub fn event_mix(old: &Value, new: &Value) -> Option<EventMix> {
    let (a, b) = (vocabulary(old)?, vocabulary(new)?);
    let (ta, tb) = (a.values().sum::<f64>(), b.values().sum::<f64>());
    if ta <= 0.0 || tb <= 0.0 {
        return None;
    }
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let (p, q): (Vec<f64>, Vec<f64>) = names
        .iter()
        .map(|n| {
            (
                a.get(*n).copied().unwrap_or(0.0),
                b.get(*n).copied().unwrap_or(0.0),
            )
        })
        .unzip();
    use crate::drift::stattest::{CategoryCount, Sample, default_test};
    let outcome = default_test(&Sample::Categorical(
        names
            .iter()
            .zip(p.iter().zip(&q))
            .map(|(n, (&x, &y))| CategoryCount {
                key: (*n).clone(),
                reference: x as u64,
                current: y as u64,
            })
            .collect(),
    ));
    let mut changes: Vec<EventShare> = names
        .iter()
        .zip(p.iter().zip(&q))
        .map(|(n, (x, y))| EventShare {
            event: (*n).clone(),
            share: Change::new(x / ta, y / tb),
        })
        .collect();
    changes.sort_by(|x, y| {
        y.share
            .change
            .abs()
            .total_cmp(&x.share.change.abs())
            .then_with(|| x.event.cmp(&y.event))
    });
    changes.truncate(EVENT_MIX_SHOWN);
    Some(EventMix {
        method: outcome.method.name(),
        statistic: round6(outcome.statistic),
        threshold: outcome.threshold,
        drifted: outcome.drifted,
        events_old: ta as u64,
        events_new: tb as u64,
        names: names.len() as u64,
        largest_changes: changes,
        only_old: a.keys().filter(|k| !b.contains_key(*k)).cloned().collect(),
        only_new: b.keys().filter(|k| !a.contains_key(*k)).cloned().collect(),
    })
}

/// The number at a JSON pointer.
pub fn f(v: &Value, ptr: &str) -> Option<f64> {
    v.pointer(ptr).and_then(Value::as_f64)
}

/// Why `v` is not a journeymap report.json, if it is not one.
pub fn not_a_report(v: &Value) -> Option<String> {
    let tool = v.pointer("/tool/name").and_then(Value::as_str);
    let schema = v.get("schema_version").and_then(Value::as_str);
    match (tool, schema) {
        (Some("journeymap"), Some(_)) => None,
        (Some(other), _) => Some(format!("it was made by {other:?}, not journeymap")),
        _ => {
            Some("it has no tool.name and schema_version (is it a journeymap report.json?)".into())
        }
    }
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
    let mut sections = Vec::new();
    for a in ALL {
        if let Some(mut part) = a.diff(old, new) {
            notes.append(&mut part.notes);
            if !part.figures.is_null() {
                sections.push(part);
            }
        }
    }
    DiffReport {
        old_schema: os,
        new_schema: ns,
        rows,
        event_mix: event_mix(old, new),
        sections,
        notes,
    }
}

/// Population stability index over matching bins of counts:
/// Σ (qᵢ − pᵢ)·ln(qᵢ / pᵢ), with empty bins floored at 0.0001 so the log stays finite.
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

/// The PSI of `new` against the reference `old`, both as counts per fine
/// bin (index, count) of width `1 / n_bins`, over ten bins cut at the
/// reference's deciles (as Evidently and NannyML bin). Equal-width bins
/// put a model's scores, which often sit in one corner of [0, 1], into
/// one or two bins, and one shifted bin then explodes the index.
///
/// Undefined (`Err` with the reason) when the reference is too narrow to
/// cut into bins: all its scores within 0.01 of each other, as a model
/// that found no signal scores everyone at the base rate. Then any shift,
/// however meaningless, would read as a major one.
pub fn quantile_psi(old: &[(u32, f64)], new: &[(u32, f64)], n_bins: u32) -> Result<f64, String> {
    let total_old: f64 = old.iter().map(|b| b.1).sum();
    let total_new: f64 = new.iter().map(|b| b.1).sum();
    if total_old == 0.0 || total_new == 0.0 {
        return Err("one of the reports scored no users".into());
    }
    let (lo, hi) = (
        old.iter().filter(|b| b.1 > 0.0).map(|b| b.0).min(),
        old.iter().filter(|b| b.1 > 0.0).map(|b| b.0).max(),
    );
    if let (Some(lo), Some(hi)) = (lo, hi)
        && f64::from(hi + 1 - lo) <= 0.01 * f64::from(n_bins)
    {
        return Err(format!(
            "the earlier scores all lie within {:.3} of each other (a model without signal scores everyone alike), so a shift between them says nothing",
            f64::from(hi + 1 - lo) / f64::from(n_bins)
        ));
    }
    let mut sorted = old.to_vec();
    sorted.sort_by_key(|b| b.0);
    // Upper edges (exclusive, in fine bins) at the reference's deciles.
    let mut edges: Vec<u32> = Vec::new();
    let mut acc = 0.0;
    let mut next = 1;
    for &(bin, n) in &sorted {
        acc += n;
        while next < 10 && acc >= total_old * f64::from(next) / 10.0 {
            if edges.last() != Some(&(bin + 1)) {
                edges.push(bin + 1);
            }
            next += 1;
        }
    }
    edges.retain(|&e| e < n_bins);
    edges.push(n_bins);
    edges.dedup();
    let count = |bins: &[(u32, f64)]| -> Vec<f64> {
        let mut c = vec![0.0; edges.len()];
        for &(bin, n) in bins {
            let k = edges.partition_point(|&e| e <= bin).min(edges.len() - 1);
            c[k] += n;
        }
        c
    };
    Ok(psi(&count(old), &count(new)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantile_psi_is_zero_on_the_same_scores_and_undefined_on_degenerate_ones() {
        let spread: Vec<(u32, f64)> = (0..200).map(|b| (b, 1.0 + f64::from(b % 3))).collect();
        assert!(quantile_psi(&spread, &spread, 1000).unwrap().abs() < 1e-12);
        // Scores moved up by a tenth of their range: a small, finite PSI.
        let moved: Vec<(u32, f64)> = spread.iter().map(|&(b, n)| (b + 20, n)).collect();
        let p = quantile_psi(&spread, &moved, 1000).unwrap();
        assert!(p > 0.01 && p < 1.0, "{p}");
        // Everyone scored at the base rate, twice: undefined, not "major".
        let flat_a = [(121, 500.0), (122, 300.0)];
        let flat_b = [(118, 400.0), (119, 400.0)];
        assert!(quantile_psi(&flat_a, &flat_b, 1000).is_err());
        // A concentrated reference against a spread one: defined and large.
        let wide_ref: Vec<(u32, f64)> = (100..300).map(|b| (b, 1.0)).collect();
        let p = quantile_psi(&wide_ref, &[(900, 100.0)], 1000).unwrap();
        assert!(p > 1.0, "{p}");
    }

    #[test]
    fn the_event_mix_compares_shares_and_names_new_and_gone_events() {
        let rep = |events: &[(&str, u64)]| {
            serde_json::json!({"data": {"event_vocabulary": events
                .iter()
                .map(|(e, n)| serde_json::json!({"event": e, "count": n, "users": 1}))
                .collect::<Vec<_>>()}})
        };
        let same = event_mix(
            &rep(&[("a", 5000), ("b", 5000)]),
            &rep(&[("b", 5), ("a", 5)]),
        )
        .unwrap();
        assert_eq!(same.statistic, 0.0);
        assert!(!same.drifted);
        let m = event_mix(
            &rep(&[("a", 9000), ("b", 1000)]),
            &rep(&[("a", 50), ("c", 50)]),
        )
        .unwrap();
        assert_eq!(m.method, "Jensen-Shannon distance");
        // √(½ KL(p‖m) + ½ KL(q‖m)), m = (p + q)/2, natural log: scipy's
        // jensenshannon([.9, .1, 0], [.5, 0, .5]) by its definition.
        assert!((m.statistic - 0.486_742).abs() < 1e-6, "{}", m.statistic);
        assert!(m.drifted);
        assert_eq!(
            (m.only_old.as_slice(), m.only_new.as_slice()),
            (&["b".to_string()][..], &["c".to_string()][..])
        );
        assert_eq!(m.largest_changes[0].event, "c");
        assert_eq!(m.largest_changes[0].share.change, 0.5);
        // A reference of 1,000 events or fewer: Evidently's chi-square.
        let small = event_mix(
            &rep(&[("a", 90), ("b", 10), ("c", 5)]),
            &rep(&[("a", 10), ("b", 90), ("c", 5)]),
        )
        .unwrap();
        assert_eq!(small.method, "chi-square p_value");
        assert!(small.drifted && small.statistic < 0.05);
        assert!(event_mix(&rep(&[]), &rep(&[("a", 1)])).is_none());
        assert!(event_mix(&serde_json::json!({}), &rep(&[("a", 1)])).is_none());
    }

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
            json!({ "schema_version": "1.0.0", "tool": { "name": "journeymap" },
                "data": { "rows": { "read": 100, "rejected": 1 }, "users": 50 },
                "funnel": { "steps": ["a", "b", "c"], "overall_conversion": r[2] as f64 / r[0] as f64,
                "step_stats": [ { "reached": r[0] }, { "reached": r[1] }, { "reached": r[2] } ] } })
        };
        let d = compare(&rep([1000, 500, 250]), &rep([1000, 400, 200]));
        let f = &d.sections[0].figures;
        assert_eq!(f["step_conversion"][0]["conversion"]["change"], -0.1);
        assert_eq!(f["step_conversion"][0]["significant"], true);
        assert_eq!(f["step_conversion"][1]["significant"], false);
        assert!(d.notes.is_empty());
        assert_eq!(not_a_report(&rep([1, 1, 1])), None);
        assert!(not_a_report(&json!({ "a": 1 })).is_some());
    }
}
