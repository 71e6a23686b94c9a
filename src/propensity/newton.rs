//! Newton's method for weighted L2 logistic regression.
//!
//! Minimizes `f(w, b) = Σ c_i·(log(1 + e^{z_i}) − y_i·z_i) + α/2·‖w‖²` with
//! `z = Xw + b`. Each iteration forms the gradient and the Hessian
//! `[X 1]ᵀ diag(c·p·(1−p)) [X 1] + diag(α, …, α, 0)` in one pass over the
//! rows (blocked matrix products), solves for the step by Cholesky, and backs
//! off by halving until `f` decreases enough (Armijo), which keeps the
//! method safe far from the optimum and on nearly separable data.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, s};

use super::model::Linear;

/// Stops when every gradient component, divided by the total weight, is
/// below this (scikit-learn's lbfgs stops at 1e-4 on the same scale), or
/// when the predicted decrease of the mean loss is below [`FLAT`] (rounding
/// then dominates the gradient).
const TOLERANCE: f64 = 1e-7;
const FLAT: f64 = 1e-14;
const MAX_ITERATIONS: usize = 100;
/// Rows per block of the Hessian product (a block of 30 columns is ~1 MB).
const BLOCK: usize = 4096;

struct Problem<'a> {
    x: ArrayView2<'a, f64>,
    y: &'a [f64],
    c: &'a [f64],
    alpha: f64,
}

impl Problem<'_> {
    fn margins(&self, w: &Array1<f64>, b: f64) -> Array1<f64> {
        let w = w.as_slice().expect("contiguous");
        self.x
            .rows()
            .into_iter()
            .map(|row| b + dot(row.as_slice().expect("row-major rows"), w))
            .collect()
    }

    /// The objective and its gradient (w then b) at margins `z`, from one
    /// exponential per row (they dominate the cost of a pass).
    fn evaluate(&self, z: &Array1<f64>, w: &Array1<f64>) -> (f64, Array1<f64>) {
        let d = self.x.ncols();
        let mut loss = 0.0;
        let r: Array1<f64> = z
            .iter()
            .zip(self.y)
            .zip(self.c)
            .map(|((&z, &y), &c)| {
                let e = (-z.abs()).exp();
                loss += c * (z.max(0.0) + e.ln_1p() - y * z);
                let p = if z >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                c * (p - y)
            })
            .collect();
        let mut g = vec![0.0; d + 1];
        for (row, &ri) in self.x.rows().into_iter().zip(&r) {
            for (gj, &v) in g.iter_mut().zip(row.as_slice().expect("row-major rows")) {
                *gj += ri * v;
            }
        }
        g[d] = r.sum();
        let mut g = Array1::from(g);
        g.slice_mut(s![..d]).scaled_add(self.alpha, w);
        (loss + 0.5 * self.alpha * w.dot(w), g)
    }

    /// The loss's Hessian at margins `z`, without the penalty's `α·I`.
    fn hessian(&self, z: &Array1<f64>) -> Array2<f64> {
        let (n, d) = self.x.dim();
        let s: Array1<f64> = z
            .iter()
            .zip(self.c)
            .map(|(&z, &c)| {
                let p = super::model::sigmoid(z);
                (c * p * (1.0 - p)).sqrt()
            })
            .collect();
        let mut h = Array2::<f64>::zeros((d + 1, d + 1));
        let mut a = Array2::<f64>::zeros((BLOCK, d + 1));
        for r0 in (0..n).step_by(BLOCK) {
            let r1 = (r0 + BLOCK).min(n);
            let m = r1 - r0;
            let sb = s.slice(s![r0..r1]);
            let rows = self.x.slice(s![r0..r1, ..]);
            for ((mut o, row), &si) in a.rows_mut().into_iter().zip(rows.rows()).zip(&sb) {
                for (o, &v) in o.iter_mut().zip(row.iter()) {
                    *o = v * si;
                }
                o[d] = si;
            }
            let blk = a.slice(s![..m, ..]);
            general_mat_mul(1.0, &blk.t(), &blk, 1.0, &mut h);
        }
        h
    }

    fn penalized(&self, h: &Array2<f64>) -> Array2<f64> {
        let mut h = h.clone();
        for j in 0..self.x.ncols() {
            h[[j, j]] += self.alpha;
        }
        h
    }
}

/// Four partial sums: vectorizable, and the same order on every machine.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let mut s = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + s
}

/// Solves `h·x = g` for a symmetric positive definite `h` (Cholesky); a
/// tiny ridge is added when rounding makes `h` indefinite.
fn cholesky_solve(h: &Array2<f64>, g: &Array1<f64>) -> Option<Array1<f64>> {
    let n = g.len();
    let scale = (0..n)
        .map(|i| h[[i, i]].abs())
        .fold(0.0, f64::max)
        .max(1e-300);
    for ridge in [0.0, 1e-12, 1e-9, 1e-6] {
        let mut l = Array2::<f64>::zeros((n, n));
        let mut ok = true;
        'rows: for i in 0..n {
            for j in 0..=i {
                let mut sum = h[[i, j]] + if i == j { ridge * scale } else { 0.0 };
                for k in 0..j {
                    sum -= l[[i, k]] * l[[j, k]];
                }
                if i == j {
                    if sum <= 0.0 {
                        ok = false;
                        break 'rows;
                    }
                    l[[i, i]] = sum.sqrt();
                } else {
                    l[[i, j]] = sum / l[[j, j]];
                }
            }
        }
        if !ok {
            continue;
        }
        let mut v = g.clone();
        for i in 0..n {
            for k in 0..i {
                v[i] -= l[[i, k]] * v[k];
            }
            v[i] /= l[[i, i]];
        }
        for i in (0..n).rev() {
            for k in i + 1..n {
                v[i] -= l[[k, i]] * v[k];
            }
            v[i] /= l[[i, i]];
        }
        return Some(v);
    }
    None
}

/// A fit and the loss's Hessian at its last refresh (see [`solve_path`]).
pub struct Solved {
    pub fit: Linear,
    hessian: Array2<f64>,
}

/// Fits one α from `warm` (or the intercept-only model).
pub fn solve(
    x: ArrayView2<f64>,
    y: &[f64],
    c: &[f64],
    alpha: f64,
    warm: Option<&Linear>,
) -> Result<Linear, String> {
    Ok(solve_from(x, y, c, alpha, warm, None)?.fit)
}

/// Fits each α in turn, each started from the previous fit and its Hessian:
/// along a regularization path the loss's Hessian changes little, so most
/// iterations reuse it and cost one gradient pass instead of a Hessian product.
pub fn solve_path(
    x: ArrayView2<f64>,
    y: &[f64],
    c: &[f64],
    alphas: &[f64],
) -> Result<Vec<Linear>, String> {
    let mut out: Vec<Linear> = Vec::with_capacity(alphas.len());
    let mut hessian = None;
    for &alpha in alphas {
        let s = solve_from(x, y, c, alpha, out.last(), hessian.take())?;
        hessian = Some(s.hessian);
        out.push(s.fit);
    }
    Ok(out)
}

/// Newton's method where the Hessian is refreshed only when it stops
/// paying: after a step that cut the largest gradient component by less
/// than 4x, or when a step with an old Hessian fails the line search.
/// Reusing it changes the path, not the optimum (the gradient test decides).
fn solve_from(
    x: ArrayView2<f64>,
    y: &[f64],
    c: &[f64],
    alpha: f64,
    warm: Option<&Linear>,
    hessian: Option<Array2<f64>>,
) -> Result<Solved, String> {
    let d = x.ncols();
    // The passes read rows as slices.
    let owned;
    let rows = if x.is_standard_layout() {
        x.view()
    } else {
        owned = x.as_standard_layout().into_owned();
        owned.view()
    };
    let p = Problem {
        x: rows,
        y,
        c,
        alpha,
    };
    let total: f64 = c.iter().sum();
    let (mut w, mut b) = match warm {
        Some(l) if l.w.len() == d => (Array1::from(l.w.clone()), l.b),
        _ => {
            // Start at the intercept-only optimum: the weighted base rate's logit.
            let py = y.iter().zip(c).map(|(y, c)| y * c).sum::<f64>() / total;
            (Array1::zeros(d), (py / (1.0 - py)).ln())
        }
    };
    let mut z = p.margins(&w, b);
    let (mut f, mut g) = p.evaluate(&z, &w);
    let (mut h, mut fresh) = match hessian {
        Some(h) if h.nrows() == d + 1 => (h, false),
        _ => (p.hessian(&z), true),
    };
    let done = |w: &Array1<f64>, b: f64, h: Array2<f64>| Solved {
        fit: Linear { w: w.to_vec(), b },
        hessian: h,
    };
    let max_abs = |g: &Array1<f64>| g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        if max_abs(&g) <= TOLERANCE * total {
            return Ok(done(&w, b, h));
        }
        iterations += 1;
        let step = cholesky_solve(&p.penalized(&h), &g).ok_or(
            "logistic regression failed: the Hessian is singular (a feature has no variance?)",
        )?;
        let decrease = g.dot(&step);
        if fresh && decrease <= FLAT * total {
            return Ok(done(&w, b, h));
        }
        let mut t = 1.0;
        let accepted = loop {
            let w_new = &w - &(t * &step.slice(s![..d]));
            let b_new = b - t * step[d];
            let z_new = p.margins(&w_new, b_new);
            let (f_new, g_new) = p.evaluate(&z_new, &w_new);
            if decrease > 0.0 && f_new <= f - 1e-4 * t * decrease {
                break Some((w_new, b_new, z_new, f_new, g_new));
            }
            if !fresh || t < 1e-10 {
                break None;
            }
            t *= 0.5;
        };
        match accepted {
            Some((w_new, b_new, z_new, f_new, g_new)) => {
                let slow = max_abs(&g_new) > 0.25 * max_abs(&g);
                (w, b, z, f, g) = (w_new, b_new, z_new, f_new, g_new);
                if slow {
                    h = p.hessian(&z);
                    fresh = true;
                } else {
                    fresh = false;
                }
            }
            // An old Hessian's step failed: refresh it and try again.
            None if !fresh => {
                h = p.hessian(&z);
                fresh = true;
            }
            // At the optimum rounding leaves f flat: no decrease is possible.
            None => return Ok(done(&w, b, h)),
        }
    }
    Ok(done(&w, b, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use linfa::DatasetBase;
    use linfa::traits::Fit;
    use linfa_logistic::LogisticRegression;
    use ndarray::Array2;

    fn data(n: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
        let mut rng = Rng::new(seed);
        let x = Array2::from_shape_fn((n, d), |_| rng.normal());
        let beta: Vec<f64> = (0..d).map(|j| (j as f64 - 1.5) * 0.6).collect();
        let y = x
            .rows()
            .into_iter()
            .map(|r| {
                let z: f64 = -0.7 + r.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
                rng.f64() < super::super::model::sigmoid(z)
            })
            .collect();
        (x, y)
    }

    /// The same optimum as linfa-logistic (L-BFGS, tight tolerance), the
    /// library this solver replaced, on the same objective.
    #[test]
    fn agrees_with_linfa_logistic() {
        let (x, y) = data(3000, 5, 11);
        for alpha in [0.01, 1.0, 100.0] {
            let ours = super::super::model::fit(x.view(), &y, alpha, 1, None).unwrap();
            let m = LogisticRegression::default()
                .alpha(alpha)
                .max_iterations(2000)
                .gradient_tolerance(1e-9)
                .fit(&DatasetBase::new(x.view(), Array1::from(y.clone())))
                .unwrap();
            // linfa's probability is of its "positive" class, the more frequent one.
            let sign = if m.labels().pos.class { 1.0 } else { -1.0 };
            for (a, b) in ours.w.iter().zip(m.params()) {
                assert!(
                    (a - sign * b).abs() < 1e-4,
                    "alpha {alpha}: {a} vs {}",
                    sign * b
                );
            }
            assert!((ours.b - sign * m.intercept()).abs() < 1e-4);
        }
    }

    /// Class weight c on the rarer class is the same objective as
    /// repeating its rows c times.
    #[test]
    fn weights_equal_repeated_rows() {
        let (x, y) = data(800, 3, 5);
        let weighted = super::super::model::fit(x.view(), &y, 1.0, 3, None).unwrap();
        let minority = y.iter().filter(|&&v| v).count() * 2 <= y.len();
        let mut rows: Vec<usize> = (0..y.len()).collect();
        for _ in 0..2 {
            rows.extend((0..y.len()).filter(|&i| y[i] == minority));
        }
        let xr = x.select(ndarray::Axis(0), &rows);
        let yr: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
        let repeated = super::super::model::fit(xr.view(), &yr, 1.0, 1, None).unwrap();
        for (a, b) in weighted.w.iter().zip(&repeated.w) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn separable_data_stays_finite_under_l2() {
        let x = ndarray::array![[-2.0], [-1.0], [1.0], [2.0]];
        let y = [false, false, true, true];
        let m = super::super::model::fit(x.view(), &y, 0.1, 1, None).unwrap();
        assert!(m.w[0].is_finite() && m.w[0] > 1.0, "{:?}", m);
        let warm = super::super::model::fit(x.view(), &y, 0.1, 1, Some(&m)).unwrap();
        assert!((warm.w[0] - m.w[0]).abs() < 1e-9);
    }
}
