//! journeymap: batch customer-journey analytics.
//!
//! The pipeline runs one way: `ingest` → `sessions` → `summary` (and later
//! features and models) → `report` (a plain data struct) → renderers.

pub mod analysis;
pub mod atomic;
pub mod checks;
pub mod cli;
pub mod config;
pub mod decide;
pub mod diff;
pub mod doc;
pub mod drift;
pub mod duration;
pub mod error;
pub mod experiment;
pub mod fairness;
pub mod features;
pub mod funnel;
pub mod generate;
pub mod guard;
pub mod ingest;
pub mod lifecycle;
pub mod output;
pub mod parallel;
pub mod partitioned;
pub mod paths;
pub mod pipeline;
pub mod predicate;
pub mod progress;
pub mod propensity;
pub mod recommend;
pub mod report;
pub mod retention;
pub mod rng;
pub mod segments;
pub mod serve;
pub mod sessions;
pub mod spark;
pub mod stages;
pub mod starter;
pub mod stats;
pub mod summary;
