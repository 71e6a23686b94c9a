//! The data section: what was read, what was used, and the shape of the
//! journeys. Computed here so renderers only format.

use serde::Serialize;

use crate::ingest::timestamp::format_ms;
use crate::ingest::{EventTable, Ingested};
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
    finish(ing, SummaryPart::of(&ing.table, sessions), source)
}

/// The data section's figures from one table (a partition of the users,
/// in a partitioned run), to be merged with the other partitions'.
#[derive(Debug, Clone, Default)]
pub struct SummaryPart {
    /// Per event code: rows, and users with at least one.
    counts: Vec<u64>,
    users_with: Vec<u64>,
    per_user: Vec<f64>,
    per_session: Vec<f64>,
    durations: Vec<f64>,
    sessions: u64,
    span: Option<(i64, i64)>,
}

impl SummaryPart {
    pub fn of(t: &EventTable, sessions: &Sessions) -> SummaryPart {
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
        let span = (!t.ts.is_empty()).then(|| {
            t.ts.iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
        });
        SummaryPart {
            counts,
            users_with,
            per_user: t.user_ranges().iter().map(|r| r.len() as f64).collect(),
            per_session: sessions.events.iter().map(|&n| f64::from(n)).collect(),
            durations: sessions
                .first_ts
                .iter()
                .zip(&sessions.last_ts)
                .map(|(a, b)| (b - a) as f64 / 1000.0)
                .collect(),
            sessions: sessions.len() as u64,
            span,
        }
    }

    /// The figures from counts made elsewhere (a Spark job's aggregates):
    /// per event code its rows and users, and each distribution's values.
    pub fn from_counts(
        counts: Vec<u64>,
        users_with: Vec<u64>,
        values: [Vec<f64>; 3],
        span: Option<(i64, i64)>,
    ) -> SummaryPart {
        let [per_user, per_session, durations] = values;
        SummaryPart {
            counts,
            users_with,
            sessions: per_session.len() as u64,
            per_user,
            per_session,
            durations,
            span,
        }
    }

    /// Adds another partition's figures (its users are not in this one).
    /// Distributions sort their values, so the order of merging is moot.
    pub fn merge(&mut self, o: SummaryPart) {
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
            self.users_with.resize(o.counts.len(), 0);
        }
        for (i, (c, u)) in o.counts.iter().zip(&o.users_with).enumerate() {
            self.counts[i] += c;
            self.users_with[i] += u;
        }
        self.per_user.extend(o.per_user);
        self.per_session.extend(o.per_session);
        self.durations.extend(o.durations);
        self.sessions += o.sessions;
        self.span = match (self.span, o.span) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
    }
}

/// The data section from the (merged) figures; `ing` gives the names and
/// the row accounting.
pub fn finish(ing: &Ingested, part: SummaryPart, source: &SessionSource) -> DataSummary {
    let t = &ing.table;
    let mut vocabulary: Vec<EventCount> = t
        .event_names
        .iter()
        .enumerate()
        .map(|(i, name)| EventCount {
            event: name.to_string(),
            count: part.counts.get(i).copied().unwrap_or(0),
            users: part.users_with.get(i).copied().unwrap_or(0),
        })
        .collect();
    vocabulary.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.event.cmp(&b.event)));
    let users = part.per_user.len() as u64;
    let ((events_per_user, events_per_session), session_duration_seconds) = rayon::join(
        || {
            rayon::join(
                || Distribution::of(part.per_user),
                || Distribution::of(part.per_session),
            )
        },
        || Distribution::of(part.durations),
    );
    let time_range = part.span.map(|(lo, hi)| TimeRange {
        first: format_ms(lo),
        last: format_ms(hi),
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
        users,
        sessions: part.sessions,
        sessions_from: source.clone(),
        time_range,
        events_per_user,
        events_per_session,
        session_duration_seconds,
        naive_timestamps: ing.naive_timestamps,
        properties: ing.property_names.clone(),
        event_vocabulary: vocabulary,
        notes,
    }
}
