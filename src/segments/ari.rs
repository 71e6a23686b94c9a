//! Adjusted Rand index (Hubert & Arabie, 1985) between two labellings of the
//! same items: 1 for identical partitions (up to renaming), about 0 for
//! independent ones. Used to score found segments against planted ones.

use std::collections::BTreeMap;

fn pairs(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// ARI of two equally long labellings (any label types).
pub fn adjusted_rand_index<A: Ord, B: Ord>(a: &[A], b: &[B]) -> f64 {
    assert_eq!(a.len(), b.len(), "labellings of different lengths");
    let n = a.len() as u64;
    let mut table: BTreeMap<(&A, &B), u64> = BTreeMap::new();
    let mut rows: BTreeMap<&A, u64> = BTreeMap::new();
    let mut cols: BTreeMap<&B, u64> = BTreeMap::new();
    for (x, y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let index: f64 = table.values().map(|&c| pairs(c)).sum();
    let sum_a: f64 = rows.values().map(|&c| pairs(c)).sum();
    let sum_b: f64 = cols.values().map(|&c| pairs(c)).sum();
    let total = pairs(n);
    if total == 0.0 {
        return 1.0;
    }
    let expected = sum_a * sum_b / total;
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        // Both partitions trivial (one cluster each, or all singletons).
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_values() {
        // scikit-learn's documented examples.
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        let v = adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]);
        assert!((v - 0.571_428_571_428_571_4).abs() < 1e-12, "{v}");
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((v - 0.571_428_571_428_571_4).abs() < 1e-12, "{v}");
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]);
        assert!((v + 0.5).abs() < 1e-12, "{v}");
        // Hubert & Arabie's contingency example as worked on Wikipedia-style
        // tables: 3 × 3 with n = 10.
        let a = ["x", "x", "x", "y", "y", "y", "z", "z", "z", "z"];
        let b = [1, 1, 2, 2, 2, 3, 3, 3, 3, 1];
        // index = C(2,2)+C(1,2)... computed by hand: pairs within cells
        // (x,1)=2 → 1, (x,2)=1, (y,2)=2 → 1, (y,3)=1, (z,3)=3 → 3, (z,1)=1: 5.
        // rows 3,3,4 → 3+3+6 = 12; cols 3,3,4 → 12; total 45.
        let want = (5.0 - 12.0 * 12.0 / 45.0) / (12.0 - 12.0 * 12.0 / 45.0);
        assert!((adjusted_rand_index(&a, &b) - want).abs() < 1e-12);
    }
}
