//! SaaS product-usage scenario (conversion event `upgrade`).
//!
//! # Planted ground truth
//!
//! Per user, in this draw order: segment, engagement `e ~ N(0,1)`, device,
//! channel (per-segment distributions in [`SEGMENTS`]), `invited_teammate`
//! ~ Bernoulli(p_invite[segment]); then the sessions (below); then, from the
//! user's events in the 24 hours from their first event (the *window*),
//!
//! ```text
//! p_convert = sigmoid(B0 + B_INVITED·invited + B_PROJECT·created_project
//!                     + B_USE·ln(1 + uses) + B_DEVICE[device] + B_CHANNEL[channel])
//!   invited, created_project: an invite_teammate / create_project event in the window
//!   uses: the number of use_feature events in the window
//!   B0 = -3.0,  B_INVITED = 1.1,  B_PROJECT = 0.8,  B_USE = 0.6
//!   B_DEVICE:  desktop 0.0, mobile -0.5, tablet -0.3
//!   B_CHANNEL: organic 0.0, paid_search +0.1, social -0.3, email +0.3, direct +0.4
//! converted ~ Bernoulli(p_convert)
//! ```
//!
//! So conversion is a known logistic function of what a model observing the
//! first day can see (journeymap's milestone flags, `count:use_feature` on
//! its log scale, and the device and channel one-hots): with `--observe 1d
//! --horizon all` the truth file's `p_convert` is the Bayes-optimal score
//! (the propensity acceptance test). Segment and `e` act on conversion only
//! through that behaviour. A converter comes back for one more session,
//! `login → view_dashboard → view_pricing → upgrade`, after their other
//! sessions and never sooner than 3 days after their first event, so no
//! label of a cutoff up to 3 days is decided before its cutoff.
//!
//! `invited_teammate` is observable exactly: a user with the flag emits
//! `invite_teammate` in their first session (collaborators also in later
//! sessions with p=.25); a user without it never does. p_invite: explorer .15,
//! collaborator .85, solo_builder 0, dormant .03.
//! `e` shows in behaviour: sessions = 1 + Poisson(λ·exp(0.4·e)) (cap 40; dormant:
//! 2 + Bernoulli(sigmoid(e))) and feature-use counts shift by round(slope·e).

//! # Segment behaviour
//!
//! Session 1 starts `signup → view_dashboard`, later ones `login → view_dashboard`.
//! * `explorer` (25%, λ=4.0, 10–90 s): 3–7 (+0.6·e) `use_feature` over all 24
//!   features interleaved with 1–3 `read_docs`; `use_integration` p=.3,
//!   `view_pricing` p=.12.
//! * `collaborator` (20%, λ=4.4, 10–60 s): `create_project` (always in session 1,
//!   else p=.35), invites, 1–4 (+0.5·e) `comment` alternating with 1–3
//!   `use_feature` from f01–f06; `use_integration` p=.2.
//! * `solo_builder` (30%, λ=4.5, 5–45 s): `create_project` (session 1, else p=.45),
//!   2–6 (+0.6·e) `use_feature` from 4 personal favourites, `use_integration` p=.15,
//!   `read_docs` p=.1, `contact_support` p=.05.
//! * `dormant` (25%, 10–40 s): `read_docs` p=.3 in session 1, then 1–2 login
//!   sessions with `use_feature` p=.3.
//!
//! `product_id` holds the feature (`f01`–`f24`) on `use_feature` only.

use super::{
    Channel, Device, Event, Item, Journey, Page, UserTruth, session_count, shifted_count, sigmoid,
};
use crate::rng::Rng;

pub const B0: f64 = -3.0;
pub const B_INVITED: f64 = 1.1;
pub const B_PROJECT: f64 = 0.8;
pub const B_USE: f64 = 0.6;
/// The window `p_convert` reads, from the user's first event.
pub const WINDOW_MS: i64 = 86_400_000;
/// A converter's upgrade comes no sooner than this after their first event.
pub const UPGRADE_AFTER_MS: i64 = 3 * 86_400_000;
/// Indexed like [`Device::ALL`].
pub const B_DEVICE: [f64; 3] = [0.0, -0.5, -0.3];
/// Indexed like [`Channel::ALL`].
pub const B_CHANNEL: [f64; 5] = [0.0, 0.1, -0.3, 0.3, 0.4];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Explorer,
    Collaborator,
    SoloBuilder,
    Dormant,
}

struct Segment {
    kind: Kind,
    name: &'static str,
    share: f64,
    p_invite: f64,
    device: [f64; 3],
    channel: [f64; 5],
    sessions_lambda: f64,
    step_s: (u64, u64),
}

const SEGMENTS: [Segment; 4] = [
    Segment {
        kind: Kind::Explorer,
        name: "explorer",
        share: 0.25,
        p_invite: 0.15,
        device: [0.70, 0.20, 0.10],
        channel: [0.45, 0.15, 0.10, 0.10, 0.20],
        sessions_lambda: 4.0,
        step_s: (10, 90),
    },
    Segment {
        kind: Kind::Collaborator,
        name: "collaborator",
        share: 0.20,
        p_invite: 0.85,
        device: [0.75, 0.20, 0.05],
        channel: [0.20, 0.10, 0.10, 0.35, 0.25],
        sessions_lambda: 4.4,
        step_s: (10, 60),
    },
    Segment {
        kind: Kind::SoloBuilder,
        name: "solo_builder",
        share: 0.30,
        p_invite: 0.0,
        device: [0.80, 0.15, 0.05],
        channel: [0.35, 0.25, 0.10, 0.10, 0.20],
        sessions_lambda: 4.5,
        step_s: (5, 45),
    },
    Segment {
        kind: Kind::Dormant,
        name: "dormant",
        share: 0.25,
        p_invite: 0.03,
        device: [0.45, 0.45, 0.10],
        channel: [0.20, 0.35, 0.30, 0.05, 0.10],
        sessions_lambda: 0.0,
        step_s: (10, 40),
    },
];

const N_FEATURES: u64 = 24;
const DOCS: [&str; 10] = [
    "/docs/getting-started",
    "/docs/projects",
    "/docs/api",
    "/docs/integrations",
    "/docs/billing",
    "/docs/permissions",
    "/docs/automation",
    "/docs/reporting",
    "/docs/security",
    "/docs/faq",
];
const INTEGRATIONS: [&str; 5] = [
    "/integrations/slack",
    "/integrations/github",
    "/integrations/jira",
    "/integrations/salesforce",
    "/integrations/zapier",
];

/// The documented conversion probability (see module docs).
pub fn p_convert(invited: bool, project: bool, uses: u32, device: Device, channel: Channel) -> f64 {
    let d = Device::ALL.iter().position(|&x| x == device).unwrap_or(0);
    let c = Channel::ALL.iter().position(|&x| x == channel).unwrap_or(0);
    let flag = |b: bool, coef: f64| if b { coef } else { 0.0 };
    sigmoid(
        B0 + flag(invited, B_INVITED)
            + flag(project, B_PROJECT)
            + B_USE * f64::from(uses).ln_1p()
            + B_DEVICE[d]
            + B_CHANNEL[c],
    )
}

pub(super) fn user(rng: &mut Rng, events: &mut Vec<Event>) -> UserTruth {
    let shares = SEGMENTS.map(|s| s.share);
    let seg = &SEGMENTS[rng.choose_weighted(&shares)];
    let e = rng.normal();
    let device = Device::ALL[rng.choose_weighted(&seg.device)];
    let channel = Channel::ALL[rng.choose_weighted(&seg.channel)];
    let invited = rng.bernoulli(seg.p_invite);
    let sessions = match seg.kind {
        Kind::Dormant => 2 + u32::from(rng.bernoulli(sigmoid(e))),
        _ => session_count(rng, seg.sessions_lambda, e),
    };
    let favourites: [u8; 4] = std::array::from_fn(|_| feature(rng));

    let start = events.len();
    let mut j = Journey::new(rng, events, seg.step_s);
    for s in 1..=sessions {
        j.start_session();
        if s == 1 {
            j.page("signup", "/signup");
        } else {
            j.page("login", "/login");
        }
        j.page("view_dashboard", "/dashboard");
        body(&mut j, seg.kind, s == 1, invited, e, &favourites);
        if s == 1 && invited && seg.kind != Kind::Collaborator {
            j.page("invite_teammate", "/settings/team");
        }
    }
    let mine = j.since(start);
    let first = mine[0].ts;
    let window = mine.iter().filter(|ev| ev.ts < first + WINDOW_MS);
    let (mut inv, mut project, mut uses) = (false, false, 0u32);
    for ev in window {
        match ev.name {
            "invite_teammate" => inv = true,
            "create_project" => project = true,
            "use_feature" => uses += 1,
            _ => {}
        }
    }
    let p = p_convert(inv, project, uses, device, channel);
    let converted = j.rng.bernoulli(p);
    if converted {
        j.start_session();
        j.not_before(first + UPGRADE_AFTER_MS);
        j.page("login", "/login");
        j.page("view_dashboard", "/dashboard");
        j.page("view_pricing", "/pricing");
        j.page("upgrade", "/billing/upgrade");
    }
    UserTruth {
        segment: seg.name,
        device,
        channel,
        p_convert: p,
        converted,
    }
}

fn feature(rng: &mut Rng) -> u8 {
    1 + rng.below(N_FEATURES) as u8
}

fn use_feature(j: &mut Journey, f: u8) {
    j.emit("use_feature", Page::Feature(f), Item::Feature(f));
}

fn read_docs(j: &mut Journey) {
    let topic = DOCS[j.rng.below(DOCS.len() as u64) as usize];
    j.page("read_docs", topic);
}

fn maybe_integration(j: &mut Journey, p: f64) {
    if j.rng.bernoulli(p) {
        let page = INTEGRATIONS[j.rng.below(INTEGRATIONS.len() as u64) as usize];
        j.page("use_integration", page);
    }
}

fn body(j: &mut Journey, kind: Kind, first: bool, invited: bool, e: f64, favourites: &[u8; 4]) {
    match kind {
        Kind::Explorer => {
            let mut features = shifted_count(j.rng, 3, 7, 0.6, e, 1, 10);
            let mut docs = j.rng.range(1, 3) as u32;
            // Interleave proportionally to what is left so docs are spread through the session.
            while features + docs > 0 {
                if j.rng.below(u64::from(features + docs)) < u64::from(features) {
                    features -= 1;
                    let f = feature(j.rng);
                    use_feature(j, f);
                } else {
                    docs -= 1;
                    read_docs(j);
                }
            }
            maybe_integration(j, 0.3);
            if j.rng.bernoulli(0.12) {
                j.page("view_pricing", "/pricing");
            }
        }
        Kind::Collaborator => {
            if first || j.rng.bernoulli(0.35) {
                j.page("create_project", "/projects/new");
            }
            if invited && (first || j.rng.bernoulli(0.25)) {
                j.page("invite_teammate", "/settings/team");
            }
            let comments = shifted_count(j.rng, 1, 4, 0.5, e, 1, 8);
            let features = j.rng.range(1, 3) as u32;
            for k in 0..comments.max(features) {
                if k < features {
                    let f = 1 + j.rng.below(6) as u8;
                    use_feature(j, f);
                }
                if k < comments {
                    j.page("comment", "/projects/comments");
                }
            }
            maybe_integration(j, 0.2);
        }
        Kind::SoloBuilder => {
            if first || j.rng.bernoulli(0.45) {
                j.page("create_project", "/projects/new");
            }
            let n = shifted_count(j.rng, 2, 6, 0.6, e, 1, 10);
            for _ in 0..n {
                let f = favourites[j.rng.below(4) as usize];
                use_feature(j, f);
            }
            maybe_integration(j, 0.15);
            if j.rng.bernoulli(0.1) {
                read_docs(j);
            }
            if j.rng.bernoulli(0.05) {
                j.page("contact_support", "/support");
            }
        }
        Kind::Dormant => {
            if first {
                if j.rng.bernoulli(0.3) {
                    read_docs(j);
                }
            } else if j.rng.bernoulli(0.3) {
                let f = feature(j.rng);
                use_feature(j, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_coefficients() {
        let total: f64 = SEGMENTS.iter().map(|s| s.share).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let base = p_convert(false, false, 0, Device::Desktop, Channel::Organic);
        assert!((base - sigmoid(B0)).abs() < 1e-12);
        let inv = p_convert(true, false, 0, Device::Desktop, Channel::Organic);
        assert!((inv - sigmoid(B0 + B_INVITED)).abs() < 1e-12);
        let all = p_convert(true, true, 3, Device::Mobile, Channel::Email);
        let z = B0 + B_INVITED + B_PROJECT + B_USE * 4f64.ln() + B_DEVICE[1] + B_CHANNEL[3];
        assert!((all - sigmoid(z)).abs() < 1e-12);
    }
}
