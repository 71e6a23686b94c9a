//! `journeymap recommend train` and `journeymap recommend evaluate`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::input::InputArgs;
use super::{out, outln};
use crate::config::{self, JourneyConfig};
use crate::duration::Duration;
use crate::error::UsageError;
use crate::pipeline::Context;
use crate::progress::Progress;
use crate::recommend::analysis::{RankRows, RecRows, Recommend};
use crate::recommend::config::{ModelKind, Options, RecommendSection};
use crate::recommend::run::Mode;

/// Next-item recommendations: train the lists a serving endpoint answers
/// from, or evaluate the models against popularity on held-out
/// interactions. Semantics: docs/recommend.md.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap recommend evaluate events.parquet --item-col product_id --weights view=1,add_to_cart=3,purchase=5
  journeymap recommend train events.parquet --item-col product_id --model-out recs.model --out recs.csv
  journeymap recommend evaluate events.csv --config journey.toml --check 'recommend.ease.hit_rate >= 0.2'

Each subcommand's --help has more.")]
pub struct RecommendArgs {
    #[command(subcommand)]
    pub command: RecommendCommand,
}

#[derive(Debug, Subcommand)]
pub enum RecommendCommand {
    Train(Box<TrainArgs>),
    Evaluate(Box<EvaluateArgs>),
}

/// Settings shared by train and evaluate; flags override [recommend] in --config.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// journey.toml with a [recommend] section
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The column naming the item (product_id, book_id)
    #[arg(long, value_name = "COLUMN", help_heading = "Recommend")]
    pub item_col: Option<String>,

    /// Counted events and their weights, e.g. view=1,add_to_cart=3,purchase=5 [default: every event with an item, 1]
    #[arg(long, value_name = "EVENT=W,...", help_heading = "Recommend")]
    pub weights: Option<String>,

    /// Exponential time decay of each interaction, e.g. 14d [default: none]
    #[arg(long, value_name = "DURATION", help_heading = "Recommend")]
    pub half_life: Option<Duration>,

    /// List length (and the K of HR@K) [default: 10]
    #[arg(long, short, value_name = "K", help_heading = "Recommend")]
    pub k: Option<usize>,

    /// Distinct items a user needs before the model answers [default: 1]
    #[arg(long, value_name = "N", help_heading = "Recommend")]
    pub min_history: Option<usize>,

    /// Model scores at or below this fall back to popularity [default: 0]
    #[arg(long, value_name = "SCORE", help_heading = "Recommend")]
    pub score_floor: Option<f64>,

    /// Allow items the user already interacted with
    #[arg(long, help_heading = "Recommend")]
    pub include_seen: bool,

    /// Co-occurrence pairs within the session, or within a duration such as 30d [default: 30d]
    #[arg(long, value_name = "WINDOW", help_heading = "Recommend")]
    pub cooc_window: Option<String>,

    /// EASE runs on this many most frequent items [default: 2000]
    #[arg(long, value_name = "N", help_heading = "Recommend")]
    pub ease_items: Option<usize>,

    /// EASE's λ [default: chosen on a validation split from 50, 250, 1000]
    #[arg(long, value_name = "LAMBDA", help_heading = "Recommend")]
    pub ease_lambda: Option<f64>,

    /// Columns whose popularity serves cold-start users, comma-separated [default: channel, device]
    #[arg(long, value_name = "COLUMNS", help_heading = "Recommend")]
    pub fallback_by: Option<String>,

    /// A CSV of the items (id, title, category): titles in reasons, and new items a place by category
    #[arg(long, value_name = "FILE", help_heading = "Recommend")]
    pub catalog: Option<PathBuf>,

    /// The catalog's category column [default: category, genre or author]
    #[arg(long, value_name = "COLUMN", help_heading = "Recommend")]
    pub catalog_category: Option<String>,

    /// List places for catalog items nobody interacted with yet [default: 1 with --catalog]
    #[arg(long, value_name = "N", help_heading = "Recommend")]
    pub new_items: Option<usize>,

    /// Fail (exit 4) unless this holds, e.g. 'recommend.ease.hit_rate >= 0.2' (repeatable)
    #[arg(long = "check", value_name = "EXPR", help_heading = "Output")]
    pub checks: Vec<String>,

    /// Print the section as JSON instead of tables
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

/// Fits the serving model on every interaction and writes each user's
/// top-k list (recs.csv or .parquet: user_id, rank, item_id, score,
/// source, reason) and the model file `serve` loads.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap recommend train events.parquet --item-col product_id --model-out recs.model
  journeymap recommend train books.csv --item-col book_id --weights view=1,add_to_cart=3,purchase=5 \\
      --half-life 30d --model ease --out recs.parquet --model-out recs.model
  journeymap recommend train events.csv --config journey.toml --model cooc --out recs.csv
  journeymap recommend train books.parquet --item-col book_id --catalog books.catalog.csv --new-items 2 --out recs.csv")]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,

    /// The model whose lists are written [default: ease]
    #[arg(long = "model", value_name = "MODEL", help_heading = "Recommend")]
    pub serve: Option<ModelKind>,

    /// Every user's list (.csv or .parquet)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// The model file for `journeymap serve`
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub model_out: Option<PathBuf>,

    /// Also evaluate every model first (as `recommend evaluate`)
    #[arg(long, help_heading = "Recommend")]
    pub evaluate: bool,

    #[command(flatten)]
    pub csv: super::input::CsvArgs,
}

/// Holds out each user's last interaction (or their last --eval-event,
/// or everything after --split-at), ranks the whole catalog for them with
/// every model through the cold-start cascade, and reports HR@K, recall@K,
/// NDCG@K, MRR, coverage and popularity bias, with each model's paired
/// bootstrap interval against popularity.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap recommend evaluate events.parquet --item-col product_id
  journeymap recommend evaluate books.csv --item-col book_id --weights view=1,add_to_cart=3,purchase=5 \\
      --eval-event add_to_cart,purchase --models popularity,cooc,ease
  journeymap recommend evaluate events.csv --item-col product_id --split-at 2026-10-20 --json")]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,

    /// Models to compare, comma-separated (popularity is always there) [default: popularity,cooc,markov,ease]
    #[arg(
        long,
        value_name = "MODELS",
        value_delimiter = ',',
        help_heading = "Recommend"
    )]
    pub models: Option<Vec<ModelKind>>,

    /// Test on each user's last event of these kinds, comma-separated [default: the last counted one]
    #[arg(long, value_name = "EVENTS", help_heading = "Recommend")]
    pub eval_event: Option<String>,

    /// A global time split instead: train before this date or time, test after
    #[arg(long, value_name = "WHEN", help_heading = "Recommend")]
    pub split_at: Option<String>,

    /// Bootstrap resamples for the intervals against popularity [default: 1000]
    #[arg(long, value_name = "N", help_heading = "Recommend")]
    pub bootstrap: Option<usize>,

    /// Seed of the bootstrap [default: 1]
    #[arg(long, value_name = "N", help_heading = "Recommend")]
    pub seed: Option<u64>,

    /// Every tested target's rank per model (.csv or .parquet: user_id, model, item_id, rank, hit)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub ranks_out: Option<PathBuf>,

    #[command(flatten)]
    pub csv: super::input::CsvArgs,
}

pub fn run(args: &RecommendArgs) -> Result<()> {
    match &args.command {
        RecommendCommand::Train(a) => train(a),
        RecommendCommand::Evaluate(a) => evaluate(a),
    }
}

fn parse_weights(s: &str) -> Result<BTreeMap<String, f64>, UsageError> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (e, w) = part.split_once('=').ok_or_else(|| {
            UsageError(format!(
                "--weights: {part:?} has no weight: write EVENT=WEIGHT, e.g. view=1,purchase=5"
            ))
        })?;
        let w: f64 = w.trim().parse().map_err(|_| {
            UsageError(format!(
                "--weights: the weight of {e:?} is {w:?}, not a number"
            ))
        })?;
        out.insert(e.trim().to_string(), w);
    }
    if out.is_empty() {
        return Err(UsageError(
            "--weights: name at least one EVENT=WEIGHT".into(),
        ));
    }
    Ok(out)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// The config with the flags applied, and the gates.
fn section(m: &ModelArgs) -> Result<(JourneyConfig, RecommendSection, Vec<crate::checks::Check>)> {
    let cfg = match &m.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    let gates = m
        .checks
        .iter()
        .map(|c| crate::checks::parse(c))
        .collect::<Result<_, _>>()?;
    let mut s = cfg.recommend.clone().unwrap_or_default();
    if m.item_col.is_some() {
        s.item_column.clone_from(&m.item_col);
    }
    if let Some(w) = &m.weights {
        s.weights = Some(parse_weights(w)?);
    }
    s.half_life = m.half_life.or(s.half_life);
    s.k = m.k.or(s.k);
    s.min_history = m.min_history.or(s.min_history);
    s.score_floor = m.score_floor.or(s.score_floor);
    if m.include_seen {
        s.exclude_seen = Some(false);
    }
    if m.cooc_window.is_some() {
        s.cooc_window.clone_from(&m.cooc_window);
    }
    s.ease_items = m.ease_items.or(s.ease_items);
    if let Some(c) = &m.catalog {
        // A flag's path is the shell's: relative to here, not to --config.
        s.catalog = Some(std::env::current_dir().map_or_else(|_| c.clone(), |d| d.join(c)));
    }
    s.catalog_category = m.catalog_category.clone().or(s.catalog_category.take());
    s.new_items = m.new_items.or(s.new_items);
    s.ease_lambda = m.ease_lambda.or(s.ease_lambda);
    if let Some(f) = &m.fallback_by {
        s.fallback_by = Some(list(f));
    }
    Ok((cfg, s, gates))
}

fn load_and_run(
    input: &InputArgs,
    mut cfg: JourneyConfig,
    s: RecommendSection,
    json: bool,
    gates: &[crate::checks::Check],
    write: impl FnOnce(
        &crate::recommend::run::Recommendations,
        &crate::ingest::EventTable,
        &Progress,
    ) -> Result<Vec<String>>,
) -> Result<()> {
    Options::resolve(&s)?;
    let selection = crate::ingest::PropertySelection {
        named: s.properties(),
        unnamed: false,
    };
    cfg.recommend = Some(s);
    let progress = Progress::new();
    let data = input.load_selected(&cfg, Some(selection), &progress)?;
    let ctx = Context::new(&data, &cfg, &progress);
    progress.stage("recommendations");
    let product = <Recommend as crate::analysis::Analysis>::run(&ctx)?;
    let section = product.report.clone();
    let wrote = write(&product, ctx.table(), &progress)?;
    for w in ctx.warnings() {
        eprintln!("warning: {}", crate::doc::text::clean(&w));
    }
    progress.done();
    if json {
        outln(&serde_json::to_string_pretty(&section)?)?;
    } else {
        out(&crate::doc::text::render(
            &crate::recommend::analysis::document(&section),
        ))?;
        for w in wrote {
            outln(&format!("wrote {w}"))?;
        }
    }
    if gates.is_empty() {
        return Ok(());
    }
    let value = serde_json::json!({ "recommend": serde_json::to_value(&section)? });
    super::report::gate(&crate::checks::evaluate(&value, gates))
}

fn train(a: &TrainArgs) -> Result<()> {
    let (cfg, mut s, gates) = section(&a.model)?;
    if a.serve.is_some() {
        s.serve = a.serve;
    }
    if a.out.is_none() && a.model_out.is_none() {
        return Err(UsageError(
            "recommend train writes lists: pass --out recs.csv (or .parquet), --model-out recs.model, or both".into(),
        )
        .into());
    }
    if let Some(p) = &a.out {
        crate::output::Format::of(p, "--out")?;
    }
    s.mode = Some(Mode {
        evaluate: a.evaluate,
        lists: true,
    });
    let style = a.csv.style();
    load_and_run(
        &a.input,
        cfg,
        s,
        a.model.json,
        &gates,
        |p, table, progress| {
            let mut wrote = Vec::new();
            if let Some(path) = &a.out {
                progress.stage(&format!("writing {}", path.display()));
                crate::output::write(path, &RecRows::new(p, table), "--out", style)?;
                wrote.push(path.display().to_string());
            }
            if let Some(path) = &a.model_out {
                progress.stage(&format!("writing {}", path.display()));
                crate::atomic::write_with(path, |w| {
                    crate::recommend::modelfile::ModelFile::write_json(p, table, w)
                })?;
                wrote.push(path.display().to_string());
            }
            Ok(wrote)
        },
    )
}

fn evaluate(a: &EvaluateArgs) -> Result<()> {
    let (cfg, mut s, gates) = section(&a.model)?;
    if a.models.is_some() {
        s.models.clone_from(&a.models);
    }
    if let Some(e) = &a.eval_event {
        s.eval_events = Some(list(e));
    }
    if a.split_at.is_some() {
        s.split_at.clone_from(&a.split_at);
    }
    s.bootstrap = a.bootstrap.or(s.bootstrap);
    s.seed = a.seed.or(s.seed);
    s.mode = Some(Mode {
        evaluate: true,
        lists: false,
    });
    if let Some(p) = &a.ranks_out {
        crate::output::Format::of(p, "--ranks-out")?;
    }
    let style = a.csv.style();
    load_and_run(&a.input, cfg, s, a.model.json, &gates, |p, table, _| {
        let mut wrote = Vec::new();
        if let Some(path) = &a.ranks_out {
            crate::output::write(path, &RankRows::new(p, table), "--ranks-out", style)?;
            wrote.push(path.display().to_string());
        }
        Ok(wrote)
    })
}
