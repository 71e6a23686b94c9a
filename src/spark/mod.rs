//! The per-user pass on Spark: `journeymap push --engine spark` writes a
//! PySpark job and its plan; the job computes, where the events live, the
//! counts the report needs; `report --aggregates DIR` builds the report
//! from them ([`aggregates`]). docs/scaling.md says when and how.
//!
//! The job's kernel is a port of this crate's (sessions, the ordered and
//! strict funnel, stages, the first-order Markov map); what it cannot compute with
//! the same semantics is refused here, before anything runs, by name.

pub mod aggregates;
pub mod submit;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::config::JourneyConfig;
use crate::error::UsageError;
use crate::funnel::engine::Mode;
use crate::funnel::{FunnelOptions, Per};
use crate::paths::{PathsOptions, StateKind};
use crate::pipeline::LoadOptions;
use crate::predicate::Predicate;

/// The PySpark job; it reads its plan from the path given as its argument.
pub const JOB: &str = include_str!("job.py");

/// The aggregates' format: `report --aggregates` refuses others.
pub const FORMAT: u32 = 1;

/// What the job computes and how, and what `report --aggregates` checks
/// the aggregates against (plan.json beside the job).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub aggregates_format: u32,
    /// The journeymap that wrote the plan.
    pub journeymap: String,
    /// A hash of the config and the reading options; `report --aggregates`
    /// recomputes it and refuses aggregates of another.
    pub fingerprint: String,
    /// The input files (paths or URIs the cluster reads), in input order.
    pub files: Vec<String>,
    pub format: String,
    pub columns: Columns,
    pub resessionize: bool,
    pub session_gap_ms: i64,
    /// The property columns the predicates compare.
    pub properties: Vec<String>,
    pub funnel: Option<FunnelPlan>,
    pub stages: Option<StagesPlan>,
    pub markov: Option<MarkovPlan>,
    /// Where the job writes: `<out>/rows` and `<out>/counts`.
    pub out: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Columns {
    pub user: String,
    pub event: String,
    pub time: String,
    /// The session column: the one named, or `session_id` when present.
    pub session: String,
    pub session_explicit: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FunnelPlan {
    pub steps: Vec<PlanPredicate>,
    pub exclude: Vec<PlanPredicate>,
    pub mode: String,
    /// The effective window (per user 14 days unless set; per session none
    /// unless set).
    pub window_ms: Option<i64>,
    pub per: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MarkovPlan {
    pub conversion: PlanPredicate,
    /// `event` or `stage`.
    pub states: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StagesPlan {
    pub names: Vec<String>,
    /// (stage index, predicate), in config order: the first that matches
    /// an event takes it.
    pub predicates: Vec<(usize, PlanPredicate)>,
}

/// An event and property equalities, as the job matches them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanPredicate {
    pub event: String,
    pub props: std::collections::BTreeMap<String, String>,
}

impl PlanPredicate {
    fn of(p: &Predicate, key: &str) -> Result<PlanPredicate, UsageError> {
        let event = p
            .event()
            .ok_or_else(|| UsageError(format!("{key}: a step table needs an `event` key")))?;
        let props = match p {
            Predicate::Event(_) => Default::default(),
            Predicate::Where(m) => m
                .iter()
                .filter(|(k, _)| k.as_str() != "event")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        Ok(PlanPredicate {
            event: event.to_string(),
            props,
        })
    }
}

/// What a Spark run cannot compute with journeymap's semantics yet, by
/// config key and why; empty when the config fits.
pub fn unsupported(config: &JourneyConfig, opts: &LoadOptions) -> Vec<String> {
    let mut out = Vec::new();
    for a in crate::analysis::ALL {
        if a.configured(config) && !matches!(a.key(), "funnel" | "stages" | "markov") {
            out.push(format!("[{}] (runs locally only)", a.key()));
        }
    }
    if let Some(f) = &config.funnel {
        let o = FunnelOptions::from_config(f);
        if o.mode == Mode::Unordered {
            out.push(
                "funnel.mode = \"unordered\" (the bipartite matching is not in the job)".into(),
            );
        }
        if o.by.is_some() {
            out.push("funnel.by (breakdowns are not in the job)".into());
        }
        if o.trend.is_some() {
            out.push("funnel.trend (trends are not in the job)".into());
        }
    }
    if let Some(p) = PathsOptions::from_config(config)
        && p.order != 1
    {
        out.push(format!(
            "markov.order = {} (the job counts order 1)",
            p.order
        ));
    }
    if opts.ingest.drop_duplicates {
        out.push("--drop-duplicates (the job counts duplicates but keeps them)".into());
    }
    if opts.ingest.time_format.is_some() {
        out.push("--time-format / [input] time_format (the job reads timestamp columns)".into());
    }
    out
}

/// The config and reading options a set of aggregates was computed for,
/// as a hash: FNV-1a over their canonical JSON, stable across builds.
pub fn fingerprint(config: &JourneyConfig, opts: &LoadOptions) -> String {
    let m = &opts.ingest.mapping;
    let canonical = serde_json::json!({
        "config": config,
        "columns": [m.user, m.event, m.time, m.session],
        "resessionize": opts.ingest.ignore_session_col,
        "session_gap_ms": opts.session_gap_ms,
    })
    .to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The plan for `files` under `config`; refuses what the job cannot do.
pub fn plan(
    files: Vec<String>,
    config: &JourneyConfig,
    opts: &LoadOptions,
    out: String,
) -> Result<Plan> {
    let missing = unsupported(config, opts);
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "the Spark job computes the data summary, ordered and strict funnels, stages and the first-order Markov map; this config also asks for: {}. Run those locally (`journeymap report`, partitioned past --memory-limit), or push a config without them (docs/scaling.md)",
            missing.join(", ")
        ))
        .into());
    }
    let mut properties: Vec<String> = Vec::new();
    let mut take = |p: &Predicate, key: &str| -> Result<PlanPredicate, UsageError> {
        let pp = PlanPredicate::of(p, key)?;
        for k in pp.props.keys() {
            if !properties.contains(k) {
                properties.push(k.clone());
            }
        }
        Ok(pp)
    };
    let funnel = match &config.funnel {
        Some(f) => {
            let o = FunnelOptions::from_config(f);
            o.check().map_err(|e| {
                UsageError(format!(
                    "{}funnel.{}: {}",
                    config.at(&format!("funnel.{}", e.setting)),
                    e.setting,
                    e.problem
                ))
            })?;
            Some(FunnelPlan {
                steps: o
                    .steps
                    .iter()
                    .map(|p| take(p, "funnel.steps"))
                    .collect::<Result<_, _>>()?,
                exclude: o
                    .exclude
                    .iter()
                    .map(|p| take(p, "funnel.exclude"))
                    .collect::<Result<_, _>>()?,
                mode: match o.mode {
                    Mode::Strict => "strict",
                    _ => "ordered",
                }
                .into(),
                window_ms: o.effective_window(),
                per: match o.per {
                    Per::User => "user",
                    Per::Session => "session",
                }
                .into(),
            })
        }
        None => None,
    };
    let stages = if config.stages.is_empty() {
        None
    } else {
        let mut predicates = Vec::new();
        for (k, st) in config.stages.iter().enumerate() {
            for p in &st.events {
                predicates.push((k, take(p, "stages.events")?));
            }
        }
        Some(StagesPlan {
            names: config.stages.iter().map(|s| s.name.clone()).collect(),
            predicates,
        })
    };
    let markov = match PathsOptions::from_config(config) {
        Some(p) => {
            if p.states == StateKind::Stage && stages.is_none() {
                return Err(UsageError(format!(
                    "{}markov.states = \"stage\" needs [[stages]] in the config",
                    config.at("markov.states")
                ))
                .into());
            }
            Some(MarkovPlan {
                conversion: take(&p.conversion, "conversion.event")?,
                states: match p.states {
                    StateKind::Stage => "stage",
                    StateKind::Event => "event",
                }
                .into(),
            })
        }
        None => None,
    };
    let m = &opts.ingest.mapping;
    let format = match files.first() {
        Some(f) if f.ends_with(".csv") || f.ends_with(".csv.gz") => "csv",
        _ => "parquet",
    };
    Ok(Plan {
        aggregates_format: FORMAT,
        journeymap: env!("CARGO_PKG_VERSION").into(),
        fingerprint: fingerprint(config, opts),
        files,
        format: format.into(),
        columns: Columns {
            user: m.user.clone(),
            event: m.event.clone(),
            time: m.time.clone(),
            session: m.session.clone().unwrap_or_else(|| "session_id".into()),
            session_explicit: m.session.is_some(),
        },
        resessionize: opts.ingest.ignore_session_col,
        session_gap_ms: opts.session_gap_ms,
        properties,
        funnel,
        stages,
        markov,
        out,
    })
}

/// The input as the cluster names it: a URI as given, a local file as an
/// absolute path (globs and directories resolved as `report` does).
pub fn input_files(given: &[String]) -> Result<Vec<String>> {
    if given.is_empty() {
        return Err(UsageError(
            "no input: name the export's Parquet files or URIs (FILES), e.g. 's3://shop/events/*.parquet'".into(),
        )
        .into());
    }
    if let Some(csv) = given
        .iter()
        .find(|f| [".csv", ".csv.gz", "-"].iter().any(|x| f.ends_with(x)))
    {
        return Err(UsageError(format!(
            "{csv}: the Spark job reads Parquet only (a typed timestamp column, journeymap's text rules not ported); convert the export to Parquet, or run `journeymap report` on it"
        ))
        .into());
    }
    if given.iter().all(|f| f.contains("://")) {
        return Ok(given.to_vec());
    }
    if given.iter().any(|f| f.contains("://")) {
        return Err(
            UsageError("mix of URIs and local files: push either one or the other".into()).into(),
        );
    }
    let paths = crate::ingest::resolve_inputs(given)?;
    if let Some(p) = paths
        .iter()
        .find(|p| crate::ingest::Format::of(p).is_ok_and(|f| f != crate::ingest::Format::Parquet))
    {
        return Err(UsageError(format!(
            "{}: the Spark job reads Parquet only; convert the export to Parquet, or run `journeymap report` on it",
            p.display()
        ))
        .into());
    }
    paths
        .iter()
        .map(|p| {
            std::path::absolute(p)
                .map(|a| a.display().to_string())
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
        })
        .collect()
}

/// Writes job.py and plan.json into `dir` (each replaced atomically).
pub fn write(dir: &Path, plan: &Plan) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let job = dir.join("job.py");
    let plan_path = dir.join("plan.json");
    crate::atomic::write_bytes(&job, JOB.as_bytes())?;
    crate::atomic::write_bytes(
        &plan_path,
        format!("{}\n", serde_json::to_string_pretty(plan)?).as_bytes(),
    )?;
    Ok((job, plan_path))
}
