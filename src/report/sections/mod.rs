//! Each report section as a document (see [`crate::doc`]): built once from
//! the section's data, rendered by every backend.

pub mod data;
pub mod diff;
pub mod experiment;
pub mod funnel;
pub mod markov;
pub mod propensity;
pub mod segments;
pub mod stages;
pub mod summary;
