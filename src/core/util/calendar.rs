//! UTC calendar arithmetic on day numbers (days since 1970-01-01), proleptic Gregorian: the
//! civil date of a day, its `YYYY-MM-DD` string, its month, and strict parsing of such dates.
//!
//! Budgets reset per UTC day and calendar month and the ledger is kept per UTC day; both
//! count days with these functions, so they always agree on where a day or month begins.

/// One day in milliseconds: `now_ms / DAY_MS` is today's day number.
pub const DAY_MS: u64 = 86_400_000;

/// The civil date `(year, month, day)` of a day number (days since 1970-01-01).
pub fn civil(days: u64) -> (u64, u64, u64) {
    // Howard Hinnant's days-to-civil, for non-negative day numbers.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(m <= 2), m, d)
}

/// A day number as `YYYY-MM-DD`.
pub fn day_string(days: u64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The first day of a day number's month, as `YYYY-MM-DD`.
pub fn month_start_string(days: u64) -> String {
    let (y, m, _) = civil(days);
    format!("{y:04}-{m:02}-01")
}

/// Months since year 0, for telling months apart.
pub fn month_index(days: u64) -> u64 {
    let (y, m, _) = civil(days);
    y * 12 + m - 1
}

/// A valid `YYYY-MM-DD` date, as written.
pub fn parse_day(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit()))?.parse::<u64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    ((1..=12).contains(&m) && (1..=days_in[(m - 1) as usize]).contains(&d)).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(19_782), "2024-02-29");
        assert_eq!(day_string(20_420), "2025-11-28");
        assert_eq!(month_index(0), 1970 * 12);
        assert_eq!(month_index(31), 1970 * 12 + 1);
    }

    #[test]
    fn month_starts() {
        assert_eq!(month_start_string(0), "1970-01-01");
        assert_eq!(month_start_string(19_782), "2024-02-01");
        assert_eq!(month_start_string(20_420), "2025-11-01");
    }

    #[test]
    fn days_parse_strictly() {
        assert_eq!(parse_day("2024-02-29").as_deref(), Some("2024-02-29"));
        for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "2024-01-32", "20240101xx", "2024-00-10", "2024-01-+1"] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }
}
