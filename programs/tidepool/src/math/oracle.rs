//! Oracle price conversion and the pure checks the program applies to every Pyth price.

use super::{div_round, fail, mul_div, pow10, to_u64, MathError, MathResult, Rounding, SafeMath};
use super::{BPS_DENOMINATOR, PRICE_DECIMALS, PRICE_PRECISION};

/// Pyth exponents outside this range are refused (real feeds use -5 ..= -12).
pub const MIN_PYTH_EXPONENT: i32 = -28;
pub const MAX_PYTH_EXPONENT: i32 = 10;

/// A validated oracle reading in program precision (`PRICE_PRECISION`, `expo = -9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OraclePrice {
    /// Spot price, rounded down.
    pub spot: u64,
    /// Exponential moving average price, rounded down.
    pub ema: u64,
    /// Confidence interval of the spot price, rounded up.
    pub confidence: u64,
    /// Unix time at which Pyth published this price.
    pub publish_time: i64,
}

impl OraclePrice {
    /// The lowest plausible price: `min(spot, ema) - confidence`, at least 1.
    /// Used where a low price is the conservative one (valuing a long for the pool).
    pub fn low(&self) -> u64 {
        self.spot
            .min(self.ema)
            .saturating_sub(self.confidence)
            .max(1)
    }

    /// The highest plausible price: `max(spot, ema) + confidence`.
    pub fn high(&self) -> u64 {
        self.spot.max(self.ema).saturating_add(self.confidence)
    }
}

/// Convert a Pyth value `value * 10^expo` into `PRICE_PRECISION` with the stated rounding.
pub fn pyth_to_price(value: u64, expo: i32, rounding: Rounding) -> MathResult<u64> {
    if !(MIN_PYTH_EXPONENT..=MAX_PYTH_EXPONENT).contains(&expo) {
        return Err(fail(MathError::OutOfDomain));
    }
    let shift = expo + PRICE_DECIMALS as i32;
    if shift >= 0 {
        to_u64((value as u128).safe_mul(pow10(shift as u32))?)
    } else {
        to_u64(div_round(value as u128, pow10((-shift) as u32), rounding)?)
    }
}

/// True when `confidence / price <= max_bps / 10_000`.
pub fn confidence_within(price: u64, confidence: u64, max_bps: u16) -> bool {
    (confidence as u128) * (BPS_DENOMINATOR as u128) <= (price as u128) * (max_bps as u128)
}

/// True when `|spot - ema| / ema <= max_bps / 10_000`.
pub fn ema_deviation_within(spot: u64, ema: u64, max_bps: u16) -> bool {
    (spot.abs_diff(ema) as u128) * (BPS_DENOMINATOR as u128) <= (ema as u128) * (max_bps as u128)
}

/// True when a stablecoin's price is within `max_bps` of 1 USD.
pub fn peg_within(price: u64, max_bps: u16) -> bool {
    (price.abs_diff(PRICE_PRECISION) as u128) * (BPS_DENOMINATOR as u128)
        <= (PRICE_PRECISION as u128) * (max_bps as u128)
}

/// `confidence / price` in basis points, rounded up.
pub fn confidence_ratio_bps(price: u64, confidence: u64) -> MathResult<u64> {
    to_u64(mul_div(
        confidence as u128,
        BPS_DENOMINATOR as u128,
        price as u128,
        Rounding::Up,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn converts_common_exponents() {
        // SOL at $123.45678901 with expo -8 -> 123.456789010 at expo -9.
        assert_eq!(
            pyth_to_price(12_345_678_901, -8, Rounding::Down),
            Ok(123_456_789_010)
        );
        // expo -10 loses one digit, rounding as told.
        assert_eq!(pyth_to_price(12_345, -10, Rounding::Down), Ok(1_234));
        assert_eq!(pyth_to_price(12_345, -10, Rounding::Up), Ok(1_235));
        assert_eq!(pyth_to_price(7, 0, Rounding::Down), Ok(7_000_000_000));
        assert_eq!(
            pyth_to_price(1, 11, Rounding::Down),
            Err(MathError::OutOfDomain)
        );
        assert_eq!(
            pyth_to_price(1, -29, Rounding::Down),
            Err(MathError::OutOfDomain)
        );
        assert_eq!(
            pyth_to_price(u64::MAX, 0, Rounding::Down),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn guards_are_inclusive_bounds() {
        assert!(confidence_within(10_000, 100, 100));
        assert!(!confidence_within(10_000, 101, 100));
        assert!(ema_deviation_within(10_500, 10_000, 500));
        assert!(!ema_deviation_within(10_501, 10_000, 500));
        assert!(peg_within(990_000_000, 100));
        assert!(!peg_within(989_999_999, 100));
        assert!(peg_within(1_010_000_000, 100));
    }

    #[test]
    fn band_never_reaches_zero() {
        let p = OraclePrice {
            spot: 10,
            ema: 12,
            confidence: 50,
            publish_time: 0,
        };
        assert_eq!(p.low(), 1);
        assert_eq!(p.high(), 62);
    }

    proptest! {
        #[test]
        fn conversion_brackets_the_exact_value(value in 0u64..=u64::MAX / 1000, expo in -18i32..=-9) {
            let down = pyth_to_price(value, expo, Rounding::Down).unwrap();
            let up = pyth_to_price(value, expo, Rounding::Up).unwrap();
            let scale = pow10((-(expo + 9)) as u32);
            prop_assert!((down as u128) * scale <= value as u128);
            prop_assert!((up as u128) * scale >= value as u128);
            prop_assert!(up - down <= 1);
        }

        #[test]
        fn conversion_is_monotonic(a in 0u64..1u64 << 50, b in 0u64..1u64 << 50, expo in -12i32..=-6) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(pyth_to_price(lo, expo, Rounding::Down).unwrap()
                <= pyth_to_price(hi, expo, Rounding::Down).unwrap());
        }
    }
}
