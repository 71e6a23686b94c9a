//! Explanations: each coefficient as an odds ratio with a sentence, and
//! PostHog's correlation odds ratio of each event with the outcome.

use serde::{Deserialize, Serialize};

use crate::features::FeatureDef;
use crate::stats::round6;

/// One feature of the fitted model, explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeatureExplanation {
    pub name: String,
    pub description: String,
    pub mean: f64,
    pub sd: f64,
    /// Per standard deviation.
    pub coefficient: f64,
    /// exp(coefficient): how the odds change per standard deviation.
    pub odds_ratio_per_sd: f64,
    /// For 0/1 features: how the odds change from 0 to 1 (exp(coefficient / sd)).
    pub odds_ratio_flag: Option<f64>,
    pub sentence: String,
}

/// "3.1x", "0.45x".
fn times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}x")
    } else if x >= 0.995 {
        format!("{x:.1}x")
    } else {
        format!("{x:.2}x")
    }
}

/// The explanation of one coefficient. `verb`: "convert (upgrade)" or "churn".
pub fn explain(
    def: &FeatureDef,
    mean: f64,
    sd: f64,
    coefficient: f64,
    verb: &str,
) -> FeatureExplanation {
    let per_sd = coefficient.exp();
    let flag = def.is_flag().then(|| (coefficient / sd).exp());
    let sentence = match flag {
        Some(or) => format!(
            "Users who {} are {} as likely to {verb} (odds ratio, other features equal).",
            def.phrase(),
            times(or)
        ),
        None => format!(
            "Users one standard deviation higher in {} are {} as likely to {verb} (odds ratio, other features equal).",
            def.phrase(),
            times(per_sd)
        ),
    };
    FeatureExplanation {
        name: def.name(),
        description: def.description(),
        mean: round6(mean),
        sd: round6(sd),
        coefficient: round6(coefficient),
        odds_ratio_per_sd: round6(per_sd),
        odds_ratio_flag: flag.map(round6),
        sentence,
    }
}

/// PostHog's funnel-correlation odds ratio, with one added to every cell:
/// `(s+1)(F−f+1) / ((S−s+1)(f+1))`, where S and F count successes and
/// failures and s and f those among them who did the event.
pub fn posthog_odds_ratio(s: u64, f: u64, big_s: u64, big_f: u64) -> f64 {
    ((s + 1) as f64 * (big_f - f + 1) as f64) / ((big_s - s + 1) as f64 * (f + 1) as f64)
}

/// PostHog leaves out events seen by fewer than min(25, 2% of users).
pub fn posthog_floor(total: u64) -> u64 {
    25u64.min((0.02 * total as f64).ceil() as u64)
}

/// One event's correlation with the positive label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventCorrelation {
    pub event: String,
    /// Positive users who did the event before the cutoff.
    pub positives_with: u64,
    /// Negative users who did the event before the cutoff.
    pub negatives_with: u64,
    pub odds_ratio: f64,
    /// At least PostHog's floor of users did it (else PostHog hides it).
    pub enough_users: bool,
}

/// Correlations for every event with per-class user counts, highest odds
/// ratio first. Events that nobody or everybody did are left out: they say
/// nothing about the outcome (the formula would give S/F for the latter).
pub fn correlations(
    names: &[String],
    pos_with: &[u64],
    neg_with: &[u64],
    positives: u64,
    negatives: u64,
) -> Vec<EventCorrelation> {
    let floor = posthog_floor(positives + negatives);
    let mut out: Vec<EventCorrelation> = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| {
            let n = pos_with[i] + neg_with[i];
            n > 0 && n < positives + negatives
        })
        .map(|(i, name)| EventCorrelation {
            event: name.clone(),
            positives_with: pos_with[i],
            negatives_with: neg_with[i],
            odds_ratio: round6(posthog_odds_ratio(
                pos_with[i],
                neg_with[i],
                positives,
                negatives,
            )),
            enough_users: pos_with[i] + neg_with[i] >= floor,
        })
        .collect();
    out.sort_by(|a, b| {
        b.odds_ratio
            .total_cmp(&a.odds_ratio)
            .then_with(|| a.event.cmp(&b.event))
    });
    out
}

/// One contribution as a sentence: "sessions 3, more than 80% of users:
/// raises the chance to convert". `phi` = coefficient × standardized value.
pub fn reason(f: &super::model::ModelFeature, phi: f64, verb: &str) -> String {
    let mut s = String::new();
    reason_into(&mut s, f, phi, verb);
    s
}

/// [`reason`] into a reused buffer: a scores file holds millions of
/// sentences, and one allocation per sentence piece was most of their cost.
pub fn reason_into(out: &mut String, f: &super::model::ModelFeature, phi: f64, verb: &str) {
    use std::fmt::Write as _;
    out.clear();
    let z = if f.coefficient == 0.0 {
        0.0
    } else {
        phi / f.coefficient
    };
    let x = z * f.sd + f.mean;
    let tr = f.definition.transform();
    // + 0.0: a value of -0 prints as 0.
    let raw = crate::features::inverse(tr, x) + 0.0;
    let effect = if phi > 0.0 { "raises" } else { "lowers" };
    out.push_str(&f.name);
    if f.definition.is_flag() {
        let v = if raw > 0.5 { "yes" } else { "no" };
        let _ = write!(out, " {v}: {effect} the chance to {verb}");
        return;
    }
    // Integers and percents through integer formatting: float formatting
    // with a precision is the slow path.
    let _ = if (raw - raw.round()).abs() < 1e-6 && raw.abs() < 1e15 {
        write!(out, " {}", raw.round() as i64)
    } else if raw.abs() >= 10.0 {
        write!(out, " {raw:.1}")
    } else {
        write!(out, " {raw:.2}")
    };
    let _ = match f.position(x) {
        Some((below, above)) if below >= above && below > 0.0 => {
            write!(
                out,
                ", higher than {}% of users",
                (100.0 * below).round() as u32
            )
        }
        Some((_, above)) if above > 0.0 => {
            write!(
                out,
                ", lower than {}% of users",
                (100.0 * above).round() as u32
            )
        }
        Some(_) => write!(out, ", as most users"),
        None => Ok(()),
    };
    let _ = write!(out, ": {effect} the chance to {verb}");
}
