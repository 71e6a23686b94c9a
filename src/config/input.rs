//! `[input]`: how to read the export, the same settings as the reading
//! flags (which override them): the column mapping, the delimiter, the
//! timestamp format and the session gap. `journeymap init` writes the
//! mapping it inferred here.

use serde::{Deserialize, Serialize};

use crate::duration::Duration;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSection {
    /// Column holding the user id (`--user-col`).
    #[serde(default)]
    pub user_col: Option<String>,
    /// Column holding the event name (`--event-col`).
    #[serde(default)]
    pub event_col: Option<String>,
    /// Column holding the timestamp (`--time-col`).
    #[serde(default)]
    pub time_col: Option<String>,
    /// Column holding the session id (`--session-col`).
    #[serde(default)]
    pub session_col: Option<String>,
    /// One ASCII character, or "tab" (`--delimiter`).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// chrono format of the timestamps (`--time-format`).
    #[serde(default)]
    pub time_format: Option<String>,
    /// Inactivity that ends a session (`--session-gap`).
    #[serde(default)]
    pub session_gap: Option<Duration>,
    /// Remove exact duplicate rows (`--drop-duplicates`).
    #[serde(default)]
    pub drop_duplicates: Option<bool>,
}
