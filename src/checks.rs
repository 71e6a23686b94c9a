//! CI gates: threshold expressions evaluated on the finished report, e.g.
//! `funnel.step[3].conversion >= 0.2`. The names are documented in
//! docs/checks.md; any other dotted path into report.json works too.

use serde::Serialize;
use serde_json::Value;

use crate::error::UsageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Ge => a >= b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Lt => a < b,
            Op::Eq => (a - b).abs() <= 1e-12,
            Op::Ne => (a - b).abs() > 1e-12,
        }
    }
}

/// One path segment: a key, optionally indexed (1-based, as people count steps).
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    key: String,
    index: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub text: String,
    path: Vec<Segment>,
    pub op: Op,
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct CheckResult {
    pub check: String,
    pub passed: bool,
    /// `None` when the figure is not in the report (a failed check).
    pub actual: Option<f64>,
    pub expected: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Parses `path op number`, strictly: anything else is a usage error that
/// says what was expected.
pub fn parse(text: &str) -> Result<Check, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "bad check {text:?}: {why}; expected e.g. 'funnel.step[3].conversion >= 0.2'"
        ))
    };
    let ops = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    let (at, sym, op) = ops
        .iter()
        .filter_map(|(s, o)| text.find(s).map(|i| (i, *s, *o)))
        .min_by_key(|(i, s, _)| (*i, std::cmp::Reverse(s.len())))
        .ok_or_else(|| bad("no comparison (>=, <=, >, <, ==, !=)"))?;
    let (lhs, rhs) = (text[..at].trim(), text[at + sym.len()..].trim());
    let threshold: f64 = rhs
        .parse()
        .map_err(|_| bad(&format!("{rhs:?} is not a number")))?;
    if !threshold.is_finite() {
        return Err(bad("the threshold must be finite"));
    }
    if lhs.is_empty() {
        return Err(bad("no figure before the comparison"));
    }
    let mut path = Vec::new();
    for part in lhs.split('.') {
        let (key, index) = match part.split_once('[') {
            None => (part, None),
            Some((k, rest)) => {
                let n = rest
                    .strip_suffix(']')
                    .ok_or_else(|| bad(&format!("unclosed [ in {part:?}")))?;
                let n: usize = n
                    .trim()
                    .parse()
                    .map_err(|_| bad(&format!("index {n:?} is not a whole number")))?;
                if n == 0 {
                    return Err(bad("indexes count from 1"));
                }
                (k, Some(n))
            }
        };
        // A `-` inside a key: dates and brackets (`retention.rate.2026-11-02.2-7`).
        if key.is_empty()
            || key.starts_with('-')
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(&format!("{part:?} is not a name")));
        }
        path.push(Segment {
            key: key.to_string(),
            index,
        });
    }
    Ok(Check {
        text: text.trim().to_string(),
        path,
        op,
        threshold,
    })
}

/// Friendly names → the report's own field names, from each analysis's
/// aliases ([`crate::analysis::Analysis::aliases`]).
fn alias(path: &[Segment]) -> Vec<Segment> {
    for a in crate::analysis::ALL.iter().flat_map(|a| a.aliases()) {
        if let Some(p) = apply(a, path) {
            return p;
        }
    }
    path.to_vec()
}

/// `path` rewritten by `a`, when it matches `a.pattern`.
fn apply(a: &crate::analysis::Alias, path: &[Segment]) -> Option<Vec<Segment>> {
    let mut indexes = Vec::new();
    let mut rest: &[Segment] = &[];
    let parts: Vec<&str> = a.pattern.split('.').collect();
    for (k, part) in parts.iter().enumerate() {
        if *part == "*" {
            rest = path.get(k..)?;
            if rest.is_empty() {
                return None;
            }
            break;
        }
        let seg = path.get(k)?;
        match part.strip_suffix("[]") {
            Some(key) => {
                if seg.key != key {
                    return None;
                }
                indexes.push(seg.index?);
            }
            None if seg.key == *part && seg.index.is_none() => {}
            None => return None,
        }
        if k + 1 == parts.len() && path.len() != parts.len() {
            return None;
        }
    }
    let mut out = Vec::new();
    let mut next = indexes.into_iter();
    for part in a.target.split('.') {
        if part == "*" {
            out.extend(rest.iter().cloned());
        } else if let Some(key) = part.strip_suffix("[]") {
            out.push(Segment {
                key: key.to_string(),
                index: next.next(),
            });
        } else {
            out.push(Segment {
                key: part.to_string(),
                index: None,
            });
        }
    }
    Some(out)
}

fn lookup<'a>(v: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    let mut cur = v;
    for s in path {
        cur = cur.get(&s.key)?;
        if let Some(i) = s.index {
            cur = cur.get(i - 1)?;
        }
    }
    Some(cur)
}

/// Figures computed from the report rather than stored in it.
fn derived(report: &Value, check: &Check) -> Option<f64> {
    let keys: Vec<&str> = check.path.iter().map(|s| s.key.as_str()).collect();
    match keys.as_slice() {
        ["data", "rejected_share"] => {
            let read = report.pointer("/data/rows/read")?.as_f64()?;
            let rejected = report.pointer("/data/rows/rejected")?.as_f64()?;
            Some(if read == 0.0 { 0.0 } else { rejected / read })
        }
        _ => None,
    }
}

pub fn evaluate(report: &Value, checks: &[Check]) -> Vec<CheckResult> {
    checks
        .iter()
        .map(|c| {
            let actual = derived(report, c).or_else(|| {
                lookup(report, &alias(&c.path))
                    .or_else(|| lookup(report, &c.path))
                    .and_then(Value::as_f64)
            });
            let expected = format!(
                "{} {}",
                serde_json::to_value(c.op)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                c.threshold
            );
            CheckResult {
                check: c.text.clone(),
                passed: actual.is_some_and(|a| c.op.holds(a, c.threshold)),
                actual,
                expected,
                note: actual.is_none().then(|| missing(report, c)),
            }
        })
        .collect()
}

/// Why a check's figure is not in the report, and what is there instead.
fn missing(report: &Value, c: &Check) -> String {
    let aliased = alias(&c.path);
    let path = if aliased != c.path { &aliased } else { &c.path };
    let mut cur = report;
    let mut at = String::new();
    for s in path {
        let Some(next) = cur.get(&s.key) else {
            if at.is_empty() && (s.key == "data" || crate::analysis::keys().any(|k| k == s.key)) {
                return format!("the report has no {} section (is it configured?)", s.key);
            }
            let keys: Vec<&str> = cur
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let place = if at.is_empty() { "the report" } else { &at };
            let mut note = format!("{place} has no {:?}", s.key);
            note += &crate::predicate::suggest(&s.key, keys.iter().copied());
            if !keys.is_empty() {
                let shown = keys.iter().take(12).copied().collect::<Vec<_>>().join(", ");
                let more = if keys.len() > 12 { ", ..." } else { "" };
                note += &format!(" (it has: {shown}{more}; docs/checks.md lists the figures)");
            }
            return note;
        };
        at = if at.is_empty() {
            s.key.clone()
        } else {
            format!("{at}.{}", s.key)
        };
        cur = next;
        if let Some(i) = s.index {
            let len = cur.as_array().map_or(0, Vec::len);
            match cur.get(i - 1) {
                Some(v) => cur = v,
                None => return format!("{at} has {len} entries (indexes count from 1)"),
            }
            at = format!("{at}[{i}]");
        }
    }
    format!("{at} is not a number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_strictly() {
        let c = parse("funnel.step[3].conversion >= 0.2").unwrap();
        assert_eq!((c.op, c.threshold), (Op::Ge, 0.2));
        assert_eq!(parse(" model.auc>0.7 ").unwrap().op, Op::Gt);
        assert_eq!(parse("a.b<=1").unwrap().op, Op::Le);
        for bad in [
            "",
            "funnel.conversion",
            "x >= y",
            "x >= ",
            ">= 1",
            "a[0].b > 1",
            "a[x] > 1",
            "a b > 1",
            "a[1 > 1",
            "a > inf",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn evaluates_aliases_paths_and_derived_figures() {
        let r = json!({
            "data": { "rows": { "read": 100, "rejected": 5 }, "users": 10 },
            "funnel": { "overall_conversion": 0.25, "step_stats": [
                { "conversion_from_previous": 1.0, "reached": 10 },
                { "conversion_from_previous": 0.5, "reached": 5 } ] },
        });
        let run = |t: &str| evaluate(&r, &[parse(t).unwrap()]).remove(0);
        assert!(run("funnel.step[2].conversion >= 0.5").passed);
        assert!(!run("funnel.step[2].conversion > 0.5").passed);
        assert!(run("funnel.conversion == 0.25").passed);
        assert!(run("data.rejected_share <= 0.05").passed);
        assert!(run("data.users > 9").passed);
        let missing = run("model.auc >= 0.7");
        assert!(!missing.passed && missing.actual.is_none());
        let note = |t: &str| run(t).note.unwrap();
        assert_eq!(
            note("model.auc >= 0.7"),
            "the report has no propensity section (is it configured?)"
        );
        assert_eq!(
            note("funnel.overall.conversion >= 0.1"),
            "funnel has no \"overall\" (it has: overall_conversion, step_stats; \
             docs/checks.md lists the figures)"
        );
        assert!(
            note("funnel.overal_conversion > 0").contains("did you mean \"overall_conversion\"?")
        );
        assert_eq!(
            note("funnel.step[3].conversion > 0"),
            "funnel.step_stats has 2 entries (indexes count from 1)"
        );
        assert_eq!(
            note("funnel.step_stats > 0"),
            "funnel.step_stats is not a number"
        );
        assert!(
            note("dta.users > 0").starts_with("the report has no \"dta\"; did you mean \"data\"?")
        );
    }

    /// The friendly names land on the fields report.json really has.
    #[test]
    fn model_and_segment_aliases_match_the_report_layout() {
        let r = json!({
            "propensity": { "holdout": { "auc": 0.74, "brier": 0.1 } },
            "segments": { "segments": [ { "share": 0.7 }, { "share": 0.3 } ] },
        });
        let run = |t: &str| evaluate(&r, &[parse(t).unwrap()]).remove(0);
        assert_eq!(run("model.auc >= 0.7").actual, Some(0.74));
        assert!(run("model.brier < 0.2").passed);
        assert_eq!(run("segment[2].share > 0.2").actual, Some(0.3));
        assert!(run("segment[3].share > 0").actual.is_none());
    }
}
