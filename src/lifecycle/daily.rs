//! retentioneering's daily states (`data_processors/to_daily_states.py`):
//! per user one row per calendar day from its first event to
//! min(last event + `max_dormant_days`, the export's last day). An active
//! day is `new` (no earlier active day), `current` (active within the 7
//! days before: d − 7 ≤ d' < d), `reactivated` (within the 30 days before,
//! not the 7) or `resurrected`; an inactive day is `at_risk_wau` (active
//! within the 7 days before), `at_risk_mau` (within 30) or `dormant`. One
//! difference, on purpose: an inactive day before the user's first active
//! day (possible when only some events count as activity) is `prospect`
//! here, where retentioneering says `dormant` (prospect + dormant gives its
//! count).

pub const STATES: [&str; 8] = [
    "new",
    "current",
    "reactivated",
    "resurrected",
    "at_risk_wau",
    "at_risk_mau",
    "dormant",
    "prospect",
];

/// Per day from `first` on: users per state, in [`STATES`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daily {
    pub first: i64,
    pub counts: Vec<[u64; 8]>,
}

impl Daily {
    pub fn new(first: i64, last: i64) -> Daily {
        Daily {
            first,
            counts: vec![[0; 8]; (last - first + 1).max(0) as usize],
        }
    }

    pub fn merge(&mut self, o: &Daily) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            for s in 0..8 {
                a[s] += b[s];
            }
        }
    }

    /// One user: `active` its sorted unique active days, `seen` its first
    /// and last day with any event, `end` the export's last day.
    pub fn add_user(&mut self, active: &[i64], seen: (i64, i64), end: i64, max_dormant: i64) {
        let stop = seen.1.saturating_add(max_dormant).min(end);
        let mut k = 0; // active[..k] are the active days before d
        for d in seen.0..=stop {
            while k < active.len() && active[k] < d {
                k += 1;
            }
            let today = active.get(k) == Some(&d);
            let last = k.checked_sub(1).map(|i| active[i]);
            let state = match (today, last) {
                (true, None) => 0,
                (true, Some(l)) if l >= d - 7 => 1,
                (true, Some(l)) if l >= d - 30 => 2,
                (true, Some(_)) => 3,
                (false, None) => 7,
                (false, Some(l)) if l >= d - 7 => 4,
                (false, Some(l)) if l >= d - 30 => 5,
                (false, Some(_)) => 6,
            };
            let i = d - self.first;
            if i >= 0 && (i as usize) < self.counts.len() {
                self.counts[i as usize][state] += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(active: &[i64], seen: (i64, i64), end: i64, max_dormant: i64) -> Vec<&'static str> {
        let mut d = Daily::new(seen.0, end);
        d.add_user(active, seen, end, max_dormant);
        d.counts
            .iter()
            .filter_map(|c| c.iter().position(|&n| n > 0).map(|s| STATES[s]))
            .collect()
    }

    // retentioneering's to_daily_states_test.py as wave2-anchors.md §2.3
    // summarizes it: active on Jan 1 and Jan 3 gives new … current (the
    // inactive Jan 2 between them follows from the 7-day rule).
    #[test]
    fn retentioneering_new_then_current() {
        assert_eq!(
            states(&[0, 2], (0, 2), 2, 30),
            ["new", "at_risk_wau", "current"]
        );
    }

    // Same source, test_active_events_filter: login on Jan 1, purchase on
    // Jan 2, only purchase active: Jan 1 is retentioneering's `dormant`, our
    // `prospect`; Jan 2 is new.
    #[test]
    fn activity_filter_gives_a_prospect_day() {
        assert_eq!(states(&[1], (0, 1), 1, 30), ["prospect", "new"]);
    }

    #[test]
    fn the_windows_are_7_and_30_days() {
        // Active on day 0, 8, 40: new, then day 8 is reactivated (8 days
        // after), day 40 resurrected (32 after). Rows run to 40 + 2.
        let s = states(&[0, 8, 40], (0, 40), 42, 30);
        assert_eq!(s[0], "new");
        assert_eq!(s[7], "at_risk_wau");
        assert_eq!(s[8], "reactivated");
        assert_eq!(s[15], "at_risk_wau");
        assert_eq!(s[16], "at_risk_mau");
        assert_eq!(s[38], "at_risk_mau");
        assert_eq!(s[39], "dormant");
        assert_eq!(s[40], "resurrected");
        assert_eq!(s.len(), 43);
    }
}
