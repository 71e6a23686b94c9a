//! Experiment analysis: did the intervention work? Per-arm sufficient
//! statistics ([`suff`]) feed closed-form engines — Welch's t with the
//! delta method and CUPED ([`freq`]), always-valid confidence sequences
//! ([`freq::sequential`]), a Gaussian Bayesian posterior ([`bayes`]) —
//! plus the sample-ratio check ([`srm`]), multiple-comparison corrections
//! ([`adjust`]) and planning ([`power`]). Semantics: docs/experiments.md.

pub mod adjust;
pub mod allocate;
pub mod analysis;
pub mod analyze;
pub mod assign;
pub mod bayes;
pub mod breakdown;
pub mod compare;
pub mod config;
pub mod did;
pub mod freq;
pub mod metrics;
pub mod options;
pub mod output;
pub mod plan;
pub mod power;
pub mod ratio;
pub mod report;
pub mod srm;
pub mod suff;
pub mod uplift;
pub mod verdict;

#[cfg(test)]
mod calibration;
#[cfg(test)]
mod tests;
