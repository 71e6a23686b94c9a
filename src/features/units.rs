//! Units the features describe: every user (their events in table order),
//! or every session (its events, grouped by a counting sort). A user
//! before a cutoff is a [`super::Events::Range`] the label code makes.

use super::Events;
use crate::ingest::EventTable;
use crate::sessions::Sessions;

/// What one unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    User,
    Session,
}

/// The units of a table, each with its events.
pub struct Units<'a> {
    pub kind: UnitKind,
    t: &'a EventTable,
    sessions: &'a Sessions,
    /// Per user unit: the table range; per session unit: (offset, len) into `order`.
    spans: Vec<(usize, usize)>,
    /// Event indices grouped by session, in time order (session units only).
    order: Vec<u32>,
}

impl<'a> Units<'a> {
    /// Every user (in table order) or every session (in session order).
    pub fn all(t: &'a EventTable, sessions: &'a Sessions, kind: UnitKind) -> Self {
        match kind {
            UnitKind::User => Units {
                kind,
                t,
                sessions,
                spans: t.user_ranges().iter().map(|r| (r.start, r.len())).collect(),
                order: Vec::new(),
            },
            UnitKind::Session => {
                // Counting sort of event indices by session: O(events).
                let n = sessions.len();
                let mut start = vec![0usize; n + 1];
                for &s in &sessions.of_event {
                    start[s as usize + 1] += 1;
                }
                for s in 0..n {
                    start[s + 1] += start[s];
                }
                let spans = (0..n)
                    .map(|s| (start[s], start[s + 1] - start[s]))
                    .collect();
                let mut fill = start;
                let mut order = vec![0u32; sessions.of_event.len()];
                for (i, &s) in sessions.of_event.iter().enumerate() {
                    order[fill[s as usize]] = i as u32;
                    fill[s as usize] += 1;
                }
                Units {
                    kind,
                    t,
                    sessions,
                    spans,
                    order,
                }
            }
        }
    }

    pub fn table(&self) -> &'a EventTable {
        self.t
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The unit's user code and, per session, its session number.
    pub fn id(&self, u: usize) -> (u32, Option<u32>) {
        match self.kind {
            UnitKind::User => (self.t.user[self.spans[u].0], None),
            UnitKind::Session => (self.sessions.user[u], Some(u as u32)),
        }
    }

    /// The unit's events in time order.
    pub fn events(&self, u: usize) -> Events<'_> {
        let (start, len) = self.spans[u];
        match self.kind {
            UnitKind::User => Events::Range(start, start + len),
            UnitKind::Session => Events::List(&self.order[start..start + len]),
        }
    }

    /// The unit's last event.
    pub fn last_event(&self, u: usize) -> usize {
        let ev = self.events(u);
        ev.get(ev.len() - 1)
    }

    /// The unit as the extractor reads it (`level`: its funnel level).
    pub fn unit(&self, u: usize, level: Option<i32>) -> super::Unit<'_> {
        let events = self.events(u);
        let last = self.t.ts[events.get(events.len() - 1)];
        super::Unit {
            events,
            cutoff_ts: last,
            first_ts: self.t.ts[events.get(0)],
            level,
        }
    }
}
