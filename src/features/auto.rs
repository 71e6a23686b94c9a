//! Automatic features: which property columns a model may use without a
//! config. A column with at most [`MAX_LEVELS`] distinct values becomes
//! one-hot levels of the unit's first value (device, channel, plan); a
//! column whose values read as numbers becomes sums and means (price,
//! revenue, quantity). Columns named like identifiers are never used, and
//! `[features] auto = false` (or `--no-auto-features`) switches this off.
//! docs/features.md has the rules.

use serde::{Deserialize, Serialize};

use crate::ingest::EventTable;

/// At most this many distinct values make a column categorical.
pub const MAX_LEVELS: usize = 20;
/// At least this share of a column's non-empty cells must read as numbers.
pub const MIN_NUMERIC_SHARE: f64 = 0.99;

/// `[features]` in journey.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesSection {
    /// Detect categorical and numeric property columns (default true).
    #[serde(default)]
    pub auto: Option<bool>,
}

/// The property columns detected, by index into the table's properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoColumns {
    pub categorical: Vec<usize>,
    pub numeric: Vec<usize>,
}

/// A name that marks an identifier (user_id, product_id, sku, uuid, order_key).
pub fn id_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let words: Vec<&str> = n.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let last = words.last().copied().unwrap_or("");
    matches!(
        last,
        "id" | "ids" | "uuid" | "guid" | "key" | "sku" | "hash" | "token" | "email" | "url"
    ) || n.ends_with("id") && name.ends_with("Id")
        || n == "id"
}

/// The categorical and numeric columns of `t`, in column order, leaving
/// out `skip` (columns the caller uses another way).
pub fn detect(t: &EventTable, skip: &[&str]) -> AutoColumns {
    let mut out = AutoColumns::default();
    for (p, col) in t.props.iter().enumerate() {
        if skip.contains(&col.name.as_str()) || id_like(&col.name) {
            continue;
        }
        let mut cells = vec![0u64; col.values.len()];
        for &c in &col.codes {
            cells[c as usize] += 1;
        }
        let levels = (1..cells.len()).filter(|&c| cells[c] > 0).count();
        if levels < 2 {
            continue;
        }
        let nums = super::extract::numbers(t, p);
        let filled: u64 = cells[1..].iter().sum();
        let numeric_cells: u64 = (1..cells.len())
            .filter(|&c| nums[c].is_some())
            .map(|c| cells[c])
            .sum();
        if filled > 0 && numeric_cells as f64 >= MIN_NUMERIC_SHARE * filled as f64 {
            out.numeric.push(p);
        } else if levels <= MAX_LEVELS {
            out.categorical.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Interner, PropColumn};

    fn col(name: &str, values: &[&str]) -> PropColumn {
        let mut interner = Interner::with_null();
        let codes = values
            .iter()
            .map(|v| if v.is_empty() { 0 } else { interner.intern(v) })
            .collect();
        PropColumn {
            name: name.into(),
            values: interner,
            codes,
        }
    }

    #[test]
    fn columns_are_told_apart() {
        let n = 40;
        let device: Vec<&str> = (0..n).map(|i| ["mobile", "desktop"][i % 2]).collect();
        let prices: Vec<String> = (0..n).map(|i| format!("{}.99", i % 30)).collect();
        let price: Vec<&str> = prices.iter().map(String::as_str).collect();
        let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
        let product: Vec<&str> = ids.iter().map(String::as_str).collect();
        let pages: Vec<String> = (0..n).map(|i| format!("/page/{i}")).collect();
        let page: Vec<&str> = pages.iter().map(String::as_str).collect();
        let t = EventTable {
            user: vec![0; n],
            event: vec![0; n],
            ts: vec![0; n],
            props: vec![
                col("device", &device),
                col("price", &price),
                col("product_id", &product),
                col("page", &page),
                col("constant", &vec!["x"; n]),
                col("channel", &device),
            ],
            ..EventTable::default()
        };
        let got = detect(&t, &["channel"]);
        assert_eq!(got.categorical, vec![0]);
        assert_eq!(got.numeric, vec![1]);
        assert!(id_like("user_id") && id_like("productId") && id_like("SKU") && !id_like("paid"));
    }
}
