//! The cold-start cascade: a user's list from the model when the user has
//! enough history and the model answers above the score floor, filled (or
//! replaced) by the popularity of the user's first fallback group that is
//! large enough, else global popularity. Each entry carries its source and
//! the history item behind it, so the reason can be said.

use super::config::ModelKind;
use super::interactions::{History, Interactions, UserRows};
use super::models::{Popularity, Ranked, Scored, Scorer, UNSCORED};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Model(ModelKind),
    /// Co-occurrence filling in for EASE outside its items.
    CoocFill,
    /// Popularity within fallback column `col`, value `value`.
    Group {
        col: usize,
        value: u32,
    },
    Global,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Model(m) => m.name(),
            Source::CoocFill => "cooc",
            Source::Group { .. } => "group_popularity",
            Source::Global => "popularity",
        }
    }
    pub fn is_fallback(self) -> bool {
        matches!(self, Source::Group { .. } | Source::Global)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub item: u32,
    pub score: f64,
    pub source: Source,
    /// The history item behind a model entry.
    pub because: Option<u32>,
}

/// The fallback list for a user: its first group with a list, else global.
pub fn fallback<'a>(pop: &'a Popularity, u: &UserRows) -> (&'a Ranked, Source) {
    for (col, &value) in u.groups.iter().enumerate() {
        if value != 0
            && let Some(Some(r)) = pop.groups[col].get(value as usize)
        {
            return (r, Source::Group { col, value });
        }
    }
    (&pop.global, Source::Global)
}

/// Settings of the cascade.
#[derive(Debug, Clone, Copy)]
pub struct Cascade {
    pub model: ModelKind,
    pub k: usize,
    pub min_history: usize,
    pub floor: f64,
    pub exclude_seen: bool,
}

impl Cascade {
    /// Whether the model answers for this history at all.
    pub fn warm(&self, h: &History) -> bool {
        self.model != ModelKind::Popularity && h.items.len() >= self.min_history
    }

    /// Scores the user into `scored` (unscored everywhere when cold).
    pub fn score(&self, scorer: &Scorer, h: &History, scored: &mut Scored, buf: &mut Vec<f64>) {
        if self.warm(h) {
            scorer.score(h, self.floor, scored, buf);
        } else {
            scored.tier.fill(UNSCORED);
        }
    }

    fn excluded(&self, h: &History, item: u32) -> bool {
        self.exclude_seen && h.contains(item)
    }

    /// The top-k list from a scored user.
    pub fn list(
        &self,
        scorer: &Scorer,
        h: &History,
        scored: &Scored,
        fb: (&Ranked, Source),
    ) -> Vec<Entry> {
        let mut cand: Vec<(u8, f64, u32)> = scored
            .tier
            .iter()
            .enumerate()
            .filter(|&(i, &t)| t != UNSCORED && !self.excluded(h, i as u32))
            .map(|(i, &t)| (t, scored.score[i], i as u32))
            .collect();
        let cmp = |a: &(u8, f64, u32), b: &(u8, f64, u32)| {
            a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2))
        };
        if cand.len() > self.k {
            cand.select_nth_unstable_by(self.k - 1, cmp);
            cand.truncate(self.k);
        }
        cand.sort_by(cmp);
        let mut out: Vec<Entry> = cand
            .into_iter()
            .map(|(t, s, i)| Entry {
                item: i,
                score: s,
                source: if t == 0 {
                    Source::Model(self.model)
                } else {
                    Source::CoocFill
                },
                because: scorer.because(h, i),
            })
            .collect();
        if out.len() < self.k {
            let (ranked, src) = fb;
            for &i in &ranked.order {
                if out.len() >= self.k {
                    break;
                }
                if ranked.score[i as usize] <= 0.0
                    || self.excluded(h, i)
                    || scored.tier[i as usize] != UNSCORED
                {
                    continue;
                }
                out.push(Entry {
                    item: i,
                    score: ranked.score[i as usize],
                    source: src,
                    because: None,
                });
            }
        }
        out
    }

    /// The item's 1-based place in the user's full ranking of the catalog
    /// (model entries first, then the fallback order), or None when the
    /// list can never hold it (already seen and excluded).
    pub fn rank(&self, h: &History, scored: &Scored, fb: &Ranked, t: u32) -> Option<u64> {
        if self.excluded(h, t) {
            return None;
        }
        let ti = t as usize;
        let n = scored.tier.len();
        let mut before = 0u64;
        if scored.tier[ti] != UNSCORED {
            let (tt, ts) = (scored.tier[ti], scored.score[ti]);
            for j in 0..n {
                let tj = scored.tier[j];
                if tj == UNSCORED || j == ti || self.excluded(h, j as u32) {
                    continue;
                }
                let s = scored.score[j];
                if tj < tt || (tj == tt && (s > ts || (s == ts && j < ti))) {
                    before += 1;
                }
            }
            return Some(before + 1);
        }
        let tp = fb.pos[ti];
        for j in 0..n {
            if j == ti || self.excluded(h, j as u32) {
                continue;
            }
            if scored.tier[j] != UNSCORED || fb.pos[j] < tp {
                before += 1;
            }
        }
        Some(before + 1)
    }
}

/// The words of an entry's reason.
pub fn reason(inter: &Interactions, e: &Entry) -> String {
    let name = |i: u32| inter.item_names[i as usize].as_str();
    match (e.source, e.because) {
        (Source::Model(ModelKind::Markov), Some(b)) => format!("often next after {}", name(b)),
        (Source::Model(_) | Source::CoocFill, Some(b)) => format!("because you viewed {}", name(b)),
        (Source::Model(_) | Source::CoocFill, None) => "similar to your history".into(),
        (Source::Group { col, value }, _) => {
            let (c, values) = &inter.groups[col];
            format!("popular with {c} {}", values[value as usize])
        }
        (Source::Global, _) => "popular overall".into(),
    }
}
