//! Funnel semantics: hand cases per mode and edge, cases transcribed from
//! PostHog's and ClickHouse's funnel test suites, and a brute-force reference.

use proptest::prelude::*;

use super::engine::{EXCLUDE_BIT, Mode, Scratch, Spec, evaluate};

const S: i64 = 1000;
const DAY: i64 = 86_400 * S;

/// Events as (seconds, mask) with masks written as step numbers (1-based) and 'x' for exclusion.
fn unit(events: &[(i64, &str)]) -> (Vec<i64>, Vec<u32>) {
    let ts = events.iter().map(|e| e.0 * S).collect();
    let mask = events
        .iter()
        .map(|e| {
            e.1.chars().fold(0u32, |m, c| match c {
                'x' => m | EXCLUDE_BIT,
                '-' => m,
                d => m | 1 << (d.to_digit(10).expect("step digit") - 1),
            })
        })
        .collect();
    (ts, mask)
}

fn level(events: &[(i64, &str)], steps: usize, window_s: Option<i64>, mode: Mode) -> (usize, bool) {
    let (ts, mask) = unit(events);
    let spec = Spec {
        steps,
        window: window_s.map(|w| w * S),
        mode,
    };
    let o = evaluate(&ts, &mask, &spec, &mut Scratch::default());
    (o.level, o.excluded)
}

const ORD: Mode = Mode::Ordered;

#[test]
fn window_end_is_inclusive() {
    assert_eq!(level(&[(0, "1"), (60, "2")], 2, Some(60), ORD), (2, false));
    assert_eq!(level(&[(0, "1"), (61, "2")], 2, Some(60), ORD), (1, false));
}

#[test]
fn every_step_one_is_tried_and_the_best_attempt_counts() {
    // First start times out; the second start converts.
    assert_eq!(
        level(
            &[(0, "1"), (100, "1"), (150, "2"), (160, "3")],
            3,
            Some(60),
            ORD
        ),
        (3, false)
    );
    // Mixpanel's first-only rule would give 1 here; ours gives the best attempt.
    assert_eq!(
        level(
            &[(0, "1"), (30 * 60, "1"), (85 * 60, "2")],
            2,
            Some(3600),
            ORD
        ),
        (2, false)
    );
}

#[test]
fn one_event_satisfies_at_most_one_step() {
    // Steps signup, signup: one signup reaches step 1 only (PostHog repeat-step case).
    assert_eq!(level(&[(0, "12")], 2, Some(60), ORD), (1, false));
    assert_eq!(level(&[(0, "12"), (5, "12")], 2, Some(60), ORD), (2, false));
}

#[test]
fn equal_timestamps_keep_export_order() {
    assert_eq!(level(&[(0, "1"), (0, "2")], 2, Some(60), ORD), (2, false));
    assert_eq!(level(&[(0, "2"), (0, "1")], 2, Some(60), ORD), (1, false));
    assert_eq!(
        level(&[(0, "1"), (0, "2")], 2, Some(0), Mode::Strict),
        (2, false)
    );
}

#[test]
fn strict_mode_allows_nothing_between_steps() {
    assert_eq!(
        level(&[(0, "1"), (1, "-"), (2, "2")], 2, Some(60), Mode::Strict),
        (1, false)
    );
    assert_eq!(
        level(
            &[(0, "1"), (1, "-"), (2, "1"), (3, "2")],
            2,
            Some(60),
            Mode::Strict
        ),
        (2, false)
    );
    assert_eq!(
        level(&[(0, "1"), (1, "-"), (2, "2")], 2, Some(60), ORD),
        (2, false)
    );
}

#[test]
fn unordered_counts_distinct_steps_in_any_order() {
    assert_eq!(
        level(
            &[(0, "3"), (1, "1"), (2, "2")],
            3,
            Some(60),
            Mode::Unordered
        ),
        (3, false)
    );
    assert_eq!(
        level(
            &[(0, "3"), (100, "1"), (102, "2")],
            3,
            Some(60),
            Mode::Unordered
        ),
        (2, false)
    );
    // An event matching two steps serves one of them.
    assert_eq!(
        level(&[(0, "12")], 2, Some(60), Mode::Unordered),
        (1, false)
    );
    assert_eq!(
        level(&[(0, "12"), (1, "2")], 2, Some(60), Mode::Unordered),
        (2, false)
    );
}

#[test]
fn exclusions_follow_posthog() {
    // test_funnel_exclusion_no_end_event: window 1 day, exclusion between steps 1 and 2.
    let w = Some(DAY / S);
    assert_eq!(level(&[(3600, "1"), (7200, "2")], 2, w, ORD), (2, false));
    assert_eq!(
        level(&[(0, "1"), (1800, "x"), (3600, "2")], 2, w, ORD),
        (0, true)
    );
    // No end event, exclusion within the window: still excluded.
    assert_eq!(level(&[(0, "1"), (3600, "x")], 2, w, ORD), (0, true));
    // Exclusion outside the window: counted at step 1.
    assert_eq!(
        level(&[(0, "1"), (DAY / S + 3600, "x")], 2, w, ORD),
        (1, false)
    );
    // multiple_possible_no_end_event1/2/3, window 10 s.
    assert_eq!(
        level(&[(0, "1"), (1, "x"), (31, "1")], 2, Some(10), ORD),
        (1, false)
    );
    assert_eq!(
        level(&[(0, "1"), (31, "1"), (32, "x")], 2, Some(10), ORD),
        (1, false)
    );
    assert_eq!(
        level(&[(0, "1"), (1, "1"), (2, "x")], 2, Some(10), ORD),
        (0, true)
    );
    // An exclusion after the last step does not count.
    assert_eq!(
        level(&[(0, "1"), (1, "2"), (2, "x")], 2, Some(10), ORD),
        (2, false)
    );
}

#[test]
fn posthog_repeat_steps_funnel() {
    // test_funnel_with_repeat_steps: 5 signup steps; persons with 5,4,3,2,1 signups → 5/4/3/2/1 per step.
    let counts: Vec<usize> = (1..=5)
        .map(|n| {
            let events: Vec<(i64, &str)> = (0..n).map(|i| (i as i64, "12345")).collect();
            level(&events, 5, Some(14 * DAY / S), ORD).0
        })
        .collect();
    assert_eq!(counts, vec![1, 2, 3, 4, 5]);
}

#[test]
fn clickhouse_00632_basic_chains() {
    // Events 1000..1008 at t = 0..8 (one per second); windowFunnel(window)(cond per step).
    let evs: Vec<i64> = (1000..=1008).collect();
    let run = |window: i64, steps: &[i64]| -> usize {
        let events: Vec<(i64, String)> = evs
            .iter()
            .enumerate()
            .map(|(t, e)| {
                let m: String = steps
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| *s == e)
                    .map(|(k, _)| char::from(b'1' + k as u8))
                    .collect();
                (t as i64, if m.is_empty() { "-".to_string() } else { m })
            })
            .collect();
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        level(&refs, steps.len(), Some(window), ORD).0
    };
    assert_eq!(run(2, &[1003, 1004, 1005, 1006, 1007]), 3);
    assert_eq!(run(3, &[1003, 1004, 1005, 1006, 1007]), 4);
    assert_eq!(run(4, &[1003, 1004, 1005, 1006, 1007]), 5);
    assert_eq!(run(10000, &[1008, 1001]), 1);
    assert_eq!(run(10000, &[1000, 1001, 1002, 1003]), 4);
    // strict_order on A-B-D-C for a,b,c,d: our strict mode stops at the foreign event.
    let abdc = [(0, "1"), (1, "2"), (2, "4"), (3, "3")];
    assert_eq!(level(&abdc, 4, Some(100), Mode::Strict).0, 2);
    assert_eq!(level(&abdc, 4, Some(100), ORD).0, 3);
}

/// Brute force: every increasing (or, for strict, consecutive) sequence of
/// positions from every start; exclusion judged on the earliest complete
/// sequence or, when none, on the whole window.
fn brute(ts: &[i64], mask: &[u32], spec: &Spec) -> (usize, bool) {
    let n = ts.len();
    let k = spec.steps;
    let all = (1u32 << k) - 1;
    let excl = |from: usize, to_incl: usize| {
        (from + 1..=to_incl).any(|q| q < n && mask[q] & EXCLUDE_BIT != 0)
    };
    let mut best = 0;
    let mut entered = false;
    for start in 0..n {
        let opens = match spec.mode {
            Mode::Unordered => mask[start] & all != 0,
            _ => mask[start] & 1 != 0,
        };
        if !opens {
            continue;
        }
        entered = true;
        let limit = spec.window.map_or(i64::MAX, |w| ts[start] + w);
        let in_window: Vec<usize> = (start..n).filter(|&q| ts[q] <= limit).collect();
        let wend = *in_window.last().unwrap_or(&start);
        let (max_level, first_complete) = match spec.mode {
            Mode::Unordered => unordered_brute(mask, &in_window, k),
            _ => ordered_brute(mask, &in_window, start, k, spec.mode == Mode::Strict),
        };
        let excluded = match first_complete {
            Some(last) => excl(start, last.saturating_sub(1)),
            None => excl(start, wend),
        };
        if !excluded {
            best = best.max(max_level);
        }
    }
    (best, entered && best == 0)
}

fn ordered_brute(
    mask: &[u32],
    window: &[usize],
    start: usize,
    k: usize,
    strict: bool,
) -> (usize, Option<usize>) {
    fn go(
        mask: &[u32],
        window: &[usize],
        prev: usize,
        step: usize,
        k: usize,
        strict: bool,
        best: &mut (usize, Option<usize>),
    ) {
        best.0 = best.0.max(step);
        if step == k {
            best.1 = Some(best.1.map_or(prev, |b: usize| b.min(prev)));
            return;
        }
        for &q in window.iter().filter(|&&q| q > prev) {
            if strict && q != prev + 1 {
                continue;
            }
            if mask[q] & (1 << step) != 0 {
                go(mask, window, q, step + 1, k, strict, best);
            }
        }
    }
    let mut best = (0, None);
    go(mask, window, start, 1, k, strict, &mut best);
    best
}

fn unordered_brute(mask: &[u32], window: &[usize], k: usize) -> (usize, Option<usize>) {
    // Try every assignment of steps to distinct events (or to nothing).
    fn go(
        mask: &[u32],
        window: &[usize],
        step: usize,
        k: usize,
        used: &mut Vec<usize>,
        best: &mut (usize, Option<usize>),
    ) {
        if step == k {
            best.0 = best.0.max(used.len());
            if used.len() == k {
                let last = *used.iter().max().unwrap_or(&0);
                best.1 = Some(best.1.map_or(last, |b: usize| b.min(last)));
            }
            return;
        }
        go(mask, window, step + 1, k, used, best);
        for &q in window {
            if mask[q] & (1 << step) != 0 && !used.contains(&q) {
                used.push(q);
                go(mask, window, step + 1, k, used, best);
                used.pop();
            }
        }
    }
    let mut best = (0, None);
    go(mask, window, 0, k, &mut Vec::new(), &mut best);
    best
}

fn stream() -> impl Strategy<Value = (Vec<i64>, Vec<u32>, usize, i64, u8)> {
    (1usize..=4, 0i64..6, 0u8..3).prop_flat_map(|(k, window, mode)| {
        let event = (
            0i64..4,
            prop_oneof![
                3 => (0..k).prop_map(|s| 1u32 << s),
                1 => Just(0u32),
                1 => Just(EXCLUDE_BIT),
                1 => 0u32..(1 << k),
            ],
        );
        proptest::collection::vec(event, 0..9).prop_map(move |evs| {
            let mut t = 0;
            let mut ts = Vec::new();
            let mut mask = Vec::new();
            for (gap, m) in evs {
                t += gap;
                ts.push(t);
                mask.push(m);
            }
            (ts, mask, k, window, mode)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_brute_force((ts, mask, k, window, mode) in stream(), per_session in any::<bool>()) {
        let mode = [Mode::Ordered, Mode::Strict, Mode::Unordered][mode as usize];
        let spec = Spec { steps: k, window: (!per_session).then_some(window), mode };
        let got = evaluate(&ts, &mask, &spec, &mut Scratch::default());
        prop_assert_eq!((got.level, got.excluded), brute(&ts, &mask, &spec));
        prop_assert_eq!(got.pos.len(), got.level);
        prop_assert!(got.pos.windows(2).all(|w| w[0] < w[1]));
    }
}
