//! `--fairness`: a group the model under-serves. For tablet users the
//! purchase no longer follows behaviour: each converts with probability
//! [`TABLET_RATE`] on its own random stream, whatever it browsed (its
//! purchase event is removed, or one is added at the end of its last
//! session). A model trained on everyone learns the checkout funnel, so
//! tablet buyers, who mostly skip it, get low scores: a lower TPR and an
//! AUC near 0.5 in that group, which the fairness section should show.

use serde::Serialize;

use super::{Device, Event, Item, Page, UserTruth};
use crate::rng::Rng;

pub const TABLET_RATE: f64 = 0.2;

pub fn plant(rng: &mut Rng, user: &mut UserTruth, events: &mut Vec<Event>) {
    if user.device != Device::Tablet {
        return;
    }
    let converts = rng.bernoulli(TABLET_RATE);
    if user.converted && !converts {
        events.retain(|e| e.name != "purchase");
    } else if !user.converted
        && converts
        && let Some(last) = events.last().copied()
    {
        events.push(Event {
            ts: last.ts + 30_000,
            session: last.session,
            name: "purchase",
            page: Page::Static("/order/confirmation"),
            item: Item::None,
            amount: None,
        });
    }
    user.converted = converts;
    user.p_convert = TABLET_RATE;
}

/// `<out>.fairness-truth.json`.
#[derive(Debug, Serialize)]
pub struct Truth {
    pub column: &'static str,
    pub group: &'static str,
    pub conversion_rate: f64,
    pub note: &'static str,
}

pub fn truth() -> Truth {
    Truth {
        column: "device",
        group: "tablet",
        conversion_rate: TABLET_RATE,
        note: "tablet users convert independently of behaviour: the model under-serves them (lower TPR, AUC near 0.5)",
    }
}
