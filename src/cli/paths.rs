//! `journeymap paths`: the Markov journey map.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::config::{self, JourneyConfig};
use crate::error::UsageError;
use crate::paths::{self, PathsOptions, StateKind};
use crate::predicate::Predicate;
use crate::progress::Progress;

/// The Markov journey map: a Markov chain (first-order, or higher with --order) over each session's
/// events (or journey stages) from START to CONVERSION or EXIT, with the
/// transition probabilities, the exact probability of converting from each
/// state, each state's removal effect, and the most common paths.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap paths events.csv --target purchase
  journeymap paths 'exports/*.parquet' --target 'page_view[page=/thank-you]' --top 20
  journeymap paths events.csv --config journey.toml --states stage
  journeymap paths events.csv --target purchase --json > markov.json
  journeymap paths events.csv --target purchase --order 2

The conversion event comes from --target, else from [conversion] in --config.
A session's path ends at its first conversion event; see docs/paths.md.")]
pub struct PathsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// What a state is: the event name, or its journey stage from [[stages]] in --config [default: event, or [markov] states]
    #[arg(long, value_enum, help_heading = "Model")]
    pub states: Option<StateKind>,

    /// The conversion event: `event` or `event[prop=value,...]` [default: [conversion] in --config]
    #[arg(long, alias = "conversion", value_name = "EVENT", value_parser = Predicate::parse_cli, help_heading = "Model")]
    pub target: Option<Predicate>,

    /// journey.toml with [conversion], [[stages]] and [markov]
    #[arg(long, value_name = "FILE", help_heading = "Model")]
    pub config: Option<PathBuf>,

    /// How many paths to list for each ending (CONVERSION, EXIT) [default: 10]
    #[arg(long, value_name = "N", help_heading = "Model")]
    pub top: Option<usize>,

    /// How many past states a state remembers (1 = first-order chain, up to 4); higher orders fit journeys whose next step depends on where the session came from [default: 1, or [markov] order]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4), help_heading = "Model")]
    pub order: Option<u8>,

    /// Print the report as JSON on stdout instead of tables
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &PathsArgs) -> Result<()> {
    // Settle the options before reading any data: usage errors come first.
    let journey = match &args.config {
        Some(path) => config::load(path)?,
        None => JourneyConfig::default(),
    };
    let conversion = match (&args.target, &journey.conversion) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => c.event.clone(),
        (None, None) => {
            return Err(UsageError(
                "no conversion event: pass --target EVENT (e.g. --target purchase), or --config FILE with [conversion] event = \"...\"".into(),
            )
            .into());
        }
    };
    let section = journey.markov.clone().unwrap_or_default();
    let states = args.states.or(section.states).unwrap_or_default();
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
        top: args.top.or(section.top).unwrap_or(10),
        stages: journey.stages.clone(),
        order: args.order.map(usize::from).or(section.order).unwrap_or(1),
    };

    let progress = Progress::new();
    let selection = journey
        .properties_read()
        .with([&opts.conversion], None, false);
    let loaded = args
        .input
        .load_selected(&journey, Some(selection), &progress)?;
    progress.stage("building the journey map");
    let report = paths::analyze(&loaded.ingested.table, &loaded.sessions, &opts)?;
    progress.done();
    if args.json {
        super::outln(&serde_json::to_string_pretty(&report)?)?;
    } else {
        super::out(&crate::doc::text::render(
            &crate::report::sections::markov::document(&report),
        ))?;
    }
    Ok(())
}
