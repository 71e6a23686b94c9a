//! The lifecycle of the active base per interval: new, returning,
//! resurrecting, dormant (PostHog's four states, [`engine`]), the
//! transitions between them and their long-run mix. Semantics:
//! docs/lifecycle.md.

pub mod analysis;
pub mod daily;
pub mod engine;
pub mod run;
