//! The absorbing Markov chain: conversion probabilities and removal effects,
//! computed exactly by Gaussian elimination (no simulation).
//!
//! States are indexed `0 = START`, `1..n-2` the transient states, `n-2 =
//! CONVERSION` and `n-1 = EXIT` (both absorbing). The input is the matrix of
//! transition counts; probabilities are the counts divided by their row total.

/// Conversion probability and removal effect of every state of a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Absorption {
    /// P(reach CONVERSION | in state i), for every state (1 for CONVERSION,
    /// 0 for EXIT and for states that can never be absorbed).
    pub p: Vec<f64>,
    /// Removal effect of each state (0 for START, CONVERSION and EXIT): the
    /// relative drop of P(CONVERSION | START) when every transition into the
    /// state is sent to EXIT instead.
    pub removal: Vec<f64>,
}

/// Solves the absorbing chain given by `counts` (n×n, row-major, n ≥ 2).
///
/// With Q the transient-to-transient probabilities and r the probabilities
/// into CONVERSION, the conversion probabilities solve (I − Q) p = r. States
/// from which no absorbing state can be reached (a closed loop, or a row with
/// no transitions) make I − Q singular; they are taken out of the system and
/// get p = 0, as do transitions into them.
///
/// Removal effects use the fundamental matrix N = (I − Q)⁻¹, solved in the
/// same elimination: a path converts either without ever entering c, or
/// enters c (probability h_c = N[START,c] / N[c,c]) and converts from there
/// (p_c). Sending the transitions into c to EXIT keeps exactly the first
/// kind, so p'_START = p_START − h_c·p_c and RE_c = 1 − p'_START / p_START =
/// h_c·p_c / p_START. This is the same number as re-solving the chain once
/// per removed state (a test checks it), in O(n³) in all instead of O(n⁴).
pub fn absorb(counts: &[u64], n: usize) -> Absorption {
    assert!(n >= 2 && counts.len() == n * n, "bad chain shape");
    let conv = n - 2;
    let exit = n - 1;
    let transient = n - 2;
    let row_total: Vec<u64> = (0..n)
        .map(|i| counts[i * n..(i + 1) * n].iter().sum())
        .collect();

    // Live states: those from which CONVERSION or EXIT can be reached.
    let mut live = vec![false; transient];
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..transient {
            if live[i] {
                continue;
            }
            let row = &counts[i * n..(i + 1) * n];
            let reaches =
                row[conv] > 0 || row[exit] > 0 || (0..transient).any(|j| live[j] && row[j] > 0);
            if reaches {
                live[i] = true;
                changed = true;
            }
        }
    }
    let idx: Vec<usize> = (0..transient).filter(|&i| live[i]).collect();
    let l = idx.len();

    let mut p = vec![0.0; n];
    p[conv] = 1.0;
    let mut removal = vec![0.0; n];
    if l == 0 {
        return Absorption { p, removal };
    }

    // A = I − Q over the live states; B = [r | I].
    let mut a = vec![0.0; l * l];
    let m = l + 1;
    let mut b = vec![0.0; l * m];
    for (ri, &i) in idx.iter().enumerate() {
        let total = row_total[i] as f64;
        for (ci, &j) in idx.iter().enumerate() {
            a[ri * l + ci] = -(counts[i * n + j] as f64) / total;
        }
        a[ri * l + ri] += 1.0;
        b[ri * m] = counts[i * n + conv] as f64 / total;
        b[ri * m + 1 + ri] = 1.0;
    }
    let Some(x) = solve(&mut a, &mut b, l, m) else {
        // Cannot happen once dead states are out (I − Q is then a
        // non-singular M-matrix); keep p = 0 rather than report NaN.
        return Absorption { p, removal };
    };
    for (ri, &i) in idx.iter().enumerate() {
        p[i] = x[ri * m].clamp(0.0, 1.0);
    }
    // START is state 0; it is live whenever any session was counted.
    if live[0] && p[0] > 0.0 {
        let s = 0; // START's row in the live system
        for (ci, &c) in idx.iter().enumerate().skip(1) {
            let n_sc = x[s * m + 1 + ci];
            let n_cc = x[ci * m + 1 + ci];
            let hit = (n_sc / n_cc).clamp(0.0, 1.0);
            removal[c] = (hit * p[c] / p[0]).clamp(0.0, 1.0);
        }
    }
    Absorption { p, removal }
}

/// Solves A X = B in place by Gaussian elimination with partial pivoting;
/// A is l×l and B is l×m, both row-major. Returns X (l×m), or None when A is
/// singular.
pub fn solve(a: &mut [f64], b: &mut [f64], l: usize, m: usize) -> Option<Vec<f64>> {
    for k in 0..l {
        let pivot = (k..l).max_by(|&i, &j| a[i * l + k].abs().total_cmp(&a[j * l + k].abs()))?;
        let pv = a[pivot * l + k];
        if !pv.is_finite() || pv.abs() < 1e-300 {
            return None;
        }
        if pivot != k {
            for c in 0..l {
                a.swap(pivot * l + c, k * l + c);
            }
            for c in 0..m {
                b.swap(pivot * m + c, k * m + c);
            }
        }
        let (top, rest) = a.split_at_mut((k + 1) * l);
        let krow = &top[k * l..];
        let (btop, brest) = b.split_at_mut((k + 1) * m);
        let bk = &btop[k * m..];
        for (arow, brow) in rest.chunks_exact_mut(l).zip(brest.chunks_exact_mut(m)) {
            let f = arow[k] / pv;
            if f == 0.0 {
                continue;
            }
            for (x, y) in arow[k..].iter_mut().zip(&krow[k..]) {
                *x -= f * y;
            }
            for (x, y) in brow.iter_mut().zip(bk) {
                *x -= f * y;
            }
        }
    }
    // Back substitution, row by row from the bottom.
    // B is overwritten with X, row by row from the bottom.
    for k in (0..l).rev() {
        let (head, solved) = b.split_at_mut((k + 1) * m);
        let row = &mut head[k * m..];
        for j in k + 1..l {
            let f = a[k * l + j];
            if f != 0.0 {
                for (x, y) in row.iter_mut().zip(&solved[(j - k - 1) * m..(j - k) * m]) {
                    *x -= f * y;
                }
            }
        }
        let d = a[k * l + k];
        for x in row.iter_mut() {
            *x /= d;
        }
    }
    b.iter().all(|v| v.is_finite()).then(|| b.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an n×n count matrix from (from, to, count) triples.
    fn chain(n: usize, edges: &[(usize, usize, u64)]) -> Vec<u64> {
        let mut c = vec![0; n * n];
        for &(i, j, k) in edges {
            c[i * n + j] += k;
        }
        c
    }

    const S: usize = 0;

    #[test]
    fn conversion_probabilities_match_a_hand_solved_chain() {
        // States: START=0, A=1, B=2, CONVERSION=3, EXIT=4.
        //   START → A 6, START → B 4
        //   A → A 2, A → B 3, A → CONV 3, A → EXIT 2      (row total 10)
        //   B → A 1, B → CONV 1, B → EXIT 2               (row total 4)
        // By hand:
        //   p_A = 0.2 p_A + 0.3 p_B + 0.3   ⇒  p_A = 0.375 p_B + 0.375
        //   p_B = 0.25 p_A + 0.25
        //   ⇒ p_B (1 − 0.09375) = 0.34375  ⇒  p_B = 11/29, p_A = 15/29
        //   p_START = 0.6·15/29 + 0.4·11/29 = 67/145
        // Removing A (B → A goes to EXIT): p'_B = 0.25, p'_START = 0.4·0.25
        //   = 0.1, RE_A = 1 − 0.1/(67/145) = 105/134.
        // Removing B (A → B goes to EXIT): p'_A = 0.3/0.8 = 0.375,
        //   p'_START = 0.6·0.375 = 0.225, RE_B = 1 − 0.225·145/67 = 275/536.
        let (a, b, conv, exit) = (1, 2, 3, 4);
        let counts = chain(
            5,
            &[
                (S, a, 6),
                (S, b, 4),
                (a, a, 2),
                (a, b, 3),
                (a, conv, 3),
                (a, exit, 2),
                (b, a, 1),
                (b, conv, 1),
                (b, exit, 2),
            ],
        );
        let r = absorb(&counts, 5);
        let want = [67.0 / 145.0, 15.0 / 29.0, 11.0 / 29.0, 1.0, 0.0];
        for (got, want) in r.p.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{:?} vs {want}", r.p);
        }
        let want_re = [0.0, 105.0 / 134.0, 275.0 / 536.0, 0.0, 0.0];
        for (got, want) in r.removal.iter().zip(want_re) {
            assert!((got - want).abs() < 1e-12, "{:?}", r.removal);
        }
    }

    #[test]
    fn removal_effects_equal_re_solving_without_the_state() {
        // A denser chain with loops: compare the fundamental-matrix shortcut
        // with the definition (send every transition into c to EXIT, solve).
        let n = 7;
        let mut counts = vec![0u64; n * n];
        let mut x = 12345u64;
        for i in 0..n - 2 {
            for j in 1..n {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                counts[i * n + j] = (x >> 59) + u64::from(j >= n - 2);
            }
        }
        let base = absorb(&counts, n);
        for c in 1..n - 2 {
            let mut cut = counts.clone();
            for i in 0..n {
                let moved = cut[i * n + c];
                cut[i * n + c] = 0;
                cut[i * n + n - 1] += moved;
            }
            let p_start = absorb(&cut, n).p[S];
            let re = 1.0 - p_start / base.p[S];
            assert!(
                (base.removal[c] - re).abs() < 1e-12,
                "state {c}: {} vs {re}",
                base.removal[c]
            );
        }
    }

    #[test]
    fn states_that_never_absorb_get_zero_not_nan() {
        // START=0, A=1, B=2, C=3, CONV=4, EXIT=5: A ⇄ B is a closed loop.
        let counts = chain(6, &[(S, 1, 1), (1, 2, 1), (2, 1, 1), (S, 3, 1), (3, 4, 1)]);
        let r = absorb(&counts, 6);
        assert_eq!(r.p, vec![0.5, 0.0, 0.0, 1.0, 1.0, 0.0]);
        assert!(r.removal.iter().all(|v| v.is_finite()));
        assert_eq!(r.removal[3], 1.0);
        // No sessions at all.
        let r = absorb(&[0; 9], 3);
        assert_eq!(r.p, vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn solve_pivots() {
        // [[0, 1], [2, 3]] x = [1, 8]: needs a row swap; x = [2.5, 1].
        let mut a = vec![0.0, 1.0, 2.0, 3.0];
        let mut b = vec![1.0, 8.0];
        assert_eq!(solve(&mut a, &mut b, 2, 1).unwrap(), vec![2.5, 1.0]);
        let mut a = vec![1.0, 2.0, 2.0, 4.0];
        let mut b = vec![1.0, 2.0];
        assert!(solve(&mut a, &mut b, 2, 1).is_none());
    }
}
