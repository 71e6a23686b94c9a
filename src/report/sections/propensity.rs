//! The propensity section: evaluation, calibration, lift, what moves the
//! odds, risk by stage and the interventions. `propensity train` prints the
//! same document; `propensity score` prints [`score_summary`].

use crate::doc::fmt::thousands;
use crate::doc::rich;
use crate::doc::{Align, Block, Cell, Chart, ChartKind, Document, Series, Table, line};
use crate::propensity::metrics::Metrics;
use crate::propensity::{PropensityReport, ScoreSummary};

fn f3(x: f64) -> Cell {
    Cell::fixed(x, 3)
}

fn f4(x: f64) -> Cell {
    Cell::fixed(x, 4)
}

fn opt3(x: Option<f64>) -> Cell {
    x.map_or(Cell::text("–"), f3)
}

/// Hold-out, base-rate and CV metrics, one row per CV fold after them.
pub fn metrics_table(p: &PropensityReport) -> Table {
    let mut m = Table::new(&[
        ("", Align::Left),
        ("users", Align::Right),
        ("AUC", Align::Right),
        ("log loss", Align::Right),
        ("Brier", Align::Right),
        ("precision", Align::Right),
        ("recall", Align::Right),
    ]);
    let row = |name: String, x: &Metrics| {
        vec![
            Cell::text(name),
            Cell::count(x.users),
            f4(x.auc),
            f4(x.log_loss),
            f4(x.brier),
            f3(x.precision),
            f3(x.recall),
        ]
    };
    m.row(row("hold-out".into(), &p.holdout));
    m.row(row("base-rate model".into(), &p.base_rate_model));
    m.row(row("5-fold CV (mean)".into(), &p.cv.mean));
    for (i, f) in p.cv.folds.iter().enumerate() {
        m.row(row(format!("fold {}", i + 1), f));
    }
    m
}

/// Bands, risk by stage and actions of a set of scores.
pub fn score_summary(s: &ScoreSummary) -> Document {
    let mut doc = vec![Block::text(format!(
        "users: {} = {} scored + {} converted before the cutoff + {} without a cutoff",
        thousands(s.users),
        thousands(s.scored),
        thousands(s.converted_before_cutoff),
        thousands(s.no_cutoff)
    ))];
    let mut bands = Table::new(&[("risk band", Align::Left), ("users", Align::Right)]);
    for b in &s.bands {
        bands.row(vec![Cell::text(&b.name), Cell::count(b.users)]);
    }
    doc.push(Block::Table(bands));
    doc.push(Block::Table(risk_by_stage(s)));
    let mut actions = Table::new(&[("action", Align::Left), ("users", Align::Right)]);
    for a in &s.actions {
        actions.row(vec![Cell::data(&a.name), Cell::count(a.users)]);
    }
    doc.push(Block::Table(actions));
    doc
}

fn calibration_chart(p: &PropensityReport) -> Block {
    let points = p
        .calibration
        .iter()
        .filter_map(|b| Some((b.mean_predicted?, b.observed_rate?)))
        .collect();
    Block::Chart(Chart {
        title: "Calibration: observed rate by predicted probability (hold-out)".into(),
        kind: ChartKind::Lines {
            x_axis: "mean predicted probability (10 bins)".into(),
            y_axis: "observed rate".into(),
            series: vec![Series {
                name: line().text("model").done(),
                points,
            }],
            diagonal: true,
        },
    })
}

fn lift_chart(p: &PropensityReport) -> Block {
    let mut capture = vec![(0.0, 0.0)];
    capture.extend(
        p.lift
            .iter()
            .map(|d| (f64::from(d.decile) * 10.0, d.cumulative_capture)),
    );
    let random = vec![(0.0, 0.0), (100.0, 1.0)];
    Block::Chart(Chart {
        title: "Cumulative gains: share of positives in the top-scored users (hold-out)".into(),
        kind: ChartKind::Lines {
            x_axis: "top-scored users (%)".into(),
            y_axis: "share of all positives captured".into(),
            series: vec![
                Series {
                    name: line().text("model").done(),
                    points: capture,
                },
                Series {
                    name: line().text("random order").done(),
                    points: random,
                },
            ],
            diagonal: false,
        },
    })
}

fn risk_chart(s: &ScoreSummary) -> Block {
    Block::Chart(Chart {
        title: "Users by risk band in each stage".into(),
        kind: ChartKind::Stacked {
            axis: "users".into(),
            parts: vec!["high".into(), "medium".into(), "low".into()],
            rows: s
                .risk_by_stage
                .iter()
                .map(|r| {
                    (
                        line().data(&r.stage).done(),
                        vec![r.high as f64, r.medium as f64, r.low as f64],
                    )
                })
                .collect(),
        },
    })
}

fn actions_chart(s: &ScoreSummary) -> Block {
    let total: u64 = s.actions.iter().map(|a| a.users).sum();
    Chart::bars(
        "Actions",
        "share of the users the rules gave an action",
        s.actions
            .iter()
            .map(|a| {
                (
                    line().data(&a.name).done(),
                    a.users as f64 / total.max(1) as f64,
                )
            })
            .collect(),
    )
}

fn risk_by_stage(s: &ScoreSummary) -> Table {
    let mut st = Table::new(&[
        ("stage", Align::Left),
        ("users", Align::Right),
        ("mean risk", Align::Right),
        ("high", Align::Right),
        ("medium", Align::Right),
        ("low", Align::Right),
    ]);
    for r in &s.risk_by_stage {
        st.row(vec![
            Cell::data(&r.stage),
            Cell::count(r.users),
            opt3(r.mean_risk),
            Cell::count(r.high),
            Cell::count(r.medium),
            Cell::count(r.low),
        ]);
    }
    st
}

pub fn document(p: &PropensityReport) -> Document {
    let title = if p.kind == "churn" {
        "Churn model"
    } else {
        "Propensity model"
    };
    let pop = &p.population;
    let mut doc = vec![
        Block::title(2, title),
        Block::para(line().text("Label: ").spans(rich::parse(&p.label)).text(".")),
        Block::para(
            line()
                .text(format!("{} users: ", thousands(pop.users)))
                .strong(thousands(pop.labeled))
                .text(format!(
                    " labeled ({} positive, base rate {:.3}), {} converted before the cutoff, {} without a cutoff, {} censored (label window past the end of the data). Train {} / hold-out {} (stratified).",
                    thousands(pop.positives),
                    pop.base_rate,
                    thousands(pop.converted_before_cutoff),
                    thousands(pop.no_cutoff),
                    thousands(pop.censored),
                    thousands(pop.train),
                    thousands(pop.holdout)
                )),
        ),
    ];
    if let (Some(purpose), Some(n)) = (&pop.purpose, pop.without_consent) {
        doc.push(Block::para(
            line()
                .text("Trained for the purpose ")
                .name(purpose)
                .text(format!(
                    ": {} labeled users without consent for it were left out, and the decision engine uses this model for that purpose alone.",
                    thousands(n)
                )),
        ));
    }
    doc.extend([
        Block::para(line().strong(&p.verdict)),
        Block::title(3, "Evaluation"),
        Block::Table(metrics_table(p)),
    ]);
    let r = &p.regularization;
    doc.push(Block::text(format!(
        "CV spread (sd): AUC {:.4}, log loss {:.4}, Brier {:.4}. Precision and recall at threshold {:.3} ({}). L2 = {} (scikit-learn C = {}), chosen by {}; class weight {}{}.",
        p.cv.sd.auc,
        p.cv.sd.log_loss,
        p.cv.sd.brier,
        p.threshold.value,
        p.threshold.chosen_by,
        r.l2,
        r.sklearn_c,
        r.chosen_by,
        r.class_weight.name(),
        if r.minority_repeat > 1 {
            format!(
                " (each user of the rarer class counted {} times)",
                r.minority_repeat
            )
        } else {
            String::new()
        }
    )));
    if r.grid.len() > 1 {
        let mut g = Table::new(&[
            ("L2", Align::Right),
            ("sklearn C", Align::Right),
            ("CV log loss", Align::Right),
            ("CV AUC", Align::Right),
        ]);
        for x in &r.grid {
            g.row(vec![
                Cell::num(x.l2, x.l2.to_string()),
                Cell::num(x.sklearn_c, x.sklearn_c.to_string()),
                f4(x.cv_log_loss),
                f4(x.cv_auc),
            ]);
        }
        doc.push(Block::Table(g));
    }

    doc.push(Block::title(3, "Calibration (hold-out)"));
    let mut c = Table::new(&[
        ("predicted", Align::Left),
        ("users", Align::Right),
        ("mean predicted", Align::Right),
        ("observed rate", Align::Right),
    ]);
    for b in &p.calibration {
        c.row(vec![
            Cell::text(format!("{:.1}–{:.1}", b.lo, b.hi)),
            Cell::count(b.users),
            opt3(b.mean_predicted),
            opt3(b.observed_rate),
        ]);
    }
    doc.push(Block::Table(c));
    doc.push(calibration_chart(p));

    doc.push(Block::title(3, "Lift by decile (hold-out)"));
    let mut l = Table::new(&[
        ("decile", Align::Right),
        ("users", Align::Right),
        ("positives", Align::Right),
        ("rate", Align::Right),
        ("lift", Align::Right),
        ("cumulative capture", Align::Right),
        ("scores", Align::Left),
    ]);
    for d in &p.lift {
        l.row(vec![
            Cell::count(d.decile as u64),
            Cell::count(d.users),
            Cell::count(d.positives),
            f3(d.rate),
            Cell::fixed(d.lift, 2),
            f3(d.cumulative_capture),
            Cell::text(format!("{:.3}–{:.3}", d.min_score, d.max_score)),
        ]);
    }
    doc.push(Block::Table(l));
    doc.push(lift_chart(p));

    doc.push(Block::title(3, "What moves the odds"));
    let mut f = Table::new(&[
        ("feature", Align::Left),
        ("coefficient (per sd)", Align::Right),
        ("odds ratio per sd", Align::Right),
        ("odds ratio 0→1", Align::Right),
    ]);
    // The report lists the features by |coefficient|, largest first.
    for x in &p.features {
        f.row(vec![
            Cell::name(&x.name),
            f4(x.coefficient),
            f3(x.odds_ratio_per_sd),
            opt3(x.odds_ratio_flag),
        ]);
    }
    doc.push(Block::Table(f));
    if p.beats_base_rate {
        doc.push(Block::Bullets(
            p.features
                .iter()
                .take(8)
                .map(|x| rich::parse(&x.sentence))
                .collect(),
        ));
    } else {
        doc.push(Block::text(
            "No odds-ratio sentences: the model found no signal the hold-out confirms, so its coefficients describe noise.",
        ));
    }
    if !p.constant_features.is_empty() {
        doc.push(Block::para(
            line()
                .text("Left out (constant in the training rows): ")
                .names(p.constant_features.iter().map(String::as_str), ", ")
                .text("."),
        ));
    }

    doc.push(Block::title(
        3,
        "Events and the outcome (PostHog correlation odds ratio)",
    ));
    if p.correlations_skewed {
        doc.push(Block::text(
            "One class outnumbers the other more than 10 to 1: read these with care.",
        ));
    }
    let mut e = Table::new(&[
        ("event", Align::Left),
        ("positives with it", Align::Right),
        ("negatives with it", Align::Right),
        ("odds ratio", Align::Right),
    ]);
    for x in p.correlations.iter().filter(|x| x.enough_users) {
        e.row(vec![
            Cell::name(&x.event),
            Cell::count(x.positives_with),
            Cell::count(x.negatives_with),
            f3(x.odds_ratio),
        ]);
    }
    doc.push(Block::Table(e));

    let s = &p.scoring;
    doc.push(Block::title(3, "Risk by stage at the cutoff"));
    doc.push(Block::Table(risk_by_stage(s)));
    doc.push(risk_chart(s));

    doc.push(Block::title(3, "Interventions"));
    if s.rules.is_empty() {
        doc.push(Block::text("No [[interventions]] rules configured."));
    } else {
        doc.push(Block::text(
            "Rules are checked in order; the first match names the action.",
        ));
        let mut d = Table::new(&[
            ("rule", Align::Right),
            ("when", Align::Left),
            ("action", Align::Left),
            ("users", Align::Right),
        ]);
        for r in &s.rules {
            d.row(vec![
                Cell::count(r.rule),
                Cell::data(&r.conditions),
                Cell::data(&r.action),
                Cell::count(r.users),
            ]);
        }
        doc.push(Block::Table(d));
        let mut a = Table::new(&[("action", Align::Left), ("users", Align::Right)]);
        for x in &s.actions {
            a.row(vec![Cell::data(&x.name), Cell::count(x.users)]);
        }
        doc.push(Block::Table(a));
        doc.push(actions_chart(s));
        let mut sa = Table::new(&[
            ("stage", Align::Left),
            ("action", Align::Left),
            ("users", Align::Right),
        ]);
        for x in &s.actions_by_stage {
            sa.row(vec![
                Cell::data(&x.stage),
                Cell::data(&x.action),
                Cell::count(x.users),
            ]);
        }
        doc.push(Block::Table(sa));
    }
    doc.extend(crate::propensity::card::card(p, None, 3));
    doc
}

#[cfg(test)]
mod tests {
    use crate::generate::{self, GenerateOptions, Scenario};
    use crate::ingest::{self, IngestOptions};
    use crate::predicate::Predicate;
    use crate::progress::Progress;
    use crate::propensity::config::PropensitySection;
    use crate::propensity::{self, TrainOptions};
    use crate::sessions::{self, SessionSource};

    #[test]
    fn renders_every_section_of_a_trained_report() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("saas.csv");
        generate::generate(&GenerateOptions {
            scenario: Scenario::Saas,
            users: 1_500,
            seed: 2,
            out: out.clone(),
        })
        .unwrap();
        let ing = ingest::ingest(
            std::slice::from_ref(&out),
            &IngestOptions::default(),
            &Progress::silent(),
        )
        .unwrap();
        let s = sessions::build(
            &ing.table,
            &SessionSource::Column {
                column: "session_id".into(),
            },
        );
        let cfg = crate::config::load(std::path::Path::new(
            "fixtures/propensity/saas.journey.toml",
        ))
        .unwrap();
        let o = PropensitySection {
            target: Some(Predicate::Event("upgrade".into())),
            ..PropensitySection::default()
        };
        let opts = TrainOptions::new(&cfg, &o).unwrap();
        let r = propensity::train(&ing.table, &s, &ing.files, &opts, &Progress::silent())
            .unwrap()
            .report;
        let md = crate::doc::markdown::render(&super::document(&r));
        for heading in [
            "## Propensity model",
            "### Evaluation",
            "### Calibration (hold-out)",
            "### Lift by decile (hold-out)",
            "### What moves the odds",
            "### Events and the outcome",
            "### Risk by stage at the cutoff",
            "### Interventions",
        ] {
            assert!(md.contains(heading), "no {heading} in\n{md}");
        }
        assert!(md.contains(&r.verdict));
        assert!(md.contains("| tutorial_email"), "{md}");
        assert!(md.contains("Users who invited a teammate are"), "{md}");
    }
}
