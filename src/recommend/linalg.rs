//! The one piece of dense linear algebra EASE needs: the inverse of a
//! symmetric positive-definite matrix, by Cholesky. Written here rather
//! than pulled from a crate because the fast ones (faer) cost more build
//! time than the whole of journeymap's own code, and nalgebra's inverse is
//! an unblocked Gauss–Jordan that streams the matrix once per pivot.
//!
//! Both halves are arranged so the inner loops run over contiguous memory
//! and vectorize: the factorization computes four rows' dot products
//! against one shared row, and the inverse solves `L Lᵀ X = I` for blocks
//! of columns side by side (the blocks are independent, so rayon runs them
//! in parallel; each column's arithmetic is the same whatever the thread
//! count, so the result is too).

use rayon::prelude::*;

/// The matrix was not positive definite: pivot `row` was not above zero.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the matrix is not positive definite (pivot {row} is {pivot})")]
pub struct NotPositiveDefinite {
    pub row: usize,
    pub pivot: f64,
}

/// The inverse of the symmetric positive-definite `n × n` matrix `a`
/// (row-major; only its lower triangle is read).
pub fn spd_inverse(a: &[f64], n: usize) -> Result<Vec<f64>, NotPositiveDefinite> {
    assert_eq!(a.len(), n * n, "matrix of {n}×{n} expected");
    let l = cholesky(a, n)?;
    Ok(inverse_from_cholesky(&l, n))
}

/// Four dot products of `rows` against the shared `x`, over `x.len()`
/// elements, in lanes of four (so the compiler emits SIMD code).
#[inline]
fn dot4(rows: [&[f64]; 4], x: &[f64]) -> [f64; 4] {
    let m = x.len();
    let mut acc = [[0.0f64; 4]; 4];
    let whole = m / 4 * 4;
    for k in (0..whole).step_by(4) {
        let xs = &x[k..k + 4];
        for (r, row) in rows.iter().enumerate() {
            let rs = &row[k..k + 4];
            for l in 0..4 {
                acc[r][l] += rs[l] * xs[l];
            }
        }
    }
    let mut out = [0.0; 4];
    for r in 0..4 {
        let mut s = (acc[r][0] + acc[r][1]) + (acc[r][2] + acc[r][3]);
        for k in whole..m {
            s += rows[r][k] * x[k];
        }
        out[r] = s;
    }
    out
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let whole = a.len() / 4 * 4;
    for k in (0..whole).step_by(4) {
        for l in 0..4 {
            acc[l] += a[k + l] * b[k + l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for k in whole..a.len() {
        s += a[k] * b[k];
    }
    s
}

/// Whether the wide build of the kernels may run. The kernels never use
/// FMA and never reassociate, so both builds give the same bits; AVX2 only
/// makes each vector twice as wide as the SSE2 baseline.
#[cfg(target_arch = "x86_64")]
pub fn wide() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// The lower Cholesky factor `L` (`a = L Lᵀ`), row-major, zeros above.
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>, NotPositiveDefinite> {
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: the CPU has AVX2, the only feature the function adds.
        return unsafe { cholesky_avx2(a, n) };
    }
    cholesky_generic(a, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn cholesky_avx2(a: &[f64], n: usize) -> Result<Vec<f64>, NotPositiveDefinite> {
    cholesky_generic(a, n)
}

#[inline(always)]
fn cholesky_generic(a: &[f64], n: usize) -> Result<Vec<f64>, NotPositiveDefinite> {
    let mut l = vec![0.0f64; n * n];
    let mut i0 = 0;
    while i0 < n {
        let rows = (n - i0).min(4);
        // Columns left of the block: four rows against each earlier row.
        for j in 0..i0 {
            let (done, rest) = l.split_at_mut(i0 * n);
            let lj = &done[j * n..j * n + j];
            let ljj = done[j * n + j];
            let d = if rows == 4 {
                dot4(
                    [
                        &rest[..j],
                        &rest[n..n + j],
                        &rest[2 * n..2 * n + j],
                        &rest[3 * n..3 * n + j],
                    ],
                    lj,
                )
            } else {
                let mut d = [0.0; 4];
                for (r, v) in d.iter_mut().enumerate().take(rows) {
                    *v = dot(&rest[r * n..r * n + j], lj);
                }
                d
            };
            for (r, dr) in d.iter().enumerate().take(rows) {
                let i = i0 + r;
                rest[r * n + j] = (a[i * n + j] - dr) / ljj;
            }
        }
        // The block's own triangle.
        for r in 0..rows {
            let i = i0 + r;
            for j in i0..=i {
                let s = a[i * n + j] - dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
                if i == j {
                    if s <= 0.0 || !s.is_finite() {
                        return Err(NotPositiveDefinite { row: i, pivot: s });
                    }
                    l[i * n + i] = s.sqrt();
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        i0 += rows;
    }
    Ok(l)
}

/// Columns solved side by side: wide enough for SIMD over the block, small
/// enough that the block (n × 32 values) stays in cache.
const BLOCK: usize = 32;

/// `(L Lᵀ)⁻¹` from the Cholesky factor, row-major.
pub fn inverse_from_cholesky(l: &[f64], n: usize) -> Vec<f64> {
    let mut p = vec![0.0f64; n * n];
    // The inverse is symmetric, so block b's columns are also its rows.
    p.par_chunks_mut(BLOCK * n.max(1))
        .enumerate()
        .for_each(|(b, out)| {
            solve_block(l, n, b * BLOCK, out);
        });
    p
}

/// Columns `c0..c0 + w` of the inverse into `out` (w rows of n).
fn solve_block(l: &[f64], n: usize, c0: usize, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: the CPU has AVX2, the only feature the function adds.
        return unsafe { solve_block_avx2(l, n, c0, out) };
    }
    solve_block_generic(l, n, c0, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn solve_block_avx2(l: &[f64], n: usize, c0: usize, out: &mut [f64]) {
    solve_block_generic(l, n, c0, out)
}

#[inline(always)]
fn solve_block_generic(l: &[f64], n: usize, c0: usize, out: &mut [f64]) {
    let w = (n - c0).min(BLOCK);
    // Rows of a fixed BLOCK width (columns past n stay zero: their right
    // side is zero), so the inner loops have a length the compiler knows.
    let mut y = vec![[0.0f64; BLOCK]; n];
    for c in 0..w {
        y[c0 + c][c] = 1.0;
    }
    // Forward: L y = e (rows above c0 stay zero).
    for i in c0..n {
        let (before, row) = y.split_at_mut(i);
        let yi = &mut row[0];
        for k in c0..i {
            let lik = l[i * n + k];
            if lik != 0.0 {
                for (a, b) in yi.iter_mut().zip(&before[k]) {
                    *a -= lik * b;
                }
            }
        }
        let d = l[i * n + i];
        for a in yi.iter_mut() {
            *a /= d;
        }
    }
    // Backward: Lᵀ x = y, in place.
    for i in (0..n).rev() {
        let d = l[i * n + i];
        let (before, row) = y.split_at_mut(i);
        let xi = &mut row[0];
        for a in xi.iter_mut() {
            *a /= d;
        }
        for k in 0..i {
            let lik = l[i * n + k];
            if lik != 0.0 {
                for (a, b) in before[k].iter_mut().zip(xi.iter()) {
                    *a -= lik * b;
                }
            }
        }
    }
    for c in 0..w {
        for i in 0..n {
            out[c * n + i] = y[i][c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Gauss–Jordan with partial pivoting: slow, obvious, the reference.
    fn gauss_jordan(a: &[f64], n: usize) -> Vec<f64> {
        let mut m: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let mut r = a[i * n..i * n + n].to_vec();
                r.extend((0..n).map(|j| f64::from(u8::from(i == j))));
                r
            })
            .collect();
        for c in 0..n {
            let p = (c..n)
                .max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))
                .unwrap();
            m.swap(c, p);
            let d = m[c][c];
            for v in m[c].iter_mut() {
                *v /= d;
            }
            for r in 0..n {
                if r != c {
                    let f = m[r][c];
                    let pivot = m[c].clone();
                    for (v, q) in m[r].iter_mut().zip(&pivot) {
                        *v -= f * q;
                    }
                }
            }
        }
        m.into_iter().flat_map(|r| r[n..].to_vec()).collect()
    }

    fn random_spd(rng: &mut Rng, n: usize) -> Vec<f64> {
        // XᵀX + λI with a sparse 0/1 X, as EASE builds it.
        let users = 3 * n + 5;
        let x: Vec<f64> = (0..users * n)
            .map(|_| f64::from(u8::from(rng.bernoulli(0.2))))
            .collect();
        let mut g = vec![0.0; n * n];
        for u in 0..users {
            for i in 0..n {
                for j in 0..n {
                    g[i * n + j] += x[u * n + i] * x[u * n + j];
                }
            }
        }
        for i in 0..n {
            g[i * n + i] += 0.5 + rng.f64();
        }
        g
    }

    #[test]
    fn matches_gauss_jordan_on_every_size_around_the_blocks() {
        let mut rng = Rng::new(7);
        for n in [1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 65, 70] {
            let a = random_spd(&mut rng, n);
            let got = spd_inverse(&a, n).unwrap();
            let want = gauss_jordan(&a, n);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "n={n}: {g} vs {w}");
            }
            // Symmetric to the last bit is not promised; to rounding it is.
            for i in 0..n {
                for j in 0..n {
                    assert!((got[i * n + j] - got[j * n + i]).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn refuses_a_matrix_that_is_not_positive_definite() {
        let a = [1.0, 2.0, 2.0, 1.0];
        let e = spd_inverse(&a, 2).unwrap_err();
        assert_eq!(e.row, 1);
        assert!(spd_inverse(&[0.0], 1).is_err());
        assert!(spd_inverse(&[f64::NAN], 1).is_err());
    }

    #[test]
    fn empty_matrix_has_an_empty_inverse() {
        assert!(spd_inverse(&[], 0).unwrap().is_empty());
    }
}
