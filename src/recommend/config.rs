//! `[recommend]` in journey.toml (flags of `journeymap recommend` override it):
//!
//! ```toml
//! [recommend]
//! item_column = "product_id"      # required: the column naming the item
//! weights = { view = 1, add_to_cart = 3, purchase = 5 }  # events counted (default: every event with an item, 1)
//! half_life = "14d"               # exponential time decay of each interaction (default: none)
//! models = ["popularity", "cooc", "markov", "ease"]       # evaluated; the first model after popularity serves
//! serve = "ease"                  # the model whose lists are written (default: ease when listed)
//! k = 10                          # list length and the K of HR@K, NDCG@K
//! min_history = 1                 # distinct items a user needs before the model answers
//! score_floor = 0.0               # model scores at or below it fall back
//! exclude_seen = true             # never recommend what the user already interacted with
//! cooc_window = "30d"             # "viewed X then Y" within a duration (default 30d), or "session"
//! ease_items = 2000               # EASE runs on this many most frequent items
//! ease_lambda = 250.0             # default: chosen on a validation split from lambda_grid
//! lambda_grid = [50.0, 250.0, 1000.0]
//! fallback_by = ["channel", "device"]  # columns whose popularity serves cold-start users;
//!                                      # "[segments]": the users' k-means segments
//! eval_events = ["purchase"]      # evaluate on each user's last such event (default: last counted)
//! split_at = "2026-10-20"         # a global time split instead of leave-last-out
//! bootstrap = 1000                # resamples for the CI against popularity
//! seed = 1
//! catalog = "books.catalog.csv"   # item, title, category (relative to this file)
//! catalog_category = "genre"      # default: the first of category, genre, author
//! new_items = 1                   # list places for new catalog items (default 1 with a catalog)
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::duration::Duration;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendSection {
    #[serde(default)]
    pub item_column: Option<String>,
    /// Event name → weight; events not named are not counted.
    #[serde(default)]
    pub weights: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub half_life: Option<Duration>,
    #[serde(default)]
    pub models: Option<Vec<ModelKind>>,
    #[serde(default)]
    pub serve: Option<ModelKind>,
    #[serde(default)]
    pub k: Option<usize>,
    #[serde(default)]
    pub min_history: Option<usize>,
    #[serde(default)]
    pub score_floor: Option<f64>,
    #[serde(default)]
    pub exclude_seen: Option<bool>,
    /// "session" or a duration such as "30d".
    #[serde(default)]
    pub cooc_window: Option<String>,
    #[serde(default)]
    pub ease_items: Option<usize>,
    #[serde(default)]
    pub ease_lambda: Option<f64>,
    #[serde(default)]
    pub lambda_grid: Option<Vec<f64>>,
    #[serde(default)]
    pub fallback_by: Option<Vec<String>>,
    #[serde(default)]
    pub eval_events: Option<Vec<String>>,
    /// ISO 8601 date or time: train before it, test on and after it.
    #[serde(default)]
    pub split_at: Option<String>,
    #[serde(default)]
    pub bootstrap: Option<usize>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// A CSV of the items (id, title, category); relative paths are from
    /// the config file's directory.
    #[serde(default)]
    pub catalog: Option<std::path::PathBuf>,
    /// The catalog's category column (default: category, genre or author).
    #[serde(default)]
    pub catalog_category: Option<String>,
    /// List places given to catalog items nobody interacted with yet, in
    /// the user's favourite category (default 1 with a catalog).
    #[serde(default)]
    pub new_items: Option<usize>,
    /// Set by `recommend train|evaluate`; `report` does both.
    #[serde(skip)]
    #[schemars(skip)]
    pub mode: Option<super::run::Mode>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Global popularity (the baseline).
    Popularity,
    /// Directional co-occurrence, cosine-normalized.
    Cooc,
    /// First-order next item after the user's last item.
    Markov,
    /// Steck's EASE, closed form.
    Ease,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Popularity => "popularity",
            ModelKind::Cooc => "cooc",
            ModelKind::Markov => "markov",
            ModelKind::Ease => "ease",
        }
    }
}

/// Where "viewed X then Y" pairs may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Session,
    /// Y within this many milliseconds after X.
    Span(i64),
}

impl Window {
    pub fn parse(s: &str) -> Result<Window, String> {
        if s == "session" {
            return Ok(Window::Session);
        }
        match crate::duration::parse_ms(s) {
            Ok(ms) if ms > 0 => Ok(Window::Span(ms)),
            Ok(_) => Err("must be longer than zero".into()),
            Err(e) => Err(format!("{e}; or \"session\"")),
        }
    }
    pub fn describe(self) -> String {
        match self {
            Window::Session => "within the same session".into(),
            Window::Span(ms) => format!("within {}", crate::duration::format_ms(ms)),
        }
    }
}

pub const DEFAULT_K: usize = 10;
/// "Viewed X then Y" within 30 days: next books come sessions later.
pub const DEFAULT_WINDOW_MS: i64 = 30 * 86_400_000;
pub const DEFAULT_EASE_ITEMS: usize = 2000;
pub const MAX_EASE_ITEMS: usize = 10_000;
pub const DEFAULT_GRID: [f64; 3] = [50.0, 250.0, 1000.0];
pub const DEFAULT_BOOTSTRAP: usize = 1000;
/// In `fallback_by`: the report's k-means segments (`[segments]`, per
/// user) instead of a column of the export.
pub const SEGMENTS: &str = "[segments]";
/// The most list entries a user can ask for.
pub const MAX_K: usize = 1000;

/// The section resolved: every setting has its value.
#[derive(Debug, Clone)]
pub struct Options {
    pub item_column: String,
    pub weights: Option<BTreeMap<String, f64>>,
    pub half_life_ms: Option<i64>,
    pub models: Vec<ModelKind>,
    pub serve: ModelKind,
    pub k: usize,
    pub min_history: usize,
    pub score_floor: f64,
    pub exclude_seen: bool,
    pub window: Window,
    pub ease_items: usize,
    pub ease_lambda: Option<f64>,
    pub lambda_grid: Vec<f64>,
    /// None: the channel and device columns the export has.
    pub fallback_by: Option<Vec<String>>,
    pub eval_events: Option<Vec<String>>,
    pub split_at_ms: Option<i64>,
    pub bootstrap: usize,
    pub seed: u64,
    pub catalog: Option<std::path::PathBuf>,
    pub catalog_category: Option<String>,
    pub new_items: usize,
}

fn bad(key: &str, problem: impl std::fmt::Display) -> crate::error::UsageError {
    crate::error::UsageError(format!("[recommend] {key}: {problem}"))
}

impl Options {
    pub fn resolve(s: &RecommendSection) -> Result<Options, crate::error::UsageError> {
        let item_column = s.item_column.clone().ok_or_else(|| {
            crate::error::UsageError(
                "recommendations need the column that names the item: pass --item-col COLUMN (or item_column in [recommend])".into(),
            )
        })?;
        if item_column.trim().is_empty() {
            return Err(bad("item_column", "is empty"));
        }
        if let Some(w) = &s.weights {
            if w.is_empty() {
                return Err(bad(
                    "weights",
                    "names no event: name at least one, e.g. view=1",
                ));
            }
            for (e, v) in w {
                if !v.is_finite() || *v <= 0.0 {
                    return Err(bad(
                        "weights",
                        format!("the weight of {e:?} is {v}: use a number above 0"),
                    ));
                }
            }
        }
        let half_life_ms = match s.half_life {
            Some(d) if d.ms() <= 0 => return Err(bad("half_life", "must be longer than zero")),
            Some(d) => Some(d.ms()),
            None => None,
        };
        let mut models = s.models.clone().unwrap_or_else(|| {
            vec![
                ModelKind::Popularity,
                ModelKind::Cooc,
                ModelKind::Markov,
                ModelKind::Ease,
            ]
        });
        // Popularity is the baseline every model is compared with.
        if !models.contains(&ModelKind::Popularity) {
            models.insert(0, ModelKind::Popularity);
        }
        let mut seen = BTreeSet::new();
        models.retain(|m| seen.insert(*m));
        let serve = match s.serve {
            Some(m) => {
                if !models.contains(&m) {
                    models.push(m);
                }
                m
            }
            None => [ModelKind::Ease, ModelKind::Cooc, ModelKind::Markov]
                .into_iter()
                .find(|m| models.contains(m))
                .unwrap_or(ModelKind::Popularity),
        };
        let k = s.k.unwrap_or(DEFAULT_K);
        if k == 0 || k > MAX_K {
            return Err(bad(
                "k",
                format!("is {k}: use a list length from 1 to {MAX_K}"),
            ));
        }
        let min_history = s.min_history.unwrap_or(1).max(1);
        let score_floor = s.score_floor.unwrap_or(0.0);
        if !score_floor.is_finite() {
            return Err(bad("score_floor", "must be a number"));
        }
        let window = match &s.cooc_window {
            Some(w) => Window::parse(w).map_err(|e| bad("cooc_window", e))?,
            None => Window::Span(DEFAULT_WINDOW_MS),
        };
        let ease_items = s.ease_items.unwrap_or(DEFAULT_EASE_ITEMS);
        if ease_items == 0 || ease_items > MAX_EASE_ITEMS {
            return Err(bad(
                "ease_items",
                format!(
                    "is {ease_items}: use 1 to {MAX_EASE_ITEMS} (fitting EASE holds about 32 × items² bytes: 128 MB at 2000 items, 3.2 GB at 10000)"
                ),
            ));
        }
        if let Some(l) = s.ease_lambda
            && (!l.is_finite() || l <= 0.0)
        {
            return Err(bad("ease_lambda", format!("is {l}: use a number above 0")));
        }
        let lambda_grid = s.lambda_grid.clone().unwrap_or(DEFAULT_GRID.to_vec());
        if lambda_grid.is_empty() || lambda_grid.iter().any(|l| !l.is_finite() || *l <= 0.0) {
            return Err(bad("lambda_grid", "needs numbers above 0"));
        }
        let split_at_ms = match &s.split_at {
            Some(t) => Some(
                crate::ingest::timestamp::TimeParser::new(None).parse(t).ok().map(|p| p.ms)
                    .ok_or_else(|| bad("split_at", format!("{t:?} is not an ISO 8601 date or time, e.g. 2026-10-20 or 2026-10-20T00:00:00Z")))?,
            ),
            None => None,
        };
        let bootstrap = s.bootstrap.unwrap_or(DEFAULT_BOOTSTRAP);
        if bootstrap > 100_000 {
            return Err(bad(
                "bootstrap",
                format!("is {bootstrap}: use at most 100000"),
            ));
        }
        if s.catalog.is_none()
            && (s.catalog_category.is_some() || s.new_items.is_some_and(|n| n > 0))
        {
            return Err(bad(
                "catalog",
                "catalog_category and new_items need a catalog file: set catalog (or --catalog)",
            ));
        }
        let new_items = if s.catalog.is_some() {
            s.new_items.unwrap_or(1)
        } else {
            0
        };
        if new_items > k {
            return Err(bad(
                "new_items",
                format!("{new_items} is more than the list's {k} places"),
            ));
        }
        Ok(Options {
            item_column,
            weights: s.weights.clone(),
            half_life_ms,
            models,
            serve,
            k,
            min_history,
            score_floor,
            exclude_seen: s.exclude_seen.unwrap_or(true),
            window,
            ease_items,
            ease_lambda: s.ease_lambda,
            lambda_grid,
            fallback_by: s.fallback_by.clone(),
            eval_events: s.eval_events.clone(),
            split_at_ms,
            bootstrap,
            seed: s.seed.unwrap_or(1),
            catalog: s.catalog.clone(),
            catalog_category: s.catalog_category.clone(),
            new_items,
        })
    }
}

impl RecommendSection {
    /// The property columns it reads.
    pub fn properties(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.item_column.iter().cloned().collect();
        match &self.fallback_by {
            Some(cols) => out.extend(cols.iter().filter(|c| c.as_str() != SEGMENTS).cloned()),
            None => out.extend(
                crate::segments::features::CHANNEL_COLUMNS
                    .iter()
                    .chain(crate::segments::features::DEVICE_COLUMNS)
                    .map(|s| s.to_string()),
            ),
        }
        out
    }
}
