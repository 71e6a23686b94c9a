//! `journeymap demo`: the whole pipeline on generated data, on a fresh machine.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use crate::generate::{self, GenerateOptions, Scenario};
use crate::progress::Progress;

/// Generate a default e-commerce dataset with its journey.toml, run every
/// analysis the config names (funnel, stages, Markov map) and print where the
/// report is.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap demo
  journeymap demo --out /tmp/jm-demo --users 50000")]
pub struct DemoArgs {
    /// Directory for the dataset and the report
    #[arg(long, value_name = "DIR", default_value = "journeymap-demo")]
    pub out: PathBuf,

    /// Number of generated users
    #[arg(long, default_value_t = 5_000)]
    pub users: usize,

    /// Random seed
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let progress = Progress::new();
    progress.stage("generating the demo dataset");
    let data = args.out.join("events.csv");
    let summary = generate::generate(&GenerateOptions {
        scenario: Scenario::Ecommerce,
        users: args.users,
        seed: args.seed,
        out: data.clone(),
    })?;
    let input = InputArgs {
        files: vec![data.to_string_lossy().into_owned()],
        user_col: "user_id".into(),
        event_col: "event".into(),
        time_col: "timestamp".into(),
        session_col: None,
        delimiter: b',',
        time_format: None,
        strict: false,
        rejects: None,
        resessionize: false,
        session_gap: 30 * 60_000,
    };
    let loaded = input.load(&progress)?;
    let config = crate::config::load(&summary.journey_config)?;
    progress.stage("running the analyses in the journey config");
    let built = super::report::build(&loaded, &config, &progress)?;
    let (json, md) = super::report::write(&built.report, &args.out)?;
    let per_user = super::report::write_per_user(
        &loaded,
        built.scores.as_ref(),
        built.assignments.as_ref(),
        &args.out,
    )?;
    println!(
        "dataset: {} ({} events, {} users)",
        data.display(),
        summary.events,
        summary.users
    );
    println!("truth:   {}", summary.truth.display());
    println!("config:  {}", summary.journey_config.display());
    println!("report:  {}", md.display());
    println!("json:    {}", json.display());
    for path in per_user {
        println!("per user: {}", path.display());
    }
    Ok(())
}
