//! The propensity section of report.md. Shows the report's fields; computes nothing.

use std::fmt::Write;

use crate::propensity::PropensityReport;
use crate::propensity::metrics::Metrics;
use crate::table::{Align, Table, thousands};

fn f3(x: f64) -> String {
    format!("{x:.3}")
}

fn f4(x: f64) -> String {
    format!("{x:.4}")
}

fn opt3(x: Option<f64>) -> String {
    x.map_or("–".into(), f3)
}

/// Hold-out, base-rate and CV metrics; `folds` adds one row per CV fold.
/// Shared with the terminal output of `propensity train`.
pub fn metrics_table(p: &PropensityReport, folds: bool) -> Table {
    let mut m = Table::new(
        &[
            "",
            "users",
            "AUC",
            "log loss",
            "Brier",
            "precision",
            "recall",
        ],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    );
    let row = |name: String, x: &Metrics| {
        vec![
            name,
            thousands(x.users),
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
    if folds {
        for (i, f) in p.cv.folds.iter().enumerate() {
            m.row(row(format!("fold {}", i + 1), f));
        }
    }
    m
}

/// The section, from `## Propensity` on.
pub fn render(p: &PropensityReport) -> String {
    let mut out = String::new();
    let title = if p.kind == "churn" {
        "Churn model"
    } else {
        "Propensity model"
    };
    let _ = writeln!(out, "## {title}\n");
    let _ = writeln!(out, "Label: {}.\n", p.label);
    let pop = &p.population;
    let _ = writeln!(
        out,
        "{} users: **{}** labeled ({} positive, base rate {}), {} converted before the cutoff, {} without a cutoff, {} censored (label window past the end of the data). Train {} / hold-out {} (stratified).\n",
        thousands(pop.users),
        thousands(pop.labeled),
        thousands(pop.positives),
        f3(pop.base_rate),
        thousands(pop.converted_before_cutoff),
        thousands(pop.no_cutoff),
        thousands(pop.censored),
        thousands(pop.train),
        thousands(pop.holdout)
    );
    let _ = writeln!(out, "**{}**\n", p.verdict);

    let _ = writeln!(out, "### Evaluation\n");
    let m = metrics_table(p, true);
    out += &m.to_markdown();
    let r = &p.regularization;
    let _ = writeln!(
        out,
        "\nCV spread (sd): AUC {}, log loss {}, Brier {}. Precision and recall at threshold {} ({}). L2 = {} (scikit-learn C = {}), chosen by {}; class weight {}{}.\n",
        f4(p.cv.sd.auc),
        f4(p.cv.sd.log_loss),
        f4(p.cv.sd.brier),
        f3(p.threshold.value),
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
    );
    if r.grid.len() > 1 {
        let mut g = Table::new(
            &["L2", "sklearn C", "CV log loss", "CV AUC"],
            &[Align::Right, Align::Right, Align::Right, Align::Right],
        );
        for x in &r.grid {
            g.row(vec![
                x.l2.to_string(),
                x.sklearn_c.to_string(),
                f4(x.cv_log_loss),
                f4(x.cv_auc),
            ]);
        }
        out += &g.to_markdown();
        out.push('\n');
    }

    let _ = writeln!(out, "### Calibration (hold-out)\n");
    let mut c = Table::new(
        &["predicted", "users", "mean predicted", "observed rate"],
        &[Align::Left, Align::Right, Align::Right, Align::Right],
    );
    for b in &p.calibration {
        c.row(vec![
            format!("{:.1}–{:.1}", b.lo, b.hi),
            thousands(b.users),
            opt3(b.mean_predicted),
            opt3(b.observed_rate),
        ]);
    }
    out += &c.to_markdown();

    let _ = writeln!(out, "\n### Lift by decile (hold-out)\n");
    let mut l = Table::new(
        &[
            "decile",
            "users",
            "positives",
            "rate",
            "lift",
            "cumulative capture",
            "scores",
        ],
        &[
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
        ],
    );
    for d in &p.lift {
        l.row(vec![
            d.decile.to_string(),
            thousands(d.users),
            thousands(d.positives),
            f3(d.rate),
            format!("{:.2}", d.lift),
            f3(d.cumulative_capture),
            format!("{}–{}", f3(d.min_score), f3(d.max_score)),
        ]);
    }
    out += &l.to_markdown();

    let _ = writeln!(out, "\n### What moves the odds\n");
    let mut feats: Vec<_> = p.features.iter().collect();
    feats.sort_by(|a, b| b.coefficient.abs().total_cmp(&a.coefficient.abs()));
    let mut f = Table::new(
        &[
            "feature",
            "coefficient (per sd)",
            "odds ratio per sd",
            "odds ratio 0→1",
        ],
        &[Align::Left, Align::Right, Align::Right, Align::Right],
    );
    for x in &feats {
        f.row(vec![
            format!("`{}`", x.name),
            f4(x.coefficient),
            f3(x.odds_ratio_per_sd),
            opt3(x.odds_ratio_flag),
        ]);
    }
    out += &f.to_markdown();
    out.push('\n');
    for x in feats.iter().take(8) {
        let _ = writeln!(out, "- {}", x.sentence);
    }
    if !p.constant_features.is_empty() {
        let _ = writeln!(
            out,
            "\nLeft out (constant in the training rows): {}.",
            p.constant_features
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let _ = writeln!(
        out,
        "\n### Events and the outcome (PostHog correlation odds ratio)\n"
    );
    if p.correlations_skewed {
        let _ = writeln!(
            out,
            "One class outnumbers the other more than 10 to 1: read these with care.\n"
        );
    }
    let mut e = Table::new(
        &[
            "event",
            "positives with it",
            "negatives with it",
            "odds ratio",
        ],
        &[Align::Left, Align::Right, Align::Right, Align::Right],
    );
    for x in p.correlations.iter().filter(|x| x.enough_users) {
        e.row(vec![
            format!("`{}`", x.event),
            thousands(x.positives_with),
            thousands(x.negatives_with),
            f3(x.odds_ratio),
        ]);
    }
    out += &e.to_markdown();

    let s = &p.scoring;
    let _ = writeln!(out, "\n### Risk by stage at the cutoff\n");
    let mut st = Table::new(
        &["stage", "users", "mean risk", "high", "medium", "low"],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    );
    for r in &s.risk_by_stage {
        st.row(vec![
            r.stage.clone(),
            thousands(r.users),
            opt3(r.mean_risk),
            thousands(r.high),
            thousands(r.medium),
            thousands(r.low),
        ]);
    }
    out += &st.to_markdown();

    let _ = writeln!(out, "\n### Interventions\n");
    if s.rules.is_empty() {
        let _ = writeln!(out, "No [[interventions]] rules configured.");
    } else {
        let _ = writeln!(
            out,
            "Rules are checked in order; the first match names the action.\n"
        );
        let mut d = Table::new(
            &["rule", "when", "action", "users"],
            &[Align::Right, Align::Left, Align::Left, Align::Right],
        );
        for r in &s.rules {
            d.row(vec![
                r.rule.to_string(),
                r.conditions.clone(),
                r.action.clone(),
                thousands(r.users),
            ]);
        }
        out += &d.to_markdown();
        out.push('\n');
        let mut a = Table::new(&["action", "users"], &[Align::Left, Align::Right]);
        for x in &s.actions {
            a.row(vec![x.name.clone(), thousands(x.users)]);
        }
        out += &a.to_markdown();
        out.push('\n');
        let mut sa = Table::new(
            &["stage", "action", "users"],
            &[Align::Left, Align::Left, Align::Right],
        );
        for x in &s.actions_by_stage {
            sa.row(vec![x.stage.clone(), x.action.clone(), thousands(x.users)]);
        }
        out += &sa.to_markdown();
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::generate::{self, GenerateOptions, Scenario};
    use crate::ingest::{self, IngestOptions};
    use crate::predicate::Predicate;
    use crate::progress::Progress;
    use crate::propensity::{self, Overrides, TrainOptions};
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
        let o = Overrides {
            target: Some(Predicate::Event("upgrade".into())),
            ..Overrides::default()
        };
        let opts = TrainOptions::new(&cfg, &o).unwrap();
        let r = propensity::train(&ing.table, &s, &ing.files, &opts, &Progress::silent())
            .unwrap()
            .report;
        let md = super::render(&r);
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
