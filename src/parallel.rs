//! Index-parallel work on scoped threads, results in index order (so the
//! output never depends on the thread count or scheduling).

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
}
