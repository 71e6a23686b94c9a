//! `journeymap report`: the versioned report.json and the readable report.md.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::input::{InputArgs, Loaded};
use crate::atomic;
use crate::checks;
use crate::config::{self, JourneyConfig};
use crate::error::CheckFailed;
use crate::funnel::{self, FunnelOptions};
use crate::progress::Progress;
use crate::report::{self, InputFingerprint, Report, Tool};
use crate::segments::SegmentsResult;
use crate::summary;

/// Write report.json and report.md for an export into a directory. Files are
/// written to a temporary name and renamed, so readers never see half a report.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap report events.csv --out out/
  journeymap report events.csv --config journey.toml --out out/
  journeymap report events.csv --config journey.toml --out out/ --check 'funnel.conversion >= 0.2' --check 'data.rejected_share <= 0.01'
  journeymap report 'exports/*.parquet' --out nightly/2026-11-28 --rejects nightly/rejects.csv")]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// journey.toml: runs the funnel, stages and Markov map it describes
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Fail (exit 4) unless this holds, e.g. 'funnel.step[3].conversion >= 0.2' (repeatable; docs/checks.md)
    #[arg(long = "check", value_name = "EXPR")]
    pub checks: Vec<String>,

    /// Directory for report.json and report.md (created if missing)
    #[arg(long, value_name = "DIR", default_value = "journeymap-report")]
    pub out: PathBuf,
}

/// Builds the report from loaded data and the config's analyses.
pub fn build(loaded: &Loaded, config: &JourneyConfig, progress: &Progress) -> Result<Built> {
    let t = &loaded.ingested.table;
    config.validate(t)?;
    // Propensity and stages share nothing with the funnel, Markov map and
    // segments: the two groups run side by side (about equal halves of the
    // work on 10M events; each also splits its heaviest loops across cores).
    let (side, rest) = std::thread::scope(|scope| {
        let side = scope.spawn(|| -> Result<_> {
            progress.stage("stages");
            let stages = if config.stages.is_empty() {
                None
            } else {
                Some(crate::stages::analyze(t, &config.stages)?)
            };
            let Some(_) = &config.propensity else {
                return Ok((stages, None));
            };
            progress.stage("propensity");
            let opts = crate::propensity::TrainOptions::new(config, &Default::default())?;
            let trained = crate::propensity::train(
                t,
                &loaded.sessions,
                &loaded.ingested.files,
                &opts,
                progress,
            )?;
            progress.stage("propensity done");
            Ok((stages, Some(trained)))
        });
        let rest = (|| -> Result<_> {
            progress.stage("funnel");
            let funnel_opts = config.funnel.as_ref().map(FunnelOptions::from_config);
            let funnel_run = match &funnel_opts {
                Some(o) => Some(funnel::analyze(t, &loaded.sessions, o)?),
                None => None,
            };
            progress.stage("Markov map");
            let markov = match crate::paths::PathsOptions::from_config(config) {
                Some(opts) => Some(crate::paths::analyze(t, &loaded.sessions, &opts)?),
                None => None,
            };
            progress.stage("segments");
            let segments = match &config.segments {
                Some(_) => Some(segments_section(
                    loaded,
                    config,
                    funnel_run.as_ref().zip(funnel_opts.as_ref()),
                )?),
                None => None,
            };
            let funnel = funnel_run.map(|r| r.report);
            progress.stage("funnel, Markov map and segments done");
            Ok((funnel, markov, segments))
        })();
        let side = side
            .join()
            .expect("the stages and propensity thread does not panic");
        (side, rest)
    });
    let (funnel, markov, segments) = rest?;
    let (stages, trained) = side?;
    let (propensity, scores) = match trained {
        Some(tr) => (Some(tr.report), Some(tr.scores)),
        None => (None, None),
    };
    let (segments, assignments) = match segments {
        Some(r) => (Some(r.report.clone()), Some(r)),
        None => (None, None),
    };
    progress.stage("data summary");
    let report = Report {
        schema_version: report::SCHEMA_VERSION.into(),
        tool: Tool::current(),
        input: InputFingerprint::new(&loaded.ingested.files),
        parameters: loaded.parameters.clone(),
        data: summary::summarize(&loaded.ingested, &loaded.sessions, &loaded.source),
        funnel,
        stages,
        markov,
        segments,
        propensity,
    };
    Ok(Built {
        report,
        scores,
        assignments,
    })
}

/// Segments from `[segments]`, on the config's funnel; `funnel_run` is the
/// report's own run of it, reused when it counted the same units.
fn segments_section(
    loaded: &Loaded,
    config: &JourneyConfig,
    funnel_run: Option<(&funnel::FunnelResult, &FunnelOptions)>,
) -> Result<SegmentsResult> {
    use crate::segments::{SegmentsOptions, SegmentsSection, Unit};
    let mut origins = crate::config::Origins::default();
    let funnel = config.funnel.as_ref().map(FunnelOptions::from_config);
    let opts = SegmentsOptions::resolve(&SegmentsSection::default(), config, funnel, &mut origins);
    opts.check().map_err(|e| origins.word(e))?;
    let per = match opts.unit {
        Unit::User => funnel::Per::User,
        Unit::Session => funnel::Per::Session,
    };
    let reuse = funnel_run
        .filter(|(_, o)| o.per == per && o.by.is_none())
        .map(|(r, _)| r);
    crate::segments::analyze_with(&loaded.ingested.table, &loaded.sessions, &opts, reuse)
}

/// The report and the per-user files that go beside it.
pub struct Built {
    pub report: Report,
    pub scores: Option<crate::propensity::Scores>,
    pub assignments: Option<SegmentsResult>,
}

/// The run in a few lines for stdout (the files hold the detail).
pub fn summary_lines(report: &Report) -> String {
    let r = &report.data.rows;
    let mut out = format!(
        "rows: {} read = {} used + {} rejected; {} users, {} sessions\n",
        r.read, r.used, r.rejected, report.data.users, report.data.sessions
    );
    if let Some(f) = &report.funnel {
        out += &format!(
            "funnel: {} of {} entered, {:.1}% converted ({})\n",
            f.entered,
            f.units,
            f.overall_conversion * 100.0,
            f.steps.join(" > ")
        );
    }
    if let Some(s) = &report.stages {
        let reach: Vec<String> = s
            .stages
            .iter()
            .map(|st| format!("{} {:.1}%", st.name, st.share_of_users * 100.0))
            .collect();
        out += &format!("stages: {}\n", reach.join(", "));
    }
    if let Some(m) = &report.markov {
        out += &format!(
            "journey map: {} sessions, {:.1}% reach {}\n",
            m.sessions,
            m.conversion_rate * 100.0,
            m.conversion
        );
    }
    if let Some(s) = &report.segments {
        let names: Vec<String> = s
            .segments
            .iter()
            .map(|g| format!("{} {:.0}%", g.name, g.share * 100.0))
            .collect();
        out += &format!(
            "segments: {} of {} units: {}\n",
            s.units,
            s.units_in_data,
            names.join("; ")
        );
    }
    if let Some(p) = &report.propensity {
        out += &format!(
            "propensity: hold-out AUC {:.3} ({})\n",
            p.holdout.auc, p.verdict
        );
    }
    out
}

/// Writes both renderings; returns their paths.
pub fn write(report: &Report, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let json = dir.join("report.json");
    let md = dir.join("report.md");
    atomic::write_bytes(&json, report::json::render(report).as_bytes())?;
    atomic::write_bytes(&md, report::markdown::render(report).as_bytes())?;
    Ok((json, md))
}

/// scores.csv and segments.csv (those the config asked for) in `dir`.
pub fn write_per_user(
    loaded: &Loaded,
    scores: Option<&crate::propensity::Scores>,
    assignments: Option<&SegmentsResult>,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if let Some(s) = scores {
        let path = dir.join("scores.csv");
        crate::propensity::output::write_scores(&path, &loaded.ingested.table, s)?;
        written.push(path);
    }
    if let Some(a) = assignments {
        let path = dir.join("segments.csv");
        crate::segments::output::write_assignments(
            &path,
            &loaded.ingested.table,
            &loaded.sessions,
            a,
        )?;
        written.push(path);
    }
    Ok(written)
}

pub fn run(args: &ReportArgs) -> Result<()> {
    let progress = Progress::new();
    let config = match &args.config {
        Some(p) => config::load(p)?,
        None => JourneyConfig::default(),
    };
    // Parse every gate before the (long) run, so a typo fails at once.
    let gates: Vec<checks::Check> = config
        .checks
        .iter()
        .chain(&args.checks)
        .map(|c| checks::parse(c))
        .collect::<Result<_, _>>()?;
    let loaded = args.input.load(&progress)?;
    progress.stage("building the report");
    let Built {
        report,
        scores,
        assignments,
    } = build(&loaded, &config, &progress)?;
    progress.stage("writing");
    let (json, md) = write(&report, &args.out)?;
    for path in write_per_user(&loaded, scores.as_ref(), assignments.as_ref(), &args.out)? {
        println!("wrote {}", path.display());
    }
    progress.stage("done");
    print!("{}", summary_lines(&report));
    println!("wrote {}", json.display());
    println!("wrote {}", md.display());
    if gates.is_empty() {
        return Ok(());
    }
    let results = checks::evaluate(&serde_json::to_value(&report)?, &gates);
    let mut failed = Vec::new();
    for r in &results {
        let actual = r.actual.map_or("missing".to_string(), |a| format!("{a}"));
        let line = format!(
            "{} {}: actual {actual}, expected {}",
            if r.passed { "ok  " } else { "FAIL" },
            r.check,
            r.expected
        );
        println!("{line}");
        if !r.passed {
            failed.push(format!(
                "  {}: actual {actual}, expected {}{}",
                r.check,
                r.expected,
                r.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
    }
    if !failed.is_empty() {
        return Err(CheckFailed(format!(
            "{} of {} checks failed:\n{}",
            failed.len(),
            results.len(),
            failed.join("\n")
        ))
        .into());
    }
    Ok(())
}
