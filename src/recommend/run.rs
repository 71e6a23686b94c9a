//! `[recommend]` end to end: interactions → (evaluation on a split) →
//! the final fit on everything → each user's list through the cascade.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::{ModelKind, Options, Window};
use super::eval::{self, Difference, Figures, Split};
use super::interactions::Interactions;
use super::lists::{Cascade, Entry, fallback, reason};
use super::models::{self, Base, Gram, Scored, Scorer, Train};
use crate::error::DataError;
use crate::stats::round6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecommendReport {
    pub item_column: String,
    /// Event → weight; None: every event with an item, weight 1.
    pub weights: Option<BTreeMap<String, f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub half_life: Option<String>,
    pub k: usize,
    pub exclude_seen: bool,
    pub min_history: usize,
    pub score_floor: f64,
    /// Where co-occurrence pairs come from, in words.
    pub cooc_window: String,
    pub interactions: u64,
    pub users: u64,
    pub users_with_interactions: u64,
    pub items: u64,
    /// Counted events whose item cell was empty (not interactions).
    pub empty_item_events: u64,
    pub fallback_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ease: Option<EaseInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lists: Option<ListsSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<super::catalog::CatalogInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EaseInfo {
    /// Items EASE ran on (the most frequent ones, up to the cap).
    pub items: u64,
    pub cap: u64,
    pub lambda: f64,
    /// "given", "validation: …" (NDCG@K on a leave-last-out split of the
    /// training data, with how many users) or "the default: …" when no user
    /// could validate.
    pub lambda_from: String,
    /// NDCG@K on the validation split per λ tried.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub grid: Vec<GridPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GridPoint {
    pub lambda: f64,
    pub ndcg: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evaluation {
    /// "leave-last-out" or "time split at …", with the target rule.
    pub protocol: String,
    /// Users tested who had history before their target (the table below).
    pub users: u64,
    /// Users tested with no history before the target: their fallback list.
    pub cold_users: u64,
    pub cold: Figures,
    /// Targets the user had interacted with before (misses under exclude_seen).
    pub seen_targets: u64,
    pub models: Vec<ModelEval>,
    /// The same figures by model name, for checks (`recommend.ease.hit_rate`).
    pub figures: BTreeMap<String, Figures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelEval {
    pub model: String,
    #[serde(flatten)]
    pub figures: Figures,
    /// Share of the catalog in some top-k list.
    pub coverage: f64,
    /// Mean training users of the items shown.
    pub avg_popularity: f64,
    /// Gini index of how often items are shown (0 even, 1 one item).
    pub gini: f64,
    /// Users whose list needed the fallback (partly or wholly).
    pub filled_by_fallback: u64,
    /// Against popularity, paired over the same users (None for popularity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_popularity: Option<VsPopularity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VsPopularity {
    pub hit_rate: Difference,
    pub ndcg: Difference,
    pub resamples: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListsSummary {
    pub model: String,
    pub users: u64,
    /// Users whose first entry came from the model.
    pub from_model: u64,
    pub from_group: u64,
    pub from_global: u64,
    /// The export's last event: what the lists know up to.
    pub generated_at: String,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Example {
    pub user_id: String,
    pub history: Vec<String>,
    pub items: Vec<ListItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListItem {
    pub item_id: String,
    pub score: f64,
    pub rank: u32,
    pub source: String,
    pub reason: String,
}

/// Per model evaluated, every tested target's rank.
pub type ModelRanks = Vec<(ModelKind, Vec<eval::Ranked>)>;

/// What a run produces: the section, and every user's list for the files.
pub struct Recommendations {
    pub report: RecommendReport,
    pub inter: Interactions,
    /// Per user (table order): the final list (empty when lists were not asked).
    pub lists: Vec<Vec<Entry>>,
    /// The fallback lists for unknown users: global, then per group.
    pub fallbacks: Fallbacks,
    /// Per model evaluated: (user, target item, rank in the full ranking).
    pub ranks: ModelRanks,
}

pub struct Fallbacks {
    pub global: Vec<Entry>,
    /// (column, value, list) for every group large enough for its own list.
    pub groups: Vec<(String, String, Vec<Entry>)>,
}

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub evaluate: bool,
    pub lists: bool,
}

/// Fits one model on a training set.
fn fit(
    kind: ModelKind,
    t: &Train,
    base: &Base,
    o: &Options,
    lambda: Option<f64>,
) -> Result<(Scorer, Option<Gram>), DataError> {
    Ok(match kind {
        ModelKind::Popularity => (Scorer::Popularity, None),
        ModelKind::Cooc => (
            Scorer::Cooc(models::fit_cooc(t, o.window, &base.popularity.item_users)),
            None,
        ),
        ModelKind::Markov => (Scorer::Markov(models::fit_markov(t)), None),
        ModelKind::Ease => {
            let gram =
                Gram::from_histories(&base.histories, &base.popularity.item_users, o.ease_items);
            let lambda = lambda.unwrap_or(super::config::DEFAULT_GRID[1]);
            let ease = gram.solve(lambda).map_err(|e| {
                DataError::Input(format!(
                    "EASE could not be solved with lambda {lambda}: {e}; raise ease_lambda"
                ))
            })?;
            let cooc = models::fit_cooc(t, o.window, &base.popularity.item_users);
            (Scorer::Ease(Box::new(ease), cooc), Some(gram))
        }
    })
}

fn cascade(o: &Options, model: ModelKind) -> Cascade {
    Cascade {
        model,
        k: o.k,
        min_history: o.min_history,
        floor: o.score_floor,
        exclude_seen: o.exclude_seen,
    }
}

/// Users whose validation target λ is chosen on, at most: a seeded sample
/// by user id (so it does not depend on row order), enough to tell λs
/// apart and cheap on a million users.
pub const VALIDATION_USERS: usize = 20_000;

/// λ by NDCG@K on a leave-last-out split of the rows up to `ends`, over a
/// sample of [`VALIDATION_USERS`]; the others train with all their rows.
fn choose_lambda(
    inter: &Interactions,
    table: &crate::ingest::EventTable,
    ends: &[usize],
    o: &Options,
    progress: &crate::progress::Progress,
) -> Result<EaseInfo, DataError> {
    if let Some(l) = o.ease_lambda {
        return Ok(EaseInfo {
            items: 0,
            cap: o.ease_items as u64,
            lambda: l,
            lambda_from: "given".into(),
            grid: Vec::new(),
        });
    }
    let mut split = eval::leave_last_out(inter, ends);
    let mut keys: Vec<(u64, usize)> = (0..inter.users.len())
        .filter(|&u| !split.targets[u].is_empty())
        .map(|u| {
            let name = table.user_names.get(inter.users[u].user);
            (crate::rng::user_key(name, o.seed), u)
        })
        .collect();
    if keys.len() > VALIDATION_USERS {
        keys.select_nth_unstable(VALIDATION_USERS - 1);
        let mut keep = vec![false; inter.users.len()];
        for &(_, u) in &keys[..VALIDATION_USERS] {
            keep[u] = true;
        }
        for u in 0..inter.users.len() {
            if !keep[u] {
                split.targets[u].clear();
                split.ends[u] = ends[u];
            }
        }
    }
    let t = Train::new(inter, split.ends.clone(), o.half_life_ms);
    let base = models::base(&t);
    let validating = (0..inter.users.len())
        .filter(|&u| !split.targets[u].is_empty() && !base.histories[u].items.is_empty())
        .count();
    if validating == 0 {
        return Ok(EaseInfo {
            items: 0,
            cap: o.ease_items as u64,
            lambda: super::config::DEFAULT_GRID[1],
            lambda_from: "the default: no user has history before a validation target".into(),
            grid: Vec::new(),
        });
    }
    let gram = Gram::from_histories(&base.histories, &base.popularity.item_users, o.ease_items);
    let cooc = models::fit_cooc(&t, o.window, &base.popularity.item_users);
    progress.stage("choosing EASE's lambda on a validation split");
    let mut grid = Vec::new();
    let bar = progress.bar(o.lambda_grid.len() as u64, "EASE lambda");
    for &l in &o.lambda_grid {
        let ease = gram.solve(l).map_err(|e| {
            DataError::Input(format!("EASE could not be solved with lambda {l}: {e}"))
        })?;
        let scorer = Scorer::Ease(Box::new(ease), cooc.clone());
        let r = eval::run(inter, &base, &scorer, &cascade(o, ModelKind::Ease), &split);
        grid.push(GridPoint {
            lambda: l,
            ndcg: eval::figures(&r.warm).ndcg,
        });
        bar.done(&format!("lambda {l}"));
    }
    drop(bar);
    // Best NDCG; ties to the smaller λ (the grid's order otherwise).
    let best = grid
        .iter()
        .max_by(|a, b| {
            a.ndcg
                .total_cmp(&b.ndcg)
                .then(b.lambda.total_cmp(&a.lambda))
        })
        .map_or(super::config::DEFAULT_GRID[1], |g| g.lambda);
    Ok(EaseInfo {
        items: 0,
        cap: o.ease_items as u64,
        lambda: best,
        lambda_from: format!(
            "validation: NDCG@{} on a leave-last-out split of the training data, {} users",
            o.k,
            crate::doc::fmt::thousands(validating as u64)
        ),
        grid,
    })
}

pub fn recommend(
    mut inter: Interactions,
    table: &crate::ingest::EventTable,
    o: &Options,
    mode: Mode,
    catalog: Option<&super::catalog::Catalog>,
    progress: &crate::progress::Progress,
) -> Result<Recommendations, DataError> {
    if inter.n_items() == 0 {
        return Err(DataError::Input(format!(
            "no interactions: no counted event has a value in the item column {:?}{}",
            o.item_column,
            match &o.weights {
                Some(w) => format!(
                    " (counted events: {})",
                    w.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                None => String::new(),
            }
        )));
    }
    if inter.n_items() == 1 {
        return Err(DataError::Input(format!(
            "only one item ({:?}) in the item column {:?}: there is nothing to choose between",
            inter.item_names[0], o.item_column
        )));
    }
    let all_ends: Vec<usize> = inter.users.iter().map(|u| u.range.end).collect();
    let uses_ease = o.models.contains(&ModelKind::Ease);

    let mut evaluation = None;
    let mut ease_info = None;
    let mut ranks = Vec::new();
    if mode.evaluate {
        let split = match o.split_at_ms {
            Some(at) => eval::time_split(&inter, at, o.exclude_seen),
            None => eval::leave_last_out(&inter, &all_ends),
        };
        if uses_ease {
            ease_info = Some(choose_lambda(&inter, table, &split.ends, o, progress)?);
        }
        let (e, r) = evaluate(&inter, o, &split, ease_info.as_mut(), progress)?;
        evaluation = Some(e);
        ranks = r;
    } else if uses_ease && o.serve == ModelKind::Ease {
        ease_info = Some(choose_lambda(&inter, table, &all_ends, o, progress)?);
    }

    // The catalog's titles name items in reasons; its new items (nobody
    // interacted with them, so no model scores them and no evaluation
    // target can be one) join the item list after the interacted ones.
    let interacted = inter.n_items();
    let placed = catalog.map(|c| super::catalog::place(c, &inter.item_names));
    if let Some(p) = &placed {
        inter.titles = p.titles.clone();
        inter.categories = p.categories.clone();
    }
    let mut lists = Vec::new();
    let mut summary = None;
    let mut with_new = 0u64;
    let train = Train::new(&inter, all_ends.clone(), o.half_life_ms);
    let base = models::base(&train);
    let fallbacks = fallback_lists(&inter, &base, o);
    if mode.lists {
        progress.stage(&format!("fitting {} on every interaction", o.serve.name()));
        let (scorer, gram) = fit(
            o.serve,
            &train,
            &base,
            o,
            ease_info.as_ref().map(|e| e.lambda),
        )?;
        if let (Some(info), Some(g)) = (ease_info.as_mut(), &gram) {
            info.items = g.items.len() as u64;
        }
        progress.stage(&format!(
            "scoring {} users",
            crate::doc::fmt::thousands(inter.users.len() as u64)
        ));
        let c = cascade(o, o.serve);
        let n = inter.n_items();
        lists = (0..inter.users.len())
            .into_par_iter()
            .map_init(
                || (Scored::new(n), Vec::new()),
                |(scored, dense), u| {
                    let h = &base.histories[u];
                    if let Some(l) = c.ease_list(&scorer, h, dense) {
                        return l;
                    }
                    c.score(&scorer, h, scored);
                    c.list(
                        &scorer,
                        h,
                        scored,
                        fallback(&base.popularity, &inter.users[u]),
                    )
                },
            )
            .collect();
        if let Some(p) = &placed
            && o.new_items > 0
        {
            with_new = lists
                .par_iter_mut()
                .enumerate()
                .map(|(u, l)| u64::from(p.fill(l, &base.histories[u], o.k, o.new_items)))
                .sum();
        }
    }
    if let Some(p) = &placed {
        inter.item_names.extend(p.new_names.iter().cloned());
    }
    if mode.lists {
        summary = Some(summarize(&inter, table, &lists, o));
    }
    let users_with = inter.users.iter().filter(|u| !u.range.is_empty()).count() as u64;
    let report = RecommendReport {
        item_column: o.item_column.clone(),
        weights: o.weights.clone(),
        half_life: o.half_life_ms.map(crate::duration::format_ms),
        k: o.k,
        exclude_seen: o.exclude_seen,
        min_history: o.min_history,
        score_floor: o.score_floor,
        cooc_window: match o.window {
            Window::Session => "within the same session".into(),
            w => w.describe(),
        },
        interactions: inter.rows.len() as u64,
        users: inter.users.len() as u64,
        users_with_interactions: users_with,
        items: interacted as u64,
        empty_item_events: inter.empty_items,
        fallback_by: inter.groups.iter().map(|g| g.0.clone()).collect(),
        ease: ease_info,
        evaluation,
        lists: summary,
        catalog: catalog
            .zip(placed.as_ref())
            .map(|(c, p)| super::catalog::CatalogInfo {
                file: c.file.clone(),
                id_column: c.id_column.clone(),
                items: c.ids.len() as u64,
                with_title: c.titles.iter().filter(|t| t.is_some()).count() as u64,
                category_column: c.category_column.clone(),
                categories: c.categories.len().saturating_sub(1) as u64,
                new_items: p.new_names.len() as u64,
                not_in_catalog: p.missing,
                slots: o.new_items,
                users_with_new_items: with_new,
            }),
    };
    Ok(Recommendations {
        report,
        inter,
        lists,
        fallbacks,
        ranks,
    })
}

fn evaluate(
    inter: &Interactions,
    o: &Options,
    split: &Split,
    mut ease: Option<&mut EaseInfo>,
    progress: &crate::progress::Progress,
) -> Result<(Evaluation, ModelRanks), DataError> {
    let t = Train::new(inter, split.ends.clone(), o.half_life_ms);
    let base = models::base(&t);
    let mut runs = Vec::new();
    let bar = progress.bar(o.models.len() as u64, "models evaluated");
    for &m in &o.models {
        let (scorer, gram) = fit(m, &t, &base, o, ease.as_ref().map(|e| e.lambda))?;
        if let (Some(info), Some(g)) = (ease.as_deref_mut(), &gram) {
            info.items = g.items.len() as u64;
        }
        runs.push((m, eval::run(inter, &base, &scorer, &cascade(o, m), split)));
        bar.done(m.name());
    }
    drop(bar);
    let pop = runs
        .iter()
        .find(|(m, _)| *m == ModelKind::Popularity)
        .map(|(_, r)| r.warm.clone())
        .unwrap_or_default();
    let cold = runs
        .first()
        .map(|(_, r)| r.cold.clone())
        .unwrap_or_default();
    let models: Vec<ModelEval> = runs
        .iter()
        .map(|(m, r)| {
            let (coverage, avg_popularity, gini) =
                eval::exposure(&r.shown, &base.popularity.item_users);
            ModelEval {
                model: m.name().into(),
                figures: eval::figures(&r.warm),
                coverage,
                avg_popularity,
                gini,
                filled_by_fallback: r.filled,
                vs_popularity: (*m != ModelKind::Popularity)
                    .then(|| eval::paired_bootstrap(&r.warm, &pop, o.bootstrap, o.seed))
                    .flatten()
                    .map(|(hit_rate, ndcg)| VsPopularity {
                        hit_rate,
                        ndcg,
                        resamples: o.bootstrap,
                    }),
            }
        })
        .collect();
    let rule = match &o.eval_events {
        Some(e) => format!("the last {} of each user", e.join(" or ")),
        None => "each user's last counted interaction".into(),
    };
    let evaluation = Evaluation {
        protocol: match o.split_at_ms {
            Some(at) => format!(
                "time split at {}: train before it, test on the distinct items after it ({})",
                crate::ingest::timestamp::format_ms(at),
                match &o.eval_events {
                    Some(e) => format!("{} events", e.join(", ")),
                    None => "any counted event".into(),
                }
            ),
            None => format!(
                "leave-last-out: {rule} is held out with the run of interactions with the same item just before it; training sees every user's history before their target"
            ),
        },
        users: pop.len() as u64,
        cold_users: cold.len() as u64,
        cold: eval::figures(&cold),
        seen_targets: split.seen_targets,
        figures: models
            .iter()
            .map(|m: &ModelEval| (m.model.clone(), m.figures.clone()))
            .collect(),
        models,
    };
    let ranks = runs.into_iter().map(|(m, r)| (m, r.ranks)).collect();
    Ok((evaluation, ranks))
}

fn fallback_lists(inter: &Interactions, base: &Base, o: &Options) -> Fallbacks {
    let list = |r: &models::Ranked, source| -> Vec<Entry> {
        r.order
            .iter()
            .filter(|&&i| r.score[i as usize] > 0.0)
            .take(o.k)
            .map(|&i| Entry {
                item: i,
                score: r.score[i as usize],
                source,
                because: None,
            })
            .collect()
    };
    let mut groups = Vec::new();
    for (col, (name, values)) in inter.groups.iter().enumerate() {
        for (v, r) in base.popularity.groups[col].iter().enumerate() {
            if let Some(r) = r {
                groups.push((
                    name.clone(),
                    values[v].clone(),
                    list(
                        r,
                        super::lists::Source::Group {
                            col,
                            value: v as u32,
                        },
                    ),
                ));
            }
        }
    }
    Fallbacks {
        global: list(&base.popularity.global, super::lists::Source::Global),
        groups,
    }
}

/// Examples: the first users (in id order) of each kind of list.
const EXAMPLES: usize = 3;

fn summarize(
    inter: &Interactions,
    table: &crate::ingest::EventTable,
    lists: &[Vec<Entry>],
    o: &Options,
) -> ListsSummary {
    let (mut m, mut g, mut gl) = (0u64, 0u64, 0u64);
    for l in lists {
        match l.first().map(|e| e.source) {
            Some(super::lists::Source::Group { .. }) => g += 1,
            Some(super::lists::Source::Global) | None => gl += 1,
            Some(_) => m += 1,
        }
    }
    let mut examples = Vec::new();
    let mut kinds = [0usize; 3];
    for (u, l) in lists.iter().enumerate() {
        let kind = match l.first().map(|e| e.source) {
            Some(super::lists::Source::Group { .. }) => 1,
            Some(super::lists::Source::Global) | None => 2,
            Some(_) => 0,
        };
        let limit = if kind == 0 { EXAMPLES } else { 1 };
        if kinds[kind] >= limit || l.is_empty() {
            continue;
        }
        kinds[kind] += 1;
        let rows = &inter.rows[inter.users[u].range.clone()];
        let mut history: Vec<String> = Vec::new();
        for r in rows.iter().rev() {
            let name = &inter.item_names[r.item as usize];
            if !history.contains(name) {
                history.push(name.clone());
            }
            if history.len() >= 5 {
                break;
            }
        }
        examples.push(Example {
            user_id: table.user_names.get(inter.users[u].user).to_string(),
            history,
            items: items(inter, l),
        });
    }
    ListsSummary {
        model: o.serve.name().into(),
        users: lists.len() as u64,
        from_model: m,
        from_group: g,
        from_global: gl,
        generated_at: inter
            .last_ts
            .map(crate::ingest::timestamp::format_ms)
            .unwrap_or_default(),
        examples,
    }
}

pub fn items(inter: &Interactions, l: &[Entry]) -> Vec<ListItem> {
    l.iter()
        .enumerate()
        .map(|(r, e)| ListItem {
            item_id: inter.item_names[e.item as usize].clone(),
            score: round6(e.score),
            rank: r as u32 + 1,
            source: e.source.name().into(),
            reason: reason(inter, e),
        })
        .collect()
}
