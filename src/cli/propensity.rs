//! `journeymap propensity`: train a propensity (or churn) model, and score
//! users with a saved one. Definitions: docs/propensity.md.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::input::InputArgs;
use super::{out, outln};
use crate::duration::{Duration, Horizon};
use crate::error::UsageError;
use crate::predicate::Predicate;
use crate::progress::Progress;
use crate::propensity::config::PropensitySection;
use crate::propensity::model::{ClassWeight, ModelFile};
use crate::propensity::{self, PropensityReport, ScoreSummary, TrainOptions, output};

/// Propensity and churn models: who will not convert (or will churn), early
/// enough to act, and which action to take.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap propensity train app.csv --target upgrade --observe 3d --horizon 14d --model-out model.json
  journeymap propensity score today.csv --model model.json --scores-out scores.csv

Each subcommand's --help has more.")]
pub struct PropensityArgs {
    #[command(subcommand)]
    pub command: PropensityCommand,
}

// Parsed once per run: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum PropensityCommand {
    Train(TrainArgs),
    Score(ScoreArgs),
}

/// Train a logistic model on the events before each user's cutoff, evaluate
/// it on a stratified hold-out and 5-fold CV, and save it as model.json.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap propensity train app.csv --target upgrade --observe 3d --horizon 14d --model-out model.json
  journeymap propensity train app.csv --target upgrade --milestone create_project --horizon all --model-out model.json
  journeymap propensity train app.csv --churn --inactive 30d --observe 7d --model-out churn.json
  journeymap propensity train app.csv --config journey.toml --model-out model.json --scores-out scores.csv --json
  journeymap propensity train app.csv --target upgrade --model-out m.json --features-out matrix.csv  # for scripts/sklearn_logistic_parity.py")]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// The conversion event (`event` or `event[prop=value]`) [default: [propensity] target, else [conversion] event]
    #[arg(long, value_name = "EVENT", help_heading = "Label")]
    pub target: Option<String>,

    /// Positive when the target happens within this long after the cutoff; `all`: any time after it [default: 14d]
    #[arg(long, value_name = "DURATION|all", help_heading = "Label")]
    pub horizon: Option<Horizon>,

    /// Cutoff this long after the user's first event [default: 3d]
    #[arg(long, value_name = "DURATION", help_heading = "Label")]
    pub observe: Option<Duration>,

    /// Cutoff at the user's first occurrence of this event instead
    #[arg(long, value_name = "EVENT", help_heading = "Label")]
    pub milestone: Option<String>,

    /// Churn model: positive when the user has no activity for --inactive after the cutoff
    #[arg(long, help_heading = "Label")]
    pub churn: bool,

    /// Inactivity that counts as churn [default: 30d]
    #[arg(long, value_name = "DURATION", help_heading = "Label")]
    pub inactive: Option<Duration>,

    /// journey.toml: [propensity] milestones, properties and defaults, [[interventions]], [[stages]], [funnel]
    #[arg(long, value_name = "FILE", help_heading = "Model")]
    pub config: Option<PathBuf>,

    /// L2 strength (linfa's alpha; scikit-learn C = 1/alpha) [default: chosen by 5-fold CV]
    #[arg(long, value_name = "ALPHA", help_heading = "Model")]
    pub l2: Option<f64>,

    /// balanced: repeat the rarer class's users round(majority/minority) times in the fit
    #[arg(long, value_enum, value_name = "WEIGHT", help_heading = "Model")]
    pub class_weight: Option<ClassWeight>,

    /// Share of labeled users held out (stratified) for evaluation [default: 0.2]
    #[arg(long, value_name = "SHARE", help_heading = "Model")]
    pub holdout: Option<f64>,

    /// Seed for the hold-out split and the folds [default: 42]
    #[arg(long, value_name = "N", help_heading = "Model")]
    pub seed: Option<u64>,

    /// Decision threshold on the score [default: best F1 on out-of-fold predictions]
    #[arg(long, value_name = "P", help_heading = "Model")]
    pub threshold: Option<f64>,

    /// Train only on users with consent for this purpose, read from the
    /// customer table of the config's [[sources]] (docs/decisions.md); the
    /// decision engine then uses the model for that purpose alone
    #[arg(long, value_name = "NAME", help_heading = "Model")]
    pub purpose: Option<String>,

    /// Leave out the automatic property features (categorical and numeric columns; docs/features.md)
    #[arg(long, help_heading = "Model")]
    pub no_auto_features: bool,

    /// Where to save the model
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub model_out: PathBuf,

    /// Write every user's score as `score` would (.csv or .parquet)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub scores_out: Option<PathBuf>,

    /// Write the standardized matrix of the labeled users: user_id, split, features..., label
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub features_out: Option<PathBuf>,

    /// Print the propensity report as JSON instead of a summary
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    #[command(flatten)]
    pub csv: super::input::CsvArgs,
}

/// Score users with a saved model: one row per user with the score, the
/// risk band, the journey stage at the cutoff and the intervention chosen.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap propensity score today.csv --model model.json --scores-out scores.csv
  journeymap propensity score 'exports/*.parquet' --model model.json --scores-out scores.parquet --json
  journeymap propensity score today.csv --model model.json --scores-out scores.csv --contributions-out why.csv
  journeymap propensity score today.csv --model model.json --config journey.toml --scores-out scores.csv  # newer rules")]
pub struct ScoreArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// model.json from `propensity train`
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,

    /// Scores file (.csv or .parquet); `--out` is an older name for it
    #[arg(long, alias = "out", value_name = "FILE")]
    pub scores_out: PathBuf,

    /// Also write every scored user's additive contributions to the log-odds (.csv or .parquet): base_log_odds + the feature columns = log_odds
    #[arg(long, value_name = "FILE")]
    pub contributions_out: Option<PathBuf>,

    /// Take [[interventions]] and [[stages]] from this journey.toml instead of the model
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Score even when some of the model's events are absent from this data (counted as never done)
    #[arg(long)]
    pub allow_missing_events: bool,

    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub csv: super::input::CsvArgs,
}

pub fn run(args: &PropensityArgs) -> Result<()> {
    match &args.command {
        PropensityCommand::Train(a) => train(a),
        PropensityCommand::Score(a) => score(a),
    }
}

fn predicate(s: &Option<String>, flag: &str) -> Result<Option<Predicate>> {
    s.as_deref()
        .map(|v| Predicate::parse_cli(v).map_err(|e| UsageError(format!("{flag}: {e}")).into()))
        .transpose()
}

fn train(args: &TrainArgs) -> Result<()> {
    let cfg = match &args.config {
        Some(p) => crate::config::load(p)?,
        None => Default::default(),
    };
    let overrides = PropensitySection {
        target: predicate(&args.target, "--target")?,
        observe: args.observe,
        milestone: predicate(&args.milestone, "--milestone")?,
        horizon: args.horizon,
        churn: args.churn.then_some(true),
        inactive: args.inactive,
        l2: args.l2,
        class_weight: args.class_weight,
        holdout: args.holdout,
        seed: args.seed,
        threshold: args.threshold,
        purpose: args.purpose.clone(),
        ..PropensitySection::default()
    };
    if args.churn && args.target.is_some() {
        return Err(UsageError(
            "--churn and --target: a model predicts one outcome; pass one".into(),
        )
        .into());
    }
    let mut opts = TrainOptions::new(&cfg, &overrides)?.with_consent(&cfg, &overrides)?;
    opts.auto_features &= !args.no_auto_features;
    for (p, flag) in [
        (&args.scores_out, "--scores-out"),
        (&args.features_out, "--features-out"),
    ] {
        if let Some(p) = p {
            crate::output::Format::of(p, flag)?;
        }
    }
    let progress = Progress::new();
    let named = overrides.target.iter().chain(&overrides.milestone);
    let selection = cfg.properties_read().with(named, None, opts.auto_features);
    let loaded = args.input.load_selected(&cfg, Some(selection), &progress)?;
    let t = &loaded.ingested.table;
    let trained = propensity::train(
        t,
        &loaded.sessions,
        &loaded.ingested.files,
        &opts,
        &progress,
    )?;
    progress.stage("fairness");
    let fair_sec = cfg.fairness.clone().unwrap_or_default();
    let fairness =
        (!trained.model.properties.is_empty() || !fair_sec.groups.is_empty()).then(|| {
            crate::fairness::analysis::assess_trained(t, &trained, &fair_sec, &mut |w| {
                eprintln!("warning: {}", crate::doc::text::clean(&w))
            })
        });
    progress.stage("writing");
    crate::atomic::write_bytes(&args.model_out, trained.model_json.as_bytes())?;
    let card_path = propensity::card::card_path(&args.model_out);
    let mut card = Vec::new();
    card.extend(propensity::card::card(
        &trained.report,
        fairness.as_ref(),
        1,
    ));
    if let Some(f) = &fairness {
        card.extend(crate::fairness::analysis::document(f));
    }
    crate::atomic::write_bytes(&card_path, crate::doc::markdown::render(&card).as_bytes())?;
    let style = args.csv.style();
    if let Some(p) = &args.scores_out {
        let rows = output::ScoreRows {
            table: t,
            scores: &trained.scores,
        };
        crate::output::write(p, &rows, "--scores-out", style)?;
    }
    if let Some(p) = &args.features_out {
        let rows = output::FeatureRows {
            table: t,
            matrix: &trained.matrix,
        };
        crate::output::write(p, &rows, "--features-out", style)?;
    }
    progress.done();
    if args.json {
        outln(&serde_json::to_string_pretty(&trained.report)?)?;
    } else {
        out(&render_train(&trained.report))?;
        outln(&format!(
            "wrote {} and {}",
            args.model_out.display(),
            card_path.display()
        ))?;
    }
    Ok(())
}

fn score(args: &ScoreArgs) -> Result<()> {
    crate::output::Format::of(&args.scores_out, "--scores-out")?;
    let what = args.model.display().to_string();
    let text = std::fs::read_to_string(&args.model)
        .map_err(|e| UsageError(format!("{what}: cannot read model: {e}")))?;
    let model = ModelFile::from_json(&text, &what)?;
    let cfg = match &args.config {
        Some(p) => Some(crate::config::load(p)?),
        None => None,
    };
    let (stages, rules) = match &cfg {
        Some(c) => (c.stages.clone(), c.interventions.clone()),
        None => (model.stages.clone(), model.interventions.clone()),
    };
    propensity::config::check_static(
        &rules,
        &model.milestones,
        model.risk_bands.high,
        model.risk_bands.medium,
    )?;
    let progress = Progress::new();
    let loaded = args
        .input
        .load(cfg.as_ref().unwrap_or(&Default::default()), &progress)?;
    let t = &loaded.ingested.table;
    propensity::check_model_matches(&model, t, args.allow_missing_events)?;
    progress.stage("scoring");
    if let Some(p) = &args.contributions_out {
        crate::output::Format::of(p, "--contributions-out")?;
    }
    let scores = propensity::score_with(
        t,
        &loaded.sessions,
        &model,
        &stages,
        &rules,
        args.contributions_out.is_some(),
    )?;
    let rows = output::ScoreRows {
        table: t,
        scores: &scores,
    };
    crate::output::write(&args.scores_out, &rows, "--scores-out", args.csv.style())?;
    if let Some(p) = &args.contributions_out {
        let rows = output::ContributionRows::new(t, &scores);
        crate::output::write(p, &rows, "--contributions-out", args.csv.style())?;
    }
    progress.done();
    let same = propensity::fingerprint(t, &loaded.ingested.files).content_hash
        == model.training_data.content_hash;
    if args.json {
        outln(&serde_json::to_string_pretty(&scores.summary)?)?;
    } else {
        if same {
            outln("(the same data the model was trained on)")?;
        }
        out(&render_summary(&scores.summary))?;
        outln(&format!("wrote {}", args.scores_out.display()))?;
    }
    Ok(())
}

/// The summary printed after scoring.
pub fn render_summary(s: &ScoreSummary) -> String {
    crate::doc::text::render(&crate::report::sections::propensity::score_summary(s))
}

/// What `train` prints: the propensity section.
pub fn render_train(r: &PropensityReport) -> String {
    crate::doc::text::render(&crate::report::sections::propensity::document(r))
}
