//! Next-item recommendations (docs/recommend.md): interactions from the
//! events, four deterministic models, the cold-start cascade, an honest
//! offline evaluation, and the lists a serving endpoint answers from.

pub mod analysis;
pub mod catalog;
pub mod config;
pub mod eval;
pub mod interactions;
pub mod linalg;
pub mod lists;
pub mod modelfile;
pub mod models;
pub mod run;

#[cfg(test)]
mod tests;
