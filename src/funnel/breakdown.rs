//! `--by`: a funnel per property value, and which groups convert
//! significantly differently from everyone else.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::ingest::PropColumn;
use crate::stats::round6;

/// The test used, stated in the report so nobody has to guess.
pub const TEST: &str = "two-proportion z-test (pooled variance), two-sided, p < 0.05, each group against all other groups, per step; not run where a group has fewer than 5 expected conversions or non-conversions; no correction for multiple comparisons";

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Breakdown {
    pub property: String,
    pub test: String,
    /// Groups by entered units (descending), then value.
    pub groups: Vec<GroupFunnel>,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct GroupFunnel {
    /// The property value on the unit's first step-1 event; "(none)" when missing.
    pub value: String,
    pub reached: Vec<u64>,
    /// Conversion from the previous step, for steps 2..K.
    pub step_conversion: Vec<f64>,
    pub overall_conversion: f64,
    pub significant: Vec<SignificantDifference>,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
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

/// Pooled two-proportion z-test; `None` when the normal approximation does
/// not hold: a group with fewer than 5 expected successes or failures under
/// the pooled proportion (which also covers empty groups and p = 0 or 1).
pub fn two_proportion(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<(f64, f64)> {
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    if [
        n1 * pooled,
        n1 * (1.0 - pooled),
        n2 * pooled,
        n2 * (1.0 - pooled),
    ]
    .iter()
    .any(|e| e.is_nan() || *e < 5.0)
    {
        return None;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (x1 / n1 - x2 / n2) / se;
    Some((z, erfc(z.abs() / std::f64::consts::SQRT_2)))
}

/// Complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_test_matches_a_textbook_value() {
        // 45/100 vs 30/100: pooled 0.375, z = 0.15 / sqrt(0.375·0.625·0.02) = 2.1909, p = 0.02846.
        let (z, p) = two_proportion(45, 100, 30, 100).unwrap();
        assert!((z - 2.190890).abs() < 1e-5, "{z}");
        assert!((p - 0.028459).abs() < 1e-5, "{p}");
        assert!(two_proportion(0, 10, 0, 10).is_none());
        assert!(
            two_proportion(2, 3, 40, 100).is_none(),
            "3 units cannot carry a normal approximation"
        );
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
    }
}
