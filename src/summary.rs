//! The data section: what was read, what was used, and the shape of the
//! journeys. Computed here so renderers only format.

use serde::Serialize;

use crate::ingest::Ingested;
use crate::ingest::timestamp::format_ms;
use crate::sessions::{SessionSource, Sessions};
use crate::stats::Distribution;

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RowAccounting {
    /// read = used + rejected (+ duplicates when they were dropped).
    pub read: u64,
    pub used: u64,
    pub rejected: u64,
    /// Exact copies of an earlier row (same user, event, time, session and
    /// properties): among `used`, unless `--drop-duplicates` removed them.
    pub duplicates: u64,
    pub duplicates_dropped: bool,
    /// Nonzero counts, in the order the checks run.
    pub rejected_by_reason: Vec<ReasonCount>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ReasonCount {
    pub reason: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct TimeRange {
    pub first: String,
    pub last: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct EventCount {
    pub event: String,
    pub count: u64,
    pub users: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DataSummary {
    pub rows: RowAccounting,
    pub users: u64,
    pub sessions: u64,
    pub sessions_from: SessionSource,
    pub time_range: Option<TimeRange>,
    pub events_per_user: Option<Distribution>,
    pub events_per_session: Option<Distribution>,
    pub session_duration_seconds: Option<Distribution>,
    /// Rows whose timestamp had no zone and was taken as UTC.
    pub naive_timestamps: u64,
    pub properties: Vec<String>,
    /// Events by count (descending), then name.
    pub event_vocabulary: Vec<EventCount>,
    pub notes: Vec<String>,
}

pub fn summarize(ing: &Ingested, sessions: &Sessions, source: &SessionSource) -> DataSummary {
    let t = &ing.table;
    let ranges = t.user_ranges();
    let mut counts = vec![0u64; t.event_names.len()];
    let mut users_with = vec![0u64; t.event_names.len()];
    let mut last_user_seen = vec![u32::MAX; t.event_names.len()];
    for (i, &e) in t.event.iter().enumerate() {
        let e = e as usize;
        counts[e] += 1;
        if last_user_seen[e] != t.user[i] {
            last_user_seen[e] = t.user[i];
            users_with[e] += 1;
        }
    }
    let mut vocabulary: Vec<EventCount> = t
        .event_names
        .iter()
        .enumerate()
        .map(|(i, name)| EventCount {
            event: name.to_string(),
            count: counts[i],
            users: users_with[i],
        })
        .collect();
    vocabulary.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.event.cmp(&b.event)));

    let time_range = (!t.ts.is_empty()).then(|| {
        let (lo, hi) =
            t.ts.iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        TimeRange {
            first: format_ms(lo),
            last: format_ms(hi),
        }
    });
    let mut notes = ing.notes.clone();
    if ing.naive_timestamps > 0 {
        notes.push(format!(
            "{} timestamps had no time zone and were taken as UTC",
            ing.naive_timestamps
        ));
    }
    DataSummary {
        rows: RowAccounting {
            read: ing.read,
            used: ing.used(),
            rejected: ing.rejected.total(),
            duplicates: ing.duplicates,
            duplicates_dropped: ing.duplicates_dropped,
            rejected_by_reason: ing
                .rejected
                .by_reason()
                .into_iter()
                .map(|(r, n)| ReasonCount {
                    reason: r.as_str().to_string(),
                    rows: n,
                })
                .collect(),
        },
        users: ranges.len() as u64,
        sessions: sessions.len() as u64,
        sessions_from: source.clone(),
        time_range,
        events_per_user: Distribution::of(ranges.iter().map(|r| r.len() as f64).collect()),
        events_per_session: Distribution::of(
            sessions.events.iter().map(|&n| f64::from(n)).collect(),
        ),
        session_duration_seconds: Distribution::of(
            sessions
                .first_ts
                .iter()
                .zip(&sessions.last_ts)
                .map(|(a, b)| (b - a) as f64 / 1000.0)
                .collect(),
        ),
        naive_timestamps: ing.naive_timestamps,
        properties: ing.property_names.clone(),
        event_vocabulary: vocabulary,
        notes,
    }
}
