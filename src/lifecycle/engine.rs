//! The lifecycle kernel: per interval, how many active users are new,
//! returning or resurrecting, and how many went dormant (PostHog's
//! `lifecycle_query_runner.py` algorithm), plus the state transitions
//! between consecutive intervals. Pure: a user is its sorted unique
//! active buckets and its creation bucket.

/// The four states, in this order everywhere.
pub const STATES: [&str; 4] = ["new", "returning", "resurrecting", "dormant"];
pub const NEW: usize = 0;
pub const RETURNING: usize = 1;
pub const RESURRECTING: usize = 2;
pub const DORMANT: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// The first and last buckets reported.
    pub first: i64,
    pub last: i64,
    /// Per bucket first..=last: users per state (dormant counted positive
    /// here; the report negates it as PostHog does).
    pub counts: Vec<[u64; 4]>,
    /// transitions[from][to] between consecutive buckets, per user from its
    /// first active bucket on (an inactive bucket after activity is dormant).
    pub transitions: [[u64; 4]; 4],
}

impl Lifecycle {
    pub fn new(first: i64, last: i64) -> Lifecycle {
        Lifecycle {
            first,
            last,
            counts: vec![[0; 4]; (last - first + 1).max(0) as usize],
            transitions: [[0; 4]; 4],
        }
    }

    pub fn merge(&mut self, o: &Lifecycle) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            for s in 0..4 {
                a[s] += b[s];
            }
        }
        for f in 0..4 {
            for t in 0..4 {
                self.transitions[f][t] += o.transitions[f][t];
            }
        }
    }

    fn count(&mut self, bucket: i64, state: usize) {
        if bucket >= self.first && bucket <= self.last {
            self.counts[(bucket - self.first) as usize][state] += 1;
        }
    }

    /// One user: `active` sorted unique buckets, `created` its creation
    /// bucket (≤ the first active one).
    pub fn add_user(&mut self, active: &[i64], created: i64) {
        let Some(&first_active) = active.first() else {
            return;
        };
        let mut state_of = Vec::with_capacity(active.len());
        for (k, &a) in active.iter().enumerate() {
            let previous = if k == 0 { created } else { active[k - 1] };
            let state = if previous == a {
                NEW
            } else if k > 0 && a - 1 == previous {
                RETURNING
            } else {
                RESURRECTING
            };
            self.count(a, state);
            state_of.push(state);
            if active.get(k + 1) != Some(&(a + 1)) {
                self.count(a + 1, DORMANT);
            }
        }
        // Transitions over the buckets from the first activity to the end.
        let mut k = 0;
        let mut prev = state_of[0];
        for b in (first_active + 1)..=self.last {
            while k < active.len() && active[k] < b {
                k += 1;
            }
            let now = if active.get(k) == Some(&b) {
                state_of[k]
            } else {
                DORMANT
            };
            self.transitions[prev][now] += 1;
            prev = now;
        }
    }
}

/// Row-normalized transition probabilities; `None` for a state never left.
pub fn probabilities(t: &[[u64; 4]; 4]) -> [Option<[f64; 4]>; 4] {
    let mut out = [None; 4];
    for (f, row) in t.iter().enumerate() {
        let n: u64 = row.iter().sum();
        if n > 0 {
            let mut p = [0.0; 4];
            for (x, &c) in p.iter_mut().zip(row) {
                *x = c as f64 / n as f64;
            }
            out[f] = Some(p);
        }
    }
    out
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None`
/// when singular.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    for c in 0..N {
        let p = (c..N).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        let pivot = a[c];
        for r in 0..N {
            if r != c {
                let f = a[r][c] / pivot[c];
                for (x, y) in a[r].iter_mut().zip(&pivot).skip(c) {
                    *x -= f * y;
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut x = [0.0; N];
    for i in 0..N {
        x[i] = b[i] / a[i][i];
    }
    Some(x)
}

/// The long-run mix of states: π with πP = π, Σπ = 1. A state never
/// entered nor left (new, in a run without newcomers after the first
/// interval) has π = 0; one entered but never left is kept where it is.
/// `None` when the chain has no unique mix.
pub fn stationary(t: &[[u64; 4]; 4]) -> Option<[f64; 4]> {
    let p = probabilities(t);
    let inflow = |s: usize| (0..4).any(|f| f != s && t[f][s] > 0);
    let present: Vec<bool> = (0..4).map(|s| p[s].is_some() || inflow(s)).collect();
    // Balance rows (Pᵀ − I) π = 0 for present states, π_s = 0 for absent ones.
    let mut a = [[0.0; 4]; 4];
    for (from, row) in p.iter().enumerate() {
        let row = row.unwrap_or_else(|| {
            let mut stay = [0.0; 4];
            stay[from] = 1.0;
            stay
        });
        for to in 0..4 {
            a[to][from] += row[to];
        }
    }
    for (i, r) in a.iter_mut().enumerate() {
        r[i] -= 1.0;
        if !present[i] {
            *r = [0.0; 4];
            r[i] = 1.0;
        }
    }
    let last = (0..4).rev().find(|&s| present[s])?;
    a[last] = [1.0; 4];
    let mut b = [0.0; 4];
    b[last] = 1.0;
    let x = solve(a, b)?;
    x.iter().all(|v| *v > -1e-9).then(|| x.map(|v| v.max(0.0)))
}

/// Expected intervals until dormant from new, returning and resurrecting
/// (dormant absorbing): `t = (I − Q)⁻¹ 1`; `None` for a state never seen
/// left, or where dormancy is not certain to come.
pub fn until_dormant(t: &[[u64; 4]; 4]) -> [Option<f64>; 3] {
    let p = probabilities(t);
    let mut a = [[0.0; 3]; 3];
    for i in 0..3 {
        // A state never left: leaves the system (its answer is withheld).
        let row = p[i].unwrap_or([0.0, 0.0, 0.0, 1.0]);
        for j in 0..3 {
            a[i][j] = f64::from(u8::from(i == j)) - row[j];
        }
    }
    let Some(x) = solve(a, [1.0; 3]) else {
        return [None; 3];
    };
    let mut out = [None; 3];
    for i in 0..3 {
        if p[i].is_some() && x[i].is_finite() && x[i] > 0.0 {
            out[i] = Some(x[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // PostHog posthog/hogql_queries/insights/trends/test/
    // test_lifecycle_query_runner.py::test_lifecycle_query_group_0: one
    // actor active on Jan 9, 11, 12, 13, 15, 17, 18, 19, created Jan 9, range
    // Jan 9-19 by day: new [9] = 1, returning [12, 13, 18, 19] = 4,
    // resurrecting [11, 15, 17] = 3, dormant [10, 14, 16] = -3.
    #[test]
    fn posthog_lifecycle_group_0() {
        let mut l = Lifecycle::new(9, 19);
        l.add_user(&[9, 11, 12, 13, 15, 17, 18, 19], 9);
        let days = |s: usize| -> Vec<i64> {
            (9..=19)
                .filter(|&d| l.counts[(d - 9) as usize][s] > 0)
                .collect()
        };
        assert_eq!(days(NEW), [9]);
        assert_eq!(days(RETURNING), [12, 13, 18, 19]);
        assert_eq!(days(RESURRECTING), [11, 15, 17]);
        assert_eq!(days(DORMANT), [10, 14, 16]);
    }

    #[test]
    fn created_before_the_first_activity_is_resurrecting() {
        let mut l = Lifecycle::new(0, 3);
        l.add_user(&[2, 3], 0);
        assert_eq!(l.counts[2], [0, 0, 1, 0]);
        assert_eq!(l.counts[3], [0, 1, 0, 0]);
    }

    /// Active users per bucket equal new + returning + resurrecting, and
    /// every dormant count follows an active bucket.
    #[test]
    fn counts_add_up_to_the_active_users() {
        let mut seed = 3u64;
        let mut next = move |k: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % k
        };
        let mut l = Lifecycle::new(0, 20);
        let mut active_per = [0u64; 21];
        let mut dormant_per = [0u64; 21];
        for _ in 0..200 {
            let mut a: Vec<i64> = (0..1 + next(8)).map(|_| next(21) as i64).collect();
            a.sort();
            a.dedup();
            for &b in &a {
                active_per[b as usize] += 1;
                if !a.contains(&(b + 1)) && b < 20 {
                    dormant_per[b as usize + 1] += 1;
                }
            }
            l.add_user(&a, a[0]);
        }
        for b in 0..21 {
            let c = l.counts[b];
            assert_eq!(c[NEW] + c[RETURNING] + c[RESURRECTING], active_per[b]);
            assert_eq!(c[DORMANT], dormant_per[b]);
        }
        let pi = stationary(&l.transitions).unwrap();
        assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(pi[NEW].abs() < 1e-9, "new is never entered: {pi:?}");
    }

    #[test]
    fn a_two_state_chain_has_the_textbook_answers() {
        // returning → returning 0.5, → dormant 0.5; dormant → resurrecting
        // 0.25, stays 0.75; resurrecting → returning 1.
        let mut t = [[0u64; 4]; 4];
        t[RETURNING][RETURNING] = 50;
        t[RETURNING][DORMANT] = 50;
        t[DORMANT][DORMANT] = 75;
        t[DORMANT][RESURRECTING] = 25;
        t[RESURRECTING][RETURNING] = 10;
        let pi = stationary(&t).unwrap();
        // π_ret = 0.5π_ret + π_res; π_res = 0.25π_dor; π_dor = 0.5π_ret + 0.75π_dor.
        // → π_ret = 2π_res, π_dor = 4π_res: (2, 1, 4)/7.
        assert!((pi[RETURNING] - 2.0 / 7.0).abs() < 1e-12);
        assert!((pi[RESURRECTING] - 1.0 / 7.0).abs() < 1e-12);
        assert!((pi[DORMANT] - 4.0 / 7.0).abs() < 1e-12);
        let d = until_dormant(&t);
        // From returning: geometric with p = 0.5 → 2; resurrecting: 1 + 2;
        // new was never seen.
        assert!((d[RETURNING].unwrap() - 2.0).abs() < 1e-12);
        assert!((d[RESURRECTING].unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(d[NEW], None);
    }
}
