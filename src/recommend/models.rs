//! The models, fitted on a training set (each user's interactions up to a
//! cut-off): popularity (global and per fallback group), directional
//! co-occurrence, first-order next item, and EASE. Fitting is
//! deterministic: sums run in user order, pair counts are integers, and
//! every tie is broken by item id (name order).

use std::ops::Range;

use rayon::prelude::*;

use super::config::Window;
use super::interactions::{History, Interactions};
use super::linalg;

/// Each user's rows that training may see: `range.start..end[u]`.
pub struct Train<'a> {
    pub inter: &'a Interactions,
    pub ends: Vec<usize>,
    /// Decay reference: the last timestamp training sees.
    pub t_ref: i64,
    pub half_life_ms: Option<i64>,
}

impl<'a> Train<'a> {
    /// Everything: the final model.
    pub fn all(inter: &'a Interactions, half_life_ms: Option<i64>) -> Train<'a> {
        let ends = inter.users.iter().map(|u| u.range.end).collect();
        Train::new(inter, ends, half_life_ms)
    }
    pub fn new(inter: &'a Interactions, ends: Vec<usize>, half_life_ms: Option<i64>) -> Train<'a> {
        let t_ref = inter
            .users
            .iter()
            .zip(&ends)
            .filter(|(u, e)| **e > u.range.start)
            .map(|(_, &e)| inter.rows[e - 1].ts)
            .max()
            .unwrap_or(0);
        Train {
            inter,
            ends,
            t_ref,
            half_life_ms,
        }
    }
    pub fn rows(&self, u: usize) -> Range<usize> {
        self.inter.users[u].range.start..self.ends[u]
    }
    pub fn history(&self, u: usize) -> History {
        History::of(
            &self.inter.rows[self.rows(u)],
            self.t_ref,
            self.half_life_ms,
        )
    }
    fn histories(&self) -> Vec<History> {
        (0..self.ends.len())
            .into_par_iter()
            .map(|u| self.history(u))
            .collect()
    }
}

/// Groups with fewer training users than this do not get their own list.
pub const MIN_GROUP_USERS: u64 = 20;

/// Items by descending score, ties by id; items never seen come last.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub order: Vec<u32>,
    pub score: Vec<f64>,
    /// pos[item]: the item's place in `order`.
    pub pos: Vec<u32>,
    pub users: u64,
}

impl Ranked {
    fn of(score: Vec<f64>, users: u64) -> Ranked {
        let mut order: Vec<u32> = (0..score.len() as u32).collect();
        order.sort_by(|&a, &b| {
            score[b as usize]
                .total_cmp(&score[a as usize])
                .then(a.cmp(&b))
        });
        let mut pos = vec![0u32; score.len()];
        for (p, &i) in order.iter().enumerate() {
            pos[i as usize] = p as u32;
        }
        Ranked {
            order,
            score: score.into_iter().collect(),
            pos,
            users,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Popularity {
    pub global: Ranked,
    /// groups[column][value code]: None when the group is too small.
    pub groups: Vec<Vec<Option<Ranked>>>,
    /// Training users per item (for coverage of popularity bias).
    pub item_users: Vec<u64>,
}

impl Popularity {
    fn fit(t: &Train, hist: &[History]) -> Popularity {
        let n = t.inter.n_items();
        let mut global = vec![0.0f64; n];
        let mut item_users = vec![0u64; n];
        for h in hist {
            for &(i, w) in &h.items {
                global[i as usize] += w;
                item_users[i as usize] += 1;
            }
        }
        let users = hist.iter().filter(|h| !h.items.is_empty()).count() as u64;
        let groups = t
            .inter
            .groups
            .iter()
            .enumerate()
            .map(|(g, (_, values))| {
                let mut sums = vec![vec![0.0f64; n]; values.len()];
                let mut counts = vec![0u64; values.len()];
                for (u, h) in hist.iter().enumerate() {
                    let v = t.inter.users[u].groups[g] as usize;
                    if v == 0 || h.items.is_empty() {
                        continue;
                    }
                    counts[v] += 1;
                    for &(i, w) in &h.items {
                        sums[v][i as usize] += w;
                    }
                }
                sums.into_iter()
                    .zip(counts)
                    .enumerate()
                    .map(|(v, (s, c))| (v > 0 && c >= MIN_GROUP_USERS).then(|| Ranked::of(s, c)))
                    .collect()
            })
            .collect();
        Popularity {
            global: Ranked::of(global, users),
            groups,
            item_users,
        }
    }
}

/// Sparse item → item weights, each row sorted by target item.
#[derive(Debug, Clone, Default)]
pub struct SparseRows {
    pub rows: Vec<Vec<(u32, f64)>>,
}

impl SparseRows {
    pub fn get(&self, i: u32, j: u32) -> f64 {
        let r = &self.rows[i as usize];
        r.binary_search_by_key(&j, |x| x.0).map_or(0.0, |p| r[p].1)
    }
}

/// How many later interactions a "then" pair may reach, and how many
/// neighbours each item keeps (implicit's item-kNN keeps 20; more here
/// because the lists also fill cold corners of the catalog).
pub const PAIR_REACH: usize = 50;
pub const NEIGHBOURS: usize = 50;

/// "Viewed X then Y": per user, each ordered pair of distinct items where
/// Y follows X within the window (at most [`PAIR_REACH`] interactions
/// later), counted once per user; weight c(X→Y) / √(n_X · n_Y) with n the
/// items' user counts (cosine, as implicit's CosineRecommender).
pub fn fit_cooc(t: &Train, window: Window, item_users: &[u64]) -> SparseRows {
    let n = t.inter.n_items();
    let pairs: Vec<u64> = (0..t.ends.len())
        .into_par_iter()
        .flat_map_iter(|u| {
            let rows = &t.inter.rows[t.rows(u)];
            let mut mine: Vec<u64> = Vec::new();
            for a in 0..rows.len() {
                for b in rows.iter().skip(a + 1).take(PAIR_REACH) {
                    let ok = match window {
                        Window::Session => b.session == rows[a].session,
                        Window::Span(ms) => b.ts - rows[a].ts <= ms,
                    };
                    if !ok {
                        break;
                    }
                    if b.item != rows[a].item {
                        mine.push(u64::from(rows[a].item) << 32 | u64::from(b.item));
                    }
                }
            }
            mine.sort_unstable();
            mine.dedup();
            mine
        })
        .collect();
    let mut rows = count_pairs(pairs, n);
    for (i, r) in rows.iter_mut().enumerate() {
        for x in r.iter_mut() {
            let norm = (item_users[i] as f64 * item_users[x.0 as usize] as f64).sqrt();
            x.1 /= norm.max(1.0);
        }
    }
    prune(&mut rows);
    SparseRows { rows }
}

/// `(from << 32 | to)` pairs to per-item rows of (to, count), sorted by `to`.
fn count_pairs(mut pairs: Vec<u64>, items: usize) -> Vec<Vec<(u32, f64)>> {
    pairs.par_sort_unstable();
    let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); items];
    for run in pairs.chunk_by(|a, b| a == b) {
        let key = run[0];
        rows[(key >> 32) as usize].push((key as u32, run.len() as f64));
    }
    rows
}

/// Keeps each row's [`NEIGHBOURS`] strongest entries, sorted by item.
fn prune(rows: &mut [Vec<(u32, f64)>]) {
    rows.par_iter_mut().for_each(|r| {
        if r.len() > NEIGHBOURS {
            r.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            r.truncate(NEIGHBOURS);
            r.sort_by_key(|x| x.0);
        }
    });
}

/// First-order next item: P(Y | X) over each user's consecutive
/// interactions with different items, X → Y.
pub fn fit_markov(t: &Train) -> SparseRows {
    let n = t.inter.n_items();
    let pairs: Vec<u64> = (0..t.ends.len())
        .into_par_iter()
        .flat_map_iter(|u| {
            let rows = &t.inter.rows[t.rows(u)];
            let mut mine = Vec::new();
            let mut prev: Option<u32> = None;
            for r in rows {
                if let Some(p) = prev
                    && p != r.item
                {
                    mine.push(u64::from(p) << 32 | u64::from(r.item));
                }
                prev = Some(r.item);
            }
            mine
        })
        .collect();
    let mut rows = count_pairs(pairs, n);
    for r in rows.iter_mut() {
        let total: f64 = r.iter().map(|x| x.1).sum();
        for x in r.iter_mut() {
            x.1 /= total;
        }
    }
    prune(&mut rows);
    SparseRows { rows }
}

/// XᵀX over the EASE items, ready to be solved for any λ.
pub struct Gram {
    /// ease index → item.
    pub items: Vec<u32>,
    /// item → ease index, or u32::MAX outside the cap.
    pub index: Vec<u32>,
    pub g: Vec<f64>,
}

impl Gram {
    /// The `cap` items with the most training users (ties by id).
    pub fn from_histories(hist: &[History], item_users: &[u64], cap: usize) -> Gram {
        let mut items: Vec<u32> = (0..item_users.len() as u32)
            .filter(|&i| item_users[i as usize] > 0)
            .collect();
        items.sort_by(|&a, &b| {
            item_users[b as usize]
                .cmp(&item_users[a as usize])
                .then(a.cmp(&b))
        });
        items.truncate(cap);
        items.sort_unstable();
        let mut index = vec![u32::MAX; item_users.len()];
        for (e, &i) in items.iter().enumerate() {
            index[i as usize] = e as u32;
        }
        let n = items.len();
        // Users' EASE entries, flat (CSR), and the transpose: for each
        // item, the users holding it in user order.
        let mut user_start = Vec::with_capacity(hist.len() + 1);
        let mut entries: Vec<(u32, f64)> = Vec::new();
        user_start.push(0usize);
        for h in hist {
            entries.extend(
                h.items
                    .iter()
                    .filter(|(i, _)| index[*i as usize] != u32::MAX)
                    .map(|&(i, w)| (index[i as usize], w)),
            );
            user_start.push(entries.len());
        }
        let mut item_start = vec![0usize; n + 1];
        for &(a, _) in &entries {
            item_start[a as usize + 1] += 1;
        }
        for a in 0..n {
            item_start[a + 1] += item_start[a];
        }
        let mut holders: Vec<(u32, f64)> = vec![(0, 0.0); entries.len()];
        let mut fill = item_start.clone();
        for u in 0..hist.len() {
            for &(a, w) in &entries[user_start[u]..user_start[u + 1]] {
                holders[fill[a as usize]] = (u as u32, w);
                fill[a as usize] += 1;
            }
        }
        let mut g = vec![0.0f64; n * n];
        // Row a of G adds, user by user in order, w_a · (the user's row):
        // each thread owns whole rows, so the sums are the same whatever
        // the thread count, and each row touches only its item's users.
        g.par_chunks_mut(n.max(1)).enumerate().for_each(|(a, row)| {
            for &(u, wa) in &holders[item_start[a]..item_start[a + 1]] {
                let u = u as usize;
                for &(c, wc) in &entries[user_start[u]..user_start[u + 1]] {
                    row[c as usize] += wa * wc;
                }
            }
        });
        Gram { items, index, g }
    }

    /// B = I − P·diag(1/diag(P)) with P = (G + λI)⁻¹, zero diagonal.
    pub fn solve(&self, lambda: f64) -> Result<Ease, linalg::NotPositiveDefinite> {
        let n = self.items.len();
        let mut a = self.g.clone();
        for i in 0..n {
            a[i * n + i] += lambda;
        }
        let p = linalg::spd_inverse(&a, n)?;
        let mut b = vec![0.0f64; n * n];
        b.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
            for j in 0..n {
                if i != j {
                    row[j] = -p[i * n + j] / p[j * n + j];
                }
            }
        });
        Ok(Ease {
            items: self.items.clone(),
            index: self.index.clone(),
            b,
            lambda,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Ease {
    pub items: Vec<u32>,
    pub index: Vec<u32>,
    /// n × n, row-major: B[i][j] is how much item i speaks for item j.
    pub b: Vec<f64>,
    pub lambda: f64,
}

impl Ease {
    /// The user's dense scores over EASE's items (in `items` order) into
    /// `s`: Σ w · B[i] over the history. The one place the sum is formed,
    /// so the evaluation and the lists agree to the bit (inlined, so the
    /// wide build of the lists' kernel vectorizes it too; no FMA, so the
    /// bits are the same in both builds).
    #[inline(always)]
    pub fn accumulate(&self, h: &History, s: &mut Vec<f64>) {
        let m = self.items.len();
        s.clear();
        s.resize(m, 0.0);
        for &(i, w) in &h.items {
            let a = self.index[i as usize];
            if a == u32::MAX {
                continue;
            }
            let row = &self.b[a as usize * m..(a as usize + 1) * m];
            for (x, &b) in s.iter_mut().zip(row) {
                *x += w * b;
            }
        }
    }

    pub fn weight(&self, i: u32, j: u32) -> f64 {
        let (a, c) = (self.index[i as usize], self.index[j as usize]);
        if a == u32::MAX || c == u32::MAX {
            return 0.0;
        }
        self.b[a as usize * self.items.len() + c as usize]
    }
}

/// A fitted scorer.
pub enum Scorer {
    Popularity,
    Cooc(SparseRows),
    Markov(SparseRows),
    /// EASE on the capped items, co-occurrence for the rest.
    Ease(Box<Ease>, SparseRows),
}

/// Scores of one user: `tier[i]` 0 = the model, 1 = the model's second
/// source (co-occurrence outside EASE's items), u8::MAX = unscored.
/// Only the `touched` items are ever set, so clearing and every pass over
/// a user's candidates cost what the user's scores cost, not the catalog.
pub struct Scored {
    pub tier: Vec<u8>,
    pub score: Vec<f64>,
    pub touched: Vec<u32>,
    acc: Vec<f64>,
    hit: Vec<u32>,
    ease: Vec<f64>,
}

pub const UNSCORED: u8 = u8::MAX;

impl Scored {
    pub fn new(items: usize) -> Scored {
        Scored {
            tier: vec![UNSCORED; items],
            score: vec![0.0; items],
            touched: Vec::new(),
            acc: vec![0.0; items],
            hit: Vec::new(),
            ease: Vec::new(),
        }
    }

    pub fn clear(&mut self) {
        for &i in &self.touched {
            self.tier[i as usize] = UNSCORED;
            self.score[i as usize] = 0.0;
        }
        self.touched.clear();
    }

    fn set(&mut self, i: u32, tier: u8, s: f64) {
        if self.tier[i as usize] == UNSCORED {
            self.tier[i as usize] = tier;
            self.score[i as usize] = s;
            self.touched.push(i);
        }
    }

    /// Adds `w · row(i)` to the accumulator.
    fn add(&mut self, rows: &SparseRows, i: u32, w: f64) {
        for &(j, s) in &rows.rows[i as usize] {
            let a = &mut self.acc[j as usize];
            if *a == 0.0 {
                self.hit.push(j);
            }
            *a += w * s;
        }
    }

    /// Moves the accumulated scores above `floor` into tier `tier`.
    fn flush(&mut self, tier: u8, floor: f64, only: &dyn Fn(u32) -> bool) {
        let hit = std::mem::take(&mut self.hit);
        for &j in &hit {
            let s = std::mem::replace(&mut self.acc[j as usize], 0.0);
            if s > floor && only(j) {
                self.set(j, tier, s);
            }
        }
        self.hit = hit;
        self.hit.clear();
    }
}

impl Scorer {
    /// The user's scores into `out`; scores at or below `floor` stay
    /// unscored.
    pub fn score(&self, h: &History, floor: f64, out: &mut Scored) {
        out.clear();
        match self {
            Scorer::Popularity => {}
            Scorer::Cooc(c) => {
                for &(i, w) in &h.items {
                    out.add(c, i, w);
                }
                out.flush(0, floor, &|_| true);
            }
            Scorer::Markov(m) => {
                if let Some(last) = h.last {
                    out.add(m, last, 1.0);
                }
                out.flush(0, floor, &|_| true);
            }
            Scorer::Ease(e, c) => {
                let mut s = std::mem::take(&mut out.ease);
                e.accumulate(h, &mut s);
                // The first tier of a cleared state: every item is unscored,
                // so the writes need no check.
                debug_assert!(out.touched.is_empty());
                for (&v, &item) in s.iter().zip(&e.items) {
                    if v > floor {
                        out.tier[item as usize] = 0;
                        out.score[item as usize] = v;
                        out.touched.push(item);
                    }
                }
                out.ease = s;
                for &(i, w) in &h.items {
                    out.add(c, i, w);
                }
                out.flush(1, floor, &|j| e.index[j as usize] == u32::MAX);
            }
        }
    }

    /// The history item that contributes most to `j`'s score (the reason).
    pub fn because(&self, h: &History, j: u32) -> Option<u32> {
        let contribution = |i: u32, w: f64| -> f64 {
            match self {
                Scorer::Popularity => 0.0,
                Scorer::Cooc(c) => w * c.get(i, j),
                Scorer::Markov(_) => 0.0,
                Scorer::Ease(e, c) => {
                    if e.index[j as usize] != u32::MAX {
                        w * e.weight(i, j)
                    } else {
                        w * c.get(i, j)
                    }
                }
            }
        };
        if let Scorer::Markov(_) = self {
            return h.last;
        }
        h.items
            .iter()
            .map(|&(i, w)| (i, contribution(i, w)))
            .filter(|x| x.1 > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|x| x.0)
    }
}

/// What a fit computes once for every model.
pub struct Base {
    pub popularity: Popularity,
    pub histories: Vec<History>,
}

pub fn base(t: &Train) -> Base {
    let histories = t.histories();
    let popularity = Popularity::fit(t, &histories);
    Base {
        popularity,
        histories,
    }
}
