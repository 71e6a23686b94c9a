//! `generate --scenario bookstore`: a small online bookstore with planted
//! next items, for the recommendation models.
//!
//! The catalog: [`authors`] authors (120, or one per 800 users for big
//! runs, so 1.1M users have about 10k books), each writing in one of [`GENRES`]
//! genres, each with [`SERIES_PER_AUTHOR`] three-volume series and a few
//! standalone books; standalone books have Zipf popularity (a popular head
//! and a long tail); [`NEW_SHARE`] of the books are released in the last
//! week. Users are of four kinds, which the truth file names with the
//! item each user touches last (the planted next item, held out by
//! leave-last-out evaluation):
//! - `series` (17.5 %): some browsing, then volumes 1..L (L = 2 or 3) of
//!   one series in order, each in its own later session; next item =
//!   volume L.
//! - `series_done` (17.5 %): read all three volumes, then browsed on; next
//!   item = the last book browsed.
//! - `author` (25 %): two to four books by one author of their genre; next
//!   item = the last of them.
//! - `popular` (30 %): browsing the popular head of the catalog.
//! - `cold` (10 %): new users: one session with no book at all (home and
//!   search only) or a single view; they test the cold-start cascade.
//!
//! Events: `home`, `search` (no book), `view`, `add_to_cart`, `purchase`
//! (each with `book_id`); columns user_id, session_id, timestamp, event,
//! book_id, device, channel. The catalog (book_id, title, author, genre,
//! series, volume, released) is written beside the events.

use std::path::Path;

use anyhow::Result;

use super::format::{push_timestamp, push_uint};
use super::{Channel, Device};
use crate::rng::Rng;

pub(crate) const GENRES: [&str; 8] = [
    "fantasy", "mystery", "romance", "scifi", "history", "cooking", "children", "business",
];
pub(crate) const AUTHORS: usize = 120;

/// Authors for a run of `users` users.
pub(crate) fn authors(users: usize) -> usize {
    AUTHORS.max(users / 800)
}
pub(crate) const SERIES_PER_AUTHOR: usize = 1;
pub(crate) const NEW_SHARE: f64 = 0.05;
const DAY: i64 = 86_400_000;
/// 2026-09-01T00:00:00Z; the window runs 90 days.
const START: i64 = super::format::days_from_civil(2026, 9, 1) * DAY;
const DAYS: i64 = 90;

#[derive(Debug, Clone)]
pub(crate) struct Book {
    pub id: String,
    pub author: usize,
    pub genre: usize,
    /// (series number within the catalog, volume 1..=3)
    pub series: Option<(usize, u8)>,
    pub released: i64,
    pub weight: f64,
}

pub(crate) struct Catalog {
    pub books: Vec<Book>,
    /// series → its three book indexes.
    pub series: Vec<[usize; 3]>,
    pub by_author: Vec<Vec<usize>>,
    /// Cumulative popularity over all books, and per genre (with the books).
    global: Vec<f64>,
    by_genre: Vec<(Vec<f64>, Vec<usize>)>,
    series_by_genre: Vec<Vec<usize>>,
    authors_by_genre: Vec<Vec<usize>>,
}

pub(crate) fn catalog(rng: &mut Rng, authors: usize) -> Catalog {
    let mut books = Vec::new();
    let mut series = Vec::new();
    let mut by_author = vec![Vec::new(); authors];
    for (a, written) in by_author.iter_mut().enumerate() {
        let genre = a % GENRES.len();
        for _ in 0..SERIES_PER_AUTHOR {
            let s = series.len();
            let mut vols = [0usize; 3];
            for (v, slot) in vols.iter_mut().enumerate() {
                *slot = books.len();
                written.push(books.len());
                books.push(Book {
                    id: String::new(),
                    author: a,
                    genre,
                    series: Some((s, v as u8 + 1)),
                    released: START,
                    weight: 0.0,
                });
            }
            series.push(vols);
        }
        for _ in 0..rng.range(2, 6) {
            written.push(books.len());
            books.push(Book {
                id: String::new(),
                author: a,
                genre,
                series: None,
                released: START,
                weight: 0.0,
            });
        }
    }
    // Zipf popularity over a random order of the books.
    let mut order: Vec<usize> = (0..books.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (rank, &b) in order.iter().enumerate() {
        books[b].weight = 1.0 / (rank as f64 + 1.0).powf(0.9);
    }
    for b in books.iter_mut() {
        if b.series.is_none_or(|(_, v)| v == 1) && rng.bernoulli(NEW_SHARE) {
            b.released = START + (DAYS - 7) * DAY + rng.below(6 * DAY as u64) as i64;
        }
    }
    for (i, b) in books.iter_mut().enumerate() {
        b.id = format!("b{:04}", i + 1);
    }
    let cum = |idx: &[usize]| -> Vec<f64> {
        let mut s = 0.0;
        idx.iter()
            .map(|&b| {
                s += books[b].weight;
                s
            })
            .collect()
    };
    let all: Vec<usize> = (0..books.len()).collect();
    let global = cum(&all);
    let by_genre = (0..GENRES.len())
        .map(|g| {
            let idx: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&b| books[b].genre == g)
                .collect();
            (cum(&idx), idx)
        })
        .collect();
    let series_by_genre = (0..GENRES.len())
        .map(|g| {
            (0..series.len())
                .filter(|&s| books[series[s][0]].genre == g)
                .collect()
        })
        .collect();
    let authors_by_genre = (0..GENRES.len())
        .map(|g| {
            (0..by_author.len())
                .filter(|&a| a % GENRES.len() == g)
                .collect()
        })
        .collect();
    Catalog {
        books,
        series,
        by_author,
        global,
        by_genre,
        series_by_genre,
        authors_by_genre,
    }
}

/// An index drawn with probability proportional to the cumulative weights' steps.
fn draw(rng: &mut Rng, cum: &[f64]) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.f64() * total;
    cum.partition_point(|&c| c <= x)
        .min(cum.len().saturating_sub(1))
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub ts: i64,
    pub user: u32,
    pub session: u16,
    pub event: &'static str,
    /// Index into the catalog, or None.
    pub book: Option<u32>,
}

pub(crate) struct UserInfo {
    pub kind: &'static str,
    pub genre: usize,
    pub device: Device,
    pub channel: Channel,
    pub next: Option<u32>,
}

struct Clock<'a> {
    rng: &'a mut Rng,
    ts: i64,
    session: u16,
    user: u32,
    rows: &'a mut Vec<Row>,
}

impl Clock<'_> {
    fn session(&mut self) {
        if self.session > 0 {
            self.ts += DAY / 2 + self.rng.below(5 * DAY as u64) as i64;
        }
        self.session += 1;
    }
    fn emit(&mut self, event: &'static str, book: Option<usize>) {
        self.ts += 5_000 + self.rng.below(90_000) as i64;
        self.rows.push(Row {
            ts: self.ts,
            user: self.user,
            session: self.session,
            event,
            book: book.map(|b| b as u32),
        });
    }
    /// A view, then maybe a cart and a purchase of the same book.
    fn read(&mut self, book: usize, buy: f64) {
        self.emit("view", Some(book));
        if self.rng.bernoulli(buy) {
            self.emit("add_to_cart", Some(book));
            if self.rng.bernoulli(0.7) {
                self.emit("purchase", Some(book));
            }
        }
    }
}

/// A released book by popularity, its genre weighted 4× when given: a
/// mixture of the global draw and a draw within the genre, so each pick
/// costs a binary search, not a pass over the catalog.
fn pick(rng: &mut Rng, c: &Catalog, genre: Option<usize>, at: i64) -> usize {
    for _ in 0..64 {
        let b = match genre {
            Some(g) => {
                let (cum, idx) = &c.by_genre[g];
                let wg = cum.last().copied().unwrap_or(0.0);
                let w = c.global.last().copied().unwrap_or(0.0);
                if rng.f64() * (w + 3.0 * wg) < w {
                    draw(rng, &c.global)
                } else {
                    idx[draw(rng, cum)]
                }
            }
            None => draw(rng, &c.global),
        };
        if c.books[b].released <= at {
            return b;
        }
    }
    // Only unreleased books drawn 64 times: the most popular released one.
    (0..c.books.len())
        .filter(|&b| c.books[b].released <= at)
        .max_by(|&a, &b| c.books[a].weight.total_cmp(&c.books[b].weight))
        .unwrap_or(0)
}

pub(crate) fn user(rng: &mut Rng, c: &Catalog, idx: u32, rows: &mut Vec<Row>) -> UserInfo {
    let genre = rng.below(GENRES.len() as u64) as usize;
    let device = Device::ALL[rng.choose_weighted(&[0.5, 0.4, 0.1])];
    let channel = Channel::ALL[rng.choose_weighted(&[0.35, 0.2, 0.15, 0.1, 0.2])];
    let kind_draw = rng.f64();
    let start = START + rng.below(60 * DAY as u64) as i64;
    let mut k = Clock {
        rng,
        ts: start,
        session: 0,
        user: idx,
        rows,
    };
    let browse = |k: &mut Clock, n: u64, genre: Option<usize>| {
        k.session();
        k.emit("home", None);
        for _ in 0..n {
            let b = pick(k.rng, c, genre, k.ts);
            k.read(b, 0.15);
        }
    };
    let (kind, next) = if kind_draw < 0.35 {
        let noise = k.rng.below(3);
        for _ in 0..noise {
            let n = k.rng.range(1, 3);
            browse(&mut k, n, Some(genre));
        }
        // A series of the user's genre most of the time.
        let pool: &[usize] = if k.rng.bernoulli(0.95) {
            &c.series_by_genre[genre]
        } else {
            &c.series_by_genre[k.rng.below(GENRES.len() as u64) as usize]
        };
        let s = pool[k.rng.below(pool.len() as u64) as usize];
        // Half are still reading (the next volume is what they do last),
        // half finished the series earlier and browse on: they are the
        // evidence that volume 2 leads to volume 3.
        let finished = k.rng.bernoulli(0.5);
        let depth = if finished || k.rng.bernoulli(0.5) {
            3
        } else {
            2
        };
        let mut last = 0;
        for v in 0..depth {
            k.session();
            if k.rng.bernoulli(0.5) {
                k.emit("search", None);
            }
            last = c.series[s][v];
            k.read(last, 0.8);
        }
        if finished {
            let n = k.rng.range(1, 3);
            browse(&mut k, n, Some(genre));
            let last = k.rows.iter().rev().find_map(|r| r.book);
            ("series_done", last)
        } else {
            ("series", Some(last as u32))
        }
    } else if kind_draw < 0.60 {
        let noise = k.rng.below(2);
        for _ in 0..noise {
            browse(&mut k, 2, Some(genre));
        }
        let authors = &c.authors_by_genre[genre];
        let a = authors[k.rng.below(authors.len() as u64) as usize];
        let mut books: Vec<usize> = c.by_author[a]
            .iter()
            .copied()
            .filter(|&b| c.books[b].series.is_none())
            .collect();
        for i in (1..books.len()).rev() {
            books.swap(i, k.rng.below(i as u64 + 1) as usize);
        }
        let n = (k.rng.range(2, 4) as usize).min(books.len());
        let mut last = 0;
        for &b in &books[..n] {
            k.session();
            last = b;
            k.read(b, 0.6);
        }
        ("author", Some(last as u32))
    } else if kind_draw < 0.90 {
        let sessions = k.rng.range(1, 4);
        for _ in 0..sessions {
            let n = k.rng.range(1, 4);
            browse(&mut k, n, None);
        }
        let last = k.rows.iter().rev().find_map(|r| r.book);
        ("popular", last)
    } else {
        k.session();
        k.emit("home", None);
        if k.rng.bernoulli(0.5) {
            k.emit("search", None);
            ("cold", None)
        } else {
            let b = pick(k.rng, c, None, k.ts);
            k.emit("view", Some(b));
            ("cold", Some(b as u32))
        }
    };
    UserInfo {
        kind,
        genre,
        device,
        channel,
        next,
    }
}

/// Generates the users; rows come per user in time order.
pub(crate) fn generate(seed: u64, users: usize) -> (Catalog, Vec<Row>, Vec<UserInfo>) {
    let c = catalog(&mut Rng::for_stream(seed, 0), authors(users));
    let mut rows = Vec::with_capacity(users * 12);
    let mut info = Vec::with_capacity(users);
    for idx in 1..=users as u32 {
        let mut rng = Rng::for_stream(seed, u64::from(idx));
        info.push(user(&mut rng, &c, idx, &mut rows));
    }
    (c, rows, info)
}

fn user_id(buf: &mut Vec<u8>, u: u32) {
    buf.push(b'r');
    push_uint(buf, u64::from(u), 6);
}

pub(crate) fn write(
    out: &Path,
    format: super::write::Format,
    c: &Catalog,
    rows: &[Row],
    users: &[UserInfo],
) -> Result<()> {
    use super::write::Format;
    match format {
        Format::Csv | Format::CsvGz => {
            let mut buf: Vec<u8> = Vec::with_capacity(rows.len() * 72);
            buf.extend_from_slice(b"user_id,session_id,timestamp,event,book_id,device,channel\n");
            for r in rows {
                let u = &users[r.user as usize - 1];
                user_id(&mut buf, r.user);
                buf.push(b',');
                user_id(&mut buf, r.user);
                buf.extend_from_slice(b"-s");
                push_uint(&mut buf, u64::from(r.session), 1);
                buf.push(b',');
                push_timestamp(&mut buf, r.ts);
                buf.push(b',');
                buf.extend_from_slice(r.event.as_bytes());
                buf.push(b',');
                if let Some(b) = r.book {
                    buf.extend_from_slice(c.books[b as usize].id.as_bytes());
                }
                buf.push(b',');
                buf.extend_from_slice(u.device.as_str().as_bytes());
                buf.push(b',');
                buf.extend_from_slice(u.channel.as_str().as_bytes());
                buf.push(b'\n');
            }
            let bytes = if format == Format::CsvGz {
                use std::io::Write;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&buf)?;
                gz.finish()?
            } else {
                buf
            };
            crate::atomic::write_bytes(out, &bytes)
        }
        Format::Parquet => {
            use polars::prelude::*;
            let mut buf = Vec::new();
            let mut uid = Vec::with_capacity(rows.len());
            let mut sid = Vec::with_capacity(rows.len());
            for r in rows {
                buf.clear();
                user_id(&mut buf, r.user);
                uid.push(String::from_utf8_lossy(&buf).into_owned());
                buf.extend_from_slice(b"-s");
                push_uint(&mut buf, u64::from(r.session), 1);
                sid.push(String::from_utf8_lossy(&buf).into_owned());
            }
            let ts: Vec<i64> = rows.iter().map(|r| r.ts).collect();
            let time = Int64Chunked::new("timestamp".into(), &ts)
                .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
                .into_column();
            let mut df = DataFrame::new(
                rows.len(),
                vec![
                    Column::new("user_id".into(), uid),
                    Column::new("session_id".into(), sid),
                    time,
                    Column::new(
                        "event".into(),
                        rows.iter().map(|r| r.event).collect::<Vec<_>>(),
                    ),
                    Column::new(
                        "book_id".into(),
                        rows.iter()
                            .map(|r| r.book.map(|b| c.books[b as usize].id.clone()))
                            .collect::<Vec<_>>(),
                    ),
                    Column::new(
                        "device".into(),
                        rows.iter()
                            .map(|r| users[r.user as usize - 1].device.as_str())
                            .collect::<Vec<_>>(),
                    ),
                    Column::new(
                        "channel".into(),
                        rows.iter()
                            .map(|r| users[r.user as usize - 1].channel.as_str())
                            .collect::<Vec<_>>(),
                    ),
                ],
            )?;
            crate::atomic::write_with(out, |w| {
                ParquetWriter::new(w)
                    .with_compression(ParquetCompression::Zstd(None))
                    .finish(&mut df)?;
                Ok(())
            })
        }
    }
}

/// The catalog CSV: book_id, title, author, genre, series, volume, released.
pub(crate) fn write_catalog(path: &Path, c: &Catalog) -> Result<()> {
    let mut s = String::from("book_id,title,author,genre,series,volume,released\n");
    for b in &c.books {
        let (series, volume, title) = match b.series {
            Some((n, v)) => (
                format!("series{:03}", n + 1),
                v.to_string(),
                format!("Saga {} volume {v}", n + 1),
            ),
            None => (String::new(), String::new(), format!("Book {}", b.id)),
        };
        let mut ts = Vec::new();
        push_timestamp(&mut ts, b.released);
        s.push_str(&format!(
            "{},{title},author{:03},{},{series},{volume},{}\n",
            b.id,
            b.author + 1,
            GENRES[b.genre],
            String::from_utf8_lossy(&ts)
        ));
    }
    crate::atomic::write_bytes(path, s.as_bytes())
}

/// The truth CSV: user_id, kind, next_item (empty: no book at all), genre.
pub(crate) fn write_truth(path: &Path, c: &Catalog, users: &[UserInfo]) -> Result<()> {
    let mut s = String::from("user_id,kind,next_item,genre,device,channel\n");
    let mut buf = Vec::new();
    for (i, u) in users.iter().enumerate() {
        buf.clear();
        user_id(&mut buf, i as u32 + 1);
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            String::from_utf8_lossy(&buf),
            u.kind,
            u.next
                .map_or(String::new(), |b| c.books[b as usize].id.clone()),
            GENRES[u.genre],
            u.device.as_str(),
            u.channel.as_str()
        ));
    }
    crate::atomic::write_bytes(path, s.as_bytes())
}
