//! `generate --scenario saas --experiment`: a randomized test of a
//! generic reminder and a targeted intervention against control, with the
//! effects planted and written beside the data.
//!
//! # Planted truth
//!
//! After a user's ordinary journey (the saas scenario, unchanged), the user
//! is randomized to `control`, `reminder` or `intervention` (1:1:1, or
//! 36:32:32 with `--experiment-srm`, a deliberate sample-ratio mismatch)
//! and exposed at `t0` = last event + 1–25 h, logged as `message_delivered`.
//! In the 14 days from t0:
//!
//! ```text
//! risk          = 1 − p_convert (the saas truth); high risk: risk ≥ 0.7
//! P(purchase)   = 0.05 + 0.15·p_convert
//!                 + 0.02                     reminder, everyone
//!                 + 0.10                     intervention, high-risk users only
//! amount        = 99 with p 0.3 (intervention 0.4), else 49
//! use_feature   ~ Poisson((0.5 + 0.5·pre_uses)·(1 + u)),  u = 0, 0.05, 0.10
//!                 pre_uses: the user's use_feature events in the 14 d before t0
//! ```
//!
//! so `use_feature` counts carry a pre-exposure covariate for CUPED. The
//! truth JSON holds, per arm, the population means of each metric had
//! every user received that arm (the planted average effects), so the
//! measured lifts can be checked against them.
//!
//! # `--rollout`: a non-randomized rollout for difference in differences
//!
//! 30 % of users are treated (a draw independent of behaviour, so the
//! groups' trends are parallel in expectation) from [`ROLLOUT_START`]
//! (2026-10-22, 21 days after the data starts). A treated user first seen
//! before the start does Poisson(0.8) extra `use_feature` events at uniform
//! times in the 14 days from it (each its own session): the planted DiD
//! effect on `count:use_feature` (pre and post 14 d) is +0.8 per user.

use serde::Serialize;

use super::{Event, Item, Page, UserTruth};
use crate::rng::Rng;

pub const ARMS: [&str; 3] = ["control", "reminder", "intervention"];
pub const WINDOW_MS: i64 = 14 * 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// What one user would do under each arm, and what they did.
pub(crate) struct Planted {
    pub arm: usize,
    pub t0: i64,
    /// Per arm: P(purchase), E[amount | purchase], E[use_feature].
    pub expected: [[f64; 3]; 3],
}

fn p_purchase(u: &UserTruth, arm: usize) -> f64 {
    let high_risk = 1.0 - u.p_convert >= 0.7;
    0.05 + 0.15 * u.p_convert
        + match arm {
            1 => 0.02,
            2 if high_risk => 0.10,
            _ => 0.0,
        }
}

fn p_premium(arm: usize) -> f64 {
    if arm == 2 { 0.4 } else { 0.3 }
}

fn usage_lift(arm: usize) -> f64 {
    [0.0, 0.05, 0.10][arm]
}

/// Randomizes the user, appends the exposure and the post-exposure events
/// (time-ordered after the journey).
pub(crate) fn plant(
    rng: &mut Rng,
    user: &UserTruth,
    events: &mut Vec<Event>,
    srm: bool,
) -> Planted {
    let weights: [f64; 3] = if srm {
        [0.36, 0.32, 0.32]
    } else {
        [1.0, 1.0, 1.0]
    };
    let arm = rng.choose_weighted(&weights);
    let last = events.last().map_or(super::START_MS, |e| e.ts);
    let session = events.last().map_or(0, |e| e.session) + 1;
    let t0 = last + HOUR_MS + rng.below(24 * HOUR_MS as u64) as i64;
    let pre_uses = events
        .iter()
        .filter(|e| e.name == "use_feature" && e.ts >= t0 - WINDOW_MS)
        .count() as f64;
    let lambda = |a: usize| (0.5 + 0.5 * pre_uses) * (1.0 + usage_lift(a));
    let mut expected = [[0.0; 3]; 3];
    for (a, e) in expected.iter_mut().enumerate() {
        let prem = p_premium(a);
        *e = [
            p_purchase(user, a),
            99.0 * prem + 49.0 * (1.0 - prem),
            lambda(a),
        ];
    }
    let ev = |ts: i64, name: &'static str, page: Page, item: Item, amount: Option<u32>| Event {
        ts,
        session,
        name,
        page,
        item,
        amount,
    };
    let mut post = vec![ev(
        t0,
        "message_delivered",
        Page::Static("/inbox"),
        Item::None,
        None,
    )];
    // Every later event strictly after t0 and within the window.
    let at = |rng: &mut Rng| t0 + 1 + rng.below((WINDOW_MS - HOUR_MS) as u64) as i64;
    for _ in 0..rng.poisson(lambda(arm)) {
        let f = 1 + rng.below(24) as u8;
        post.push(ev(
            at(rng),
            "use_feature",
            Page::Feature(f),
            Item::Feature(f),
            None,
        ));
    }
    if rng.bernoulli(p_purchase(user, arm)) {
        let amount = if rng.bernoulli(p_premium(arm)) {
            99
        } else {
            49
        };
        post.push(ev(
            at(rng),
            "purchase",
            Page::Static("/billing"),
            Item::None,
            Some(amount),
        ));
    }
    post[1..].sort_by_key(|e| e.ts);
    events.extend(post);
    Planted { arm, t0, expected }
}

/// The truth JSON: arms, weights and the planted population means.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Truth {
    pub arms: Vec<&'static str>,
    pub planned_weights: Vec<f64>,
    pub window_days: u32,
    /// Users assigned to each arm.
    pub users: Vec<u64>,
    /// Had every user received the arm: mean purchase rate, revenue per
    /// user and use_feature count (the planted average effects).
    pub purchase_rate: Vec<f64>,
    pub revenue_per_user: Vec<f64>,
    pub use_feature_per_user: Vec<f64>,
    /// Relative lifts vs control of those means.
    pub purchase_lift: Vec<f64>,
    pub revenue_lift: Vec<f64>,
    pub use_feature_lift: Vec<f64>,
}

impl Truth {
    pub fn new(srm: bool) -> Truth {
        Truth {
            arms: ARMS.to_vec(),
            planned_weights: if srm {
                vec![0.36, 0.32, 0.32]
            } else {
                vec![1.0 / 3.0; 3]
            },
            window_days: 14,
            users: vec![0; 3],
            purchase_rate: vec![0.0; 3],
            revenue_per_user: vec![0.0; 3],
            use_feature_per_user: vec![0.0; 3],
            ..Truth::default()
        }
    }

    pub fn add(&mut self, p: &Planted) {
        self.users[p.arm] += 1;
        for a in 0..3 {
            let [pp, amount, uses] = p.expected[a];
            self.purchase_rate[a] += pp;
            self.revenue_per_user[a] += pp * amount;
            self.use_feature_per_user[a] += uses;
        }
    }

    pub fn finish(&mut self) {
        let n: f64 = self.users.iter().sum::<u64>().max(1) as f64;
        let round = |x: f64| (x * 1e6).round() / 1e6;
        for v in [
            &mut self.purchase_rate,
            &mut self.revenue_per_user,
            &mut self.use_feature_per_user,
        ] {
            for x in v.iter_mut() {
                *x = round(*x / n);
            }
        }
        let lift = |v: &[f64]| v.iter().map(|x| round(x / v[0] - 1.0)).collect();
        self.purchase_lift = lift(&self.purchase_rate);
        self.revenue_lift = lift(&self.revenue_per_user);
        self.use_feature_lift = lift(&self.use_feature_per_user);
    }
}

/// The `[experiment]` section appended to the scenario's journey.toml.
pub const JOURNEY_SECTION: &str = r#"
# `generate --experiment`: the randomized test planted in this data
# (truth: the .experiment-truth.json file beside it).
[experiment]
assignments = "ASSIGNMENTS"
control = "control"
arms = [{ name = "control" }, { name = "reminder" }, { name = "intervention" }]
compare = [["intervention", "reminder"]]
window = "14d"
lookback = "14d"

[[experiment.metrics]]
name = "purchase"
kind = "conversion"
event = "purchase"

[[experiment.metrics]]
name = "revenue"
kind = "sum"
event = "purchase"
property = "amount"

[[experiment.metrics]]
name = "feature_use"
kind = "count"
event = "use_feature"
"#;

/// `--rollout`: the treatment starts 21 days after the data does.
pub const ROLLOUT_START: i64 = super::START_MS + 21 * 86_400_000;
pub const ROLLOUT_EFFECT: f64 = 0.8;
const ROLLOUT_SHARE: f64 = 0.3;

/// Treats the user with probability 0.3; a treated user seen before the
/// start gets the extra usage. Returns whether the user is treated.
pub(crate) fn roll_out(rng: &mut Rng, events: &mut Vec<Event>) -> bool {
    if !rng.bernoulli(ROLLOUT_SHARE) {
        return false;
    }
    if events.first().is_some_and(|e| e.ts < ROLLOUT_START) {
        let last = events.iter().map(|e| e.session).max().unwrap_or(0);
        for k in 1..=rng.poisson(ROLLOUT_EFFECT) as u32 {
            let f = 1 + rng.below(24) as u8;
            let session = last + k;
            events.push(Event {
                ts: ROLLOUT_START + rng.below(WINDOW_MS as u64) as i64,
                session,
                name: "use_feature",
                page: Page::Feature(f),
                item: Item::Feature(f),
                amount: None,
            });
        }
        events.sort_by_key(|e| e.ts);
    }
    true
}

#[derive(Debug, Serialize)]
pub(crate) struct RolloutTruth {
    pub start: &'static str,
    pub metric: &'static str,
    pub pre_days: u32,
    pub post_days: u32,
    pub treated_share: f64,
    pub treated_users: u64,
    /// Extra use_feature events per treated user first seen before the start.
    pub planted_effect: f64,
}

pub(crate) fn rollout_truth(treated_users: u64) -> RolloutTruth {
    RolloutTruth {
        start: "2026-10-22T00:00:00.000Z",
        metric: "count:use_feature",
        pre_days: 14,
        post_days: 14,
        treated_share: ROLLOUT_SHARE,
        treated_users,
        planted_effect: ROLLOUT_EFFECT,
    }
}
