//! String interning: each distinct value gets a dense u32 code. Names live
//! in one arena, so interning a new value costs no allocation of its own;
//! with a million session ids per export, per-string allocations dominated.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

#[derive(Default, Clone)]
pub struct Interner {
    bytes: String,
    /// End offset of each name in `bytes`.
    ends: Vec<usize>,
    table: HashTable<u32>,
    /// Clickstream columns repeat runs of the same value (a user's rows, a
    /// device); checking the last code first skips most hash lookups.
    last: Option<u32>,
}

fn hash(s: &str) -> u64 {
    FxBuildHasher.hash_one(s)
}

fn name<'a>(bytes: &'a str, ends: &[usize], code: u32) -> &'a str {
    let i = code as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes[start..ends[i]]
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    /// An interner whose code 0 stands for a missing value.
    pub fn with_null() -> Self {
        let mut i = Self::new();
        i.intern("");
        i.last = None;
        i
    }

    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(last) = self.last
            && self.get(last) == s
        {
            return last;
        }
        let h = hash(s);
        let Interner {
            bytes, ends, table, ..
        } = self;
        let code = match table.find(h, |&c| name(bytes, ends, c) == s) {
            Some(&c) => c,
            None => {
                let c = u32::try_from(ends.len()).expect("more than 4 billion distinct values");
                bytes.push_str(s);
                ends.push(bytes.len());
                table.insert_unique(h, c, |&c| hash(name(bytes, ends, c)));
                c
            }
        };
        self.last = Some(code);
        code
    }

    pub fn get(&self, code: u32) -> &str {
        name(&self.bytes, &self.ends, code)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len() as u32).map(|c| self.get(c))
    }
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Interner {
    fn eq(&self, other: &Self) -> bool {
        self.ends == other.ends && self.bytes == other.bytes
    }
}

impl<S: AsRef<str>> FromIterator<S> for Interner {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut i = Interner::new();
        for s in iter {
            i.intern(s.as_ref());
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_and_stable() {
        let mut i = Interner::with_null();
        assert_eq!(i.intern("a"), 1);
        assert_eq!(i.intern("b"), 2);
        assert_eq!(i.intern("a"), 1);
        assert_eq!(i.intern(""), 0);
        assert_eq!(i.len(), 3);
        assert_eq!(i.get(2), "b");
        let many: Interner = (0..10_000).map(|n| n.to_string()).collect();
        assert_eq!(many.len(), 10_000);
        assert_eq!(many.get(9_999), "9999");
    }
}
