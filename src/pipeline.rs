//! The report pipeline in the library: ingest → sessions → the analyses of
//! [`crate::analysis::ALL`] on a shared [`Context`] → the report → its
//! files. `journeymap report` and `journeymap demo` both call it.

use std::any::{Any, TypeId};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{Result, anyhow};

use crate::analysis::{ALL, Analysis};
use crate::config::JourneyConfig;
use crate::doc::Line;
use crate::error::{DataError, UsageError};
use crate::ingest::{self, EventTable, FileInfo, IngestOptions, Ingested};
use crate::output::CsvStyle;
use crate::progress::Progress;
use crate::report::{self, InputFingerprint, Parameters, Report, Tool};
use crate::sessions::{self, SessionSource, Sessions};
use crate::stages::StageMap;

/// Data loaded and split into sessions, ready for every analysis.
pub struct Data {
    pub ingested: Ingested,
    pub sessions: Sessions,
    pub source: SessionSource,
    pub parameters: Parameters,
    /// In a partitioned run, the data section's merged figures (the table
    /// then holds no rows).
    pub summary: Option<crate::summary::SummaryPart>,
}

/// How to read the export and split sessions.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub ingest: IngestOptions,
    /// Inactivity that ends a session, when sessions come from gaps.
    pub session_gap_ms: i64,
    /// Write every rejected row here.
    pub rejects: Option<PathBuf>,
}

/// Reads the files, writes the rejects file if asked, builds sessions.
pub fn load(paths: &[PathBuf], opts: &LoadOptions, progress: &Progress) -> Result<Data> {
    if opts.session_gap_ms <= 0 {
        return Err(UsageError("--session-gap must be longer than zero".into()).into());
    }
    let ingested = ingest::ingest(paths, &opts.ingest, progress)?;
    if let Some(path) = &opts.rejects {
        ingest::reject::write_rejects(path, &ingested.rejects)?;
    }
    if let Some(e) = ingest::hint::all_rejected(&ingested, &opts.ingest) {
        return Err(e.into());
    }
    let (source, parameters) = sources(&ingested.session_column, opts);
    progress.stage("building sessions");
    let sessions = sessions::build(&ingested.table, &source);
    Ok(Data {
        ingested,
        sessions,
        source,
        parameters,
        summary: None,
    })
}

/// Where sessions come from (the session column the files had, or gaps)
/// and the reading parameters the report records.
pub fn sources(session_column: &Option<String>, opts: &LoadOptions) -> (SessionSource, Parameters) {
    let source = match session_column {
        Some(column) => SessionSource::Column {
            column: column.clone(),
        },
        None => SessionSource::Inactivity {
            gap_ms: opts.session_gap_ms,
        },
    };
    let mut mapping = opts.ingest.mapping.clone();
    mapping.session = session_column.clone();
    let parameters = Parameters {
        columns: mapping,
        delimiter: (opts.ingest.delimiter as char).to_string(),
        time_format: opts.ingest.time_format.clone(),
        sessions: source.clone(),
        strict: opts.ingest.strict,
    };
    (source, parameters)
}

type Slot = OnceLock<Option<Box<dyn Any + Send + Sync>>>;

/// An analysis could not run because one it needs failed.
#[derive(Debug, thiserror::Error)]
#[error("{0} failed (see the error above)")]
pub struct DependencyFailed(pub &'static str);

/// What every analysis of one run shares: the data, the config, and the
/// results computed once and asked for by several (each analysis's
/// product, the users' event ranges, the stage mapping).
pub struct Context<'a> {
    pub data: &'a Data,
    pub config: &'a JourneyConfig,
    pub progress: &'a Progress,
    /// One product slot per registered analysis, in [`ALL`]'s order.
    products: Vec<(TypeId, Slot)>,
    /// Errors of analyses that failed themselves (not through a dependency).
    errors: Mutex<Vec<(usize, anyhow::Error)>>,
    user_ranges: OnceLock<Vec<Range<usize>>>,
    stage_map: OnceLock<Result<StageMap, String>>,
    warnings: Mutex<Vec<String>>,
    span: OnceLock<Option<(i64, i64)>>,
}

impl<'a> Context<'a> {
    pub fn new(data: &'a Data, config: &'a JourneyConfig, progress: &'a Progress) -> Context<'a> {
        Context {
            data,
            config,
            progress,
            products: ALL.iter().map(|a| (a.id(), OnceLock::new())).collect(),
            errors: Mutex::new(Vec::new()),
            user_ranges: OnceLock::new(),
            stage_map: OnceLock::new(),
            warnings: Mutex::new(Vec::new()),
            span: OnceLock::new(),
        }
    }

    /// A context whose input spans `span` (first, last timestamp), though
    /// its table may hold only some of it: a partition.
    pub fn spanning(self, span: Option<(i64, i64)>) -> Self {
        let _ = self.span.set(span);
        self
    }

    /// The whole input's first and last timestamp.
    pub fn span(&self) -> Option<(i64, i64)> {
        *self.span.get_or_init(|| {
            let ts = &self.table().ts;
            (!ts.is_empty()).then(|| {
                ts.iter()
                    .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
            })
        })
    }

    pub fn table(&self) -> &'a EventTable {
        &self.data.ingested.table
    }
    pub fn sessions(&self) -> &'a Sessions {
        &self.data.sessions
    }
    pub fn files(&self) -> &'a [FileInfo] {
        &self.data.ingested.files
    }

    /// The product of analysis `A`, run on first request (by the scheduler
    /// or by another analysis that needs it) and kept for the run.
    pub fn product<A: Analysis>(&self) -> Result<&A::Product> {
        let (i, slot) = self
            .products
            .iter()
            .enumerate()
            .find(|(_, (id, _))| *id == TypeId::of::<A>())
            .map(|(i, (_, s))| (i, s))
            .ok_or_else(|| anyhow!("internal: {} is not registered", A::KEY))?;
        let stored = slot.get_or_init(|| {
            self.progress.stage(A::TITLE);
            self.keep::<A>(i, A::run(self))
        });
        stored
            .as_ref()
            .and_then(|b| b.downcast_ref::<A::Product>())
            .ok_or_else(|| DependencyFailed(A::KEY).into())
    }

    /// Stores `A`'s product (or its error) made elsewhere: a partitioned
    /// run's merge. A later [`Context::product`] returns it.
    pub fn preset<A: Analysis>(&self, made: Result<A::Product>) {
        let Some((i, (_, slot))) = self
            .products
            .iter()
            .enumerate()
            .find(|(_, (id, _))| *id == TypeId::of::<A>())
        else {
            return;
        };
        let _ = slot.set(self.keep::<A>(i, made));
    }

    /// A product for analysis `i`'s slot, or its error kept for the report.
    fn keep<A: Analysis>(
        &self,
        i: usize,
        made: Result<A::Product>,
    ) -> Option<Box<dyn Any + Send + Sync>> {
        match made {
            Ok(p) => Some(Box::new(p)),
            Err(e) => {
                self.errors
                    .lock()
                    .expect("no panic while holding the lock")
                    .push((i, e));
                None
            }
        }
    }

    /// Each user's event range in the table, in table order.
    pub fn user_ranges(&self) -> &[Range<usize>] {
        self.user_ranges.get_or_init(|| self.table().user_ranges())
    }

    /// The config's stage mapping resolved against the table.
    pub fn stage_map(&self) -> Result<&StageMap, DataError> {
        self.stage_map
            .get_or_init(|| {
                StageMap::new(self.table(), &self.config.stages).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| DataError::Input(e.clone()))
    }

    /// A warning for the report and for stderr.
    pub fn warn(&self, w: String) {
        self.warnings
            .lock()
            .expect("no panic while holding the lock")
            .push(w);
    }

    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .expect("no panic while holding the lock")
            .clone()
    }
}

/// Runs every analysis the config names and assembles the report. The
/// analyses run side by side on rayon's pool, heaviest first; one that
/// needs another's product computes it on the spot or waits for it, so
/// the result does not depend on the order they finish in.
pub fn build(ctx: &Context) -> Result<Report> {
    let data = ctx.data;
    let t = ctx.table();
    if data.ingested.used() == 0 {
        ctx.warn(format!(
            "no events: the {} read held no rows{}; every figure in this report is empty",
            if ctx.files().len() == 1 {
                "file"
            } else {
                "files"
            },
            if data.ingested.rejected.total() > 0 {
                " that could be used"
            } else {
                ""
            }
        ));
    }
    for w in ctx.config.validate(t)? {
        ctx.warn(w);
    }
    let mut configured: Vec<usize> = (0..ALL.len())
        .filter(|&i| ALL[i].configured(ctx.config))
        .collect();
    configured.sort_by_key(|&i| std::cmp::Reverse(ALL[i].cost()));
    let bar = ctx.progress.bar(configured.len() as u64, "analyses");
    let bar = &bar;
    rayon::scope_fifo(|s| {
        for &i in &configured {
            s.spawn_fifo(move |_| {
                let _ = ALL[i].run(ctx);
                bar.done(ALL[i].title());
            });
        }
    });
    // An analysis with too little data (or one that needs it) is left out
    // with a warning; any other failure fails the run.
    {
        let mut errors = ctx.errors.lock().expect("no panic while holding the lock");
        errors.sort_by_key(|(i, _)| *i);
        let insufficient = |e: &anyhow::Error| {
            matches!(
                e.downcast_ref::<DataError>(),
                Some(DataError::Insufficient(_))
            )
        };
        let skipped: Vec<&'static str> = errors
            .iter()
            .filter(|(_, e)| insufficient(e))
            .map(|(i, _)| ALL[*i].key())
            .collect();
        let mut failed = None;
        for (i, e) in errors.drain(..) {
            let a = &ALL[i];
            if insufficient(&e) {
                ctx.warn(format!("{} skipped: {e}", a.title()));
            } else if let Some(DependencyFailed(dep)) = e.downcast_ref::<DependencyFailed>()
                && skipped.contains(dep)
            {
                ctx.warn(format!(
                    "{} skipped: it needs {dep}, which was skipped",
                    a.title()
                ));
            } else {
                failed.get_or_insert(e);
                continue;
            }
            configured.retain(|&c| c != i);
        }
        if let Some(e) = failed {
            return Err(e);
        }
    }
    ctx.progress.stage("data summary");
    let mut report = Report {
        schema_version: report::SCHEMA_VERSION.into(),
        tool: Tool::current(),
        input: InputFingerprint::new(&data.ingested.files),
        parameters: data.parameters.clone(),
        data: match &data.summary {
            Some(part) => crate::summary::finish(&data.ingested, part.clone(), &data.source),
            None => crate::summary::summarize(&data.ingested, &data.sessions, &data.source),
        },
        funnel: None,
        stages: None,
        markov: None,
        segments: None,
        propensity: None,
        experiment: None,
        retention: None,
        lifecycle: None,
        recommend: None,
        fairness: None,
        decide: None,
        drift: None,
        warnings: ctx.warnings(),
        checks: Vec::new(),
        run: None,
    };
    configured.sort_unstable();
    for &i in &configured {
        ALL[i].store(ctx, &mut report)?;
    }
    Ok(report)
}

/// The run in a few lines for stdout (the files hold the detail).
pub fn summary_lines(report: &Report) -> Vec<Line> {
    let r = &report.data.rows;
    let mut out = vec![
        crate::doc::line()
            .text(format!(
                "rows: {} read = {} used + {} rejected; {} users, {} sessions",
                r.read, r.used, r.rejected, report.data.users, report.data.sessions
            ))
            .done(),
    ];
    out.extend(ALL.iter().filter_map(|a| a.headline(report)));
    out
}

/// The files one [`write`] made.
#[derive(Debug)]
pub struct Written {
    /// Every analysis's per-unit files, in the order written.
    pub tables: Vec<PathBuf>,
    pub html: Option<PathBuf>,
    pub json: PathBuf,
    pub md: PathBuf,
}

/// What the output set holds beyond report.json and report.md.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    pub style: CsvStyle,
    /// Also report.html (docs/html.md).
    pub html: bool,
}

/// Writes report.json, report.md (and report.html when asked) and every
/// analysis's per-unit tables into `dir` as one set (see
/// [`crate::output::set`]), report.json last.
pub fn write(ctx: &Context, report: &Report, dir: &Path, opts: WriteOptions) -> Result<Written> {
    ctx.progress.stage("writing");
    let mut set = crate::output::set::OutputSet::open(dir)?;
    let mut report = report.clone();
    let id = crate::output::set::sha256_hex(report::json::render(&report).as_bytes());
    report.run = Some(report::RunInfo {
        id: id[..16].to_string(),
        files: Vec::new(),
    });
    let mut tables = Vec::new();
    for a in ALL {
        if a.document(&report).is_none() {
            continue;
        }
        for table in a.tables(ctx)? {
            let path = set.path(table.file);
            match crate::output::write(&path, table.rows.as_ref(), "--out", opts.style)? {
                Some(d) => set.record_digest(table.file, d),
                None => set.record(table.file)?,
            }
            tables.push(path);
        }
    }
    let html = if opts.html {
        Some(set.write_bytes("report.html", report::html::render(&report).into_bytes())?)
    } else {
        None
    };
    let md = set.write_bytes("report.md", report::markdown::render(&report).into_bytes())?;
    if let Some(run) = report.run.as_mut() {
        run.files = set.manifest();
    }
    let json = set.commit(report::json::render(&report).as_bytes())?;
    Ok(Written {
        tables,
        html,
        json,
        md,
    })
}
