//! Training: labels → candidates → features → split → cross-validation →
//! final fit → hold-out evaluation → explanations → scores.

use ndarray::Array2;

use super::explain::{self, EventCorrelation, FeatureExplanation};
use super::interventions::{self, Stager};
use super::label::{Outcome, Status, UserCut};
use super::metrics::{self, Metrics, MetricsSd};
use super::model::{self, ClassWeight, Fingerprint, Linear, ModelFeature, ModelFile, ModelMetrics};
use super::report::*;
use super::score::{cuts, resolve_label, score};
use super::{FOLDS, L2_GRID, MIN_FEATURE_USERS, Scores, TrainOptions, fingerprint, split};
use crate::error::DataError;
use crate::features::extract::{numeric_events, units_per_event, units_per_value};
use crate::features::scale::{self, Stats, standardize};
use crate::features::{Events, Extractor, FeatureDef, RowScratch, Transform, transform};
use crate::ingest::{EventTable, FileInfo};
use crate::predicate::Predicate;
use crate::progress::Progress;
use crate::sessions::Sessions;
use crate::stats::round6;

// ---------------------------------------------------------------------------
// Training.

/// What training produces.
pub struct Trained {
    /// model.json's text, exactly as written.
    pub model_json: String,
    pub model: ModelFile,
    pub report: PropensityReport,
    /// Every user scored with the saved model (as `score` would).
    pub scores: Scores,
    /// The standardized matrix of the labeled users (for --features-out).
    pub matrix: FeatureMatrix,
}

/// Labeled users' standardized features, for checking against other tools.
pub struct FeatureMatrix {
    pub names: Vec<String>,
    pub users: Vec<u32>,
    pub holdout: Vec<bool>,
    pub labels: Vec<bool>,
    /// Row-major, users × names.
    pub values: Array2<f64>,
}

/// At most this many event types of a numeric property get their own sum
/// and mean.
pub const MAX_NUMERIC_EVENTS: usize = 4;

/// Candidate features for the labeled users: base, funnel, milestones,
/// properties (configured, then automatic), numeric properties, then
/// per-event counts by support.
fn candidates(
    t: &EventTable,
    opts: &TrainOptions,
    labeled: &[Events],
) -> Result<Vec<FeatureDef>, DataError> {
    let mut defs = vec![
        FeatureDef::Events { per_session: false },
        FeatureDef::Sessions,
        FeatureDef::ActiveDays,
        FeatureDef::RecencyHours,
        FeatureDef::TenureHours,
    ];
    if let Some(f) = &opts.funnel {
        defs.push(FeatureDef::FunnelStep {
            steps: f.steps.len(),
        });
    }
    for m in &opts.milestones {
        crate::predicate::resolve(&m.event, t, &format!("[propensity] milestone {:?}", m.name))?;
        defs.push(FeatureDef::Milestone {
            name: m.name.clone(),
            event: m.event.clone(),
            phrase: m.phrase(),
        });
    }
    let n = labeled.len() as u64;
    let min_users = MIN_FEATURE_USERS.max(n / 100);
    let mut columns: Vec<usize> = Vec::new();
    for col in &opts.properties {
        let p = t.props.iter().position(|c| &c.name == col).ok_or_else(|| {
            DataError::Input(format!(
                "[propensity] properties: unknown property {col:?}{}",
                crate::predicate::suggest(col, t.props.iter().map(|c| c.name.as_str()))
            ))
        })?;
        columns.push(p);
    }
    let auto = opts
        .auto_features
        .then(|| crate::features::auto::detect(t, &[]));
    if let Some(a) = &auto {
        columns.extend(
            a.categorical
                .iter()
                .filter(|p| !columns.contains(p))
                .collect::<Vec<_>>(),
        );
    }
    for p in columns {
        let counts = units_per_value(t, p, labeled);
        let mut values: Vec<(u64, &str)> = (1..counts.len())
            .filter(|&c| counts[c] >= min_users)
            .map(|c| (counts[c], t.props[p].values.get(c as u32)))
            .collect();
        values.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        values.truncate(20);
        values.sort_by(|a, b| a.1.cmp(b.1));
        for (_, v) in values {
            defs.push(FeatureDef::Property {
                column: t.props[p].name.clone(),
                value: v.to_string(),
            });
        }
    }
    // Numeric properties: sum and mean over all events that carry them,
    // then over each frequent event type that does.
    for &p in auto.iter().flat_map(|a| &a.numeric) {
        let column = t.props[p].name.clone();
        let events = std::iter::once(None).chain(
            numeric_events(t, p, labeled, MAX_NUMERIC_EVENTS)
                .into_iter()
                .map(Some),
        );
        for event in events {
            defs.push(FeatureDef::NumericSum {
                column: column.clone(),
                event: event.clone(),
            });
            defs.push(FeatureDef::NumericMean {
                column: column.clone(),
                event,
            });
        }
    }
    // Events already named by a target or a plain milestone are not counted again.
    let mut skip: Vec<&str> = opts
        .milestones
        .iter()
        .filter(|m| matches!(m.event, Predicate::Event(_)))
        .filter_map(|m| m.event.event())
        .collect();
    if let Outcome::Conversion {
        target: Predicate::Event(e),
        ..
    } = &opts.label.outcome
    {
        skip.push(e);
    }
    let support = units_per_event(t, labeled);
    let mut events: Vec<(u64, &str)> = (0..support.len())
        .filter(|&c| support[c] >= MIN_FEATURE_USERS)
        .map(|c| (support[c], t.event_names.get(c as u32)))
        .filter(|(_, name)| !skip.contains(name))
        .collect();
    events.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    events.truncate(opts.max_event_features);
    events.sort_by(|a, b| a.1.cmp(b.1));
    defs.extend(events.into_iter().map(|(_, e)| FeatureDef::EventCount {
        event: e.to_string(),
        per_session: false,
        label: None,
    }));
    Ok(defs)
}

/// A fold's scaler: a column constant in the fold's training rows is
/// centred only.
fn fold_scaler(x: &Array2<f64>, rows: &[usize]) -> Stats {
    let mut s = Stats::fit(x, rows);
    s.sd.iter_mut()
        .filter(|v| **v == 0.0)
        .for_each(|v| *v = 1.0);
    s
}

/// One fold's test positions, predictions per alpha and fits per alpha.
type FoldOut = (Vec<usize>, Vec<Vec<f64>>, Vec<Linear>);
/// Out-of-fold predictions per alpha, and the fits `[fold][alpha]`.
type CvOut = (Vec<Vec<f64>>, Vec<Vec<Linear>>);

/// Out-of-fold predictions, per alpha (in the order given), for the
/// training rows; and each fold's fits, `[fold][alpha]`.
fn cross_validate(
    x: &Array2<f64>,
    y: &[bool],
    train: &[usize],
    fold_of: &[usize],
    cols: &[usize],
    alphas: &[f64],
    repeat: usize,
) -> Result<CvOut, DataError> {
    let results = crate::parallel::map(FOLDS, |f| -> Result<FoldOut, DataError> {
        let fit_rows: Vec<usize> = train
            .iter()
            .zip(fold_of)
            .filter(|&(_, &k)| k != f)
            .map(|(&r, _)| r)
            .collect();
        let test_pos: Vec<usize> = (0..train.len()).filter(|&i| fold_of[i] == f).collect();
        let test_rows: Vec<usize> = test_pos.iter().map(|&i| train[i]).collect();
        let sc = fold_scaler(x, &fit_rows);
        let xf = sc.transform(x, &fit_rows, cols);
        let yf: Vec<bool> = fit_rows.iter().map(|&r| y[r]).collect();
        let xt = sc.transform(x, &test_rows, cols);
        let fits = model::fit_path(xf.view(), &yf, alphas, repeat)?;
        let preds = fits.iter().map(|m| m.predict(&xt.view())).collect();
        Ok((test_pos, preds, fits))
    });
    let mut oof = vec![vec![0.0; train.len()]; alphas.len()];
    let mut fold_fits = Vec::with_capacity(FOLDS);
    for r in results {
        let (pos, preds, fits) = r?;
        for (a, p) in preds.into_iter().enumerate() {
            for (&i, v) in pos.iter().zip(p) {
                oof[a][i] = v;
            }
        }
        fold_fits.push(fits);
    }
    Ok((oof, fold_fits))
}

/// The users with a known label: their cutoffs and labels, and the counts
/// of the others.
struct Labels {
    all: Vec<UserCut>,
    /// Indices into `all` of the labeled users, in table order.
    labeled: Vec<usize>,
    y: Vec<bool>,
    positives: usize,
    converted_before: u64,
    no_cutoff: u64,
    censored: u64,
    /// Labeled users left out for want of consent (None: no purpose).
    without_consent: Option<u64>,
}

fn labels(t: &EventTable, opts: &TrainOptions) -> Result<Labels, DataError> {
    let label = resolve_label(&opts.label, t, true)?;
    // The config is checked against the data before any work.
    for m in &opts.milestones {
        crate::predicate::resolve(&m.event, t, &format!("[propensity] milestone {:?}", m.name))?;
    }
    Stager::new(t, &opts.stages)?;
    interventions::resolve(&opts.rules, &opts.stages, &opts.milestones, t)?;
    let all = cuts(t, &label);
    let mut without_consent = opts.consent.as_ref().map(|_| 0u64);
    let labeled: Vec<usize> = (0..all.len())
        .filter(|&i| matches!(all[i].status, Status::Labeled(_)))
        .filter(|&i| {
            let Some(c) = &opts.consent else { return true };
            let ok = c
                .allowed
                .contains(t.user_names.get(t.user[all[i].range.start]));
            if !ok && let Some(n) = &mut without_consent {
                *n += 1;
            }
            ok
        })
        .collect();
    let y: Vec<bool> = labeled
        .iter()
        .map(|&i| all[i].status == Status::Labeled(true))
        .collect();
    let positives = y.iter().filter(|&&b| b).count();
    let count = |s: Status| all.iter().filter(|c| c.status == s).count() as u64;
    let out = Labels {
        converted_before: count(Status::ConvertedBefore),
        no_cutoff: count(Status::NoCutoff),
        censored: count(Status::Censored),
        without_consent,
        positives,
        labeled,
        y,
        all,
    };
    let negatives = out.y.len() - positives;
    if positives < 2 * FOLDS || negatives < 2 * FOLDS {
        return Err(DataError::Insufficient(format!(
            "too few labeled users to train: {} positive and {} negative (need at least {} of each); \
             {} users have no cutoff, {} did the target before the cutoff, {} are censored (label window past the end of the data){}",
            positives,
            negatives,
            2 * FOLDS,
            out.no_cutoff,
            out.converted_before,
            out.censored,
            if out.censored > 0 {
                "; a shorter --horizon (or --horizon all) labels more users"
            } else {
                ""
            }
        )));
    }
    Ok(out)
}

/// The candidate features and their values (transformed) for the labeled
/// users, one row each.
fn feature_matrix(
    t: &EventTable,
    sessions: &Sessions,
    opts: &TrainOptions,
    cuts: &[&UserCut],
    spans: &[Events],
) -> Result<(Vec<FeatureDef>, Array2<f64>), DataError> {
    let defs = candidates(t, opts, spans)?;
    let transforms: Vec<Transform> = defs.iter().map(FeatureDef::transform).collect();
    let (ex, _) = Extractor::new(t, sessions, &defs, opts.funnel.as_ref().into())?;
    let d = defs.len();
    // Rows are independent: chunks are extracted on every core, in order.
    let parts = crate::parallel::map_ranges(cuts.len(), |range| {
        let chunk = &cuts[range];
        let mut values = vec![0.0; chunk.len() * d];
        let mut scratch = RowScratch::default();
        for (row, c) in values.chunks_exact_mut(d.max(1)).zip(chunk) {
            ex.row(&c.unit(t), &mut scratch, row);
            for (v, &tr) in row.iter_mut().zip(&transforms) {
                *v = transform(tr, *v);
            }
        }
        values
    });
    let x = Array2::from_shape_vec((cuts.len(), d), parts.concat())
        .map_err(|e| DataError::Input(format!("internal: feature matrix: {e}")))?;
    Ok((defs, x))
}

/// The split, the training rows' scaler and the features kept.
struct Prepared {
    is_holdout: Vec<bool>,
    train_rows: Vec<usize>,
    hold_rows: Vec<usize>,
    scaler: Stats,
    /// Kept feature columns.
    cols: Vec<usize>,
    constant: Vec<String>,
    redundant: Vec<Redundant>,
    /// Times each row of the rarer class enters the fit.
    repeat: usize,
}

fn prepare(
    x: &Array2<f64>,
    y: &[bool],
    ids: &[&str],
    defs: &[FeatureDef],
    opts: &TrainOptions,
) -> Result<Prepared, DataError> {
    let is_holdout = split::holdout(y, ids, opts.holdout, opts.seed);
    let train_rows: Vec<usize> = (0..y.len()).filter(|&i| !is_holdout[i]).collect();
    let hold_rows: Vec<usize> = (0..y.len()).filter(|&i| is_holdout[i]).collect();
    let scaler = Stats::fit(x, &train_rows);
    let d = x.ncols();
    let nonconstant = scale::varying(x, &train_rows, &(0..d).collect::<Vec<_>>());
    let constant = (0..d)
        .filter(|c| !nonconstant.contains(c))
        .map(|c| defs[c].name())
        .collect();
    let (cols, redundancies) = scale::prune_redundant(
        &scaler.transform(x, &train_rows, &nonconstant),
        &nonconstant,
    );
    if cols.is_empty() {
        return Err(DataError::Input(
            "no feature varies across the training users".into(),
        ));
    }
    let redundant = redundancies
        .iter()
        .map(|r| Redundant {
            name: defs[r.dropped].name(),
            kept: defs[r.kept].name(),
            correlation: round6(r.correlation),
        })
        .collect();
    let pos = train_rows.iter().filter(|&&r| y[r]).count();
    let neg = train_rows.len() - pos;
    let repeat = match opts.class_weight {
        ClassWeight::None => 1,
        ClassWeight::Balanced => {
            ((pos.max(neg) as f64 / pos.min(neg).max(1) as f64).round() as usize).max(1)
        }
    };
    Ok(Prepared {
        is_holdout,
        train_rows,
        hold_rows,
        scaler,
        cols,
        constant,
        redundant,
        repeat,
    })
}

/// What cross-validation chose: the L2 strength, the threshold, the folds'
/// metrics, and a start for the final fit.
struct Selected {
    alpha: f64,
    grid: Vec<GridPoint>,
    threshold: f64,
    threshold_by: &'static str,
    folds: Vec<Metrics>,
    mean: Metrics,
    sd: MetricsSd,
    start: Linear,
}

fn select(
    x: &Array2<f64>,
    y: &[bool],
    ids: &[&str],
    prep: &Prepared,
    opts: &TrainOptions,
) -> Result<Selected, DataError> {
    let y_train: Vec<bool> = prep.train_rows.iter().map(|&r| y[r]).collect();
    let train_ids: Vec<&str> = prep.train_rows.iter().map(|&r| ids[r]).collect();
    let fold_of = split::folds(&y_train, &train_ids, FOLDS, opts.seed);
    let alphas: Vec<f64> = match opts.l2 {
        Some(a) => vec![a],
        None => L2_GRID.to_vec(),
    };
    let (oof, fold_fits) = cross_validate(
        x,
        y,
        &prep.train_rows,
        &fold_of,
        &prep.cols,
        &alphas,
        prep.repeat,
    )?;
    let fold_metrics = |p: &[f64], thr: f64| -> Vec<Metrics> {
        (0..FOLDS)
            .map(|f| {
                let idx: Vec<usize> = (0..y_train.len()).filter(|&i| fold_of[i] == f).collect();
                let pf: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
                let yf: Vec<bool> = idx.iter().map(|&i| y_train[i]).collect();
                Metrics::of(&pf, &yf, thr)
            })
            .collect()
    };
    let mut grid = Vec::new();
    let mut best = 0;
    let mut best_loss = f64::INFINITY;
    for (a, p) in oof.iter().enumerate() {
        let ms = fold_metrics(p, 0.5);
        let (mean, _) = Metrics::mean_sd(&ms);
        let loss = ms.iter().map(|m| m.log_loss).sum::<f64>() / FOLDS as f64;
        // Strongest regularization first: ties keep the simpler model.
        if loss < best_loss - 1e-9 {
            best_loss = loss;
            best = a;
        }
        grid.push(GridPoint {
            l2: alphas[a],
            sklearn_c: round6(1.0 / alphas[a]),
            cv_log_loss: mean.log_loss,
            cv_auc: mean.auc,
        });
    }
    let (threshold, threshold_by) = match opts.threshold {
        Some(v) => (v, "--threshold"),
        None => (
            metrics::best_f1_threshold(&oof[best], &y_train),
            "best F1 on out-of-fold predictions",
        ),
    };
    let folds = fold_metrics(&oof[best], threshold);
    let (mean, sd) = Metrics::mean_sd(&folds);
    // The final fit starts from the folds' average at this alpha: the same
    // problem on a quarter more rows, so Newton has little left to do.
    let start = Linear::mean_of(&fold_fits.iter().map(|f| &f[best]).collect::<Vec<_>>());
    Ok(Selected {
        alpha: alphas[best],
        grid,
        threshold,
        threshold_by,
        folds,
        mean,
        sd,
        start,
    })
}

/// The final fit and its hold-out evaluation against the base-rate model.
struct Evaluated {
    fitted: Linear,
    p_hold: Vec<f64>,
    y_hold: Vec<bool>,
    holdout: Metrics,
    auc_ci: Option<(f64, f64)>,
    base_rate_model: Metrics,
    beats: bool,
    verdict: String,
}

fn evaluate(
    x: &Array2<f64>,
    y: &[bool],
    prep: &Prepared,
    sel: &Selected,
) -> Result<Evaluated, DataError> {
    let y_train: Vec<bool> = prep.train_rows.iter().map(|&r| y[r]).collect();
    let xs_train = prep.scaler.transform(x, &prep.train_rows, &prep.cols);
    let fitted = model::fit(
        xs_train.view(),
        &y_train,
        sel.alpha,
        prep.repeat,
        Some(&sel.start),
    )?;
    drop(xs_train);
    let xs_hold = prep.scaler.transform(x, &prep.hold_rows, &prep.cols);
    let p_hold = fitted.predict(&xs_hold.view());
    let y_hold: Vec<bool> = prep.hold_rows.iter().map(|&r| y[r]).collect();
    let holdout = Metrics::of(&p_hold, &y_hold, sel.threshold);
    let auc_ci = metrics::auc_ci(&p_hold, &y_hold);
    // The base-rate model is the intercept-only model fitted the same way:
    // with class weights, the weighted training base rate.
    let pos = y_train.iter().filter(|&&b| b).count();
    let neg = y_train.len() - pos;
    let (w_pos, w_neg) = match prep.repeat {
        1 => (pos, neg),
        k if pos <= neg => (pos * k, neg),
        k => (pos, neg * k),
    };
    let rate = w_pos as f64 / (w_pos + w_neg) as f64;
    let base_rate_model = Metrics::of(&vec![rate; y_hold.len()], &y_hold, sel.threshold);
    // Signal only when chance cannot explain the AUC: its interval lies
    // above 0.5, and the probabilities beat the base rate's.
    let beats = auc_ci.is_some_and(|(lo, _)| lo > 0.5)
        && holdout.log_loss < base_rate_model.log_loss
        && holdout.brier < base_rate_model.brier;
    let ci = auc_ci.map_or(String::new(), |(lo, hi)| {
        format!(" (95% CI {lo:.3}–{hi:.3})")
    });
    let verdict = if beats {
        format!(
            "The model beats the base-rate model on the hold-out: AUC {:.3}{ci} vs 0.5, log loss {:.4} vs {:.4}, Brier {:.4} vs {:.4}.",
            holdout.auc,
            holdout.log_loss,
            base_rate_model.log_loss,
            holdout.brier,
            base_rate_model.brier
        )
    } else {
        format!(
            "The model found no signal: on the hold-out its AUC {:.3}{ci} is not clearly above 0.5 or its probabilities do not beat the base rate (log loss {:.4} vs {:.4}, Brier {:.4} vs {:.4}); its scores and risk bands carry no usable information, do not act on them.",
            holdout.auc,
            holdout.log_loss,
            base_rate_model.log_loss,
            holdout.brier,
            base_rate_model.brier
        )
    };
    Ok(Evaluated {
        fitted,
        p_hold,
        y_hold,
        holdout,
        auc_ci,
        base_rate_model,
        beats,
        verdict,
    })
}

/// Column `c`'s values over `rows` at 0, 1, …, 100 % (nearest rank).
fn percentiles(x: &Array2<f64>, rows: &[usize], c: usize) -> Vec<f64> {
    let mut v: Vec<f64> = rows.iter().map(|&r| x[[r, c]]).collect();
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    (0..=100)
        .map(|k| crate::stats::nearest_rank(&v, k as f64 / 100.0))
        .collect()
}

fn model_file(
    x: &Array2<f64>,
    opts: &TrainOptions,
    defs: &[FeatureDef],
    prep: &Prepared,
    sel: &Selected,
    ev: &Evaluated,
    training_data: Fingerprint,
) -> ModelFile {
    let features = prep
        .cols
        .iter()
        .zip(&ev.fitted.w)
        .map(|(&c, &w)| ModelFeature {
            name: defs[c].name(),
            definition: defs[c].clone(),
            mean: prep.scaler.mean[c],
            sd: prep.scaler.sd[c],
            coefficient: w,
            percentiles: percentiles(x, &prep.train_rows, c),
        })
        .collect();
    ModelFile {
        format: model::FORMAT.into(),
        format_version: model::FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        label: opts.label.clone(),
        label_description: opts.label.describe(),
        features,
        intercept: ev.fitted.b,
        threshold: sel.threshold,
        l2: sel.alpha,
        sklearn_c: 1.0 / sel.alpha,
        class_weight: opts.class_weight,
        risk_bands: opts.bands,
        milestones: opts.milestones.clone(),
        properties: opts.properties.clone(),
        funnel: opts.funnel.clone(),
        stages: opts.stages.clone(),
        interventions: opts.rules.clone(),
        training_data,
        consent: None,
        metrics: ModelMetrics {
            holdout: ev.holdout.clone(),
            base_rate_model: ev.base_rate_model.clone(),
            cv_mean: sel.mean.clone(),
            cv_sd: sel.sd.clone(),
            beats_base_rate: ev.beats,
        },
    }
}

/// Each feature explained, largest |coefficient| first (ties by name).
fn explanations(model: &ModelFile, verb: &str) -> Vec<FeatureExplanation> {
    let mut out: Vec<FeatureExplanation> = model
        .features
        .iter()
        .map(|f| explain::explain(&f.definition, f.mean, f.sd, f.coefficient, verb))
        .collect();
    out.sort_by(|a, b| {
        b.coefficient
            .abs()
            .total_cmp(&a.coefficient.abs())
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// PostHog's correlation of every event (before the cutoff) with the label.
fn event_correlations(
    t: &EventTable,
    spans: &[Events],
    y: &[bool],
) -> (Vec<EventCorrelation>, bool) {
    let pick = |want: bool| -> Vec<Events> {
        spans
            .iter()
            .zip(y)
            .filter(|&(_, &b)| b == want)
            .map(|(s, _)| *s)
            .collect()
    };
    let (pos, neg) = (pick(true), pick(false));
    let names: Vec<String> = t.event_names.iter().map(str::to_string).collect();
    let correlations = explain::correlations(
        &names,
        &units_per_event(t, &pos),
        &units_per_event(t, &neg),
        pos.len() as u64,
        neg.len() as u64,
    );
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (correlations, np > 10.0 * nn || nn > 10.0 * np)
}

/// Trains, evaluates and explains a model; scores every user with it.
pub fn train(
    t: &EventTable,
    sessions: &Sessions,
    files: &[FileInfo],
    opts: &TrainOptions,
    progress: &Progress,
) -> anyhow::Result<Trained> {
    progress.stage("labels at the cutoff");
    let lab = labels(t, opts)?;
    let cuts: Vec<&UserCut> = lab.labeled.iter().map(|&i| &lab.all[i]).collect();
    let ids: Vec<&str> = cuts
        .iter()
        .map(|c| t.user_names.get(t.user[c.range.start]))
        .collect();
    let spans: Vec<Events> = cuts
        .iter()
        .map(|c| Events::Range(c.range.start, c.pre_end))
        .collect();

    progress.stage("features before the cutoff");
    let (defs, x) = feature_matrix(t, sessions, opts, &cuts, &spans)?;
    let y = &lab.y;
    let prep = prepare(&x, y, &ids, &defs, opts)?;

    progress.stage("5-fold cross-validation");
    let sel = select(&x, y, &ids, &prep, opts)?;

    progress.stage("final fit and hold-out");
    let ev = evaluate(&x, y, &prep, &sel)?;
    let fp = fingerprint(t, files);
    let mut model = model_file(&x, opts, &defs, &prep, &sel, &ev, fp.clone());
    model.consent = opts.consent.as_ref().map(|c| super::consent::ModelConsent {
        purpose: c.purpose.clone(),
        source: c.source.clone(),
        without_consent: lab.without_consent.unwrap_or(0),
    });
    // Everything downstream uses the model as read back from its JSON, so
    // `score` on the same data reproduces these scores bit for bit.
    let model_json = serde_json::to_string_pretty(&model)? + "\n";
    let model = ModelFile::from_json(&model_json, "model.json")?;

    progress.stage("scoring every user");
    let scores = score(t, sessions, &model, &model.stages, &model.interventions)?;
    let (correlations, correlations_skewed) = event_correlations(t, &spans, y);
    let mut report = PropensityReport {
        kind: if opts.label.is_churn() {
            "churn"
        } else {
            "conversion"
        }
        .into(),
        label: opts.label.describe(),
        label_definition: opts.label.clone(),
        population: Population {
            users: lab.all.len() as u64,
            labeled: y.len() as u64,
            positives: lab.positives as u64,
            base_rate: round6(lab.positives as f64 / y.len() as f64),
            converted_before_cutoff: lab.converted_before,
            no_cutoff: lab.no_cutoff,
            censored: lab.censored,
            without_consent: lab.without_consent,
            purpose: opts.consent.as_ref().map(|c| c.purpose.clone()),
            train: prep.train_rows.len() as u64,
            holdout: prep.hold_rows.len() as u64,
        },
        features: explanations(&model, opts.label.verb()),
        constant_features: prep.constant.clone(),
        redundant_features: prep.redundant.clone(),
        regularization: Regularization {
            l2: sel.alpha,
            sklearn_c: round6(1.0 / sel.alpha),
            chosen_by: if opts.l2.is_some() {
                "--l2"
            } else {
                "5-fold CV (lowest mean log loss)"
            }
            .into(),
            grid: sel.grid.clone(),
            class_weight: opts.class_weight,
            minority_repeat: prep.repeat as u64,
        },
        threshold: ThresholdChoice {
            value: round6(sel.threshold),
            chosen_by: sel.threshold_by.into(),
        },
        cv: CvReport {
            folds: sel.folds.clone(),
            mean: sel.mean.clone(),
            sd: sel.sd.clone(),
        },
        calibration: metrics::calibration(&ev.p_hold, &ev.y_hold),
        lift: metrics::lift(&ev.p_hold, &ev.y_hold),
        holdout_auc_ci: ev.auc_ci.map(|(lo, hi)| [round6(lo), round6(hi)]),
        holdout: ev.holdout.clone(),
        base_rate_model: ev.base_rate_model.clone(),
        beats_base_rate: ev.beats,
        verdict: ev.verdict.clone(),
        risk: RiskDefinition {
            definition: opts.label.risk_definition(),
            high: opts.bands.high,
            medium: opts.bands.medium,
        },
        correlations,
        correlations_skewed,
        scoring: scores.summary.clone(),
        training_data: fp,
        feature_summaries: Vec::new(),
    };
    let matrix = standardized(
        &x,
        &prep.cols,
        &model,
        &cuts,
        t,
        prep.is_holdout,
        lab.y.clone(),
    );
    report.feature_summaries = feature_summaries(&model, &matrix, &ev.p_hold);
    Ok(Trained {
        model_json,
        model,
        report,
        scores,
        matrix,
    })
}

/// Each feature's raw values over the labeled users (back from the
/// standardized matrix), then the hold-out scores, summarized for `diff`.
fn feature_summaries(
    model: &ModelFile,
    m: &FeatureMatrix,
    p_hold: &[f64],
) -> Vec<crate::drift::summary::ValueSummary> {
    let mut out: Vec<_> = model
        .features
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let raw: Vec<f64> = m
                .values
                .column(k)
                .iter()
                .map(|z| {
                    // The round trip through the scaler leaves float noise
                    // that would split one count into several values.
                    let x = crate::features::inverse(f.definition.transform(), z * f.sd + f.mean);
                    (x * 1e9).round() / 1e9
                })
                .collect();
            crate::drift::summary::summarize(&f.name, &raw)
        })
        .collect();
    out.push(crate::drift::summary::summarize("score", p_hold));
    out
}

/// The labeled users' matrix standardized with the saved model's scaler.
fn standardized(
    x: &Array2<f64>,
    cols: &[usize],
    model: &ModelFile,
    cuts: &[&UserCut],
    t: &EventTable,
    holdout: Vec<bool>,
    labels: Vec<bool>,
) -> FeatureMatrix {
    let mut values = Array2::<f64>::zeros((cuts.len(), model.features.len()));
    for (i, mut out) in values.rows_mut().into_iter().enumerate() {
        for ((o, &c), f) in out.iter_mut().zip(cols).zip(&model.features) {
            *o = standardize(x[[i, c]], f.mean, f.sd);
        }
    }
    FeatureMatrix {
        names: model.features.iter().map(|f| f.name.clone()).collect(),
        users: cuts.iter().map(|c| t.user[c.range.start]).collect(),
        holdout,
        labels,
        values,
    }
}
