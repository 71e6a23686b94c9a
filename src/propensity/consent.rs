//! Training for a purpose (`[propensity] purpose`, `--purpose`): users
//! without consent for it in the customer table of `[[sources]]` are left
//! out of the model's rows, and the model file says for which purpose it
//! was trained, so the decision engine uses it only for that purpose.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::config::JourneyConfig;
use crate::decide::config::SourceKind;
use crate::decide::sources;
use crate::error::UsageError;

/// The users whose data may be used for the purpose.
#[derive(Debug, Clone)]
pub struct TrainingConsent {
    pub purpose: String,
    /// The customer table read, as its path was written.
    pub source: String,
    pub allowed: Arc<FxHashSet<String>>,
}

/// What the model file records about consent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelConsent {
    pub purpose: String,
    pub source: String,
    /// Labeled users left out: no consent for the purpose, or no customer row.
    pub without_consent: u64,
}

/// Reads the customer table of `[[sources]]` for `purpose`. A user without
/// a customer row has no recorded consent and is left out. `from` names
/// where the purpose was set (the flag, or the config key with its line).
pub fn load(cfg: &JourneyConfig, purpose: &str, from: &str) -> anyhow::Result<TrainingConsent> {
    let cust = cfg
        .sources
        .iter()
        .find(|s| s.kind == SourceKind::Customers)
        .ok_or_else(|| {
            UsageError(format!(
                "{from} {purpose:?}: consent is read from a [[sources]] with kind = \"customers\" and its purposes; the config has none (docs/decisions.md)"
            ))
        })?;
    if !cust.purposes.contains_key(purpose) {
        let known: Vec<&str> = cust.purposes.keys().map(String::as_str).collect();
        return Err(UsageError(format!(
            "{from} {purpose:?} is not among the purposes of source {:?} ({}); add it to its `purposes` with the consent column",
            cust.name,
            if known.is_empty() {
                "it has none".to_string()
            } else {
                known.join(", ")
            }
        ))
        .into());
    }
    let path = sources::resolve_path(&cfg.dir(), &cust.path);
    let c = sources::read_customers(cust, &path, &BTreeSet::new(), &BTreeSet::new())?;
    let given = &c.purpose_consent[purpose];
    let allowed = c
        .ids
        .iter()
        .zip(given)
        .filter(|(_, ok)| **ok)
        .map(|(id, _)| id.clone())
        .collect();
    Ok(TrainingConsent {
        purpose: purpose.to_string(),
        source: path.display().to_string(),
        allowed: Arc::new(allowed),
    })
}
