//! Decimal numbers read from text (header values such as `retry-after: 1.5`) without core's
//! float parser: `str::parse::<f64>` pulls its code and a 10 KB table of powers of five into
//! the wasm module, for the two or three header values the gateway reads as numbers.
//!
//! Invariants: [`parse_f64`] accepts exactly the strings `str::parse::<f64>` accepts (an
//! optional sign, then `inf`, `infinity` or `nan` in any case, or digits with at most one `.`
//! and at least one digit, then an optional `e`/`E` exponent with an optional sign and at
//! least one digit; no spaces). Its value is the same, correctly rounded, when the number has
//! at most 15 significant digits and its exponent, once they are read as an integer, is
//! within ±22 (Clinger's fast path: one exact integer, one exact power of ten, one rounding);
//! beyond that it is within a few units in the last place.
//! Reference: <https://doc.rust-lang.org/std/primitive.f64.html#impl-FromStr-for-f64>.

/// The exact powers of ten an `f64` holds: 10⁰ to 10²².
const POW10: [f64; 23] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/// `s` as an `f64`, as `str::parse::<f64>` reads it (module doc); `None` for anything else.
pub fn parse_f64(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        let (mantissa, exp) = digits(body.as_bytes())?;
        scale(mantissa, exp)
    };
    Some(if negative { -v } else { v })
}

/// The digits (with one optional `.`) and exponent of an unsigned number as an integer and
/// a power of ten. Digits past the 19th only move the exponent.
fn digits(b: &[u8]) -> Option<(u64, i64)> {
    let (mut mantissa, mut exp, mut seen, mut dot, mut i) = (0u64, 0i64, false, false, 0);
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                seen = true;
                if mantissa < 1_000_000_000_000_000_000 {
                    mantissa = mantissa * 10 + u64::from(c - b'0');
                    exp -= i64::from(dot);
                } else {
                    exp += i64::from(!dot);
                }
            }
            b'.' if !dot => dot = true,
            _ => break,
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if let Some(&e) = b.get(i) {
        if e | 0x20 != b'e' {
            return None;
        }
        let rest = &b[i + 1..];
        let (negative, rest) = match rest.first() {
            Some(b'-') => (true, &rest[1..]),
            Some(b'+') => (false, &rest[1..]),
            _ => (false, rest),
        };
        if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let e = rest.iter().fold(0i64, |e, d| (e * 10 + i64::from(d - b'0')).min(1_000_000));
        exp += if negative { -e } else { e };
    }
    Some((mantissa, exp))
}

/// `mantissa × 10^exp`, by exact powers of ten (at most 10²² at a step).
fn scale(mantissa: u64, exp: i64) -> f64 {
    let mut v = mantissa as f64;
    let mut e = exp;
    while e != 0 && v != 0.0 && v.is_finite() {
        let step = e.unsigned_abs().min(22);
        let p = POW10[step as usize];
        if e > 0 {
            v *= p;
            e -= step as i64;
        } else {
            v /= p;
            e += step as i64;
        }
    }
    v
}

#[cfg(test)]
#[path = "decimal_tests.rs"]
mod tests;
