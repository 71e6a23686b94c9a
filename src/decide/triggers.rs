//! Trigger kernels: pure functions of one user's rows and the run date's
//! end `end` (exclusive: the run date 2026-03-01 ends at 2026-03-02T00:00Z).
//! Only rows before `end` count, so a back-test at a past date sees what
//! the nightly job saw that night. Every window is half-open and ends at
//! `end`: the window is `[end − window, end)`, its baseline
//! `[end − window − baseline, end − window)`.
//!
//! `fired_at` is the moment the evidence became complete: the row at which
//! the condition first held within the window (spend_change: the
//! transaction whose running window sum first reached the threshold;
//! level_change and new_category: the `min_count`-th qualifying
//! transaction; sequence: the completing event).

use serde::Serialize;

use super::config::{TriggerConfig, TriggerKind};

const DAY: i64 = 86_400_000;

/// The defaulted parameters of one trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub kind: TriggerKind,
    pub window: i64,
    pub baseline: i64,
    pub ratio: f64,
    pub min_amount: f64,
    pub min_count: u32,
    pub min_history: i64,
    pub first_count: u32,
    pub first_within: i64,
    pub then_within: i64,
}

impl Params {
    pub fn of(t: &TriggerConfig) -> Params {
        let level = t.kind == TriggerKind::LevelChange;
        let baseline = t.baseline.map_or(180 * DAY, |d| d.ms());
        Params {
            kind: t.kind,
            window: t
                .window
                .map_or(if level { 60 * DAY } else { 30 * DAY }, |d| d.ms()),
            baseline,
            ratio: t.ratio.unwrap_or(if level { 1.1 } else { 2.0 }),
            min_amount: t.min_amount.unwrap_or(0.0),
            min_count: t.min_count.unwrap_or(if level { 2 } else { 1 }).max(1),
            min_history: t.min_history.map_or(baseline, |d| d.ms()),
            first_count: t.first_count.unwrap_or(1).max(1),
            first_within: t.first_within.map_or(7 * DAY, |d| d.ms()),
            then_within: t.then_within.map_or(14 * DAY, |d| d.ms()),
        }
    }
}

/// A trigger that fired for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fired {
    pub at: i64,
    /// The figures that fired it, named.
    pub values: Vec<(&'static str, f64)>,
}

/// One user's transactions in time order: (ts, amount, category code).
pub struct Txns<'a> {
    pub ts: &'a [i64],
    pub amount: &'a [f64],
    pub category: &'a [u32],
}

impl Txns<'_> {
    /// Rows before `end`.
    fn until(&self, end: i64) -> usize {
        self.ts.partition_point(|&t| t < end)
    }
}

/// spend_change: the window's spending in `cat` reaches `max(min_amount,
/// ratio × baseline spending scaled to one window)` with at least
/// `min_count` transactions, for a user whose first transaction (any
/// category) lies at least `min_history` before the window.
pub fn spend_change(p: &Params, x: &Txns, cat: u32, end: i64) -> Option<Fired> {
    let n = x.until(end);
    if n == 0 || x.ts[0] > end - p.window - p.min_history {
        return None;
    }
    let w0 = end - p.window;
    let b0 = w0 - p.baseline;
    let (mut base, mut recent, mut count) = (0.0, 0.0, 0u32);
    for i in 0..n {
        if x.category[i] != cat {
            continue;
        }
        if x.ts[i] >= w0 {
            recent += x.amount[i];
            count += 1;
        } else if x.ts[i] >= b0 {
            base += x.amount[i];
        }
    }
    let rate = base * p.window as f64 / p.baseline as f64;
    let threshold = p.min_amount.max(p.ratio * rate);
    if count < p.min_count || recent <= 0.0 || recent < threshold {
        return None;
    }
    let (mut run, mut k) = (0.0, 0u32);
    let mut at = end;
    for i in x.ts[..n].partition_point(|&t| t < w0)..n {
        if x.category[i] == cat {
            run += x.amount[i];
            k += 1;
            if run >= threshold && k >= p.min_count {
                at = x.ts[i];
                break;
            }
        }
    }
    Some(Fired {
        at,
        values: vec![
            ("window_amount", round2(recent)),
            ("window_count", f64::from(count)),
            ("baseline_amount", round2(base)),
            ("baseline_per_window", round2(rate)),
            ("threshold", round2(threshold)),
        ],
    })
}

/// level_change: at least `min_count` amounts of `cat` in the window, every
/// one at least `ratio` × the median of the baseline's amounts (which needs
/// `min_count` amounts too). A one-off bonus does not fire it; a raise does.
/// A `ratio` below 1 detects a fall instead: every amount at most `ratio` ×
/// the median (a pay cut, a move to part-time).
pub fn level_change(p: &Params, x: &Txns, cat: u32, end: i64) -> Option<Fired> {
    let n = x.until(end);
    let w0 = end - p.window;
    let b0 = w0 - p.baseline;
    let mut base: Vec<f64> = Vec::new();
    let mut recent: Vec<(i64, f64)> = Vec::new();
    for i in 0..n {
        if x.category[i] != cat || x.ts[i] < b0 {
            continue;
        }
        if x.ts[i] >= w0 {
            recent.push((x.ts[i], x.amount[i]));
        } else {
            base.push(x.amount[i]);
        }
    }
    let k = p.min_count as usize;
    if recent.len() < k || base.len() < k {
        return None;
    }
    base.sort_by(f64::total_cmp);
    let m = base.len();
    let median = if m % 2 == 1 {
        base[m / 2]
    } else {
        0.5 * (base[m / 2 - 1] + base[m / 2])
    };
    let threshold = p.ratio * median;
    let fall = p.ratio < 1.0;
    let off = |a: f64| if fall { a > threshold } else { a < threshold };
    if median <= 0.0 || recent.iter().any(|r| off(r.1)) {
        return None;
    }
    // The amount nearest the baseline: the lowest of a rise, the highest of a fall.
    let (name, nearest) = if fall {
        let high = recent.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
        ("window_highest", high)
    } else {
        let low = recent.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        ("window_lowest", low)
    };
    Some(Fired {
        at: recent[k - 1].0,
        values: vec![
            ("baseline_median", round2(median)),
            (name, round2(nearest)),
            ("window_count", recent.len() as f64),
            ("change", round4(nearest / median)),
        ],
    })
}

/// new_category: the user's first transaction ever in `cat` lies in the
/// window, at least `min_count` transactions of it follow before `end`, and
/// the user's first transaction of any category is at least `min_history`
/// older than that first one (a new customer is not a life event).
pub fn new_category(p: &Params, x: &Txns, cat: u32, end: i64) -> Option<Fired> {
    let n = x.until(end);
    let first = (0..n).find(|&i| x.category[i] == cat)?;
    let f = x.ts[first];
    if f < end - p.window || x.ts[0] > f - p.min_history {
        return None;
    }
    let mut k = 0u32;
    let mut amount = 0.0;
    let mut at = None;
    for i in first..n {
        if x.category[i] == cat {
            k += 1;
            amount += x.amount[i];
            if k == p.min_count {
                at = Some(x.ts[i]);
            }
        }
    }
    let at = at?;
    Some(Fired {
        at,
        values: vec![
            ("first_at_days_ago", round2((end - f) as f64 / DAY as f64)),
            ("window_count", f64::from(k)),
            ("window_amount", round2(amount)),
            ("history_days", round2((f - x.ts[0]) as f64 / DAY as f64)),
        ],
    })
}

/// sequence: `first_count` `first` events within `first_within`, then a
/// `then` event at most `then_within` after the last of them; the `then`
/// event lies in the window. `first`/`then`: per event of the user in time
/// order, whether it matches. Fires at the earliest qualifying `then`.
pub fn sequence(p: &Params, ts: &[i64], first: &[bool], then: &[bool], end: i64) -> Option<Fired> {
    let n = ts.partition_point(|&t| t < end);
    let w0 = end - p.window;
    let mut firsts: std::collections::VecDeque<i64> = Default::default();
    let mut primed: Option<i64> = None;
    for i in 0..n {
        if first[i] {
            firsts.push_back(ts[i]);
            while ts[i] - firsts[0] > p.first_within {
                firsts.pop_front();
            }
            if firsts.len() >= p.first_count as usize {
                primed = Some(ts[i]);
            }
        }
        if then[i]
            && ts[i] >= w0
            && let Some(pt) = primed
            && ts[i] - pt <= p.then_within
            && !(first[i] && pt == ts[i])
        {
            return Some(Fired {
                at: ts[i],
                values: vec![
                    ("first_count", firsts.len() as f64),
                    (
                        "hours_after_first",
                        round2((ts[i] - pt) as f64 / 3_600_000.0),
                    ),
                ],
            });
        }
    }
    None
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The sentence of a firing, for the reason trail.
pub fn sentence(t: &TriggerConfig, p: &Params, f: &Fired, end: i64) -> String {
    let v = |k: &str| f.values.iter().find(|x| x.0 == k).map_or(0.0, |x| x.1);
    let days = |ms: i64| ms / DAY;
    let date = crate::ingest::timestamp::format_ms(end - 1);
    let date = date.get(..10).unwrap_or(&date);
    let cat = t.category.as_deref().unwrap_or("");
    match p.kind {
        TriggerKind::SpendChange => format!(
            "{} on {cat} in the {} days to {date} ({} transactions), at least {} needed (baseline {} per {} days)",
            money(v("window_amount")),
            days(p.window),
            v("window_count"),
            money(v("threshold")),
            money(v("baseline_per_window")),
            days(p.window),
        ),
        TriggerKind::LevelChange if p.ratio < 1.0 => format!(
            "every {cat} amount in the {} days to {date} is at least {:.0}% below the earlier median of {} (highest {})",
            days(p.window),
            100.0 * (1.0 - p.ratio),
            money(v("baseline_median")),
            money(v("window_highest")),
        ),
        TriggerKind::LevelChange => format!(
            "every {cat} amount in the {} days to {date} is at least {:.0}% above the earlier median of {} (lowest {})",
            days(p.window),
            100.0 * (p.ratio - 1.0),
            money(v("baseline_median")),
            money(v("window_lowest")),
        ),
        TriggerKind::NewCategory => format!(
            "first {cat} transaction ever {} days before {date}, {} since, after {} days as a customer",
            v("first_at_days_ago").floor(),
            v("window_count"),
            v("history_days").floor(),
        ),
        TriggerKind::Sequence => format!(
            "{} {}× within {} days, then {} {:.0} hours later",
            t.first.as_ref().map(|x| x.label()).unwrap_or_default(),
            p.first_count,
            days(p.first_within),
            t.then.as_ref().map(|x| x.label()).unwrap_or_default(),
            v("hours_after_first"),
        ),
    }
}

fn money(x: f64) -> String {
    format!("{x:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kind: TriggerKind) -> Params {
        Params {
            kind,
            window: 30 * DAY,
            baseline: 180 * DAY,
            ratio: 2.0,
            min_amount: 500.0,
            min_count: 2,
            min_history: 180 * DAY,
            first_count: 2,
            first_within: 7 * DAY,
            then_within: 14 * DAY,
        }
    }

    /// Brute force: evaluate the definition directly over every cut-off.
    fn spend_brute(p: &Params, rows: &[(i64, f64, u32)], cat: u32, end: i64) -> bool {
        let all: Vec<_> = rows.iter().filter(|r| r.0 < end).collect();
        if all.is_empty() || all[0].0 > end - p.window - p.min_history {
            return false;
        }
        let inw: Vec<_> = all
            .iter()
            .filter(|r| r.2 == cat && r.0 >= end - p.window)
            .collect();
        let recent: f64 = inw.iter().map(|r| r.1).sum();
        let base: f64 = all
            .iter()
            .filter(|r| r.2 == cat && r.0 < end - p.window && r.0 >= end - p.window - p.baseline)
            .map(|r| r.1)
            .sum();
        let th = p
            .min_amount
            .max(p.ratio * base * p.window as f64 / p.baseline as f64);
        inw.len() as u32 >= p.min_count && recent > 0.0 && recent >= th
    }

    #[test]
    fn spend_change_matches_brute_force_over_random_histories() {
        let mut rng = crate::rng::Rng::new(3);
        for case in 0..300 {
            let p = Params {
                min_amount: [0.0, 100.0, 500.0][case % 3],
                min_count: 1 + (case % 2) as u32,
                ..params(TriggerKind::SpendChange)
            };
            let mut rows: Vec<(i64, f64, u32)> = (0..rng.below(40))
                .map(|_| {
                    (
                        (rng.below(365) as i64) * DAY,
                        (rng.below(40_000) as f64) / 100.0,
                        rng.below(2) as u32,
                    )
                })
                .collect();
            rows.sort_by_key(|a| a.0);
            let ts: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let am: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let ca: Vec<u32> = rows.iter().map(|r| r.2).collect();
            let x = Txns {
                ts: &ts,
                amount: &am,
                category: &ca,
            };
            for end in [200 * DAY, 250 * DAY, 365 * DAY] {
                let got = spend_change(&p, &x, 1, end);
                assert_eq!(got.is_some(), spend_brute(&p, &rows, 1, end), "case {case}");
                if let Some(f) = got {
                    assert!(f.at >= end - p.window && f.at < end);
                }
            }
        }
    }

    #[test]
    fn level_change_ignores_a_bonus_and_fires_on_a_raise() {
        let p = Params {
            window: 60 * DAY,
            ratio: 1.1,
            ..params(TriggerKind::LevelChange)
        };
        let month = |m: i64| m * 30 * DAY + DAY;
        let ts: Vec<i64> = (0..10).map(month).collect();
        let cat = vec![0u32; 10];
        let mut bonus = vec![3000.0; 10];
        bonus[9] = 6000.0;
        let x = Txns {
            ts: &ts,
            amount: &bonus,
            category: &cat,
        };
        assert!(level_change(&p, &x, 0, month(9) + DAY).is_none());
        let mut raise = vec![3000.0; 10];
        raise[8] = 3500.0;
        raise[9] = 3450.0;
        let x = Txns {
            ts: &ts,
            amount: &raise,
            category: &cat,
        };
        let f = level_change(&p, &x, 0, month(9) + DAY).unwrap();
        assert_eq!(f.at, month(9));
        assert_eq!(f.values[0], ("baseline_median", 3000.0));
        // Before the second raised salary the window still holds an old one.
        assert!(level_change(&p, &x, 0, month(8) + DAY).is_none());
        // A ratio below 1 looks for a fall: the raise is not one, a cut is.
        let down = Params {
            ratio: 0.8,
            ..p.clone()
        };
        assert!(level_change(&down, &x, 0, month(9) + DAY).is_none());
        let mut cut = vec![3000.0; 10];
        cut[8] = 2000.0;
        cut[9] = 2400.0;
        let x = Txns {
            ts: &ts,
            amount: &cut,
            category: &cat,
        };
        let f = level_change(&down, &x, 0, month(9) + DAY).unwrap();
        assert_eq!(f.values[1], ("window_highest", 2400.0));
        assert_eq!(f.values[3], ("change", 0.8));
        // 2400 is 0.8 × 3000: on the threshold fires; 2401 is not a fall of 20%.
        cut[9] = 2401.0;
        let x = Txns {
            ts: &ts,
            amount: &cut,
            category: &cat,
        };
        assert!(level_change(&down, &x, 0, month(9) + DAY).is_none());
        assert!(level_change(&p, &x, 0, month(9) + DAY).is_none());
    }

    #[test]
    fn new_category_needs_history_and_count() {
        let p = params(TriggerKind::NewCategory);
        let ts = [0, 100 * DAY, 200 * DAY, 205 * DAY, 206 * DAY];
        let am = [1.0; 5];
        let ca = [0, 0, 1, 1, 1];
        let x = Txns {
            ts: &ts,
            amount: &am,
            category: &ca,
        };
        let f = new_category(&p, &x, 1, 210 * DAY).unwrap();
        assert_eq!(f.at, 205 * DAY);
        assert!(new_category(&p, &x, 1, 203 * DAY).is_none(), "one so far");
        assert!(
            new_category(&p, &x, 1, 240 * DAY).is_none(),
            "first one left the window"
        );
        let young = [150 * DAY, 200 * DAY, 205 * DAY, 206 * DAY, 207 * DAY];
        let x = Txns {
            ts: &young,
            amount: &am,
            category: &ca,
        };
        assert!(
            new_category(&p, &x, 1, 210 * DAY).is_none(),
            "a new customer"
        );
    }

    #[test]
    fn sequence_in_order_and_within_spans() {
        let p = params(TriggerKind::Sequence);
        let h = 3_600_000;
        let ts = [100 * DAY, 103 * DAY, 110 * DAY, 140 * DAY];
        let first = [true, true, false, false];
        let then = [false, false, true, true];
        let f = sequence(&p, &ts, &first, &then, 120 * DAY).unwrap();
        assert_eq!(f.at, 110 * DAY);
        assert_eq!(f.values[1], ("hours_after_first", (7 * 24 * h / h) as f64));
        assert!(sequence(&p, &ts, &first, &then, 105 * DAY).is_none());
        // Firsts 8 days apart are not "twice in a week".
        let ts2 = [100 * DAY, 108 * DAY, 110 * DAY, 140 * DAY];
        assert!(sequence(&p, &ts2, &first, &then, 120 * DAY).is_none());
        // The locator before the calculator does not count.
        let ts3 = [100 * DAY, 101 * DAY, 102 * DAY];
        assert!(
            sequence(
                &p,
                &ts3,
                &[false, true, true],
                &[true, false, false],
                120 * DAY
            )
            .is_none()
        );
    }
}
