//! Exact duplicate rows: the same user, event, timestamp, session and
//! properties as an earlier row. Exports that were retried or concatenated
//! twice carry them; they are counted always and dropped on request.

use super::EventTable;

/// Marks every row that repeats an earlier row (`true`); the first copy
/// stays unmarked. The table is ordered by (user, timestamp), so copies
/// lie in the same run of equal (user, timestamp).
pub fn mark(t: &EventTable) -> (Vec<bool>, u64) {
    let n = t.len();
    let mut dup = vec![false; n];
    let mut count = 0;
    let same = |a: usize, b: usize| {
        t.event[a] == t.event[b]
            && (t.session.is_empty() || t.session[a] == t.session[b])
            && t.props.iter().all(|p| p.codes[a] == p.codes[b])
    };
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && t.user[end] == t.user[start] && t.ts[end] == t.ts[start] {
            end += 1;
        }
        for i in start + 1..end {
            if (start..i).any(|j| !dup[j] && same(i, j)) {
                dup[i] = true;
                count += 1;
            }
        }
        start = end;
    }
    (dup, count)
}

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
        let (dup, n) = mark(&t);
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
}
