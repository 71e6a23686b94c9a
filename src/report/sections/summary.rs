//! The report's opening summary: the five things to look at first, each
//! linking to the section it comes from. Built from the report's fields like
//! every other section; the figures it picks (the biggest drop-off, the
//! largest segment, the most common action) are read, not recomputed.

use crate::doc::fmt::{pct, thousands};
use crate::doc::{Block, Document, Line, line};
use crate::report::Report;

/// The summary's heading (its anchor is `at-a-glance`).
pub const TITLE: &str = "At a glance";

pub fn document(report: &Report) -> Document {
    let mut items: Vec<Line> = Vec::new();
    if let Some(f) = &report.funnel {
        let worst = f
            .step_stats
            .iter()
            .skip(1)
            .filter(|s| s.dropped_before > 0)
            .max_by(|a, b| {
                (1.0 - a.conversion_from_previous)
                    .total_cmp(&(1.0 - b.conversion_from_previous))
                    .then(b.step.cmp(&a.step))
            });
        if let Some(s) = worst {
            let prev = &f.step_stats[s.step.saturating_sub(2).min(f.step_stats.len() - 1)];
            items.push(
                line()
                    .strong("Biggest drop-off:")
                    .text(" ")
                    .name(&prev.label)
                    .text(" → ")
                    .name(&s.label)
                    .text(format!(
                        " loses {} ({} of {} who reached step {}). ",
                        pct(1.0 - s.conversion_from_previous),
                        thousands(s.dropped_before),
                        thousands(prev.reached),
                        prev.step
                    ))
                    .link("Funnel", "Funnel")
                    .done(),
            );
        }
    }
    if let Some(sg) = &report.segments {
        items.extend(segment_item(sg));
    }
    if let Some(p) = &report.propensity {
        let title = if p.kind == "churn" {
            "Churn model"
        } else {
            "Propensity model"
        };
        // The verdict already names the AUC and its interval.
        items.push(
            line()
                .strong("Model quality:")
                .text(" ")
                .data(&p.verdict)
                .text(" ")
                .link(title, title)
                .done(),
        );
        let mut actions: Vec<_> = p.scoring.actions.iter().filter(|a| a.users > 0).collect();
        actions.sort_by(|a, b| b.users.cmp(&a.users).then(a.name.cmp(&b.name)));
        if !actions.is_empty() {
            let mut l = line().strong("Actions to take:").text(" ");
            for (i, a) in actions.iter().take(3).enumerate() {
                if i > 0 {
                    l = l.text("; ");
                }
                l = l
                    .name(&a.name)
                    .text(format!(" for {} users", thousands(a.users)));
            }
            if actions.len() > 3 {
                l = l.text(format!("; {} more", actions.len() - 3));
            }
            items.push(l.text(" (scores.csv). ").link(title, title).done());
        }
    }
    let passed = report.checks.iter().filter(|c| c.passed).count();
    let l = line().strong("Checks:").text(" ");
    items.push(if report.checks.is_empty() {
        l.text("none configured (add ")
            .name("--check")
            .text(" or ")
            .name("checks = [...]")
            .text(" in journey.toml to fail a build on a figure).")
            .done()
    } else if passed == report.checks.len() {
        l.text(format!("all {} passed.", report.checks.len()))
            .done()
    } else {
        let mut l = l.text(format!(
            "{} of {} failed: ",
            report.checks.len() - passed,
            report.checks.len()
        ));
        for (i, c) in report.checks.iter().filter(|c| !c.passed).enumerate() {
            if i > 0 {
                l = l.text("; ");
            }
            l = l.data(&c.check);
        }
        l.text(".").done()
    });
    vec![Block::title(2, TITLE), Block::Bullets(items)]
}

/// Clustered on abandoning units, every segment abandons: the largest one
/// abandons most. Clustered on everyone with a funnel, the segment with the
/// largest share that stopped before the last step does.
fn segment_item(sg: &crate::segments::SegmentsReport) -> Option<Line> {
    let last = sg.funnel.as_ref().map(|f| f.steps.len());
    let abandon_share = |s: &crate::segments::Segment| -> Option<f64> {
        let last = last?;
        let converted: f64 = s
            .funnel_stops
            .iter()
            .filter(|st| st.step == last)
            .map(|st| st.share)
            .sum();
        Some(1.0 - converted)
    };
    let (s, share) = match (sg.on, last) {
        (crate::segments::On::All, Some(_)) => sg
            .segments
            .iter()
            .filter_map(|s| Some((s, abandon_share(s)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.segment.cmp(&a.0.segment)))
            .map(|(s, a)| (s, Some(a)))?,
        _ => sg
            .segments
            .iter()
            .max_by(|a, b| a.units.cmp(&b.units).then(b.segment.cmp(&a.segment)))
            .map(|s| (s, None))?,
    };
    let mut l = line()
        .strong("Segment that abandons most:")
        .text(" ")
        .data(&s.name);
    l = match share {
        Some(a) => l.text(format!(
            ", {} of its {} units stopped before the last step",
            pct(a),
            thousands(s.units)
        )),
        None => l.text(format!(
            ", the largest: {} of the {} abandoning units ({})",
            thousands(s.units),
            thousands(sg.units),
            pct(s.share)
        )),
    };
    if let Some(stop) = &s.stops_at {
        l = l.text("; most stop at ").name(&stop.label);
    }
    Some(l.text(". ").link("Segments", "Abandonment segments").done())
}
