//! GCRA, the generic cell rate algorithm, over one-minute windows: the rate limiter behind
//! requests- and tokens-per-minute limits and an upstream's quota.
//!
//! A limit of `L` per minute is one emission interval of `1 min / L`; its whole state is a
//! theoretical arrival time (TAT), in nanoseconds. A request of cost `c` moves the TAT
//! forward by `c` intervals and is admitted when the TAT stays within a minute of now, so a
//! burst of up to `L` fits at once and the rate refills evenly after.
//!
//! Invariant: over any span of time, at most `L + L × span / 1 min` is admitted
//! (property-tested below).

/// One minute in nanoseconds: the window every limit is counted over.
pub const MINUTE_NS: u64 = 60_000_000_000;

/// The emission interval of a per-minute limit, in nanoseconds (rounded up: never faster).
pub fn interval_ns(per_minute: u64) -> u64 {
    MINUTE_NS.div_ceil(per_minute.max(1))
}

/// The new theoretical arrival time if `cost` fits now, else how long until it would (ns).
pub fn admit(tat: u64, now_ns: u64, interval: u64, cost: u64) -> Result<u64, u64> {
    let next = tat.max(now_ns).saturating_add(interval.saturating_mul(cost));
    if next - now_ns <= MINUTE_NS {
        Ok(next)
    } else {
        Err(next - MINUTE_NS - now_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Over any span of time, GCRA admits at most `limit + limit × span / 1 min` requests.
        #[test]
        fn gcra_never_admits_more_than_burst_plus_rate(limit in 1u32..50, gaps in proptest::collection::vec(0u64..4_000, 1..300)) {
            let mut tat = 0;
            let mut now = 0;
            let mut times = Vec::new();
            for gap in &gaps {
                now += gap;
                if let Ok(next) = admit(tat, now * 1_000_000, interval_ns(limit.into()), 1) {
                    tat = next;
                    times.push(now);
                }
            }
            for (i, &start) in times.iter().enumerate() {
                for (j, &end) in times.iter().enumerate().skip(i) {
                    let bound = limit as u64 + (limit as u64 * (end - start)).div_ceil(60_000);
                    prop_assert!((j - i + 1) as u64 <= bound, "{} admitted in {} ms with limit {}", j - i + 1, end - start, limit);
                }
            }
        }
    }
}
