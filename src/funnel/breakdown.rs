//! `--by`: a funnel per property value, and which groups convert
//! significantly differently from everyone else.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::ingest::PropColumn;
use crate::stats::{round6, two_proportion};

/// The test used, stated in the report so nobody has to guess.
pub const TEST: &str = "two-proportion z-test (pooled variance), two-sided, p < 0.05, each group against all other groups, per step; not run where a group has fewer than 5 expected conversions or non-conversions; no correction for multiple comparisons";

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Breakdown {
    pub property: String,
    pub test: String,
    /// Groups by entered units (descending), then value.
    pub groups: Vec<GroupFunnel>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct GroupFunnel {
    /// The property value on the unit's first step-1 event; "(none)" when missing.
    pub value: String,
    pub reached: Vec<u64>,
    /// Conversion from the previous step, for steps 2..K.
    pub step_conversion: Vec<f64>,
    pub overall_conversion: f64,
    pub significant: Vec<SignificantDifference>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SignificantDifference {
    /// The step converted to (2..K).
    pub step: usize,
    pub conversion: f64,
    pub others_conversion: f64,
    pub z: f64,
    pub p_value: f64,
}

pub fn build(col: &PropColumn, groups: &FxHashMap<u32, Vec<u64>>, k: usize) -> Breakdown {
    let mut totals = vec![0u64; k];
    for g in groups.values() {
        for (t, v) in totals.iter_mut().zip(g) {
            *t += v;
        }
    }
    let mut out: Vec<GroupFunnel> = groups
        .iter()
        .map(|(&code, reached)| {
            let value = if code == 0 {
                "(none)".to_string()
            } else {
                col.values.get(code).to_string()
            };
            let mut significant = Vec::new();
            let mut step_conversion = Vec::new();
            for s in 1..k {
                let (x1, n1) = (reached[s], reached[s - 1]);
                let (x2, n2) = (totals[s] - x1, totals[s - 1] - n1);
                step_conversion.push(ratio(x1, n1));
                if let Some((z, p)) = two_proportion(x1, n1, x2, n2)
                    && p < 0.05
                {
                    significant.push(SignificantDifference {
                        step: s + 1,
                        conversion: ratio(x1, n1),
                        others_conversion: ratio(x2, n2),
                        z: round6(z),
                        p_value: round6(p),
                    });
                }
            }
            GroupFunnel {
                value,
                overall_conversion: ratio(reached[k - 1], reached[0]),
                reached: reached.clone(),
                step_conversion,
                significant,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.reached[0]
            .cmp(&a.reached[0])
            .then_with(|| a.value.cmp(&b.value))
    });
    Breakdown {
        property: col.name.clone(),
        test: TEST.to_string(),
        groups: out,
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        round6(a as f64 / b as f64)
    }
}
