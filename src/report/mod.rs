//! The report: a plain data struct that every renderer takes as it is.
//! Renderers never compute; everything they show is a field here.

pub mod html;
pub mod json;
pub mod markdown;
pub mod sections;

use serde::Serialize;

use crate::ingest::{ColumnMapping, FileInfo};
use crate::sessions::SessionSource;
use crate::summary::DataSummary;

/// Bumped on any change to report.json's shape: major when a field is
/// removed or changes meaning, minor when a field is added.
pub const SCHEMA_VERSION: &str = "1.17.0";

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: String,
    pub tool: Tool,
    pub input: InputFingerprint,
    pub parameters: Parameters,
    pub data: DataSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funnel: Option<crate::funnel::FunnelReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<crate::stages::StagesReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markov: Option<crate::paths::MarkovReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<crate::segments::SegmentsReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propensity: Option<crate::propensity::PropensityReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<crate::experiment::report::ExperimentReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::retention::report::RetentionReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<crate::lifecycle::run::LifecycleReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommend: Option<crate::recommend::run::RecommendReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<crate::fairness::analysis::FairnessReport>,
    /// `[[triggers]]`/`[[pathways]]`: decisions as of the export's last day
    /// (a preview; the nightly `journeymap decide` is the one to act on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decide: Option<crate::decide::DecideReport>,
    /// Property summaries for `journeymap diff` (`[drift]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::drift::analysis::DriftSummaries>,
    /// What the run noticed and went on past (an event configured but absent
    /// today, an analysis skipped for too little data), in the order found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The `--check` gates of the run and how each came out (exit 4 when
    /// any failed; docs/checks.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::checks::CheckResult>,
    /// The files written with this report (set when it is written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
}

/// The set of files one run wrote (docs/outputs.md).
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RunInfo {
    /// The first 16 hex digits of the SHA-256 of the report's content; the
    /// same in report.md, so the two can be matched by eye.
    pub id: String,
    /// Every other file of the set, in the order written.
    pub files: Vec<OutputFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct OutputFile {
    /// Relative to the report's directory.
    pub name: String,
    pub bytes: u64,
    /// Lowercase hex, as `sha256sum` prints it.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn current() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Which data the report was made from: enough to tell two runs' inputs apart.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct InputFingerprint {
    pub files: Vec<FileInfo>,
    pub total_bytes: u64,
    pub rows_read: u64,
}

impl InputFingerprint {
    pub fn new(files: &[FileInfo]) -> Self {
        InputFingerprint {
            files: files.to_vec(),
            total_bytes: files.iter().map(|f| f.bytes).sum(),
            rows_read: files.iter().map(|f| f.rows_read).sum(),
        }
    }
}

/// The settings the run used, defaults included, so a report can be reproduced.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Parameters {
    pub columns: ColumnMapping,
    pub delimiter: String,
    pub time_format: Option<String>,
    pub sessions: SessionSource,
    pub strict: bool,
}
