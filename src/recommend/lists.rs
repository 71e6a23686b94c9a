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
    /// A catalog item nobody interacted with yet, in the user's favourite
    /// category (code into the catalog's categories).
    New {
        category: u32,
    },
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Model(m) => m.name(),
            Source::CoocFill => "cooc",
            Source::Group { .. } => "group_popularity",
            Source::Global => "popularity",
            Source::New { .. } => "new_in_category",
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
    pub fn score(&self, scorer: &Scorer, h: &History, scored: &mut Scored) {
        if self.warm(h) {
            scorer.score(h, self.floor, scored);
        } else {
            scored.clear();
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
        let cmp = |a: &(u8, f64, u32), b: &(u8, f64, u32)| {
            a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2))
        };
        // The best k, kept sorted while scanning: a user has thousands of
        // scored items and wants ten, so most are refused at the first
        // comparison with the current k-th.
        let mut cand: Vec<(u8, f64, u32)> = Vec::with_capacity(self.k + 1);
        for &i in &scored.touched {
            let c = (scored.tier[i as usize], scored.score[i as usize], i);
            if cand.len() == self.k
                && cmp(&c, cand.last().expect("k > 0")) != std::cmp::Ordering::Less
            {
                continue;
            }
            if self.excluded(h, i) {
                continue;
            }
            let at = cand.partition_point(|x| cmp(x, &c) == std::cmp::Ordering::Less);
            cand.insert(at, c);
            cand.truncate(self.k);
        }
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

    /// The list when EASE's own items fill it, computed from the dense
    /// scores alone. Tier 0 sorts before every other source, so once `k`
    /// listable EASE items score above the floor, co-occurrence and the
    /// fallback cannot reach the list; skipping them (and the scattered
    /// writes of the general state) is most of the cost of a user. None
    /// when they might reach it: the caller then takes [`Cascade::score`]
    /// and [`Cascade::list`], so the answer is always theirs.
    pub fn ease_list(
        &self,
        scorer: &Scorer,
        h: &History,
        dense: &mut Vec<f64>,
    ) -> Option<Vec<Entry>> {
        #[cfg(target_arch = "x86_64")]
        if super::linalg::wide() {
            // SAFETY: the CPU has AVX2, the only feature the function adds.
            return unsafe { self.ease_list_avx2(scorer, h, dense) };
        }
        self.ease_list_generic(scorer, h, dense)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn ease_list_avx2(
        &self,
        scorer: &Scorer,
        h: &History,
        dense: &mut Vec<f64>,
    ) -> Option<Vec<Entry>> {
        self.ease_list_generic(scorer, h, dense)
    }

    #[inline(always)]
    fn ease_list_generic(
        &self,
        scorer: &Scorer,
        h: &History,
        dense: &mut Vec<f64>,
    ) -> Option<Vec<Entry>> {
        let Scorer::Ease(e, _) = scorer else {
            return None;
        };
        if self.k == 0 || !self.warm(h) {
            return None;
        }
        e.accumulate(h, dense);
        // Items are scanned in increasing id, so a later item ties below
        // an equal score: the order is list()'s (score down, id up).
        let mut cand: Vec<(f64, u32)> = Vec::with_capacity(self.k + 1);
        const LANES: usize = 16;
        for (vs, items) in dense.chunks(LANES).zip(e.items.chunks(LANES)) {
            // Most blocks hold nothing above the current k-th: one
            // branch-free comparison of the block refuses them. It admits
            // a superset (≥ where the exact test is >, and no total
            // order), the exact tests below decide.
            let bar = if cand.len() == self.k {
                cand[self.k - 1].0
            } else {
                self.floor
            };
            if !vs.iter().fold(false, |any, &v| any | (v >= bar)) {
                continue;
            }
            for (&v, &item) in vs.iter().zip(items) {
                // NaN is never above the floor.
                if v.partial_cmp(&self.floor) != Some(std::cmp::Ordering::Greater) {
                    continue;
                }
                if cand.len() == self.k && v.total_cmp(&cand[self.k - 1].0).is_le() {
                    continue;
                }
                if self.excluded(h, item) {
                    continue;
                }
                let at = cand.partition_point(|x| x.0.total_cmp(&v).is_ge());
                cand.insert(at, (v, item));
                cand.truncate(self.k);
            }
        }
        if cand.len() < self.k {
            return None;
        }
        Some(
            cand.into_iter()
                .map(|(score, item)| Entry {
                    item,
                    score,
                    source: Source::Model(self.model),
                    because: scorer.because(h, item),
                })
                .collect(),
        )
    }

    /// The item's 1-based place in the user's full ranking of the catalog
    /// (model entries first, then the fallback order), or None when the
    /// list can never hold it (already seen and excluded).
    pub fn rank(&self, h: &History, scored: &Scored, fb: &Ranked, t: u32) -> Option<u64> {
        if self.excluded(h, t) {
            return None;
        }
        let ti = t as usize;
        let mut before = 0u64;
        if scored.tier[ti] != UNSCORED {
            let (tt, ts) = (scored.tier[ti], scored.score[ti]);
            for &j in &scored.touched {
                let ju = j as usize;
                if j == t || self.excluded(h, j) {
                    continue;
                }
                let (tj, s) = (scored.tier[ju], scored.score[ju]);
                if tj < tt || (tj == tt && (s > ts || (s == ts && ju < ti))) {
                    before += 1;
                }
            }
            return Some(before + 1);
        }
        // Every listable scored item comes first; then the unscored,
        // listable items ahead in the fallback order: all items ahead of
        // it there (its position) less those scored or excluded.
        let tp = fb.pos[ti];
        let mut ahead_taken = 0u64;
        for &j in &scored.touched {
            if !self.excluded(h, j) {
                before += 1;
            }
            if fb.pos[j as usize] < tp {
                ahead_taken += 1;
            }
        }
        if self.exclude_seen {
            for &(j, _) in &h.items {
                if scored.tier[j as usize] == UNSCORED && fb.pos[j as usize] < tp {
                    ahead_taken += 1;
                }
            }
        }
        Some(before + u64::from(tp) - ahead_taken + 1)
    }
}

/// The words of an entry's reason: items by title where the catalog
/// gives one.
pub fn reason(inter: &Interactions, e: &Entry) -> String {
    let name = |i: u32| inter.title(i);
    match (e.source, e.because) {
        (Source::Model(ModelKind::Markov), Some(b)) => format!("often next after {}", name(b)),
        (Source::Model(_) | Source::CoocFill, Some(b)) => format!("because you viewed {}", name(b)),
        (Source::Model(_) | Source::CoocFill, None) => "similar to your history".into(),
        (Source::Group { col, value }, _) => {
            let (c, values) = &inter.groups[col];
            format!("popular with {c} {}", values[value as usize])
        }
        (Source::Global, _) => "popular overall".into(),
        (Source::New { category }, _) => format!(
            "new in {}, your most viewed category",
            inter
                .categories
                .get(category as usize)
                .map_or("?", |c| c.as_str())
        ),
    }
}
