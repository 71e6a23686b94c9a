//! The per-unit funnel scan: one user's (or session's) events in order, each
//! with a bitmask of the steps it matches. Pure functions over slices so the
//! semantics can be tested against a brute-force reference.

/// Bit 31 of an event's mask marks an exclusion event.
pub const EXCLUDE_BIT: u32 = 1 << 31;
/// Steps use bits 0..30.
pub const MAX_STEPS: usize = 30;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Steps in order; other events may come between them.
    Ordered,
    /// Steps in order with no other event of the unit between consecutive steps.
    Strict,
    /// All steps within the window, in any order.
    Unordered,
}

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub steps: usize,
    /// Milliseconds from the attempt's first event; `None`: unbounded (per session).
    pub window: Option<i64>,
    pub mode: Mode,
}

/// The result for one unit. `pos[k]` is the index (within the unit) of the
/// event that satisfied step k in the best attempt, for k < level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Furthest step reached by a non-excluded attempt (0: never entered).
    pub level: usize,
    /// Every attempt the unit made was excluded.
    pub excluded: bool,
    pub pos: Vec<usize>,
}

/// Scratch buffers reused across units.
#[derive(Default)]
pub struct Scratch {
    next: Vec<u32>,
    excl_prefix: Vec<u32>,
}

const NONE: u32 = u32::MAX;

fn window_end(ts: &[i64], start: usize, window: Option<i64>) -> i64 {
    window.map_or(i64::MAX, |w| ts[start].saturating_add(w))
}

/// Evaluates one unit. `ts` is non-decreasing; `mask[i]` has bit k set when
/// event i matches step k, and [`EXCLUDE_BIT`] when it is an exclusion event.
pub fn evaluate(ts: &[i64], mask: &[u32], spec: &Spec, scratch: &mut Scratch) -> Outcome {
    let n = ts.len();
    let k_steps = spec.steps;
    let has_excl = mask.iter().any(|m| m & EXCLUDE_BIT != 0);
    if has_excl {
        let p = &mut scratch.excl_prefix;
        p.clear();
        p.push(0);
        for m in mask {
            let last = *p.last().unwrap_or(&0);
            p.push(last + u32::from(m & EXCLUDE_BIT != 0));
        }
    }
    // Exclusion events at positions in (from, to], `to` inclusive.
    let excl_between = |from: usize, to_incl: usize| -> bool {
        has_excl && to_incl > from && scratch_count(&scratch.excl_prefix, from + 1, to_incl + 1) > 0
    };
    if spec.mode == Mode::Unordered {
        return unordered(ts, mask, spec, has_excl, &excl_between);
    }
    if spec.mode == Mode::Ordered {
        // next[k * (n + 1) + p]: first index ≥ p matching step k.
        let next = &mut scratch.next;
        next.clear();
        next.resize(k_steps * (n + 1), NONE);
        for k in 1..k_steps {
            let row = &mut next[k * (n + 1)..(k + 1) * (n + 1)];
            for p in (0..n).rev() {
                row[p] = if mask[p] & (1 << k) != 0 {
                    p as u32
                } else {
                    row[p + 1]
                };
            }
        }
    }
    let mut best = Outcome::default();
    let mut entered = false;
    let mut wend_idx = 0usize;
    let mut pos = Vec::with_capacity(k_steps);
    for start in 0..n {
        if mask[start] & 1 == 0 {
            continue;
        }
        entered = true;
        let limit = window_end(ts, start, spec.window);
        pos.clear();
        pos.push(start);
        let mut prev = start;
        for k in 1..k_steps {
            let cand = match spec.mode {
                Mode::Strict => {
                    let q = prev + 1;
                    (q < n && mask[q] & (1 << k) != 0).then_some(q)
                }
                _ => {
                    let q = if prev < n {
                        scratch.next[k * (n + 1) + prev + 1]
                    } else {
                        NONE
                    };
                    (q != NONE).then_some(q as usize)
                }
            };
            match cand {
                Some(q) if ts[q] <= limit => {
                    pos.push(q);
                    prev = q;
                }
                _ => break,
            }
        }
        let level = pos.len();
        let excluded = if level == k_steps {
            excl_between(start, prev.saturating_sub(1).max(start))
        } else {
            wend_idx = wend_idx.max(start);
            while wend_idx + 1 < n && ts[wend_idx + 1] <= limit {
                wend_idx += 1;
            }
            excl_between(start, wend_idx)
        };
        if !excluded && level > best.level {
            best.level = level;
            best.pos = pos.clone();
            if level == k_steps {
                break;
            }
        }
    }
    best.excluded = entered && best.level == 0;
    best
}

fn scratch_count(prefix: &[u32], from: usize, to: usize) -> u32 {
    prefix[to] - prefix[from]
}

/// Unordered: from each event matching any step, the largest set of distinct
/// steps that distinct events within the window satisfy (a bipartite matching,
/// since one event may match several steps). Events are added in order and
/// the matching grown as they come, so a complete attempt ends at the earliest
/// possible event.
fn unordered(
    ts: &[i64],
    mask: &[u32],
    spec: &Spec,
    has_excl: bool,
    excl_between: &dyn Fn(usize, usize) -> bool,
) -> Outcome {
    let n = ts.len();
    let k_steps = spec.steps;
    let all_steps = (1u32 << k_steps) - 1;
    let mut best = Outcome::default();
    let mut entered = false;
    for start in 0..n {
        if mask[start] & all_steps == 0 {
            continue;
        }
        entered = true;
        let limit = window_end(ts, start, spec.window);
        let mut events: Vec<usize> = Vec::new();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); k_steps];
        let mut owner: Vec<usize> = Vec::new();
        let mut step_done = vec![false; k_steps];
        let mut matched = 0;
        let mut wend = start;
        let mut complete_at = None;
        for q in start..n {
            if ts[q] > limit {
                break;
            }
            wend = q;
            if mask[q] & all_steps == 0 {
                continue;
            }
            let local = events.len();
            events.push(q);
            owner.push(usize::MAX);
            for (k, a) in adj.iter_mut().enumerate() {
                if mask[q] & (1 << k) != 0 {
                    a.push(local);
                }
            }
            for (k, done) in step_done.iter_mut().enumerate() {
                if !*done {
                    let mut seen = vec![false; events.len()];
                    if augment(k, &adj, &mut owner, &mut seen) {
                        *done = true;
                        matched += 1;
                    }
                }
            }
            if matched == k_steps {
                complete_at = Some(q);
                break;
            }
        }
        let excluded = has_excl
            && match complete_at {
                Some(last) => excl_between(start, last.saturating_sub(1).max(start)),
                None => excl_between(start, wend),
            };
        if !excluded && matched > best.level {
            best.level = matched;
            let mut pos: Vec<usize> = owner
                .iter()
                .zip(&events)
                .filter(|(o, _)| **o != usize::MAX)
                .map(|(_, &e)| e)
                .collect();
            pos.sort_unstable();
            best.pos = pos;
            if matched == k_steps {
                break;
            }
        }
    }
    best.excluded = entered && best.level == 0;
    best
}

/// Kuhn's augmenting path for step `k`; `owner[e]` is the step that event e serves.
fn augment(k: usize, adj: &[Vec<usize>], owner: &mut [usize], seen: &mut [bool]) -> bool {
    for &e in &adj[k] {
        if seen[e] {
            continue;
        }
        seen[e] = true;
        if owner[e] == usize::MAX || augment(owner[e], adj, owner, seen) {
            owner[e] = k;
            return true;
        }
    }
    false
}
