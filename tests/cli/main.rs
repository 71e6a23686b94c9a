//! The end-to-end tests: one binary (as ripgrep's tests/tests.rs), so the
//! crate and polars are linked once. Each module runs the real `journeymap`
//! binary on fixtures or generated data; add new tests to the module of the
//! command they exercise.

mod common;

mod browser;
mod decide;
mod drift;
mod experiment;
mod formats;
mod funnel;
mod fuzz;
mod fuzz_decide;
mod html;
mod ingest;
mod lifecycle;
mod paths;
mod prop_ingest;
mod prop_partition;
mod prop_retention;
mod propensity;
mod readme;
mod recommend;
mod report;
mod retention;
mod robust;
mod scale;
mod segments;
mod serve;
mod shell;
mod spark;
mod stages;
