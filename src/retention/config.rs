//! `[retention]` in journey.toml (flags of `journeymap retention`
//! override it):
//!
//! ```toml
//! [retention]
//! start = "first"          # or "first_matching", "recurring"
//! start_event = "signup"   # a predicate; default: any event
//! return_event = "login"   # a predicate; default: any event
//! interval = "week"        # day, week, month, "2 months" or a duration ("7d", "30d")
//! anchor = "day"           # where "30d" / "2 months" periods start: day, week or month
//! clock = "calendar"       # or "rolling": exact multiples from each user's start
//! tz = "UTC"               # the calendar's zone: an offset ("+02:00") or IANA name ("Europe/Paris")
//! return = "on"            # or "on_or_after", or brackets "1,2-7,8-30"
//! intervals = 8            # columns 0..7 (on, on_or_after)
//! min_occurrences = 1      # return events needed in an interval to count
//! reference = "total"      # or "previous": also each cell over the column before
//! breakdown = "channel"    # a property of the cohort-defining event
//! until = "2026-11-30T23:59:59Z"  # observed until (default: the last event)
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::clock::{Anchor, ClockKind};
use super::engine::StartMode;
use crate::predicate::Predicate;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Which start puts a user in a cohort (default first).
    #[serde(default)]
    pub start: Option<StartMode>,
    /// The start event (default: any event).
    #[serde(default)]
    pub start_event: Option<Predicate>,
    /// What counts as coming back (default: any event).
    #[serde(default)]
    pub return_event: Option<Predicate>,
    /// day, week, month, "N months" or a duration such as "7d" (default week).
    #[serde(default)]
    pub interval: Option<String>,
    /// Where periods of a duration or of N months start: the export's
    /// first day (default), its Monday, or the first of its month.
    #[serde(default)]
    pub anchor: Option<Anchor>,
    #[serde(default)]
    pub clock: Option<ClockKind>,
    /// The calendar's zone: a UTC offset ("+02:00") or an IANA name
    /// ("Europe/Paris", daylight saving followed); default UTC.
    #[serde(default)]
    pub tz: Option<String>,
    /// "on" (default), "on_or_after", or brackets such as "1,2-7,8-30".
    #[serde(default, rename = "return")]
    pub returns: Option<String>,
    /// Columns 0..intervals−1 for on and on_or_after (default 8).
    #[serde(default)]
    pub intervals: Option<u32>,
    /// A user returned in an interval only with at least this many return
    /// events in it (PostHog's minimumOccurrences; default 1).
    #[serde(default)]
    pub min_occurrences: Option<u32>,
    /// "total" (default): rates over the cohort's eligible users;
    /// "previous" adds each cell's returned over the column before's
    /// (PostHog's retentionReference).
    #[serde(default)]
    pub reference: Option<Reference>,
    /// Cohorts split by this property of the cohort-defining event.
    #[serde(default)]
    pub breakdown: Option<String>,
    /// The end of observation, ISO 8601 (default: the export's last event).
    #[serde(default)]
    pub until: Option<String>,
}

impl RetentionSection {
    /// The property columns it reads.
    pub fn properties(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.breakdown.iter().cloned().collect();
        for p in self.start_event.iter().chain(&self.return_event) {
            if let Predicate::Where(m) = p {
                out.extend(m.keys().filter(|k| k.as_str() != "event").cloned());
            }
        }
        out
    }
}

/// What a cell's share is taken of.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The cohort's eligible users.
    #[default]
    Total,
    /// Also the users who returned in the column before.
    Previous,
}
