//! Partitioned runs (docs/scaling.md): an input whose events would not fit
//! the memory budget is spilled into partitions by a hash of the user id
//! (`ingest::spill`), each partition is loaded and split into sessions on
//! its own, every configured analysis computes its mergeable figures
//! ([`crate::analysis::Analysis::partial`]) on it, and the figures are
//! merged into the products the in-memory run would have made. Only one
//! partition's events are in memory at a time.

use std::path::PathBuf;

use anyhow::Result;

use crate::analysis::{ALL, Partial};
use crate::config::JourneyConfig;
use crate::error::UsageError;
use crate::ingest::spill::{self, SpillOptions};
use crate::ingest::{Format, Ingested};
use crate::pipeline::{self, Context, Data, LoadOptions};
use crate::progress::Progress;
use crate::sessions;
use crate::summary::SummaryPart;

/// Bytes the in-memory run holds per event, measured: 30.5M events of the
/// generated shop export peaked at 2.9 GiB (docs/performance.md), about
/// 100 bytes per event with the sessions and the analyses' working sets.
pub const BYTES_PER_EVENT: u64 = 100;

/// Of the memory budget, the share one partition's events may take: two
/// partitions are in memory at once (one read back while the one before
/// is computed), the names and the per-user figures need the rest, and
/// smaller partitions stay in cache better (100M events under 6G: 18.3 s
/// in 25 partitions, 19.6 s in 7).
const PARTITION_SHARE: u64 = 16;

/// How a run holds its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    InMemory,
    Partitioned(usize),
}

/// The default memory budget: three quarters of the memory available now
/// (MemAvailable), or 8 GiB where that cannot be read.
pub fn default_limit() -> u64 {
    available_memory().map_or(8 << 30, |a| a / 4 * 3)
}

fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Parses a size such as `6G`, `512M`, `2GiB` or a number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size; write it like 6G, 512M or 2GiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "{s:?}: unknown unit {other:?}; use K, M, G or T (powers of 1024)"
            ));
        }
    };
    let bytes = n * scale as f64;
    if !(bytes >= 1.0 && bytes.is_finite()) {
        return Err(format!("{s:?} is not a size above zero"));
    }
    Ok(bytes as u64)
}

/// Events the input holds, estimated without reading it: Parquet files
/// say their row count; a CSV file's bytes are divided by the mean length
/// of its first lines; gzip is taken to expand five times.
pub fn estimate_events(paths: &[PathBuf]) -> u64 {
    paths.iter().map(|p| estimate_file(p).unwrap_or(0)).sum()
}

fn estimate_file(path: &std::path::Path) -> Option<u64> {
    if path.as_os_str() == crate::ingest::STDIN {
        return None;
    }
    let bytes = std::fs::metadata(path).ok()?.len();
    match Format::of(path).ok()? {
        Format::Parquet => {
            use polars::prelude::{ParquetReader, SerReader};
            let mut r = ParquetReader::new(std::fs::File::open(path).ok()?);
            Some(r.get_metadata().ok()?.num_rows as u64)
        }
        Format::Csv => Some(bytes / mean_line(path)?),
        Format::CsvGz => Some(bytes * 5 / 60),
    }
}

fn mean_line(path: &std::path::Path) -> Option<u64> {
    use std::io::Read;
    let mut head = vec![0u8; 1 << 16];
    let mut f = std::fs::File::open(path).ok()?;
    let n = f.read(&mut head).ok()?;
    let lines = head[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    Some((n as u64 / lines.max(1)).max(1))
}

/// In memory, or how many partitions: enough that one partition's events
/// take at most a sixteenth of `limit`. `forced` (`--partitions`) wins.
pub fn plan(events: u64, limit: u64, forced: Option<usize>) -> Mode {
    if let Some(n) = forced {
        return if n <= 1 {
            Mode::InMemory
        } else {
            Mode::Partitioned(n)
        };
    }
    let need = events.saturating_mul(BYTES_PER_EVENT);
    if need <= limit {
        return Mode::InMemory;
    }
    let per_part = (limit / PARTITION_SHARE).max(1);
    Mode::Partitioned(need.div_ceil(per_part).clamp(2, 4096) as usize)
}

/// The configured analyses a partitioned run cannot compute yet.
pub fn unsupported(config: &JourneyConfig) -> Vec<&'static str> {
    ALL.iter()
        .filter(|a| a.configured(config) && !a.partitioned(config))
        .map(|a| a.key())
        .collect()
}

/// Each configured analysis's partials (by its index in [`ALL`]), or the
/// first error one of its partitions met.
pub type Partials = Vec<Option<Result<Vec<Partial>>>>;

/// Reads and spills the input, then computes every configured analysis's
/// figures partition by partition, for [`merge`].
pub fn load(
    paths: &[PathBuf],
    opts: &LoadOptions,
    config: &JourneyConfig,
    spill_opts: &SpillOptions,
    progress: &Progress,
) -> Result<Loaded> {
    if opts.session_gap_ms <= 0 {
        return Err(UsageError("--session-gap must be longer than zero".into()).into());
    }
    let missing = unsupported(config);
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "a partitioned run (the input is over --memory-limit, or --partitions was given) computes the data summary, funnel, stages and the first-order Markov map so far; these sections of the config are not built for it yet: {}. Raise --memory-limit to run in memory, or run them from a config without those sections (docs/scaling.md)",
            missing.join(", ")
        ))
        .into());
    }
    let mut part = spill::ingest(paths, &opts.ingest, spill_opts, progress)?;
    if let Some(path) = &opts.rejects {
        crate::ingest::reject::write_rejects(path, &part.head.rejects)?;
    }
    if let Some(e) = crate::ingest::hint::all_rejected(&part.head, &opts.ingest) {
        return Err(e.into());
    }
    let (source, parameters) = pipeline::sources(&part.head.session_column, opts);
    let configured: Vec<usize> = (0..ALL.len())
        .filter(|&i| ALL[i].configured(config))
        .collect();
    let mut partials: Partials = (0..ALL.len())
        .map(|i| configured.contains(&i).then(|| Ok(Vec::new())))
        .collect();
    let mut summary = SummaryPart::default();
    let mut warnings: Vec<String> = Vec::new();
    let mut used = 0u64;
    let quiet = Progress::silent();
    let span = part.span;
    let (spilled, head) = part.split();
    let n = spilled.len();
    // The next partition is read back (and ordered, and de-duplicated)
    // while this one is computed: two partitions' events are in memory at
    // once, which the budget's share per partition allows for.
    std::thread::scope(|scope| -> Result<()> {
        let mut next = Some(scope.spawn(move || spilled.read(0)));
        for p in 0..n {
            let rows = next
                .take()
                .map(|h| h.join())
                .ok_or_else(|| anyhow::anyhow!("internal: no partition read"))?
                .map_err(|_| anyhow::anyhow!("internal: reading a partition panicked"))??;
            if p + 1 < n {
                next = Some(scope.spawn(move || spilled.read(p + 1)));
            }
            progress.stage(&format!(
                "partition {} of {n} ({} events)",
                p + 1,
                spilled.rows(p)
            ));
            let table = spill::attach(head, rows);
            used += table.len() as u64;
            let sessions = sessions::build(&table, &source);
            let data = Data {
                ingested: Ingested::of(table),
                sessions,
                source: source.clone(),
                parameters: parameters.clone(),
                summary: None,
            };
            {
                let ctx = Context::new(&data, config, &quiet).spanning(span);
                let mut results: Vec<(usize, Result<Partial>)> = Vec::new();
                let slots = std::sync::Mutex::new(&mut results);
                let mut this = None;
                rayon::scope(|s| {
                    let (this, data) = (&mut this, &data);
                    s.spawn(move |_| {
                        *this = Some(SummaryPart::of(&data.ingested.table, &data.sessions));
                    });
                    for &i in &configured {
                        let (ctx, slots) = (&ctx, &slots);
                        s.spawn(move |_| {
                            let r = ALL[i].partial(ctx);
                            slots
                                .lock()
                                .expect("no panic while holding the lock")
                                .push((i, r));
                        });
                    }
                });
                if let Some(this) = this {
                    summary.merge(this);
                }
                for (i, r) in results {
                    if let Some(Ok(v)) = &mut partials[i] {
                        match r {
                            Ok(x) => v.push(x),
                            Err(e) => partials[i] = Some(Err(e)),
                        }
                    }
                }
                for w in ctx.warnings() {
                    if !warnings.contains(&w) {
                        warnings.push(w);
                    }
                }
            }
            spill::give_back(head, data.ingested.table);
        }
        Ok(())
    })?;
    // The partials were pushed in partition order per analysis: each
    // analysis's list is in partition order whatever thread ran it.
    part.head.spilled_rows = Some(used);
    let part_span = part.span;
    let head = std::mem::replace(&mut part.head, Ingested::of(Default::default()));
    drop(part);
    Ok(Loaded {
        data: Data {
            ingested: head,
            sessions: Default::default(),
            source,
            parameters,
            summary: Some(summary),
        },
        partials,
        warnings,
        span: part_span,
    })
}

/// A partitioned input, read and computed partition by partition.
pub struct Loaded {
    /// The whole run's data: the names, the row accounting and the data
    /// section's figures; its table holds no rows.
    pub data: Data,
    pub partials: Partials,
    /// The analyses' warnings, each once, in the order first seen.
    pub warnings: Vec<String>,
    /// The whole input's first and last timestamp.
    pub span: Option<(i64, i64)>,
}

/// Stores each configured analysis's merged product in `ctx` (made on
/// [`Loaded::data`]), with the partitions' warnings.
pub fn merge(ctx: &Context, partials: Partials, warnings: Vec<String>) {
    for w in warnings {
        ctx.warn(w);
    }
    for (i, p) in partials.into_iter().enumerate() {
        if let Some(p) = p {
            ALL[i].merge(p, ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_powers_of_1024() {
        assert_eq!(parse_size("6G"), Ok(6 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size(" 2GiB "), Ok(2 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        for bad in ["", "G", "6X", "-1G", "0", "nanG"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_plan_keeps_a_partition_within_a_sixteenth_of_the_budget() {
        let g = 1u64 << 30;
        assert_eq!(plan(10_000_000, 6 * g, None), Mode::InMemory);
        // 100M events need ~10 GB: over 6 GiB, in partitions of 384 MiB.
        let Mode::Partitioned(n) = plan(100_000_000, 6 * g, None) else {
            panic!("in memory")
        };
        assert_eq!(n, 25);
        assert!(100_000_000 * BYTES_PER_EVENT / n as u64 <= 6 * g / PARTITION_SHARE);
        assert_eq!(plan(1, 1, Some(1)), Mode::InMemory);
        assert_eq!(plan(1, u64::MAX, Some(5)), Mode::Partitioned(5));
    }

    const PINNED: [usize; 4] = [2, 0, 13, 2];

    #[test]
    fn a_user_partition_depends_on_the_id_alone() {
        // Fixed values: a change of hash would move users between
        // partitions, which is harmless, but it should be a decision.
        let got: Vec<usize> = ["u0000001", "u0000002", "alice", ""]
            .iter()
            .map(|u| spill::partition_of(u, 16))
            .collect();
        assert_eq!(got, PINNED);
        for n in [1, 2, 7, 64] {
            assert!((0..1000).all(|i| spill::partition_of(&format!("u{i}"), n) < n));
        }
        let mut seen = [0usize; 8];
        for i in 0..8000 {
            seen[spill::partition_of(&format!("u{i:07}"), 8)] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }
}
