//! The shared feature layer: one vocabulary of per-unit measures
//! ([`defs`]), one extractor over any unit of events ([`extract`]), one
//! scaler and one pruning step ([`scale`]), and automatic property
//! features ([`auto`]). The propensity model and the segments both build
//! their features here; docs/features.md defines every feature.

pub mod auto;
pub mod defs;
pub mod extract;
pub mod scale;
pub mod units;

pub use auto::FeaturesSection;
pub use defs::{FeatureDef, Transform, inverse, transform};
pub use extract::{Events, Extractor, Missing, RowScratch, Unit};
pub use scale::Stats;
pub use units::{UnitKind, Units};
