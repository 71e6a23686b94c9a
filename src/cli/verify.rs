//! `journeymap verify`: whether a report directory holds one whole report.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::error::DataError;
use crate::output::set::{MARKER, digest};

/// Check that a report directory holds one complete report: report.json
/// (written last, as the commit marker) and every file its manifest lists,
/// each with the size and SHA-256 recorded there. Exit 0 when whole, 3 when
/// not (a run is under way, died half-way, or a file was changed since).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap verify out/
  journeymap report events.csv --out nightly/today && journeymap verify nightly/today

Each file can also be checked with sha256sum against report.json's run.files.")]
pub struct VerifyArgs {
    /// The directory given to `report --out`
    pub dir: PathBuf,
}

pub fn run(args: &VerifyArgs) -> Result<()> {
    let marker = args.dir.join(MARKER);
    let incomplete = |why: String| DataError::Input(format!("{}: {why}", args.dir.display()));
    let text = match std::fs::read_to_string(&marker) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(incomplete(
                "no report.json: the directory holds no complete report (a run is under way or did not finish); run the report again".into(),
            )
            .into());
        }
        Err(e) => return Err(incomplete(format!("cannot read report.json: {e}")).into()),
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| incomplete(format!("report.json is not valid JSON ({e})")))?;
    let run: crate::report::RunInfo = v
        .get("run")
        .cloned()
        .and_then(|r| serde_json::from_value(r).ok())
        .ok_or_else(|| {
            incomplete(
                "report.json has no run manifest (written by a journeymap before 0.1 schema 1.2?)"
                    .into(),
            )
        })?;
    let mut problems = Vec::new();
    for f in &run.files {
        let path = args.dir.join(&f.name);
        match digest(&path) {
            Ok((bytes, sha)) if bytes == f.bytes && sha == f.sha256 => {}
            Ok((bytes, _)) => problems.push(format!(
                "{}: changed since the report was written ({bytes} bytes now, {} recorded)",
                f.name, f.bytes
            )),
            Err(_) => problems.push(format!("{}: missing", f.name)),
        }
    }
    if !problems.is_empty() {
        return Err(incomplete(format!(
            "report {} is not whole:\n  {}",
            run.id,
            problems.join("\n  ")
        ))
        .into());
    }
    super::outln(&format!(
        "ok: report {} with {} files in {}",
        run.id,
        run.files.len() + 1,
        args.dir.display()
    ))?;
    Ok(())
}
