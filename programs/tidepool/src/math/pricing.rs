//! Execution prices: spot and EMA with a confidence-based spread against the taker.
//!
//! A buy (open long, close short) fills at `max(spot, ema) × (1 + spread)`, rounded up;
//! a sell (open short, close long) at `min(spot, ema) × (1 − spread)`, rounded down, where
//! `spread = base_spread + confidence_spread × confidence / spot`.

use super::oracle::{confidence_ratio_bps, OraclePrice};
use super::{bps_of, mul_div, to_u64, MathResult, Rounding, SafeMath, BPS_DENOMINATOR};

/// Largest spread ever applied, bps: a sell price must stay positive.
pub const MAX_SPREAD_BPS: u64 = 5_000;

/// Spread in bps for this oracle reading, rounded up, at most `MAX_SPREAD_BPS`.
pub fn spread_bps(
    base_spread_bps: u16,
    confidence_spread_bps: u16,
    price: &OraclePrice,
) -> MathResult<u64> {
    let conf_bps = confidence_ratio_bps(price.spot, price.confidence)?;
    let conf_part = to_u64(mul_div(
        conf_bps as u128,
        confidence_spread_bps as u128,
        BPS_DENOMINATOR as u128,
        Rounding::Up,
    )?)?;
    Ok((base_spread_bps as u64)
        .safe_add(conf_part)?
        .min(MAX_SPREAD_BPS))
}

/// Fill price of a buy (`buy = true`) or a sell, `expo = -9`.
pub fn execution_price(price: &OraclePrice, buy: bool, spread_bps: u64) -> MathResult<u64> {
    let spread = spread_bps.min(MAX_SPREAD_BPS);
    if buy {
        let worst = price.spot.max(price.ema);
        worst.safe_add(bps_of(worst, spread, Rounding::Up)?)
    } else {
        let worst = price.spot.min(price.ema);
        let p = worst.safe_sub(bps_of(worst, spread, Rounding::Up)?)?;
        Ok(p.max(1))
    }
}

/// True when a fill at `fill` is no worse than the trader's `acceptable` price: a buy must
/// not pay more, a sell must not receive less.
pub fn within_acceptable(fill: u64, acceptable: u64, buy: bool) -> bool {
    if buy {
        fill <= acceptable
    } else {
        fill >= acceptable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn px(spot: u64, ema: u64, conf: u64) -> OraclePrice {
        OraclePrice {
            spot,
            ema,
            confidence: conf,
            publish_time: 0,
        }
    }

    #[test]
    fn spread_grows_with_confidence() {
        let tight = px(100_000, 100_000, 10); // 1 bps confidence
        let wide = px(100_000, 100_000, 1_000); // 100 bps
        assert_eq!(spread_bps(5, 10_000, &tight), Ok(6));
        assert_eq!(spread_bps(5, 10_000, &wide), Ok(105));
        assert_eq!(spread_bps(5, 20_000, &wide), Ok(205));
        assert_eq!(
            spread_bps(1_000, 50_000, &px(100, 100, 90)),
            Ok(MAX_SPREAD_BPS)
        );
    }

    #[test]
    fn takers_pay_the_worse_of_spot_and_ema() {
        let p = px(100_000, 101_000, 0);
        assert_eq!(execution_price(&p, true, 10), Ok(101_101));
        assert_eq!(execution_price(&p, false, 10), Ok(99_900));
        assert!(within_acceptable(101_101, 101_101, true));
        assert!(!within_acceptable(101_102, 101_101, true));
        assert!(within_acceptable(99_900, 99_900, false));
        assert!(!within_acceptable(99_899, 99_900, false));
    }

    proptest! {
        #[test]
        fn buy_never_below_sell(spot in 1u64..1u64 << 50, ema in 1u64..1u64 << 50, conf in 0u64..1u64 << 40, base in 0u16..1000, k in 0u16..50_000) {
            let p = px(spot, ema, conf);
            let s = spread_bps(base, k, &p).unwrap();
            let buy = execution_price(&p, true, s).unwrap();
            let sell = execution_price(&p, false, s).unwrap();
            prop_assert!(buy >= spot.max(ema));
            prop_assert!(sell <= spot.min(ema));
            prop_assert!(sell >= 1);
        }
    }
}
