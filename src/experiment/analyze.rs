//! From the table, the assignment and `[experiment]` to the report
//! section: per metric and arm the sufficient statistics, per comparison
//! the engines, then the family-wise correction and the verdicts.

use std::collections::BTreeMap;

use super::adjust::{Correction, adjust_with_factors};
use super::assign::{self, Source};
use super::compare::{compare, run_engine};
use super::config::Engine;
use super::freq::{Contrast, Estimate};
use super::metrics::{Resolved, accumulate};
use super::options::Options;
use super::report::{
    ArmMetric, ArmSummary, Comparison, Effect, ExperimentReport, Figures, MetricResult,
};
use super::srm::srm;
use super::suff::Stat;
use super::verdict::{comparison_pieces, overall_pieces, plain};
use crate::duration::format_ms;
use crate::error::UsageError;
use crate::ingest::EventTable;
use crate::predicate::resolve;
use crate::stats::round6;

fn effect(e: &Estimate) -> Effect {
    Effect {
        estimate: round6(e.effect),
        ci_low: round6(e.low),
        ci_high: round6(e.high),
        se: round6(e.se),
        p: round6(e.p),
        p_adjusted: None,
    }
}

/// Runs the experiment analysis. Warnings go to `warn`.
/// What the analysis reads of a loaded export.
pub struct Inputs<'a> {
    pub table: &'a EventTable,
    pub ranges: &'a [std::ops::Range<usize>],
    pub sessions: &'a crate::sessions::Sessions,
    /// Every property column of the export (read or not), for the
    /// suggestions of a misspelled name.
    pub columns: &'a [String],
}

/// The report section and the per-user uplift scores (for uplift.csv).
pub struct Analyzed {
    pub report: ExperimentReport,
    pub uplift_scores: Vec<UpliftScores>,
    /// The effects by each `Options::impact_by` column other than the
    /// report's breakdown (not in the experiment's section).
    pub impact: Vec<super::breakdown::Breakdown>,
}

pub struct UpliftScores {
    pub metric: String,
    pub treatment: String,
    pub baseline: String,
    pub scores: Vec<super::uplift::Scored>,
}

pub fn analyze(
    inputs: &Inputs,
    o: &Options,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Analyzed> {
    let (t, ranges, columns) = (inputs.table, inputs.ranges, inputs.columns);
    let s = &o.section;
    let source = match &o.assignments {
        Some(p) if !p.is_file() => {
            return Err(UsageError(format!(
                "{}: no such assignments file (a CSV of user_id,arm,assigned_at; a relative path in journey.toml is read from the config's directory)",
                p.display()
            ))
            .into());
        }
        Some(p) => Source::File(p),
        None => {
            let exposure = s.exposure.as_ref().expect("checked in resolve");
            let prop = s.arm_property.as_deref().expect("checked in resolve");
            let arm_prop = crate::predicate::column(t, columns, prop, "experiment.arm_property")?;
            Source::Exposure {
                matcher: resolve(exposure, t, "experiment.exposure")?,
                arm_prop,
                label: format!("exposure event {}[{prop}]", exposure.label()),
            }
        }
    };
    let (users, accounting) = assign::assign(t, ranges, source, &o.arms, o.window_ms)?;
    if accounting.users == 0 {
        warn(format!(
            "experiment: no user is assigned ({} has no usable rows): every figure below is empty",
            accounting.source
        ));
    }
    if accounting.excluded_share > assign::WARN_EXCLUDED {
        let parts: Vec<String> = accounting
            .excluded
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.users,
                    serde_json::to_value(e.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                )
            })
            .collect();
        warn(format!(
            "experiment: {:.1} % of assigned users are excluded ({})",
            accounting.excluded_share * 100.0,
            parts.join(", ")
        ));
    }
    let rejected: u64 = accounting.rejected_rows.iter().map(|r| r.rows).sum();
    if rejected > 0 {
        warn(format!(
            "experiment: {rejected} rows of {} could not be read (see experiment.assignment.rejected_rows)",
            accounting.source
        ));
    }
    let resolved: Vec<Resolved> = s
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            super::metrics::resolve(
                t,
                columns,
                m,
                &format!("experiment.metrics[{}]", i + 1),
                warn,
            )
        })
        .collect::<Result<_, _>>()?;
    let mut range_of = vec![None; t.user_names.len()];
    for r in ranges {
        if !r.is_empty() {
            range_of[t.user[r.start] as usize] = Some(r.clone());
        }
    }
    let metric_refs: Vec<&Resolved> = resolved.iter().collect();
    let sums = accumulate(
        t,
        &range_of,
        &users,
        &metric_refs,
        o.arms.len(),
        o.window_ms,
        o.lookback_ms,
    );

    let mut counts = vec![0u64; o.arms.len()];
    for u in &users {
        counts[u.arm] += 1;
    }
    let srm = {
        let mut r = srm(&counts, &o.weights);
        r.chi2 = round6(r.chi2);
        r.p = round6(r.p);
        r.max_deviation = round6(r.max_deviation);
        r
    };
    let total: u64 = counts.iter().sum();
    let wsum: f64 = o.weights.iter().sum();
    let arms: Vec<ArmSummary> = o
        .arms
        .iter()
        .enumerate()
        .map(|(i, name)| ArmSummary {
            name: name.clone(),
            control: i == o.control,
            expected_share: round6(if wsum > 0.0 { o.weights[i] / wsum } else { 0.0 }),
            users: counts[i],
            share: round6(if total == 0 {
                0.0
            } else {
                counts[i] as f64 / total as f64
            }),
        })
        .collect();
    for a in &arms {
        if a.users == 0 {
            warn(format!(
                "experiment: the arm {} has no analyzed users",
                a.name
            ));
        }
    }

    // Engines per metric and pair; the family's p-values collected in order.
    let mut metrics = Vec::new();
    let mut family: Vec<(usize, usize, f64, Contrast)> = Vec::new();
    for (mi, (m, res)) in s.metrics.iter().zip(&resolved).enumerate() {
        let binary = res.binary();
        let per_arm: Vec<ArmMetric> = o
            .arms
            .iter()
            .zip(&sums[mi])
            .map(|(name, st)| ArmMetric {
                arm: name.clone(),
                users: st.n(),
                mean: round6(st.mean()),
                sd: round6(st.var(binary).sqrt()),
                pre_mean: round6(st.pre_mean()),
                sums: st.sums,
                ratio: st.ratio,
            })
            .collect();
        let mut comparisons = Vec::new();
        for (ci, &(ti, bi)) in o.pairs.iter().enumerate() {
            let cmp = compare(&sums[mi][bi], &sums[mi][ti], binary, o.lookback_ms > 0);
            let cuped = cmp.theta != 0.0;
            let unadjusted = cmp
                .unadjusted
                .map(|c| run_engine(&o.engines(), &c, o.alpha));
            let absolute = cmp.absolute.map(|c| run_engine(&o.engines(), &c, o.alpha));
            let (lift, bayes, error) = match cmp.main {
                Ok(c) => {
                    let (e, b) = run_engine(&o.engines(), &c, o.alpha);
                    if !m.guardrail {
                        family.push((mi, ci, e.p, c));
                    }
                    (Some(e), b, None)
                }
                Err(e) => (None, None, Some(e)),
            };
            comparisons.push((
                Comparison {
                    treatment: o.arms[ti].clone(),
                    baseline: o.arms[bi].clone(),
                    engine: o.engine,
                    cuped,
                    theta: cuped.then(|| round6(cmp.theta)),
                    variance_reduction: cmp.reduction.map(round6),
                    lift: lift.as_ref().map(effect),
                    unadjusted: unadjusted.map(|(e, _)| effect(&e)),
                    absolute: absolute.map(|(e, _)| effect(&e)),
                    bayes,
                    significant: false,
                    direction: "none".into(),
                    error: None,
                    verdict: String::new(),
                },
                error,
            ));
        }
        metrics.push((
            MetricResult {
                name: m.name.clone(),
                kind: m.kind,
                event: m.event.label(),
                property: m.property.clone(),
                per: m.per.as_ref().map(|p| p.label()),
                per_property: m.per_property.clone(),
                then: m.then.iter().map(|p| p.label()).collect(),
                guardrail: m.guardrail,
                inverse: m.inverse,
                arms: per_arm,
                comparisons: Vec::new(),
            },
            comparisons,
        ));
    }

    // The correction over the family, and the intervals that go with it.
    let corrected = family.len() > 1 && o.correction != Correction::None;
    let adjusted = adjust_with_factors(
        &family.iter().map(|f| f.2).collect::<Vec<_>>(),
        o.correction,
    );
    for (k, (mi, ci, _, contrast)) in family.iter().enumerate() {
        let c = &mut metrics[*mi].1[*ci].0;
        let lift = c.lift.as_mut().expect("family members have a lift");
        if corrected {
            let (p_adj, factor) = adjusted[k];
            lift.p_adjusted = Some(round6(p_adj));
            let (e, _) = run_engine(&o.engines(), contrast, o.alpha / factor);
            lift.ci_low = round6(e.low);
            lift.ci_high = round6(e.high);
        }
    }
    let mut figures: BTreeMap<String, BTreeMap<String, Figures>> = BTreeMap::new();
    let mut out_metrics = Vec::new();
    for (mut mr, comps) in metrics {
        for (mut c, error) in comps {
            let (sig, dir) = match &c.lift {
                Some(l) => {
                    let sig = l.ci_low > 0.0 || l.ci_high < 0.0;
                    let up = l.estimate > 0.0;
                    (
                        sig,
                        if !sig {
                            "none"
                        } else if up != mr.inverse {
                            "better"
                        } else {
                            "worse"
                        },
                    )
                }
                None => (false, "none"),
            };
            c.significant = sig;
            c.direction = dir.into();
            c.error = error.map(|e| e.to_string());
            let key = if o.arms[o.control] == c.baseline {
                c.treatment.clone()
            } else {
                format!("{}_vs_{}", c.treatment, c.baseline)
            };
            figures.entry(mr.name.clone()).or_default().insert(
                key,
                Figures {
                    lift: c.lift.as_ref().map(|l| l.estimate),
                    lift_ci_low: c.lift.as_ref().map(|l| l.ci_low),
                    lift_ci_high: c.lift.as_ref().map(|l| l.ci_high),
                    p: c.lift.as_ref().map(|l| l.p),
                    p_adjusted: c.lift.as_ref().and_then(|l| l.p_adjusted),
                    chance_to_win: c.bayes.as_ref().map(|b| b.chance_to_win),
                    significant: u8::from(sig),
                },
            );
            mr.comparisons.push(c);
        }
        out_metrics.push(mr);
    }
    let mut r = ExperimentReport {
        engine: o.engine,
        alpha: o.alpha,
        correction: if corrected {
            o.correction
        } else {
            Correction::None
        },
        window: format_ms(o.window_ms),
        lookback: format_ms(o.lookback_ms),
        sequential_tuning: (o.engine == Engine::Sequential).then_some(o.n_star),
        prior: if o.engine == Engine::Bayesian {
            o.prior
        } else {
            None
        },
        assignment: accounting,
        arms,
        srm,
        metrics: out_metrics,
        figures,
        allocation: None,
        breakdown: None,
        uplift: Vec::new(),
        verdict: String::new(),
    };
    if let Some((mi, m)) = s.metrics.iter().enumerate().find(|(_, m)| !m.guardrail) {
        let arms = &sums[mi];
        if arms.iter().all(|a| a.n() >= super::allocate::MIN_USERS) {
            let binary = resolved[mi].binary();
            let means: Vec<f64> = arms.iter().map(Stat::mean).collect();
            let sds: Vec<f64> = arms
                .iter()
                .map(|a| (a.var(binary) / a.n() as f64).sqrt())
                .collect();
            if sds.iter().all(|&x| x > 0.0) {
                r.allocation = Some(super::allocate::allocate(
                    &m.name,
                    &means,
                    &sds,
                    m.inverse,
                    super::allocate::DEFAULT_FLOOR,
                ));
            }
        }
    }
    let verdicts: Vec<Vec<String>> = r
        .metrics
        .iter()
        .map(|m| {
            m.comparisons
                .iter()
                .map(|c| plain(&comparison_pieces(m, c, &r)))
                .collect()
        })
        .collect();
    for (m, vs) in r.metrics.iter_mut().zip(verdicts) {
        for (c, v) in m.comparisons.iter_mut().zip(vs) {
            c.verdict = v;
        }
    }
    r.verdict = plain(&overall_pieces(&r));
    let goal: Vec<(String, &Resolved)> = s
        .metrics
        .iter()
        .zip(&resolved)
        .filter(|(m, _)| !m.guardrail)
        .map(|(m, res)| (m.name.clone(), res))
        .collect();
    let by_column = |column: usize| {
        super::breakdown::breakdown(
            t,
            &range_of,
            &users,
            &super::breakdown::Spec {
                column,
                arms: &o.arms,
                pairs: &o.pairs,
                metrics: &goal,
                window_ms: o.window_ms,
                lookback_ms: o.lookback_ms,
                engines: o.engines(),
            },
        )
    };
    if let Some(by) = &s.breakdown {
        let column = crate::predicate::column(t, columns, by, "experiment.breakdown")?;
        r.breakdown = Some(by_column(column));
    }
    // A column the data lacks is the asking analysis's to report.
    let impact: Vec<super::breakdown::Breakdown> = o
        .impact_by
        .iter()
        .filter(|c| s.breakdown.as_ref() != Some(*c))
        .filter_map(|c| t.props.iter().position(|p| &p.name == c))
        .map(by_column)
        .collect();
    let mut uplift_scores = Vec::new();
    if s.uplift.unwrap_or(false) {
        let k = s.uplift_k.unwrap_or(0.3);
        let seed = s.seed.unwrap_or(0);
        for (mi, (m, res)) in s.metrics.iter().zip(&resolved).enumerate() {
            if m.guardrail || !res.binary() {
                continue;
            }
            for &(ti, bi) in &o.pairs {
                let rows: Vec<super::uplift::Row> = users
                    .iter()
                    .filter(|u| u.arm == ti || u.arm == bi)
                    .filter_map(|u| {
                        let rg = range_of[u.user as usize].clone()?;
                        let start = rg.start + t.ts[rg.clone()].partition_point(|&x| x < u.at);
                        let end = rg.start
                            + t.ts[rg.clone()]
                                .partition_point(|&x| x <= u.at.saturating_add(o.window_ms));
                        Some(super::uplift::Row {
                            user: u.user,
                            pre: (rg.start, start),
                            at: u.at,
                            first: t.ts[rg.start],
                            treated: u.arm == ti,
                            y: res.value_of(t, start..end) > 0.0,
                        })
                    })
                    .collect();
                let (scored, features) = super::uplift::score(t, inputs.sessions, &rows, seed)?;
                let (wt, wb) = (o.weights[ti], o.weights[bi]);
                let propensity = if wt + wb > 0.0 { wt / (wt + wb) } else { 0.5 };
                r.uplift.push(super::uplift::evaluate(
                    &m.name,
                    &o.arms[ti],
                    &o.arms[bi],
                    &rows,
                    &scored,
                    features,
                    k,
                    seed,
                    propensity,
                    o.alpha,
                ));
                uplift_scores.push(UpliftScores {
                    metric: m.name.clone(),
                    treatment: o.arms[ti].clone(),
                    baseline: o.arms[bi].clone(),
                    scores: scored,
                });
            }
            let _ = mi;
        }
    }
    Ok(Analyzed {
        report: r,
        uplift_scores,
        impact,
    })
}
