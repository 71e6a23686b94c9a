//! Exact duplicate rows: the same user, event, timestamp, session and
//! properties as an earlier row. Exports that were retried or concatenated
//! twice carry them; they are counted always and dropped on request.

use super::EventTable;

/// Marks every row that repeats an earlier row (`true`); the first copy
/// stays unmarked. The table is ordered by (user, timestamp), so copies
/// lie in the same run of equal (user, timestamp).
/// `unread`: per row, the hash of the property columns not read (empty when
/// every column was read); rows with different hashes differ.
pub fn mark(t: &EventTable, unread: &[u64]) -> (Vec<bool>, u64) {
    let n = t.len();
    let mut dup = vec![false; n];
    let mut count = 0;
    let same = |a: usize, b: usize| {
        t.event[a] == t.event[b]
            && (t.session.is_empty() || t.session[a] == t.session[b])
            && t.props.iter().all(|p| p.codes[a] == p.codes[b])
            && (unread.is_empty() || unread[a] == unread[b])
    };
    // Long runs (a day-granular export puts a user's whole day on one
    // timestamp) are hashed, so a run costs O(len), not O(len²).
    let mut by_hash: rustc_hash::FxHashMap<u64, Vec<usize>> = Default::default();
    let hash = |i: usize| {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        t.event[i].hash(&mut h);
        if !t.session.is_empty() {
            t.session[i].hash(&mut h);
        }
        for p in &t.props {
            p.codes[i].hash(&mut h);
        }
        if !unread.is_empty() {
            unread[i].hash(&mut h);
        }
        h.finish()
    };
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && t.user[end] == t.user[start] && t.ts[end] == t.ts[start] {
            end += 1;
        }
        if end - start <= SHORT_RUN {
            for i in start + 1..end {
                if (start..i).any(|j| !dup[j] && same(i, j)) {
                    dup[i] = true;
                    count += 1;
                }
            }
        } else {
            by_hash.clear();
            for (i, d) in dup.iter_mut().enumerate().take(end).skip(start) {
                let firsts = by_hash.entry(hash(i)).or_default();
                if firsts.iter().any(|&j| same(i, j)) {
                    *d = true;
                    count += 1;
                } else {
                    firsts.push(i);
                }
            }
        }
        start = end;
    }
    (dup, count)
}

/// Runs up to this long are compared pairwise.
const SHORT_RUN: usize = 16;

/// The table without the marked rows (order kept).
pub fn drop_marked(t: &mut EventTable, dup: &[bool]) {
    fn keep<T: Copy>(v: &mut Vec<T>, dup: &[bool]) {
        if v.is_empty() {
            return;
        }
        let mut k = 0;
        for i in 0..v.len() {
            if !dup[i] {
                v[k] = v[i];
                k += 1;
            }
        }
        v.truncate(k);
    }
    keep(&mut t.user, dup);
    keep(&mut t.event, dup);
    keep(&mut t.ts, dup);
    keep(&mut t.session, dup);
    for p in &mut t.props {
        keep(&mut p.codes, dup);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Interner;

    fn table(rows: &[(u32, u32, i64)]) -> EventTable {
        let mut t = EventTable {
            user_names: Interner::new(),
            event_names: Interner::new(),
            ..Default::default()
        };
        for &(u, e, ts) in rows {
            t.user.push(u);
            t.event.push(e);
            t.ts.push(ts);
        }
        t
    }

    /// Against the definition: a row is a duplicate iff an earlier row is equal.
    #[test]
    fn marks_later_copies_only() {
        let rows = [
            (0, 1, 5),
            (0, 2, 5),
            (0, 1, 5),
            (0, 1, 6),
            (1, 1, 6),
            (1, 1, 6),
            (1, 1, 6),
        ];
        let t = table(&rows);
        let (dup, n) = mark(&t, &[]);
        let want: Vec<bool> = (0..rows.len())
            .map(|i| rows[..i].contains(&rows[i]))
            .collect();
        assert_eq!(dup, want);
        assert_eq!(n, 3);
        let mut t = t;
        drop_marked(&mut t, &dup);
        assert_eq!(t.len(), 4);
        assert_eq!(t.event, vec![1, 2, 1, 1]);
    }

    /// Long runs take the hashed path; the result is the definition's.
    #[test]
    fn long_runs_of_one_timestamp_match_the_definition() {
        let mut rows = Vec::new();
        let mut x = 1u64;
        for _ in 0..500 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            rows.push(((x >> 62) as u32 % 2, (x >> 40) as u32 % 23, 7));
        }
        rows.sort_by_key(|r| (r.0, r.2));
        let t = table(&rows);
        let (dup, n) = mark(&t, &[]);
        let want: Vec<bool> = (0..rows.len())
            .map(|i| rows[..i].contains(&rows[i]))
            .collect();
        assert_eq!(dup, want);
        assert_eq!(n, want.iter().filter(|&&d| d).count() as u64);
    }
}
