//! Interactions: the counted events that name an item, per user in time
//! order (ties in export order, as the table keeps them), with their event
//! weight. Items get dense ids in byte order of their names, so every
//! ranking tie broken by id is broken the same way whatever the row order.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::error::DataError;
use crate::ingest::EventTable;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inter {
    pub item: u32,
    pub ts: i64,
    /// The event's weight (before any time decay).
    pub weight: f64,
    /// The event's session number.
    pub session: u32,
    /// Whether the event is one of `eval_events` (all counted events when
    /// none are named).
    pub target: bool,
}

/// One user's interactions: `rows[range]`, plus the fallback groups.
#[derive(Debug, Clone)]
pub struct UserRows {
    /// The table's user code.
    pub user: u32,
    pub range: Range<usize>,
    /// Per fallback column: the code of the user's first non-empty value
    /// (0 = none), into [`Interactions::groups`].
    pub groups: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Interactions {
    pub item_names: Vec<String>,
    pub rows: Vec<Inter>,
    /// Every user of the table, in table order (those without an
    /// interaction have an empty range: they are the cold-start users).
    pub users: Vec<UserRows>,
    /// Per fallback column: its name and its values (code 0 = missing).
    pub groups: Vec<(String, Vec<String>)>,
    /// Counted events whose item cell was empty.
    pub empty_items: u64,
    /// The export's last timestamp (the reference for decay and `generated_at`).
    pub last_ts: Option<i64>,
    /// From a catalog: per item its title (empty without one).
    pub titles: Vec<Option<String>>,
    /// From a catalog: its category names (code 0 = none).
    pub categories: Vec<String>,
}

pub struct Build<'a> {
    pub item_column: &'a str,
    pub weights: Option<&'a BTreeMap<String, f64>>,
    pub eval_events: Option<&'a [String]>,
    pub fallback_by: &'a [String],
    pub user_ranges: &'a [Range<usize>],
    /// The session number of each table event (empty: one session per user).
    pub sessions: &'a [u32],
}

impl Interactions {
    pub fn build(t: &EventTable, b: &Build) -> Result<Interactions, DataError> {
        let col = t.prop(b.item_column).ok_or_else(|| {
            let names: Vec<&str> = t.props.iter().map(|p| p.name.as_str()).collect();
            DataError::Input(format!(
                "the item column {:?} is not in the export (its property columns: {}); name it with --item-col",
                b.item_column,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ))
        })?;
        // Event weights by event code; None = not counted.
        let weight: Vec<Option<f64>> = (0..t.event_names.len() as u32)
            .map(|e| {
                let name = t.event_names.get(e);
                match b.weights {
                    Some(w) => w.get(name).copied(),
                    None => Some(1.0),
                }
            })
            .collect();
        let target: Vec<bool> = (0..t.event_names.len() as u32)
            .map(|e| {
                b.eval_events
                    .is_none_or(|ev| ev.iter().any(|x| x == t.event_names.get(e)))
            })
            .collect();
        // Dense item ids in name order, over the values that occur in a
        // counted event.
        let mut used = vec![false; col.values.len()];
        let mut empty_items = 0u64;
        for i in 0..t.len() {
            if weight[t.event[i] as usize].is_some() {
                let c = col.codes[i];
                if c == 0 || col.values.get(c).trim().is_empty() {
                    empty_items += 1;
                } else {
                    used[c as usize] = true;
                }
            }
        }
        let mut named: Vec<(&str, u32)> = (0..col.values.len() as u32)
            .filter(|&c| used[c as usize])
            .map(|c| (col.values.get(c), c))
            .collect();
        named.sort_unstable();
        let mut dense = vec![u32::MAX; col.values.len()];
        for (i, (_, c)) in named.iter().enumerate() {
            dense[*c as usize] = i as u32;
        }
        let item_names: Vec<String> = named.iter().map(|(n, _)| n.to_string()).collect();

        let group_cols: Vec<Option<&crate::ingest::PropColumn>> =
            b.fallback_by.iter().map(|c| t.prop(c)).collect();
        let mut group_values: Vec<Vec<String>> = vec![vec![String::new()]; group_cols.len()];
        let mut group_maps: Vec<BTreeMap<u32, u32>> = vec![BTreeMap::new(); group_cols.len()];

        let mut rows = Vec::new();
        let mut users = Vec::with_capacity(b.user_ranges.len());
        for r in b.user_ranges {
            let start = rows.len();
            for i in r.clone() {
                let Some(w) = weight[t.event[i] as usize] else {
                    continue;
                };
                let d = dense[col.codes[i] as usize];
                if d == u32::MAX {
                    continue;
                }
                rows.push(Inter {
                    item: d,
                    ts: t.ts[i],
                    weight: w,
                    session: b.sessions.get(i).copied().unwrap_or(0),
                    target: target[t.event[i] as usize],
                });
            }
            let groups = group_cols
                .iter()
                .enumerate()
                .map(|(g, c)| {
                    let Some(c) = c else { return 0 };
                    let Some(code) = r
                        .clone()
                        .map(|i| c.codes[i])
                        .find(|&v| v != 0 && !c.values.get(v).trim().is_empty())
                    else {
                        return 0;
                    };
                    let next = group_maps[g].len() as u32 + 1;
                    *group_maps[g].entry(code).or_insert_with(|| {
                        group_values[g].push(c.values.get(code).to_string());
                        next
                    })
                })
                .collect();
            users.push(UserRows {
                user: t.user.get(r.start).copied().unwrap_or(0),
                range: start..rows.len(),
                groups,
            });
        }
        let groups = b.fallback_by.iter().cloned().zip(group_values).collect();
        Ok(Interactions {
            item_names,
            rows,
            users,
            groups,
            empty_items,
            last_ts: t.ts.iter().copied().max(),
            titles: Vec::new(),
            categories: Vec::new(),
        })
    }

    pub fn n_items(&self) -> usize {
        self.item_names.len()
    }

    /// The item's title where the catalog gives one, else its id.
    pub fn title(&self, i: u32) -> &str {
        match self.titles.get(i as usize) {
            Some(Some(t)) => t,
            _ => self.item_names.get(i as usize).map_or("?", String::as_str),
        }
    }
}

/// One user's distinct items with their (decayed) weights, sorted by item,
/// from the rows `rows`; `last` is the item of the last row.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub items: Vec<(u32, f64)>,
    pub last: Option<u32>,
}

/// The weight an interaction at `ts` keeps at `t_ref` under `half_life`.
pub fn decay(ts: i64, t_ref: i64, half_life_ms: Option<i64>) -> f64 {
    match half_life_ms {
        Some(h) => (0.5f64).powf((t_ref - ts).max(0) as f64 / h as f64),
        None => 1.0,
    }
}

impl History {
    pub fn of(rows: &[Inter], t_ref: i64, half_life_ms: Option<i64>) -> History {
        let mut items: Vec<(u32, f64)> = rows
            .iter()
            .map(|r| (r.item, r.weight * decay(r.ts, t_ref, half_life_ms)))
            .collect();
        items.sort_by_key(|x| x.0);
        let mut out: Vec<(u32, f64)> = Vec::with_capacity(items.len());
        for (i, w) in items {
            match out.last_mut() {
                Some(l) if l.0 == i => l.1 += w,
                _ => out.push((i, w)),
            }
        }
        History {
            items: out,
            last: rows.last().map(|r| r.item),
        }
    }
    pub fn contains(&self, item: u32) -> bool {
        self.items.binary_search_by_key(&item, |x| x.0).is_ok()
    }
}
