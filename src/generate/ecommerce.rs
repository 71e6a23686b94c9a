//! E-commerce scenario (conversion event `purchase`).
//!
//! # Planted ground truth
//!
//! Per user, in this draw order: segment, engagement `e ~ N(0,1)`, device,
//! channel (distributions per segment in [`SEGMENTS`]), then
//!
//! ```text
//! p_convert = sigmoid(B0 + B_SEGMENT[segment] + B_E·e + B_DEVICE[device] + B_CHANNEL[channel])
//!   B0 = -1.0,  B_E = 0.8
//!   B_SEGMENT: window_shopper -2.4, cart_abandoner -1.0, price_sensitive 0.0, decisive_buyer +1.3
//!   B_DEVICE:  desktop 0.0, mobile -0.4, tablet -0.2
//!   B_CHANNEL: organic 0.0, paid_search +0.2, social -0.3, email +0.4, direct +0.3
//! converted ~ Bernoulli(p_convert)
//! ```
//!
//! `e` is observable only through behaviour: sessions = 1 + Poisson(λ_segment·exp(0.4·e))
//! (capped at 40) and product views per session shift by round(slope_segment·e).
//! A converted user's last session is the segment's browse part followed by
//! `add_to_cart → view_cart → begin_checkout → add_payment_info → purchase`;
//! nobody else ever emits `purchase`.
//!
//! # Segment behaviour (one session; every session starts with `page_view /`)
//!
//! * `window_shopper` (35%, mostly mobile/social, λ=2.9, 15–90 s between events):
//!   search with p=.3, then 5–12 (+1.0·e) `product_view`s with a further search
//!   after each with p=.06; `add_to_cart` with p=.02 per session.
//! * `cart_abandoner` (30%, λ=3.3, 8–60 s): search p=.4, 2–5 (+0.5·e) product views;
//!   in 75% of sessions 1–2 `add_to_cart`, `view_cart`, `remove_from_cart` p=.15,
//!   `begin_checkout` p=.35 (then `add_payment_info` p=.15), then leaves.
//! * `price_sensitive` (20%, mostly email/organic, λ=2.1, 20–120 s): `view_promotions`,
//!   1–2 searches, 4–9 (+0.8·e) product views with `compare` after each view
//!   from the second on with p=.35; in 45% of sessions `add_to_cart`, `view_cart`,
//!   `apply_coupon` p=.8, `begin_checkout` p=.2.
//! * `decisive_buyer` (15%, mostly desktop/direct/email, λ=0.5, 5–20 s): search
//!   p=.85, 1–2 product views, `add_to_cart`, `view_cart` p=.5,
//!   `begin_checkout` p=.8 (then `add_payment_info` p=.3).
//!
//! Products `p0001`–`p0500` have Zipf(0.9) popularity; `product_id` is set on
//! `product_view`, `add_to_cart` and `remove_from_cart` only.

use std::sync::OnceLock;

use super::{
    Channel, Device, Event, Item, Journey, Page, UserTruth, session_count, shifted_count, sigmoid,
};
use crate::rng::Rng;

pub const B0: f64 = -1.0;
pub const B_E: f64 = 0.8;
/// Indexed like [`Device::ALL`].
pub const B_DEVICE: [f64; 3] = [0.0, -0.4, -0.2];
/// Indexed like [`Channel::ALL`].
pub const B_CHANNEL: [f64; 5] = [0.0, 0.2, -0.3, 0.4, 0.3];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WindowShopper,
    CartAbandoner,
    PriceSensitive,
    DecisiveBuyer,
}

struct Segment {
    kind: Kind,
    name: &'static str,
    share: f64,
    coef: f64,
    device: [f64; 3],
    channel: [f64; 5],
    sessions_lambda: f64,
    step_s: (u64, u64),
}

const SEGMENTS: [Segment; 4] = [
    Segment {
        kind: Kind::WindowShopper,
        name: "window_shopper",
        share: 0.35,
        coef: -2.4,
        device: [0.20, 0.70, 0.10],
        channel: [0.20, 0.10, 0.55, 0.05, 0.10],
        sessions_lambda: 2.9,
        step_s: (15, 90),
    },
    Segment {
        kind: Kind::CartAbandoner,
        name: "cart_abandoner",
        share: 0.30,
        coef: -1.0,
        device: [0.45, 0.45, 0.10],
        channel: [0.30, 0.30, 0.15, 0.10, 0.15],
        sessions_lambda: 3.3,
        step_s: (8, 60),
    },
    Segment {
        kind: Kind::PriceSensitive,
        name: "price_sensitive",
        share: 0.20,
        coef: 0.0,
        device: [0.50, 0.40, 0.10],
        channel: [0.30, 0.25, 0.10, 0.30, 0.05],
        sessions_lambda: 2.1,
        step_s: (20, 120),
    },
    Segment {
        kind: Kind::DecisiveBuyer,
        name: "decisive_buyer",
        share: 0.15,
        coef: 1.3,
        device: [0.75, 0.20, 0.05],
        channel: [0.15, 0.10, 0.05, 0.30, 0.40],
        sessions_lambda: 0.5,
        step_s: (5, 20),
    },
];

const N_PRODUCTS: usize = 500;
const ZIPF_S: f64 = 0.9;

fn product_cdf() -> &'static [f64] {
    static CDF: OnceLock<Vec<f64>> = OnceLock::new();
    CDF.get_or_init(|| {
        let mut acc = 0.0;
        (1..=N_PRODUCTS)
            .map(|k| {
                acc += 1.0 / (k as f64).powf(ZIPF_S);
                acc
            })
            .collect()
    })
}

fn pick_product(rng: &mut Rng) -> u16 {
    let cdf = product_cdf();
    let x = rng.f64() * cdf[cdf.len() - 1];
    (cdf.partition_point(|&c| c <= x).min(N_PRODUCTS - 1) + 1) as u16
}

/// The documented conversion probability (see module docs).
pub fn p_convert(segment_coef: f64, e: f64, device: Device, channel: Channel) -> f64 {
    let d = Device::ALL.iter().position(|&x| x == device).unwrap_or(0);
    let c = Channel::ALL.iter().position(|&x| x == channel).unwrap_or(0);
    sigmoid(B0 + segment_coef + B_E * e + B_DEVICE[d] + B_CHANNEL[c])
}

pub(super) fn user(rng: &mut Rng, events: &mut Vec<Event>) -> UserTruth {
    let shares = SEGMENTS.map(|s| s.share);
    let seg = &SEGMENTS[rng.choose_weighted(&shares)];
    let e = rng.normal();
    let device = Device::ALL[rng.choose_weighted(&seg.device)];
    let channel = Channel::ALL[rng.choose_weighted(&seg.channel)];
    let p = p_convert(seg.coef, e, device, channel);
    let converted = rng.bernoulli(p);
    let sessions = session_count(rng, seg.sessions_lambda, e);

    let mut j = Journey::new(rng, events, seg.step_s);
    let mut viewed: Vec<u16> = Vec::with_capacity(16);
    for s in 1..=sessions {
        j.start_session();
        viewed.clear();
        browse(&mut j, seg.kind, e, &mut viewed);
        if converted && s == sessions {
            purchase_tail(&mut j, &viewed);
        } else {
            cart(&mut j, seg.kind, &viewed);
        }
    }
    UserTruth {
        segment: seg.name,
        device,
        channel,
        p_convert: p,
        converted,
    }
}

fn product_view(j: &mut Journey, viewed: &mut Vec<u16>) {
    let id = pick_product(j.rng);
    viewed.push(id);
    j.emit("product_view", Page::Product(id), Item::Product(id));
}

fn add_to_cart(j: &mut Journey, id: u16) {
    j.emit("add_to_cart", Page::Product(id), Item::Product(id));
}

fn last_or_pick(j: &mut Journey, viewed: &[u16]) -> u16 {
    match viewed.last() {
        Some(&id) => id,
        None => pick_product(j.rng),
    }
}

/// The segment's pre-cart part of a session.
fn browse(j: &mut Journey, kind: Kind, e: f64, viewed: &mut Vec<u16>) {
    j.page("page_view", "/");
    match kind {
        Kind::WindowShopper => {
            if j.rng.bernoulli(0.3) {
                j.page("search", "/search");
            }
            let n = shifted_count(j.rng, 5, 12, 1.0, e, 3, 16);
            for _ in 0..n {
                product_view(j, viewed);
                if j.rng.bernoulli(0.06) {
                    j.page("search", "/search");
                }
            }
        }
        Kind::CartAbandoner => {
            if j.rng.bernoulli(0.4) {
                j.page("search", "/search");
            }
            let n = shifted_count(j.rng, 2, 5, 0.5, e, 1, 7);
            for _ in 0..n {
                product_view(j, viewed);
            }
        }
        Kind::PriceSensitive => {
            j.page("view_promotions", "/promotions");
            let searches = 1 + u32::from(j.rng.bernoulli(0.5));
            for _ in 0..searches {
                j.page("search", "/search");
            }
            let n = shifted_count(j.rng, 4, 9, 0.8, e, 2, 14);
            for i in 0..n {
                product_view(j, viewed);
                if i >= 1 && j.rng.bernoulli(0.35) {
                    j.page("compare", "/compare");
                }
            }
        }
        Kind::DecisiveBuyer => {
            if j.rng.bernoulli(0.85) {
                j.page("search", "/search");
            }
            let n = 1 + u32::from(j.rng.bernoulli(0.4));
            for _ in 0..n {
                product_view(j, viewed);
            }
        }
    }
}

/// How a non-converting session ends.
fn cart(j: &mut Journey, kind: Kind, viewed: &[u16]) {
    match kind {
        Kind::WindowShopper => {
            if j.rng.bernoulli(0.02) {
                let id = last_or_pick(j, viewed);
                add_to_cart(j, id);
            }
        }
        Kind::CartAbandoner => {
            if !j.rng.bernoulli(0.75) {
                return;
            }
            let adds = (1 + j.rng.below(2) as usize).min(viewed.len().max(1));
            for k in 0..adds {
                let id = match viewed.len().checked_sub(1 + k) {
                    Some(i) => viewed[i],
                    None => pick_product(j.rng),
                };
                add_to_cart(j, id);
            }
            j.page("view_cart", "/cart");
            if j.rng.bernoulli(0.15) {
                let id = last_or_pick(j, viewed);
                j.emit("remove_from_cart", Page::Static("/cart"), Item::Product(id));
            }
            if j.rng.bernoulli(0.35) {
                j.page("begin_checkout", "/checkout");
                if j.rng.bernoulli(0.15) {
                    j.page("add_payment_info", "/checkout/payment");
                }
            }
        }
        Kind::PriceSensitive => {
            if !j.rng.bernoulli(0.45) {
                return;
            }
            let id = last_or_pick(j, viewed);
            add_to_cart(j, id);
            j.page("view_cart", "/cart");
            if j.rng.bernoulli(0.8) {
                j.page("apply_coupon", "/cart");
            }
            if j.rng.bernoulli(0.2) {
                j.page("begin_checkout", "/checkout");
            }
        }
        Kind::DecisiveBuyer => {
            let id = last_or_pick(j, viewed);
            add_to_cart(j, id);
            if j.rng.bernoulli(0.5) {
                j.page("view_cart", "/cart");
            }
            if j.rng.bernoulli(0.8) {
                j.page("begin_checkout", "/checkout");
                if j.rng.bernoulli(0.3) {
                    j.page("add_payment_info", "/checkout/payment");
                }
            }
        }
    }
}

fn purchase_tail(j: &mut Journey, viewed: &[u16]) {
    let id = last_or_pick(j, viewed);
    add_to_cart(j, id);
    j.page("view_cart", "/cart");
    j.page("begin_checkout", "/checkout");
    j.page("add_payment_info", "/checkout/payment");
    j.page("purchase", "/order/confirmation");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_one_and_zipf_is_skewed() {
        let total: f64 = SEGMENTS.iter().map(|s| s.share).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let mut r = Rng::new(1);
        let mut counts = vec![0u32; N_PRODUCTS + 1];
        for _ in 0..50_000 {
            let id = pick_product(&mut r) as usize;
            assert!((1..=N_PRODUCTS).contains(&id));
            counts[id] += 1;
        }
        assert!(counts[1] > 10 * counts[400].max(1));
    }

    #[test]
    fn coefficients_order_segments() {
        let p = |s: &Segment| p_convert(s.coef, 0.0, Device::Desktop, Channel::Organic);
        assert!(p(&SEGMENTS[3]) > p(&SEGMENTS[2]));
        assert!(p(&SEGMENTS[2]) > p(&SEGMENTS[1]));
        assert!(p(&SEGMENTS[1]) > p(&SEGMENTS[0]));
        assert!((p(&SEGMENTS[2]) - sigmoid(-1.0)).abs() < 1e-12);
    }
}
