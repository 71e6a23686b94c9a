//! `generate --scenario saas --retention`: a planted retention curve on top
//! of the saas journeys. Each user, in its own random stream, comes back
//! with a `return_visit` event in rolling week N after its first event
//! (N = 1..=WEEKS) with probability `RATES[N]`, independently, at a uniform
//! time within that week. No other event is named `return_visit`, so
//! `journeymap retention --return-event return_visit --clock rolling
//! --interval week` measures exactly this curve; the truth file holds it.

use serde::Serialize;

use super::{Event, Item, Page};
use crate::rng::Rng;

pub const WEEK_MS: i64 = 7 * 86_400_000;
pub const WEEKS: usize = 8;
pub const EVENT: &str = "return_visit";

/// The planted probability of a return in rolling week N (N = 0: the
/// user's own first week, where none is planted).
pub fn rate(n: usize) -> f64 {
    if n == 0 || n > WEEKS {
        0.0
    } else {
        0.1 + 0.5 * 0.75f64.powi(n as i32 - 1)
    }
}

/// Adds the planted returns to one user's events (kept in time order).
pub(crate) fn plant(rng: &mut Rng, events: &mut Vec<Event>) {
    let Some(first) = events.first().map(|e| e.ts) else {
        return;
    };
    let mut session = events.iter().map(|e| e.session).max().unwrap_or(0);
    for n in 1..=WEEKS {
        if rng.bernoulli(rate(n)) {
            session += 1;
            events.push(Event {
                ts: first + n as i64 * WEEK_MS + rng.below(WEEK_MS as u64) as i64,
                session,
                name: EVENT,
                page: Page::Static("/"),
                item: Item::None,
                amount: None,
            });
        }
    }
    events.sort_by_key(|e| e.ts);
}

#[derive(Debug, Serialize)]
pub(crate) struct Truth {
    pub return_event: &'static str,
    pub interval: &'static str,
    pub clock: &'static str,
    /// rates[N]: the planted probability of a return in rolling week N.
    pub rates: Vec<f64>,
    pub command: &'static str,
}

pub(crate) fn truth() -> Truth {
    Truth {
        return_event: EVENT,
        interval: "week",
        clock: "rolling",
        rates: (0..=WEEKS).map(rate).collect(),
        command: "journeymap retention FILE --return-event return_visit --clock rolling --interval week --intervals 9",
    }
}
