//! Exact silhouette scores of several labellings of the same points, on a
//! seeded sample of at most 20,000 of them.
//!
//! For a point i in cluster A: a(i) is its mean distance to the other points
//! of A, b(i) the smallest mean distance to the points of another cluster,
//! s(i) = (b − a) / max(a, b), and 0 when A has one point (as scikit-learn).
//! The score is the mean of s(i).
//!
//! All pairwise Euclidean distances are needed (O(m²·d)), so the work is
//! shared between labellings: points are sorted by their tuple of labels
//! (one label per k tried), each distance row is summed once per run of equal
//! tuples, and each labelling's per-cluster sums are added up from those few
//! run sums. Each distance is computed once: row i's block sums its rows to
//! the columns from the block's start on, and also adds each distance to
//! the later column's sums per group of row i; a row's total is its own
//! block's sums plus the earlier blocks' column sums, added in block order.
//! (When labellings cut the sample into so many groups that those column
//! sums would pass 64 MiB, every distance is computed twice instead.)
//! Distances come from |x|² + |y|² − 2x·y on tiles of 4 rows × 8
//! columns, with explicit fused multiply-adds so every machine gets the same
//! bits (AVX2+FMA when the CPU has them, the same arithmetic in software when
//! not). Row blocks are spread over threads; each block's sums come from one
//! thread, so no result depends on the thread count.

use ndarray::ArrayView2;

/// The sample size limit of the issue: exact silhouettes above it are too slow.
pub const MAX_SAMPLE: usize = 20_000;

/// All row indices when there are at most `max`, else the `max` rows with
/// the smallest keys (seeded hashes of the units' ids, see
/// [`crate::rng::user_key`]); sorted ascending.
pub fn sample(keys: &[u64], max: usize) -> Vec<usize> {
    let n = keys.len();
    let mut idx: Vec<usize> = (0..n).collect();
    if n > max {
        idx.select_nth_unstable_by_key(max - 1, |&i| (keys[i], i));
        idx.truncate(max);
        idx.sort_unstable();
    }
    idx
}

const R: usize = 4; // rows per block
const L: usize = 8; // columns per micro-tile
const W: usize = 512; // columns per tile

/// Silhouettes of several labellings of the same sample points.
#[derive(Debug, Clone)]
pub struct Silhouettes {
    /// Mean s(i) per labelling; `None` when a labelling has fewer than two
    /// clusters in the sample (the score is undefined).
    pub mean: Vec<Option<f64>>,
    /// s(i) per point (in an internal order) and labelling: `values[i * nl + l]`.
    values: Vec<f64>,
    nl: usize,
}

impl Silhouettes {
    /// Standard error of the difference of two labellings' mean silhouettes,
    /// paired on the sample points: sd(s_a(i) − s_b(i)) / √m.
    pub fn se_of_difference(&self, a: usize, b: usize) -> f64 {
        let m = self.values.len() / self.nl.max(1);
        if m < 2 {
            return 0.0;
        }
        let d = |i: usize| self.values[i * self.nl + a] - self.values[i * self.nl + b];
        let mean = (0..m).map(d).sum::<f64>() / m as f64;
        let var = (0..m).map(|i| (d(i) - mean).powi(2)).sum::<f64>() / (m - 1) as f64;
        (var / m as f64).sqrt()
    }
}

/// Mean silhouette of each labelling (full-length label vectors) over the
/// `sample` rows of `x` (see [`Silhouettes::mean`]).
pub fn scores(x: ArrayView2<f64>, sample: &[usize], labelings: &[&[u32]]) -> Vec<Option<f64>> {
    compute(x, sample, labelings).mean
}

/// Silhouettes of each labelling over the `sample` rows of `x`.
pub fn compute(x: ArrayView2<f64>, sample: &[usize], labelings: &[&[u32]]) -> Silhouettes {
    compute_with(x, sample, labelings, MAX_COLUMN_SUMS_BYTES)
}

/// [`compute`], using the symmetric pass when its column sums fit in
/// `max_column_sums` bytes.
fn compute_with(
    x: ArrayView2<f64>,
    sample: &[usize],
    labelings: &[&[u32]],
    max_column_sums: usize,
) -> Silhouettes {
    let m = sample.len();
    let p = x.ncols();
    let nl = labelings.len();
    if m < 2 || nl == 0 {
        return Silhouettes {
            mean: vec![None; nl],
            values: Vec::new(),
            nl,
        };
    }
    // Sort the sample by label tuple; runs of equal tuples are the groups.
    let key = |s: usize| -> Vec<u32> { labelings.iter().map(|l| l[sample[s]]).collect() };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by_key(|&s| (key(s), s));
    let mut group_start = vec![0usize];
    let mut group_labels: Vec<Vec<u32>> = vec![key(order[0])]; // per group, per labelling
    for (j, &o) in order.iter().enumerate().skip(1) {
        let kj = key(o);
        if kj != *group_labels.last().unwrap_or(&kj) {
            group_start.push(j);
            group_labels.push(kj);
        }
    }
    group_start.push(m);
    // Per labelling: number of clusters and their sizes in the sample.
    let clusters: Vec<usize> = (0..nl)
        .map(|l| {
            group_labels
                .iter()
                .map(|g| g[l] as usize + 1)
                .max()
                .unwrap_or(1)
        })
        .collect();
    let sizes: Vec<Vec<f64>> = (0..nl)
        .map(|l| {
            let mut s = vec![0.0; clusters[l]];
            for (g, labs) in group_labels.iter().enumerate() {
                s[labs[l] as usize] += (group_start[g + 1] - group_start[g]) as f64;
            }
            s
        })
        .collect();

    // Sorted sample: row-major rows and feature-major columns (padded to L).
    let m_pad = m.div_ceil(L) * L;
    let mut rows = vec![0.0f64; m_pad * p];
    let mut cols = vec![0.0f64; p * m_pad];
    let mut norms = vec![0.0f64; m_pad];
    for (j, &s) in order.iter().enumerate() {
        let r = x.row(sample[s]);
        for (f, &v) in r.iter().enumerate() {
            rows[j * p + f] = v;
            cols[f * m_pad + j] = v;
        }
        norms[j] = r.iter().fold(0.0, |acc, &v| v.mul_add(v, acc));
    }

    // Column offsets of each labelling's clusters in a row's per-cluster sums.
    let koff: Vec<usize> = clusters
        .iter()
        .scan(0, |acc, &k| {
            let o = *acc;
            *acc += k;
            Some(o)
        })
        .collect();
    let ksum = clusters.iter().sum();
    let ctx = Ctx {
        p,
        m,
        m_pad,
        rows: &rows,
        cols: &cols,
        norms: &norms,
        group_start: &group_start,
        group_labels: &group_labels,
        koff: &koff,
        ksum,
        symmetric: column_sums_bytes(m, m_pad, &group_start) <= max_column_sums,
    };
    // Each row block's sums come from one thread in a fixed order, and the
    // blocks are combined in block order: the bits never depend on threads.
    let blocks = crate::parallel::map(m.div_ceil(T), |b| ctx.row_block(b));
    let finals = crate::parallel::map(blocks.len(), |b| {
        ctx.finish_block(b, &blocks, &sizes, &clusters)
    });
    let s_vals: Vec<f64> = finals.concat();
    let mean = (0..nl)
        .map(|l| {
            if clusters[l] < 2 || sizes[l].iter().filter(|&&s| s > 0.0).count() < 2 {
                return None;
            }
            let sum: f64 = (0..m).map(|i| s_vals[i * nl + l]).sum();
            Some(sum / m as f64)
        })
        .collect();
    Silhouettes {
        mean,
        values: s_vals,
        nl,
    }
}

/// Rows per row block; a multiple of R and of L so blocks start on a tile.
const T: usize = W;

/// Beyond this, the per-group column sums of the symmetric pass would take
/// too much memory (labellings that cut the sample into many hundreds of
/// groups): every distance is then computed twice instead. The benchmark's
/// 7 labellings of 20,000 units make 31-61 groups and 5-7 MB of sums.
const MAX_COLUMN_SUMS_BYTES: usize = 64 << 20;

/// Bytes of the column sums the symmetric pass keeps: per row block, one
/// row of the later columns per group the block overlaps.
fn column_sums_bytes(m: usize, m_pad: usize, group_start: &[usize]) -> usize {
    (0..m.div_ceil(T))
        .map(|b| {
            let (r0, r1) = (b * T, ((b + 1) * T).min(m));
            let runs = group_start.partition_point(|&s| s < r1)
                - (group_start.partition_point(|&s| s <= r0) - 1);
            runs * m_pad.saturating_sub(r0 + T)
        })
        .sum::<usize>()
        * std::mem::size_of::<f64>()
}

struct Ctx<'a> {
    p: usize,
    m: usize,
    m_pad: usize,
    rows: &'a [f64],
    cols: &'a [f64],
    norms: &'a [f64],
    group_start: &'a [usize],
    group_labels: &'a [Vec<u32>],
    koff: &'a [usize],
    ksum: usize,
    /// Distances d(i, j) are computed once, in row i's block, and added to
    /// j's sums through `Block::col` (else each row sees every column).
    symmetric: bool,
}

/// One row block's share of the distance sums.
struct Block {
    /// Per row of the block, its summed distances to each cluster of each
    /// labelling (`ksum` values per row, at `koff[l] + cluster`), over the
    /// columns this block saw: from the block's own start (symmetric) or all.
    rows: Vec<f64>,
    /// Symmetric pass: per group the block overlaps (from `g_lo`), summed
    /// distances from its rows to each later column j (at `j - col_base`).
    col: Vec<f64>,
    g_lo: usize,
    col_base: usize,
    ncols: usize,
}

impl Ctx<'_> {
    /// The group of sorted row i: the last group starting at or before i.
    fn group_of(&self, i: usize) -> usize {
        self.group_start.partition_point(|&s| s <= i) - 1
    }

    /// Distance sums of the rows of block `b`.
    fn row_block(&self, b: usize) -> Block {
        let groups = self.group_labels.len();
        let (r0, r1) = (b * T, ((b + 1) * T).min(self.m));
        let g_lo = self.group_of(r0);
        let runs = self.group_of(r1 - 1) + 1 - g_lo;
        let col_base = r0 + T;
        let ncols = if self.symmetric {
            self.m_pad.saturating_sub(col_base)
        } else {
            0
        };
        let mut out = Block {
            rows: vec![0.0; (r1 - r0) * self.ksum],
            col: vec![0.0; runs * ncols],
            g_lo,
            col_base,
            ncols,
        };
        let first_col = if self.symmetric { r0 } else { 0 };
        let mut gsum = vec![0.0f64; R * groups];
        let mut tile = vec![0.0f64; R * W];
        for i0 in (r0..r1).step_by(R) {
            let nrows = (r1 - i0).min(R);
            gsum.fill(0.0);
            // Rows past the end repeat the last row; their results are not kept.
            let row_idx: [usize; R] = std::array::from_fn(|r| (i0 + r).min(self.m - 1));
            let own: [usize; R] = std::array::from_fn(|r| self.group_of(row_idx[r]));
            let mut g = 0usize;
            for j0 in (first_col..self.m_pad).step_by(W) {
                let w = W.min(self.m_pad - j0);
                distances(self, &row_idx, j0, w, &mut tile);
                let valid = w.min(self.m.saturating_sub(j0));
                for (r, &i) in row_idx.iter().enumerate() {
                    if (j0..j0 + valid).contains(&i) {
                        tile[r * W + (i - j0)] = 0.0;
                    }
                }
                // Add the tile to the sums of the groups it overlaps.
                while self.group_start[g + 1] <= j0 {
                    g += 1;
                }
                let mut gg = g;
                while gg < groups && self.group_start[gg] < j0 + valid {
                    let lo = self.group_start[gg].max(j0) - j0;
                    let hi = self.group_start[gg + 1].min(j0 + valid) - j0;
                    for r in 0..R {
                        gsum[r * groups + gg] += sum(&tile[r * W + lo..r * W + hi]);
                    }
                    gg += 1;
                }
                // Later columns: the same distances, summed by this row's group.
                if ncols > 0 && j0 >= col_base {
                    for r in 0..nrows {
                        let at = (own[r] - g_lo) * ncols + (j0 - col_base);
                        for (c, &d) in out.col[at..at + valid].iter_mut().zip(&tile[r * W..]) {
                            *c += d;
                        }
                    }
                }
            }
            for r in 0..nrows {
                let dst = &mut out.rows[(i0 + r - r0) * self.ksum..][..self.ksum];
                for (gg, labs) in self.group_labels.iter().enumerate() {
                    let v = gsum[r * groups + gg];
                    for (l, &c) in labs.iter().enumerate() {
                        dst[self.koff[l] + c as usize] += v;
                    }
                }
            }
        }
        out
    }

    /// s(i) of every labelling for the rows of block `b`, `nl` values per
    /// row: the block's own sums plus the earlier blocks' column sums.
    fn finish_block(
        &self,
        b: usize,
        blocks: &[Block],
        sizes: &[Vec<f64>],
        clusters: &[usize],
    ) -> Vec<f64> {
        let nl = clusters.len();
        let r0 = b * T;
        let nrows = blocks[b].rows.len() / self.ksum.max(1);
        let mut out = vec![0.0; nrows * nl];
        let mut csum = vec![0.0f64; self.ksum];
        for r in 0..nrows {
            let i = r0 + r;
            csum.copy_from_slice(&blocks[b].rows[r * self.ksum..][..self.ksum]);
            for e in blocks[..b].iter().filter(|e| e.ncols > 0) {
                for (run, col) in e.col.chunks_exact(e.ncols).enumerate() {
                    let v = col[i - e.col_base];
                    for (l, &c) in self.group_labels[e.g_lo + run].iter().enumerate() {
                        csum[self.koff[l] + c as usize] += v;
                    }
                }
            }
            let labs = &self.group_labels[self.group_of(i)];
            for l in 0..nl {
                let sums = &csum[self.koff[l]..self.koff[l] + clusters[l]];
                let own = labs[l] as usize;
                let size_own = sizes[l][own];
                out[r * nl + l] = if size_own <= 1.0 {
                    0.0
                } else {
                    let a = sums[own] / (size_own - 1.0);
                    let b = (0..clusters[l])
                        .filter(|&c| c != own && sizes[l][c] > 0.0)
                        .map(|c| sums[c] / sizes[l][c])
                        .fold(f64::INFINITY, f64::min);
                    let d = a.max(b);
                    if d > 0.0 && d.is_finite() {
                        (b - a) / d
                    } else {
                        0.0
                    }
                };
            }
        }
        out
    }
}

/// Sum with four partial sums in a fixed pattern (vectorisable, reproducible).
#[inline]
fn sum(v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = v.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            acc[k] += c[k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &x in rest {
        s += x;
    }
    s
}

/// Distances from the R rows to columns j0..j0+w (w a multiple of L) into `tile`.
fn distances(ctx: &Ctx, rows: &[usize; R], j0: usize, w: usize, tile: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports the features the function is compiled for.
            unsafe { distances_avx2(ctx, rows, j0, w, tile) };
            return;
        }
    }
    distances_generic(ctx, rows, j0, w, tile);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn distances_avx2(ctx: &Ctx, rows: &[usize; R], j0: usize, w: usize, tile: &mut [f64]) {
    distances_generic(ctx, rows, j0, w, tile)
}

// Index loops keep the micro-kernel's shape explicit for the vectoriser.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn distances_generic(ctx: &Ctx, rows: &[usize; R], j0: usize, w: usize, tile: &mut [f64]) {
    let p = ctx.p;
    let xr: [&[f64]; R] = std::array::from_fn(|r| &ctx.rows[rows[r] * p..rows[r] * p + p]);
    let nr: [f64; R] = std::array::from_fn(|r| ctx.norms[rows[r]]);
    for jb in (0..w).step_by(L) {
        let j = j0 + jb;
        let mut acc = [[0.0f64; L]; R];
        for f in 0..p {
            let c: &[f64; L] = ctx.cols[f * ctx.m_pad + j..f * ctx.m_pad + j + L]
                .try_into()
                .expect("L columns");
            for r in 0..R {
                let a = xr[r][f];
                for l in 0..L {
                    acc[r][l] = a.mul_add(c[l], acc[r][l]);
                }
            }
        }
        let nc: &[f64; L] = ctx.norms[j..j + L].try_into().expect("L norms");
        for r in 0..R {
            let out = &mut tile[r * W + jb..r * W + jb + L];
            for l in 0..L {
                let d2 = (-2.0f64).mul_add(acc[r][l], nr[r] + nc[l]);
                out[l] = d2.max(0.0).sqrt();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use ndarray::{Array2, array};

    /// The literal definition, for comparison.
    fn naive(x: &Array2<f64>, labels: &[u32]) -> f64 {
        let n = x.nrows();
        let k = *labels.iter().max().unwrap() as usize + 1;
        let d = |i: usize, j: usize| {
            x.row(i)
                .iter()
                .zip(x.row(j).iter())
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let mut total = 0.0;
        for i in 0..n {
            let mut sums = vec![0.0; k];
            let mut counts = vec![0.0; k];
            for j in 0..n {
                sums[labels[j] as usize] += d(i, j);
                counts[labels[j] as usize] += 1.0;
            }
            let own = labels[i] as usize;
            if counts[own] <= 1.0 {
                continue;
            }
            let a = sums[own] / (counts[own] - 1.0);
            let b = (0..k)
                .filter(|&c| c != own && counts[c] > 0.0)
                .map(|c| sums[c] / counts[c])
                .fold(f64::INFINITY, f64::min);
            total += (b - a) / a.max(b);
        }
        total / n as f64
    }

    #[test]
    fn hand_example() {
        // Points 0, 1 on a line and 10, 11: a = 1, b = 10 (for 0: (10 + 11) / 2 = 10.5).
        let x = array![[0.0], [1.0], [10.0], [11.0]];
        let s = scores(x.view(), &[0, 1, 2, 3], &[&[0, 0, 1, 1]])[0].unwrap();
        // s(0) = (10.5 - 1) / 10.5, s(1) = (9.5 - 1) / 9.5, symmetric for the others.
        let want = ((9.5 / 10.5) + (8.5 / 9.5)) / 2.0;
        assert!((s - want).abs() < 1e-12, "{s} vs {want}");
        // A singleton cluster scores 0 for its point.
        let s = scores(x.view(), &[0, 1, 2, 3], &[&[0, 0, 0, 1]])[0].unwrap();
        assert!((s - naive(&x, &[0, 0, 0, 1])).abs() < 1e-12);
        // One cluster: undefined.
        assert_eq!(scores(x.view(), &[0, 1, 2, 3], &[&[0, 0, 0, 0]])[0], None);
    }

    #[test]
    fn matches_the_definition_for_several_labellings_at_once() {
        let mut rng = Rng::new(3);
        let n = 203; // not a multiple of the tile sizes
        let x = Array2::from_shape_fn((n, 5), |(i, _)| rng.normal() + (i % 3) as f64 * 2.0);
        let l1: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let l2: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let l3: Vec<u32> = (0..n).map(|i| ((i * 7) % 5) as u32).collect();
        let all: Vec<usize> = (0..n).collect();
        let got = scores(x.view(), &all, &[&l1, &l2, &l3]);
        for (g, l) in got.iter().zip([&l1, &l2, &l3]) {
            let want = naive(&x, l);
            assert!((g.unwrap() - want).abs() < 1e-9, "{g:?} vs {want}");
        }
    }

    #[test]
    fn symmetric_pass_matches_the_definition_and_the_full_pass() {
        // Several row blocks, a last block that is not full, and groups
        // (label tuples) that straddle block boundaries.
        let mut rng = Rng::new(5);
        let n = 1283;
        let x = Array2::from_shape_fn((n, 3), |(i, _)| rng.normal() + (i % 4) as f64);
        let l1: Vec<u32> = (0..n).map(|i| (i % 4) as u32).collect();
        let l2: Vec<u32> = (0..n).map(|i| ((i % 4) / 2) as u32).collect();
        let l3: Vec<u32> = (0..n).map(|i| ((i * 13) % 6) as u32).collect();
        let all: Vec<usize> = (0..n).collect();
        let labs: [&[u32]; 3] = [&l1, &l2, &l3];
        let sym = compute_with(x.view(), &all, &labs, usize::MAX);
        let full = compute_with(x.view(), &all, &labs, 0);
        for (l, want) in labs.iter().map(|l| naive(&x, l)).enumerate() {
            assert!((sym.mean[l].unwrap() - want).abs() < 1e-9);
            assert!((full.mean[l].unwrap() - want).abs() < 1e-9);
        }
        for (a, b) in sym.values.iter().zip(&full.values) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // A subsample: the same s(i) through `sample` indices.
        let sub: Vec<usize> = (0..n).step_by(2).collect();
        let xs = x.select(ndarray::Axis(0), &sub);
        let ls: Vec<Vec<u32>> = labs
            .iter()
            .map(|l| sub.iter().map(|&i| l[i]).collect())
            .collect();
        let got = scores(x.view(), &sub, &labs);
        for (g, l) in got.iter().zip(&ls) {
            assert!((g.unwrap() - naive(&xs, l)).abs() < 1e-9);
        }
    }

    #[test]
    fn sample_is_keyed_sorted_and_distinct() {
        let keys = |seed| -> Vec<u64> {
            (0..1000)
                .map(|i| crate::rng::user_key(&format!("u{i}"), seed))
                .collect()
        };
        let a = sample(&keys(7), 100);
        assert_eq!(a, sample(&keys(7), 100));
        assert_ne!(a, sample(&keys(8), 100));
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample(&keys(7)[..50], 100), (0..50).collect::<Vec<_>>());
    }
}
