//! Who is in which arm, and since when: an assignments file
//! (user_id,arm,assigned_at) or the first exposure event per user, with
//! every row and every user accounted for, as ingest does for events.
//!
//! Rows of the file that cannot be read are rejected by reason (with
//! their line numbers); users are then excluded by reason: in several
//! arms, in an arm the config does not name, unknown to the events,
//! assigned after their last event, or whose metric window has not closed
//! by the end of the export.

use std::collections::BTreeMap;
use std::path::Path;

use hashbrown::HashMap;
use serde::Serialize;

use crate::error::DataError;
use crate::ingest::EventTable;
use crate::ingest::timestamp::TimeParser;
use crate::predicate::Matcher;

/// One analyzed user: the table's user code, the arm index, exposure ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub user: u32,
    pub arm: usize,
    pub at: i64,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RowReason {
    /// The row has fewer fields than the header names.
    MissingField,
    /// Not valid UTF-8, or a broken quote.
    Unreadable,
    EmptyUser,
    EmptyArm,
    /// assigned_at is not a timestamp.
    BadTime,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UserReason {
    /// Assigned to more than one arm.
    MultipleArms,
    /// The arm is not one of the config's arms.
    UnknownArm,
    /// The exposure event carries no arm value.
    NoArm,
    /// The user has no events in the export.
    UnknownUser,
    /// Exposure after the user's last event: nothing to measure.
    AssignedAfterLastEvent,
    /// exposure + window is later than the export's last event.
    WindowOpen,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RowRejects {
    pub reason: RowReason,
    pub rows: u64,
    /// The first few line numbers (1-based, header = line 1).
    pub lines: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Exclusion {
    pub reason: UserReason,
    pub users: u64,
    /// Of all assigned users.
    pub share: f64,
}

/// The assignment's row and user accounting (report.json `experiment.assignment`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Accounting {
    /// The file, or `exposure event <predicate>`.
    pub source: String,
    /// Data rows read (file rows, or exposure events).
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_rows: Vec<RowRejects>,
    /// Distinct users assigned.
    pub users: u64,
    /// Users analyzed: users − excluded.
    pub analyzed: u64,
    pub excluded: Vec<Exclusion>,
    pub excluded_share: f64,
}

/// Share of excluded users above which the report warns.
pub const WARN_EXCLUDED: f64 = 0.01;
const LINES_KEPT: usize = 5;

/// Raw assignment claims: user name → (arm name, time) in input order.
struct Claims {
    source: String,
    rows: u64,
    rejected: BTreeMap<RowReason, (u64, Vec<u64>)>,
    /// user → first arm seen, its earliest time, and whether a second arm appeared.
    users: BTreeMap<String, Claim>,
}

struct Claim {
    arm: Option<String>,
    at: i64,
    multiple: bool,
}

impl Claims {
    fn reject(&mut self, reason: RowReason, line: u64) {
        let e = self.rejected.entry(reason).or_default();
        e.0 += 1;
        if e.1.len() < LINES_KEPT {
            e.1.push(line);
        }
    }
    fn claim(&mut self, user: &str, arm: Option<&str>, at: i64) {
        match self.users.get_mut(user) {
            Some(c) => {
                if c.arm.as_deref() != arm {
                    c.multiple = true;
                }
                c.at = c.at.min(at);
            }
            None => {
                self.users.insert(
                    user.to_string(),
                    Claim {
                        arm: arm.map(str::to_string),
                        at,
                        multiple: false,
                    },
                );
            }
        }
    }
}

fn find(header: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n)))
}

/// Reads an assignments CSV: a header naming `user_id` (or `user`), `arm`
/// (or `variant`, `variation`, `group`) and `assigned_at` (or `timestamp`,
/// `exposed_at`, `time`).
fn read_file(path: &Path) -> Result<Claims, DataError> {
    let file = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_path(path)
        .map_err(|e| DataError::Input(format!("{file}: cannot open the assignments file: {e}")))?;
    let mut records = rdr.byte_records();
    let header: Vec<String> = match records.next() {
        Some(Ok(r)) => r
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
        Some(Err(e)) => {
            return Err(DataError::Input(format!(
                "{file}:1: cannot read the header: {e}"
            )));
        }
        None => {
            return Err(DataError::Input(format!(
                "{file}: the assignments file is empty; it needs a header user_id,arm,assigned_at and one row per user"
            )));
        }
    };
    let user = find(&header, &["user_id", "user", "userid"]);
    let arm = find(&header, &["arm", "variant", "variation", "group"]);
    let time = find(&header, &["assigned_at", "timestamp", "exposed_at", "time"]);
    let missing: Vec<&str> = [(user, "user_id"), (arm, "arm"), (time, "assigned_at")]
        .iter()
        .filter(|(c, _)| c.is_none())
        .map(|(_, n)| *n)
        .collect();
    let (Some(user), Some(arm), Some(time)) = (user, arm, time) else {
        return Err(DataError::MissingColumns {
            file,
            missing: missing
                .iter()
                .map(|m| format!("required column '{m}'"))
                .collect::<Vec<_>>()
                .join(", "),
            found: header.join(", "),
            hint: "an assignments file has a header row user_id,arm,assigned_at (user, variant and timestamp are accepted too)".into(),
        });
    };
    let parser = TimeParser::new(None);
    let mut claims = Claims {
        source: file,
        rows: 0,
        rejected: BTreeMap::new(),
        users: BTreeMap::new(),
    };
    for (i, rec) in records.enumerate() {
        let line = i as u64 + 2;
        claims.rows += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(_) => {
                claims.reject(RowReason::Unreadable, line);
                continue;
            }
        };
        let field = |c: usize| rec.get(c).map(std::str::from_utf8);
        let (Some(u), Some(a), Some(t)) = (field(user), field(arm), field(time)) else {
            claims.reject(RowReason::MissingField, line);
            continue;
        };
        let (Ok(u), Ok(a), Ok(t)) = (u, a, t) else {
            claims.reject(RowReason::Unreadable, line);
            continue;
        };
        let (u, a) = (u.trim(), a.trim());
        if u.is_empty() {
            claims.reject(RowReason::EmptyUser, line);
        } else if a.is_empty() {
            claims.reject(RowReason::EmptyArm, line);
        } else {
            match parser.parse(t.trim()) {
                Ok(p) => claims.claim(u, Some(a), p.ms),
                Err(_) => claims.reject(RowReason::BadTime, line),
            }
        }
    }
    Ok(claims)
}

/// Claims from the first exposure event per user; a later exposure to
/// another arm makes the user a multiple-arm user.
fn read_exposures(t: &EventTable, exposure: &Matcher, arm_prop: usize, label: String) -> Claims {
    let mut claims = Claims {
        source: label,
        rows: 0,
        rejected: BTreeMap::new(),
        users: BTreeMap::new(),
    };
    let col = &t.props[arm_prop];
    for i in 0..t.len() {
        if !exposure.matches(t, i) {
            continue;
        }
        claims.rows += 1;
        let code = col.codes[i];
        let arm = (code != 0).then(|| col.values.get(code));
        claims.claim(t.user_names.get(t.user[i]), arm, t.ts[i]);
    }
    claims
}

/// Where the assignment comes from.
pub enum Source<'a> {
    File(&'a Path),
    Exposure {
        matcher: Matcher,
        arm_prop: usize,
        label: String,
    },
}

/// The analyzed users, sorted by user code, and the accounting.
pub fn assign(
    t: &EventTable,
    ranges: &[std::ops::Range<usize>],
    source: Source,
    arms: &[String],
    window_ms: i64,
) -> Result<(Vec<Assigned>, Accounting), DataError> {
    let claims = match source {
        Source::File(p) => read_file(p)?,
        Source::Exposure {
            matcher,
            arm_prop,
            label,
        } => read_exposures(t, &matcher, arm_prop, label),
    };
    let mut user_code: HashMap<&str, u32> = HashMap::with_capacity(t.user_names.len());
    for c in 0..t.user_names.len() as u32 {
        user_code.insert(t.user_names.get(c), c);
    }
    let mut last_ts: HashMap<u32, i64> = HashMap::with_capacity(ranges.len());
    for r in ranges {
        if let Some(last) = r.clone().last() {
            last_ts.insert(t.user[r.start], t.ts[last]);
        }
    }
    let export_end = t.ts.iter().copied().max().unwrap_or(i64::MIN);
    let mut excluded: BTreeMap<UserReason, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for (name, c) in &claims.users {
        let reason = if c.multiple {
            Some(UserReason::MultipleArms)
        } else {
            match &c.arm {
                None => Some(UserReason::NoArm),
                Some(a) if !arms.contains(a) => Some(UserReason::UnknownArm),
                Some(_) => match user_code.get(name.as_str()) {
                    None => Some(UserReason::UnknownUser),
                    Some(code) if last_ts.get(code).is_none_or(|&l| c.at > l) => {
                        Some(UserReason::AssignedAfterLastEvent)
                    }
                    Some(_) if c.at.saturating_add(window_ms) > export_end => {
                        Some(UserReason::WindowOpen)
                    }
                    Some(_) => None,
                },
            }
        };
        match reason {
            Some(r) => *excluded.entry(r).or_default() += 1,
            None => {
                let arm = arms
                    .iter()
                    .position(|a| Some(a) == c.arm.as_ref())
                    .unwrap_or(0);
                out.push(Assigned {
                    user: user_code[name.as_str()],
                    arm,
                    at: c.at,
                });
            }
        }
    }
    out.sort_by_key(|a| a.user);
    let users = claims.users.len() as u64;
    let share = |n: u64| {
        if users == 0 {
            0.0
        } else {
            crate::stats::round6(n as f64 / users as f64)
        }
    };
    let n_excluded: u64 = excluded.values().sum();
    let accounting = Accounting {
        source: claims.source,
        rows: claims.rows,
        rejected_rows: claims
            .rejected
            .into_iter()
            .map(|(reason, (rows, lines))| RowRejects {
                reason,
                rows,
                lines,
            })
            .collect(),
        users,
        analyzed: out.len() as u64,
        excluded: excluded
            .into_iter()
            .map(|(reason, n)| Exclusion {
                reason,
                users: n,
                share: share(n),
            })
            .collect(),
        excluded_share: share(n_excluded),
    };
    Ok((out, accounting))
}
