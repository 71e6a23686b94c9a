//! Seeded, stratified splits: each class is shuffled on its own (Fisher–Yates
//! with [`Rng`]) so the hold-out and every fold keep the base rate.

use crate::rng::Rng;

fn shuffled(idx: &mut [usize], rng: &mut Rng) {
    for i in (1..idx.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        idx.swap(i, j);
    }
}

fn classes(y: &[bool]) -> [Vec<usize>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    for (i, &b) in y.iter().enumerate() {
        out[usize::from(b)].push(i);
    }
    out
}

/// `true` for the rows in the hold-out: round(frac · n) of each class.
pub fn holdout(y: &[bool], frac: f64, seed: u64) -> Vec<bool> {
    let mut out = vec![false; y.len()];
    let mut rng = Rng::new(seed);
    for mut class in classes(y) {
        shuffled(&mut class, &mut rng);
        let take = (frac * class.len() as f64).round() as usize;
        for &i in &class[..take.min(class.len())] {
            out[i] = true;
        }
    }
    out
}

/// The fold (0..k) of each row: each class shuffled, then dealt round-robin.
pub fn folds(y: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut out = vec![0; y.len()];
    let mut rng = Rng::new(seed ^ 0x5EED_F01D);
    let mut next = 0;
    for mut class in classes(y) {
        shuffled(&mut class, &mut rng);
        for &i in &class {
            out[i] = next % k;
            next += 1;
        }
    }
    out
}
