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
//! run sums. Distances come from |x|² + |y|² − 2x·y on tiles of 4 rows × 8
//! columns, with explicit fused multiply-adds so every machine gets the same
//! bits (AVX2+FMA when the CPU has them, the same arithmetic in software when
//! not). Rows are split across threads; each row's result does not depend on
//! the split, and the final mean is summed in a fixed order.

use ndarray::ArrayView2;

use crate::rng::Rng;

/// The sample size limit of the issue: exact silhouettes above it are too slow.
pub const MAX_SAMPLE: usize = 20_000;

/// All row indices when `n <= max`, else `max` distinct indices drawn with a
/// seeded partial Fisher–Yates shuffle; sorted ascending.
pub fn sample(n: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    if n > max {
        let mut rng = Rng::new(seed ^ 0x5111_0E77_E5CA_1E00);
        for i in 0..max {
            let j = i + rng.below((n - i) as u64) as usize;
            idx.swap(i, j);
        }
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
    let groups = group_labels.len();
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

    let ctx = Ctx {
        p,
        m,
        m_pad,
        rows: &rows,
        cols: &cols,
        norms: &norms,
        group_start: &group_start,
        group_labels: &group_labels,
        sizes: &sizes,
        clusters: &clusters,
    };
    // s(i) per labelling per sorted row, computed in row blocks across threads.
    let mut s_vals = vec![0.0f64; m * nl];
    let blocks = m.div_ceil(R);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(blocks);
    let per_thread = blocks.div_ceil(threads) * R * nl;
    std::thread::scope(|scope| {
        for (t, chunk) in s_vals.chunks_mut(per_thread).enumerate() {
            let ctx = &ctx;
            scope.spawn(move || {
                let first_row = t * per_thread / nl;
                let mut scratch = Scratch::new(groups);
                for (b, out) in chunk.chunks_mut(R * nl).enumerate() {
                    let i0 = first_row + b * R;
                    ctx.block(i0, &mut scratch, out);
                }
            });
        }
    });
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

struct Ctx<'a> {
    p: usize,
    m: usize,
    m_pad: usize,
    rows: &'a [f64],
    cols: &'a [f64],
    norms: &'a [f64],
    group_start: &'a [usize],
    group_labels: &'a [Vec<u32>],
    sizes: &'a [Vec<f64>],
    clusters: &'a [usize],
}

struct Scratch {
    /// R rows × groups: summed distances from each row to each group.
    gsum: Vec<f64>,
    /// R rows × W: one tile of distances.
    tile: Vec<f64>,
    csum: Vec<f64>,
}

impl Scratch {
    fn new(groups: usize) -> Self {
        Scratch {
            gsum: vec![0.0; R * groups],
            tile: vec![0.0; R * W],
            csum: Vec::new(),
        }
    }
}

impl Ctx<'_> {
    /// Rows i0..i0+R (fewer at the end): their s(i) for every labelling,
    /// written to `out[(i - i0) * nl + l]`.
    fn block(&self, i0: usize, sc: &mut Scratch, out: &mut [f64]) {
        let groups = self.group_labels.len();
        let nl = self.sizes.len();
        let nrows = (self.m - i0).min(R);
        sc.gsum.fill(0.0);
        // Rows past the end repeat the last row; their results are not kept.
        let row_idx: [usize; R] = std::array::from_fn(|r| (i0 + r).min(self.m - 1));
        let mut g = 0usize;
        for j0 in (0..self.m_pad).step_by(W) {
            let w = W.min(self.m_pad - j0);
            distances(self, &row_idx, j0, w, &mut sc.tile);
            let valid = w.min(self.m.saturating_sub(j0));
            for (r, &i) in row_idx.iter().enumerate() {
                if (j0..j0 + valid).contains(&i) {
                    sc.tile[r * W + (i - j0)] = 0.0;
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
                    sc.gsum[r * groups + gg] += sum(&sc.tile[r * W + lo..r * W + hi]);
                }
                gg += 1;
            }
        }
        for r in 0..nrows {
            let i = i0 + r;
            // The group of row i: the last group starting at or before i.
            let own_group = self.group_start.partition_point(|&s| s <= i) - 1;
            for l in 0..nl {
                let k = self.clusters[l];
                sc.csum.clear();
                sc.csum.resize(k, 0.0);
                for (gg, labs) in self.group_labels.iter().enumerate() {
                    sc.csum[labs[l] as usize] += sc.gsum[r * groups + gg];
                }
                let own = self.group_labels[own_group][l] as usize;
                let size_own = self.sizes[l][own];
                out[r * nl + l] = if size_own <= 1.0 {
                    0.0
                } else {
                    let a = sc.csum[own] / (size_own - 1.0);
                    let b = (0..k)
                        .filter(|&c| c != own && self.sizes[l][c] > 0.0)
                        .map(|c| sc.csum[c] / self.sizes[l][c])
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
    fn sample_is_seeded_sorted_and_distinct() {
        let a = sample(1000, 100, 7);
        assert_eq!(a, sample(1000, 100, 7));
        assert_ne!(a, sample(1000, 100, 8));
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample(50, 100, 7), (0..50).collect::<Vec<_>>());
    }
}
