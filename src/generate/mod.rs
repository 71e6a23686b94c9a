//! Synthetic clickstream generator with planted ground truth.
//!
//! Every user belongs to exactly one behavioural segment and converts with a
//! probability given by a documented logistic function of per-user features
//! (see the doc comments of [`ecommerce`] and [`saas`]). The per-user truth is
//! written next to the events so that segmentation, funnel and propensity
//! features can be tested against what was actually planted.

pub mod bank;
mod bookstore;
mod drift;
mod ecommerce;
mod experiment;
mod fairness;
mod format;
pub mod journey;
pub mod retail;
mod retention;
mod saas;
mod write;

use std::path::{Path, PathBuf};

use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    Ecommerce,
    Saas,
    /// A web shop's warehouse export: nine columns with price, rows in global time order.
    Retail,
    /// A small online bookstore with series, authors and planted next items (recommendations).
    Bookstore,
    /// A bank: app events, transactions and a customer table with planted life events (decide).
    Bank,
}

impl Scenario {
    pub fn conversion_event(self) -> &'static str {
        match self {
            Scenario::Ecommerce | Scenario::Retail | Scenario::Bookstore => "purchase",
            Scenario::Saas => "upgrade",
            Scenario::Bank => "product_opened",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub scenario: Scenario,
    pub users: usize,
    pub seed: u64,
    pub out: PathBuf,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GenerateSummary {
    pub events: u64,
    pub users: u64,
    pub out: PathBuf,
    pub truth: PathBuf,
    /// The scenario's journey.toml, at [`journey::journey_path`].
    pub journey_config: PathBuf,
    pub conversion_event: String,
    pub converted_users: u64,
}

/// Generates `opts.users` users into `opts.out` (format from the extension:
/// `.csv`, `.csv.gz` or `.parquet`) plus the truth CSV at [`truth_path`] and
/// the scenario's journey.toml at [`journey::journey_path`].
pub fn generate(opts: &GenerateOptions) -> anyhow::Result<GenerateSummary> {
    generate_with(opts, None)
}

/// What to plant on top of the saas scenario (see [`experiment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentPlan {
    /// A randomized control / reminder / intervention test; `srm`:
    /// randomize 36:32:32 instead of 1:1:1 (a deliberate sample-ratio mismatch).
    Randomized { srm: bool },
    /// A non-randomized rollout to 30 % of users from a date (for DiD).
    Rollout,
    /// A planted weekly retention curve ([`retention`]), not a test.
    Retention,
    /// A planted channel-mix and session-duration shift ([`drift`]).
    Drift,
    /// A group the model under-serves ([`fairness`]).
    Fairness,
}

/// `data/events.parquet` → `data/events.retention-truth.json`.
pub fn retention_truth_path(out: &Path) -> PathBuf {
    sibling(out, "retention-truth.json")
}

/// The bank scenario's files beside `out`: transactions, customers, truth.
pub fn bank_paths(out: &Path) -> bank::Paths {
    bank::paths(out)
}

/// `data/events.parquet` → `data/events.catalog.csv` (the bookstore's books).
pub fn catalog_path(out: &Path) -> PathBuf {
    sibling(out, "catalog.csv")
}

/// `data/events.parquet` → `data/events.rollout.csv` (the treated users).
pub fn rollout_path(out: &Path) -> PathBuf {
    sibling(out, "rollout.csv")
}

/// `data/events.parquet` → `data/events.rollout-truth.json`.
pub fn rollout_truth_path(out: &Path) -> PathBuf {
    sibling(out, "rollout-truth.json")
}

/// `data/events.parquet` → `data/events.fairness-truth.json`.
pub fn fairness_truth_path(out: &Path) -> PathBuf {
    sibling(out, "fairness-truth.json")
}

/// `data/events.parquet` → `data/events.drift-truth.json`.
pub fn drift_truth_path(out: &Path) -> PathBuf {
    sibling(out, "drift-truth.json")
}

/// `data/events.parquet` → `data/events.assignments.csv`.
pub fn assignments_path(out: &Path) -> PathBuf {
    sibling(out, "assignments.csv")
}

/// `data/events.parquet` → `data/events.experiment-truth.json`.
pub fn experiment_truth_path(out: &Path) -> PathBuf {
    sibling(out, "experiment-truth.json")
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let t = truth_path(out);
    let name = t.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.strip_suffix("truth.csv").unwrap_or(&name);
    t.with_file_name(format!("{stem}{suffix}"))
}

/// [`generate`], with a planted experiment when `experiment` is set.
pub fn generate_with(
    opts: &GenerateOptions,
    experiment: Option<ExperimentPlan>,
) -> anyhow::Result<GenerateSummary> {
    let drift = experiment == Some(ExperimentPlan::Drift);
    let unfair = experiment == Some(ExperimentPlan::Fairness);
    if (drift || unfair) && opts.scenario != Scenario::Ecommerce {
        return Err(crate::error::UsageError(
            "--drift and --fairness plant on the ecommerce scenario: add --scenario ecommerce (the default)"
                .into(),
        )
        .into());
    }
    if experiment.is_some() && !drift && !unfair && opts.scenario != Scenario::Saas {
        return Err(crate::error::UsageError(
            "--experiment, --rollout and --retention plant on the saas scenario: add --scenario saas"
                .into(),
        )
        .into());
    }
    let format = write::Format::from_path(&opts.out)?;
    let truth = truth_path(&opts.out);
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let user_of: fn(&mut Rng, &mut Vec<Event>) -> UserTruth = match opts.scenario {
        Scenario::Ecommerce => ecommerce::user,
        Scenario::Saas => saas::user,
        Scenario::Retail => return generate_retail(opts, format, &truth),
        Scenario::Bookstore => return generate_bookstore(opts, format, &truth),
        Scenario::Bank => return generate_bank(opts, format),
    };
    let randomized = match experiment {
        Some(ExperimentPlan::Randomized { srm }) => Some(srm),
        _ => None,
    };
    let rollout = experiment == Some(ExperimentPlan::Rollout);
    let returns = experiment == Some(ExperimentPlan::Retention);
    let mut sink = write::EventSink::create(&opts.out, format, randomized.is_some())?;
    let mut truth_sink = write::TruthSink::create(&truth)?;
    let mut assignments = Vec::new();
    let mut exp_truth = experiment::Truth::new(randomized == Some(true));
    let mut treated: Vec<u64> = Vec::new();

    let mut events: Vec<Event> = Vec::with_capacity(1024);
    let mut total_events = 0u64;
    let mut converted = 0u64;
    for idx in 1..=opts.users as u64 {
        events.clear();
        let mut rng = Rng::for_stream(opts.seed, idx);
        let mut user = user_of(&mut rng, &mut events);
        // Its own stream: the journey is the same with or without the test.
        let mut erng = Rng::for_stream(opts.seed ^ 0x6578_7065_7269_6d65, idx);
        if let Some(srm) = randomized {
            let p = experiment::plant(&mut erng, &user, &mut events, srm);
            assignments.push((idx, p.arm, p.t0));
            exp_truth.add(&p);
        }
        if rollout && experiment::roll_out(&mut erng, &mut events) {
            treated.push(idx);
        }
        if returns {
            retention::plant(&mut erng, &mut events);
        }
        if drift {
            self::drift::plant(&mut erng, &mut user, &mut events);
        }
        if unfair {
            self::fairness::plant(&mut erng, &mut user, &mut events);
        }
        debug_assert!(events.windows(2).all(|w| w[0].ts <= w[1].ts));
        sink.write_user(idx, &user, &events)?;
        truth_sink.write_user(idx, &user)?;
        total_events += events.len() as u64;
        converted += u64::from(user.converted);
    }
    // Events first, truth second: a truth file never exists without its events.
    sink.finish()?;
    truth_sink.finish()?;
    let journey_config = journey::journey_path(&opts.out);
    let mut config = journey::journey_toml(opts.scenario).to_string();
    if rollout {
        write::treated_users(&rollout_path(&opts.out), &treated)?;
        let truth = experiment::rollout_truth(treated.len() as u64);
        crate::atomic::write_bytes(
            &rollout_truth_path(&opts.out),
            (serde_json::to_string_pretty(&truth)? + "\n").as_bytes(),
        )?;
    }
    if unfair {
        crate::atomic::write_bytes(
            &fairness_truth_path(&opts.out),
            (serde_json::to_string_pretty(&self::fairness::truth())? + "\n").as_bytes(),
        )?;
    }
    if drift {
        crate::atomic::write_bytes(
            &drift_truth_path(&opts.out),
            (serde_json::to_string_pretty(&self::drift::truth())? + "\n").as_bytes(),
        )?;
    }
    if returns {
        crate::atomic::write_bytes(
            &retention_truth_path(&opts.out),
            (serde_json::to_string_pretty(&retention::truth())? + "\n").as_bytes(),
        )?;
    }
    if randomized.is_some() {
        let assign = assignments_path(&opts.out);
        write::assignments(&assign, &assignments)?;
        exp_truth.finish();
        crate::atomic::write_bytes(
            &experiment_truth_path(&opts.out),
            (serde_json::to_string_pretty(&exp_truth)? + "\n").as_bytes(),
        )?;
        let name = assign.file_name().unwrap_or_default().to_string_lossy();
        config += &experiment::JOURNEY_SECTION.replace("ASSIGNMENTS", &name);
    }
    crate::atomic::write_bytes(&journey_config, config.as_bytes())?;

    Ok(GenerateSummary {
        events: total_events,
        users: opts.users as u64,
        out: opts.out.clone(),
        truth,
        journey_config,
        conversion_event: opts.scenario.conversion_event().to_string(),
        converted_users: converted,
    })
}

/// The retail scenario: every user first, then all rows in global time
/// order (a stable sort by timestamp: ties keep user and event order).
fn generate_retail(
    opts: &GenerateOptions,
    format: write::Format,
    truth: &Path,
) -> anyhow::Result<GenerateSummary> {
    let mut rows = Vec::with_capacity(opts.users * 36);
    let mut users = Vec::with_capacity(opts.users);
    for idx in 1..=opts.users as u64 {
        let mut rng = Rng::for_stream(opts.seed, idx);
        users.push(retail::user(&mut rng, idx as u32, &mut rows));
    }
    rows.sort_by_key(|r| r.ts);
    retail::write(&opts.out, format, &rows, &users)?;
    let mut truth_sink = write::TruthSink::create(truth)?;
    for (i, u) in users.iter().enumerate() {
        truth_sink.write_user(i as u64 + 1, u)?;
    }
    truth_sink.finish()?;
    let journey_config = journey::journey_path(&opts.out);
    crate::atomic::write_bytes(
        &journey_config,
        journey::journey_toml(opts.scenario).as_bytes(),
    )?;
    Ok(GenerateSummary {
        events: rows.len() as u64,
        users: opts.users as u64,
        out: opts.out.clone(),
        truth: truth.to_path_buf(),
        journey_config,
        conversion_event: opts.scenario.conversion_event().to_string(),
        converted_users: users.iter().filter(|u| u.converted).count() as u64,
    })
}

/// The bookstore: per-user rows in time order, then the catalog and the
/// truth (each user's kind and planted next item).
fn generate_bookstore(
    opts: &GenerateOptions,
    format: write::Format,
    truth: &Path,
) -> anyhow::Result<GenerateSummary> {
    let (catalog, rows, users) = bookstore::generate(opts.seed, opts.users);
    bookstore::write(&opts.out, format, &catalog, &rows, &users)?;
    bookstore::write_catalog(&catalog_path(&opts.out), &catalog)?;
    bookstore::write_truth(truth, &catalog, &users)?;
    let journey_config = journey::journey_path(&opts.out);
    crate::atomic::write_bytes(
        &journey_config,
        journey::journey_toml(opts.scenario).as_bytes(),
    )?;
    Ok(GenerateSummary {
        events: rows.len() as u64,
        users: opts.users as u64,
        out: opts.out.clone(),
        truth: truth.to_path_buf(),
        journey_config,
        conversion_event: opts.scenario.conversion_event().to_string(),
        converted_users: {
            let mut buyers: Vec<u32> = rows
                .iter()
                .filter(|r| r.event == "purchase")
                .map(|r| r.user)
                .collect();
            buyers.dedup();
            buyers.len() as u64
        },
    })
}

/// The bank: events at `--out` (CSV), transactions, customers, the truth
/// and a journey.toml with the decision engine's sections beside it.
fn generate_bank(opts: &GenerateOptions, format: write::Format) -> anyhow::Result<GenerateSummary> {
    if format != write::Format::Csv {
        return Err(crate::error::UsageError(
            "--scenario bank writes CSV: name the events file .csv".into(),
        )
        .into());
    }
    let n = bank::generate(opts.seed, opts.users, &opts.out)?;
    let p = bank::paths(&opts.out);
    let journey_config = journey::journey_path(&opts.out);
    crate::atomic::write_bytes(&journey_config, bank::config_toml(&p).as_bytes())?;
    Ok(GenerateSummary {
        events: n.events,
        users: opts.users as u64,
        out: opts.out.clone(),
        truth: p.truth,
        journey_config,
        conversion_event: opts.scenario.conversion_event().to_string(),
        converted_users: n.planted,
    })
}

/// `data/events.csv` → `data/events.truth.csv`; `.parquet` and `.csv.gz` likewise.
pub fn truth_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let stem_len = [".csv.gz", ".csv", ".parquet"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map_or(name.len(), |ext| name.len() - ext.len());
    out.with_file_name(format!("{}.truth.csv", &name[..stem_len]))
}

// ---------------------------------------------------------------------------
// Shared event model used by both scenarios.

/// Unix epoch milliseconds of 2026-10-01T00:00:00Z, the start of the window.
pub(crate) const START_MS: i64 = format::days_from_civil(2026, 10, 1) * 86_400_000;
/// Users' first events are spread uniformly over this many days.
pub(crate) const SPREAD_DAYS: u64 = 28;
const MINUTE_MS: i64 = 60_000;
pub(crate) const DAY_MS: f64 = 86_400_000.0;
/// Mean inter-session gap (exponential) and its floor; the floor keeps every
/// gap above the 45 min that downstream sessionization is expected to use.
const SESSION_GAP_MEAN_MS: f64 = 2.0 * DAY_MS;
const SESSION_GAP_MIN_MS: i64 = 45 * MINUTE_MS + 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Device {
    Desktop,
    Mobile,
    Tablet,
}

impl Device {
    pub(crate) const ALL: [Device; 3] = [Device::Desktop, Device::Mobile, Device::Tablet];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Organic,
    PaidSearch,
    Social,
    Email,
    Direct,
}

impl Channel {
    pub(crate) const ALL: [Channel; 5] = [
        Channel::Organic,
        Channel::PaidSearch,
        Channel::Social,
        Channel::Email,
        Channel::Direct,
    ];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Channel::Organic => "organic",
            Channel::PaidSearch => "paid_search",
            Channel::Social => "social",
            Channel::Email => "email",
            Channel::Direct => "direct",
        }
    }
}

/// `page` column; dynamic pages are kept as ids and formatted only when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    Static(&'static str),
    /// `/product/p0123`
    Product(u16),
    /// `/features/f07`
    Feature(u8),
}

/// `product_id` column: empty/null, a product (`p0123`) or a SaaS feature (`f07`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    None,
    Product(u16),
    Feature(u8),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub ts: i64,
    /// 1-based session number within the user.
    pub session: u32,
    pub name: &'static str,
    pub page: Page,
    pub item: Item,
    /// The `amount` column (written only for `--experiment`).
    pub amount: Option<u32>,
}

/// Per-user ground truth and the user-level columns shared by all their rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserTruth {
    pub segment: &'static str,
    pub device: Device,
    pub channel: Channel,
    pub p_convert: f64,
    pub converted: bool,
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Builds one user's time-ordered event list session by session.
pub(crate) struct Journey<'a> {
    pub rng: &'a mut Rng,
    events: &'a mut Vec<Event>,
    ts: i64,
    session: u32,
    fresh: bool,
    step_ms: (u64, u64),
}

impl<'a> Journey<'a> {
    /// `step_s` is the (min, max) seconds between events inside a session.
    pub fn new(rng: &'a mut Rng, events: &'a mut Vec<Event>, step_s: (u64, u64)) -> Self {
        debug_assert!(step_s.0 >= 5 && step_s.1 <= 120 && step_s.0 <= step_s.1);
        let first = START_MS + rng.below(SPREAD_DAYS * 86_400_000) as i64;
        Journey {
            rng,
            events,
            ts: first,
            session: 0,
            fresh: true,
            step_ms: (step_s.0 * 1000, step_s.1 * 1000),
        }
    }

    pub fn start_session(&mut self) {
        if self.session > 0 {
            let gap = self.rng.exp(SESSION_GAP_MEAN_MS) as i64;
            self.ts += gap.max(SESSION_GAP_MIN_MS);
        }
        self.session += 1;
        self.fresh = true;
    }

    pub fn emit(&mut self, name: &'static str, page: Page, item: Item) {
        if self.fresh {
            self.fresh = false;
        } else {
            self.ts += self.rng.range(self.step_ms.0, self.step_ms.1) as i64;
        }
        self.events.push(Event {
            ts: self.ts,
            session: self.session,
            name,
            page,
            item,
            amount: None,
        });
    }

    pub fn page(&mut self, name: &'static str, page: &'static str) {
        self.emit(name, Page::Static(page), Item::None);
    }

    /// Events emitted since `start` (an index into the output).
    pub fn since(&self, start: usize) -> &[Event] {
        &self.events[start..]
    }

    /// Moves the clock forward to `ts` if it is earlier.
    pub fn not_before(&mut self, ts: i64) {
        self.ts = self.ts.max(ts);
    }
}

/// Number of sessions: 1 + Poisson(lambda · exp(0.4·e)), so engagement shows up in
/// session counts; capped to keep pathological tails out of the data.
pub(crate) fn session_count(rng: &mut Rng, lambda: f64, e: f64) -> u32 {
    (1 + rng.poisson(lambda * (0.4 * e).exp())).min(40) as u32
}

/// Integer count in [lo, hi] shifted by `slope·e` (rounded), clamped to [min, max].
pub(crate) fn shifted_count(
    rng: &mut Rng,
    lo: u64,
    hi: u64,
    slope: f64,
    e: f64,
    min: i64,
    max: i64,
) -> u32 {
    let base = rng.range(lo, hi) as i64 + (slope * e).round() as i64;
    base.clamp(min, max) as u32
}

#[cfg(test)]
mod tests;
