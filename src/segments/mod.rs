//! Abandonment segments: behaviour features per session or user, k-means
//! (ours, Hamerly-bounded; see [`kmeans`]) with k picked by silhouette, and
//! named profiles that say where each segment leaves the funnel.
//! Definitions and rules: docs/segments.md.
//!
//! The pipeline, linfa style (params → check → fit → fitted model):
//! [`features::extract`] → [`scale::Scaler::fit`] → [`kmeans::fit`] per k
//! (on the silhouette sample when `--k auto` has more units) →
//! [`silhouette::scores`] → refit of the chosen k → profiles and [`naming`]
//! → [`SegmentsReport`].
//! [`analyze`] runs it; models never print.

pub mod analysis;
pub mod ari;
pub mod config;
pub mod features;
pub mod kmeans;
pub mod naming;
pub mod output;
mod profile;
pub mod scale;
pub mod silhouette;

use std::time::Instant;

use anyhow::Result;
use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, UsageError};
use crate::features::{UnitKind, Units};
use crate::funnel::{self, FunnelOptions, Per};
use crate::ingest::EventTable;
use crate::sessions::Sessions;
pub use config::{KChoice, SegmentsSection};
use features::RoleNames;
use kmeans::{KMeansFit, KMeansParams};
use scale::{DroppedFeature, ScaledColumn, Scaler};

/// What one row of the feature matrix describes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Session,
    User,
}

/// Which units are clustered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum On {
    /// Units that reached the from-step without converting.
    Abandoned,
    /// Every unit.
    All,
}

/// At most this many k-means restarts: each is a full fit.
pub const MAX_N_INIT: usize = 1000;
/// The most segments one run fits.
pub const MAX_K: usize = 100;
/// At most this many units in the silhouette sample: its cost grows with
/// the square of the sample.
pub const MAX_SILHOUETTE_SAMPLE: usize = 100_000;

/// The k values `--k auto` tries.
pub const K_AUTO: std::ops::RangeInclusive<usize> = 2..=8;

#[derive(Debug, Clone)]
pub struct SegmentsOptions {
    pub unit: Unit,
    pub on: On,
    /// The funnel for `furthest_step` and `--on abandoned` (its `per` is set
    /// from `unit`).
    pub funnel: Option<FunnelOptions>,
    /// 1-based step a unit must reach to count as abandoning.
    pub from_step: usize,
    pub k: KChoice,
    pub seed: u64,
    pub n_init: usize,
    pub silhouette_sample: usize,
    pub roles: RoleNames,
    /// Put wall-clock timings in the report (they make it differ run to run).
    pub timings: bool,
    /// Add the automatic property features (docs/features.md).
    pub auto_features: bool,
}

impl Default for SegmentsOptions {
    fn default() -> Self {
        SegmentsOptions {
            unit: Unit::User,
            on: On::Abandoned,
            funnel: None,
            from_step: 2,
            k: KChoice::Auto,
            seed: 0,
            n_init: 10,
            silhouette_sample: silhouette::MAX_SAMPLE,
            roles: RoleNames::default(),
            timings: false,
            auto_features: true,
        }
    }
}

impl SegmentsOptions {
    /// The flags (as a section) over journey.toml's `[segments]`, with the
    /// defaults; `funnel` is the funnel the units are measured against.
    pub fn resolve(
        flags: &SegmentsSection,
        cfg: &crate::config::JourneyConfig,
        funnel: Option<FunnelOptions>,
        origins: &mut crate::config::Origins,
    ) -> SegmentsOptions {
        let file = cfg.segments.clone().unwrap_or_default();
        let src = cfg.source.as_ref();
        let d = SegmentsOptions::default();
        SegmentsOptions {
            unit: origins
                .pick(
                    "unit",
                    ("--unit", flags.unit),
                    ("segments.unit", file.unit),
                    src,
                )
                .unwrap_or(d.unit),
            on: origins
                .pick("on", ("--on", flags.on), ("segments.on", file.on), src)
                .unwrap_or(d.on),
            funnel,
            from_step: origins
                .pick(
                    "from_step",
                    ("--from-step", flags.from_step),
                    ("segments.from_step", file.from_step),
                    src,
                )
                .unwrap_or(d.from_step),
            k: origins
                .pick("k", ("--k", flags.k), ("segments.k", file.k), src)
                .unwrap_or(d.k),
            seed: origins
                .pick(
                    "seed",
                    ("--seed", flags.seed),
                    ("segments.seed", file.seed),
                    src,
                )
                .unwrap_or(d.seed),
            n_init: origins
                .pick(
                    "n_init",
                    ("--n-init", flags.n_init),
                    ("segments.n_init", file.n_init),
                    src,
                )
                .unwrap_or(d.n_init),
            silhouette_sample: origins
                .pick(
                    "silhouette_sample",
                    ("--silhouette-sample", flags.silhouette_sample),
                    ("segments.silhouette_sample", file.silhouette_sample),
                    src,
                )
                .unwrap_or(d.silhouette_sample),
            auto_features: cfg.auto_features(),
            ..d
        }
    }

    /// Checks the settings before any data is read.
    pub fn check(&self) -> Result<(), crate::config::ParamError> {
        use crate::config::ParamError;
        if !(1..=MAX_N_INIT).contains(&self.n_init) {
            return Err(ParamError::new(
                "n_init",
                format!("{} is not between 1 and {MAX_N_INIT}", self.n_init),
            ));
        }
        if !(2..=MAX_SILHOUETTE_SAMPLE).contains(&self.silhouette_sample) {
            return Err(ParamError::new(
                "silhouette_sample",
                format!(
                    "{} is not between 2 and {MAX_SILHOUETTE_SAMPLE}",
                    self.silhouette_sample
                ),
            ));
        }
        if let KChoice::Fixed(k) = self.k
            && !(2..=MAX_K).contains(&k)
        {
            return Err(ParamError::new(
                "k",
                format!(
                    "{k} is not between 2 and {MAX_K} (segments beyond that are too small to act on)"
                ),
            ));
        }
        if self.on == On::Abandoned {
            let Some(f) = &self.funnel else {
                return Err(ParamError::new(
                    "on",
                    "abandoned needs a funnel: pass --config journey.toml (with [funnel]) or --steps a,b,c, or use --on all",
                ));
            };
            let steps = f.steps.len();
            if steps < 2 {
                return Err(ParamError::new(
                    "on",
                    format!(
                        "abandoned needs a funnel of at least 2 steps (reach one, not convert at the last); this one has {steps}"
                    ),
                ));
            }
            if !(1..steps).contains(&self.from_step) {
                return Err(ParamError::new(
                    "from_step",
                    format!(
                        "{} is not between 1 and {} (the step before the last of {steps})",
                        self.from_step,
                        steps - 1
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The segments section of report.json.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SegmentsReport {
    pub unit: Unit,
    pub on: On,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funnel: Option<FunnelContext>,
    /// Units (users or sessions) in the data.
    pub units_in_data: u64,
    /// Units clustered (all of them, or the abandoning ones).
    pub units: u64,
    pub seed: u64,
    pub n_init: usize,
    /// The events and columns the role features read (`null`: none found).
    pub roles: RolesUsed,
    /// Kept features with the scaler: `scaled = (t(x) - center) / scale`.
    pub features: Vec<ScaledColumn>,
    pub dropped_features: Vec<DroppedFeature>,
    pub selection: Selection,
    /// Segments found (k, less any cluster that ended up empty).
    pub k: usize,
    /// Sum of squared distances of units to their segment's centroid (scaled space).
    pub inertia: f64,
    pub silhouette: Option<f64>,
    pub segments: Vec<Segment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FunnelContext {
    pub steps: Vec<String>,
    pub from_step: usize,
    /// The funnel's conversion window ("14d"); null when none applies (per
    /// session: the session bounds it).
    pub window: Option<String>,
    /// Abandoning units (on = abandoned) that have an event matching the
    /// last step all the same: outside the window or out of step order.
    /// They count as abandoning, as in the funnel's dropped counts; the
    /// report says how many.
    pub converted_outside_window: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RolesUsed {
    pub product_view_event: Option<String>,
    pub cart_add_event: Option<String>,
    pub checkout_event: Option<String>,
    pub page_column: Option<String>,
    pub product_column: Option<String>,
    pub device_column: Option<String>,
    pub channel_column: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Selection {
    /// "auto" (k = 2..8 by silhouette: the largest k within one standard
    /// error of the highest score) or "fixed".
    pub method: String,
    /// Points the silhouette was computed on (a seeded sample above 20,000).
    pub silhouette_sample: u64,
    /// Units each candidate k was fitted on: all of them, or with `--k auto`
    /// above the sample size the silhouette sample, the chosen k then refitted
    /// on all units from that fit's centroids (`tried` inertias and the
    /// report's `silhouette` are then the sample fits'; `inertia` is the refit's).
    pub fitted_on: u64,
    pub tried: Vec<KScore>,
    pub chosen_k: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct KScore {
    pub k: usize,
    pub inertia: f64,
    pub silhouette: Option<f64>,
    /// Standard error of the difference between this k's silhouette and the
    /// highest one, paired on the sample points (0 for the highest itself).
    pub se_vs_highest: Option<f64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Segment {
    /// 1-based; segments are numbered by size, largest first.
    pub segment: usize,
    pub name: String,
    pub persona: Option<String>,
    pub units: u64,
    pub share: f64,
    /// The 3 to 5 features that most set the segment apart.
    pub distinguishing: Vec<Distinguishing>,
    /// Every kept feature: centroid in original units, mean, z against everyone.
    pub profile: Vec<FeatureProfile>,
    /// Last events of the segment's units (their exit points), top 5.
    pub exits: Vec<ExitCount>,
    /// How far the segment's units got in the funnel (with a funnel).
    pub funnel_stops: Vec<StepStop>,
    /// The most common furthest step (ties: the earlier step).
    pub stops_at: Option<StepStop>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Distinguishing {
    pub feature: String,
    pub z: f64,
    pub direction: String,
    pub phrase: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FeatureProfile {
    pub feature: String,
    /// The centroid mapped back through the scaler (for log1p features a
    /// geometric-style mean; for one-hot levels the level's share).
    pub centroid: f64,
    /// Arithmetic mean of the raw values.
    pub mean: f64,
    /// (segment mean of t(x) − everyone's mean) / everyone's standard deviation.
    pub z: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ExitCount {
    pub event: String,
    pub units: u64,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StepStop {
    /// Furthest step reached: 0 = not even step 1; the last step = converted.
    pub step: usize,
    /// The step's label ("" for step 0).
    pub label: String,
    pub units: u64,
    /// Of the segment's units.
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Timings {
    pub funnel_s: f64,
    pub features_s: f64,
    pub scaling_s: f64,
    pub fits: Vec<FitTiming>,
    /// The chosen k's refit on all units (when candidates were fitted on the sample).
    pub refit_s: Option<f64>,
    pub silhouette_s: f64,
    pub profiles_s: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FitTiming {
    pub k: usize,
    pub seconds: f64,
}

/// The fitted model, as `--model-out` saves it: the scaler, the centroids
/// and the names, enough to place new units.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SegmentsModel {
    pub format: String,
    pub unit: Unit,
    pub on: On,
    pub seed: u64,
    pub n_init: usize,
    pub k: usize,
    pub features: Vec<ScaledColumn>,
    /// One row per segment, in the scaled space, in feature order.
    pub centroids: Vec<Vec<f64>>,
    pub names: Vec<String>,
    pub inertia: f64,
}

pub const MODEL_FORMAT: &str = "journeymap-segments-model/1";

/// Everything a run produces.
pub struct SegmentsResult {
    pub report: SegmentsReport,
    pub model: SegmentsModel,
    /// Per clustered unit: (user code, session number for session units).
    pub ids: Vec<(u32, Option<u32>)>,
    /// Per clustered unit: its segment, 0-based (segment number − 1).
    pub labels: Vec<u32>,
    /// The scaled feature matrix (what `--features-out` writes).
    pub matrix: Array2<f64>,
}

/// Rounded to 6 decimals, without a negative zero.
pub(crate) fn r6(x: f64) -> f64 {
    crate::stats::round6(x) + 0.0
}

fn r3(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

fn secs(t: Instant) -> f64 {
    r3(t.elapsed().as_secs_f64())
}

/// Runs the whole pipeline.
pub fn analyze(
    t: &EventTable,
    sessions: &Sessions,
    opts: &SegmentsOptions,
) -> Result<SegmentsResult> {
    analyze_with(t, sessions, opts, None)
}

/// [`analyze`], given the funnel already run on the same units (per user or
/// per session as `opts.unit`, no breakdown), so it is not run twice.
pub fn analyze_with(
    t: &EventTable,
    sessions: &Sessions,
    opts: &SegmentsOptions,
    funnel_run: Option<&funnel::FunnelResult>,
) -> Result<SegmentsResult> {
    opts.check()
        .map_err(|e| UsageError(format!("{}: {}", e.setting, e.problem)))?;
    let t_units = Instant::now();
    let units = Units::all(
        t,
        sessions,
        match opts.unit {
            Unit::User => UnitKind::User,
            Unit::Session => UnitKind::Session,
        },
    );
    let units_s = t_units.elapsed().as_secs_f64();
    let start = Instant::now();

    // Funnel levels, aligned with the units.
    let (levels, mut funnel_ctx) = match &opts.funnel {
        Some(f) => {
            let mut fo = f.clone();
            fo.per = match opts.unit {
                Unit::User => Per::User,
                Unit::Session => Per::Session,
            };
            fo.by = None;
            let owned;
            let r = match funnel_run {
                Some(r) => r,
                None => {
                    owned = funnel::analyze(t, sessions, &fo)?;
                    &owned
                }
            };
            if r.levels.len() != units.len() {
                return Err(anyhow::anyhow!(
                    "internal: funnel levels do not line up with units"
                ));
            }
            let labels = r
                .report
                .step_stats
                .iter()
                .map(|s| s.label.clone())
                .collect();
            let levels: Vec<i32> = r.levels.iter().map(|l| l.level).collect();
            (
                Some(levels),
                Some(FunnelContext {
                    steps: labels,
                    from_step: opts.from_step,
                    window: r.report.window.clone(),
                    converted_outside_window: 0,
                }),
            )
        }
        None => (None, None),
    };
    let funnel_s = secs(start);

    let t_features = Instant::now();
    let selected: Vec<usize> = match (&levels, opts.on) {
        (Some(l), On::Abandoned) => {
            let steps = opts.funnel.as_ref().map_or(0, |f| f.steps.len()) as i32;
            (0..units.len())
                .filter(|&u| l[u] >= opts.from_step as i32 && l[u] < steps)
                .collect()
        }
        _ => (0..units.len()).collect(),
    };
    if let (Some(ctx), Some(f), On::Abandoned) = (funnel_ctx.as_mut(), &opts.funnel, opts.on)
        && let Some(last) = f.steps.last()
    {
        let m = crate::predicate::resolve(last, t, "the funnel's last step")?;
        ctx.converted_outside_window = selected
            .iter()
            .filter(|&&u| {
                let ev = units.events(u);
                (0..ev.len()).any(|i| m.matches(t, ev.get(i)))
            })
            .count() as u64;
    }
    let n = selected.len();
    let min_units = match opts.k {
        KChoice::Auto => 3,
        KChoice::Fixed(k) => k.max(2),
    };
    if n < min_units {
        let what = match opts.on {
            On::Abandoned => format!(
                "abandoning {}s (reached step {} without converting)",
                unit_word(opts.unit),
                opts.from_step
            ),
            On::All => format!("{}s", unit_word(opts.unit)),
        };
        return Err(DataError::Insufficient(format!(
            "only {n} {what}: at least {min_units} are needed to segment"
        ))
        .into());
    }
    let roles = features::resolve_roles(t, &opts.roles)?;
    let auto_columns = opts.auto_features.then(|| {
        let used: Vec<&str> = [roles.page, roles.product, roles.device, roles.channel]
            .into_iter()
            .flatten()
            .map(|p| t.props[p].name.as_str())
            .collect();
        crate::features::auto::detect(t, &used)
    });
    let defs = features::definitions(
        &units,
        &selected,
        levels.is_some(),
        &roles,
        auto_columns.as_ref(),
    );
    let feats = features::extract(&units, sessions, &selected, levels.as_deref(), defs);
    let features_s = r3(units_s + t_features.elapsed().as_secs_f64());

    let t_scale = Instant::now();
    let (mut scaler, mut dropped) = Scaler::fit(&feats);
    if scaler.columns.is_empty() {
        return Err(DataError::Input(
            "every feature is constant across the units: nothing to segment".into(),
        )
        .into());
    }
    let x = scaler.transform(&feats);
    let x = scaler.drop_redundant(x, &mut dropped);
    let scaling_s = secs(t_scale);

    let ks: Vec<usize> = match opts.k {
        KChoice::Auto => K_AUTO.filter(|&k| k < n).collect(),
        KChoice::Fixed(k) => vec![k],
    };
    // Above the silhouette sample's size, `--k auto` fits every candidate k
    // on the sample (the silhouette only sees those points anyway) and then
    // refits the chosen k on all units from the sample fit's centroids: one
    // Lloyd run instead of n_init restarts per candidate on all units.
    // The sample follows the units' ids, not their row order.
    let keys: Vec<u64> = selected
        .iter()
        .map(|&u| {
            let (user, session) = units.id(u);
            let id = t.user_names.get(user);
            let key_seed = opts.seed ^ 0x5111_0E77_E5CA_1E00;
            match session {
                Some(s) => crate::rng::user_key(
                    &format!("{id}\u{1f}{}", sessions.id(t, s as usize)),
                    key_seed,
                ),
                None => crate::rng::user_key(id, key_seed),
            }
        })
        .collect();
    let sample = silhouette::sample(&keys, opts.silhouette_sample.max(2));
    let on_sample = matches!(opts.k, KChoice::Auto) && sample.len() < n;
    let sampled;
    let (xk, sil_rows): (ArrayView2<f64>, Vec<usize>) = if on_sample {
        sampled = x.select(Axis(0), &sample);
        (sampled.view(), (0..sample.len()).collect())
    } else {
        (x.view(), sample.clone())
    };
    let mut fits: Vec<KMeansFit> = Vec::new();
    let mut fit_times = Vec::new();
    for &k in &ks {
        let tk = Instant::now();
        fits.push(kmeans::fit(
            xk,
            KMeansParams {
                k,
                n_init: opts.n_init,
                seed: opts.seed,
            },
        )?);
        fit_times.push(FitTiming {
            k,
            seconds: secs(tk),
        });
    }

    let t_sil = Instant::now();
    let labelings: Vec<&[u32]> = fits.iter().map(|f| f.labels.as_slice()).collect();
    let sil = silhouette::compute(xk, &sil_rows, &labelings);
    let scores = &sil.mean;
    let silhouette_s = secs(t_sil);

    // The highest silhouette (ties and undefined scores: the smaller k); then
    // the largest k whose silhouette is not below it by more than one
    // standard error of the paired difference (see docs/segments.md).
    let top = (1..fits.len()).fold(0, |b, i| match (scores[i], scores[b]) {
        (Some(s), Some(t)) if s > t => i,
        (Some(_), None) => i,
        _ => b,
    });
    let se: Vec<Option<f64>> = (0..fits.len())
        .map(|i| {
            scores[i]
                .and(scores[top])
                .map(|_| sil.se_of_difference(top, i))
        })
        .collect();
    let best = match opts.k {
        KChoice::Fixed(_) => 0,
        KChoice::Auto => (0..fits.len())
            .filter(|&i| match (scores[i], scores[top], se[i]) {
                (Some(s), Some(t), Some(e)) => t - s <= e,
                _ => i == top,
            })
            .max()
            .unwrap_or(top),
    };
    let t_refit = Instant::now();
    let refit;
    let fit = if on_sample {
        refit = kmeans::fit_from(x.view(), fits[best].centroids.view());
        &refit
    } else {
        &fits[best]
    };
    let refit_s = on_sample.then(|| secs(t_refit));

    let t_prof = Instant::now();
    let step_labels = funnel_ctx.as_ref().map(|f| f.steps.as_slice());
    let segments = profile::build(&profile::Input {
        t,
        units: &units,
        selected: &selected,
        levels: levels.as_deref(),
        step_labels,
        feats: &feats,
        scaler: &scaler,
        fit,
        roles: &roles,
    });
    let profiles_s = secs(t_prof);

    let names_of = |i: Option<usize>| i.map(|p| t.props[p].name.clone());
    let event_of = |e: Option<u32>| e.map(|c| t.event_names.get(c).to_string());
    let report = SegmentsReport {
        unit: opts.unit,
        on: opts.on,
        funnel: funnel_ctx,
        units_in_data: units.len() as u64,
        units: n as u64,
        seed: opts.seed,
        n_init: opts.n_init,
        roles: RolesUsed {
            product_view_event: event_of(roles.product_view),
            cart_add_event: event_of(roles.cart_add),
            checkout_event: event_of(roles.checkout),
            page_column: names_of(roles.page),
            product_column: names_of(roles.product),
            device_column: names_of(roles.device),
            channel_column: names_of(roles.channel),
        },
        features: scaler
            .columns
            .iter()
            .map(|c| ScaledColumn {
                name: c.name.clone(),
                transform: c.transform,
                center: r6(c.center),
                scale: r6(c.scale),
                std: r6(c.std),
            })
            .collect(),
        dropped_features: dropped,
        selection: Selection {
            method: match opts.k {
                KChoice::Auto => "auto".into(),
                KChoice::Fixed(_) => "fixed".into(),
            },
            silhouette_sample: sample.len() as u64,
            fitted_on: xk.nrows() as u64,
            tried: ks
                .iter()
                .zip(&fits)
                .zip(scores)
                .zip(&se)
                .map(|(((&k, f), s), e)| KScore {
                    k,
                    inertia: r6(f.inertia),
                    silhouette: s.map(r6),
                    se_vs_highest: e.map(r6),
                })
                .collect(),
            chosen_k: ks[best],
        },
        k: fit.k,
        inertia: r6(fit.inertia),
        silhouette: scores[best].map(r6),
        segments,
        timings: opts.timings.then_some(Timings {
            funnel_s,
            features_s,
            scaling_s,
            fits: fit_times,
            refit_s,
            silhouette_s,
            profiles_s,
        }),
    };
    let model = SegmentsModel {
        format: MODEL_FORMAT.into(),
        unit: opts.unit,
        on: opts.on,
        seed: opts.seed,
        n_init: opts.n_init,
        k: fit.k,
        // Full precision: the model is for placing new units, not for reading.
        features: scaler.columns.clone(),
        centroids: fit
            .centroids
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect(),
        names: report.segments.iter().map(|s| s.name.clone()).collect(),
        inertia: fit.inertia,
    };
    let ids = selected.iter().map(|&u| units.id(u)).collect();
    let labels = fit.labels.clone();
    Ok(SegmentsResult {
        report,
        model,
        ids,
        labels,
        matrix: x,
    })
}

fn unit_word(u: Unit) -> &'static str {
    match u {
        Unit::User => "user",
        Unit::Session => "session",
    }
}
