//! `--drift`: a "current" export with two planted shifts, for checking
//! that drift finds them and nothing else. Each user, on its own random
//! stream: with probability [`TO_SOCIAL`] the acquisition channel becomes
//! `social` (the channel mix moves), and every gap between events inside
//! a session is stretched by [`STRETCH`] (a slower site: session durations
//! move, counts of events, sessions and the event mix do not).

use serde::Serialize;

use super::{Channel, Event, UserTruth};
use crate::rng::Rng;

pub const TO_SOCIAL: f64 = 0.35;
pub const STRETCH: f64 = 1.6;

pub fn plant(rng: &mut Rng, user: &mut UserTruth, events: &mut [Event]) {
    if rng.bernoulli(TO_SOCIAL) {
        user.channel = Channel::Social;
    }
    // Stretch each session around its first event; sessions keep their start.
    let mut start = 0;
    while start < events.len() {
        let mut end = start + 1;
        while end < events.len() && events[end].session == events[start].session {
            end += 1;
        }
        let t0 = events[start].ts;
        for e in &mut events[start + 1..end] {
            e.ts = t0 + ((e.ts - t0) as f64 * STRETCH).round() as i64;
        }
        start = end;
    }
    // A stretched session may now reach into the next one: keep time order.
    for i in 1..events.len() {
        if events[i].ts < events[i - 1].ts {
            events[i].ts = events[i - 1].ts;
        }
    }
}

/// `<out>.drift-truth.json`.
#[derive(Debug, Serialize)]
pub struct Truth {
    pub channel_to_social: f64,
    pub session_gap_stretch: f64,
    /// Columns `journeymap drift` (no model) should flag against an export
    /// of the same scenario without `--drift`.
    pub drifted: Vec<&'static str>,
    pub stable: Vec<&'static str>,
}

pub fn truth() -> Truth {
    Truth {
        channel_to_social: TO_SOCIAL,
        session_gap_stretch: STRETCH,
        drifted: vec!["channel", "duration_s"],
        stable: vec![
            "event",
            "device",
            "page",
            "product_id",
            "events",
            "sessions",
        ],
    }
}
