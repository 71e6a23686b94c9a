//! The verdicts as words and data names ([`Piece`]): the JSON holds them
//! as plain text, the document marks the names.

use super::adjust::Correction;
use super::config::Engine;
use super::report::{Comparison, ExperimentReport, MetricResult};
use super::srm::SrmStatus;

fn pct(x: f64) -> String {
    format!("{:+.1} %", x * 100.0)
}

/// A verdict as words and data names, so each renderer can mark the
/// names (arm and metric names come from the data and the config).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Name(String),
}

pub fn plain(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) | Piece::Name(t) => t.as_str(),
        })
        .collect()
}

fn t(s: impl Into<String>) -> Piece {
    Piece::Text(s.into())
}

fn n(s: &str) -> Piece {
    Piece::Name(s.to_string())
}

/// "reminder beats control on purchase: +4.1 % (95 % CI +1.2 % to +7.0 %)".
pub fn comparison_pieces(m: &MetricResult, c: &Comparison, s: &ExperimentReport) -> Vec<Piece> {
    let Some(l) = &c.lift else {
        return vec![
            t("no estimate for "),
            n(&c.treatment),
            t(" vs "),
            n(&c.baseline),
            t(" on "),
            n(&m.name),
            t(format!(": {}", c.error.as_deref().unwrap_or(""))),
        ];
    };
    let label = match s.correction {
        Correction::Holm => ", Holm-adjusted",
        Correction::BenjaminiHochberg => ", Benjamini–Hochberg-adjusted",
        Correction::None => "",
    };
    let interval = format!(
        " ({:.0} % {} {} to {}{label})",
        (1.0 - s.alpha) * 100.0,
        if s.engine == Engine::Bayesian {
            "CrI"
        } else {
            "CI"
        },
        pct(l.ci_low),
        pct(l.ci_high)
    );
    let head = match c.direction.as_str() {
        "better" => vec![n(&c.treatment), t(" beats "), n(&c.baseline)],
        "worse" => vec![n(&c.treatment), t(" is worse than "), n(&c.baseline)],
        _ => vec![
            t("no significant difference between "),
            n(&c.treatment),
            t(" and "),
            n(&c.baseline),
        ],
    };
    let mut out = head;
    out.extend([
        t(" on "),
        n(&m.name),
        t(format!(": {}{interval}", pct(l.estimate))),
    ]);
    out
}

/// The analysis's verdict: SRM first, then harmed guardrails, then wins.
pub fn overall_pieces(s: &ExperimentReport) -> Vec<Piece> {
    if s.srm.status == SrmStatus::Fail {
        return vec![t(format!(
            "not trustworthy: sample ratio mismatch (p = {:.2e}); the arms' sizes differ from the planned split, so find the cause before reading any result",
            s.srm.p
        ))];
    }
    let mut out = Vec::new();
    let each = |guardrail: bool, direction: &'static str| {
        s.metrics
            .iter()
            .filter(move |m| m.guardrail == guardrail)
            .flat_map(move |m| {
                m.comparisons
                    .iter()
                    .filter(move |c| c.direction == direction)
                    .map(move |c| (m, c))
            })
    };
    let harmed: Vec<_> = each(true, "worse").collect();
    if !harmed.is_empty() {
        out.push(t("a guardrail is harmed: "));
        for (k, (m, c)) in harmed.iter().enumerate() {
            if k > 0 {
                out.push(t(", "));
            }
            out.extend([
                n(&m.name),
                t(" ("),
                n(&c.treatment),
                t(" vs "),
                n(&c.baseline),
                t(")"),
            ]);
        }
        return out;
    }
    let wins: Vec<_> = each(false, "better").collect();
    let losses = each(false, "worse").count();
    if wins.is_empty() {
        out.push(t(if losses == 0 {
            "no significant effect on the goal metrics".to_string()
        } else {
            format!("no arm wins; {losses} comparison(s) are significantly worse")
        }));
        return out;
    }
    for (k, (m, c)) in wins.iter().enumerate() {
        if k > 0 {
            out.push(t("; "));
        }
        out.extend([
            n(&c.treatment),
            t(" beats "),
            n(&c.baseline),
            t(" on "),
            n(&m.name),
        ]);
    }
    if s.srm.status == SrmStatus::Warn {
        out.push(t(format!(
            " (but the sample ratio is suspicious: p = {:.4})",
            s.srm.p
        )));
    }
    out
}
