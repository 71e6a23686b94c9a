//! Properties of the retention and lifecycle kernels on arbitrary users
//! (issue 15, acceptance 2): every user is in exactly one cohort under
//! `first` and `first-matching`; a cell's returned ≤ eligible ≤ cohort
//! size; a cell is censored (no eligible user) exactly when, by the
//! documented per-user rule, none of its users' intervals is observable;
//! lifecycle counts add up to the active users per interval; the result
//! does not depend on the order users are added in.

use journeymap::lifecycle::engine::{DORMANT, Lifecycle, NEW, RESURRECTING, RETURNING};
use journeymap::retention::clock::{Clock, ClockKind, Unit};
use journeymap::retention::engine::{
    Ev, Matrix, Spec, StartMode, add_user, bracket_columns, on_columns, on_or_after_columns, starts,
};
use proptest::prelude::*;

const HOUR: i64 = 3_600_000;

fn user() -> impl Strategy<Value = Vec<Ev>> {
    prop::collection::vec(
        (
            0i64..60 * 24,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0u32..3,
        ),
        1..15,
    )
    .prop_map(|mut rows| {
        rows.sort_by_key(|r| r.0);
        rows.into_iter()
            .map(|(h, name, props, ret, group)| Ev {
                ts: h * HOUR,
                start_event: name,
                start: name && props,
                ret,
                group,
            })
            .collect()
    })
}

fn spec(unit: u8, rolling: bool, mode: u8, rule: u8, until_h: i64) -> Spec {
    Spec {
        clock: Clock {
            unit: [
                Unit::Day,
                Unit::Week,
                Unit::Month,
                Unit::Fixed(5 * 24 * HOUR),
                Unit::Months(2),
            ][unit as usize],
            kind: if rolling {
                ClockKind::Rolling
            } else {
                ClockKind::Calendar
            },
            zone: journeymap::retention::clock::UTC,
            anchor_ms: 0,
        },
        mode: [
            StartMode::First,
            StartMode::FirstMatching,
            StartMode::Recurring,
        ][mode as usize],
        columns: match rule {
            0 => on_columns(7),
            1 => on_or_after_columns(6),
            _ => bracket_columns("1,2-4,5-12").unwrap(),
        },
        until: until_h * HOUR,
        min_returns: 1,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn retention_cells_are_consistent(
        users in prop::collection::vec(user(), 1..12),
        unit in 0u8..5, rolling in any::<bool>(), mode in 0u8..3, rule in 0u8..3,
        until_h in 0i64..70 * 24, min_returns in 1u32..4,
    ) {
        let s = Spec { min_returns, ..spec(unit, rolling, mode, rule, until_h) };
        let mut m = Matrix::new();
        let mut joined = 0u64;
        for u in &users {
            let n = add_user(u, &s, &mut m);
            if s.mode != StartMode::Recurring {
                prop_assert!(n <= 1);
            }
            joined += n as u64;
        }
        let members: u64 = m.values().map(|a| a.users).sum();
        prop_assert_eq!(members, joined);
        for acc in m.values() {
            for &(e, r) in &acc.cells {
                prop_assert!(r <= e && e <= acc.users);
            }
        }
        // Censored exactly when no member's interval is observable.
        for (key, acc) in &m {
            for (j, col) in s.columns.iter().enumerate() {
                let observable = users.iter().flat_map(|u| starts(u, &s)).filter(|&(st, g)| {
                    (s.clock.bucket(st), g) == *key
                }).any(|(st, _)| match col.to {
                    Some(to) => s.clock.interval_span(st, to).1 <= s.until + 1,
                    None => s.clock.interval_span(st, col.from).0 <= s.until,
                });
                prop_assert_eq!(acc.cells[j].0 == 0, !observable);
            }
        }
        // Order of users does not matter.
        let mut rev = Matrix::new();
        for u in users.iter().rev() {
            add_user(u, &s, &mut rev);
        }
        prop_assert_eq!(&rev, &m);
        // Needing more returns per interval never adds a returned user
        // and never changes who is eligible.
        let mut any = Matrix::new();
        let one = Spec { min_returns: 1, ..spec(unit, rolling, mode, rule, until_h) };
        for u in &users {
            add_user(u, &one, &mut any);
        }
        for (key, acc) in &m {
            for (c, c1) in acc.cells.iter().zip(&any[key].cells) {
                prop_assert!(c.0 == c1.0 && c.1 <= c1.1);
            }
        }
    }

    #[test]
    fn lifecycle_counts_add_up(
        users in prop::collection::vec(prop::collection::btree_set(0i64..30, 1..12), 1..20),
    ) {
        let mut l = Lifecycle::new(0, 29);
        let mut active = [0u64; 30];
        for u in &users {
            let a: Vec<i64> = u.iter().copied().collect();
            for &b in &a {
                active[b as usize] += 1;
            }
            l.add_user(&a, a[0]);
        }
        for b in 0..30 {
            let c = l.counts[b];
            prop_assert_eq!(c[NEW] + c[RETURNING] + c[RESURRECTING], active[b]);
            if b > 0 {
                prop_assert!(c[DORMANT] <= active[b - 1]);
            }
        }
        let new_total: u64 = l.counts.iter().map(|c| c[NEW]).sum();
        prop_assert_eq!(new_total, users.len() as u64);
    }
}
