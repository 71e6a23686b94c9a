//! `journeymap paths`: the Markov journey map.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::input::InputArgs;
use crate::config::{self, JourneyConfig};
use crate::error::UsageError;
use crate::paths::{self, PathsOptions, StateKind};
use crate::predicate::Predicate;
use crate::progress::Progress;

/// The Markov journey map: a first-order Markov chain over each session's
/// events (or journey stages) from START to CONVERSION or EXIT, with the
/// transition probabilities, the exact probability of converting from each
/// state, each state's removal effect, and the most common paths.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap paths events.csv --conversion purchase
  journeymap paths 'exports/*.parquet' --conversion 'page_view[page=/thank-you]' --top 20
  journeymap paths events.csv --config journey.toml --states stage
  journeymap paths events.csv --conversion purchase --json > markov.json

The conversion event comes from --conversion, else from [conversion] in --config.
A session's path ends at its first conversion event; see docs/paths.md.")]
pub struct PathsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// What a state is: the event name, or its journey stage from [[stages]] in --config
    #[arg(long, value_enum, default_value_t = StatesArg::Event, help_heading = "Model")]
    pub states: StatesArg,

    /// The conversion event: `event` or `event[prop=value,...]` [default: [conversion] in --config]
    #[arg(long, value_name = "EVENT", value_parser = Predicate::parse_cli, help_heading = "Model")]
    pub conversion: Option<Predicate>,

    /// journey.toml with [conversion] and [[stages]]
    #[arg(long, value_name = "FILE", help_heading = "Model")]
    pub config: Option<PathBuf>,

    /// How many paths to list for each ending (CONVERSION, EXIT)
    #[arg(long, default_value_t = 10, value_name = "N", help_heading = "Model")]
    pub top: usize,

    /// Print the report as JSON on stdout instead of tables
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatesArg {
    /// The event name
    Event,
    /// The first [[stages]] entry that matches the event
    Stage,
}

pub fn run(args: &PathsArgs) -> Result<()> {
    // Settle the options before reading any data: usage errors come first.
    let journey = match &args.config {
        Some(path) => config::load(path)?,
        None => JourneyConfig::default(),
    };
    let conversion = match (&args.conversion, &journey.conversion) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => c.event.clone(),
        (None, None) => {
            return Err(UsageError(
                "no conversion event: pass --conversion EVENT (e.g. --conversion purchase), or --config FILE with [conversion] event = \"...\"".into(),
            )
            .into());
        }
    };
    let states = match args.states {
        StatesArg::Event => StateKind::Event,
        StatesArg::Stage => StateKind::Stage,
    };
    if states == StateKind::Stage && journey.stages.is_empty() {
        let place = match &args.config {
            Some(path) => format!("{} has no [[stages]]", path.display()),
            None => "no --config given".into(),
        };
        return Err(UsageError(format!(
            "--states stage needs a stage mapping, but {place}; add [[stages]] with name and events to journey.toml"
        ))
        .into());
    }
    let opts = PathsOptions {
        states,
        conversion,
        top: args.top,
        stages: journey.stages,
    };

    let progress = Progress::new();
    let loaded = args.input.load(&progress)?;
    progress.stage("building the journey map");
    let report = paths::analyze(&loaded.ingested.table, &loaded.sessions, &opts)?;
    progress.stage("done");
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            crate::doc::text::render(&crate::report::sections::markov::document(&report))
        );
    }
    Ok(())
}
