//! Hand-rolled row formatting: `write!` per field costs several times more than
//! the rest of generation combined at 10M rows, and chrono formatting per row
//! would dominate the CSV path.

use super::{Event, Item, Page, UserTruth};

pub(super) fn as_str(b: &[u8]) -> &str {
    // Only ASCII is ever pushed into scratch buffers.
    std::str::from_utf8(b).expect("ascii")
}

pub(super) fn csv_row(buf: &mut Vec<u8>, idx: u64, user: &UserTruth, ev: &Event, amount: bool) {
    push_user_id(buf, idx);
    buf.push(b',');
    push_user_id(buf, idx);
    buf.extend_from_slice(b"-s");
    push_uint(buf, u64::from(ev.session), 1);
    buf.push(b',');
    buf.extend_from_slice(ev.name.as_bytes());
    buf.push(b',');
    push_timestamp(buf, ev.ts);
    buf.push(b',');
    push_page(buf, ev.page);
    buf.push(b',');
    push_item(buf, ev.item);
    buf.push(b',');
    buf.extend_from_slice(user.device.as_str().as_bytes());
    buf.push(b',');
    buf.extend_from_slice(user.channel.as_str().as_bytes());
    if amount {
        buf.push(b',');
        if let Some(a) = ev.amount {
            push_uint(buf, u64::from(a), 1);
        }
    }
    buf.push(b'\n');
}

pub(super) fn push_user_id(buf: &mut Vec<u8>, idx: u64) {
    buf.push(b'u');
    push_uint(buf, idx, 7);
}

pub(super) fn push_page(buf: &mut Vec<u8>, page: Page) {
    match page {
        Page::Static(s) => buf.extend_from_slice(s.as_bytes()),
        Page::Product(id) => {
            buf.extend_from_slice(b"/product/");
            push_item(buf, Item::Product(id));
        }
        Page::Feature(f) => {
            buf.extend_from_slice(b"/features/");
            push_item(buf, Item::Feature(f));
        }
    }
}

/// Returns false (and pushes nothing) for `Item::None`.
pub(super) fn push_item(buf: &mut Vec<u8>, item: Item) -> bool {
    match item {
        Item::None => return false,
        Item::Product(id) => {
            buf.push(b'p');
            push_uint(buf, u64::from(id), 4);
        }
        Item::Feature(f) => {
            buf.push(b'f');
            push_uint(buf, u64::from(f), 2);
        }
    }
    true
}

/// Decimal with at least `width` digits (zero-padded); wider numbers are not truncated.
pub(super) fn push_uint(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    while n > 0 {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = i.min(tmp.len() - width.min(tmp.len()));
    buf.extend_from_slice(&tmp[start..]);
}

fn push2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for epoch milliseconds (years 0..=9999).
pub(crate) fn push_timestamp(buf: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000) as u32;
    let (y, m, d) = civil_from_days(days);
    push_uint(buf, y.max(0) as u64, 4);
    buf.push(b'-');
    push2(buf, m);
    buf.push(b'-');
    push2(buf, d);
    buf.push(b'T');
    let secs = rem / 1000;
    push2(buf, secs / 3600);
    buf.push(b':');
    push2(buf, secs / 60 % 60);
    buf.push(b':');
    push2(buf, secs % 60);
    buf.push(b'.');
    let milli = rem % 1000;
    buf.push(b'0' + (milli / 100) as u8);
    push2(buf, milli % 100);
    buf.push(b'Z');
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, SecondsFormat};

    #[test]
    fn timestamp_matches_chrono() {
        let mut r = crate::rng::Rng::new(11);
        for _ in 0..20_000 {
            let ms = r.below(4_102_444_800_000) as i64; // 1970..2100
            let mut buf = Vec::new();
            push_timestamp(&mut buf, ms);
            let expect = DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            assert_eq!(String::from_utf8(buf).unwrap(), expect);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2026, 10, 1)), (2026, 10, 1));
    }

    #[test]
    fn padded_numbers() {
        let mut b = Vec::new();
        push_uint(&mut b, 42, 7);
        push_uint(&mut b, 0, 1);
        push_uint(&mut b, 123_456_789, 7);
        assert_eq!(b, b"00000420123456789");
    }
}
