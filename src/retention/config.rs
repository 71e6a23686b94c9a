//! `[retention]` in journey.toml (flags of `journeymap retention`
//! override it):
//!
//! ```toml
//! [retention]
//! start = "first"          # or "first_matching", "recurring"
//! start_event = "signup"   # a predicate; default: any event
//! return_event = "login"   # a predicate; default: any event
//! interval = "week"        # day, week, month or a duration ("7d", "30d")
//! clock = "calendar"       # or "rolling": exact multiples from each user's start
//! tz = "UTC"               # calendar buckets at this fixed offset ("+02:00")
//! return = "on"            # or "on_or_after", or brackets "1,2-7,8-30"
//! intervals = 8            # columns 0..7 (on, on_or_after)
//! breakdown = "channel"    # a property of the cohort-defining event
//! until = "2026-11-30T23:59:59Z"  # observed until (default: the last event)
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::clock::ClockKind;
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
    /// day, week, month or a duration such as "7d" (default week).
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub clock: Option<ClockKind>,
    /// A fixed UTC offset for calendar buckets (default UTC).
    #[serde(default)]
    pub tz: Option<String>,
    /// "on" (default), "on_or_after", or brackets such as "1,2-7,8-30".
    #[serde(default, rename = "return")]
    pub returns: Option<String>,
    /// Columns 0..intervals−1 for on and on_or_after (default 8).
    #[serde(default)]
    pub intervals: Option<u32>,
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
