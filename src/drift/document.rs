//! drift's Markdown and terminal output.

use super::{ColumnDrift, DriftReport, Level};
use crate::doc::{Align, Block, Cell, Document, Table, line};

fn level(l: Level) -> &'static str {
    match l {
        Level::Event => "event",
        Level::User => "user",
        Level::Score => "score",
    }
}

fn verdict(c: &ColumnDrift) -> Cell {
    match (c.method, c.drifted) {
        (None, _) => Cell::text("not tested"),
        (_, true) => Cell::text("DRIFT"),
        (_, false) => Cell::text("no drift"),
    }
}

fn moved(c: &ColumnDrift) -> Cell {
    match (&c.top_shift, c.reference_mean, c.current_mean) {
        (Some(s), _, _) => Cell::spans(
            line()
                .data(&s.value)
                .text(format!(
                    " {:.1}% → {:.1}%",
                    100.0 * s.reference_share,
                    100.0 * s.current_share
                ))
                .done(),
        ),
        (None, Some(a), Some(b)) => Cell::text(format!("mean {} → {}", short(a), short(b))),
        _ => Cell::text(""),
    }
}

fn short(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

pub fn document(r: &DriftReport) -> Document {
    let mut doc = vec![Block::title(1, "Drift")];
    let d = &r.dataset;
    doc.push(Block::text(format!(
        "Reference: {} events, {} users. Current: {} events, {} users.",
        r.reference.events, r.reference.users, r.current.events, r.current.users
    )));
    doc.push(Block::para(
        line()
            .strong(if d.drifted {
                "Dataset drift."
            } else {
                "No dataset drift."
            })
            .text(format!(
                " {} of {} tested columns drifted ({:.0}%; dataset drift at {:.0}% or more).",
                d.drifted_columns,
                d.tested_columns,
                100.0 * d.share,
                100.0 * d.threshold
            ))
            .done(),
    ));
    doc.push(Block::Table(columns_table(&r.columns)));
    doc.push(Block::text(
        "p-value tests (K-S, chi-square, Z) drift below their threshold, distances (Wasserstein normed by the reference standard deviation, Jensen-Shannon) at or above it, as Evidently chooses and judges them. PSI: below 0.1 stable, 0.1-0.25 moderate, 0.25 or more major.",
    ));
    let notes: Vec<_> = r
        .columns
        .iter()
        .filter_map(|c| {
            c.note
                .as_ref()
                .map(|n| line().name(&c.column).text(format!(": {n}")).done())
        })
        .collect();
    if !notes.is_empty() {
        doc.push(Block::Bullets(notes));
    }
    for c in r.columns.iter().filter(|c| !c.drilldown.is_empty()) {
        doc.push(Block::heading(
            2,
            line().text("What moved ").name(&c.column).done(),
        ));
        for b in &c.drilldown {
            let what = match &c.top_shift {
                Some(s) => line()
                    .text("share of ")
                    .data(&s.value)
                    .text(format!(" changed by {:+.2} pp; by ", 100.0 * b.change))
                    .name(&b.by)
                    .done(),
                None => line()
                    .text(format!("mean changed by {}; by ", short(b.change)))
                    .name(&b.by)
                    .done(),
            };
            doc.push(Block::para(what));
            let mut t = Table::new(&[
                ("group", Align::Left),
                ("share of rows", Align::Right),
                ("group value", Align::Right),
                ("contribution", Align::Right),
            ]);
            for g in &b.groups {
                let v = |m: Option<f64>| m.map_or("-".to_string(), short);
                t.row(vec![
                    Cell::data(&g.group),
                    Cell::text(format!(
                        "{:.1}% → {:.1}%",
                        100.0 * g.reference_share,
                        100.0 * g.current_share
                    )),
                    Cell::text(format!("{} → {}", v(g.reference_mean), v(g.current_mean))),
                    Cell::num(g.contribution, short(g.contribution)),
                ]);
            }
            doc.push(Block::Table(t));
        }
    }
    if let Some(p) = &r.performance {
        doc.push(Block::title(2, "Model performance"));
        let mut t = Table::new(&[
            ("data", Align::Left),
            ("labeled users", Align::Right),
            ("base rate", Align::Right),
            ("AUC [95% CI]", Align::Right),
            ("log loss", Align::Right),
            ("Brier", Align::Right),
            ("calibration error", Align::Right),
        ]);
        for (name, f) in [
            ("training hold-out", Some(&p.training)),
            ("reference", p.reference.as_ref()),
            ("current", p.current.as_ref()),
        ] {
            let Some(f) = f else { continue };
            t.row(vec![
                Cell::text(name),
                Cell::count(f.labeled_users),
                Cell::pct(f.base_rate),
                Cell::opt(f.auc.map(|a| {
                    Cell::num(
                        a,
                        match f.auc_ci {
                            Some([lo, hi]) => format!("{a:.3} [{lo:.3}, {hi:.3}]"),
                            None => format!("{a:.3}"),
                        },
                    )
                })),
                Cell::fixed(f.log_loss, 4),
                Cell::fixed(f.brier, 4),
                Cell::opt(f.calibration_error.map(|e| Cell::fixed(e, 3))),
            ]);
        }
        doc.push(Block::Table(t));
        if p.degraded {
            doc.push(Block::para(
                line()
                    .strong("The model has degraded:")
                    .text(" the current AUC's 95% interval lies below the training AUC.")
                    .done(),
            ));
        }
        if !p.notes.is_empty() {
            doc.push(Block::Bullets(
                p.notes.iter().map(|n| line().text(n).done()).collect(),
            ));
        }
    }
    if let Some(f) = &r.fairness {
        // The report's Fairness section, on the current export's outcomes.
        doc.extend(crate::fairness::analysis::document(f));
    }
    if !r.notes.is_empty() {
        doc.push(Block::Bullets(
            r.notes.iter().map(|n| line().text(n).done()).collect(),
        ));
    }
    doc
}

/// One row per column: test, statistic, threshold, verdict, PSI, what moved.
pub fn columns_table(columns: &[ColumnDrift]) -> Table {
    let mut t = Table::new(&[
        ("column", Align::Left),
        ("level", Align::Left),
        ("type", Align::Left),
        ("test", Align::Left),
        ("statistic", Align::Right),
        ("threshold", Align::Right),
        ("verdict", Align::Left),
        ("PSI", Align::Right),
        ("what moved", Align::Left),
    ]);
    for c in columns {
        t.row(vec![
            Cell::name(&c.column),
            Cell::text(level(c.level)),
            Cell::text(c.kind),
            Cell::text(c.method_name.unwrap_or("")),
            Cell::opt(c.statistic.map(|s| Cell::num(s, format!("{s:.4}")))),
            Cell::opt(c.threshold.map(|s| Cell::fixed(s, 2))),
            verdict(c),
            Cell::opt(
                c.psi
                    .map(|p| Cell::num(p, format!("{p:.3} ({})", c.psi_band.unwrap_or("")))),
            ),
            moved(c),
        ]);
    }
    t
}
