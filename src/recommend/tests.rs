//! The recommendation kernels against brute-force references.

use super::config::{ModelKind, Window};
use super::eval::{leave_last_out, time_split};
use super::interactions::{Build, History, Interactions};
use super::lists::{Cascade, Source};
use super::models::{self, Gram, Ranked, Scored, Scorer, Train, UNSCORED};
use crate::ingest::{EventTable, Interner, PropColumn};
use crate::rng::Rng;

/// A table from (user, ts, event, item) rows, users in id order.
fn table(rows: &[(&str, i64, &str, &str)]) -> EventTable {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    let mut t = EventTable::default();
    let mut items = Interner::with_null();
    let mut codes = Vec::new();
    for (u, ts, e, i) in &rows {
        t.user.push(t.user_names.intern(u));
        t.event.push(t.event_names.intern(e));
        t.ts.push(*ts);
        codes.push(if i.is_empty() { 0 } else { items.intern(i) });
    }
    t.props.push(PropColumn {
        name: "item".into(),
        values: items,
        codes,
    });
    t
}

fn inter(
    t: &EventTable,
    weights: Option<&std::collections::BTreeMap<String, f64>>,
) -> Interactions {
    Interactions::build(
        t,
        &Build {
            item_column: "item",
            weights,
            eval_events: None,
            fallback_by: &[],
            user_ranges: &t.user_ranges(),
            sessions: &[],
        },
    )
    .unwrap()
}

#[test]
fn item_ids_follow_names_whatever_the_row_order() {
    let a = table(&[
        ("u1", 1, "view", "z"),
        ("u1", 2, "view", "a"),
        ("u2", 3, "view", "m"),
    ]);
    let b = table(&[
        ("u2", 3, "view", "m"),
        ("u1", 2, "view", "a"),
        ("u1", 1, "view", "z"),
    ]);
    let (ia, ib) = (inter(&a, None), inter(&b, None));
    assert_eq!(ia.item_names, vec!["a", "m", "z"]);
    assert_eq!(ia.item_names, ib.item_names);
    assert_eq!(ia.rows, ib.rows);
}

#[test]
fn uncounted_events_and_empty_items_are_not_interactions() {
    let t = table(&[
        ("u1", 1, "home", ""),
        ("u1", 2, "view", "a"),
        ("u1", 3, "view", ""),
        ("u1", 4, "share", "b"),
    ]);
    let w: std::collections::BTreeMap<String, f64> = [("view".to_string(), 2.0)].into();
    let i = inter(&t, Some(&w));
    assert_eq!(i.item_names, vec!["a"]);
    assert_eq!(i.rows.len(), 1);
    assert_eq!(i.rows[0].weight, 2.0);
    assert_eq!(i.empty_items, 1);
}

#[test]
fn leave_last_out_holds_out_the_last_run_of_one_item() {
    // u1: a, b, then view/cart/buy of c: c is the target, history a, b.
    // u2: a, c, a: a is the target and was seen before.
    // u3: one item only: a cold target.
    let t = table(&[
        ("u1", 1, "view", "a"),
        ("u1", 2, "view", "b"),
        ("u1", 3, "view", "c"),
        ("u1", 4, "cart", "c"),
        ("u1", 5, "buy", "c"),
        ("u2", 1, "view", "a"),
        ("u2", 2, "view", "c"),
        ("u2", 3, "view", "a"),
        ("u3", 1, "view", "b"),
    ]);
    let i = inter(&t, None);
    let ends: Vec<usize> = i.users.iter().map(|u| u.range.end).collect();
    let s = leave_last_out(&i, &ends);
    assert_eq!(s.targets, vec![vec![2], vec![0], vec![1]]);
    assert_eq!(s.ends, vec![2, 7, 8]);
    assert_eq!(s.seen_targets, 1);
    let s = time_split(&i, 3, true);
    // u1 after t=3: c (new); u2 after: a (seen before, dropped); u3: none.
    assert_eq!(s.targets, vec![vec![2], vec![], vec![]]);
    assert_eq!(s.seen_targets, 1);
}

#[test]
fn cooc_counts_each_ordered_pair_once_per_user_within_the_window() {
    let t = table(&[
        ("u1", 0, "view", "a"),
        ("u1", 10, "view", "b"),
        ("u1", 20, "view", "a"),
        ("u1", 30, "view", "b"),
        ("u2", 0, "view", "a"),
        ("u2", 1000, "view", "b"),
    ]);
    let i = inter(&t, None);
    let tr = Train::all(&i, None);
    let base = models::base(&tr);
    let c = models::fit_cooc(&tr, Window::Span(100), &base.popularity.item_users);
    // u1 has a→b and b→a once each; u2's pair is outside 100 ms.
    let n = (2.0f64 * 2.0).sqrt();
    assert!((c.get(0, 1) - 1.0 / n).abs() < 1e-12);
    assert!((c.get(1, 0) - 1.0 / n).abs() < 1e-12);
    let wide = models::fit_cooc(&tr, Window::Span(10_000), &base.popularity.item_users);
    assert!((wide.get(0, 1) - 2.0 / n).abs() < 1e-12);
    assert!((wide.get(1, 0) - 1.0 / n).abs() < 1e-12);
    let m = models::fit_markov(&tr);
    // Transitions: u1 a→b, b→a, a→b; u2 a→b.
    assert!((m.get(0, 1) - 1.0).abs() < 1e-12);
    assert!((m.get(1, 0) - 1.0).abs() < 1e-12);
}

/// A random table of `users` users over `items` items.
fn random_table(seed: u64, users: usize, items: usize) -> EventTable {
    let mut rng = Rng::new(seed);
    let names: Vec<String> = (0..items).map(|i| format!("i{i:03}")).collect();
    let uids: Vec<String> = (0..users).map(|u| format!("u{u:03}")).collect();
    let mut rows = Vec::new();
    for u in &uids {
        let n = rng.range(1, 12);
        let mut ts = 0;
        for _ in 0..n {
            ts += rng.range(1, 1000) as i64;
            let i = rng.below(items as u64) as usize;
            rows.push((
                u.as_str(),
                ts,
                if rng.bernoulli(0.2) { "buy" } else { "view" },
                names[i].as_str(),
            ));
        }
    }
    table(&rows)
}

#[test]
fn ease_matches_the_dense_formula() {
    let t = random_table(3, 60, 12);
    let i = inter(&t, None);
    let tr = Train::all(&i, None);
    let base = models::base(&tr);
    let g = Gram::from_histories(&base.histories, &base.popularity.item_users, 100);
    let n = g.items.len();
    // XᵀX by the definition.
    let mut x = vec![0.0; base.histories.len() * n];
    for (u, h) in base.histories.iter().enumerate() {
        for &(it, w) in &h.items {
            x[u * n + g.index[it as usize] as usize] = w;
        }
    }
    for a in 0..n {
        for b in 0..n {
            let want: f64 = (0..base.histories.len())
                .map(|u| x[u * n + a] * x[u * n + b])
                .sum();
            assert!((g.g[a * n + b] - want).abs() < 1e-9);
        }
    }
    let ease = g.solve(7.0).unwrap();
    let mut a = g.g.clone();
    for d in 0..n {
        a[d * n + d] += 7.0;
    }
    let p = super::linalg::spd_inverse(&a, n).unwrap();
    for r in 0..n {
        assert_eq!(ease.b[r * n + r], 0.0);
        for c in 0..n {
            if r != c {
                assert!((ease.b[r * n + c] + p[r * n + c] / p[c * n + c]).abs() < 1e-12);
            }
        }
    }
    // The cap keeps the most frequent items.
    let small = Gram::from_histories(&base.histories, &base.popularity.item_users, 3);
    assert_eq!(small.items.len(), 3);
    let mut by_users: Vec<u64> = base.popularity.item_users.clone();
    by_users.sort_unstable_by(|a, b| b.cmp(a));
    assert!(
        small
            .items
            .iter()
            .all(|&it| base.popularity.item_users[it as usize] >= by_users[2])
    );
}

/// The full ranking the cascade promises, by sorting every item.
fn brute_order(h: &History, s: &Scored, fb: &Ranked, exclude: bool) -> Vec<u32> {
    let mut all: Vec<u32> = (0..s.tier.len() as u32)
        .filter(|&i| !(exclude && h.contains(i)))
        .collect();
    all.sort_by(|&a, &b| {
        let key = |i: u32| {
            let t = s.tier[i as usize];
            if t == UNSCORED {
                (u8::MAX, 0.0, fb.pos[i as usize])
            } else {
                (t, -s.score[i as usize], i)
            }
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.cmp(&kb.2))
    });
    all
}

#[test]
fn rank_and_list_agree_with_sorting_the_whole_catalog() {
    let t = random_table(5, 80, 25);
    let i = inter(&t, None);
    let tr = Train::all(&i, None);
    let base = models::base(&tr);
    let cooc = models::fit_cooc(&tr, Window::Span(5_000), &base.popularity.item_users);
    let g = Gram::from_histories(&base.histories, &base.popularity.item_users, 10);
    let scorers = [
        (ModelKind::Cooc, Scorer::Cooc(cooc.clone())),
        (ModelKind::Markov, Scorer::Markov(models::fit_markov(&tr))),
        (
            ModelKind::Ease,
            Scorer::Ease(Box::new(g.solve(3.0).unwrap()), cooc),
        ),
        (ModelKind::Popularity, Scorer::Popularity),
    ];
    let n = i.n_items();
    let mut scored = Scored::new(n);
    let mut dense = Vec::new();
    let mut fast = 0;
    for (kind, scorer) in &scorers {
        for exclude in [true, false] {
            let c = Cascade {
                model: *kind,
                k: 7,
                min_history: 1,
                floor: 0.0,
                exclude_seen: exclude,
            };
            for (u, h) in base.histories.iter().enumerate() {
                c.score(scorer, h, &mut scored);
                let fb = &base.popularity.global;
                let order = brute_order(h, &scored, fb, exclude);
                for item in 0..n as u32 {
                    let want = order.iter().position(|&x| x == item).map(|p| p as u64 + 1);
                    assert_eq!(
                        c.rank(h, &scored, fb, item),
                        want,
                        "{kind:?} user {u} item {item}"
                    );
                }
                let list = c.list(scorer, h, &scored, (fb, Source::Global));
                let want: Vec<u32> = order
                    .iter()
                    .copied()
                    .filter(|&x| scored.tier[x as usize] != UNSCORED || fb.score[x as usize] > 0.0)
                    .take(7)
                    .collect();
                let got: Vec<u32> = list.iter().map(|e| e.item).collect();
                assert_eq!(got, want, "{kind:?} user {u}");
                if let Some(quick) = c.ease_list(scorer, h, &mut dense) {
                    fast += 1;
                    assert_eq!(quick.len(), list.len(), "{kind:?} user {u}");
                    for (a, b) in quick.iter().zip(&list) {
                        assert_eq!(
                            (a.item, a.score.to_bits(), a.source, a.because),
                            (b.item, b.score.to_bits(), b.source, b.because),
                            "{kind:?} user {u}"
                        );
                    }
                }
                for e in &list {
                    assert_eq!(
                        e.source.is_fallback(),
                        scored.tier[e.item as usize] == UNSCORED
                    );
                }
            }
        }
    }
    // EASE's own items filled the list for some users (the fast path was
    // exercised) but not all (so was the general one).
    assert!(fast > 0 && fast < 2 * base.histories.len(), "{fast}");
}

#[test]
fn a_model_run_is_the_same_on_any_thread_count() {
    let t = random_table(9, 120, 30);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let i = inter(&t, None);
            let tr = Train::all(&i, Some(500));
            let base = models::base(&tr);
            let g = Gram::from_histories(&base.histories, &base.popularity.item_users, 20);
            let e = g.solve(2.0).unwrap();
            let c = models::fit_cooc(&tr, Window::Session, &base.popularity.item_users);
            (e.b, c.rows, base.popularity.global.order)
        })
    };
    assert_eq!(run(1), run(3));
}
