//! The stages section of the report: plain data, serialized into
//! report.json as it is; renderers only format it.

use serde::Serialize;

/// Touchpoints kept per stage and kind (events, pages, channels).
pub const TOP_TOUCHPOINTS: usize = 10;
/// Exit points kept per stage.
pub const TOP_EXITS: usize = 3;
/// Unmapped events listed.
pub const TOP_UNMAPPED: usize = 10;

/// The stages section of the report.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StagesReport {
    /// Users in the table (users with at least one valid event).
    pub users: u64,
    /// Events in the table.
    pub events: u64,
    /// The mapping used, in stage order.
    pub mapping: Vec<StageMapping>,
    /// One entry per configured stage, in config order.
    pub stages: Vec<StageReport>,
    /// Events that no stage's predicates match.
    pub unmapped_events: u64,
    /// `unmapped_events / events` (0 when there are no events).
    pub unmapped_share: f64,
    /// The most frequent unmapped events, by count then name.
    pub top_unmapped: Vec<Touchpoint>,
    /// Mapping problems worth a look (a predicate that never applied).
    pub notes: Vec<String>,
}

/// One stage of the mapping: its predicates and the events each one took.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StageMapping {
    pub stage: String,
    pub predicates: Vec<MappedPredicate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MappedPredicate {
    /// `Predicate::label()`: `search` or `page_view[page=/]`.
    pub predicate: String,
    /// Events assigned to the stage through this predicate (an event counts
    /// for the first predicate that matches it).
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StageReport {
    pub name: String,
    /// Events in the stage.
    pub events: u64,
    /// Users with at least one event in the stage.
    pub users_reached: u64,
    /// `users_reached / users`.
    pub share_of_users: f64,
    pub touchpoints: Touchpoints,
    /// Seconds from a user's first event in the stage to their next event in
    /// a later stage (or their last event in this stage); `None` when nobody
    /// reached the stage.
    pub time_spent: Option<TimeSpent>,
    /// The step to the next stage; `None` for the last stage.
    pub next: Option<NextStage>,
}

/// The stage's events counted by event name, `page` and `channel` (top
/// [`TOP_TOUCHPOINTS`] each, by events then name). `pages` and `channels` are
/// `None` when the table has no such column; events without a value are not
/// counted there.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Touchpoints {
    pub events: Vec<Touchpoint>,
    pub pages: Option<Vec<Touchpoint>>,
    pub channels: Option<Vec<Touchpoint>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Touchpoint {
    pub name: String,
    pub events: u64,
    /// Distinct users with such an event.
    pub users: u64,
}

/// Nearest-rank percentiles over the users who reached the stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct TimeSpent {
    pub median_s: f64,
    pub p90_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct NextStage {
    /// The next stage's name.
    pub stage: String,
    /// Users who reached this stage and reached the next one at or after
    /// their first event in this stage.
    pub users_next: u64,
    /// `users_next / users_reached` (0 when nobody reached this stage).
    pub conversion: f64,
    /// `users_reached - users_next`.
    pub left: u64,
    /// `left / users_reached` (0 when nobody reached this stage).
    pub left_share: f64,
    /// The last event overall of the users who left, top [`TOP_EXITS`] by
    /// users then name.
    pub exit_points: Vec<ExitPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ExitPoint {
    pub event: String,
    pub users: u64,
}
