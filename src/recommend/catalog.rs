//! The optional catalog file (`catalog = "books.catalog.csv"`): one row
//! per item with its title and category. It gives reasons titles
//! ("because you viewed Saga 3 volume 1") and new items, those in the
//! catalog that nobody interacted with yet, a place through their
//! category: the last `new_items` places of a user's list go to new items
//! of the category the user's history weighs most (docs/recommend.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::interactions::History;
use super::lists::{Entry, Source};
use crate::error::DataError;

/// Category columns looked for, in this order, when none is named.
pub const CATEGORY_COLUMNS: &[&str] = &["category", "genre", "author"];

/// Rows a catalog may hold: far above any shop's catalog, and a bound on
/// what a damaged file can make us allocate.
pub const MAX_ROWS: usize = 5_000_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub file: String,
    pub id_column: String,
    /// Item ids in file order.
    pub ids: Vec<String>,
    pub titles: Vec<Option<String>>,
    pub category_column: Option<String>,
    /// Per row: its category's code into `categories` (0 = none).
    pub category: Vec<u32>,
    /// Category names by code, in byte order; code 0 is "".
    pub categories: Vec<String>,
}

fn bad(file: &str, msg: String) -> DataError {
    DataError::Input(format!("{file}: {msg}"))
}

/// Parses a catalog. The id column is the one named like the item column,
/// else `item_id`, else the first; `title` gives titles; the category
/// column is `category_column`, else the first of [`CATEGORY_COLUMNS`]
/// the file has.
pub fn parse(
    bytes: &[u8],
    file: &str,
    item_column: &str,
    category_column: Option<&str>,
) -> Result<Catalog, DataError> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(file, format!("not a CSV file with a header row ({e})")))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(bad(
            file,
            "no header row: the first line must name the columns (item_id,title,category)".into(),
        ));
    }
    let find = |n: &str| header.iter().position(|h| h == n);
    let id = find(item_column).or_else(|| find("item_id")).unwrap_or(0);
    let title = find("title");
    let cat = match category_column {
        Some(c) => Some(find(c).ok_or_else(|| {
            bad(
                file,
                format!(
                    "no column {c:?} for the categories (its columns: {}); name one with catalog_category",
                    header.join(", ")
                ),
            )
        })?),
        None => CATEGORY_COLUMNS.iter().find_map(|c| find(c)),
    };
    let mut ids = Vec::new();
    let mut titles = Vec::new();
    let mut raw_cats: Vec<String> = Vec::new();
    let mut first_line: BTreeMap<String, u64> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(file, format!("line {line}: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let id_value = rec.get(id).unwrap_or("").to_string();
        if id_value.is_empty() {
            return Err(bad(
                file,
                format!("line {line}: the item id ({}) is empty", header[id]),
            ));
        }
        if let Some(prev) = first_line.insert(id_value.clone(), line) {
            return Err(bad(
                file,
                format!(
                    "line {line}: item {id_value:?} is listed again (first on line {prev}); give each item one row"
                ),
            ));
        }
        if ids.len() >= MAX_ROWS {
            return Err(bad(
                file,
                format!("more than {MAX_ROWS} rows; a catalog lists items, not events"),
            ));
        }
        ids.push(id_value);
        titles.push(
            title
                .and_then(|c| rec.get(c))
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        );
        raw_cats.push(cat.and_then(|c| rec.get(c)).unwrap_or("").to_string());
    }
    let mut categories: Vec<String> = raw_cats.iter().filter(|c| !c.is_empty()).cloned().collect();
    categories.push(String::new());
    categories.sort();
    categories.dedup();
    let category = raw_cats
        .iter()
        .map(|c| categories.binary_search(c).map_or(0, |i| i as u32))
        .collect();
    Ok(Catalog {
        file: file.to_string(),
        id_column: header[id].clone(),
        ids,
        titles,
        category_column: cat.map(|c| header[c].clone()),
        category,
        categories,
    })
}

/// Reads and parses a catalog file.
pub fn load(
    path: &Path,
    item_column: &str,
    category_column: Option<&str>,
) -> Result<Catalog, DataError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        DataError::Input(format!(
            "{file}: cannot read the catalog ({e}); check [recommend] catalog or --catalog"
        ))
    })?;
    parse(&bytes, &file, item_column, category_column)
}

/// The catalog lined up with the run's items: titles and categories per
/// item (interacted ones first, in their order, then the new ones), and
/// the new items of each category.
#[derive(Debug, Clone, Default)]
pub struct Placed {
    /// Per item of the extended item list: its title.
    pub titles: Vec<Option<String>>,
    /// Per item: its category code (0 = none).
    pub category: Vec<u32>,
    pub categories: Vec<String>,
    /// Names of the new items, appended after the interacted ones.
    pub new_names: Vec<String>,
    /// Per category: its new items (extended indices), in catalog order.
    pub new_by_category: Vec<Vec<u32>>,
    /// Interacted items the catalog does not list.
    pub missing: u64,
}

/// Lines the catalog up with `items` (the interacted items' names).
pub fn place(c: &Catalog, items: &[String]) -> Placed {
    let row_of: BTreeMap<&str, usize> = c
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let known: std::collections::HashSet<&str> = items.iter().map(String::as_str).collect();
    let mut p = Placed {
        categories: c.categories.clone(),
        new_by_category: vec![Vec::new(); c.categories.len()],
        ..Default::default()
    };
    for name in items {
        match row_of.get(name.as_str()) {
            Some(&r) => {
                p.titles.push(c.titles[r].clone());
                p.category.push(c.category[r]);
            }
            None => {
                p.titles.push(None);
                p.category.push(0);
                p.missing += 1;
            }
        }
    }
    for (r, id) in c.ids.iter().enumerate() {
        if known.contains(id.as_str()) {
            continue;
        }
        let index = (items.len() + p.new_names.len()) as u32;
        p.new_names.push(id.clone());
        p.titles.push(c.titles[r].clone());
        p.category.push(c.category[r]);
        if c.category[r] != 0 {
            p.new_by_category[c.category[r] as usize].push(index);
        }
    }
    p
}

impl Placed {
    /// The category the history weighs most (ties: the smaller code), if
    /// any of its items has one.
    pub fn favourite(&self, h: &History) -> Option<u32> {
        let mut w: BTreeMap<u32, f64> = BTreeMap::new();
        for &(item, weight) in &h.items {
            let c = self.category.get(item as usize).copied().unwrap_or(0);
            if c != 0 {
                *w.entry(c).or_default() += weight;
            }
        }
        w.into_iter()
            .fold(None, |best: Option<(u32, f64)>, (c, x)| match best {
                Some((_, b)) if b >= x => best,
                _ => Some((c, x)),
            })
            .map(|(c, _)| c)
    }

    /// Gives the last `slots` places of `list` (or free places up to `k`)
    /// to new items of the user's favourite category; returns whether any
    /// was placed.
    pub fn fill(&self, list: &mut Vec<Entry>, h: &History, k: usize, slots: usize) -> bool {
        let Some(cat) = self.favourite(h) else {
            return false;
        };
        let new = &self.new_by_category[cat as usize];
        let n = slots.min(new.len()).min(k);
        if n == 0 {
            return false;
        }
        list.truncate(list.len().min(k - n));
        for &item in new.iter().take(n) {
            if list.len() >= k {
                break;
            }
            list.push(Entry {
                item,
                score: 0.0,
                source: Source::New { category: cat },
                because: None,
            });
        }
        true
    }
}

/// What the report says about the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CatalogInfo {
    pub file: String,
    pub id_column: String,
    pub items: u64,
    pub with_title: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_column: Option<String>,
    pub categories: u64,
    /// Catalog items nobody interacted with.
    pub new_items: u64,
    /// Interacted items the catalog does not list.
    pub not_in_catalog: u64,
    /// List places given to new items per user (`new_items`).
    pub slots: usize,
    /// Users whose list holds a new item.
    pub users_with_new_items: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(text: &str) -> Result<Catalog, DataError> {
        parse(text.as_bytes(), "c.csv", "book_id", None)
    }

    #[test]
    fn columns_are_found_by_name_and_rows_checked() {
        let c = cat("book_id,title,genre\nb2,Two,sf\nb1,One,crime\nb3,,sf\n").unwrap();
        assert_eq!(c.id_column, "book_id");
        assert_eq!(c.ids, ["b2", "b1", "b3"]);
        assert_eq!(c.titles, [Some("Two".into()), Some("One".into()), None]);
        assert_eq!(c.category_column.as_deref(), Some("genre"));
        assert_eq!(c.categories, ["", "crime", "sf"]);
        assert_eq!(c.category, [2, 1, 2]);
        // item_id, else the first column.
        let c = parse(b"sku,name\nx,1\n", "c.csv", "product_id", None).unwrap();
        assert_eq!((c.id_column.as_str(), c.category_column), ("sku", None));
        for (text, needle) in [
            (
                "book_id,title\nb1,A\nb1,B\n",
                "line 3: item \"b1\" is listed again (first on line 2)",
            ),
            (
                "book_id,title\n,A\n",
                "line 2: the item id (book_id) is empty",
            ),
            ("book_id,title\nb1\n", "line 2"),
            ("", "no header row"),
        ] {
            let e = cat(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        let e = parse(b"book_id\nb1\n", "c.csv", "book_id", Some("shelf")).unwrap_err();
        assert!(e.to_string().contains("no column \"shelf\""), "{e}");
    }

    fn history(items: &[(u32, f64)]) -> History {
        History {
            items: items.to_vec(),
            last: None,
        }
    }

    #[test]
    fn new_items_take_the_last_places_in_the_favourite_category() {
        let c = cat("book_id,title,genre\na,A,sf\nb,B,crime\nn1,N1,sf\nn2,N2,crime\nn3,N3,sf\n")
            .unwrap();
        let items: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let p = place(&c, &items);
        assert_eq!(p.new_names, ["n1", "n2", "n3"]);
        let sf = c.categories.iter().position(|x| x == "sf").unwrap();
        assert_eq!(p.new_by_category[sf], [2, 4]);
        let entry = |item| Entry {
            item,
            score: 1.0,
            source: Source::Global,
            because: None,
        };
        // A history weighing sf more: the last place goes to n1.
        let h = history(&[(0, 3.0), (1, 1.0)]);
        let mut list = vec![entry(0), entry(1), entry(0)];
        assert!(p.fill(&mut list, &h, 3, 1));
        let got: Vec<u32> = list.iter().map(|e| e.item).collect();
        assert_eq!(got, [0, 1, 2]);
        // A short list gains places instead of losing them.
        let mut list = vec![entry(1)];
        assert!(p.fill(&mut list, &h, 3, 2));
        let got: Vec<u32> = list.iter().map(|e| e.item).collect();
        assert_eq!(got, [1, 2, 4]);
        // No category in the history, or no slot: nothing placed.
        assert!(!p.fill(&mut vec![entry(0)], &history(&[]), 3, 1));
        assert!(!p.fill(&mut vec![entry(0)], &h, 3, 0));
    }
}
