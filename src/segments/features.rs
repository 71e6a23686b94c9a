//! Behaviour features per unit (a session or a user). The exact definitions
//! are in docs/segments.md; this file is their one implementation.
//!
//! For a user, volume features are per session (events per session, product
//! views per session, ...): on generated data with planted segments, totals
//! mostly measure how many sessions a user happened to have, while per-session
//! rates and event shares separate the behaviours (docs/segments.md, "Why
//! rates").

use serde::{Deserialize, Serialize};

use crate::ingest::EventTable;
use crate::sessions::Sessions;

use super::Unit;

/// How a raw feature value becomes a model input (before centring and scaling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Counts, durations and rates: `ln(1 + x)`, then z-score.
    Log1p,
    /// Shares, flags and the funnel step: z-score as they are.
    Identity,
    /// One-hot levels of a categorical column: centred, divided by √2.
    Indicator,
}

/// What a feature measures; the naming rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Events,
    DistinctPages,
    DistinctProducts,
    ProductViews,
    CartAdds,
    CheckoutReached,
    FurthestStep,
    Duration,
    SecondsPerEvent,
    Sessions,
    DaysActive,
    /// Share of the unit's events with this name (`None`: all other names).
    Share(Option<String>),
    /// One level of a categorical column (device, channel).
    Category {
        column: String,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDef {
    pub name: String,
    pub kind: Kind,
    pub transform: Transform,
}

/// Raw feature values, row-major: `values[unit * defs.len() + feature]`.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub defs: Vec<FeatureDef>,
    pub rows: usize,
    pub values: Vec<f64>,
}

impl Features {
    pub fn cols(&self) -> usize {
        self.defs.len()
    }
    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.values[row * self.defs.len() + col]
    }
}

/// Event names tried, in order, for each role when no flag names one.
pub const PRODUCT_VIEW_EVENTS: &[&str] = &[
    "product_view",
    "view_item",
    "Product Viewed",
    "product_viewed",
    "view_product",
];
pub const CART_ADD_EVENTS: &[&str] = &["add_to_cart", "Product Added", "added_to_cart", "cart_add"];
pub const CHECKOUT_EVENTS: &[&str] = &[
    "begin_checkout",
    "Checkout Started",
    "checkout_started",
    "start_checkout",
    "checkout",
];
/// Property columns tried, in order, for each role.
pub const PAGE_COLUMNS: &[&str] = &["page", "page_path", "path", "url", "page_location"];
pub const PRODUCT_COLUMNS: &[&str] = &["product_id", "product", "item_id", "sku"];
pub const DEVICE_COLUMNS: &[&str] = &["device", "device_type", "device_category", "platform"];
pub const CHANNEL_COLUMNS: &[&str] = &[
    "channel",
    "utm_medium",
    "traffic_source",
    "source",
    "utm_source",
];

/// At most this many event names get their own share feature (the most
/// frequent among the units clustered); the rest share `share:(other)`.
pub const MAX_SHARE_EVENTS: usize = 24;
/// At most this many levels per categorical column; the rest are `(other)`.
pub const MAX_LEVELS: usize = 8;

/// The events and columns that the role features read, resolved against a table.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    pub product_view: Option<u32>,
    pub cart_add: Option<u32>,
    pub checkout: Option<u32>,
    pub page: Option<usize>,
    pub product: Option<usize>,
    pub device: Option<usize>,
    pub channel: Option<usize>,
}

/// Event names that override the role lists (from `--product-view` etc.).
#[derive(Debug, Clone, Default)]
pub struct RoleNames {
    pub product_view: Option<String>,
    pub cart_add: Option<String>,
    pub checkout: Option<String>,
}

fn event_code(t: &EventTable, name: &str) -> Option<u32> {
    (0..t.event_names.len() as u32).find(|&c| t.event_names.get(c) == name)
}

/// Resolves the roles; a name given explicitly must exist in the data.
pub fn resolve_roles(t: &EventTable, names: &RoleNames) -> Result<Roles, crate::error::DataError> {
    let pick = |given: &Option<String>,
                defaults: &[&str],
                flag: &str|
     -> Result<Option<u32>, crate::error::DataError> {
        match given {
            Some(name) => event_code(t, name).map(Some).ok_or_else(|| {
                crate::error::DataError::Input(format!(
                    "{flag}: unknown event {name:?}{}",
                    crate::predicate::suggest(name, t.event_names.iter())
                ))
            }),
            None => Ok(defaults.iter().find_map(|n| event_code(t, n))),
        }
    };
    let column = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| t.props.iter().position(|p| p.name == *n))
    };
    Ok(Roles {
        product_view: pick(&names.product_view, PRODUCT_VIEW_EVENTS, "--product-view")?,
        cart_add: pick(&names.cart_add, CART_ADD_EVENTS, "--cart-add")?,
        checkout: pick(&names.checkout, CHECKOUT_EVENTS, "--checkout")?,
        page: column(PAGE_COLUMNS),
        product: column(PRODUCT_COLUMNS),
        device: column(DEVICE_COLUMNS),
        channel: column(CHANNEL_COLUMNS),
    })
}

/// The units to describe, with each one's events.
pub struct UnitEvents<'a> {
    pub unit: Unit,
    t: &'a EventTable,
    sessions: &'a Sessions,
    /// Per user unit: the table range; per session unit: (offset, len) into `order`.
    spans: Vec<(usize, usize)>,
    /// Per user unit: its first session and session count.
    user_sessions: Vec<(u32, u32)>,
    /// Event indices grouped by session, in time order (session units only).
    order: Vec<u32>,
}

impl<'a> UnitEvents<'a> {
    /// Every user (in table order) or every session (in session order).
    pub fn all(t: &'a EventTable, sessions: &'a Sessions, unit: Unit) -> Self {
        match unit {
            Unit::User => {
                let ranges = t.user_ranges();
                let user_sessions = ranges
                    .iter()
                    .map(|r| {
                        let first = sessions.of_event[r.start];
                        let last = r
                            .clone()
                            .map(|i| sessions.of_event[i])
                            .max()
                            .unwrap_or(first);
                        (first, last - first + 1)
                    })
                    .collect();
                UnitEvents {
                    unit,
                    t,
                    sessions,
                    spans: ranges.iter().map(|r| (r.start, r.len())).collect(),
                    user_sessions,
                    order: Vec::new(),
                }
            }
            Unit::Session => {
                // Counting sort of event indices by session: O(events).
                let n = sessions.len();
                let mut start = vec![0usize; n + 1];
                for &s in &sessions.of_event {
                    start[s as usize + 1] += 1;
                }
                for s in 0..n {
                    start[s + 1] += start[s];
                }
                let spans = (0..n)
                    .map(|s| (start[s], start[s + 1] - start[s]))
                    .collect();
                let mut fill = start;
                let mut order = vec![0u32; sessions.of_event.len()];
                for (i, &s) in sessions.of_event.iter().enumerate() {
                    order[fill[s as usize]] = i as u32;
                    fill[s as usize] += 1;
                }
                UnitEvents {
                    unit,
                    t,
                    sessions,
                    spans,
                    user_sessions: Vec::new(),
                    order,
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The unit's user code and, per session, its session number.
    pub fn id(&self, u: usize) -> (u32, Option<u32>) {
        match self.unit {
            Unit::User => (self.t.user[self.spans[u].0], None),
            Unit::Session => (self.sessions.user[u], Some(u as u32)),
        }
    }

    /// The unit's event indices in time order.
    pub fn events(&self, u: usize) -> impl Iterator<Item = usize> + '_ {
        let (start, len) = self.spans[u];
        let (range, indirect) = match self.unit {
            Unit::User => (start..start + len, false),
            Unit::Session => (start..start + len, true),
        };
        range.map(move |i| if indirect { self.order[i] as usize } else { i })
    }

    /// The unit's last event.
    pub fn last_event(&self, u: usize) -> usize {
        let (start, len) = self.spans[u];
        match self.unit {
            Unit::User => start + len - 1,
            Unit::Session => self.order[start + len - 1] as usize,
        }
    }

    /// (sessions, summed session duration in ms).
    fn sessions_and_duration(&self, u: usize) -> (u32, i64) {
        match self.unit {
            Unit::User => {
                let (first, count) = self.user_sessions[u];
                let ms = (first..first + count)
                    .map(|s| self.sessions.last_ts[s as usize] - self.sessions.first_ts[s as usize])
                    .sum();
                (count, ms)
            }
            Unit::Session => (1, self.sessions.last_ts[u] - self.sessions.first_ts[u]),
        }
    }
}

/// Computes every feature for the selected units (`selected` indexes `units`).
/// `levels[u]` is the unit's furthest funnel step, when a funnel is given.
pub fn extract(
    units: &UnitEvents,
    selected: &[usize],
    levels: Option<&[i32]>,
    roles: &Roles,
) -> Features {
    let t = units.t;
    let per_user = units.unit == Unit::User;
    let rate = |base: &str| {
        if per_user {
            format!("{base}_per_session")
        } else {
            base.to_string()
        }
    };

    // Pass 1: event counts by name, and each unit's first device and channel.
    let mut by_event = vec![0u64; t.event_names.len()];
    let cat_cols: Vec<usize> = [roles.device, roles.channel]
        .into_iter()
        .flatten()
        .collect();
    let mut first_code: Vec<Vec<u32>> = vec![Vec::with_capacity(selected.len()); cat_cols.len()];
    for &u in selected {
        let mut firsts = vec![0u32; cat_cols.len()];
        for i in units.events(u) {
            by_event[t.event[i] as usize] += 1;
            for (c, &col) in cat_cols.iter().enumerate() {
                if firsts[c] == 0 {
                    firsts[c] = t.props[col].codes[i];
                }
            }
        }
        for (c, f) in firsts.into_iter().enumerate() {
            first_code[c].push(f);
        }
    }

    let mut defs: Vec<FeatureDef> = Vec::new();
    fn push(defs: &mut Vec<FeatureDef>, name: String, kind: Kind, transform: Transform) {
        defs.push(FeatureDef {
            name,
            kind,
            transform,
        });
    }
    push(&mut defs, rate("events"), Kind::Events, Transform::Log1p);
    if roles.page.is_some() {
        push(
            &mut defs,
            rate("distinct_pages"),
            Kind::DistinctPages,
            Transform::Log1p,
        );
    }
    if roles.product.is_some() {
        push(
            &mut defs,
            rate("distinct_products"),
            Kind::DistinctProducts,
            Transform::Log1p,
        );
    }
    if roles.product_view.is_some() {
        push(
            &mut defs,
            rate("product_views"),
            Kind::ProductViews,
            Transform::Log1p,
        );
    }
    if roles.cart_add.is_some() {
        push(
            &mut defs,
            rate("cart_adds"),
            Kind::CartAdds,
            Transform::Log1p,
        );
    }
    if roles.checkout.is_some() {
        push(
            &mut defs,
            "checkout_reached".into(),
            Kind::CheckoutReached,
            Transform::Identity,
        );
    }
    if levels.is_some() {
        push(
            &mut defs,
            "furthest_step".into(),
            Kind::FurthestStep,
            Transform::Identity,
        );
    }
    push(
        &mut defs,
        rate("duration_s"),
        Kind::Duration,
        Transform::Log1p,
    );
    push(
        &mut defs,
        "seconds_per_event".into(),
        Kind::SecondsPerEvent,
        Transform::Log1p,
    );
    if per_user {
        push(
            &mut defs,
            "sessions".into(),
            Kind::Sessions,
            Transform::Log1p,
        );
        push(
            &mut defs,
            "days_active".into(),
            Kind::DaysActive,
            Transform::Log1p,
        );
    }
    // Shares: the most frequent names first (ties by name), the rest pooled.
    let mut names: Vec<u32> = (0..by_event.len() as u32)
        .filter(|&c| by_event[c as usize] > 0)
        .collect();
    names.sort_by(|&a, &b| {
        by_event[b as usize]
            .cmp(&by_event[a as usize])
            .then_with(|| t.event_names.get(a).cmp(t.event_names.get(b)))
    });
    let share_base = defs.len();
    let mut share_col = vec![u32::MAX; t.event_names.len()];
    let pooled = names.len() > MAX_SHARE_EVENTS;
    for (j, &c) in names.iter().enumerate() {
        let j = j.min(MAX_SHARE_EVENTS);
        share_col[c as usize] = (share_base + j) as u32;
        if j < MAX_SHARE_EVENTS {
            let name = t.event_names.get(c).to_string();
            push(
                &mut defs,
                format!("share:{name}"),
                Kind::Share(Some(name)),
                Transform::Identity,
            );
        }
    }
    if pooled {
        push(
            &mut defs,
            "share:(other)".into(),
            Kind::Share(None),
            Transform::Identity,
        );
    }
    // Categorical levels: the most common first values (ties by name).
    let mut cat_level: Vec<Vec<u32>> = Vec::new(); // per column: value code → column index
    for (c, &col) in cat_cols.iter().enumerate() {
        let prop = &t.props[col];
        let mut count = vec![0u64; prop.values.len().max(1)];
        for &code in &first_code[c] {
            count[code as usize] += 1;
        }
        let mut vals: Vec<u32> = (1..count.len() as u32)
            .filter(|&v| count[v as usize] > 0)
            .collect();
        vals.sort_by(|&a, &b| {
            count[b as usize]
                .cmp(&count[a as usize])
                .then_with(|| prop.values.get(a).cmp(prop.values.get(b)))
        });
        let mut map = vec![u32::MAX; count.len()];
        let mut level = |label: String| {
            let name = format!("{}={label}", prop.name);
            let idx = defs.len() as u32;
            defs.push(FeatureDef {
                name,
                kind: Kind::Category {
                    column: prop.name.clone(),
                    value: label,
                },
                transform: Transform::Indicator,
            });
            idx
        };
        for &v in vals.iter().take(MAX_LEVELS) {
            map[v as usize] = level(prop.values.get(v).to_string());
        }
        if vals.len() > MAX_LEVELS {
            let other = level("(other)".into());
            for &v in &vals[MAX_LEVELS..] {
                map[v as usize] = other;
            }
        }
        if count[0] > 0 {
            map[0] = level("(missing)".into());
        }
        cat_level.push(map);
    }

    // Pass 2: the values.
    let cols = defs.len();
    let col_of = |k: &Kind| defs.iter().position(|d| &d.kind == k);
    let (c_pages, c_products) = (
        col_of(&Kind::DistinctPages),
        col_of(&Kind::DistinctProducts),
    );
    let (c_views, c_carts) = (col_of(&Kind::ProductViews), col_of(&Kind::CartAdds));
    let (c_checkout, c_step) = (col_of(&Kind::CheckoutReached), col_of(&Kind::FurthestStep));
    let (c_dur, c_spe) = (col_of(&Kind::Duration), col_of(&Kind::SecondsPerEvent));
    let (c_sess, c_days) = (col_of(&Kind::Sessions), col_of(&Kind::DaysActive));
    let mut page_seen = roles.page.map(|p| vec![u32::MAX; t.props[p].values.len()]);
    let mut product_seen = roles
        .product
        .map(|p| vec![u32::MAX; t.props[p].values.len()]);
    let mut values = vec![0.0f64; selected.len() * cols];
    for (row, &u) in selected.iter().enumerate() {
        let out = &mut values[row * cols..(row + 1) * cols];
        let stamp = row as u32;
        let (mut n, mut pages, mut products, mut views, mut carts) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut checkout = false;
        let (mut days, mut last_day) = (0u64, i64::MIN);
        for i in units.events(u) {
            n += 1;
            let e = t.event[i];
            out[share_col[e as usize] as usize] += 1.0;
            views += u64::from(Some(e) == roles.product_view);
            carts += u64::from(Some(e) == roles.cart_add);
            checkout |= Some(e) == roles.checkout;
            if let (Some(p), Some(seen)) = (roles.page, page_seen.as_mut()) {
                let code = t.props[p].codes[i] as usize;
                if code != 0 && seen[code] != stamp {
                    seen[code] = stamp;
                    pages += 1;
                }
            }
            if let (Some(p), Some(seen)) = (roles.product, product_seen.as_mut()) {
                let code = t.props[p].codes[i] as usize;
                if code != 0 && seen[code] != stamp {
                    seen[code] = stamp;
                    products += 1;
                }
            }
            if per_user {
                let day = t.ts[i].div_euclid(86_400_000);
                if day != last_day {
                    days += 1;
                    last_day = day;
                }
            }
        }
        let (sessions, dur_ms) = units.sessions_and_duration(u);
        let per = if per_user { f64::from(sessions) } else { 1.0 };
        let dur_s = dur_ms as f64 / 1000.0;
        let share_end = share_base + names.len().min(MAX_SHARE_EVENTS) + usize::from(pooled);
        for v in &mut out[share_base..share_end] {
            *v /= n as f64;
        }
        out[0] = n as f64 / per;
        let mut set = |c: Option<usize>, v: f64| {
            if let Some(c) = c {
                out[c] = v;
            }
        };
        set(c_pages, pages as f64 / per);
        set(c_products, products as f64 / per);
        set(c_views, views as f64 / per);
        set(c_carts, carts as f64 / per);
        set(c_checkout, f64::from(u8::from(checkout)));
        set(c_step, levels.map_or(0.0, |l| f64::from(l[u].max(0))));
        set(c_dur, dur_s / per);
        set(
            c_spe,
            dur_s / (n.saturating_sub(u64::from(sessions))).max(1) as f64,
        );
        set(c_sess, f64::from(sessions));
        set(c_days, days as f64);
        for (c, map) in cat_level.iter().enumerate() {
            out[map[first_code[c][row] as usize] as usize] = 1.0;
        }
    }
    Features {
        defs,
        rows: selected.len(),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::{self, SessionSource};

    /// Two users: a has two sessions (views, then a cart add and checkout),
    /// b one session of three views. Pages and devices as properties.
    pub(crate) fn table() -> EventTable {
        let mut t = EventTable {
            user_names: ["a", "b"].into_iter().collect(),
            event_names: ["page_view", "product_view", "add_to_cart", "begin_checkout"]
                .into_iter()
                .collect(),
            ..EventTable::default()
        };
        let mut page = crate::ingest::Interner::with_null();
        let mut device = crate::ingest::Interner::with_null();
        let rows: [(u32, u32, i64, &str, &str); 9] = [
            (0, 0, 0, "/", "mobile"),
            (0, 1, 10_000, "/p1", "mobile"),
            (0, 1, 30_000, "/p2", "mobile"),
            // second session, a day later
            (0, 1, 86_400_000, "/p1", "desktop"),
            (0, 2, 86_410_000, "/p1", "desktop"),
            (0, 3, 86_420_000, "/checkout", "desktop"),
            (1, 1, 0, "/p1", ""),
            (1, 1, 5_000, "/p3", "desktop"),
            (1, 1, 20_000, "/p3", "desktop"),
        ];
        let (mut pc, mut dc) = (Vec::new(), Vec::new());
        for (u, e, ts, p, d) in rows {
            t.user.push(u);
            t.event.push(e);
            t.ts.push(ts);
            pc.push(if p.is_empty() { 0 } else { page.intern(p) });
            dc.push(if d.is_empty() { 0 } else { device.intern(d) });
        }
        t.props.push(crate::ingest::PropColumn {
            name: "page".into(),
            values: page,
            codes: pc,
        });
        t.props.push(crate::ingest::PropColumn {
            name: "device".into(),
            values: device,
            codes: dc,
        });
        t
    }

    fn value(f: &Features, row: usize, name: &str) -> f64 {
        let c = f
            .defs
            .iter()
            .position(|d| d.name == name)
            .unwrap_or_else(|| panic!("no feature {name}"));
        f.get(row, c)
    }

    #[test]
    fn user_features_follow_the_definitions() {
        let t = table();
        let s = sessions::build(&t, &SessionSource::Inactivity { gap_ms: 1_800_000 });
        let units = UnitEvents::all(&t, &s, Unit::User);
        let roles = resolve_roles(&t, &RoleNames::default()).unwrap();
        assert_eq!(
            (roles.product_view, roles.cart_add, roles.checkout),
            (Some(1), Some(2), Some(3))
        );
        let f = extract(&units, &[0, 1], Some(&[3, 1]), &roles);
        // a: 6 events in 2 sessions; 4 distinct pages; 3 views; 1 cart add.
        assert_eq!(value(&f, 0, "events_per_session"), 3.0);
        assert_eq!(value(&f, 0, "distinct_pages_per_session"), 2.0);
        assert_eq!(value(&f, 0, "product_views_per_session"), 1.5);
        assert_eq!(value(&f, 0, "cart_adds_per_session"), 0.5);
        assert_eq!(value(&f, 0, "checkout_reached"), 1.0);
        assert_eq!(value(&f, 0, "furthest_step"), 3.0);
        // Sessions last 30 s and 20 s; 6 events - 2 sessions = 4 gaps.
        assert_eq!(value(&f, 0, "duration_s_per_session"), 25.0);
        assert_eq!(value(&f, 0, "seconds_per_event"), 12.5);
        assert_eq!(value(&f, 0, "sessions"), 2.0);
        assert_eq!(value(&f, 0, "days_active"), 2.0);
        assert_eq!(value(&f, 0, "share:product_view"), 0.5);
        // Device: the unit's first non-missing value.
        assert_eq!(value(&f, 0, "device=mobile"), 1.0);
        assert_eq!(value(&f, 1, "device=desktop"), 1.0);
        assert_eq!(value(&f, 1, "device=mobile"), 0.0);
        assert_eq!(value(&f, 1, "distinct_pages_per_session"), 2.0);
        assert_eq!(value(&f, 1, "checkout_reached"), 0.0);
        // Shares sum to one.
        let shares: f64 = f
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| matches!(d.kind, Kind::Share(_)))
            .map(|(c, _)| f.get(1, c))
            .sum();
        assert!((shares - 1.0).abs() < 1e-12);
    }

    #[test]
    fn session_features_are_counts() {
        let t = table();
        let s = sessions::build(&t, &SessionSource::Inactivity { gap_ms: 1_800_000 });
        let units = UnitEvents::all(&t, &s, Unit::Session);
        assert_eq!(units.len(), 3);
        assert_eq!(units.id(1), (0, Some(1)));
        let roles = resolve_roles(&t, &RoleNames::default()).unwrap();
        let f = extract(&units, &[1], None, &roles);
        assert_eq!(value(&f, 0, "events"), 3.0);
        assert_eq!(value(&f, 0, "duration_s"), 20.0);
        assert_eq!(value(&f, 0, "seconds_per_event"), 10.0);
        assert!(
            f.defs
                .iter()
                .all(|d| d.name != "sessions" && d.name != "furthest_step")
        );
        assert_eq!(units.last_event(1), 5);
    }

    #[test]
    fn an_unknown_role_event_is_a_data_error() {
        let t = table();
        let names = RoleNames {
            cart_add: Some("add_to_crat".into()),
            ..RoleNames::default()
        };
        let err = resolve_roles(&t, &names).unwrap_err().to_string();
        assert!(err.contains("did you mean \"add_to_cart\""), "{err}");
    }
}
