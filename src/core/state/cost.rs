//! The cost of a request, in integer nano-USD, from its usage and the model's prices.
//!
//! Prices are micro-USD per million tokens (config), so a token at price `p` costs `p / 1000`
//! nano-USD: exact for every price with up to six decimals of USD per million. Input tokens
//! served from the provider's cache bill at the cached price, tokens written to its cache at
//! the cache-write price, the rest of the input at the input price; reasoning tokens are
//! part of the output and bill as output.

use crate::core::config::Prices;
use crate::core::types::Usage;

/// Nano-USD for `usage` at `prices`.
pub fn nano_usd(usage: &Usage, prices: &Prices) -> u64 {
    let fresh = usage.input_tokens.saturating_sub(usage.cached_input_tokens + usage.cache_write_tokens);
    let micro_per_m_times_tokens = fresh as u128 * prices.input as u128
        + usage.cached_input_tokens as u128 * prices.cached_input as u128
        + usage.cache_write_tokens as u128 * prices.cache_write as u128
        + usage.output_tokens as u128 * prices.output as u128;
    thousandth(micro_per_m_times_tokens)
}

/// `x / 1000` (rounded down), capped at `u64::MAX`: a long division in 32-bit digits, since
/// a `u128` division would bring the compiler's 128-bit division routine into the module.
fn thousandth(x: u128) -> u64 {
    if x >> 64 >= 1000 {
        return u64::MAX;
    }
    // x < 1000 × 2⁶⁴, so x >> 32 < 1000 × 2³² and every step below fits in a u64.
    let high = (x >> 32) as u64;
    let rest = ((high % 1000) << 32) | (x as u64 & 0xffff_ffff);
    ((high / 1000) << 32) + rest / 1000
}

/// Nano-USD as a decimal USD string (`0.000123450`), for headers and logs.
pub fn usd_string(nano: u64) -> String {
    format!("{}.{:09}", nano / 1_000_000_000, nano % 1_000_000_000)
}

/// Token counts estimated from text, for upstreams that report no usage (about four
/// characters a token, plus a small per-message overhead on input).
pub fn estimate(input_text_chars: u64, messages: u64, output_text_chars: u64) -> Usage {
    Usage {
        input_tokens: input_text_chars.div_ceil(4) + 4 * messages + 3,
        output_tokens: output_text_chars.div_ceil(4),
        estimated: true,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thousandth_is_the_u128_division_capped() {
        let edges = [0u128, 1, 999, 1000, 1001, u64::MAX as u128, 1000 * u64::MAX as u128, 1000 * u64::MAX as u128 + 999];
        let more =
            [1000 * (u64::MAX as u128 + 1) - 1, 1000 * (u64::MAX as u128 + 1), u128::MAX, (1 << 74) + 12_345, 987_654_321_987_654_321_987];
        for x in edges.into_iter().chain(more) {
            assert_eq!(thousandth(x), (x / 1000).min(u64::MAX as u128) as u64, "{x}");
        }
    }
    use proptest::prelude::*;

    const PRICES: Prices = Prices { input: 2_500_000, output: 10_000_000, cached_input: 1_250_000, cache_write: 3_125_000 };

    #[test]
    fn known_costs() {
        // 1M fresh input tokens at $2.50/M = $2.50.
        let u = Usage { input_tokens: 1_000_000, ..Default::default() };
        assert_eq!(nano_usd(&u, &PRICES), 2_500_000_000);
        // 1000 input of which 400 cached and 100 written, 200 output.
        let u = Usage { input_tokens: 1000, cached_input_tokens: 400, cache_write_tokens: 100, output_tokens: 200, ..Default::default() };
        assert_eq!(nano_usd(&u, &PRICES), 500 * 2_500 + 400 * 1_250 + 100 * 3_125 + 200 * 10_000);
        assert_eq!(usd_string(1_250_000), "0.001250000");
        assert_eq!(usd_string(2_500_000_000), "2.500000000");
    }

    #[test]
    fn estimates_are_flagged() {
        let u = estimate(40, 2, 8);
        assert_eq!((u.input_tokens, u.output_tokens, u.estimated), (21, 2, true));
    }

    proptest! {
        #[test]
        fn cost_is_monotone_in_tokens(a in 0u64..10_000_000, b in 0u64..10_000_000, extra in 1u64..1000) {
            let u = Usage { input_tokens: a, output_tokens: b, ..Default::default() };
            let more_out = Usage { output_tokens: b + extra, ..u };
            let more_in = Usage { input_tokens: a + extra, ..u };
            prop_assert!(nano_usd(&more_out, &PRICES) >= nano_usd(&u, &PRICES));
            prop_assert!(nano_usd(&more_in, &PRICES) >= nano_usd(&u, &PRICES));
        }
    }
}
