//! `init`: a commented starter journey.toml inferred from the data: the
//! column mapping, the event vocabulary, a suggested funnel and a stage
//! mapping to edit. Everything here is a guess that says so.

use std::fmt::Write;

use rustc_hash::FxHashMap;

use crate::config::DEFAULT_STAGES;
use crate::config::InputSection;
use crate::ingest::EventTable;

/// Header names tried, in order, for each role when the default is missing.
pub const USER_NAMES: &[&str] = &[
    "user_id",
    "userid",
    "user",
    "uid",
    "customer_id",
    "distinct_id",
    "visitor_id",
    "client_id",
    "person_id",
    "customer",
    "id",
];
pub const EVENT_NAMES: &[&str] = &[
    "event",
    "event_name",
    "event_type",
    "action",
    "name",
    "type",
];
pub const TIME_NAMES: &[&str] = &[
    "timestamp",
    "time",
    "ts",
    "event_time",
    "event_timestamp",
    "created_at",
    "datetime",
    "date",
];
pub const SESSION_NAMES: &[&str] = &["session_id", "sessionid", "session", "visit_id"];

/// Guesses the mapping from a header; `None` for a role nothing resembles.
pub fn guess_mapping(
    header: &[String],
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    // "Created At", "createdAt" and "created-at" all read as created_at.
    let norm: Vec<String> = header.iter().map(|h| words(h).join("_")).collect();
    let find = |names: &[&str]| {
        names.iter().find_map(|n| {
            header
                .iter()
                .find(|h| h.eq_ignore_ascii_case(n))
                .or_else(|| {
                    header
                        .iter()
                        .zip(&norm)
                        .find(|(_, m)| m == n)
                        .map(|(h, _)| h)
                })
                .cloned()
        })
    };
    (
        find(USER_NAMES),
        find(EVENT_NAMES),
        find(TIME_NAMES),
        find(SESSION_NAMES),
    )
}

/// Keyword rules for the default stages, checked in order; the first stage
/// whose keyword occurs in the event name gets the event.
const STAGE_KEYWORDS: [(&str, &[&str]); 5] = [
    (
        "Advocacy",
        &[
            "invite",
            "invited",
            "share",
            "shared",
            "review",
            "reviewed",
            "refer",
            "referral",
            "referred",
            "rate",
            "rated",
            "rating",
            "recommend",
            "recommended",
        ],
    ),
    (
        "Retention",
        &[
            "login",
            "log_in",
            "logged_in",
            "reorder",
            "repeat",
            "return",
            "renew",
            "use_feature",
            "project",
            "comment",
        ],
    ),
    (
        "Purchase",
        &[
            "cart",
            "checkout",
            "payment",
            "pay",
            "purchase",
            "purchased",
            "order",
            "ordered",
            "upgrade",
            "subscribe",
            "buy",
            "coupon",
            "billing",
        ],
    ),
    (
        "Consideration",
        &[
            "product",
            "item",
            "compare",
            "pricing",
            "price",
            "promotion",
            "docs",
            "detail",
            "wishlist",
            "feature",
        ],
    ),
    (
        "Awareness",
        &[
            "page_view",
            "pageview",
            "visit",
            "landing",
            "search",
            "session_start",
            "signup",
            "sign_up",
            "ad_",
            "home",
        ],
    ),
];

/// Names that are a conversion on their own (whole words of the event
/// name, e.g. `order_completed`, `OrderCompleted`, `order completed`).
const CONVERSION_STRONG: &[&[&str]] = &[
    &["purchase"],
    &["purchased"],
    &["purchase", "completed"],
    &["order", "completed"],
    &["order", "placed"],
    &["order", "confirmed"],
    &["order", "success"],
    &["checkout", "completed"],
    &["payment", "done"],
    &["payment", "success"],
    &["payment", "succeeded"],
    &["payment", "completed"],
    &["paid"],
    &["subscribed"],
    &["subscription", "started"],
    &["subscription", "created"],
    &["upgrade"],
    &["upgraded"],
    &["converted"],
    &["conversion"],
    &["transaction"],
    &["booking", "confirmed"],
    &["trial", "converted"],
];

/// Words that make an event a candidate (`payment_page` is one, and so is
/// `checkout`): the data then picks among the candidates.
const CONVERSION_WEAK: &[&str] = &[
    "purchase",
    "order",
    "payment",
    "pay",
    "checkout",
    "subscribe",
    "subscription",
    "buy",
    "booking",
    "book",
    "confirm",
    "confirmed",
    "complete",
    "completed",
    "success",
    "done",
    "transaction",
    "invoice",
    "paid",
];

/// An event name as lowercase words: split at anything not a letter or a
/// digit and at lowercase-to-uppercase steps (`addToCart` is add, to, cart).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `phrase` (words) occurs in `words` as consecutive words; a
/// word may carry a plural `s` (`view_promotions` has "promotion").
fn has_phrase(words: &[String], phrase: &[&str]) -> bool {
    let same = |a: &str, b: &str| a == b || a.strip_suffix('s') == Some(b);
    !phrase.is_empty()
        && words
            .windows(phrase.len())
            .any(|w| w.iter().zip(phrase).all(|(a, b)| same(a, b)))
}

pub fn stage_of(event: &str) -> Option<&'static str> {
    let w = words(event);
    STAGE_KEYWORDS
        .iter()
        .find(|(_, keys)| {
            keys.iter().any(|k| {
                has_phrase(
                    &w,
                    &k.split('_').filter(|p| !p.is_empty()).collect::<Vec<_>>(),
                )
            })
        })
        .map(|(s, _)| *s)
}

/// The conversion event: among the events whose name says conversion
/// (strong names first, then weaker words), the one users most often do
/// last, i.e. the end of the converting path: `payment_done` after
/// `delivery_choice` and `payment_choice`. `None` when no name qualifies;
/// the caller then falls back to the suggested funnel's last step.
pub fn guess_conversion(t: &EventTable) -> Option<String> {
    let names: Vec<Vec<String>> = t.event_names.iter().map(words).collect();
    let strong: Vec<u32> = (0..names.len() as u32)
        .filter(|&e| {
            CONVERSION_STRONG
                .iter()
                .any(|p| has_phrase(&names[e as usize], p))
        })
        .collect();
    let weak: Vec<u32> = (0..names.len() as u32)
        .filter(|&e| {
            names[e as usize]
                .iter()
                .any(|w| CONVERSION_WEAK.contains(&w.as_str()))
        })
        .collect();
    let pool = if strong.is_empty() { weak } else { strong };
    if pool.len() <= 1 {
        return pool.first().map(|&e| t.event_names.get(e).to_string());
    }
    // Per user, the candidate whose first occurrence comes last.
    let mut last = FxHashMap::<u32, usize>::default();
    for r in t.user_ranges() {
        let mut latest: Option<(usize, u32)> = None;
        let mut seen = Vec::new();
        for i in r {
            let e = t.event[i];
            if pool.contains(&e) && !seen.contains(&e) {
                seen.push(e);
                latest = Some((i, e));
            }
        }
        if let Some((_, e)) = latest {
            *last.entry(e).or_default() += 1;
        }
    }
    best(&last, t).map(|e| t.event_names.get(e).to_string())
}

/// Suggests a funnel: start from the event most users do first. With a
/// conversion event and enough converters, the steps between are the ones
/// converters take ([`converters_path`]). Otherwise repeatedly add the
/// event that most of the users still in the funnel do (for the first
/// time) after the last step, until 4 steps or until fewer than 5% of users
/// would remain. The conversion event, when there is one, is kept out of
/// that search and becomes the last step.
pub fn suggest_funnel(t: &EventTable, conversion: Option<&str>) -> Suggested {
    let ranges = t.user_ranges();
    let n_users = ranges.len().max(1);
    // Each user's events by first occurrence, in order.
    let firsts: Vec<Vec<(u32, usize)>> = ranges
        .iter()
        .map(|r| {
            let mut seen = FxHashMap::default();
            for i in r.clone() {
                seen.entry(t.event[i]).or_insert(i);
            }
            let mut v: Vec<(u32, usize)> = seen.into_iter().collect();
            v.sort_by_key(|&(_, i)| i);
            v
        })
        .collect();
    let mut first_counts: FxHashMap<u32, usize> = FxHashMap::default();
    for f in &firsts {
        if let Some(&(e, _)) = f.first() {
            *first_counts.entry(e).or_default() += 1;
        }
    }
    let conv = conversion
        .and_then(|c| (0..t.event_names.len() as u32).find(|&e| t.event_names.get(e) == c));
    if let Some(c) = conv {
        first_counts.remove(&c);
    }
    let names = |steps: Vec<u32>| -> Vec<String> {
        steps
            .into_iter()
            .map(|e| t.event_names.get(e).to_string())
            .collect()
    };
    let Some(start) = best(&first_counts, t) else {
        return Suggested {
            steps: conversion.map(|c| vec![c.to_string()]).unwrap_or_default(),
            from_converters: false,
        };
    };
    if let Some(c) = conv
        && let Some(mut steps) = converters_path(&firsts, start, c)
    {
        steps.push(c);
        return Suggested {
            steps: names(steps),
            from_converters: true,
        };
    }
    let mut steps = vec![start];
    // For each user still in, the position of their last step's first occurrence.
    let mut active: Vec<(usize, usize)> = firsts
        .iter()
        .enumerate()
        .filter_map(|(u, f)| f.iter().find(|(e, _)| *e == start).map(|&(_, i)| (u, i)))
        .collect();
    while steps.len() < 4 {
        let mut next: FxHashMap<u32, usize> = FxHashMap::default();
        for &(u, at) in &active {
            if let Some(&(e, _)) = firsts[u]
                .iter()
                .find(|(e, i)| *i > at && !steps.contains(e) && Some(*e) != conv)
            {
                *next.entry(e).or_default() += 1;
            }
        }
        let Some(e) = best(&next, t) else { break };
        if next[&e] * 20 < n_users {
            break;
        }
        steps.push(e);
        active = active
            .into_iter()
            .filter_map(|(u, at)| {
                firsts[u]
                    .iter()
                    .find(|(x, i)| *x == e && *i > at)
                    .map(|&(_, i)| (u, i))
            })
            .collect();
    }
    steps.extend(conv);
    Suggested {
        steps: names(steps),
        from_converters: false,
    }
}

/// A suggested funnel and how it was found (the comment init writes).
#[derive(Debug, PartialEq)]
pub struct Suggested {
    pub steps: Vec<String>,
    /// From the steps converters take; else the most common next events.
    pub from_converters: bool,
}

/// The steps converting users take: after `start`, the three events that
/// at least half the converters do before converting and that they do
/// latest (by the mean rank of the first occurrence among their events
/// before converting), in that order. Late, common steps are the bottom of
/// the funnel (cart, checkout, payment); browsing that everyone does early
/// (search, filters) stays out. None with fewer than 10 converters or no
/// such event: the caller falls back to the most common next events.
fn converters_path(firsts: &[Vec<(u32, usize)>], start: u32, conv: u32) -> Option<Vec<u32>> {
    // Per event, over converters: users who did it before converting, and
    // the sum of its rank among their events before converting (0..1).
    let mut before: FxHashMap<u32, (usize, f64)> = FxHashMap::default();
    let mut converters = 0usize;
    for f in firsts {
        let Some(at) = f.iter().position(|&(e, _)| e == conv) else {
            continue;
        };
        converters += 1;
        for (rank, &(e, _)) in f[..at].iter().enumerate() {
            let slot = before.entry(e).or_default();
            slot.0 += 1;
            slot.1 += rank as f64 / at as f64;
        }
    }
    if converters < 10 {
        return None;
    }
    let mut cands: Vec<(u32, f64)> = before
        .iter()
        .filter(|&(&e, &(n, _))| e != start && n * 2 >= converters)
        .map(|(&e, &(n, rank_sum))| (e, rank_sum / n as f64))
        .collect();
    if cands.is_empty() {
        return None;
    }
    cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    cands.truncate(3);
    cands.reverse();
    let mut steps = vec![start];
    steps.extend(cands.iter().map(|c| c.0));
    Some(steps)
}

fn best(counts: &FxHashMap<u32, usize>, t: &EventTable) -> Option<u32> {
    counts
        .iter()
        .max_by(|a, b| {
            a.1.cmp(b.1)
                .then_with(|| t.event_names.get(*b.0).cmp(t.event_names.get(*a.0)))
        })
        .map(|(&e, _)| e)
}

/// A TOML basic string for any text: quotes, backslashes, newlines and
/// control characters escaped, so no name can end the string or the line.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The starter config as commented TOML. Every data-derived string, in a
/// value or a comment, goes through [`quote`], so a name with quotes,
/// newlines or control characters cannot break the file or add a table.
pub fn render(
    t: &EventTable,
    input: &InputSection,
    vocabulary: &[(String, u64)],
    files: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# journey.toml: a starter config inferred by `journeymap init` from"
    );
    for f in files {
        let _ = writeln!(out, "#   {}", quote(f));
    }
    let _ = writeln!(
        out,
        "# Every section is a guess to edit. Reference: docs/config.md, docs/funnels.md, docs/stages.md."
    );
    let _ = writeln!(
        out,
        "\n# How to read the export (flags such as --user-col override these)."
    );
    let _ = writeln!(out, "[input]");
    let keys = [
        ("user_col", &input.user_col),
        ("event_col", &input.event_col),
        ("time_col", &input.time_col),
        ("session_col", &input.session_col),
        ("delimiter", &input.delimiter),
        ("time_format", &input.time_format),
    ];
    for (key, value) in keys {
        if let Some(v) = value {
            let _ = writeln!(out, "{key} = {}", quote(v));
        }
    }
    if input.drop_duplicates == Some(true) {
        let _ = writeln!(out, "drop_duplicates = true");
    }
    if let Some(gap) = &input.session_gap {
        let _ = writeln!(out, "session_gap = {}", quote(&gap.to_string()));
    }
    let _ = writeln!(out, "\n# Event vocabulary (count):");
    for (e, n) in vocabulary {
        let _ = writeln!(out, "#   {:<28} {n}", quote(e));
    }
    let guessed = guess_conversion(t);
    let Suggested {
        steps,
        from_converters,
    } = suggest_funnel(t, guessed.as_deref());
    let conversion = guessed.or_else(|| (steps.len() >= 2).then(|| steps[steps.len() - 1].clone()));
    if let Some(c) = &conversion {
        let _ = writeln!(out, "\n# The event that counts as converting (guessed).");
        let _ = writeln!(out, "[conversion]\nevent = {}", quote(c));
    }
    if steps.len() >= 2 {
        let how = if from_converters {
            "the most common first event, then the last steps\n# that most converting users take before converting, in their order"
        } else {
            "the most common first event, then the event most\n# users still in the funnel do next, step by step"
        };
        let _ = writeln!(out, "\n# Suggested from the data: {how}.");
        let _ = writeln!(out, "[funnel]");
        let list: Vec<String> = steps.iter().map(|s| quote(s)).collect();
        let _ = writeln!(out, "steps = [{}]", list.join(", "));
        let _ = writeln!(
            out,
            "window = \"14d\"\nmode = \"ordered\"  # ordered | strict | unordered\nper = \"user\"      # user | session"
        );
    } else {
        // A one-step funnel says nothing; better none than a false one.
        let _ = writeln!(
            out,
            "\n# No funnel of two or more steps stood out in the data; list yours:\n# [funnel]\n# steps = [\"first_step\", \"second_step\"]\n# window = \"14d\""
        );
    }
    let _ = writeln!(
        out,
        "\n# Stages from keywords in the event names; an event belongs to the first stage that lists it."
    );
    let mut unmapped = Vec::new();
    for stage in DEFAULT_STAGES {
        let events: Vec<String> = vocabulary
            .iter()
            .filter(|(e, _)| stage_of(e) == Some(stage))
            .map(|(e, _)| quote(e))
            .collect();
        if events.is_empty() {
            let _ = writeln!(
                out,
                "\n# [[stages]]\n# name = {}\n# events = []  # no event looked like this stage",
                quote(stage)
            );
        } else {
            let _ = writeln!(
                out,
                "\n[[stages]]\nname = {}\nevents = [{}]",
                quote(stage),
                events.join(", ")
            );
        }
    }
    for (e, _) in vocabulary {
        if stage_of(e).is_none() {
            unmapped.push(quote(e));
        }
    }
    if !unmapped.is_empty() {
        let _ = writeln!(out, "\n# Not mapped to any stage: {}", unmapped.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_columns_case_insensitively() {
        let h: Vec<String> = ["UID", "Action", "created_at", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (u, e, t, s) = guess_mapping(&h);
        assert_eq!(
            (u.as_deref(), e.as_deref(), t.as_deref(), s),
            (Some("UID"), Some("Action"), Some("created_at"), None)
        );
        // Spelled as people and tools spell them.
        let h: Vec<String> = ["userId", "eventName", "Created At", "Session-ID"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (u, e, t, s) = guess_mapping(&h);
        assert_eq!(
            (u.as_deref(), e.as_deref(), t.as_deref(), s.as_deref()),
            (
                Some("userId"),
                Some("eventName"),
                Some("Created At"),
                Some("Session-ID")
            )
        );
        let h: Vec<String> = ["date", "id"].iter().map(|s| s.to_string()).collect();
        assert_eq!(guess_mapping(&h).0.as_deref(), Some("id"));
    }

    #[test]
    fn keyword_stages() {
        assert_eq!(stage_of("add_to_cart"), Some("Purchase"));
        assert_eq!(stage_of("addToCart"), Some("Purchase"));
        assert_eq!(stage_of("invite_teammate"), Some("Advocacy"));
        assert_eq!(stage_of("page_view"), Some("Awareness"));
        assert_eq!(stage_of("PageView"), Some("Awareness"));
        assert_eq!(stage_of("zzz"), None);
        // Whole words only: "rate" is not in "Desperate Measures".
        assert_eq!(stage_of("Desperate Measures"), None);
        assert_eq!(stage_of("rate_product"), Some("Advocacy"));
        assert_eq!(stage_of("shared_link"), Some("Advocacy"));
        assert_eq!(stage_of("payday_loans"), None);
    }

    #[test]
    fn names_split_into_words() {
        assert_eq!(words("addToCart"), ["add", "to", "cart"]);
        assert_eq!(words("order_completed"), ["order", "completed"]);
        assert_eq!(words("Payment Done!"), ["payment", "done"]);
        assert_eq!(words("HTTPRequest"), ["httprequest"]);
    }

    #[test]
    fn quoted_names_are_valid_toml_whatever_they_hold() {
        for name in [
            "plain",
            "quote\"d",
            "back\\slash",
            "line1\nline2",
            "cr\rx",
            "\u{7}bell",
            "tab\there",
            "# c\n[[interventions]]\naction = \"x\"",
            "\u{7f}del",
            "ünï 😀",
        ] {
            let doc = format!("k = {}\n", quote(name));
            let v: toml::Table = toml::from_str(&doc).unwrap_or_else(|e| panic!("{name:?}: {e}"));
            assert_eq!(v["k"].as_str(), Some(name));
        }
    }

    /// Everyone browses (search) before anything; only converters go
    /// through cart and payment, late. The greedy "most common next event"
    /// would pick search; the converters' path picks cart and payment.
    #[test]
    fn the_funnel_follows_what_converters_do_last() {
        let mut t = EventTable::default();
        let mut ts = 0;
        for u in 0..40 {
            let mut path = vec!["home", "search", "search_results", "product"];
            if u % 2 == 0 {
                path.extend(["cart", "payment", "purchase"]);
            }
            for e in path {
                t.user.push(t.user_names.intern(&format!("u{u:02}")));
                t.event.push(t.event_names.intern(e));
                t.ts.push(ts);
                ts += 1000;
            }
        }
        let s = suggest_funnel(&t, Some("purchase"));
        assert!(s.from_converters);
        assert_eq!(s.steps, ["home", "product", "cart", "payment", "purchase"]);
        // Too few converters for that: the greedy walk.
        let s = suggest_funnel(&t, Some("nothing"));
        assert!(!s.from_converters);
        assert_eq!(s.steps[0], "home");
    }
}
