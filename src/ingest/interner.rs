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
    /// (code, hash): the hash is kept so growing the table never rehashes names.
    table: HashTable<(u32, u64)>,
    /// Clickstream columns repeat runs of the same value (a user's rows, a
    /// device); checking the last code first skips most hash lookups.
    last: Option<u32>,
    /// A direct-mapped cache keyed by length and the last bytes: columns that
    /// alternate among a few values (event names, pages) hit it and skip
    /// hashing the whole string. Holds code + 1 (0 = empty slot).
    cache: Vec<u32>,
}

const CACHE_SLOTS: usize = 512;

#[inline]
fn cache_slot(s: &str) -> usize {
    let b = s.as_bytes();
    let tail = match b.len() {
        0 => 0,
        n if n >= 4 => u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]),
        n => b.iter().take(n).fold(0u32, |a, &c| a << 8 | u32::from(c)),
    };
    let mixed = (tail ^ (b.len() as u32).wrapping_mul(0x9E37_79B9)).wrapping_mul(0x85EB_CA6B);
    (mixed >> 23) as usize & (CACHE_SLOTS - 1)
}

fn hash(s: &str) -> u64 {
    FxBuildHasher.hash_one(s)
}

fn name<'a>(bytes: &'a str, ends: &[usize], code: u32) -> &'a str {
    let i = code as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes[start..ends[i]]
}

/// Equality for the short strings interned here: libc's memcmp call costs
/// more than the comparison itself at ten million rows per column.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or([0; 4]));
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Byte view for comparisons: skips the char-boundary checks of `str` slicing.
#[inline]
fn name_bytes<'a>(bytes: &'a str, ends: &[usize], code: u32) -> &'a [u8] {
    let i = code as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes.as_bytes()[start..ends[i]]
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
            && same(name_bytes(&self.bytes, &self.ends, last), s.as_bytes())
        {
            return last;
        }
        if self.cache.is_empty() {
            self.cache = vec![0; CACHE_SLOTS];
        }
        let slot = cache_slot(s);
        let cached = self.cache[slot];
        if cached != 0
            && same(
                name_bytes(&self.bytes, &self.ends, cached - 1),
                s.as_bytes(),
            )
        {
            self.last = Some(cached - 1);
            return cached - 1;
        }
        let h = hash(s);
        let Interner {
            bytes, ends, table, ..
        } = self;
        let code = match table.find(h, |&(c, _)| same(name_bytes(bytes, ends, c), s.as_bytes())) {
            Some(&(c, _)) => c,
            None => {
                let c = u32::try_from(ends.len()).expect("more than 4 billion distinct values");
                bytes.push_str(s);
                ends.push(bytes.len());
                table.insert_unique(h, (c, h), |&(_, h)| h);
                c
            }
        };
        self.last = Some(code);
        self.cache[slot] = code + 1;
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
    // The lookup structures are derived from the names; equal names are equal interners.
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
        for (a, b) in [
            ("", ""),
            ("ab", "ab"),
            ("abcde", "abcdf"),
            ("u0000001-s1", "u0000001-s2"),
            ("x".repeat(20).as_str(), "x".repeat(20).as_str()),
        ] {
            assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
        }
    }
}
