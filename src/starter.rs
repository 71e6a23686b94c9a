//! `init`: a commented starter journey.toml inferred from the data: the
//! column mapping, the event vocabulary, a suggested funnel and a stage
//! mapping to edit. Everything here is a guess that says so.

use std::fmt::Write;

use rustc_hash::FxHashMap;

use crate::config::DEFAULT_STAGES;
use crate::ingest::{ColumnMapping, EventTable};

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
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| header.iter().find(|h| h.eq_ignore_ascii_case(n)).cloned())
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
        &["invite", "share", "review", "refer", "rate", "recommend"],
    ),
    (
        "Retention",
        &[
            "login",
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
            "purchase",
            "order",
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

/// Words that mark an event as a conversion.
const CONVERSION_WORDS: &[&str] = &[
    "purchase",
    "order_completed",
    "checkout_completed",
    "upgrade",
    "subscribe",
    "convert",
    "paid",
];

pub fn stage_of(event: &str) -> Option<&'static str> {
    let e = event.to_ascii_lowercase();
    STAGE_KEYWORDS
        .iter()
        .find(|(_, words)| words.iter().any(|w| e.contains(w)))
        .map(|(s, _)| *s)
}

/// The most common event whose name looks like a conversion.
pub fn guess_conversion(vocabulary: &[(String, u64)]) -> Option<String> {
    vocabulary
        .iter()
        .find(|(e, _)| {
            CONVERSION_WORDS
                .iter()
                .any(|w| e.to_ascii_lowercase().contains(w))
        })
        .map(|(e, _)| e.clone())
}

/// Suggests a funnel: start from the event most users do first, then
/// repeatedly add the event that most of the users still in the funnel do
/// (for the first time) after the last step, until 4 steps or until fewer
/// than 5% of users would remain; the conversion event, when there is one,
/// is kept out of that search and becomes the last step.
pub fn suggest_funnel(t: &EventTable, conversion: Option<&str>) -> Vec<String> {
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
    let Some(start) = best(&first_counts, t) else {
        return conversion.map(|c| vec![c.to_string()]).unwrap_or_default();
    };
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
    steps
        .into_iter()
        .map(|e| t.event_names.get(e).to_string())
        .collect()
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

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The starter config as commented TOML.
pub fn render(
    t: &EventTable,
    mapping: &ColumnMapping,
    vocabulary: &[(String, u64)],
    files: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# journey.toml: a starter config inferred by `journeymap init` from"
    );
    for f in files {
        let _ = writeln!(out, "#   {f}");
    }
    let _ = writeln!(
        out,
        "# Every section is a guess to edit. Reference: docs/funnels.md, docs/stages.md."
    );
    let _ = writeln!(
        out,
        "#\n# Columns used (pass these flags to every command):"
    );
    let _ = writeln!(
        out,
        "#   --user-col {} --event-col {} --time-col {}{}",
        mapping.user,
        mapping.event,
        mapping.time,
        mapping
            .session
            .as_ref()
            .map(|s| format!(" --session-col {s}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "#\n# Event vocabulary (count):");
    for (e, n) in vocabulary {
        let _ = writeln!(out, "#   {e:<28} {n}");
    }
    let conversion = guess_conversion(vocabulary);
    let steps = suggest_funnel(t, conversion.as_deref());
    if let Some(c) = conversion.as_ref().or(steps.last()) {
        let _ = writeln!(out, "\n# The event that counts as converting (guessed).");
        let _ = writeln!(out, "[conversion]\nevent = {}", quote(c));
    }
    if !steps.is_empty() {
        let _ = writeln!(
            out,
            "\n# Suggested from the most common order in which users first do each event."
        );
        let _ = writeln!(out, "[funnel]");
        let list: Vec<String> = steps.iter().map(|s| quote(s)).collect();
        let _ = writeln!(out, "steps = [{}]", list.join(", "));
        let _ = writeln!(
            out,
            "window = \"14d\"\nmode = \"ordered\"  # ordered | strict | unordered\nper = \"user\"      # user | session"
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
            unmapped.push(e.clone());
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
    }

    #[test]
    fn keyword_stages() {
        assert_eq!(stage_of("add_to_cart"), Some("Purchase"));
        assert_eq!(stage_of("invite_teammate"), Some("Advocacy"));
        assert_eq!(stage_of("page_view"), Some("Awareness"));
        assert_eq!(stage_of("zzz"), None);
    }
}
