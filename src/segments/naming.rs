//! Segment names from transparent rules (docs/segments.md, "Names"): a phrase
//! for each distinguishing feature and its direction, and a persona when the
//! persona table matches. Nothing random, nothing canned per run.

use super::features::{CHANNEL_COLUMNS, DEVICE_COLUMNS, Kind};

/// |z| at which a feature counts as setting a segment apart in the rules.
pub const RULE_Z: f64 = 0.5;

/// A feature as the rules see it: what it is, how far the segment's mean is
/// from everyone's (z), and the segment's mean in original units.
#[derive(Debug, Clone)]
pub struct Signal<'a> {
    pub kind: &'a Kind,
    pub z: f64,
    pub mean: f64,
}

fn words(event: &str) -> String {
    event.replace(['_', '-'], " ")
}

/// The phrase for a feature in the direction of its z.
pub fn phrase(kind: &Kind, z: f64, mean: f64) -> String {
    let high = z > 0.0;
    let none = mean < 0.05;
    let pick = |h: &str, l: &str| if high { h.to_string() } else { l.to_string() };
    match kind {
        Kind::Events => pick("many events", "few events"),
        Kind::DistinctPages => pick("many pages", "few pages"),
        Kind::DistinctProducts => pick("many products", "few products"),
        Kind::ProductViews if !high && none => "no product views".into(),
        Kind::ProductViews => pick("many product views", "few product views"),
        Kind::CartAdds if !high && none => "no cart adds".into(),
        Kind::CartAdds => pick("many cart adds", "few cart adds"),
        Kind::CheckoutReached if !high && none => "no checkout".into(),
        Kind::CheckoutReached => pick("reaches checkout", "seldom reaches checkout"),
        Kind::FurthestStep => pick("far in the funnel", "early funnel exit"),
        Kind::Duration => pick("long visits", "short visits"),
        Kind::SecondsPerEvent => pick("slow pace", "fast pace"),
        Kind::Sessions if !high && mean <= 1.05 => "single visit".into(),
        Kind::Sessions => pick("many sessions", "few sessions"),
        Kind::DaysActive => pick("many active days", "few active days"),
        Kind::Share(Some(e)) if !high && mean < 0.005 => format!("no {}", words(e)),
        Kind::Share(Some(e)) => pick(
            &format!("often {}", words(e)),
            &format!("little {}", words(e)),
        ),
        Kind::Share(None) => pick("often other events", "few other events"),
        Kind::Numeric { column, .. } => pick(
            &format!("high {}", words(column)),
            &format!("low {}", words(column)),
        ),
        Kind::Category { column, value } => {
            let what = if DEVICE_COLUMNS.contains(&column.as_str()) {
                value.clone()
            } else if CHANNEL_COLUMNS.contains(&column.as_str()) {
                format!("via {value}")
            } else {
                format!("{column} {value}")
            };
            if high { what } else { format!("rarely {what}") }
        }
    }
}

/// Column names that hold a price.
pub const PRICE_COLUMNS: &[&str] = &["price", "amount", "value", "revenue", "cost", "order_value"];

/// Event-name fragments that mark price-driven behaviour.
pub const PRICE_WORDS: &[&str] = &[
    "promo", "coupon", "discount", "compare", "deal", "voucher", "price",
];

/// The persona table, tried in order; the first rule that holds names the
/// segment. `product_view` and `cart_add` are the role events' names.
pub fn persona(
    signals: &[Signal],
    product_view: Option<&str>,
    cart_add: Option<&str>,
) -> Option<&'static str> {
    let z = |pred: &dyn Fn(&Kind) -> bool| {
        signals
            .iter()
            .filter(|s| pred(s.kind))
            .map(|s| s.z)
            .reduce(f64::max)
    };
    let at_least = |pred: &dyn Fn(&Kind) -> bool, v: f64| z(pred).is_some_and(|x| x >= v);
    let share_of = |name: Option<&str>| {
        let name = name.map(str::to_string);
        move |k: &Kind| matches!(k, Kind::Share(Some(e)) if Some(e) == name.as_ref())
    };
    let price = |k: &Kind| matches!(k, Kind::Share(Some(e)) if PRICE_WORDS.iter().any(|w| e.to_lowercase().contains(w)));
    let price_level = |k: &Kind| matches!(k, Kind::Numeric { column, .. } if PRICE_COLUMNS.contains(&column.to_lowercase().as_str()));
    // Low prices against everyone's: bargain hunting; high: premium buying.
    let cheap = signals
        .iter()
        .any(|s| price_level(s.kind) && s.z <= -RULE_Z);
    let checkout = |k: &Kind| matches!(k, Kind::CheckoutReached | Kind::FurthestStep);
    let cart = |k: &Kind| matches!(k, Kind::CartAdds);
    let views = |k: &Kind| matches!(k, Kind::ProductViews);
    let cart_share = share_of(cart_add);
    let view_share = share_of(product_view);
    // A fast pace: seconds per event (or, when that was dropped as redundant,
    // time per session) well below everyone's.
    let brisk = signals
        .iter()
        .any(|s| matches!(s.kind, Kind::SecondsPerEvent | Kind::Duration) && s.z <= -RULE_Z);
    if at_least(&price, RULE_Z) || cheap {
        Some("price-sensitive")
    } else if at_least(&price_level, RULE_Z) {
        Some("premium buyers")
    } else if at_least(&checkout, RULE_Z) && brisk {
        Some("decisive buyers")
    } else if at_least(&cart, RULE_Z) || at_least(&cart_share, RULE_Z) {
        Some("cart abandoners")
    } else if (at_least(&views, RULE_Z) || at_least(&view_share, RULE_Z))
        && !z(&cart).is_some_and(|x| x > 0.0)
        && !at_least(&cart_share, 0.0)
    {
        Some("window shoppers")
    } else {
        None
    }
}

/// "phrase, phrase: persona" from the first two distinct phrases.
pub fn name(phrases: &[String], persona: Option<&str>) -> String {
    // Two features can say the same thing ("no checkout" from the flag and
    // from the share): each phrase once.
    let mut unique: Vec<&String> = Vec::new();
    for p in phrases {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    let head = unique
        .into_iter()
        .take(2)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match persona {
        Some(p) if head.is_empty() => p.to_string(),
        Some(p) => format!("{head}: {p}"),
        None if head.is_empty() => "no distinguishing features".into(),
        None => head,
    }
}

/// Makes names unique: every name shared by several segments gets " #n"
/// (its segment number) appended.
pub fn dedupe(names: &mut [String]) {
    let original = names.to_vec();
    for (i, n) in names.iter_mut().enumerate() {
        if original.iter().filter(|o| *o == n).count() > 1 {
            *n = format!("{n} #{}", i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(kind: &Kind, z: f64, mean: f64) -> Signal<'_> {
        Signal { kind, z, mean }
    }

    #[test]
    fn phrases_follow_direction_and_zero_means() {
        assert_eq!(phrase(&Kind::ProductViews, 1.2, 8.0), "many product views");
        assert_eq!(phrase(&Kind::CartAdds, -1.0, 0.01), "no cart adds");
        assert_eq!(phrase(&Kind::CartAdds, -1.0, 0.4), "few cart adds");
        assert_eq!(phrase(&Kind::Sessions, -0.8, 1.0), "single visit");
        assert_eq!(
            phrase(&Kind::Share(Some("view_promotions".into())), 2.0, 0.1),
            "often view promotions"
        );
        let device = Kind::Category {
            column: "device".into(),
            value: "mobile".into(),
        };
        assert_eq!(phrase(&device, 0.9, 0.8), "mobile");
        let channel = Kind::Category {
            column: "channel".into(),
            value: "social".into(),
        };
        assert_eq!(phrase(&channel, -0.9, 0.1), "rarely via social");
    }

    #[test]
    fn persona_table() {
        let views = Kind::ProductViews;
        let carts = Kind::CartAdds;
        let checkout = Kind::CheckoutReached;
        let pace = Kind::SecondsPerEvent;
        let promo = Kind::Share(Some("view_promotions".into()));
        let pv = Some("product_view");
        let ca = Some("add_to_cart");
        let window = [sig(&views, 1.5, 9.0), sig(&carts, -1.0, 0.0)];
        assert_eq!(persona(&window, pv, ca), Some("window shoppers"));
        let cart = [
            sig(&views, -0.2, 3.0),
            sig(&carts, 0.9, 1.0),
            sig(&checkout, 0.1, 0.3),
        ];
        assert_eq!(persona(&cart, pv, ca), Some("cart abandoners"));
        let decisive = [
            sig(&checkout, 1.1, 0.8),
            sig(&pace, -1.2, 12.0),
            sig(&carts, 0.6, 1.0),
        ];
        assert_eq!(persona(&decisive, pv, ca), Some("decisive buyers"));
        let price = [sig(&promo, 2.0, 0.1), sig(&carts, 0.6, 1.0)];
        assert_eq!(persona(&price, pv, ca), Some("price-sensitive"));
        let plain = [sig(&views, 0.1, 3.0)];
        assert_eq!(persona(&plain, pv, ca), None);
    }

    #[test]
    fn names_are_built_and_deduplicated() {
        let p = vec![
            "many product views".to_string(),
            "no cart adds".into(),
            "mobile".into(),
        ];
        assert_eq!(
            name(&p, Some("window shoppers")),
            "many product views, no cart adds: window shoppers"
        );
        assert_eq!(name(&p[..1], None), "many product views");
        let mut names = vec!["a".to_string(), "b".into(), "a".into()];
        dedupe(&mut names);
        assert_eq!(names, ["a #1", "b", "a #3"]);
    }
}
