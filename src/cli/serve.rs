//! `journeymap serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::duration::Duration;
use crate::serve::state::Sources;
use crate::serve::{ServeOptions, run as serve};

/// Serves each user's recommendations (from `recommend train
/// --model-out`) and next best action (from `propensity score`) over
/// HTTP/JSON. Unknown users get the cold-start list, never an error. The
/// files are reloaded on SIGHUP and when they change; a bad file keeps the
/// previous one serving. SIGTERM finishes in-flight requests, then exits.
/// Endpoints, overrides and errors: docs/recommend.md, docs/overrides.md.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap serve --model recs.model
  journeymap serve --model recs.model --scores scores.csv --overrides overrides.csv --bind 127.0.0.1:8080
  curl 'http://127.0.0.1:8080/v1/users/u000042/recommendations?k=5'
  curl http://127.0.0.1:8080/v1/users/u000042/next-best-action
  kill -HUP $(pidof journeymap)   # reload now (files are also watched)

It prints `listening on http://ADDR` on stdout once it accepts connections.")]
pub struct ServeArgs {
    /// The recommendations model file (`recommend train --model-out`)
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,

    /// Propensity scores (`propensity score --scores-out`, .csv or .parquet) for next-best-action
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,

    /// Manual overrides: forced lists, suppressions, bans (docs/overrides.md)
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,

    /// Address to listen on; port 0 picks a free one
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Allow a non-loopback --bind (there is no authentication: put a proxy in front)
    #[arg(long)]
    pub allow_remote: bool,

    /// The action for users the scores file lacks (the rule fallback)
    #[arg(long, value_name = "ACTION", default_value = "generic_reminder")]
    pub fallback_action: String,

    /// Connections served at once; more wait their turn
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,

    /// How often to look for changed files
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub watch_interval: Duration,

    /// Reload on SIGHUP only
    #[arg(long)]
    pub no_watch: bool,

    /// Worker threads
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub threads: usize,
}

pub fn run(a: &ServeArgs) -> Result<()> {
    if a.max_connections == 0 {
        return Err(crate::error::UsageError("--max-connections must be at least 1".into()).into());
    }
    let watch = if a.no_watch {
        None
    } else {
        Some(std::time::Duration::from_millis(
            a.watch_interval.positive("--watch-interval")? as u64,
        ))
    };
    serve(ServeOptions {
        sources: Sources {
            model: a.model.clone(),
            scores: a.scores.clone(),
            overrides: a.overrides.clone(),
        },
        bind: a.bind,
        allow_remote: a.allow_remote,
        max_connections: a.max_connections,
        watch,
        fallback_action: a.fallback_action.clone(),
        threads: a.threads,
        drain: std::time::Duration::from_secs(10),
    })
}
