//! Index-parallel work on rayon's pool, results in index order (so the
//! output never depends on the thread count or scheduling). One pool runs
//! the analyses side by side and the loops inside each of them, so cores
//! are shared instead of oversubscribed.

use std::ops::Range;

use rayon::prelude::*;

/// Runs `f` over `0..n` in parallel; results in index order.
pub fn map<T: Send, F: Fn(usize) -> T + Sync + Send>(n: usize, f: F) -> Vec<T> {
    (0..n).into_par_iter().map(f).collect()
}

/// Runs `f` over consecutive ranges that cover `0..n` (a few per core, at
/// least 1,024 items each); results in range order, so their concatenation
/// does not depend on the thread count.
pub fn map_ranges<T: Send, F: Fn(Range<usize>) -> T + Sync + Send>(n: usize, f: F) -> Vec<T> {
    let threads = rayon::current_num_threads();
    let per = n.div_ceil(threads * 4).max(1024);
    map(n.div_ceil(per), |k| f(k * per..((k + 1) * per).min(n)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_index_order() {
        assert_eq!(
            super::map(10, |i| i * i),
            (0..10).map(|i| i * i).collect::<Vec<_>>()
        );
        assert!(super::map(0, |i| i).is_empty());
    }

    #[test]
    fn ranges_cover_every_index_once_in_order() {
        for n in [0, 1, 1023, 1024, 1025, 50_000] {
            let covered: Vec<usize> = super::map_ranges(n, |r| r.collect::<Vec<_>>()).concat();
            assert_eq!(covered, (0..n).collect::<Vec<_>>());
        }
    }
}
