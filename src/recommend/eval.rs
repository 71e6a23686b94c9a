//! Honest offline evaluation: temporal leave-last-out (each user's last
//! counted interaction, or last `eval_events` one, ties in export order)
//! or a global time split; full ranking over the catalog, never sampled
//! negatives; HR@K, recall@K, NDCG@K, MRR, coverage and popularity bias,
//! with a paired bootstrap of every model against popularity.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::interactions::Interactions;
use super::lists::{Cascade, fallback};
use super::models::{Base, Scored, Scorer};
use crate::rng::Rng;
use crate::stats::round6;

/// Each user's training cut-off and what they are tested on.
pub struct Split {
    pub ends: Vec<usize>,
    /// The items a user is tested on (empty: not evaluated).
    pub targets: Vec<Vec<u32>>,
    /// Targets the user had already interacted with before (with
    /// exclude_seen these can never be hit; counted, not dropped).
    pub seen_targets: u64,
}

/// Leave-last-out over the rows up to `ends` (the whole export at first;
/// the training part again for the validation split).
pub fn leave_last_out(inter: &Interactions, ends: &[usize]) -> Split {
    let mut out_ends = Vec::with_capacity(ends.len());
    let mut targets = Vec::with_capacity(ends.len());
    let mut seen = 0u64;
    for (u, &end) in inter.users.iter().zip(ends) {
        let start = u.range.start;
        let rows = &inter.rows[start..end];
        let Some(r) = rows.iter().rposition(|x| x.target) else {
            out_ends.push(end);
            targets.push(Vec::new());
            continue;
        };
        let item = rows[r].item;
        // The run of the same item just before it (viewed, carted, bought)
        // belongs to the target, not to the history.
        let mut s = r;
        while s > 0 && rows[s - 1].item == item {
            s -= 1;
        }
        if rows[..s].iter().any(|x| x.item == item) {
            seen += 1;
        }
        out_ends.push(start + s);
        targets.push(vec![item]);
    }
    Split {
        ends: out_ends,
        targets,
        seen_targets: seen,
    }
}

/// Train before `at`, test on the distinct target items from `at` on.
pub fn time_split(inter: &Interactions, at: i64, exclude_seen: bool) -> Split {
    let mut ends = Vec::with_capacity(inter.users.len());
    let mut targets = Vec::with_capacity(inter.users.len());
    let mut seen = 0u64;
    for u in &inter.users {
        let rows = &inter.rows[u.range.clone()];
        let cut = rows.partition_point(|r| r.ts < at);
        let mut t: Vec<u32> = rows[cut..]
            .iter()
            .filter(|r| r.target)
            .map(|r| r.item)
            .collect();
        t.sort_unstable();
        t.dedup();
        let before = t.len();
        if exclude_seen {
            t.retain(|i| !rows[..cut].iter().any(|r| r.item == *i));
        }
        seen += (before - t.len()) as u64;
        ends.push(u.range.start + cut);
        targets.push(t);
    }
    Split {
        ends,
        targets,
        seen_targets: seen,
    }
}

/// (user, target item, 1-based rank in the full ranking; None: never listable).
pub type Ranked = (u32, u32, Option<u64>);

/// One user's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserMetrics {
    pub hit: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub rr: f64,
}

fn metrics(ranks: &[Option<u64>], k: usize) -> UserMetrics {
    let m = ranks.len();
    if m == 0 {
        return UserMetrics::default();
    }
    let k64 = k as u64;
    let hits: Vec<u64> = ranks
        .iter()
        .flatten()
        .copied()
        .filter(|&r| r <= k64)
        .collect();
    let dcg: f64 = hits.iter().map(|&r| 1.0 / ((r + 1) as f64).log2()).sum();
    let idcg: f64 = (1..=m.min(k)).map(|i| 1.0 / ((i + 1) as f64).log2()).sum();
    UserMetrics {
        hit: f64::from(u8::from(!hits.is_empty())),
        recall: hits.len() as f64 / m as f64,
        ndcg: dcg / idcg,
        rr: ranks
            .iter()
            .flatten()
            .min()
            .map_or(0.0, |&r| 1.0 / r as f64),
    }
}

/// What evaluating one model on the evaluated users gives.
pub struct Run {
    /// Per evaluated user with enough history (warm), in user order.
    pub warm: Vec<UserMetrics>,
    /// Per evaluated cold-start user: the fallback's figures.
    pub cold: Vec<UserMetrics>,
    /// How often each item appears in the warm users' top-k lists.
    pub shown: Vec<u64>,
    /// Warm users whose list came (at least partly) from a fallback.
    pub filled: u64,
    /// (user, target item, rank) for every target of every evaluated user.
    pub ranks: Vec<Ranked>,
}

/// Scores every evaluated user with one model through the cascade.
pub fn run(
    inter: &Interactions,
    base: &Base,
    scorer: &Scorer,
    cascade: &Cascade,
    split: &Split,
) -> Run {
    let n = inter.n_items();
    type PerUser = (
        bool,
        UserMetrics,
        Vec<u32>,
        bool,
        Vec<(u32, u32, Option<u64>)>,
    );
    let per_user: Vec<Option<PerUser>> = (0..inter.users.len())
        .into_par_iter()
        .map_init(
            || Scored::new(n),
            |scored, u| {
                let t = &split.targets[u];
                if t.is_empty() {
                    return None;
                }
                let h = &base.histories[u];
                let warm = !h.items.is_empty();
                let fb = fallback(&base.popularity, &inter.users[u]);
                cascade.score(scorer, h, scored);
                let ranks: Vec<Option<u64>> = t
                    .iter()
                    .map(|&i| cascade.rank(h, scored, fb.0, i))
                    .collect();
                let list = cascade.list(scorer, h, scored, fb);
                let filled = list.iter().any(|e| e.source.is_fallback());
                let m = metrics(&ranks, cascade.k);
                let each = t
                    .iter()
                    .zip(ranks)
                    .map(|(&i, r)| (u as u32, i, r))
                    .collect();
                Some((warm, m, list.iter().map(|e| e.item).collect(), filled, each))
            },
        )
        .collect();
    let mut out = Run {
        warm: Vec::new(),
        cold: Vec::new(),
        shown: vec![0; n],
        filled: 0,
        ranks: Vec::new(),
    };
    for (warm, m, items, filled, each) in per_user.into_iter().flatten() {
        out.ranks.extend(each);
        if warm {
            out.warm.push(m);
            for i in items {
                out.shown[i as usize] += 1;
            }
            out.filled += u64::from(filled);
        } else {
            out.cold.push(m);
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Figures {
    pub users: u64,
    pub hit_rate: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub mrr: f64,
}

pub fn figures(ms: &[UserMetrics]) -> Figures {
    let n = ms.len().max(1) as f64;
    // + 0.0: an empty f64 sum is −0.0, which would print as "-0.0000".
    let mean = |f: fn(&UserMetrics) -> f64| round6(ms.iter().map(f).sum::<f64>() / n + 0.0);
    Figures {
        users: ms.len() as u64,
        hit_rate: mean(|m| m.hit),
        recall: mean(|m| m.recall),
        ndcg: mean(|m| m.ndcg),
        mrr: mean(|m| m.rr),
    }
}

/// A difference against popularity with its 95 % paired bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Difference {
    pub diff: f64,
    pub low: f64,
    pub high: f64,
}

/// Resamples users (the same draws for every metric) `b` times.
pub fn paired_bootstrap(
    model: &[UserMetrics],
    base: &[UserMetrics],
    b: usize,
    seed: u64,
) -> Option<(Difference, Difference)> {
    let n = model.len();
    if n == 0 || n != base.len() || b == 0 {
        return None;
    }
    let dh: Vec<f64> = model.iter().zip(base).map(|(m, p)| m.hit - p.hit).collect();
    let dn: Vec<f64> = model
        .iter()
        .zip(base)
        .map(|(m, p)| m.ndcg - p.ndcg)
        .collect();
    let mut rng = Rng::new(seed);
    let mut hs = Vec::with_capacity(b);
    let mut ns = Vec::with_capacity(b);
    for _ in 0..b {
        let (mut sh, mut sn) = (0.0, 0.0);
        for _ in 0..n {
            let i = rng.below(n as u64) as usize;
            sh += dh[i];
            sn += dn[i];
        }
        hs.push(sh / n as f64);
        ns.push(sn / n as f64);
    }
    let ci = |d: &[f64], mut s: Vec<f64>| {
        s.sort_by(f64::total_cmp);
        Difference {
            diff: round6(d.iter().sum::<f64>() / n as f64),
            low: round6(crate::stats::nearest_rank(&s, 0.025)),
            high: round6(crate::stats::nearest_rank(&s, 0.975)),
        }
    };
    Some((ci(&dh, hs), ci(&dn, ns)))
}

/// Beyond accuracy: share of the catalog shown, the mean training
/// popularity (users) of what is shown, and the Gini index of exposure.
pub fn exposure(shown: &[u64], item_users: &[u64]) -> (f64, f64, f64) {
    let n = shown.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let total: u64 = shown.iter().sum();
    let coverage = shown.iter().filter(|&&c| c > 0).count() as f64 / n as f64;
    let avg_pop = if total == 0 {
        0.0
    } else {
        shown
            .iter()
            .zip(item_users)
            .map(|(&c, &p)| c as f64 * p as f64)
            .sum::<f64>()
            / total as f64
    };
    let mut s: Vec<u64> = shown.to_vec();
    s.sort_unstable();
    let gini = if total == 0 {
        0.0
    } else {
        let weighted: f64 = s
            .iter()
            .enumerate()
            .map(|(i, &c)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * c as f64)
            .sum();
        weighted / (n as f64 * total as f64)
    };
    (round6(coverage), round6(avg_pop), round6(gini))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_one_target() {
        let m = metrics(&[Some(1)], 10);
        assert_eq!((m.hit, m.recall, m.ndcg, m.rr), (1.0, 1.0, 1.0, 1.0));
        let m = metrics(&[Some(3)], 10);
        assert!((m.ndcg - 0.5).abs() < 1e-12);
        assert!((m.rr - 1.0 / 3.0).abs() < 1e-12);
        let m = metrics(&[Some(11)], 10);
        assert_eq!((m.hit, m.ndcg), (0.0, 0.0));
        assert!((m.rr - 1.0 / 11.0).abs() < 1e-12);
        let m = metrics(&[None], 10);
        assert_eq!((m.hit, m.rr), (0.0, 0.0));
    }

    #[test]
    fn metrics_of_several_targets_use_the_ideal_of_min_k_m() {
        // Two targets at ranks 1 and 2: a perfect list.
        let m = metrics(&[Some(2), Some(1)], 10);
        assert!((m.ndcg - 1.0).abs() < 1e-12);
        assert_eq!(m.recall, 1.0);
        // Three targets with k = 2: one hit at rank 2 of an ideal 2.
        let m = metrics(&[Some(2), Some(5), None], 2);
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((m.ndcg - (1.0 / 3f64.log2()) / idcg).abs() < 1e-12);
        assert!((m.recall - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_of_identical_models_is_zero() {
        let a = vec![
            UserMetrics {
                hit: 1.0,
                ndcg: 0.5,
                ..Default::default()
            };
            50
        ];
        let (h, n) = paired_bootstrap(&a, &a, 200, 1).unwrap();
        assert_eq!((h.diff, h.low, h.high), (0.0, 0.0, 0.0));
        assert_eq!(n.diff, 0.0);
        assert!(paired_bootstrap(&a, &a[..3], 10, 1).is_none());
    }

    #[test]
    fn exposure_extremes() {
        // One item shown to everyone: coverage 1/4, Gini (n−1)/n.
        let (c, p, g) = exposure(&[0, 0, 10, 0], &[1, 2, 3, 4]);
        assert_eq!(c, 0.25);
        assert_eq!(p, 3.0);
        assert!((g - 0.75).abs() < 1e-9);
        let (_, _, g) = exposure(&[5, 5, 5, 5], &[1, 1, 1, 1]);
        assert!(g.abs() < 1e-9);
    }
}
