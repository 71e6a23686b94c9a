//! Sessions: from the export's session column, or split at inactivity gaps.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::ingest::EventTable;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SessionSource {
    /// Ids taken from this column; one id used by two users is two sessions.
    Column { column: String },
    /// A new session starts when the gap to the user's previous event is
    /// strictly longer than `gap_ms` (as retentioneering and GA do).
    Inactivity { gap_ms: i64 },
}

/// Per-session facts, indexed by session number. Session numbers follow the
/// table order: by user, then by each session's first event.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    /// The session number of each event in the table.
    pub of_event: Vec<u32>,
    pub user: Vec<u32>,
    pub first_ts: Vec<i64>,
    pub last_ts: Vec<i64>,
    pub events: Vec<u32>,
    /// The source session code, or n for the user's n-th inactivity session;
    /// see [`Sessions::id`]. Kept as a number: exports hold millions of sessions.
    label: Vec<u32>,
    from_column: bool,
}

impl Sessions {
    pub fn len(&self) -> usize {
        self.user.len()
    }
    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }
    /// The session's deterministic id: the source id, or `<user>#<n>` with n
    /// counted from 1 per user.
    pub fn id(&self, table: &EventTable, s: usize) -> String {
        if self.from_column {
            table.session_names.get(self.label[s]).to_string()
        } else {
            format!("{}#{}", table.user_names.get(self.user[s]), self.label[s])
        }
    }
    fn open(&mut self, user: u32, ts: i64, label: u32) -> u32 {
        self.user.push(user);
        self.first_ts.push(ts);
        self.last_ts.push(ts);
        self.events.push(0);
        self.label.push(label);
        (self.user.len() - 1) as u32
    }
    fn add(&mut self, s: u32, ts: i64) {
        let s = s as usize;
        self.events[s] += 1;
        self.first_ts[s] = self.first_ts[s].min(ts);
        self.last_ts[s] = self.last_ts[s].max(ts);
        self.of_event.push(s as u32);
    }
}

pub fn build(table: &EventTable, source: &SessionSource) -> Sessions {
    let mut out = Sessions {
        of_event: Vec::with_capacity(table.len()),
        from_column: matches!(source, SessionSource::Column { .. }),
        ..Sessions::default()
    };
    match source {
        SessionSource::Inactivity { gap_ms } => {
            for range in table.user_ranges() {
                let u = table.user[range.start];
                let mut current = None;
                let mut n = 0;
                let mut prev_ts = i64::MIN;
                for i in range {
                    let ts = table.ts[i];
                    if current.is_none() || ts - prev_ts > *gap_ms {
                        n += 1;
                        current = Some(out.open(u, ts, n));
                    }
                    out.add(current.unwrap_or_default(), ts);
                    prev_ts = ts;
                }
            }
        }
        SessionSource::Column { .. } => {
            let mut open: FxHashMap<u32, u32> = FxHashMap::default();
            for range in table.user_ranges() {
                let u = table.user[range.start];
                open.clear();
                let mut prev: Option<(u32, u32)> = None;
                for i in range {
                    let code = table.session[i];
                    let ts = table.ts[i];
                    // Consecutive events mostly share a session: skip the lookup.
                    let s = match prev {
                        Some((c, s)) if c == code => s,
                        _ => *open.entry(code).or_insert_with(|| out.open(u, ts, code)),
                    };
                    prev = Some((code, s));
                    out.add(s, ts);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(users: &[u32], ts: &[i64]) -> EventTable {
        EventTable {
            user_names: ["a", "b"].into_iter().collect(),
            event_names: ["e"].into_iter().collect(),
            user: users.to_vec(),
            event: vec![0; users.len()],
            ts: ts.to_vec(),
            ..EventTable::default()
        }
    }

    #[test]
    fn gap_must_be_strictly_longer_to_split() {
        let t = table(&[0, 0, 0, 0, 1], &[0, 30, 61, 91, 0]);
        let s = build(&t, &SessionSource::Inactivity { gap_ms: 30 });
        assert_eq!(s.of_event, vec![0, 0, 1, 1, 2]);
        let ids: Vec<String> = (0..s.len()).map(|i| s.id(&t, i)).collect();
        assert_eq!(ids, vec!["a#1", "a#2", "b#1"]);
        assert_eq!(s.events, vec![2, 2, 1]);
        assert_eq!((s.first_ts[1], s.last_ts[1]), (61, 91));
    }

    #[test]
    fn column_sessions_are_per_user() {
        let mut t = table(&[0, 0, 1], &[0, 5, 1]);
        t.session_names = ["s1"].into_iter().collect();
        t.session = vec![0, 0, 0];
        let s = build(
            &t,
            &SessionSource::Column {
                column: "session_id".into(),
            },
        );
        assert_eq!(s.of_event, vec![0, 0, 1]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.id(&t, 1), "s1");
    }
}
