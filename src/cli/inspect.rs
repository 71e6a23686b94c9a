//! `journeymap inspect`: what is in an export, and what of it is usable.

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::progress::Progress;
use crate::summary;

/// Summarize an export: rows read, used and rejected (by reason), users,
/// sessions, time range, events per user and per session, session duration,
/// and the event vocabulary.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap inspect events.csv
  journeymap inspect 'exports/*.parquet' --json > summary.json
  journeymap inspect events.csv --rejects rejects.csv
  journeymap inspect raw.csv --user-col uid --event-col action --time-col ts --strict")]
pub struct InspectArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Print the summary as JSON on stdout instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let progress = Progress::new();
    let loaded = args.input.load_for_inspect(&progress)?;
    progress.stage("summarizing");
    let data = summary::summarize(&loaded.ingested, &loaded.sessions, &loaded.source);
    progress.done();
    if args.json {
        super::outln(&serde_json::to_string_pretty(&data)?)?;
    } else {
        super::out(&crate::doc::text::render(
            &crate::report::sections::data::inspect(&data),
        ))?;
    }
    Ok(())
}
