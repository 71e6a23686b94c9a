//! Answers: a route and the current state to a status and a JSON body.
//! Pure, so the tests and the fuzz target reach it without a socket.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::route::{Refusal, Route};
use super::state::State;

/// Request counters by route and status class, for /metrics.
#[derive(Default)]
pub struct Counters {
    cells: [[AtomicU64; 3]; 6],
    pub reloads: AtomicU64,
    pub failed_reloads: AtomicU64,
}

const ROUTES: [&str; 6] = [
    "recommendations",
    "next_best_action",
    "healthz",
    "readyz",
    "metrics",
    "other",
];

impl Counters {
    pub fn count(&self, route: &str, status: u16) {
        let r = ROUTES.iter().position(|x| *x == route).unwrap_or(5);
        let c = match status {
            200..=299 => 0,
            400..=499 => 1,
            _ => 2,
        };
        self.cells[r][c].fetch_add(1, Ordering::Relaxed);
    }

    pub fn prometheus(&self) -> String {
        let mut s = String::from(
            "# HELP journeymap_requests_total Requests answered, by route and status class.\n# TYPE journeymap_requests_total counter\n",
        );
        for (r, name) in ROUTES.iter().enumerate() {
            for (c, class) in ["2xx", "4xx", "5xx"].iter().enumerate() {
                s.push_str(&format!(
                    "journeymap_requests_total{{route=\"{name}\",status=\"{class}\"}} {}\n",
                    self.cells[r][c].load(Ordering::Relaxed)
                ));
            }
        }
        s.push_str(&format!(
            "# TYPE journeymap_reloads_total counter\njourneymap_reloads_total {}\n# TYPE journeymap_failed_reloads_total counter\njourneymap_failed_reloads_total {}\n",
            self.reloads.load(Ordering::Relaxed),
            self.failed_reloads.load(Ordering::Relaxed)
        ));
        s
    }
}

pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub allow: Option<&'static str>,
}

fn json<T: Serialize>(status: u16, v: &T) -> Answer {
    Answer {
        status,
        body: serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()),
        content_type: "application/json",
        allow: None,
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

pub fn refusal(r: &Refusal) -> Answer {
    let mut a = json(
        r.status,
        &ErrorBody {
            error: r.error,
            message: &r.message,
        },
    );
    a.allow = r.allow;
    a
}

#[derive(Serialize)]
struct Item<'a> {
    item_id: &'a str,
    score: Option<f64>,
    rank: usize,
    source: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct Recs<'a> {
    user_id: &'a str,
    items: Vec<Item<'a>>,
    /// The list is not the model's: an unknown or cold-start user.
    fallback: bool,
    #[serde(rename = "override")]
    overridden: Option<&'static str>,
    model_version: &'a str,
    generated_at: &'a str,
}

#[derive(Serialize)]
struct Action<'a> {
    user_id: &'a str,
    score: Option<f64>,
    risk: Option<f64>,
    risk_band: Option<&'a str>,
    stage: Option<&'a str>,
    action: Option<&'a str>,
    /// model (the scores file), rule (the fallback action) or override.
    source: &'static str,
    #[serde(rename = "override")]
    overridden: Option<&'static str>,
    model_version: &'a str,
}

fn source_name(c: &crate::recommend::modelfile::SourceCode) -> &'static str {
    use crate::recommend::modelfile::SourceCode as S;
    match c {
        S::Ease => "ease",
        S::Cooc => "cooc",
        S::Markov => "markov",
        S::GroupPopularity => "group_popularity",
        S::Popularity => "popularity",
        S::NewInCategory => "new_in_category",
    }
}

/// The answer to a routed request.
pub fn answer(state: &State, route: &Route, counters: &Counters, fallback_action: &str) -> Answer {
    match route {
        Route::Health => json(200, &serde_json::json!({"status": "ok"})),
        Route::Ready => json(
            200,
            &serde_json::json!({
                "ready": true,
                "model_version": state.model_version,
                "model": state.model.model,
                "generated_at": state.model.generated_at,
                "users": state.model.users.len(),
                "items": state.model.items.len(),
                "scores": state.scores.as_ref().map(|s| s.len()),
                "override_rules": state.overrides.rules(),
            }),
        ),
        Route::Metrics => Answer {
            status: 200,
            body: counters.prometheus().into_bytes(),
            content_type: "text/plain; version=0.0.4",
            allow: None,
        },
        Route::Recommendations { user, k } => {
            let stored = state.model.k;
            let k = k.unwrap_or(stored);
            if k > stored {
                return refusal(&Refusal {
                    status: 400,
                    error: "bad_k",
                    message: format!(
                        "k={k}: the model holds {stored} items per user; ask for 1 to {stored} (train with a larger --k for more)"
                    ),
                    allow: None,
                });
            }
            recommendations(state, user, k)
        }
        Route::NextBestAction { user } => next_best_action(state, user, fallback_action),
    }
}

fn recommendations(state: &State, user: &str, k: usize) -> Answer {
    let m = &state.model;
    let mut body = Recs {
        user_id: user,
        items: Vec::new(),
        fallback: false,
        overridden: None,
        model_version: &state.model_version,
        generated_at: &m.generated_at,
    };
    if state.overrides.suppress.contains_key(user) {
        body.overridden = Some("suppressed");
        return json(200, &body);
    }
    let (list, unknown) = match state.list(user) {
        Some(l) => (l, false),
        None => (m.global.as_slice(), true),
    };
    let mut taken: Vec<u32> = Vec::new();
    if let Some((items, note)) = state.overrides.force_items.get(user) {
        body.overridden = Some("forced");
        for id in items {
            let Some(&i) = state.item_index.get(id) else {
                // Forced items need not be in the model (a new book); the
                // ban list still wins.
                if !state.overrides.banned.contains(id) && body.items.len() < k {
                    body.items.push(Item {
                        item_id: id,
                        score: None,
                        rank: body.items.len() + 1,
                        source: "override",
                        reason: if note.is_empty() {
                            "chosen by hand".into()
                        } else {
                            note.clone()
                        },
                    });
                }
                continue;
            };
            if state.banned[i as usize] || taken.contains(&i) || body.items.len() >= k {
                continue;
            }
            taken.push(i);
            body.items.push(Item {
                item_id: &m.items[i as usize],
                score: None,
                rank: body.items.len() + 1,
                source: "override",
                reason: if note.is_empty() {
                    "chosen by hand".into()
                } else {
                    note.clone()
                },
            });
        }
    }
    let mut first_model = None;
    for c in list {
        if body.items.len() >= k {
            break;
        }
        if state.banned[c.0 as usize] || taken.contains(&c.0) {
            continue;
        }
        first_model.get_or_insert(!State::is_fallback(c));
        taken.push(c.0);
        body.items.push(Item {
            item_id: &m.items[c.0 as usize],
            score: Some(crate::stats::round6(f64::from(c.1))),
            rank: body.items.len() + 1,
            source: source_name(&c.2),
            reason: m.reason(c),
        });
    }
    body.fallback = unknown || first_model == Some(false);
    json(200, &body)
}

fn next_best_action<'a>(state: &'a State, user: &'a str, fallback_action: &'a str) -> Answer {
    let mut body = Action {
        user_id: user,
        score: None,
        risk: None,
        risk_band: None,
        stage: None,
        action: None,
        source: "rule",
        overridden: None,
        model_version: &state.model_version,
    };
    let row = state.scores.as_ref().and_then(|s| s.get(user));
    if let Some(r) = row {
        body.score = r.score;
        body.risk = r.risk;
        body.risk_band = r.risk_band.as_deref();
        body.stage = r.stage.as_deref();
    }
    if state.overrides.suppress.contains_key(user) {
        body.source = "override";
        body.overridden = Some("suppressed");
    } else if let Some((a, _)) = state.overrides.force_action.get(user) {
        body.action = Some(a);
        body.source = "override";
        body.overridden = Some("forced");
    } else if let Some(a) = row.and_then(|r| r.action.as_deref()) {
        body.action = Some(a);
        body.source = "model";
    } else {
        body.action = Some(fallback_action);
    }
    json(200, &body)
}
