//! Seeded, stratified splits keyed by the user: each user's place comes from
//! a seeded hash of their id, so the hold-out and the folds do not depend on
//! the order of the rows in the export (a shuffled export gives the same
//! split), and a user keeps their side when other users come and go. Each
//! class is split on its own, so the hold-out and every fold keep the base
//! rate.

pub use crate::rng::user_key;

/// The rows of each class in key order (ties, which need equal ids, by row).
fn classes(y: &[bool], keys: &[u64]) -> [Vec<usize>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    for (i, &b) in y.iter().enumerate() {
        out[usize::from(b)].push(i);
    }
    for c in &mut out {
        c.sort_by_key(|&i| (keys[i], i));
    }
    out
}

/// `true` for the rows in the hold-out: round(frac · n) of each class, the
/// users with the smallest keys under `seed`.
pub fn holdout(y: &[bool], ids: &[&str], frac: f64, seed: u64) -> Vec<bool> {
    let keys: Vec<u64> = ids.iter().map(|id| user_key(id, seed)).collect();
    let mut out = vec![false; y.len()];
    for class in classes(y, &keys) {
        let take = (frac * class.len() as f64).round() as usize;
        for &i in &class[..take.min(class.len())] {
            out[i] = true;
        }
    }
    out
}

/// The fold (0..k) of each row: each class in key order, dealt round-robin.
pub fn folds(y: &[bool], ids: &[&str], k: usize, seed: u64) -> Vec<usize> {
    let keys: Vec<u64> = ids
        .iter()
        .map(|id| user_key(id, seed ^ 0x5EED_F01D))
        .collect();
    let mut out = vec![0; y.len()];
    let mut next = 0;
    for class in classes(y, &keys) {
        for &i in &class {
            out[i] = next % k;
            next += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keep_the_base_rate_and_follow_the_ids_not_the_rows() {
        let n = 1000;
        let ids: Vec<String> = (0..n).map(|i| format!("user{i}")).collect();
        let y: Vec<bool> = (0..n).map(|i| i % 4 == 0).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let h = holdout(&y, &refs, 0.2, 7);
        assert_eq!(h.iter().filter(|&&b| b).count(), 200);
        assert_eq!((0..n).filter(|&i| h[i] && y[i]).count(), 50);
        let f = folds(&y, &refs, 5, 7);
        for k in 0..5 {
            assert_eq!(f.iter().filter(|&&x| x == k).count(), 200);
        }
        // The same users in reverse order land on the same sides.
        let rev_ids: Vec<&str> = refs.iter().rev().copied().collect();
        let rev_y: Vec<bool> = y.iter().rev().copied().collect();
        let hr = holdout(&rev_y, &rev_ids, 0.2, 7);
        let fr = folds(&rev_y, &rev_ids, 5, 7);
        for i in 0..n {
            assert_eq!(h[i], hr[n - 1 - i]);
            assert_eq!(f[i], fr[n - 1 - i]);
        }
        assert_ne!(h, holdout(&y, &refs, 0.2, 8), "the seed matters");
    }
}
