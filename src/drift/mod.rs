//! Drift between two exports: per event share, per property, per user
//! feature (the model's own, with its saved definitions, when a model is
//! given) and for the score, each with Evidently's default test, its
//! threshold and verdict, PSI beside it, a dataset verdict, and for every
//! drifted column the groups (channels, devices…) that moved it.

pub mod analysis;
pub mod columns;
pub mod document;
pub mod drill;
pub mod ks;
pub mod performance;
pub mod stattest;
pub mod summary;

use serde::{Deserialize, Serialize};

pub use stattest::PsiBins;
use stattest::{Method, Sample};

/// `[drift]` in journey.toml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftSection {
    /// Dataset drift when at least this share of the tested columns drift [default: 0.5, Evidently's drift_share].
    pub drift_share: Option<f64>,
    /// PSI bins for numbers: deciles (of the reference) or sturges (Evidently's) [default: deciles].
    pub psi_bins: Option<PsiBins>,
    /// Columns whose groups explain a drifted column [default: categorical properties with 2 to 20 values].
    #[serde(default)]
    pub by: Vec<String>,
    /// The property columns `drift` tests and a report summarizes for `journeymap diff` [default: `drift`: every one; a report: every property column it reads, and every one not named like an id].
    pub properties: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct DriftOptions {
    pub drift_share: f64,
    pub psi_bins: PsiBins,
    /// Empty: chosen automatically.
    pub by: Vec<String>,
    /// With a model: how to assess the fairness of its decisions on the
    /// current export's labeled users (`[fairness]`).
    pub fairness: crate::fairness::analysis::FairnessSection,
    /// `[drift] properties`: the property columns tested (None: every one).
    pub properties: Option<Vec<String>>,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            drift_share: 0.5,
            psi_bins: PsiBins::Deciles,
            by: Vec::new(),
            fairness: Default::default(),
            properties: None,
        }
    }
}

/// What drift reports.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DriftReport {
    pub reference: SideSummary,
    pub current: SideSummary,
    pub dataset: DatasetDrift,
    pub psi_bins: PsiBins,
    /// Event columns first, then user features, then the score.
    pub columns: Vec<ColumnDrift>,
    /// With a model: its performance where labels are known.
    pub performance: Option<performance::Performance>,
    /// With a model: the fairness of its decisions on the current export's
    /// users whose label window has closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fairness: Option<crate::fairness::analysis::FairnessReport>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SideSummary {
    pub events: u64,
    pub users: u64,
    /// Users the model scored (its features are measured on them).
    pub scored_users: Option<u64>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DatasetDrift {
    pub tested_columns: u64,
    pub drifted_columns: u64,
    pub share: f64,
    /// Evidently's drift_share.
    pub threshold: f64,
    pub drifted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// One value per event (the event name, a property).
    Event,
    /// One value per user (a feature).
    User,
    /// The model's score, one per scored user.
    Score,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ColumnDrift {
    pub column: String,
    pub level: Level,
    /// "numerical" or "categorical".
    pub kind: &'static str,
    pub reference_values: u64,
    pub current_values: u64,
    /// Rows without a value (left out of the test, as Evidently drops NaN).
    pub reference_missing: u64,
    pub current_missing: u64,
    /// Distinct values over both sides (Evidently's n_values).
    pub distinct: u64,
    /// None when the column could not be tested (see `note`).
    pub method: Option<Method>,
    pub method_name: Option<&'static str>,
    /// The p-value (KS, chi-square, z) or the distance.
    pub statistic: Option<f64>,
    pub threshold: Option<f64>,
    pub drifted: bool,
    pub psi: Option<f64>,
    pub psi_band: Option<&'static str>,
    pub reference_mean: Option<f64>,
    pub current_mean: Option<f64>,
    /// Categorical: the value whose share moved most.
    pub top_shift: Option<ShareShift>,
    /// Drifted columns: the groups whose change moved it most.
    pub drilldown: Vec<drill::GroupBreakdown>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ShareShift {
    pub value: String,
    pub reference_share: f64,
    pub current_share: f64,
}

/// Tests one column.
pub fn test_column(
    column: String,
    level: Level,
    sample: Sample,
    missing: (u64, u64),
    bins: PsiBins,
) -> ColumnDrift {
    let (n_ref, n_cur) = sample.sizes();
    let numeric = matches!(sample, Sample::Numeric(_));
    let mut c = ColumnDrift {
        column,
        level,
        kind: if numeric { "numerical" } else { "categorical" },
        reference_values: n_ref as u64,
        current_values: n_cur as u64,
        reference_missing: missing.0,
        current_missing: missing.1,
        distinct: sample.distinct() as u64,
        method: None,
        method_name: None,
        statistic: None,
        threshold: None,
        drifted: false,
        psi: None,
        psi_band: None,
        reference_mean: None,
        current_mean: None,
        top_shift: None,
        drilldown: Vec::new(),
        note: None,
    };
    if n_ref == 0 || n_cur == 0 {
        let side = if n_ref == 0 { "reference" } else { "current" };
        c.note = Some(format!("not tested: no values in the {side} export"));
        return c;
    }
    let o = stattest::default_test(&sample);
    if !o.statistic.is_finite() {
        c.note = Some(format!(
            "not tested: {} is undefined on these values",
            o.method.name()
        ));
        return c;
    }
    c.method = Some(o.method);
    c.method_name = Some(o.method.name());
    c.statistic = Some(o.statistic);
    c.threshold = Some(o.threshold);
    c.drifted = o.drifted;
    let psi = stattest::psi(&sample, bins);
    if psi.is_finite() {
        c.psi = Some(psi);
        c.psi_band = Some(stattest::psi_band(psi));
    }
    match &sample {
        Sample::Numeric(v) => {
            let mean = |k: usize, n: usize| {
                v.iter()
                    .map(|x| x.0 * if k == 0 { x.1 } else { x.2 } as f64)
                    .sum::<f64>()
                    / n as f64
            };
            c.reference_mean = Some(mean(0, n_ref));
            c.current_mean = Some(mean(1, n_cur));
        }
        Sample::Categorical(cats) => {
            c.top_shift = cats
                .iter()
                .map(|k| ShareShift {
                    value: k.key.clone(),
                    reference_share: k.reference as f64 / n_ref as f64,
                    current_share: k.current as f64 / n_cur as f64,
                })
                .max_by(|a, b| {
                    (a.current_share - a.reference_share)
                        .abs()
                        .total_cmp(&(b.current_share - b.reference_share).abs())
                        .then_with(|| b.value.cmp(&a.value))
                });
        }
    }
    c
}

impl DatasetDrift {
    /// Dataset drift: at least `threshold` of the tested columns drifted.
    pub fn of(columns: &[ColumnDrift], threshold: f64) -> DatasetDrift {
        let tested = columns.iter().filter(|c| c.method.is_some()).count() as u64;
        let drifted = columns.iter().filter(|c| c.drifted).count() as u64;
        let share = if tested == 0 {
            0.0
        } else {
            drifted as f64 / tested as f64
        };
        DatasetDrift {
            tested_columns: tested,
            drifted_columns: drifted,
            share,
            threshold,
            drifted: tested > 0 && share >= threshold,
        }
    }
}

impl DriftReport {
    pub fn new(
        reference: SideSummary,
        current: SideSummary,
        columns: Vec<ColumnDrift>,
        opts: &DriftOptions,
        notes: Vec<String>,
    ) -> DriftReport {
        DriftReport {
            reference,
            current,
            dataset: DatasetDrift::of(&columns, opts.drift_share),
            psi_bins: opts.psi_bins,
            columns,
            performance: None,
            fairness: None,
            notes,
        }
    }
}

/// Compares `current` with `reference`. With a model, its features (with
/// their saved definitions, on the users it would score) and its score;
/// without, [`columns::base_features`] on every user.
pub fn run(
    reference: (&crate::ingest::EventTable, &crate::sessions::Sessions),
    current: (&crate::ingest::EventTable, &crate::sessions::Sessions),
    model: Option<&crate::propensity::ModelFile>,
    opts: &DriftOptions,
) -> Result<Drift, crate::error::DataError> {
    let t = [reference.0, current.0];
    let mut built = vec![columns::event_name(t)];
    let mut notes = Vec::new();
    let props = columns::properties(t);
    if let Some(list) = &opts.properties {
        for name in list {
            if !props.iter().any(|b| &b.name == name) {
                notes.push(format!(
                    "[drift] properties names {}, which neither export has",
                    crate::doc::rich::code(name)
                ));
            }
        }
    }
    built.extend(
        props
            .into_iter()
            .filter(|b| opts.properties.as_ref().is_none_or(|l| l.contains(&b.name))),
    );
    for (side, t) in ["reference", "current"].iter().zip(t) {
        if t.is_empty() {
            notes.push(format!(
                "the {side} export holds no events: no column can be tested"
            ));
        }
    }
    let scored: Option<[u64; 2]>;
    let mut perf = None;
    let mut fairness = None;
    match model {
        Some(m) => {
            let r = crate::propensity::inputs(reference.0, reference.1, m)?;
            let c = crate::propensity::inputs(current.0, current.1, m)?;
            scored = Some([r.users.len() as u64, c.users.len() as u64]);
            perf = Some(performance::compare(
                m,
                performance::figures(&r.scores, &r.labels),
                performance::figures(&c.scores, &c.labels),
                [
                    !r.labels.is_empty() || r.users.is_empty(),
                    !c.labels.is_empty() || c.users.is_empty(),
                ],
            ));
            fairness = current_fairness(current.0, &c, m, &opts.fairness, &mut notes);
            for (k, f) in m.features.iter().enumerate() {
                built.push(columns::user_column(
                    f.name.clone(),
                    [r.columns[k].clone(), c.columns[k].clone()],
                    [r.users.clone(), c.users.clone()],
                ));
            }
            let mut score =
                columns::user_column("score".into(), [r.scores, c.scores], [r.users, c.users]);
            score.name = "score".into();
            built.push(score);
        }
        None => {
            scored = None;
            let defs = columns::base_features();
            let (rc, ru) = columns::user_features(reference.0, reference.1, &defs)?;
            let (cc, cu) = columns::user_features(current.0, current.1, &defs)?;
            for (k, d) in defs.iter().enumerate() {
                built.push(columns::user_column(
                    d.name(),
                    [rc[k].clone(), cc[k].clone()],
                    [ru.clone(), cu.clone()],
                ));
            }
        }
    }
    let by: Vec<String> = if opts.by.is_empty() {
        drill::automatic(&built)
    } else {
        for b in &opts.by {
            if t.iter().all(|t| t.prop(b).is_none()) {
                notes.push(format!(
                    "drill-down column {} is in neither export",
                    crate::doc::rich::code(b)
                ));
            }
        }
        opts.by.clone()
    };
    let n_features = built.len();
    let mut out = Vec::with_capacity(n_features);
    for b in &built {
        let level = match (&b.values, b.name.as_str()) {
            (columns::Values::Users(..), "score") if model.is_some() => Level::Score,
            (columns::Values::Users(..), _) => Level::User,
            _ => Level::Event,
        };
        let mut c = test_column(
            b.name.clone(),
            level,
            b.sample.clone(),
            b.missing,
            opts.psi_bins,
        );
        if let Some(n) = &b.note {
            c.note = Some(match c.note.take() {
                Some(m) => format!("{n}; {m}"),
                None => n.clone(),
            });
        }
        if c.drifted {
            let focus = c.top_shift.as_ref().map(|s| s.value.clone());
            c.drilldown = by
                .iter()
                .filter(|g| **g != b.name)
                .filter_map(|g| drill::breakdown(b, focus.as_deref(), g, t))
                .collect();
        }
        out.push(c);
    }
    let side = |t: &crate::ingest::EventTable, s: Option<u64>| SideSummary {
        events: t.len() as u64,
        users: t.user_names.len() as u64,
        scored_users: s,
    };
    let mut users = UserTable::default();
    for b in built {
        if let columns::Values::Users(v, u) = b.values {
            users.names.push(b.name);
            users.columns.push(v);
            users.users = u;
        }
    }
    let mut report = DriftReport::new(
        side(t[0], scored.map(|s| s[0])),
        side(t[1], scored.map(|s| s[1])),
        out,
        opts,
        notes,
    );
    report.performance = perf;
    report.fairness = fairness;
    Ok(Drift { report, users })
}

/// The fairness of the model's decisions on the current export's users
/// whose label window has closed (fairness once outcomes are known, not
/// only on the training hold-out); None without labels or group columns.
fn current_fairness(
    t: &crate::ingest::EventTable,
    c: &crate::propensity::ModelInputs,
    m: &crate::propensity::ModelFile,
    sec: &crate::fairness::analysis::FairnessSection,
    notes: &mut Vec<String>,
) -> Option<crate::fairness::analysis::FairnessReport> {
    let columns = if sec.groups.is_empty() {
        m.properties.clone()
    } else {
        sec.groups.clone()
    };
    if columns.is_empty() || c.labels.is_empty() {
        return None;
    }
    let (mut users, mut p, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for ((&u, &s), l) in c.users.iter().zip(&c.scores).zip(&c.labels) {
        if let Some(l) = l {
            users.push(u);
            p.push(s);
            y.push(*l);
        }
    }
    if users.is_empty() {
        return None;
    }
    let (f, _) = crate::fairness::analysis::assess_users(
        t,
        &users,
        &p,
        &y,
        m.threshold,
        &columns,
        sec,
        "the current export's users whose label window has closed",
        &mut |w| notes.push(w),
    );
    (!f.by.is_empty()).then_some(f)
}

/// What [`run`] returns: the report, and the per-user values it tested.
pub struct Drift {
    pub report: DriftReport,
    pub users: UserTable,
}

/// The per-user columns on both sides (reference 0, current 1).
#[derive(Default)]
pub struct UserTable {
    pub names: Vec<String>,
    pub columns: Vec<[Vec<f64>; 2]>,
    pub users: [Vec<u32>; 2],
}

/// One side of a [`UserTable`] as a file: `user_id, <columns...>`.
pub struct UserRows<'a> {
    pub table: &'a crate::ingest::EventTable,
    pub users: &'a UserTable,
    pub side: usize,
}

impl crate::output::Rows for UserRows<'_> {
    fn columns(&self) -> Vec<crate::output::ColumnSpec> {
        use crate::output::{ColumnSpec, Kind};
        let mut c = vec![ColumnSpec::new("user_id", Kind::Text)];
        c.extend(
            self.users
                .names
                .iter()
                .map(|n| ColumnSpec::new(n.as_str(), Kind::Float)),
        );
        c
    }
    fn len(&self) -> usize {
        self.users.users[self.side].len()
    }
    fn row(&self, i: usize, out: &mut dyn crate::output::Cells) {
        out.text(Some(
            self.table.user_names.get(self.users.users[self.side][i]),
        ));
        for c in &self.users.columns {
            out.float(Some(c[self.side][i]));
        }
    }
}
