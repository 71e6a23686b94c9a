//! The analysis contract and the one list of analyses.
//!
//! Each analysis says, in one place (its `analysis.rs`), what its
//! journey.toml section is, how it runs on the shared [`Context`], what its
//! report section and its one-line summary are, how the section reads as a
//! document, which per-unit tables it writes, its check aliases and its
//! part of `journeymap diff`. [`ALL`] drives everything that loops over
//! analyses — building the report, the stdout summary, per-unit files,
//! checks and diff — so adding an analysis is: write its files, implement
//! [`Analysis`], add one line to [`ALL`] and one field to the report
//! (docs/architecture.md).

use std::any::TypeId;
use std::marker::PhantomData;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::config::JourneyConfig;
use crate::doc::{Document, Line};
use crate::output::Rows;
use crate::pipeline::Context;
use crate::report::Report;

/// A per-unit table an analysis writes beside the report (scores.csv).
pub struct UnitTable<'a> {
    /// The file name in the report directory.
    pub file: &'static str,
    pub rows: Box<dyn Rows + 'a>,
}

/// A friendly name for a report figure in checks: `pattern` is a dotted
/// path where `[]` stands for an index and a trailing `*` for the rest,
/// rewritten to `target` (the same markers carried over).
#[derive(Debug, Clone, Copy)]
pub struct Alias {
    pub pattern: &'static str,
    pub target: &'static str,
}

/// An analysis's part of `journeymap diff`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffPart {
    pub section: &'static str,
    /// The comparison's figures, for `diff --json`.
    pub figures: Value,
    #[serde(skip)]
    pub document: Document,
    /// A drift measure `diff --fail-on-drift` compares with its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<f64>,
    /// Why the section could not be compared, said plainly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One partition's mergeable figures (each analysis downcasts its own).
pub type Partial = Box<dyn std::any::Any + Send>;

pub trait Analysis: Send + Sync + 'static {
    /// The journey.toml section, the report.json key and the check prefix.
    const KEY: &'static str;
    /// Words for progress lines ("Markov map").
    const TITLE: &'static str;
    /// A rough relative cost: the scheduler starts the heaviest analyses
    /// first, so the light ones fill the gaps.
    const COST: u32 = 1;
    /// The report section, as report.json holds it.
    type Section: Serialize + Clone + Send + Sync + 'static;
    /// Everything a run produces; other analyses may ask for it.
    type Product: Send + Sync + 'static;

    /// Whether the config asks for this analysis.
    fn configured(cfg: &JourneyConfig) -> bool;
    fn run(ctx: &Context) -> Result<Self::Product>;
    fn section(p: &Self::Product) -> Self::Section;
    /// The section's place in the report (one line per analysis in report/mod.rs).
    fn slot(r: &mut Report) -> &mut Option<Self::Section>;
    fn get(r: &Report) -> Option<&Self::Section>;
    /// One line for the summary printed after a run.
    fn headline(s: &Self::Section) -> Line;
    fn document(s: &Self::Section) -> Document;
    fn tables<'a>(_p: &'a Self::Product, _ctx: &'a Context) -> Vec<UnitTable<'a>> {
        Vec::new()
    }
    fn aliases() -> &'static [Alias] {
        &[]
    }
    fn diff(_old: &Value, _new: &Value) -> Option<DiffPart> {
        None
    }
    /// Whether [`Analysis::partial`] and [`Analysis::merge`] are built, so
    /// the analysis runs partitioned (docs/scaling.md); a partitioned run
    /// refuses a config that names one without them.
    const PARTITIONED: bool = false;
    /// Whether this config's options of the analysis run partitioned (some
    /// options may not, where [`Analysis::PARTITIONED`] holds).
    fn partitioned_for(_cfg: &JourneyConfig) -> bool {
        Self::PARTITIONED
    }
    /// The analysis's figures from one partition of the users (`ctx` holds
    /// that partition's events, with the whole input's names and codes).
    fn partial(_ctx: &Context) -> Result<Partial> {
        Err(anyhow::anyhow!(
            "internal: {} cannot run partitioned",
            Self::KEY
        ))
    }
    /// The product from every partition's figures, in partition order;
    /// `ctx` is the whole run's (its table holds the names, no rows). It
    /// must equal [`Analysis::run`]'s on the whole input, byte for byte
    /// once rendered.
    fn merge(_parts: Vec<Partial>, _ctx: &Context) -> Result<Self::Product> {
        Err(anyhow::anyhow!(
            "internal: {} cannot run partitioned",
            Self::KEY
        ))
    }
}

/// Downcasts a partition's figures to the type its analysis made.
pub fn parts<T: 'static>(parts: Vec<Partial>) -> Result<Vec<T>> {
    parts
        .into_iter()
        .map(|p| {
            p.downcast::<T>()
                .map(|b| *b)
                .map_err(|_| anyhow::anyhow!("internal: a partial of the wrong type"))
        })
        .collect()
}

/// An [`Analysis`] seen without its types, so one list can hold them all.
pub trait Registered: Sync {
    /// The analysis type's id (the context keeps one product slot per id).
    fn id(&self) -> TypeId;
    fn key(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn cost(&self) -> u32;
    fn configured(&self, cfg: &JourneyConfig) -> bool;
    /// Runs the analysis (once per context: later calls reuse the product).
    fn run(&self, ctx: &Context) -> Result<()>;
    /// Puts the section into the report, from the product of [`run`].
    fn store(&self, ctx: &Context, report: &mut Report) -> Result<()>;
    fn headline(&self, report: &Report) -> Option<Line>;
    fn document(&self, report: &Report) -> Option<Document>;
    fn tables<'a>(&self, ctx: &'a Context) -> Result<Vec<UnitTable<'a>>>;
    fn aliases(&self) -> &'static [Alias];
    fn diff(&self, old: &Value, new: &Value) -> Option<DiffPart>;
    fn partitioned(&self, cfg: &JourneyConfig) -> bool;
    fn partial(&self, ctx: &Context) -> Result<Partial>;
    /// Merges the partitions' figures into the product slot of `ctx`.
    fn merge(&self, parts: Result<Vec<Partial>>, ctx: &Context);
}

pub struct Reg<A>(PhantomData<fn() -> A>);

impl<A> Reg<A> {
    pub const NEW: Self = Reg(PhantomData);
}

impl<A: Analysis> Registered for Reg<A> {
    fn id(&self) -> TypeId {
        TypeId::of::<A>()
    }
    fn key(&self) -> &'static str {
        A::KEY
    }
    fn title(&self) -> &'static str {
        A::TITLE
    }
    fn cost(&self) -> u32 {
        A::COST
    }
    fn configured(&self, cfg: &JourneyConfig) -> bool {
        A::configured(cfg)
    }
    fn run(&self, ctx: &Context) -> Result<()> {
        ctx.product::<A>().map(|_| ())
    }
    fn store(&self, ctx: &Context, report: &mut Report) -> Result<()> {
        let p = ctx.product::<A>()?;
        *A::slot(report) = Some(A::section(p));
        Ok(())
    }
    fn headline(&self, report: &Report) -> Option<Line> {
        A::get(report).map(A::headline)
    }
    fn document(&self, report: &Report) -> Option<Document> {
        A::get(report).map(A::document)
    }
    fn tables<'a>(&self, ctx: &'a Context) -> Result<Vec<UnitTable<'a>>> {
        Ok(A::tables(ctx.product::<A>()?, ctx))
    }
    fn aliases(&self) -> &'static [Alias] {
        A::aliases()
    }
    fn diff(&self, old: &Value, new: &Value) -> Option<DiffPart> {
        A::diff(old, new)
    }
    fn partitioned(&self, cfg: &JourneyConfig) -> bool {
        A::partitioned_for(cfg)
    }
    fn partial(&self, ctx: &Context) -> Result<Partial> {
        A::partial(ctx)
    }
    fn merge(&self, parts: Result<Vec<Partial>>, ctx: &Context) {
        ctx.preset::<A>(parts.and_then(|p| A::merge(p, ctx)));
    }
}

/// Every analysis of the report, in report order.
pub static ALL: &[&dyn Registered] = &[
    &Reg::<crate::funnel::analysis::Funnel>::NEW,
    &Reg::<crate::stages::analysis::Stages>::NEW,
    &Reg::<crate::paths::analysis::Markov>::NEW,
    &Reg::<crate::segments::analysis::Segments>::NEW,
    &Reg::<crate::propensity::analysis::Propensity>::NEW,
    &Reg::<crate::fairness::analysis::FairnessAnalysis>::NEW,
    &Reg::<crate::experiment::analysis::Experiment>::NEW,
    &Reg::<crate::retention::analysis::Retention>::NEW,
    &Reg::<crate::lifecycle::analysis::LifecycleAnalysis>::NEW,
    &Reg::<crate::recommend::analysis::Recommend>::NEW,
    &Reg::<crate::decide::analysis::Decide>::NEW,
    &Reg::<crate::drift::analysis::Drift>::NEW,
];

/// The report sections' keys, for checks that name a missing one.
pub fn keys() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|a| a.key())
}
