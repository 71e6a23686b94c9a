//! The recommendations model file `recommend train --model-out` writes and
//! `serve` loads: every known user's list and the fallback lists, compact
//! (items by index, reasons rebuilt from their source and reference), so
//! 100k users' lists load in well under a second.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::interactions::Interactions;
use super::lists::{Entry, Source};
use super::run::Recommendations;

pub const FORMAT: &str = "journeymap-recs";
/// 2 added the catalog's titles and categories and new-item entries;
/// version 1 files still load.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub format: String,
    pub version: u32,
    pub model: String,
    pub item_column: String,
    pub k: usize,
    /// The export's last event (ISO 8601): what the lists know up to.
    pub generated_at: String,
    pub items: Vec<String>,
    /// Per item its title from the catalog ("" = none); empty without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub titles: Vec<String>,
    /// The catalog's categories, referenced by new-item entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// (column, value) of each group list, referenced by group entries.
    pub groups: Vec<(String, String)>,
    pub global: Vec<Compact>,
    pub group_lists: Vec<Vec<Compact>>,
    /// (user id, list), users in id order.
    pub users: Vec<(String, Vec<Compact>)>,
}

/// `[item, score, source, reference]`: the reference is the history item
/// of a model entry, the group of a group entry or the category of a new
/// item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Compact(pub u32, pub f32, pub SourceCode, pub Option<u32>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceCode {
    Ease,
    Cooc,
    Markov,
    GroupPopularity,
    Popularity,
    NewInCategory,
}

fn compact(e: &Entry, group_index: &dyn Fn(usize, u32) -> Option<u32>) -> Compact {
    use super::config::ModelKind as M;
    let (code, r) = match e.source {
        Source::Model(M::Ease) => (SourceCode::Ease, e.because),
        Source::Model(M::Cooc) | Source::CoocFill => (SourceCode::Cooc, e.because),
        Source::Model(M::Markov) => (SourceCode::Markov, e.because),
        Source::Model(M::Popularity) | Source::Global => (SourceCode::Popularity, None),
        Source::Group { col, value } => (SourceCode::GroupPopularity, group_index(col, value)),
        Source::New { category } => (SourceCode::NewInCategory, Some(category)),
    };
    Compact(e.item, e.score as f32, code, r)
}

impl ModelFile {
    /// Writes the file (JSON and a newline), exactly `serde_json`'s of the
    /// `ModelFile` it describes, without building it: the users' lists (most of a
    /// 350 MB file) are serialized on every core a batch at a time into
    /// reused buffers, each batch written before the next.
    pub fn write_json(
        r: &Recommendations,
        table: &crate::ingest::EventTable,
        w: &mut dyn std::io::Write,
    ) -> anyhow::Result<()> {
        use rayon::prelude::*;
        const BATCH: usize = 1 << 16;
        let head = Self::header(r);
        let mut first = serde_json::to_vec(&head)?;
        // Compact JSON of the struct ends with its last field, `"users":[]}`.
        anyhow::ensure!(
            first.ends_with(b"[]}"),
            "internal: the model file's last field moved"
        );
        first.truncate(first.len() - 2);
        w.write_all(&first)?;
        let group_index = Self::group_index(r, &head.groups);
        let inter: &Interactions = &r.inter;
        let n = r.lists.len();
        let parts = 4 * rayon::current_num_threads();
        let mut bufs: Vec<(Vec<u8>, Vec<Compact>)> = vec![Default::default(); parts];
        for start in (0..n).step_by(BATCH) {
            let end = (start + BATCH).min(n);
            let per = (end - start).div_ceil(parts);
            bufs.par_iter_mut().enumerate().try_for_each(
                |(k, (out, list))| -> serde_json::Result<()> {
                    out.clear();
                    let lo = (start + k * per).min(end);
                    for u in lo..(lo + per).min(end) {
                        if u > 0 {
                            out.push(b',');
                        }
                        list.clear();
                        list.extend(r.lists[u].iter().map(|e| compact(e, &group_index)));
                        let name = table.user_names.get(inter.users[u].user);
                        serde_json::to_writer(&mut *out, &(name, &*list))?;
                    }
                    Ok(())
                },
            )?;
            for (out, _) in &bufs {
                w.write_all(out)?;
            }
        }
        w.write_all(b"]}\n")?;
        Ok(())
    }

    fn group_index<'a>(
        r: &'a Recommendations,
        groups: &'a [(String, String)],
    ) -> impl Fn(usize, u32) -> Option<u32> + Sync + 'a {
        move |col: usize, value: u32| -> Option<u32> {
            let (c, values) = &r.inter.groups[col];
            let v = &values[value as usize];
            groups
                .iter()
                .position(|(gc, gv)| gc == c && gv == v)
                .map(|p| p as u32)
        }
    }

    /// Everything but the users' lists.
    fn header(r: &Recommendations) -> ModelFile {
        let inter: &Interactions = &r.inter;
        let groups: Vec<(String, String)> = r
            .fallbacks
            .groups
            .iter()
            .map(|(c, v, _)| (c.clone(), v.clone()))
            .collect();
        let group_index = Self::group_index(r, &groups);
        let lists = r.report.lists.as_ref();
        let global = r
            .fallbacks
            .global
            .iter()
            .map(|e| compact(e, &group_index))
            .collect();
        let group_lists = r
            .fallbacks
            .groups
            .iter()
            .map(|(_, _, l)| l.iter().map(|e| compact(e, &group_index)).collect())
            .collect();
        drop(group_index);
        ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            model: lists.map(|l| l.model.clone()).unwrap_or_default(),
            item_column: r.report.item_column.clone(),
            k: r.report.k,
            generated_at: lists.map(|l| l.generated_at.clone()).unwrap_or_default(),
            items: inter.item_names.clone(),
            titles: inter
                .titles
                .iter()
                .map(|t| t.clone().unwrap_or_default())
                .collect(),
            categories: inter.categories.clone(),
            global,
            group_lists,
            groups,
            users: Vec::new(),
        }
    }

    /// Reads and checks a model file: every index in range, users unique.
    pub fn from_json(text: &str, what: &str) -> Result<ModelFile, String> {
        let m: ModelFile = serde_json::from_str(text).map_err(|e| {
            format!("{what}: not a journeymap recommendations model ({e}); write one with `journeymap recommend train --model-out`")
        })?;
        if m.format != FORMAT {
            return Err(format!(
                "{what}: format is {:?}, expected {FORMAT:?}",
                m.format
            ));
        }
        if m.version != VERSION && m.version != 1 {
            return Err(format!(
                "{what}: model file version {} is not {VERSION}: retrain with this journeymap",
                m.version
            ));
        }
        if m.group_lists.len() != m.groups.len() {
            return Err(format!(
                "{what}: {} group lists for {} groups",
                m.group_lists.len(),
                m.groups.len()
            ));
        }
        if !m.titles.is_empty() && m.titles.len() != m.items.len() {
            return Err(format!(
                "{what}: {} titles for {} items",
                m.titles.len(),
                m.items.len()
            ));
        }
        let n = m.items.len() as u32;
        let g = m.groups.len() as u32;
        let cats = m.categories.len() as u32;
        let check = |l: &[Compact], whose: &str| -> Result<(), String> {
            for c in l {
                let bad_ref = match c.2 {
                    SourceCode::GroupPopularity => c.3.is_some_and(|r| r >= g),
                    SourceCode::NewInCategory => c.3.is_none_or(|r| r >= cats),
                    SourceCode::Popularity => false,
                    _ => c.3.is_some_and(|r| r >= n),
                };
                if c.0 >= n || bad_ref || !c.1.is_finite() {
                    return Err(format!(
                        "{what}: {whose}'s list refers to an item or group that is not in the file"
                    ));
                }
            }
            Ok(())
        };
        check(&m.global, "the global")?;
        for (i, l) in m.group_lists.iter().enumerate() {
            check(l, &format!("group {i}"))?;
        }
        let mut seen = BTreeSet::new();
        for (u, l) in &m.users {
            if !seen.insert(u.as_str()) {
                return Err(format!("{what}: user {u:?} appears twice"));
            }
            check(l, &format!("user {u:?}"))?;
        }
        Ok(m)
    }

    /// The words of an entry's reason (the same as recs.csv's).
    pub fn reason(&self, c: &Compact) -> String {
        let name = |i: u32| match self.titles.get(i as usize) {
            Some(t) if !t.is_empty() => t.as_str(),
            _ => self.items.get(i as usize).map_or("?", |s| s.as_str()),
        };
        match (c.2, c.3) {
            (SourceCode::Markov, Some(b)) => format!("often next after {}", name(b)),
            (SourceCode::Ease | SourceCode::Cooc, Some(b)) => {
                format!("because you viewed {}", name(b))
            }
            (SourceCode::Ease | SourceCode::Cooc | SourceCode::Markov, None) => {
                "similar to your history".into()
            }
            (SourceCode::GroupPopularity, Some(g)) => {
                let (c, v) = &self.groups[g as usize];
                format!("popular with {c} {v}")
            }
            (SourceCode::GroupPopularity, None) => "popular with your group".into(),
            (SourceCode::Popularity, _) => "popular overall".into(),
            (SourceCode::NewInCategory, c) => format!(
                "new in {}, your most viewed category",
                c.and_then(|c| self.categories.get(c as usize))
                    .map_or("?", |c| c.as_str())
            ),
        }
    }
}
