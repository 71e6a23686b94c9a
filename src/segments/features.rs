//! Segment features: which measures of the shared vocabulary
//! ([`crate::features`]) describe a unit, in which order, and what the
//! naming rules see in each ([`Kind`]). The values come from the shared
//! extractor. Definitions: docs/segments.md and docs/features.md.
//!
//! For a user, volume features are per session (events per session, product
//! views per session, ...): on generated data with planted segments, totals
//! mostly measure how many sessions a user happened to have, while per-session
//! rates and event shares separate the behaviours (docs/segments.md, "Why
//! rates").

use crate::features::auto::AutoColumns;
use crate::features::extract::FunnelSource;
use crate::features::extract::{events_per_code, first_values};
use crate::features::{Events, Extractor, FeatureDef, RowScratch, Units};
use crate::ingest::EventTable;
use crate::predicate;
use crate::sessions::Sessions;

pub use crate::features::Transform;

/// What a feature measures, as the naming rules read it.
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
    /// A numeric property's sum or mean (price, revenue).
    Numeric {
        column: String,
        mean: bool,
    },
}

/// One segment feature: its shared definition and what the rules see.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub def: FeatureDef,
    pub kind: Kind,
}

impl Feature {
    pub fn name(&self) -> String {
        self.def.name()
    }
    pub fn transform(&self) -> Transform {
        self.def.transform()
    }
}

/// Raw feature values, row-major: `values[unit * defs.len() + feature]`.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub defs: Vec<Feature>,
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

/// Resolves the roles; a name given explicitly must exist in the data.
pub fn resolve_roles(t: &EventTable, names: &RoleNames) -> Result<Roles, crate::error::DataError> {
    let pick = |given: &Option<String>,
                defaults: &[&str],
                flag: &str|
     -> Result<Option<u32>, crate::error::DataError> {
        match given {
            Some(name) => predicate::event_code(t, name).map(Some).ok_or_else(|| {
                crate::error::DataError::Input(format!(
                    "{flag}: unknown event {name:?}{}",
                    crate::predicate::suggest(name, t.event_names.iter())
                ))
            }),
            None => Ok(defaults.iter().find_map(|n| predicate::event_code(t, n))),
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

/// The features of the selected units (`selected` indexes `units`), in
/// their documented order, with the levels and shares the data holds.
pub fn definitions(
    units: &Units,
    selected: &[usize],
    with_funnel: bool,
    roles: &Roles,
    auto_columns: Option<&AutoColumns>,
) -> Vec<Feature> {
    let t = units.table();
    let per_user = units.kind == crate::features::UnitKind::User;
    let events: Vec<Events> = selected.iter().map(|&u| units.events(u)).collect();
    let mut defs: Vec<Feature> = Vec::new();
    let mut push = |def: FeatureDef, kind: Kind| defs.push(Feature { def, kind });
    push(
        FeatureDef::Events {
            per_session: per_user,
        },
        Kind::Events,
    );
    let name = |c: Option<usize>| c.map(|p| t.props[p].name.clone());
    if let Some(column) = name(roles.page) {
        push(
            FeatureDef::DistinctValues {
                column,
                label: "pages".into(),
                per_session: per_user,
            },
            Kind::DistinctPages,
        );
    }
    if let Some(column) = name(roles.product) {
        push(
            FeatureDef::DistinctValues {
                column,
                label: "products".into(),
                per_session: per_user,
            },
            Kind::DistinctProducts,
        );
    }
    let event_name = |c: Option<u32>| c.map(|e| t.event_names.get(e).to_string());
    if let Some(event) = event_name(roles.product_view) {
        push(
            FeatureDef::EventCount {
                event,
                per_session: per_user,
                label: Some("product_views".into()),
            },
            Kind::ProductViews,
        );
    }
    if let Some(event) = event_name(roles.cart_add) {
        push(
            FeatureDef::EventCount {
                event,
                per_session: per_user,
                label: Some("cart_adds".into()),
            },
            Kind::CartAdds,
        );
    }
    if let Some(event) = event_name(roles.checkout) {
        push(
            FeatureDef::Reached {
                event,
                label: "checkout_reached".into(),
            },
            Kind::CheckoutReached,
        );
    }
    if with_funnel {
        push(FeatureDef::FunnelStep { steps: 0 }, Kind::FurthestStep);
    }
    push(
        FeatureDef::DurationSeconds {
            per_session: per_user,
        },
        Kind::Duration,
    );
    push(FeatureDef::SecondsPerEvent, Kind::SecondsPerEvent);
    if per_user {
        push(FeatureDef::Sessions, Kind::Sessions);
        push(FeatureDef::ActiveDays, Kind::DaysActive);
    }
    // Shares: the most frequent names first (ties by name), the rest pooled.
    let by_event = events_per_code(t, &events);
    let mut names: Vec<u32> = (0..by_event.len() as u32)
        .filter(|&c| by_event[c as usize] > 0)
        .collect();
    names.sort_by(|&a, &b| {
        by_event[b as usize]
            .cmp(&by_event[a as usize])
            .then_with(|| t.event_names.get(a).cmp(t.event_names.get(b)))
    });
    for &c in names.iter().take(MAX_SHARE_EVENTS) {
        let e = t.event_names.get(c).to_string();
        push(
            FeatureDef::EventShare {
                event: Some(e.clone()),
            },
            Kind::Share(Some(e)),
        );
    }
    if names.len() > MAX_SHARE_EVENTS {
        push(FeatureDef::EventShare { event: None }, Kind::Share(None));
    }
    // Categorical levels: the role columns, then the automatic ones; the
    // most common first values (ties by name), the rest pooled.
    let mut cat_cols: Vec<usize> = [roles.device, roles.channel]
        .into_iter()
        .flatten()
        .collect();
    if let Some(a) = auto_columns {
        for &p in &a.categorical {
            if !cat_cols.contains(&p) {
                cat_cols.push(p);
            }
        }
    }
    for &col in &cat_cols {
        let prop = &t.props[col];
        let firsts = first_values(t, col, &events);
        let mut count = vec![0u64; prop.values.len().max(1)];
        for &code in &firsts {
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
        let column = prop.name.clone();
        for &v in vals.iter().take(MAX_LEVELS) {
            let value = prop.values.get(v).to_string();
            push(
                FeatureDef::Property {
                    column: column.clone(),
                    value: value.clone(),
                },
                Kind::Category {
                    column: column.clone(),
                    value,
                },
            );
        }
        if vals.len() > MAX_LEVELS {
            push(
                FeatureDef::PropertyOther {
                    column: column.clone(),
                },
                Kind::Category {
                    column: column.clone(),
                    value: "(other)".into(),
                },
            );
        }
        if count[0] > 0 {
            push(
                FeatureDef::PropertyMissing {
                    column: column.clone(),
                },
                Kind::Category {
                    column,
                    value: "(missing)".into(),
                },
            );
        }
    }
    // Numeric properties: the mean over the unit's events that carry the
    // column. Not per event type: a unit without such an event would read
    // 0, which clusters "never bought" with "bought cheaply".
    if let Some(a) = auto_columns {
        for &col in &a.numeric {
            let column = t.props[col].name.clone();
            push(
                FeatureDef::NumericMean {
                    column: column.clone(),
                    event: None,
                },
                Kind::Numeric {
                    column: column.clone(),
                    mean: true,
                },
            );
        }
    }
    defs
}

/// Computes every feature for the selected units (`selected` indexes
/// `units`). `levels[u]` is the unit's furthest funnel step, when a funnel
/// is given; `funnel_steps` its number of steps.
pub fn extract(
    units: &Units,
    sessions: &Sessions,
    selected: &[usize],
    levels: Option<&[i32]>,
    defs: Vec<Feature>,
) -> Features {
    let t = units.table();
    let plain: Vec<FeatureDef> = defs.iter().map(|f| f.def.clone()).collect();
    let (ex, _) = Extractor::new(t, sessions, &plain, FunnelSource::Given)
        .expect("segment features resolve against the table they came from");
    let cols = defs.len();
    let parts = crate::parallel::map_ranges(selected.len(), |range| {
        let mut values = vec![0.0f64; range.len() * cols];
        let mut scratch = RowScratch::default();
        for (row, &u) in values.chunks_exact_mut(cols.max(1)).zip(&selected[range]) {
            ex.row(&units.unit(u, levels.map(|l| l[u])), &mut scratch, row);
        }
        values
    });
    Features {
        defs,
        rows: selected.len(),
        values: parts.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::UnitKind;
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
            .position(|d| d.name() == name)
            .unwrap_or_else(|| panic!("no feature {name}"));
        f.get(row, c)
    }

    #[test]
    fn user_features_follow_the_definitions() {
        let t = table();
        let s = sessions::build(&t, &SessionSource::Inactivity { gap_ms: 1_800_000 });
        let units = Units::all(&t, &s, UnitKind::User);
        let roles = resolve_roles(&t, &RoleNames::default()).unwrap();
        assert_eq!(
            (roles.product_view, roles.cart_add, roles.checkout),
            (Some(1), Some(2), Some(3))
        );
        let defs = definitions(&units, &[0, 1], true, &roles, None);
        let f = extract(&units, &s, &[0, 1], Some(&[3, 1]), defs);
        // a: 6 events in 2 sessions; 4 distinct pages; 3 views; 1 cart add.
        assert_eq!(value(&f, 0, "events_per_session"), 3.0);
        assert_eq!(value(&f, 0, "distinct_pages_per_session"), 2.0);
        assert_eq!(value(&f, 0, "product_views_per_session"), 1.5);
        assert_eq!(value(&f, 0, "cart_adds_per_session"), 0.5);
        assert_eq!(value(&f, 0, "checkout_reached"), 1.0);
        assert_eq!(value(&f, 0, "funnel_step"), 3.0);
        // Sessions last 30 s and 20 s; 6 events - 2 sessions = 4 gaps.
        assert_eq!(value(&f, 0, "duration_s_per_session"), 25.0);
        assert_eq!(value(&f, 0, "seconds_per_event"), 12.5);
        assert_eq!(value(&f, 0, "sessions"), 2.0);
        assert_eq!(value(&f, 0, "active_days"), 2.0);
        assert_eq!(value(&f, 0, "share:product_view"), 0.5);
        // Device: the unit's first non-missing value.
        assert_eq!(value(&f, 0, "property:device=mobile"), 1.0);
        assert_eq!(value(&f, 1, "property:device=desktop"), 1.0);
        assert_eq!(value(&f, 1, "property:device=mobile"), 0.0);
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
        let units = Units::all(&t, &s, UnitKind::Session);
        assert_eq!(units.len(), 3);
        assert_eq!(units.id(1), (0, Some(1)));
        let roles = resolve_roles(&t, &RoleNames::default()).unwrap();
        let defs = definitions(&units, &[1], false, &roles, None);
        let f = extract(&units, &s, &[1], None, defs);
        assert_eq!(value(&f, 0, "events"), 3.0);
        assert_eq!(value(&f, 0, "duration_s"), 20.0);
        assert_eq!(value(&f, 0, "seconds_per_event"), 10.0);
        assert!(
            f.defs
                .iter()
                .all(|d| d.name() != "sessions" && d.name() != "funnel_step")
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
