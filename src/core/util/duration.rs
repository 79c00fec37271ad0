//! Durations in the format of OpenAI's `x-ratelimit-reset-*` headers: `20ms`, `1.5s`,
//! `6m0s`, `1h2m`. The gateway writes them for its own limits and reads them from
//! upstreams that speak OpenAI's wire.
//!
//! Reference: <https://platform.openai.com/docs/guides/rate-limits>.

/// OpenAI's duration format for `x-ratelimit-reset-*`: `20ms`, `1.5s`, `6m0s`.
pub fn reset_string(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => {
            let s = format!("{}.{:03}", ms / 1000, ms % 1000);
            format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// A duration in the format of `x-ratelimit-reset-*` (`20ms`, `1.5s`, `6m0s`, `1h2m`), as
/// milliseconds, rounded up; `None` for anything else or a day or more.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let mut total = 0.0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value = super::decimal::parse_f64(&rest[..digits])?;
        rest = &rest[digits..];
        let (unit_ms, len) = match rest.as_bytes() {
            [b'm', b's', ..] => (1.0, 2),
            [b'h', ..] => (3_600_000.0, 1),
            [b'm', ..] => (60_000.0, 1),
            [b's', ..] => (1_000.0, 1),
            _ => return None,
        };
        total += value * unit_ms;
        rest = &rest[len..];
    }
    (total.is_finite() && total < 86_400_000.0).then_some(total.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_strings_follow_openai() {
        assert_eq!(reset_string(20), "20ms");
        assert_eq!(reset_string(1000), "1s");
        assert_eq!(reset_string(1500), "1.5s");
        assert_eq!(reset_string(360_000), "6m0s");
    }

    #[test]
    fn upstream_reset_durations_parse() {
        for (s, ms) in [("20ms", 20), ("1s", 1000), ("1.5s", 1500), ("6m0s", 360_000), ("1h2m", 3_720_000), ("0.25s", 250)] {
            assert_eq!(parse_duration_ms(s), Some(ms), "{s}");
            assert_eq!(parse_duration_ms(&reset_string(ms)), Some(ms));
        }
        for bad in ["", "5", "s", "1x", "-1s", "99999h"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }
}
