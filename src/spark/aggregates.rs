//! `report --aggregates DIR`: the report from a Spark job's counts, through
//! the same merge a partitioned run uses ([`crate::partitioned::merge`]).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::Value;

use super::Plan;
use crate::config::JourneyConfig;
use crate::error::{DataError, UsageError};
use crate::funnel::{FunnelOptions, FunnelPart, UnitCounts};
use crate::ingest::Interner;
use crate::ingest::reject::{RejectCounts, RejectReason};
use crate::ingest::{EventTable, FileInfo, Format, Ingested, PropColumn};
use crate::partitioned::{Loaded, Partials};
use crate::paths::{MarkovPart, StateCounts};
use crate::pipeline::{Data, LoadOptions};
use crate::stages::{StageCounts, StagesPart};
use crate::summary::SummaryPart;

/// The job's one `rows` record: the row accounting and the input's shape.
#[derive(Debug, Deserialize)]
struct Rows {
    read: u64,
    rejected: std::collections::BTreeMap<String, u64>,
    duplicates: u64,
    used: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    naive: u64,
    properties: Vec<String>,
    sessions_from_column: bool,
    /// Of `page` and `channel`, the columns the stage tallies counted.
    #[serde(default)]
    stage_columns: Vec<String>,
    /// Per plan file: rows read, rows rejected.
    files: Vec<(u64, u64)>,
}

/// Reads `dir` (plan.json and the job's output) for a run of `config`
/// with `opts`; refuses aggregates computed for anything else.
pub fn load(dir: &Path, config: &JourneyConfig, opts: &LoadOptions) -> Result<Loaded> {
    let plan_path = dir.join("plan.json");
    let plan: Plan = serde_json::from_slice(&std::fs::read(&plan_path).map_err(|e| {
        UsageError(format!(
            "--aggregates: cannot read {}: {e}; pass the folder `journeymap push` wrote",
            plan_path.display()
        ))
    })?)
    .map_err(|e| {
        DataError::Input(format!(
            "{}: not a journeymap plan: {e}",
            plan_path.display()
        ))
    })?;
    if plan.aggregates_format != super::FORMAT {
        return Err(UsageError(format!(
            "{}: aggregates format {} (journeymap {}); this journeymap reads format {}: push again with this version",
            plan_path.display(),
            plan.aggregates_format,
            plan.journeymap,
            super::FORMAT
        ))
        .into());
    }
    let want = super::fingerprint(config, opts);
    if plan.fingerprint != want {
        return Err(UsageError(format!(
            "{}: these aggregates were computed for another config or other reading options (fingerprint {}, this run's {want}); pass the --config and column flags they were pushed with, or push again with these",
            plan_path.display(),
            plan.fingerprint
        ))
        .into());
    }
    let missing = super::unsupported(config, opts);
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "--aggregates: the Spark job does not compute {}",
            missing.join(", ")
        ))
        .into());
    }
    let out = {
        let local = dir.join("aggregates");
        if local.is_dir() {
            local
        } else {
            PathBuf::from(&plan.out)
        }
    };
    let rows: Rows = {
        let lines = lines(&out.join("rows"))?;
        let first = lines.first().ok_or_else(|| {
            DataError::Input(format!("{}: no rows record", out.join("rows").display()))
        })?;
        serde_json::from_str(first)
            .map_err(|e| DataError::Input(format!("{}: {e}", out.join("rows").display())))?
    };
    let counts = lines(&out.join("counts"))?;
    let at = out.join("counts");
    build(&plan, rows, &counts, &at, config, opts)
}

/// The lines of a Spark output folder's part files, which must be whole
/// (Spark writes `_SUCCESS` last).
fn lines(dir: &Path) -> Result<Vec<String>> {
    if !dir.join("_SUCCESS").is_file() {
        return Err(DataError::Input(format!(
            "{}: no _SUCCESS marker: the Spark job did not finish writing here; run it again",
            dir.display()
        ))
        .into());
    }
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("part-"))
        })
        .collect();
    parts.sort();
    let mut out = Vec::new();
    for p in parts {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        out.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
    }
    Ok(out)
}

fn build(
    plan: &Plan,
    rows: Rows,
    counts: &[String],
    at: &Path,
    config: &JourneyConfig,
    opts: &LoadOptions,
) -> Result<Loaded> {
    let bad = |line: usize, what: String| -> anyhow::Error {
        DataError::Input(format!("{}: line {}: {what}", at.display(), line + 1)).into()
    };
    let mut parsed: Vec<(String, Vec<Value>, u64)> = Vec::with_capacity(counts.len());
    for (i, l) in counts.iter().enumerate() {
        let v: Vec<Value> = serde_json::from_str(l).map_err(|e| bad(i, e.to_string()))?;
        let (tag, rest) = match v.split_first() {
            Some((Value::String(t), rest)) if !rest.is_empty() => (t.clone(), rest),
            _ => return Err(bad(i, "not a tagged count".into())),
        };
        let (count, key) = rest.split_last().expect("not empty");
        let count = count
            .as_u64()
            .ok_or_else(|| bad(i, "the count is no whole number".into()))?;
        parsed.push((tag, key.to_vec(), count));
    }
    // Event codes: the events by name (any order serves: every listing
    // sorts by count, then name).
    let mut names: Vec<&str> = parsed
        .iter()
        .filter(|(t, _, _)| t == "event")
        .filter_map(|(_, k, _)| k.first().and_then(Value::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut event_names = Interner::new();
    for n in &names {
        event_names.intern(n);
    }
    let code: FxHashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, i as u32))
        .collect();
    let event_of = |i: usize, v: &Value| -> Result<u32> {
        v.as_str()
            .and_then(|s| code.get(s).copied())
            .ok_or_else(|| bad(i, format!("{v} is no event of the input")))
    };
    // The Markov map's states: events, or the stages by name.
    let by_stage = plan.markov.as_ref().is_some_and(|m| m.states == "stage");
    let stage_names: Vec<String> = config.stages.iter().map(|s| s.name.clone()).collect();
    let k = if by_stage {
        stage_names.len()
    } else {
        names.len()
    };
    let state_of = |i: usize, v: &Value| -> Result<u32> {
        match v.as_i64() {
            Some(-1) => Ok(k as u32),
            Some(-2) => Ok(k as u32 + 1),
            Some(-3) => Ok(k as u32 + 2),
            Some(x) => Err(bad(i, format!("no state {x}"))),
            None if by_stage => v
                .as_str()
                .and_then(|s| stage_names.iter().position(|n| n == s))
                .map(|p| p as u32)
                .ok_or_else(|| bad(i, format!("{v} is no stage of the config"))),
            None => event_of(i, v),
        }
    };
    // Page and channel values, coded as the head table's columns code them.
    let mut role_values: [Interner; 2] = [Interner::with_null(), Interner::with_null()];
    let mut st = StageCounts {
        pages: rows
            .stage_columns
            .iter()
            .any(|c| c == "page")
            .then(Vec::new),
        channels: rows
            .stage_columns
            .iter()
            .any(|c| c == "channel")
            .then(Vec::new),
        ..StageCounts::default()
    };
    let mut tallies: FxHashMap<(u8, usize, u32), (u64, u64)> = FxHashMap::default();
    let int = |i: usize, v: Option<&Value>| -> Result<i64> {
        v.and_then(Value::as_i64)
            .ok_or_else(|| bad(i, "a key is no whole number".into()))
    };
    let flag = |i: usize, v: Option<&Value>| -> Result<bool> {
        v.and_then(Value::as_bool)
            .ok_or_else(|| bad(i, "a key is no true/false".into()))
    };

    let mut ev_counts = vec![0u64; names.len()];
    let mut ev_users = vec![0u64; names.len()];
    let (mut per_user, mut per_session, mut durations) = (Vec::new(), Vec::new(), Vec::new());
    let mut f = UnitCounts {
        units: Vec::new(),
        from_previous: Vec::new(),
        from_first: Vec::new(),
        open: Vec::new(),
        next_events: Vec::new(),
        exit_events: Vec::new(),
    };
    let mut m = StateCounts {
        edges: Vec::new(),
        paths: Vec::new(),
        sessions: 0,
        converted: 0,
        after_conversion: 0,
        skipped: 0,
        visits: Vec::new(),
    };
    let rep = |v: &mut Vec<f64>, x: f64, n: u64| -> Result<()> {
        crate::funnel::push_n(v, x, n)
            .map_err(|e| DataError::Input(format!("aggregates: {e}")).into())
    };
    // Each user, session and funnel unit holds at least one event: no
    // count of them can pass the rows used (which also bounds what the
    // histograms expand to).
    let mut totals: FxHashMap<&str, u64> = FxHashMap::default();
    for (i, (tag, _, n)) in parsed.iter().enumerate() {
        let t = totals.entry(tag.as_str()).or_default();
        *t = t.saturating_add(*n);
        if *t > rows.used && tag != "m_edge" && tag != "m_visit" {
            return Err(bad(
                i,
                format!("more {tag} counts than the {} rows used", rows.used),
            ));
        }
    }
    let events = totals.get("event").copied().unwrap_or(0);
    if events != rows.used {
        return Err(DataError::Input(format!(
            "{}: the events count {events} rows, the rows record {} used",
            at.display(),
            rows.used
        ))
        .into());
    }
    for (i, (tag, key, n)) in parsed.iter().enumerate() {
        let n = *n;
        let first = key.first().unwrap_or(&Value::Null);
        let step = |j: usize| -> Result<usize> {
            usize::try_from(int(i, key.get(j))?).map_err(|_| bad(i, "a negative step".into()))
        };
        match tag.as_str() {
            "event" => ev_counts[event_of(i, first)? as usize] += n,
            "event_users" => ev_users[event_of(i, first)? as usize] += n,
            "per_user" => rep(&mut per_user, int(i, key.first())? as f64, n)?,
            "s_events" => rep(&mut per_session, int(i, key.first())? as f64, n)?,
            "s_ms" => rep(&mut durations, int(i, key.first())? as f64 / 1000.0, n)?,
            "f_unit" => f.units.push((step(0)?, flag(i, key.get(1))?, n)),
            "f_sec" => f.from_previous.push((step(0)?, int(i, key.get(1))?, n)),
            "f_first" => f.from_first.push((step(0)?, int(i, key.get(1))?, n)),
            "f_open" => f.open.push((step(0)?, n)),
            "f_next" | "f_exit" => {
                let e = event_of(i, key.get(1).unwrap_or(&Value::Null))?;
                let list = if tag == "f_next" {
                    &mut f.next_events
                } else {
                    &mut f.exit_events
                };
                list.push((step(0)?, e, n));
            }
            "m_after" => m.after_conversion += n,
            "m_skipped" => m.skipped += n,
            "st_pred" => st.pred_events.push((step(0)?, n)),
            "st_stage" => st.stage_events.push((step(0)?, n)),
            "st_reached" => st.reached.push((step(0)?, n)),
            "st_next" => st.users_next.push((step(0)?, n)),
            "st_exit" => st.exits.push((
                step(0)?,
                event_of(i, key.get(1).unwrap_or(&Value::Null))?,
                n,
            )),
            "st_ms" => st.times.push((step(0)?, int(i, key.get(1))?, n)),
            "st_pm" => st.matched.push(step(0)?),
            "st_un" | "st_unu" => {
                let e = event_of(i, first)?;
                let t = tallies.entry((0, 0, e)).or_default();
                if tag == "st_un" { t.0 += n } else { t.1 += n }
            }
            "st_ev" | "st_evu" | "st_pg" | "st_pgu" | "st_ch" | "st_chu" => {
                let v = key.get(1).unwrap_or(&Value::Null);
                let (kind, c) = if tag.starts_with("st_ev") {
                    (1, event_of(i, v)?)
                } else {
                    let r = usize::from(tag.starts_with("st_ch"));
                    let text = v
                        .as_str()
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| bad(i, format!("{v} is no value")))?;
                    (2 + r as u8, role_values[r].intern(text))
                };
                let t = tallies.entry((kind, step(0)?, c)).or_default();
                if tag.len() == 6 { t.1 += n } else { t.0 += n }
            }
            "m_session" => {
                m.sessions += n;
                if flag(i, key.first())? {
                    m.converted += n;
                }
            }
            "m_edge" if key.len() == 2 => {
                m.edges
                    .push((state_of(i, &key[0])?, state_of(i, &key[1])?, n));
            }
            "m_visit" => m
                .visits
                .push((state_of(i, first)?, flag(i, key.get(1))?, n)),
            "m_path" => m.paths.push((
                key.iter().map(|v| state_of(i, v)).collect::<Result<_>>()?,
                n,
            )),
            other => return Err(bad(i, format!("unknown count {other:?}"))),
        }
    }
    // The job emits per-user values in no order; distributions sort them.
    let span = rows.first_ms.zip(rows.last_ms);
    let mut rejected = RejectCounts::default();
    for (reason, n) in &rows.rejected {
        let r = RejectReason::ALL
            .iter()
            .find(|r| r.as_str() == reason)
            .ok_or_else(|| DataError::Input(format!("rows: unknown reject reason {reason:?}")))?;
        rejected.add_n(*r, *n);
    }
    if rows.read != rows.used + rejected.total() {
        return Err(DataError::Input(format!(
            "rows: {} read is not {} used + {} rejected",
            rows.read,
            rows.used,
            rejected.total()
        ))
        .into());
    }
    for ((kind, k, c), (events, users)) in tallies {
        match kind {
            0 => st.unmapped.push((c, events, users)),
            1 => st.events_by_stage.push((k, c, events, users)),
            2 => st
                .pages
                .get_or_insert_with(Vec::new)
                .push((k, c, events, users)),
            _ => st
                .channels
                .get_or_insert_with(Vec::new)
                .push((k, c, events, users)),
        }
    }
    st.users = per_user.len() as u64;
    st.events = rows.used;
    let [pages, channels] = role_values;
    let mut props: Vec<PropColumn> = plan
        .properties
        .iter()
        .map(|name| PropColumn {
            name: name.clone(),
            values: Interner::with_null(),
            codes: Vec::new(),
        })
        .collect();
    for (role, values) in [("page", pages), ("channel", channels)] {
        if rows.stage_columns.iter().any(|c| c == role) {
            props.retain(|p| p.name != role);
            props.push(PropColumn {
                name: role.into(),
                values,
                codes: Vec::new(),
            });
        }
    }
    let table = EventTable {
        event_names,
        props,
        ..EventTable::default()
    };
    if !config.stages.is_empty() {
        // The same refusals as a local run (a stage named twice, one
        // mapping no events, an event name that is a typo).
        crate::stages::StageMap::new(&table, &config.stages)?;
    }
    let files = plan
        .files
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (read, rejected) = rows.files.get(i).copied().unwrap_or((0, 0));
            FileInfo {
                path: p.clone(),
                format: Format::Parquet,
                bytes: std::fs::metadata(p).map_or(0, |m| m.len()),
                rows_read: read,
                rows_rejected: rejected,
            }
        })
        .collect();
    let ingested = Ingested {
        files,
        read: rows.read,
        rejected,
        naive_timestamps: rows.naive,
        session_column: rows
            .sessions_from_column
            .then(|| plan.columns.session.clone()),
        duplicates: rows.duplicates,
        property_names: rows.properties.clone(),
        spilled_rows: Some(rows.used),
        ..Ingested::of(table)
    };
    let (source, parameters) = crate::pipeline::sources(&ingested.session_column, opts);
    let summary = SummaryPart::from_counts(
        ev_counts,
        ev_users,
        [per_user, per_session, durations],
        span,
    );
    let mut partials: Partials = Vec::new();
    let mut funnel = Some(f);
    let mut markov = Some(m);
    for a in crate::analysis::ALL {
        if !a.configured(config) {
            partials.push(None);
            continue;
        }
        let part: crate::analysis::Partial = match a.key() {
            "funnel" => {
                let c = config.funnel.as_ref().expect("configured");
                let o = FunnelOptions::from_config(c);
                let counts = funnel.take().expect("one funnel");
                Box::new(FunnelPart::from_counts(
                    &o,
                    span.map_or(0, |s| s.1),
                    counts,
                )?)
            }
            "markov" => Box::new(MarkovPart::from_counts(k, markov.take().expect("one map"))?),
            "stages" => Box::new(StagesPart::from_counts(
                &ingested.table,
                &config.stages,
                std::mem::take(&mut st),
            )?),
            other => {
                return Err(UsageError(format!(
                    "--aggregates: the Spark job does not compute {other}"
                ))
                .into());
            }
        };
        partials.push(Some(Ok(vec![part])));
    }
    Ok(Loaded {
        data: Data {
            ingested,
            sessions: Default::default(),
            source,
            parameters,
            summary: Some(summary),
        },
        partials,
        warnings: Vec::new(),
        span,
    })
}
