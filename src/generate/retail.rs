//! Retail scenario (conversion event `purchase`): the shape of a web shop's
//! event table as warehouses export it — nine columns `user_id, session_id,
//! timestamp, event, page, product_id, price, device, channel`, rows in
//! global time order (not grouped by user), the timestamp a Parquet
//! `timestamp[ms, UTC]` or ISO text with milliseconds.
//!
//! # Planted ground truth
//!
//! Per user: device and channel (weights below), engagement `e ~ N(0,1)`, a
//! price level (which part of the catalogue they browse: for 30% of users,
//! the bargain hunters, `sigmoid(−2 + 0.5·N(0,1))`, for the others
//! `sigmoid(0.5 + 0.8·N(0,1))`), then the sessions. From the events of the user's first 24 hours
//! (timestamps strictly before first event + 24 h):
//!
//! ```text
//! p_convert = sigmoid(B0 + B_DEVICE[device] + B_CHANNEL[channel]
//!                     + B_PRICE·(ln(mean price of product views) − ln 40)
//!                     + B_VIEWS·ln(1 + product views) + B_CART·ln(1 + add_to_cart))
//!   B0 = -1.0, B_PRICE = -0.8, B_VIEWS = 0.3, B_CART = 0.9
//!   B_DEVICE:  desktop 0.0, mobile -0.5, tablet -0.2
//!   B_CHANNEL: organic 0.0, paid_search +0.3, social -0.6, email +0.5, direct +0.2
//! converted ~ Bernoulli(p_convert)
//! ```
//!
//! (without product views the price term is 0). A converted user buys in a
//! session at least 2 days after their first event; nobody else emits
//! `purchase`. So with `propensity train --target purchase --observe 1d
//! --horizon all` every label equals `converted` and `p_convert` is the
//! Bayes-optimal score — a model that uses device, channel and price.
//!
//! # Behaviour
//!
//! Sessions: 1 + Poisson(1.6·exp(0.4·e)), gaps Exp(2 days) but at least
//! 45 min. A session: `home`, `search` (p .5) or `category` (p .4), then
//! 1 + Poisson(m·exp(0.3·e)) `product` views of catalogue items near the
//! user's price level (m = 6 for bargain hunters, else 2.5), `add_to_cart`
//! after a view with p sigmoid(−1.6 + 0.5e) (bargain hunters −1.0 more),
//! `view_cart` when the cart is not empty, then `checkout` (p .3),
//! `shipping` and `payment` (p .6 each step). Catalogue: 2,000 products,
//! prices from 8 to 480 (log-spaced, the product number orders them), set
//! on `product`, `add_to_cart` and `purchase`.

use std::path::Path;

use anyhow::Result;

use super::{Channel, DAY_MS, Device, SPREAD_DAYS, START_MS, UserTruth, sigmoid};
use crate::rng::Rng;

pub const B0: f64 = -1.0;
pub const B_PRICE: f64 = -0.8;
pub const B_VIEWS: f64 = 0.3;
pub const B_CART: f64 = 0.9;
/// Indexed like [`Device::ALL`].
pub const B_DEVICE: [f64; 3] = [0.0, -0.5, -0.2];
/// Indexed like [`Channel::ALL`].
pub const B_CHANNEL: [f64; 5] = [0.0, 0.3, -0.6, 0.5, 0.2];
const DEVICE_WEIGHTS: [f64; 3] = [0.45, 0.45, 0.1];
const CHANNEL_WEIGHTS: [f64; 5] = [0.3, 0.2, 0.2, 0.15, 0.15];
const PRODUCTS: u16 = 2000;

pub const EVENTS: [&str; 10] = [
    "home",
    "search",
    "category",
    "product",
    "add_to_cart",
    "view_cart",
    "checkout",
    "shipping",
    "payment",
    "purchase",
];
const HOME: u8 = 0;
const SEARCH: u8 = 1;
const CATEGORY: u8 = 2;
const PRODUCT: u8 = 3;
const ADD_TO_CART: u8 = 4;
const VIEW_CART: u8 = 5;
const CHECKOUT: u8 = 6;
const SHIPPING: u8 = 7;
const PAYMENT: u8 = 8;
const PURCHASE: u8 = 9;

/// One row, packed (10M rows are sorted into global time order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub ts: i64,
    pub user: u32,
    pub session: u16,
    pub event: u8,
    /// 0: none.
    pub product: u16,
}

/// The catalogue price of product `p` (1..=2000), in cents.
pub(crate) fn price_cents(p: u16) -> u32 {
    let f = f64::from(p - 1) / f64::from(PRODUCTS - 1);
    (800.0 * 60f64.powf(f)).round() as u32
}

fn pick_product(rng: &mut Rng, level: f64) -> u16 {
    let at = level * f64::from(PRODUCTS) + 150.0 * rng.normal();
    (at.round() as i64).clamp(1, i64::from(PRODUCTS)) as u16
}

/// One user's rows (time order) and truth.
pub(crate) fn user(rng: &mut Rng, idx: u32, rows: &mut Vec<Row>) -> UserTruth {
    let device = Device::ALL[rng.choose_weighted(&DEVICE_WEIGHTS)];
    let channel = Channel::ALL[rng.choose_weighted(&CHANNEL_WEIGHTS)];
    let e = rng.normal();
    // 30% bargain hunters browse the cheap end of the catalogue, and
    // compare: more views per session, fewer of them into the cart.
    let bargain = rng.bernoulli(0.3);
    let level = if bargain {
        sigmoid(-2.0 + 0.5 * rng.normal())
    } else {
        sigmoid(0.5 + 0.8 * rng.normal())
    };
    let (views_mean, cart_shift) = if bargain { (6.0, -1.0) } else { (2.5, 0.0) };
    let first = START_MS + rng.below(SPREAD_DAYS * 86_400_000) as i64;
    let start = rows.len();
    let sessions = (1 + rng.poisson(1.6 * (0.4 * e).exp())).min(30) as u16;
    let mut ts = first;
    let step = |rng: &mut Rng| rng.range(5_000, 90_000) as i64;
    for s in 1..=sessions {
        if s > 1 {
            ts += (rng.exp(2.0 * DAY_MS) as i64).max(45 * 60_000 + 1_000);
        }
        let push = |ts: i64, event: u8, product: u16, rows: &mut Vec<Row>| {
            rows.push(Row {
                ts,
                user: idx,
                session: s,
                event,
                product,
            })
        };
        push(ts, HOME, 0, rows);
        if rng.bernoulli(0.5) {
            ts += step(rng);
            push(ts, SEARCH, 0, rows);
        } else if rng.bernoulli(0.4) {
            ts += step(rng);
            push(ts, CATEGORY, 0, rows);
        }
        let views = 1 + rng.poisson(views_mean * (0.3 * e).exp());
        let mut cart = 0;
        for _ in 0..views.min(40) {
            let p = pick_product(rng, level);
            ts += step(rng);
            push(ts, PRODUCT, p, rows);
            if rng.bernoulli(sigmoid(-1.6 + cart_shift + 0.5 * e)) {
                ts += step(rng);
                push(ts, ADD_TO_CART, p, rows);
                cart += 1;
            }
        }
        if cart > 0 {
            ts += step(rng);
            push(ts, VIEW_CART, 0, rows);
            if rng.bernoulli(0.3) {
                ts += step(rng);
                push(ts, CHECKOUT, 0, rows);
                if rng.bernoulli(0.6) {
                    ts += step(rng);
                    push(ts, SHIPPING, 0, rows);
                    if rng.bernoulli(0.6) {
                        ts += step(rng);
                        push(ts, PAYMENT, 0, rows);
                    }
                }
            }
        }
    }
    // The truth from the first 24 hours, exactly as a model sees them.
    let cutoff = first + 86_400_000;
    let day1 = rows[start..].iter().filter(|r| r.ts < cutoff);
    let (mut views, mut carts, mut price_sum) = (0u32, 0u32, 0.0f64);
    for r in day1 {
        match r.event {
            PRODUCT => {
                views += 1;
                price_sum += f64::from(price_cents(r.product)) / 100.0;
            }
            ADD_TO_CART => carts += 1,
            _ => {}
        }
    }
    let price_term = if views > 0 {
        B_PRICE * ((price_sum / f64::from(views)).ln() - 40f64.ln())
    } else {
        0.0
    };
    let d = Device::ALL.iter().position(|x| *x == device).unwrap_or(0);
    let c = Channel::ALL.iter().position(|x| *x == channel).unwrap_or(0);
    let p_convert = sigmoid(
        B0 + B_DEVICE[d]
            + B_CHANNEL[c]
            + price_term
            + B_VIEWS * f64::from(views).ln_1p()
            + B_CART * f64::from(carts).ln_1p(),
    );
    let converted = rng.bernoulli(p_convert);
    if converted {
        let s = sessions + 1;
        let mut ts = first + 2 * 86_400_000 + rng.exp(3.0 * DAY_MS) as i64;
        let p = pick_product(rng, level);
        for (k, event) in [
            HOME,
            PRODUCT,
            ADD_TO_CART,
            VIEW_CART,
            CHECKOUT,
            SHIPPING,
            PAYMENT,
            PURCHASE,
        ]
        .into_iter()
        .enumerate()
        {
            if k > 0 {
                ts += step(rng);
            }
            let product = if matches!(event, PRODUCT | ADD_TO_CART | PURCHASE) {
                p
            } else {
                0
            };
            rows.push(Row {
                ts,
                user: idx,
                session: s,
                event,
                product,
            });
        }
        rows[start..].sort_by_key(|r| r.ts);
    }
    UserTruth {
        segment: if bargain { "bargain_hunter" } else { "regular" },
        device,
        channel,
        p_convert,
        converted,
    }
}

/// Writes the rows (already in global time order) as CSV or Parquet.
pub(crate) fn write(
    out: &Path,
    format: super::write::Format,
    rows: &[Row],
    users: &[UserTruth],
) -> Result<()> {
    use super::write::Format;
    match format {
        Format::Csv | Format::CsvGz => {
            let mut buf: Vec<u8> = Vec::with_capacity(rows.len() * 96);
            buf.extend_from_slice(
                b"user_id,session_id,timestamp,event,page,product_id,price,device,channel\n",
            );
            for r in rows {
                row_csv(&mut buf, r, &users[r.user as usize - 1]);
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
        Format::Parquet => parquet(out, rows, users),
    }
}

fn page(buf: &mut Vec<u8>, r: &Row) {
    use super::format::push_uint;
    match r.event {
        HOME => buf.push(b'/'),
        SEARCH => buf.extend_from_slice(b"/search"),
        CATEGORY => {
            buf.extend_from_slice(b"/category/c");
            push_uint(buf, u64::from(r.ts.rem_euclid(17) as u32), 2);
        }
        PRODUCT | ADD_TO_CART => {
            buf.extend_from_slice(b"/product/p");
            push_uint(buf, u64::from(r.product), 4);
        }
        VIEW_CART => buf.extend_from_slice(b"/cart"),
        CHECKOUT => buf.extend_from_slice(b"/checkout"),
        SHIPPING => buf.extend_from_slice(b"/checkout/shipping"),
        PAYMENT => buf.extend_from_slice(b"/checkout/payment"),
        _ => buf.extend_from_slice(b"/order/confirmation"),
    }
}

fn price(buf: &mut Vec<u8>, r: &Row) {
    use super::format::push_uint;
    if r.product == 0 || !matches!(r.event, PRODUCT | ADD_TO_CART | PURCHASE) {
        return;
    }
    let c = price_cents(r.product);
    push_uint(buf, u64::from(c / 100), 1);
    buf.push(b'.');
    push_uint(buf, u64::from(c % 100), 2);
}

fn row_csv(buf: &mut Vec<u8>, r: &Row, u: &UserTruth) {
    use super::format::{push_timestamp, push_uint, push_user_id};
    push_user_id(buf, u64::from(r.user));
    buf.push(b',');
    push_user_id(buf, u64::from(r.user));
    buf.extend_from_slice(b"-s");
    push_uint(buf, u64::from(r.session), 1);
    buf.push(b',');
    push_timestamp(buf, r.ts);
    buf.push(b',');
    buf.extend_from_slice(EVENTS[r.event as usize].as_bytes());
    buf.push(b',');
    page(buf, r);
    buf.push(b',');
    if r.product != 0 {
        buf.push(b'p');
        push_uint(buf, u64::from(r.product), 4);
    }
    buf.push(b',');
    price(buf, r);
    buf.push(b',');
    buf.extend_from_slice(u.device.as_str().as_bytes());
    buf.push(b',');
    buf.extend_from_slice(u.channel.as_str().as_bytes());
    buf.push(b'\n');
}

fn parquet(out: &Path, rows: &[Row], users: &[UserTruth]) -> Result<()> {
    use super::format::{as_str, push_uint, push_user_id};
    use polars::prelude::*;
    const BATCH: usize = 1 << 20;
    let mut frames = Vec::new();
    let mut buf = Vec::new();
    for chunk in rows.chunks(BATCH) {
        let mut user = Vec::with_capacity(chunk.len());
        let mut session = Vec::with_capacity(chunk.len());
        let mut ts = Vec::with_capacity(chunk.len());
        let mut event = Vec::with_capacity(chunk.len());
        let mut pages = Vec::with_capacity(chunk.len());
        let mut product: Vec<Option<String>> = Vec::with_capacity(chunk.len());
        let mut prices: Vec<Option<f64>> = Vec::with_capacity(chunk.len());
        let mut device = Vec::with_capacity(chunk.len());
        let mut channel = Vec::with_capacity(chunk.len());
        for r in chunk {
            let u = &users[r.user as usize - 1];
            buf.clear();
            push_user_id(&mut buf, u64::from(r.user));
            user.push(as_str(&buf).to_string());
            buf.extend_from_slice(b"-s");
            push_uint(&mut buf, u64::from(r.session), 1);
            session.push(as_str(&buf).to_string());
            ts.push(r.ts);
            event.push(EVENTS[r.event as usize]);
            buf.clear();
            page(&mut buf, r);
            pages.push(as_str(&buf).to_string());
            product.push((r.product != 0).then(|| {
                let mut b = vec![b'p'];
                push_uint(&mut b, u64::from(r.product), 4);
                as_str(&b).to_string()
            }));
            buf.clear();
            price(&mut buf, r);
            prices.push(as_str(&buf).parse().ok());
            device.push(u.device.as_str());
            channel.push(u.channel.as_str());
        }
        let time = Int64Chunked::new("timestamp".into(), &ts)
            .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
            .into_column();
        frames.push(DataFrame::new(
            chunk.len(),
            vec![
                Column::new("user_id".into(), user),
                Column::new("session_id".into(), session),
                time,
                Column::new("event".into(), event),
                Column::new("page".into(), pages),
                Column::new("product_id".into(), product),
                Column::new("price".into(), prices),
                Column::new("device".into(), device),
                Column::new("channel".into(), channel),
            ],
        )?);
    }
    crate::atomic::write_with(out, |w| {
        let mut frames = frames.into_iter();
        let Some(mut df) = frames.next() else {
            return Ok(());
        };
        for f in frames {
            df.vstack_mut(&f)?;
        }
        ParquetWriter::new(w)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)?;
        Ok(())
    })
}
