//! Recommendations as an analysis of the report (see [`crate::analysis`]).

use anyhow::Result;

use super::config::Options;
use super::interactions::{Build, Interactions};
use super::lists::reason;
use super::run::{Mode, RecommendReport, Recommendations, recommend};
use crate::analysis::{Alias, Analysis, UnitTable};
use crate::config::JourneyConfig;
use crate::doc::fmt::{pct, thousands};
use crate::doc::{Align, Block, Cell, Chart, Document, Line, Table, line};
use crate::ingest::EventTable;
use crate::output::{Cells, ColumnSpec, Kind, Rows};
use crate::pipeline::Context;
use crate::report::Report;

pub struct Recommend;

/// The fallback columns a run uses: the configured ones, else the channel
/// and device columns the export has.
pub fn fallback_columns(o: &Options, t: &EventTable) -> Vec<String> {
    match &o.fallback_by {
        Some(c) => c.clone(),
        None => crate::segments::features::CHANNEL_COLUMNS
            .iter()
            .chain(crate::segments::features::DEVICE_COLUMNS)
            .filter(|c| t.prop(c).is_some())
            .take(2)
            .map(|c| c.to_string())
            .collect(),
    }
}

/// Fills fallback group `g` with each user's k-means segment (the
/// report's `[segments]` per user): cold-start users with events but no
/// item get the popularity of their segment.
fn segment_groups(ctx: &Context, inter: &mut Interactions, g: usize) -> Result<()> {
    use crate::segments::{Unit, analysis::Segments};
    if !Segments::configured(ctx.config) {
        return Err(crate::error::UsageError(format!(
            "[recommend] fallback_by: {:?} means the report's k-means segments, but the config has no [segments] section; add one (unit = \"user\"), or drop it from fallback_by",
            super::config::SEGMENTS
        ))
        .into());
    }
    let seg = ctx.product::<Segments>()?;
    if seg.report.unit != Unit::User {
        return Err(crate::error::UsageError(
            "[recommend] fallback_by: the segments cluster sessions; popularity per segment needs [segments] unit = \"user\"".into(),
        )
        .into());
    }
    let mut of_user = std::collections::HashMap::new();
    for (&(user, _), &label) in seg.ids.iter().zip(&seg.labels) {
        of_user.insert(user, label + 1);
    }
    let mut values = vec![String::new()];
    values.extend(seg.report.segments.iter().map(|s| s.name.clone()));
    inter.groups[g] = ("segment".into(), values);
    for u in &mut inter.users {
        u.groups[g] = of_user.get(&u.user).copied().unwrap_or(0);
    }
    Ok(())
}

impl Analysis for Recommend {
    const KEY: &'static str = "recommend";
    const TITLE: &'static str = "recommendations";
    const COST: u32 = 4;
    type Section = RecommendReport;
    type Product = Recommendations;

    fn configured(cfg: &JourneyConfig) -> bool {
        cfg.recommend.is_some()
    }

    fn run(ctx: &Context) -> Result<Recommendations> {
        let s = ctx.config.recommend.clone().unwrap_or_default();
        let o = Options::resolve(&s)?;
        let mode = s.mode.unwrap_or(Mode {
            evaluate: true,
            lists: true,
        });
        let t = ctx.table();
        let fallback_by = fallback_columns(&o, t);
        for c in &fallback_by {
            if c == super::config::SEGMENTS {
                continue;
            }
            if t.prop(c).is_none() {
                return Err(crate::error::UsageError(format!(
                    "[recommend] fallback_by: the column {c:?} is not in the export"
                ))
                .into());
            }
        }
        if t.is_empty() {
            return Err(crate::error::DataError::Input(
                "no events: the export holds no rows, so there is nothing to recommend from".into(),
            )
            .into());
        }
        let inter = Interactions::build(
            t,
            &Build {
                item_column: &o.item_column,
                weights: o.weights.as_ref(),
                eval_events: o.eval_events.as_deref(),
                fallback_by: &fallback_by,
                user_ranges: ctx.user_ranges(),
                sessions: &ctx.sessions().of_event,
            },
        )?;
        let mut inter = inter;
        if let Some(g) = fallback_by
            .iter()
            .position(|c| c == super::config::SEGMENTS)
        {
            segment_groups(ctx, &mut inter, g)?;
        }
        if let Some(w) = &o.weights {
            for e in w.keys() {
                if !t.event_names.iter().any(|n| n == e) {
                    ctx.warn(format!(
                        "[recommend] weights: no event is named {e:?}; it counts nothing"
                    ));
                }
            }
        }
        let catalog = match &o.catalog {
            Some(path) => Some(super::catalog::load(
                &ctx.config.dir().join(path),
                &o.item_column,
                o.catalog_category.as_deref(),
            )?),
            None => None,
        };
        Ok(recommend(
            inter,
            t,
            &o,
            mode,
            catalog.as_ref(),
            ctx.progress,
        )?)
    }

    fn section(p: &Recommendations) -> RecommendReport {
        p.report.clone()
    }
    fn slot(r: &mut Report) -> &mut Option<RecommendReport> {
        &mut r.recommend
    }
    fn get(r: &Report) -> Option<&RecommendReport> {
        r.recommend.as_ref()
    }

    fn headline(s: &RecommendReport) -> Line {
        let mut l = line().text(format!(
            "recommendations: {} items, {} users with interactions",
            thousands(s.items),
            thousands(s.users_with_interactions)
        ));
        if let Some(e) = &s.evaluation {
            let best = e
                .models
                .iter()
                .max_by(|a, b| a.figures.hit_rate.total_cmp(&b.figures.hit_rate));
            let pop = e.models.iter().find(|m| m.model == "popularity");
            if let (Some(b), Some(p)) = (best, pop) {
                l = l.text(format!(
                    "; best HR@{} {} ({}) vs popularity {}",
                    s.k,
                    pct(b.figures.hit_rate),
                    b.model,
                    pct(p.figures.hit_rate)
                ));
            }
        }
        l.done()
    }

    fn document(s: &RecommendReport) -> Document {
        document(s)
    }

    fn tables<'a>(p: &'a Recommendations, ctx: &'a Context) -> Vec<UnitTable<'a>> {
        if p.lists.is_empty() {
            return Vec::new();
        }
        vec![UnitTable {
            file: "recs.csv",
            rows: Box::new(RecRows::new(p, ctx.table())),
        }]
    }

    fn aliases() -> &'static [Alias] {
        &[Alias {
            pattern: "recommend.*",
            target: "recommend.evaluation.figures.*",
        }]
    }
}

/// `user_id, rank, item_id, score, source, reason`: one row per list entry.
pub struct RecRows<'a> {
    p: &'a Recommendations,
    table: &'a EventTable,
    /// (user, entry) per row.
    at: Vec<(u32, u32)>,
}

impl<'a> RecRows<'a> {
    pub fn new(p: &'a Recommendations, table: &'a EventTable) -> RecRows<'a> {
        let at = p
            .lists
            .iter()
            .enumerate()
            .flat_map(|(u, l)| (0..l.len() as u32).map(move |e| (u as u32, e)))
            .collect();
        RecRows { p, table, at }
    }
}

impl Rows for RecRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("rank", Kind::Int),
            ColumnSpec::new("item_id", Kind::Text),
            ColumnSpec::new("score", Kind::Float),
            ColumnSpec::new("source", Kind::Text),
            ColumnSpec::new("reason", Kind::Text),
        ]
    }
    fn len(&self) -> usize {
        self.at.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let (u, e) = self.at[i];
        let entry = &self.p.lists[u as usize][e as usize];
        let inter: &Interactions = &self.p.inter;
        out.text(Some(
            self.table.user_names.get(inter.users[u as usize].user),
        ));
        out.int(Some(i64::from(e) + 1));
        out.text(Some(&inter.item_names[entry.item as usize]));
        out.float(Some(crate::stats::round6(entry.score)));
        out.text(Some(entry.source.name()));
        out.text(Some(&reason(inter, entry)));
    }
}

pub fn document(s: &RecommendReport) -> Document {
    let mut doc = vec![Block::title(2, "Recommendations")];
    let mut what = line()
        .text("Next-item recommendations from the item column ")
        .name(&s.item_column)
        .text(": ");
    what = match &s.weights {
        Some(w) => {
            let mut l = what.text("counted events (weight) ");
            for (i, (e, v)) in w.iter().enumerate() {
                if i > 0 {
                    l = l.text(", ");
                }
                l = l.name(e).text(format!(" ({v})"));
            }
            l
        }
        None => what.text("every event with an item counts, weight 1"),
    };
    what = what.text(format!(
        "{}. {} interactions of {} users with {} items ({} counted events had no item). Lists of {}, {}; co-occurrence pairs {}; a model answers users with at least {} distinct item{} and scores above {}.",
        s.half_life
            .as_ref()
            .map_or(String::new(), |h| format!(", halved every {h} before the last event")),
        thousands(s.interactions),
        thousands(s.users_with_interactions),
        thousands(s.items),
        thousands(s.empty_item_events),
        s.k,
        if s.exclude_seen {
            "items the user already interacted with excluded"
        } else {
            "already-seen items allowed"
        },
        s.cooc_window,
        s.min_history,
        if s.min_history == 1 { "" } else { "s" },
        s.score_floor
    ));
    doc.push(Block::para(what.done()));
    if let Some(c) = &s.catalog {
        let mut l = line().text("Catalog ").data(&c.file).text(format!(
            ": {} items ({} with a title), {} categories",
            thousands(c.items),
            thousands(c.with_title),
            thousands(c.categories)
        ));
        if let Some(col) = &c.category_column {
            l = l.text(" from ").name(col);
        }
        l = l.text(format!(
            "; {} catalog items nobody interacted with yet, {} interacted items it does not list. ",
            thousands(c.new_items),
            thousands(c.not_in_catalog)
        ));
        l = l.text(if c.slots == 0 {
            "New items are not placed in lists (new_items = 0).".to_string()
        } else {
            format!(
                "{} of a list {} to new items of the category the user's history weighs most ({} users' lists hold one; no model scores them, so their score is 0 and the offline evaluation, which ranks only interacted items, does not see them: the served lists hold {} other places, which `recommend evaluate -k {}` measures).",
                if c.slots == 1 { "The last place".to_string() } else { format!("The last {} places", c.slots) },
                if c.slots == 1 { "goes" } else { "go" },
                thousands(c.users_with_new_items),
                s.k - c.slots,
                s.k - c.slots
            )
        });
        doc.push(Block::para(l.done()));
    }
    if let Some(e) = &s.ease {
        let mut l = line().text(format!(
            "EASE ran on the {} most frequent items (cap {}), λ = {} ({}).",
            thousands(e.items),
            thousands(e.cap),
            e.lambda,
            e.lambda_from
        ));
        if !e.grid.is_empty() {
            let g: Vec<String> = e
                .grid
                .iter()
                .map(|p| format!("λ {} → NDCG@{} {:.4}", p.lambda, s.k, p.ndcg))
                .collect();
            l = l.text(format!(" Validation: {}.", g.join(", ")));
        }
        doc.push(Block::para(l.done()));
    }
    if let Some(ev) = &s.evaluation {
        doc.push(Block::title(3, "Evaluation"));
        doc.push(Block::text(format!(
            "Protocol: {}. Full ranking over all {} items, no sampled negatives. {} users tested with history; {} of their targets had been seen before{}. {} users had no history before their target: their fallback list hit {} (HR@{}).",
            ev.protocol,
            thousands(s.items),
            thousands(ev.users),
            thousands(ev.seen_targets),
            if s.exclude_seen { " (misses: seen items are excluded)" } else { "" },
            thousands(ev.cold_users),
            pct(ev.cold.hit_rate),
            s.k
        )));
        let k = s.k;
        let hr = format!("HR@{k}");
        let rc = format!("recall@{k}");
        let nd = format!("NDCG@{k}");
        let dh = format!("Δ HR@{k} vs popularity [95% CI]");
        let mut t = Table::new(&[
            ("model", Align::Left),
            (hr.as_str(), Align::Right),
            (rc.as_str(), Align::Right),
            (nd.as_str(), Align::Right),
            ("MRR", Align::Right),
            ("coverage", Align::Right),
            ("avg popularity", Align::Right),
            ("Gini", Align::Right),
            (dh.as_str(), Align::Right),
        ]);
        for m in &ev.models {
            t.row(vec![
                Cell::text(&m.model),
                Cell::pct(m.figures.hit_rate),
                Cell::pct(m.figures.recall),
                Cell::fixed(m.figures.ndcg, 4),
                Cell::fixed(m.figures.mrr, 4),
                Cell::pct(m.coverage),
                Cell::fixed(m.avg_popularity, 1),
                Cell::fixed(m.gini, 3),
                Cell::opt(m.vs_popularity.as_ref().map(|v| {
                    Cell::num(
                        v.hit_rate.diff,
                        format!(
                            "{:+.1} pp [{:+.1}, {:+.1}]",
                            100.0 * v.hit_rate.diff,
                            100.0 * v.hit_rate.low,
                            100.0 * v.hit_rate.high
                        ),
                    )
                })),
            ]);
        }
        doc.push(Block::Table(t));
        doc.push(Chart::bars(
            format!("HR@{k} by model"),
            format!(
                "share of the {} tested users whose target is in their top {k}",
                thousands(ev.users)
            ),
            ev.models
                .iter()
                .map(|m| (line().text(&m.model).done(), m.figures.hit_rate))
                .collect(),
        ));
    }
    if let Some(l) = &s.lists {
        doc.push(Block::title(3, "Lists"));
        doc.push(Block::text(format!(
            "{} users' lists from {} as of {}: {} start with the model, {} with their group's popularity, {} with global popularity (recs.csv holds every list).",
            thousands(l.users),
            l.model,
            l.generated_at,
            thousands(l.from_model),
            thousands(l.from_group),
            thousands(l.from_global)
        )));
        let mut t = Table::new(&[
            ("user", Align::Left),
            ("recent history", Align::Left),
            ("rank", Align::Right),
            ("item", Align::Left),
            ("source", Align::Left),
            ("reason", Align::Left),
        ]);
        for ex in &l.examples {
            for (i, it) in ex.items.iter().take(3).enumerate() {
                t.row(vec![
                    if i == 0 {
                        Cell::data(&ex.user_id)
                    } else {
                        Cell::text("")
                    },
                    if i == 0 {
                        Cell::data(ex.history.join(", "))
                    } else {
                        Cell::text("")
                    },
                    Cell::count(u64::from(it.rank)),
                    Cell::data(&it.item_id),
                    Cell::text(&it.source),
                    Cell::data(&it.reason),
                ]);
            }
        }
        doc.push(Block::Table(t));
    }
    doc
}

/// `user_id, model, item_id, rank, hit`: every evaluated target, per model
/// (rank empty: the item can never be listed, e.g. already seen).
pub struct RankRows<'a> {
    p: &'a Recommendations,
    table: &'a EventTable,
    at: Vec<(usize, usize)>,
}

impl<'a> RankRows<'a> {
    pub fn new(p: &'a Recommendations, table: &'a EventTable) -> RankRows<'a> {
        let at = p
            .ranks
            .iter()
            .enumerate()
            .flat_map(|(m, (_, r))| (0..r.len()).map(move |i| (m, i)))
            .collect();
        RankRows { p, table, at }
    }
}

impl Rows for RankRows<'_> {
    fn columns(&self) -> Vec<ColumnSpec> {
        vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("model", Kind::Text),
            ColumnSpec::new("item_id", Kind::Text),
            ColumnSpec::new("rank", Kind::Int),
            ColumnSpec::new("hit", Kind::Int),
        ]
    }
    fn len(&self) -> usize {
        self.at.len()
    }
    fn row(&self, i: usize, out: &mut dyn Cells) {
        let (m, j) = self.at[i];
        let (model, ranks) = &self.p.ranks[m];
        let (u, item, rank) = ranks[j];
        let inter = &self.p.inter;
        out.text(Some(
            self.table.user_names.get(inter.users[u as usize].user),
        ));
        out.text(Some(model.name()));
        out.text(Some(&inter.item_names[item as usize]));
        out.int(rank.map(|r| r as i64));
        out.int(Some(i64::from(
            rank.is_some_and(|r| r <= self.p.report.k as u64),
        )));
    }
}
