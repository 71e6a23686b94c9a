//! Index-parallel work on scoped threads, results in index order (so the
//! output never depends on the thread count or scheduling).

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `f` over `0..n` on up to `threads` threads; results in index order.
pub fn map<T: Send, F: Fn(usize) -> T + Sync>(n: usize, threads: usize, f: F) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = f(i);
                    out.lock().expect("no panics while holding the lock")[i] = Some(r);
                }
            });
        }
    });
    out.into_inner()
        .expect("no panics while holding the lock")
        .into_iter()
        .map(|r| r.expect("every index ran"))
        .collect()
}

/// Runs `f` over consecutive ranges that cover `0..n` (a few per core, at
/// least 1,024 items each) on every core; results in range order, so their
/// concatenation does not depend on the thread count.
pub fn map_ranges<T: Send, F: Fn(Range<usize>) -> T + Sync>(n: usize, f: F) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let per = n.div_ceil(threads * 4).max(1024);
    map(n.div_ceil(per), threads, |k| {
        f(k * per..((k + 1) * per).min(n))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_index_order_for_any_thread_count() {
        for threads in [1, 2, 5, 64] {
            assert_eq!(
                super::map(10, threads, |i| i * i),
                (0..10).map(|i| i * i).collect::<Vec<_>>()
            );
        }
        assert!(super::map(0, 3, |i| i).is_empty());
    }

    #[test]
    fn ranges_cover_every_index_once_in_order() {
        for n in [0, 1, 1023, 1024, 1025, 50_000] {
            let covered: Vec<usize> = super::map_ranges(n, |r| r.collect::<Vec<_>>()).concat();
            assert_eq!(covered, (0..n).collect::<Vec<_>>());
        }
    }
}
