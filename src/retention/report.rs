//! The retention section of report.json.

use std::collections::BTreeMap;

use serde::Serialize;

use super::clock::{Anchor, ClockKind};
use super::config::Reference;
use super::engine::StartMode;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RetentionReport {
    pub start: StartMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_event: Option<String>,
    /// day, week, month, N months or the period's duration.
    pub interval: String,
    /// Where periods of a duration or of N months start (absent for day,
    /// week and month buckets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Anchor>,
    /// Return events needed within one interval (absent when 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_occurrences: Option<u32>,
    /// Present when cells also carry `of_previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    pub clock: ClockKind,
    /// The calendar's time zone: a UTC offset or an IANA name, as given.
    pub tz: String,
    /// on, on_or_after or brackets.
    pub rule: String,
    /// The columns: interval N ("0" is the cohort's own interval) or a
    /// bracket "2-7"; for on_or_after, "N" means N or later.
    pub columns: Vec<String>,
    /// The end of observation (the last event, or `until`).
    pub observed_until: String,
    /// Users of the export, and those with no start (in no cohort).
    pub users: u64,
    pub users_without_start: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<String>,
    pub cohorts: Vec<CohortRow>,
    /// Per column, over the cohort rows.
    pub averages: Vec<Average>,
    /// The same keyed by column, for checks: `retention.average.1.weighted`.
    pub average: BTreeMap<String, Average>,
    /// Cohort → column → rate (null when censored), for checks:
    /// `retention.rate.2026-11-02.1`. Without a breakdown only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate: BTreeMap<String, BTreeMap<String, Option<f64>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CohortRow {
    /// The first day of the cohort's bucket (local), YYYY-MM-DD.
    pub cohort: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub users: u64,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Cell {
    /// Users whose interval(s) of this column were observable.
    pub eligible: u64,
    pub returned: u64,
    /// returned / eligible; null when no user was observable.
    pub rate: Option<f64>,
    /// 95 % Wilson interval.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// No user of the cohort could be observed here.
    pub censored: bool,
    /// Some but not all of the cohort's users could be observed (rolling).
    pub partial: bool,
    /// With `reference = "previous"`: returned / the column before's
    /// returned, where both columns observed the same users and some
    /// returned in the one before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_previous: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Average {
    pub column: String,
    /// Σ returned / Σ eligible over the cohorts (Amplitude's weighting).
    pub weighted: Option<f64>,
    /// The mean of the observed cohorts' rates (retentioneering's Average).
    pub unweighted: Option<f64>,
    pub eligible: u64,
    pub returned: u64,
    /// Cohort rows with an observed cell.
    pub cohorts: u64,
    /// With `reference = "previous"`: Σ returned / Σ the column before's
    /// returned, over the cohorts whose cell has an `of_previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_previous: Option<f64>,
}
