//! What the server answers from, loaded and checked as a whole before it
//! replaces the previous one: the recommendation lists, the propensity
//! scores (optional) and the overrides (optional).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::overrides::Overrides;
use crate::recommend::modelfile::{Compact, ModelFile, SourceCode};

/// One user's propensity row, as `propensity score` wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    pub score: Option<f64>,
    pub risk: Option<f64>,
    pub risk_band: Option<String>,
    pub stage: Option<String>,
    pub action: Option<String>,
}

pub struct State {
    pub model: ModelFile,
    pub user_index: HashMap<String, u32>,
    pub item_index: HashMap<String, u32>,
    /// sha256 of the model file, first 12 hex digits.
    pub model_version: String,
    pub scores: Option<HashMap<String, ScoreRow>>,
    pub overrides: Overrides,
    /// Banned items' indexes, from the overrides.
    pub banned: Vec<bool>,
}

/// The files a state is loaded from.
#[derive(Debug, Clone)]
pub struct Sources {
    pub model: PathBuf,
    pub scores: Option<PathBuf>,
    pub overrides: Option<PathBuf>,
}

/// The largest file the server reads, so a wrong path cannot exhaust memory.
pub const MAX_FILE: u64 = 2 << 30;

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if meta.len() > MAX_FILE {
        return Err(format!("{what} {}: over 2 GiB", path.display()));
    }
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

impl State {
    pub fn load(s: &Sources) -> Result<State, String> {
        let bytes = read(&s.model, "model")?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| format!("model {}: not UTF-8 text", s.model.display()))?;
        let model = ModelFile::from_json(text, &s.model.display().to_string())?;
        let scores = match &s.scores {
            Some(p) => Some(load_scores(p)?),
            None => None,
        };
        let overrides = match &s.overrides {
            Some(p) => Overrides::parse(&read(p, "overrides")?, &p.display().to_string())?,
            None => Overrides::default(),
        };
        Ok(State::new(model, &bytes, scores, overrides))
    }

    /// A state from its parts (`model_bytes` give the version).
    pub fn new(
        model: ModelFile,
        model_bytes: &[u8],
        scores: Option<HashMap<String, ScoreRow>>,
        overrides: Overrides,
    ) -> State {
        let digest = Sha256::digest(model_bytes);
        let model_version: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let user_index = model
            .users
            .iter()
            .enumerate()
            .map(|(i, (u, _))| (u.clone(), i as u32))
            .collect();
        let item_index: HashMap<String, u32> = model
            .items
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        let mut banned = vec![false; model.items.len()];
        for b in &overrides.banned {
            if let Some(&i) = item_index.get(b) {
                banned[i as usize] = true;
            }
        }
        State {
            model,
            user_index,
            item_index,
            model_version,
            scores,
            overrides,
            banned,
        }
    }

    /// A user's stored list (None: unknown user).
    pub fn list(&self, user: &str) -> Option<&[Compact]> {
        self.user_index
            .get(user)
            .map(|&i| self.model.users[i as usize].1.as_slice())
    }

    pub fn is_fallback(c: &Compact) -> bool {
        matches!(c.2, SourceCode::GroupPopularity | SourceCode::Popularity)
    }
}

fn load_scores(path: &Path) -> Result<HashMap<String, ScoreRow>, String> {
    let what = path.display().to_string();
    let lower = what.to_ascii_lowercase();
    let mut out = HashMap::new();
    let mut add = |u: String, row: ScoreRow| -> Result<(), String> {
        if out.insert(u.clone(), row).is_some() {
            return Err(format!("scores {what}: user {u:?} appears twice"));
        }
        Ok(())
    };
    let num = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse::<f64>().ok())
    };
    let text = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty() && *s != crate::propensity::NO_ACTION)
            .map(str::to_string)
    };
    if lower.ends_with(".parquet") {
        use polars::prelude::*;
        let f = std::fs::File::open(path).map_err(|e| format!("scores {what}: {e}"))?;
        let df = ParquetReader::new(f)
            .finish()
            .map_err(|e| format!("scores {what}: not a readable Parquet file ({e})"))?;
        let col = |n: &str| -> Result<Option<Vec<Option<String>>>, String> {
            let Ok(c) = df.column(n) else { return Ok(None) };
            let c = c
                .cast(&DataType::String)
                .map_err(|e| format!("scores {what}: column {n}: {e}"))?;
            let s = c
                .str()
                .map_err(|e| format!("scores {what}: column {n}: {e}"))?;
            Ok(Some(s.iter().map(|v| v.map(str::to_string)).collect()))
        };
        let users = col("user_id")?.ok_or_else(|| {
            format!("scores {what}: no user_id column; write it with `journeymap propensity score`")
        })?;
        let get = |c: &Option<Vec<Option<String>>>, i: usize| c.as_ref().and_then(|v| v[i].clone());
        let (score, risk, band, stage, action) = (
            col("score")?,
            col("risk")?,
            col("risk_band")?,
            col("stage")?,
            col("action")?,
        );
        for (i, u) in users.iter().enumerate() {
            let Some(u) = u else { continue };
            add(
                u.clone(),
                ScoreRow {
                    score: num(get(&score, i).as_deref()),
                    risk: num(get(&risk, i).as_deref()),
                    risk_band: text(get(&band, i).as_deref()),
                    stage: text(get(&stage, i).as_deref()),
                    action: text(get(&action, i).as_deref()),
                },
            )?;
        }
        return Ok(out);
    }
    let bytes = read(path, "scores")?;
    let mut r = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let header = r
        .headers()
        .map_err(|e| format!("scores {what}: {e}"))?
        .clone();
    let at = |n: &str| header.iter().position(|h| h.trim() == n);
    let u = at("user_id").ok_or_else(|| {
        format!("scores {what}: no user_id column; write it with `journeymap propensity score`")
    })?;
    let (score, risk, band, stage, action) = (
        at("score"),
        at("risk"),
        at("risk_band"),
        at("stage"),
        at("action"),
    );
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("scores {what}:{}: {e}", i + 2))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c));
        let Some(user) = rec.get(u).map(str::trim).filter(|s| !s.is_empty()) else {
            continue;
        };
        add(
            user.to_string(),
            ScoreRow {
                score: num(get(score)),
                risk: num(get(risk)),
                risk_band: text(get(band)),
                stage: text(get(stage)),
                action: text(get(action)),
            },
        )?;
    }
    Ok(out)
}
