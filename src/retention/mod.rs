//! Cohort retention: who comes back, per cohort of the start event's
//! interval and per interval after it, with censoring decided per user
//! ([`engine`]) on a calendar or rolling clock ([`clock`]). Semantics:
//! docs/retention.md.

pub mod analysis;
pub mod clock;
pub mod config;
pub mod engine;
pub mod report;
pub mod run;
