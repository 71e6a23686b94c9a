//! k-means: k-means++ seeding (scikit-learn's greedy variant), Lloyd
//! iterations with Hamerly's bounds, `n_init` restarts (run in parallel) and
//! the best inertia kept, with a fixed seed per (seed, k, restart), so a given
//! k gives the same clusters whether it was asked for or tried by `--k auto`.
//!
//! Why not linfa-clustering: its Lloyd step computes every point-to-centroid
//! distance element by element and updates centroids as "m_k-means" (the old
//! centroid counted as one more point), which made our fits 2–6x slower than
//! scikit-learn's and needed a correcting step afterwards. Hamerly's bounds
//! skip most distance computations once clusters settle, and the result is
//! exactly Lloyd's algorithm. The old linfa path's results are kept as a
//! parity test (same inertia on planted data).
//!
//! Convergence follows scikit-learn: stop when the summed squared centroid
//! shift is at most `TOL · mean(feature variance)`, or when no label changes;
//! then every unit is assigned to its nearest final centroid and the inertia
//! is the sum of squared distances to it (scikit-learn's `inertia_`).

use ndarray::{Array2, ArrayView2, Axis};

use crate::error::DataError;
use crate::rng::Rng;

/// scikit-learn's default relative tolerance.
pub const TOL: f64 = 1e-4;
pub const MAX_ITER: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KMeansParams {
    pub k: usize,
    pub n_init: usize,
    pub seed: u64,
}

/// A fitted clustering. Clusters are numbered by size, largest first (ties:
/// the order found), so numbering does not depend on initialisation order.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    pub k: usize,
    /// k × features, in the scaled space.
    pub centroids: Array2<f64>,
    pub labels: Vec<u32>,
    pub sizes: Vec<u64>,
    /// Sum of squared distances of units to their centroid.
    pub inertia: f64,
}

/// The seed of restart `run` for this k: SplitMix64 of (seed, k), then a stream per run.
fn rng_for(seed: u64, k: usize, run: usize) -> Rng {
    let mut z = seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Rng::for_stream(z ^ (z >> 31), run as u64)
}

/// The centroid-shift tolerance for data `x` (see the module docs).
pub fn tolerance(x: ArrayView2<f64>) -> f64 {
    TOL * x.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0)
}

/// `n_init` seeded restarts; the lowest inertia wins (ties: the earlier restart).
pub fn fit(x: ArrayView2<f64>, p: KMeansParams) -> Result<KMeansFit, DataError> {
    let n = x.nrows();
    if p.k == 0 || p.k > n {
        return Err(DataError::Input(format!(
            "cannot make {} segments of {n} units",
            p.k
        )));
    }
    let x = x.as_standard_layout();
    let data = Data::new(x.view());
    let tol = tolerance(x.view());
    let runs: Vec<(Array2<f64>, f64)> = crate::parallel::map(p.n_init.max(1), |run| {
        let mut rng = rng_for(p.seed, p.k, run);
        let init = kmeans_plus_plus(&data, p.k, &mut rng);
        let c = lloyd(&data, init, tol);
        let (_, inertia) = assign(x.view(), c.view());
        (c, inertia)
    });
    let best = (0..runs.len()).fold(0, |b, i| if runs[i].1 < runs[b].1 { i } else { b });
    Ok(finish(
        x.view(),
        runs.into_iter().nth(best).expect("a run").0,
    ))
}

/// One Lloyd run on `x` from the given centroids (e.g. the best fit on a
/// sample of the same units).
pub fn fit_from(x: ArrayView2<f64>, centroids: ArrayView2<f64>) -> KMeansFit {
    let x = x.as_standard_layout();
    let data = Data::new(x.view());
    let c = lloyd(&data, centroids.to_owned(), tolerance(x.view()));
    finish(x.view(), c)
}

/// Final labels (nearest centroid), clusters numbered by size.
fn finish(x: ArrayView2<f64>, centroids: Array2<f64>) -> KMeansFit {
    let k = centroids.nrows();
    let (labels, _) = assign(x, centroids.view());
    let mut sizes = vec![0u64; k];
    for &l in &labels {
        sizes[l as usize] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut rank = vec![0u32; k];
    for (new, &old) in order.iter().enumerate() {
        rank[old] = new as u32;
    }
    // An empty cluster (possible in k-means) sorts last and is left out.
    let kept = sizes.iter().filter(|&&s| s > 0).count();
    order.truncate(kept);
    let centroids = centroids.select(Axis(0), &order);
    let labels: Vec<u32> = labels.iter().map(|&l| rank[l as usize]).collect();
    let (_, inertia) = assign(x, centroids.view());
    KMeansFit {
        k: kept,
        centroids,
        labels,
        sizes: order.iter().map(|&o| sizes[o]).collect(),
        inertia,
    }
}

/// Rows as one contiguous slice.
struct Data<'a> {
    rows: &'a [f64],
    n: usize,
    d: usize,
}

impl<'a> Data<'a> {
    fn new(x: ArrayView2<'a, f64>) -> Self {
        let (n, d) = x.dim();
        Data {
            rows: x.to_slice().expect("standard layout"),
            n,
            d,
        }
    }
    fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.d..(i + 1) * self.d]
    }
}

/// scikit-learn's greedy k-means++: each new centre is the best (lowest
/// potential) of `2 + ln k` candidates drawn with probability ∝ D².
fn kmeans_plus_plus(x: &Data, k: usize, rng: &mut Rng) -> Array2<f64> {
    let (n, d) = (x.n, x.d);
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Array2::<f64>::zeros((k, d));
    let first = rng.below(n as u64) as usize;
    centres.row_mut(0).assign(&ndarray::aview1(x.row(first)));
    let mut closest: Vec<f64> = (0..n).map(|i| sq_dist(x.row(i), x.row(first))).collect();
    let mut potential: f64 = closest.iter().sum();
    let mut cand_d = vec![0.0; n];
    let mut best_d = vec![0.0; n];
    for c in 1..k {
        let mut best: Option<(f64, usize)> = None;
        for _ in 0..trials {
            // Draw a point with probability ∝ its current squared distance.
            let target = rng.f64() * potential;
            let mut acc = 0.0;
            let mut pick = n - 1;
            for (i, &v) in closest.iter().enumerate() {
                acc += v;
                if acc > target {
                    pick = i;
                    break;
                }
            }
            let cr = x.row(pick);
            let mut pot = 0.0;
            for (i, (o, &cl)) in cand_d.iter_mut().zip(&closest).enumerate() {
                *o = cl.min(sq_dist(x.row(i), cr));
                pot += *o;
            }
            if best.is_none_or(|(b, _)| pot < b) {
                best = Some((pot, pick));
                std::mem::swap(&mut best_d, &mut cand_d);
            }
        }
        let (pot, pick) = best.expect("at least one trial");
        centres.row_mut(c).assign(&ndarray::aview1(x.row(pick)));
        std::mem::swap(&mut closest, &mut best_d);
        potential = pot;
    }
    centres
}

/// Lloyd's algorithm from `centres`, with Hamerly's bounds: a point is
/// re-examined only when its upper bound to its own centre exceeds both its
/// lower bound to any other and half the distance from its centre to the
/// next nearest centre. The labels are those of plain Lloyd.
fn lloyd(x: &Data, mut centres: Array2<f64>, tol: f64) -> Array2<f64> {
    let (n, d, k) = (x.n, x.d, centres.nrows());
    let mut label = vec![0usize; n];
    let mut upper = vec![0.0f64; n];
    let mut lower = vec![0.0f64; n];
    let full_scan = |i: usize, c: &Array2<f64>| -> (usize, f64, f64) {
        let row = x.row(i);
        let (mut b1, mut d1, mut d2) = (0usize, f64::INFINITY, f64::INFINITY);
        for (j, cr) in c.rows().into_iter().enumerate() {
            let dist = sq_dist(row, cr.as_slice().expect("standard layout"));
            if dist < d1 {
                (d2, d1, b1) = (d1, dist, j);
            } else if dist < d2 {
                d2 = dist;
            }
        }
        (b1, d1.sqrt(), d2.sqrt())
    };
    for i in 0..n {
        (label[i], upper[i], lower[i]) = full_scan(i, &centres);
    }
    // Per-cluster sums, kept up to date as units move (a pass over all
    // units per iteration would cost more than the bounded assignment).
    let mut sums = Array2::<f64>::zeros((k, d));
    let mut counts = vec![0u64; k];
    for i in 0..n {
        let mut s = sums.row_mut(label[i]);
        for (a, &v) in s.iter_mut().zip(x.row(i)) {
            *a += v;
        }
        counts[label[i]] += 1;
    }
    for _ in 0..MAX_ITER {
        let mut shift = vec![0.0f64; k];
        let mut total_shift = 0.0;
        for c in 0..k {
            // An empty cluster keeps its centre.
            if counts[c] == 0 {
                continue;
            }
            let inv = 1.0 / counts[c] as f64;
            let mut s2 = 0.0;
            for (o, &sv) in centres.row_mut(c).iter_mut().zip(sums.row(c)) {
                let v = sv * inv;
                s2 += (v - *o) * (v - *o);
                *o = v;
            }
            shift[c] = s2.sqrt();
            total_shift += s2;
        }
        // Half the distance from each centre to its nearest other centre.
        let mut half = vec![f64::INFINITY; k];
        for a in 0..k {
            for b in a + 1..k {
                let dist = sq_dist(
                    centres.row(a).as_slice().expect("standard layout"),
                    centres.row(b).as_slice().expect("standard layout"),
                )
                .sqrt()
                    * 0.5;
                half[a] = half[a].min(dist);
                half[b] = half[b].min(dist);
            }
        }
        let (mut m1, mut m1c, mut m2) = (0.0f64, 0usize, 0.0f64);
        for (c, &s) in shift.iter().enumerate() {
            if s > m1 {
                (m2, m1, m1c) = (m1, s, c);
            } else if s > m2 {
                m2 = s;
            }
        }
        let mut changed = false;
        for i in 0..n {
            let a = label[i];
            upper[i] += shift[a];
            lower[i] -= if a == m1c { m2 } else { m1 };
            let bound = half[a].max(lower[i]);
            if upper[i] <= bound {
                continue;
            }
            upper[i] = sq_dist(
                x.row(i),
                centres.row(a).as_slice().expect("standard layout"),
            )
            .sqrt();
            if upper[i] <= bound {
                continue;
            }
            let (b1, d1, d2) = full_scan(i, &centres);
            if b1 != a {
                changed = true;
                let row = x.row(i);
                for (s, &v) in sums.row_mut(a).iter_mut().zip(row) {
                    *s -= v;
                }
                for (s, &v) in sums.row_mut(b1).iter_mut().zip(row) {
                    *s += v;
                }
                counts[a] -= 1;
                counts[b1] += 1;
            }
            (label[i], upper[i], lower[i]) = (b1, d1, d2);
        }
        if total_shift <= tol || !changed {
            break;
        }
    }
    centres
}

/// Nearest centroid of each row (ties: the lower index) and the inertia
/// (summed in row order).
pub fn assign(x: ArrayView2<f64>, centroids: ArrayView2<f64>) -> (Vec<u32>, f64) {
    let p = x.ncols();
    let cen: Vec<f64> = centroids.iter().copied().collect();
    let owned;
    let data: &[f64] = match x.as_slice() {
        Some(s) => s,
        None => {
            owned = x.iter().copied().collect::<Vec<f64>>();
            &owned
        }
    };
    let mut labels = Vec::with_capacity(x.nrows());
    let mut inertia = 0.0;
    for row in data.chunks_exact(p.max(1)).take(x.nrows()) {
        let mut best = (0u32, f64::INFINITY);
        for (c, cr) in cen.chunks_exact(p.max(1)).enumerate() {
            let d = sq_dist(row, cr);
            if d < best.1 {
                best = (c as u32, d);
            }
        }
        labels.push(best.0);
        inertia += best.1;
    }
    (labels, inertia)
}

/// Squared Euclidean distance with four partial sums (vectorisable; the
/// same summation order on every machine).
#[inline]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += (x - y) * (x - y);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Planted blobs in 6 dimensions, unequal sizes and spreads.
    fn blobs(seed: u64) -> (Array2<f64>, Vec<u32>) {
        let mut rng = Rng::new(seed);
        let sizes = [900, 500, 300, 150];
        let n: usize = sizes.iter().sum();
        let mut x = Array2::zeros((n, 6));
        let mut truth = Vec::with_capacity(n);
        let mut i = 0;
        for (c, &m) in sizes.iter().enumerate() {
            for _ in 0..m {
                for j in 0..6 {
                    let centre = if j % 4 == c { 4.0 } else { 0.0 };
                    x[[i, j]] = centre + rng.normal() * (0.8 + 0.3 * c as f64);
                }
                truth.push(c as u32);
                i += 1;
            }
        }
        (x, truth)
    }

    /// The same clustering and inertia as linfa-clustering's KMeans (the
    /// library this code replaced), finished with an exact assignment.
    #[test]
    fn agrees_with_linfa_clustering() {
        use linfa::DatasetBase;
        use linfa::prelude::*;
        use rand_xoshiro::Xoshiro256Plus;
        use rand_xoshiro::rand_core::SeedableRng;
        for seed in [1, 2, 3] {
            let (x, truth) = blobs(seed);
            let ours = fit(
                x.view(),
                KMeansParams {
                    k: 4,
                    n_init: 10,
                    seed,
                },
            )
            .unwrap();
            let model =
                linfa_clustering::KMeans::params_with_rng(4, Xoshiro256Plus::seed_from_u64(seed))
                    .n_runs(10)
                    .tolerance(1e-8)
                    .fit(&DatasetBase::from(x.view()))
                    .unwrap();
            let (theirs, _) = assign(x.view(), model.centroids().view());
            let exact = fit_from(x.view(), model.centroids().view());
            let ari = super::super::ari::adjusted_rand_index(&ours.labels, &theirs);
            assert!(ari > 0.99, "seed {seed}: ARI with linfa {ari}");
            assert!(
                ours.inertia <= exact.inertia * (1.0 + 1e-9),
                "seed {seed}: {} vs linfa {}",
                ours.inertia,
                exact.inertia
            );
            assert!(super::super::ari::adjusted_rand_index(&ours.labels, &truth) > 0.9);
        }
    }

    /// Hamerly's bounds only skip work: the result is plain Lloyd's.
    #[test]
    fn bounds_give_plain_lloyd() {
        let (x, _) = blobs(9);
        let data = Data::new(x.view());
        let init = x.select(Axis(0), &[0, 1, 2, 3, 4]);
        let fast = lloyd(&data, init.clone(), 0.0);
        // Plain Lloyd: full assignment, exact means, until nothing changes.
        let mut c = init;
        loop {
            let (labels, _) = assign(x.view(), c.view());
            let mut next = c.clone();
            for j in 0..c.nrows() {
                let rows: Vec<usize> = (0..x.nrows())
                    .filter(|&i| labels[i] as usize == j)
                    .collect();
                if !rows.is_empty() {
                    next.row_mut(j)
                        .assign(&x.select(Axis(0), &rows).mean_axis(Axis(0)).unwrap());
                }
            }
            if next == c {
                break;
            }
            c = next;
        }
        let (a, _) = assign(x.view(), fast.view());
        let (b, _) = assign(x.view(), c.view());
        assert_eq!(a, b);
        assert!((&fast - &c).iter().all(|v| v.abs() < 1e-9));
    }

    #[test]
    fn two_blobs_are_found_and_numbered_by_size() {
        let x = array![
            [0.0, 0.0],
            [0.1, 0.0],
            [0.0, 0.1],
            [5.0, 5.0],
            [5.1, 5.0],
            [0.1, 0.1]
        ];
        let f = fit(
            x.view(),
            KMeansParams {
                k: 2,
                n_init: 10,
                seed: 0,
            },
        )
        .unwrap();
        assert_eq!(f.labels, vec![0, 0, 0, 1, 1, 0]);
        assert_eq!(f.sizes, vec![4, 2]);
        assert!((f.centroids[[1, 0]] - 5.05).abs() < 1e-9);
        // Two blobs: 4 points at distance √0.005 from (0.05, 0.05), two 0.05 from (5.05, 5).
        assert!(
            (f.inertia - (4.0 * 0.005 + 2.0 * 0.0025)).abs() < 1e-9,
            "{}",
            f.inertia
        );
        let again = fit(
            x.view(),
            KMeansParams {
                k: 2,
                n_init: 10,
                seed: 0,
            },
        )
        .unwrap();
        assert_eq!(f, again);
    }

    #[test]
    fn too_many_clusters_is_an_error() {
        let x = array![[0.0], [1.0]];
        assert!(
            fit(
                x.view(),
                KMeansParams {
                    k: 3,
                    n_init: 1,
                    seed: 0
                }
            )
            .is_err()
        );
    }
}
