//! `journeymap push`: the per-user pass as a job for an engine where the
//! events live (Spark), and the plan `report --aggregates` checks.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::input::InputArgs;
use super::outln;
use crate::config::{self, JourneyConfig};
use crate::spark::{self, submit};

/// Write the per-user pass as a PySpark job (job.py and plan.json in a
/// folder) and run it with spark-submit when one is on PATH; then build the
/// report from its aggregates with `report --aggregates DIR`. The job
/// computes the data summary, ordered and strict funnels, stages and the
/// first-order Markov map with journeymap's semantics; a config asking for
/// more is refused by name (docs/scaling.md).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap push --engine spark events.parquet --config journey.toml --out spark-run/
  journeymap report --aggregates spark-run/ --config journey.toml --out report/
  journeymap push --engine spark 's3://shop/events/*.parquet' --config journey.toml --out job/ --print   # for your scheduler
  journeymap push --engine spark events.parquet --config journey.toml --out run/ --master 'local[4]' --conf spark.ui.enabled=false")]
pub struct PushArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Where the job runs
    #[arg(long, value_enum, default_value = "spark")]
    pub engine: Engine,

    /// journey.toml: the analyses the job computes counts for
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder for job.py, plan.json, spark.log and (for a local run) aggregates/
    #[arg(long, value_name = "DIR", default_value = "journeymap-push")]
    pub out: PathBuf,

    /// Where the job writes its aggregates (a path or URI the cluster writes, e.g. s3://bucket/run/); copy them to DIR/aggregates before `report --aggregates` [default: DIR/aggregates]
    #[arg(long, value_name = "URI")]
    pub aggregates_to: Option<String>,

    /// Write the job and print how to submit it; run nothing
    #[arg(long)]
    pub print: bool,

    /// The spark-submit to run (a name on PATH or a path)
    #[arg(long, value_name = "PROGRAM", default_value = "spark-submit")]
    pub spark_submit: String,

    /// spark-submit --master, e.g. 'local[2]' or yarn [default: the cluster's]
    #[arg(long, value_name = "URL")]
    pub master: Option<String>,

    /// spark-submit --conf KEY=VALUE (repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub conf: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Engine {
    /// Apache Spark 3.3 or later (PySpark; no pandas needed)
    Spark,
}

pub fn run(args: &PushArgs) -> Result<()> {
    let config = match &args.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    let opts = args.input.options(&config)?;
    let files = spark::input_files(&args.input.files)?;
    let local_out = std::path::absolute(args.out.join("aggregates"))?;
    let target = args
        .aggregates_to
        .clone()
        .unwrap_or_else(|| local_out.display().to_string());
    let plan = spark::plan(files, &config, &opts, target)?;
    let (job, plan_path) = spark::write(&args.out, &plan)?;
    outln(&format!("wrote {}", job.display()))?;
    outln(&format!("wrote {}", plan_path.display()))?;
    let program = (!args.print)
        .then(|| submit::find(&args.spark_submit))
        .flatten();
    let Some(program) = program else {
        if !args.print {
            eprintln!(
                "note: no {} on PATH: the job was written, not run",
                args.spark_submit
            );
        }
        outln(&format!(
            "run: spark-submit {} {}",
            job.display(),
            plan_path.display()
        ))?;
        outln(&format!(
            "then: journeymap report --aggregates {} --config <the same config> --out <dir>",
            args.out.display()
        ))?;
        return Ok(());
    };
    if args.aggregates_to.is_none() && local_out.exists() {
        // Spark refuses to write into an existing folder: a rerun replaces
        // the last run's aggregates.
        std::fs::remove_dir_all(&local_out)?;
    }
    let log = args.out.join("spark.log");
    let s = submit::Submit {
        program: args.spark_submit.clone(),
        master: args.master.clone(),
        conf: args.conf.clone(),
    };
    crate::progress::Progress::new().stage("running the Spark job");
    submit::run(&program, &s, &job, &plan_path, &log)?;
    outln(&format!("wrote {}", plan.out))?;
    Ok(())
}
