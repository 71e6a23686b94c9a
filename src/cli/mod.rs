//! One module per subcommand: parse arguments, call the library, print.

pub mod decide;
pub mod demo;
pub mod diff;
pub mod drift;
pub mod experiment;
pub mod funnel;
pub mod generate;
pub mod init;
pub mod input;
pub mod inspect;
pub mod lifecycle;
pub mod paths;
pub mod propensity;
pub mod push;
pub mod recommend;
pub mod render;
pub mod report;
pub mod retention;
pub mod schema;
pub mod segments;
pub mod serve;
pub mod shell;
pub mod verify;

use std::io::Write;

use clap::{Parser, Subcommand};

/// Writes to stdout. A closed pipe (`journeymap inspect big.csv | head -1`)
/// comes back as an error that `main` turns into a quiet exit, never a
/// panic as `print!` would give.
pub fn out(s: &str) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(s.as_bytes())?;
    o.flush()
}

/// [`out`] with a line end.
pub fn outln(s: &str) -> std::io::Result<()> {
    out(&format!("{s}\n"))
}

/// Customer-journey analytics for clickstream exports (CSV or Parquet):
/// every row accounted for, sessions, and a versioned report.
#[derive(Debug, Parser)]
#[command(
    name = "journeymap",
    version,
    after_help = "Exit codes:
  0  success
  1  I/O or internal error
  2  usage error (bad flag, bad value, no such file)
  3  data error (missing column, bad row under --strict, every row rejected,
     a damaged file; verify: the report is not whole)
  4  a --check failed, or diff/drift --fail-on-drift found drift
  5  the Spark job `push --engine spark` ran failed (its log's tail is shown)

Start with: journeymap demo"
)]
pub struct Cli {
    /// No progress on stderr (warnings and errors still print)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Inspect(inspect::InspectArgs),
    Funnel(funnel::FunnelArgs),
    Paths(paths::PathsArgs),
    Segments(segments::SegmentsArgs),
    Propensity(propensity::PropensityArgs),
    Experiment(experiment::ExperimentArgs),
    Retention(retention::RetentionArgs),
    Lifecycle(lifecycle::LifecycleArgs),
    Recommend(recommend::RecommendArgs),
    Serve(serve::ServeArgs),
    Report(report::ReportArgs),
    Push(push::PushArgs),
    Render(render::RenderArgs),
    Init(init::InitArgs),
    Diff(diff::DiffArgs),
    Drift(drift::DriftArgs),
    Decide(decide::DecideArgs),
    Verify(verify::VerifyArgs),
    Schema(schema::SchemaArgs),
    Generate(generate::GenerateArgs),
    Demo(demo::DemoArgs),
    Completions(shell::CompletionsArgs),
    Man(shell::ManArgs),
}

/// The command line with `experiment plan --baseline-from FILE` (the
/// spelling experimentation tools use for the history a plan reads)
/// turned into the positional FILE every subcommand takes.
pub fn normalize_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let is_plan = args.len() > 2 && args[1] == "experiment" && args[2] == "plan";
    if !is_plan {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        match a.to_str() {
            Some("--baseline-from") => {}
            Some(s) if s.starts_with("--baseline-from=") => {
                out.push(s["--baseline-from=".len()..].into());
            }
            _ => out.push(a),
        }
    }
    out
}

pub fn run(cli: &Cli) -> anyhow::Result<()> {
    crate::progress::set_quiet(cli.quiet);
    match &cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Funnel(a) => funnel::run(a),
        Command::Paths(a) => paths::run(a),
        Command::Segments(a) => segments::run(a),
        Command::Propensity(a) => propensity::run(a),
        Command::Experiment(a) => experiment::run(a),
        Command::Retention(a) => retention::run(a),
        Command::Lifecycle(a) => lifecycle::run(a),
        Command::Recommend(a) => recommend::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Report(a) => report::run(a),
        Command::Push(a) => push::run(a),
        Command::Render(a) => render::run(a),
        Command::Init(a) => init::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Drift(a) => drift::run(a),
        Command::Decide(a) => decide::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
    }
}

#[cfg(test)]
mod normalize_tests {
    use super::normalize_args;

    fn norm(a: &[&str]) -> Vec<String> {
        normalize_args(a.iter().map(|s| s.into()).collect())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn baseline_from_becomes_the_input_of_plan_only() {
        assert_eq!(
            norm(&[
                "jm",
                "experiment",
                "plan",
                "--baseline-from",
                "e.csv",
                "--mde",
                "0.1"
            ]),
            ["jm", "experiment", "plan", "e.csv", "--mde", "0.1"]
        );
        assert_eq!(
            norm(&["jm", "experiment", "plan", "--baseline-from=e.csv"]),
            ["jm", "experiment", "plan", "e.csv"]
        );
        assert_eq!(
            norm(&["jm", "report", "--baseline-from", "e.csv"]),
            ["jm", "report", "--baseline-from", "e.csv"]
        );
    }
}
