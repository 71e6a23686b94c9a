//! How numbers are written, the same in every backend.

/// A number with thousands separators: 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage with one decimal: 0.625 → "62.5%", 1 → "100.0%".
pub fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A change of a share in percentage points: "+1.5 pp".
pub fn pp(x: f64) -> String {
    format!("{:+.1} pp", x * 100.0)
}

/// A float without trailing noise: 3.0 → "3", 2.5 → "2.5", 0.123456 → "0.123".
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// "1 user", "1,200 users".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(pct(0.625), "62.5%");
        assert_eq!(pp(-0.015), "-1.5 pp");
        assert_eq!(count(1, "user", "users"), "1 user");
        assert_eq!(count(1200, "user", "users"), "1,200 users");
    }
}
