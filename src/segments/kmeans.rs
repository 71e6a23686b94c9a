//! k-means through linfa (k-means++ initialisation, `n_init` restarts, the
//! best inertia kept), with a fixed seed per (seed, k), so a given k gives
//! the same clusters whether it was asked for or tried by `--k auto`.
//!
//! Convergence follows scikit-learn's rule so the two stop at comparable
//! points: linfa stops when the Frobenius norm of the centroid shift is below
//! its tolerance, scikit-learn when the squared norm is below
//! `tol · mean(feature variance)`; we pass linfa the square root of the latter.
//! After the fit, every unit is assigned to its nearest final centroid and the
//! inertia is the sum of squared distances to it (scikit-learn's `inertia_`;
//! linfa reports a mean).

use linfa::DatasetBase;
use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::error::DataError;

/// scikit-learn's default relative tolerance.
pub const TOL: f64 = 1e-4;
pub const MAX_ITER: u64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KMeansParams {
    pub k: usize,
    pub n_init: usize,
    pub seed: u64,
}

/// A fitted clustering. Clusters are numbered by size, largest first (ties:
/// linfa's order), so numbering does not depend on initialisation order.
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

/// The seed linfa's generator gets for this k: SplitMix64 of (seed, k).
fn seed_for(seed: u64, k: usize) -> u64 {
    let mut z = seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The tolerance handed to linfa for data `x` (see the module docs).
pub fn linfa_tolerance(x: ArrayView2<f64>) -> f64 {
    let mean_var = x.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0);
    (TOL * mean_var).sqrt().max(1e-12)
}

pub fn fit(x: ArrayView2<f64>, p: KMeansParams) -> Result<KMeansFit, DataError> {
    let n = x.nrows();
    if p.k == 0 || p.k > n {
        return Err(DataError::Input(format!(
            "cannot make {} segments of {n} units",
            p.k
        )));
    }
    let rng = Xoshiro256Plus::seed_from_u64(seed_for(p.seed, p.k));
    let model = KMeans::params_with_rng(p.k, rng)
        .n_runs(p.n_init)
        .tolerance(linfa_tolerance(x))
        .max_n_iterations(MAX_ITER)
        .fit(&DatasetBase::from(x))
        .map_err(|e| DataError::Input(format!("k-means with k={}: {e}", p.k)))?;
    let best = model.centroids().to_owned();
    let (centroids, labels) = polish(x, best);
    // Number clusters by size, largest first.
    let mut sizes = vec![0u64; p.k];
    for &l in &labels {
        sizes[l as usize] += 1;
    }
    let mut order: Vec<usize> = (0..p.k).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut rank = vec![0u32; p.k];
    for (new, &old) in order.iter().enumerate() {
        rank[old] = new as u32;
    }
    // An empty cluster (possible in k-means) sorts last and is left out.
    let kept = sizes.iter().filter(|&&s| s > 0).count();
    order.truncate(kept);
    let centroids = centroids.select(Axis(0), &order);
    let labels: Vec<u32> = labels.iter().map(|&l| rank[l as usize]).collect();
    let (_, inertia) = assign(x, centroids.view());
    Ok(KMeansFit {
        k: kept,
        centroids,
        labels,
        sizes: order.iter().map(|&o| sizes[o]).collect(),
        inertia,
    })
}

/// Finishes linfa's result with one exact Lloyd step. linfa updates a
/// centroid as the mean of its points plus the old centroid counted as one
/// more point ("m_k-means"), so its centroids sit slightly off the means of
/// their points; this step takes the exact means of linfa's final assignment,
/// then assigns every unit to its nearest mean (scikit-learn likewise ends
/// with an assignment to its final centres).
fn polish(x: ArrayView2<f64>, mut centroids: Array2<f64>) -> (Array2<f64>, Vec<u32>) {
    let (labels, _) = assign(x, centroids.view());
    let k = centroids.nrows();
    let mut sums = Array2::<f64>::zeros(centroids.dim());
    let mut counts = vec![0u64; k];
    for (row, &l) in x.rows().into_iter().zip(&labels) {
        let mut s = sums.row_mut(l as usize);
        s += &row;
        counts[l as usize] += 1;
    }
    for (c, &count) in counts.iter().enumerate() {
        // An empty cluster keeps its centroid.
        if count > 0 {
            let mean = sums.row(c).mapv(|v| v / count as f64);
            centroids.row_mut(c).assign(&mean);
        }
    }
    let (labels, _) = assign(x, centroids.view());
    (centroids, labels)
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
