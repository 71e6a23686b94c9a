//! The experiment section: assignment accounting and SRM first, then per
//! metric a table of arms and one of comparisons with lift, interval,
//! p-value or chance to win, and the verdict. Every number shown is a
//! field of [`ExperimentReport`].

use crate::doc::fmt::{pct, thousands};
use crate::doc::{Align, Block, Cell, Chart, ChartKind, Document, Interval, Table, line};
use crate::doc::{Line, LineBuilder};
use crate::experiment::config::Engine;
use crate::experiment::did::DidReport;
use crate::experiment::plan::Plan;
use crate::experiment::report::{Comparison, ExperimentReport, MetricResult};
use crate::experiment::verdict::{Piece, comparison_pieces, overall_pieces};

fn json_word<T: serde::Serialize>(x: &T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn lift(x: f64) -> String {
    format!("{:+.2} %", x * 100.0)
}

fn interval(c: &Comparison) -> Cell {
    match &c.lift {
        Some(l) => Cell::text(format!("{} to {}", lift(l.ci_low), lift(l.ci_high))),
        None => Cell::text("–"),
    }
}

fn spans(pieces: &[Piece]) -> Line {
    let mut l: LineBuilder = line();
    for p in pieces {
        l = match p {
            Piece::Text(t) => l.text(t),
            Piece::Name(n) => l.name(n),
        };
    }
    l.done()
}

fn arms_table(m: &MetricResult) -> Table {
    let mut t = Table::new(&[
        ("arm", Align::Left),
        ("users", Align::Right),
        ("mean", Align::Right),
        ("sd", Align::Right),
        ("pre-exposure mean", Align::Right),
    ]);
    for a in &m.arms {
        t.row(vec![
            Cell::name(&a.arm),
            Cell::count(a.users),
            Cell::fixed(a.mean, 4),
            Cell::fixed(a.sd, 4),
            Cell::fixed(a.pre_mean, 4),
        ]);
    }
    t
}

fn comparisons_table(s: &ExperimentReport, m: &MetricResult) -> Table {
    let bayes = s.engine == Engine::Bayesian;
    let mut cols = vec![
        ("treatment", Align::Left),
        ("baseline", Align::Left),
        ("lift", Align::Right),
        ("interval", Align::Right),
    ];
    cols.push(if bayes {
        ("chance to win", Align::Right)
    } else {
        ("p", Align::Right)
    });
    cols.extend([
        ("p adjusted", Align::Right),
        ("without CUPED", Align::Right),
        ("variance cut", Align::Right),
        ("result", Align::Left),
    ]);
    let mut t = Table::new(&cols);
    for c in &m.comparisons {
        let l = c.lift.as_ref();
        t.row(vec![
            Cell::name(&c.treatment),
            Cell::name(&c.baseline),
            l.map_or(Cell::text("–"), |l| {
                Cell::num(l.estimate, lift(l.estimate))
            }),
            interval(c),
            if bayes {
                Cell::opt(c.bayes.as_ref().map(|b| Cell::pct(b.chance_to_win)))
            } else {
                Cell::opt(l.map(|l| Cell::fixed(l.p, 4)))
            },
            Cell::opt(l.and_then(|l| l.p_adjusted).map(|p| Cell::fixed(p, 4))),
            Cell::opt(
                c.unadjusted
                    .as_ref()
                    .map(|u| Cell::num(u.estimate, lift(u.estimate))),
            ),
            Cell::opt(c.variance_reduction.map(Cell::pct)),
            Cell::text(match c.direction.as_str() {
                "better" => "better",
                "worse" => "worse",
                _ if c.lift.is_none() => "no estimate",
                _ => "not significant",
            }),
        ]);
    }
    t
}

/// The metric's lifts with their intervals around no change.
fn forest(m: &MetricResult) -> Block {
    Block::Chart(Chart {
        title: "Lift with its interval (per comparison)".into(),
        kind: ChartKind::Intervals {
            axis: "relative lift (%), 0 = no change".into(),
            reference: 0.0,
            rows: m
                .comparisons
                .iter()
                .filter_map(|c| {
                    let l = c.lift.as_ref()?;
                    Some(Interval {
                        label: line()
                            .name(&c.treatment)
                            .text(" vs ")
                            .name(&c.baseline)
                            .done(),
                        estimate: l.estimate * 100.0,
                        low: l.ci_low * 100.0,
                        high: l.ci_high * 100.0,
                        text: format!(
                            "{} ({} to {})",
                            lift(l.estimate),
                            lift(l.ci_low),
                            lift(l.ci_high)
                        ),
                    })
                })
                .collect(),
        },
    })
}

pub fn document(s: &ExperimentReport) -> Document {
    let a = &s.assignment;
    let mut doc = vec![
        Block::title(2, "Experiment"),
        Block::para(
            line()
                .strong("Verdict")
                .text(": ")
                .spans(spans(&overall_pieces(s)))
                .done(),
        ),
        Block::para(
            line()
                .text("Assignment from ")
                .data(&a.source)
                .text(format!(
                    ": {} rows, {} users assigned, {} analyzed, {} excluded ({}).",
                    thousands(a.rows),
                    thousands(a.users),
                    thousands(a.analyzed),
                    thousands(a.users - a.analyzed),
                    pct(a.excluded_share)
                )),
        ),
    ];
    if !a.excluded.is_empty() || !a.rejected_rows.is_empty() {
        let mut t = Table::new(&[
            ("excluded or rejected", Align::Left),
            ("count", Align::Right),
            ("share / lines", Align::Right),
        ]);
        for r in &a.rejected_rows {
            let lines: Vec<String> = r.lines.iter().map(u64::to_string).collect();
            t.row(vec![
                Cell::text(format!("rows: {}", json_word(&r.reason))),
                Cell::count(r.rows),
                Cell::text(format!("lines {}", lines.join(", "))),
            ]);
        }
        for e in &a.excluded {
            t.row(vec![
                Cell::text(format!("users: {}", json_word(&e.reason))),
                Cell::count(e.users),
                Cell::pct(e.share),
            ]);
        }
        doc.push(Block::Table(t));
    }
    let mut arms = Table::new(&[
        ("arm", Align::Left),
        ("users", Align::Right),
        ("share", Align::Right),
        ("planned", Align::Right),
    ]);
    for arm in &s.arms {
        arms.row(vec![
            Cell::spans(if arm.control {
                line().name(&arm.name).text(" (control)")
            } else {
                line().name(&arm.name)
            }),
            Cell::count(arm.users),
            Cell::pct(arm.share),
            Cell::pct(arm.expected_share),
        ]);
    }
    doc.push(Block::Table(arms));
    doc.push(Block::text(format!(
        "Sample ratio: χ² = {:.3}, df {}, p = {:.4} ({}; fail below p 0.001 with a 0.1 pp deviation, warn below 0.01).",
        s.srm.chi2,
        s.srm.df,
        s.srm.p,
        json_word(&s.srm.status)
    )));
    let engine = match s.engine {
        Engine::Frequentist => {
            "fixed-horizon Welch t (delta method for the relative lift)".to_string()
        }
        Engine::Sequential => format!(
            "always-valid confidence sequences, N* = {}",
            s.sequential_tuning.unwrap_or_default()
        ),
        Engine::Bayesian => match s.prior {
            Some(p) => format!("Gaussian Bayesian, prior N(0, {}²) on the lift", p.sd),
            None => "Gaussian Bayesian, flat prior".into(),
        },
    };
    doc.push(Block::text(format!(
        "Engine: {engine}; {:.0} % intervals; correction over the goal metrics: {}; metrics over {} after exposure; CUPED lookback {}.",
        (1.0 - s.alpha) * 100.0,
        json_word(&s.correction),
        s.window,
        s.lookback
    )));
    if let Some(a) = &s.allocation {
        let mut t = Table::new(&[
            ("arm", Align::Left),
            ("P(best)", Align::Right),
            ("Thompson weight", Align::Right),
            ("top-two weight", Align::Right),
        ]);
        for (i, arm) in s.arms.iter().enumerate() {
            t.row(vec![
                Cell::name(&arm.name),
                Cell::pct(a.p_best[i]),
                Cell::pct(a.thompson[i]),
                Cell::pct(a.top_two[i]),
            ]);
        }
        doc.push(Block::para(
            line()
                .text("Next-period allocation on ")
                .name(&a.metric)
                .text(format!(
                    " (posterior of each arm's mean, computed by integration, floor {}):",
                    pct(a.floor)
                ))
                .done(),
        ));
        doc.push(Block::Table(t));
    }
    if let Some(b) = &s.breakdown {
        doc.push(Block::heading(
            3,
            line()
                .text("Effects by ")
                .name(&b.property)
                .text(" (exploratory)"),
        ));
        doc.push(Block::text(format!(
            "Engine: {}, at the uncorrected level. Not corrected for the number of segments: a segment that stands out is a hypothesis for the next test, not a finding.",
            b.engine
        )));
        let bayes = b.effects.iter().any(|e| e.chance_to_win.is_some());
        let mut head = vec![
            ("value", Align::Left),
            ("metric", Align::Left),
            ("treatment", Align::Left),
            ("baseline", Align::Left),
            ("users", Align::Right),
            ("lift", Align::Right),
            ("interval", Align::Right),
            ("p", Align::Right),
        ];
        if bayes {
            head.push(("chance to win", Align::Right));
        }
        let mut t = Table::new(&head);
        for e in &b.effects {
            let mut row = vec![
                Cell::name(&e.value),
                Cell::name(&e.metric),
                Cell::name(&e.treatment),
                Cell::name(&e.baseline),
                Cell::count(e.users_treatment + e.users_baseline),
                Cell::opt(e.lift.map(|l| Cell::num(l, lift(l)))),
                match (e.ci_low, e.ci_high) {
                    (Some(a), Some(b)) => Cell::text(format!("{} to {}", lift(a), lift(b))),
                    _ => Cell::text(e.error.clone().unwrap_or_else(|| "–".into())),
                },
                Cell::opt(e.p.map(|p| Cell::fixed(p, 4))),
            ];
            if bayes {
                row.push(Cell::opt(e.chance_to_win.map(Cell::pct)));
            }
            t.row(row);
        }
        doc.push(Block::Table(t));
    }
    for u in &s.uplift {
        doc.push(Block::heading(
            3,
            line()
                .text("Uplift: who should get ")
                .name(&u.treatment)
                .text(" rather than ")
                .name(&u.baseline)
                .text(" on ")
                .name(&u.metric),
        ));
        doc.push(Block::text(format!(
            "T-learner on {} pre-exposure features, {} users, cross-fitted (seed {}): Qini coefficient {:.4} (scikit-uplift's qini_auc_score), normalized Qini area {:.4} (causalml's qini_score), uplift in the top {:.0} % {} vs {:+.2} pp overall.",
            u.features.len(),
            u.users,
            u.seed,
            u.qini_coefficient_vs_perfect,
            u.qini_area_normalized_by_total,
            u.k * 100.0,
            u.uplift_at_k.map_or("–".to_string(), |x| format!("{:+.2} pp", x * 100.0)),
            u.overall_uplift * 100.0
        )));
        let pv = &u.policy;
        doc.push(Block::text(format!(
            "Treating the top {:.0} % by uplift: {:.4} per user (doubly robust; {:.0} % bootstrap CI {:.4} to {:.4}; IPW {:.4}, SNIPW {:.4}, direct {:.4}), against {:.4} treating everyone ({:+.4}, CI {:+.4} to {:+.4}) and {:.4} treating no one ({:+.4}, CI {:+.4} to {:+.4}); {} resamples, seed {}.",
            pv.k * 100.0,
            pv.dr,
            (1.0 - pv.alpha) * 100.0,
            pv.dr_ci[0],
            pv.dr_ci[1],
            pv.ipw,
            pv.snipw,
            pv.dm,
            pv.treat_all,
            pv.gain_vs_all,
            pv.gain_vs_all_ci[0],
            pv.gain_vs_all_ci[1],
            pv.treat_none,
            pv.gain_vs_none,
            pv.gain_vs_none_ci[0],
            pv.gain_vs_none_ci[1],
            pv.resamples,
            pv.seed
        )));
        let mut t = Table::new(&[
            ("targeted", Align::Right),
            ("Qini", Align::Right),
            ("uplift curve", Align::Right),
        ]);
        for p in &u.curve {
            t.row(vec![
                Cell::pct(p.share),
                Cell::fixed(p.qini, 1),
                Cell::fixed(p.uplift, 1),
            ]);
        }
        doc.push(Block::Table(t));
    }
    for m in &s.metrics {
        let mut h = line()
            .text("Metric ")
            .name(&m.name)
            .text(format!(" ({} of ", json_word(&m.kind)))
            .name(&m.event);
        if let Some(p) = &m.property {
            h = h.text(", property ").name(p);
        }
        for step in &m.then {
            h = h.text(" → ").name(step);
        }
        if let Some(per) = &m.per {
            h = h.text(" per ").name(per);
            if let Some(p) = &m.per_property {
                h = h.text(", property ").name(p);
            }
        }
        h = h.text(if m.guardrail { "; guardrail)" } else { ")" });
        doc.push(Block::heading(3, h));
        doc.push(Block::Table(arms_table(m)));
        doc.push(Block::Table(comparisons_table(s, m)));
        doc.push(forest(m));
        for c in &m.comparisons {
            doc.push(Block::para(spans(&comparison_pieces(m, c, s))));
        }
    }
    doc
}

/// `experiment plan`'s document.
pub fn plan_document(p: &Plan) -> Document {
    let mut t = Table::new(&[
        ("metric", Align::Left),
        ("users", Align::Right),
        ("mean", Align::Right),
        ("variance", Align::Right),
        ("users needed", Align::Right),
        ("days", Align::Right),
        ("sequential users", Align::Right),
        ("sequential days", Align::Right),
        ("MDE at export traffic", Align::Right),
    ]);
    let opt_n = |x: Option<u64>| Cell::opt(x.map(Cell::count));
    let opt_d = |x: Option<f64>| Cell::opt(x.map(|d| Cell::fixed(d, 1)));
    for m in &p.metrics {
        t.row(vec![
            Cell::name(&m.metric),
            Cell::count(m.users),
            Cell::fixed(m.mean, 4),
            Cell::fixed(m.variance, 4),
            opt_n(m.users_needed),
            opt_d(m.days_needed),
            opt_n(m.users_needed_sequential),
            opt_d(m.days_needed_sequential),
            Cell::opt(m.mde_at_export_traffic.map(Cell::pct)),
        ]);
    }
    let mut doc = vec![
        Block::title(2, "Experiment plan"),
        Block::text(format!(
            "Detect a {:.1} % relative lift with power {:.0} % at α = {} over {} arms; metric over {} after each user's first event; {:.1} new users per day over {:.1} days of export; sequential N* = {}.",
            p.mde * 100.0,
            p.power * 100.0,
            p.alpha,
            p.arms,
            p.window,
            p.new_users_per_day,
            p.export_days,
            p.sequential_tuning
        )),
        Block::Table(t),
    ];
    for m in &p.metrics {
        if let Some(n) = &m.note {
            doc.push(Block::text(format!("{}: {n}", m.metric)));
        }
    }
    doc
}

/// `experiment did`'s document.
pub fn did_document(r: &DidReport) -> Document {
    let mut groups = Table::new(&[
        ("group", Align::Left),
        ("users", Align::Right),
        ("pre mean", Align::Right),
        ("post mean", Align::Right),
    ]);
    for (name, g) in [("treated", &r.treated), ("control", &r.control)] {
        groups.row(vec![
            Cell::text(name),
            Cell::count(g.users),
            Cell::fixed(g.pre, 4),
            Cell::fixed(g.post, 4),
        ]);
    }
    let mut est = Table::new(&[
        ("", Align::Left),
        ("estimate", Align::Right),
        ("SE", Align::Right),
        ("interval", Align::Right),
        ("p", Align::Right),
    ]);
    for (name, e) in [
        ("effect (DiD)", &r.effect),
        ("placebo (pre-period)", &r.placebo),
    ] {
        match e {
            Some(e) => est.row(vec![
                Cell::text(name),
                Cell::fixed(e.estimate, 4),
                Cell::fixed(e.se, 4),
                Cell::text(format!("{:+.4} to {:+.4}", e.ci_low, e.ci_high)),
                Cell::fixed(e.p, 4),
            ]),
            None => est.row(vec![
                Cell::text(name),
                Cell::text("–"),
                Cell::text("–"),
                Cell::text("–"),
                Cell::text("–"),
            ]),
        };
    }
    let mut weeks = Table::new(&[
        ("week", Align::Right),
        ("treated", Align::Right),
        ("control", Align::Right),
    ]);
    for w in &r.weeks {
        weeks.row(vec![
            Cell::text(format!("{:+}", w.week)),
            Cell::fixed(w.treated, 4),
            Cell::fixed(w.control, 4),
        ]);
    }
    vec![
        Block::title(2, "Difference in differences"),
        Block::para(
            line()
                .strong("Verdict")
                .text(": ")
                .spans(spans(&crate::experiment::did::verdict(
                    &r.metric,
                    &r.effect,
                    &r.placebo,
                    r.parallel_trends_plausible,
                    r.alpha,
                )))
                .done(),
        ),
        Block::para(line().text("Metric ").name(&r.metric).text(format!(
            "; rollout from {}; pre {}, post {}; {} users first seen after the start left out.",
            r.start, r.pre, r.post, r.excluded_new_users
        )).done()),
        Block::Table(groups),
        Block::Table(est),
        Block::Table(weeks),
    ]
}
