//! `journeymap demo`: the whole pipeline on generated data, on a fresh machine.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::input::InputArgs;
use super::outln;
use crate::generate::{self, GenerateOptions, Scenario};
use crate::pipeline::{self, Context};
use crate::progress::Progress;

/// Generate a default e-commerce dataset with its journey.toml, run every
/// analysis the config names (funnel, stages, Markov map, segments,
/// propensity) and print where the report is.
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
    let config = crate::config::load(&summary.journey_config)?;
    let input = InputArgs {
        files: vec![data.to_string_lossy().into_owned()],
        ..InputArgs::default()
    };
    let loaded = input.load_selected(&config, Some(config.properties_read()), &progress)?;
    progress.stage("running the analyses in the journey config");
    let ctx = Context::new(&loaded, &config, &progress);
    let report = pipeline::build(&ctx)?;
    let written = pipeline::write(
        &ctx,
        &report,
        &args.out,
        pipeline::WriteOptions {
            html: true,
            ..Default::default()
        },
    )?;
    progress.done();
    let (per_user, json, md) = (&written.tables, &written.json, &written.md);
    outln(&format!(
        "dataset: {} ({} events, {} users)",
        data.display(),
        summary.events,
        summary.users
    ))?;
    outln(&format!("truth:   {}", summary.truth.display()))?;
    outln(&format!("config:  {}", summary.journey_config.display()))?;
    outln(&format!("report:  {}", md.display()))?;
    outln(&format!("json:    {}", json.display()))?;
    if let Some(html) = &written.html {
        outln(&format!("html:    {}", html.display()))?;
    }
    for path in per_user {
        outln(&format!("per user: {}", path.display()))?;
    }
    super::out(&crate::doc::text::render(&[crate::doc::Block::Lines(
        pipeline::summary_lines(&report),
    )]))?;
    let (d, c) = (data.display(), summary.journey_config.display());
    outln(&format!(
        "\nOpen first: {} in a browser, or {} (the whole journey; report.json holds the same figures for scripts).\n\
         Try next:\n  \
         journeymap funnel {d} --config {c} --by device\n  \
         journeymap paths {d} --target purchase\n  \
         journeymap report {d} --config {c} --out {out} --check 'funnel.conversion >= 0.05'\n  \
         journeymap init your-export.csv > journey.toml   # then: journeymap report your-export.csv --config journey.toml",
        written.html.as_ref().unwrap_or(md).display(),
        md.display(),
        out = args.out.display()
    ))?;
    Ok(())
}
