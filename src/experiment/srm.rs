//! Sample-ratio mismatch: Pearson's χ² of the users per arm against the
//! configured weights (gbstats `check_srm`; arms with weight 0 skipped).
//!
//! Gate levels (Statsig's tiers, GrowthBook's minimum): `fail` when
//! p < 0.001 and some arm's share is off its expected share by at least
//! 0.1 percentage points; `warn` when p < 0.01 (or p < 0.001 with a smaller
//! deviation); not tested while an arm has fewer than 8 users.

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

pub const FAIL_P: f64 = 0.001;
pub const WARN_P: f64 = 0.01;
pub const MIN_DEVIATION: f64 = 0.001;
pub const MIN_USERS_PER_ARM: u64 = 8;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SrmStatus {
    Ok,
    Warn,
    Fail,
    TooFewUsers,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Srm {
    pub chi2: f64,
    pub df: u32,
    pub p: f64,
    /// The largest |observed share − expected share| over the arms.
    pub max_deviation: f64,
    pub status: SrmStatus,
}

/// χ² test of `counts` against `weights` (any positive scale).
pub fn srm(counts: &[u64], weights: &[f64]) -> Srm {
    let pairs: Vec<(f64, f64)> = counts
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|(&c, &w)| (c as f64, w))
        .collect();
    let total: f64 = pairs.iter().map(|p| p.0).sum();
    let wsum: f64 = pairs.iter().map(|p| p.1).sum();
    let df = pairs.len().saturating_sub(1) as u32;
    let too_few = counts.iter().any(|&c| c < MIN_USERS_PER_ARM);
    if total == 0.0 || df == 0 {
        return Srm {
            chi2: 0.0,
            df,
            p: 1.0,
            max_deviation: 0.0,
            status: SrmStatus::TooFewUsers,
        };
    }
    let mut chi2 = 0.0;
    let mut max_dev: f64 = 0.0;
    for &(o, w) in &pairs {
        let e = total * w / wsum;
        chi2 += (o - e) * (o - e) / e;
        max_dev = max_dev.max((o / total - w / wsum).abs());
    }
    let p = ChiSquared::new(df as f64).map_or(1.0, |d| d.sf(chi2));
    let status = if too_few {
        SrmStatus::TooFewUsers
    } else if p < FAIL_P && max_dev >= MIN_DEVIATION {
        SrmStatus::Fail
    } else if p < WARN_P {
        SrmStatus::Warn
    } else {
        SrmStatus::Ok
    };
    Srm {
        chi2,
        df,
        p,
        max_deviation: max_dev,
        status,
    }
}
