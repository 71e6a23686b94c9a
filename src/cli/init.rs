//! `journeymap init`: print a commented starter journey.toml for an export.

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::error::DataError;
use crate::ingest;
use crate::progress::Progress;
use crate::starter;

/// Print a starter journey.toml inferred from the data: the columns used, the
/// event vocabulary, a suggested funnel and a stage mapping to edit. Columns
/// not found under their default names are guessed from the header.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap init events.csv > journey.toml
  journeymap init 'exports/*.parquet' > journey.toml && $EDITOR journey.toml
  journeymap report events.csv --config journey.toml --out out/")]
pub struct InitArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run(args: &InitArgs) -> Result<()> {
    let cfg = crate::config::JourneyConfig::default();
    let paths = ingest::resolve_inputs(&args.input.files)?;
    let opts = args.input.options(&cfg)?;
    // stdin can be read once only: its columns are not guessed.
    let header = if paths[0].as_os_str() == ingest::STDIN {
        Vec::new()
    } else {
        ingest::header(&paths[0], opts.ingest.delimiter)?
    };
    let (user, event, time, session) = starter::guess_mapping(&header);
    let mut input = args.input.clone();
    let defaults = ingest::ColumnMapping::default();
    // A column named by a flag is used as it is; a default that the file
    // lacks is replaced by the best guess from the header.
    let pick = |given: &Option<String>, default: &str, guess: Option<String>| -> String {
        match given {
            Some(g) => g.clone(),
            None if header.iter().any(|h| h == default) => default.to_string(),
            None => guess.unwrap_or_else(|| default.to_string()),
        }
    };
    input.user_col = Some(pick(&args.input.user_col, &defaults.user, user));
    input.event_col = Some(pick(&args.input.event_col, &defaults.event, event));
    input.time_col = Some(pick(&args.input.time_col, &defaults.time, time));
    if input.session_col.is_none() && !header.iter().any(|h| h == ingest::DEFAULT_SESSION_COL) {
        input.session_col = session;
    }
    let loaded = input.load(&cfg, &Progress::new())?;
    let t = &loaded.ingested.table;
    if t.is_empty() {
        return Err(DataError::Input(
            "no usable rows: nothing to infer a config from (see `journeymap inspect`)".into(),
        )
        .into());
    }
    let mut counts = vec![0u64; t.event_names.len()];
    for &e in &t.event {
        counts[e as usize] += 1;
    }
    let mut vocabulary: Vec<(String, u64)> =
        t.event_names.iter().map(String::from).zip(counts).collect();
    vocabulary.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let columns = &loaded.parameters.columns;
    let section = crate::config::InputSection {
        user_col: Some(columns.user.clone()),
        event_col: Some(columns.event.clone()),
        time_col: Some(columns.time.clone()),
        session_col: columns.session.clone(),
        delimiter: (opts.ingest.delimiter != b',').then(|| match opts.ingest.delimiter {
            b'\t' => "tab".to_string(),
            d => (d as char).to_string(),
        }),
        time_format: opts.ingest.time_format.clone(),
        session_gap: args.input.session_gap,
        drop_duplicates: args.input.drop_duplicates.then_some(true),
    };
    super::out(&starter::render(t, &section, &vocabulary, &files))?;
    Ok(())
}
