//! The columns drift compares, built from the two tables: the event name
//! and each property per event (counted per interned value, so ten million
//! events cost one pass and no sort), then one value per user.

use std::collections::BTreeMap;

use super::stattest::{CategoryCount, Sample};
use crate::features::{Events, Extractor, FeatureDef, RowScratch, Unit};
use crate::ingest::{EventTable, PropColumn};
use crate::sessions::Sessions;

/// A column ready for testing, with what the drill-down needs.
pub struct Built {
    pub name: String,
    pub sample: Sample,
    pub missing: (u64, u64),
    pub note: Option<String>,
    pub values: Values,
}

/// Each row's value on one side, for the drill-down.
pub enum Values {
    /// The event name column.
    EventName,
    /// A property column, by name.
    Property(String),
    /// One number per unit; units are users (`Vec<u32>` user codes).
    Users([Vec<f64>; 2], [Vec<u32>; 2]),
}

fn counts(codes: &[u32], n: usize) -> Vec<u64> {
    let mut c = vec![0u64; n];
    for &x in codes {
        c[x as usize] += 1;
    }
    c
}

pub(super) fn categorical(sides: [Vec<(&str, u64)>; 2]) -> Sample {
    let mut m: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (k, side) in sides.iter().enumerate() {
        for &(name, n) in side {
            let e = m.entry(name).or_default();
            if k == 0 {
                e.0 += n;
            } else {
                e.1 += n;
            }
        }
    }
    Sample::Categorical(
        m.into_iter()
            .filter(|(_, (r, c))| r + c > 0)
            .map(|(key, (reference, current))| CategoryCount {
                key: key.to_string(),
                reference,
                current,
            })
            .collect(),
    )
}

/// The event name, as a categorical column over events.
pub fn event_name(t: [&EventTable; 2]) -> Built {
    fn side(t: &EventTable) -> Vec<(&str, u64)> {
        let c = counts(&t.event, t.event_names.len());
        c.iter()
            .enumerate()
            .map(|(i, &n)| (t.event_names.get(i as u32), n))
            .collect()
    }
    Built {
        name: "event".into(),
        sample: categorical([side(t[0]), side(t[1])]),
        missing: (0, 0),
        note: None,
        values: Values::EventName,
    }
}

/// A property value as a number, if it is one.
fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Every property column of either table, numerical when every value on
/// both sides is a number.
pub fn properties(t: [&EventTable; 2]) -> Vec<Built> {
    let mut names: Vec<&str> = t
        .iter()
        .flat_map(|t| t.props.iter().map(|p| p.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| property(name, [t[0].prop(name), t[1].prop(name)]))
        .collect()
}

fn property(name: &str, cols: [Option<&PropColumn>; 2]) -> Built {
    let per_code: [Vec<u64>; 2] =
        std::array::from_fn(|k| cols[k].map_or(Vec::new(), |p| counts(&p.codes, p.values.len())));
    let missing = (
        per_code[0].first().copied().unwrap_or(0),
        per_code[1].first().copied().unwrap_or(0),
    );
    let used = |k: usize| {
        let p = cols[k];
        per_code[k]
            .iter()
            .enumerate()
            .skip(1)
            .filter(|&(_, &n)| n > 0)
            .map(move |(code, &n)| (p.unwrap().values.get(code as u32), n))
    };
    let numeric = (0..2).all(|k| used(k).all(|(v, _)| number(v).is_some()))
        && (0..2).any(|k| used(k).next().is_some());
    let sample = if numeric {
        let mut v = Vec::new();
        for k in 0..2 {
            for (s, n) in used(k) {
                let x = number(s).unwrap_or(f64::NAN);
                v.push(if k == 0 { (x, n, 0) } else { (x, 0, n) });
            }
        }
        Sample::numeric(v)
    } else {
        categorical([used(0).collect(), used(1).collect()])
    };
    let note = match cols {
        [None, _] => Some("only in the current export".to_string()),
        [_, None] => Some("only in the reference export".to_string()),
        _ => None,
    };
    Built {
        name: name.to_string(),
        sample,
        missing,
        note,
        values: Values::Property(name.to_string()),
    }
}

/// The features measured on every user's whole history when no model is
/// given.
pub fn base_features() -> Vec<FeatureDef> {
    vec![
        FeatureDef::Events { per_session: false },
        FeatureDef::Sessions,
        FeatureDef::ActiveDays,
        FeatureDef::TenureHours,
        FeatureDef::DurationSeconds { per_session: false },
    ]
}

/// `defs` on every user's whole history (cutoff: the user's last event):
/// one column per feature, and the users in table order.
pub fn user_features(
    t: &EventTable,
    sessions: &Sessions,
    defs: &[FeatureDef],
) -> Result<(Vec<Vec<f64>>, Vec<u32>), crate::error::DataError> {
    let (ex, _) = Extractor::new(
        t,
        sessions,
        defs,
        crate::features::extract::FunnelSource::None,
    )?;
    let ranges = t.user_ranges();
    let parts = crate::parallel::map_ranges(ranges.len(), |range| {
        let mut scratch = RowScratch::default();
        let mut raw = vec![0.0; ex.width()];
        ranges[range]
            .iter()
            .map(|r| {
                let unit = Unit {
                    events: Events::range(r.clone()),
                    cutoff_ts: t.ts[r.end - 1],
                    first_ts: t.ts[r.start],
                    level: None,
                };
                ex.row(&unit, &mut scratch, &mut raw);
                raw.clone()
            })
            .collect::<Vec<_>>()
    });
    let mut cols = vec![Vec::with_capacity(ranges.len()); defs.len()];
    for row in parts.into_iter().flatten() {
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    Ok((cols, ranges.iter().map(|r| t.user[r.start]).collect()))
}

/// A per-user column on both sides.
pub fn user_column(name: String, values: [Vec<f64>; 2], users: [Vec<u32>; 2]) -> Built {
    let mut v: Vec<(f64, u64, u64)> = Vec::with_capacity(values[0].len() + values[1].len());
    let mut missing = (0, 0);
    for (k, side) in values.iter().enumerate() {
        for &x in side {
            if !x.is_finite() {
                if k == 0 {
                    missing.0 += 1;
                } else {
                    missing.1 += 1;
                }
                continue;
            }
            v.push(if k == 0 { (x, 1, 0) } else { (x, 0, 1) });
        }
    }
    Built {
        name,
        sample: Sample::numeric(v),
        missing,
        note: None,
        values: Values::Users(values, users),
    }
}
