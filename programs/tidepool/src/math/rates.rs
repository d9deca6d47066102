//! Borrow and funding rates and the cumulative indices they drive.
//!
//! Indices are "USD owed per USD of entry notional" at `INDEX_PRECISION` (`expo = -12`).
//! A position owes `entry_notional × (index_now − index_at_snapshot)`.

use super::{mul_div, to_u64, MathResult, Rounding, SafeMath, BPS_DENOMINATOR};

/// Precision of the borrow and funding indices: `expo = -12`.
pub const INDEX_PRECISION: u128 = 1_000_000_000_000;
pub const SECONDS_PER_YEAR: u64 = 365 * 24 * 3_600;

/// Borrow rate (bps per year) on a kinked utilization curve: `base + slope1 × u / u_opt`
/// below the kink, `base + slope1 + slope2 × (u − u_opt) / (1 − u_opt)` above. Rounded up.
pub fn borrow_rate_bps(
    utilization_bps: u64,
    base_bps: u32,
    optimal_bps: u16,
    slope1_bps: u32,
    slope2_bps: u32,
) -> MathResult<u64> {
    let u = utilization_bps.min(BPS_DENOMINATOR);
    let opt = (optimal_bps as u64).clamp(1, BPS_DENOMINATOR);
    let base = base_bps as u64;
    if u <= opt {
        return base.safe_add(to_u64(mul_div(
            slope1_bps as u128,
            u as u128,
            opt as u128,
            Rounding::Up,
        )?)?);
    }
    let above = if opt == BPS_DENOMINATOR {
        0
    } else {
        to_u64(mul_div(
            slope2_bps as u128,
            (u - opt) as u128,
            (BPS_DENOMINATOR - opt) as u128,
            Rounding::Up,
        )?)?
    };
    base.safe_add(slope1_bps as u64)?.safe_add(above)
}

/// Index growth for `rate_bps` per year over `dt` seconds, rounded up (owed by traders).
pub fn index_delta(rate_bps_per_year: u64, dt_seconds: u64) -> MathResult<u128> {
    mul_div(
        (rate_bps_per_year as u128).safe_mul(dt_seconds as u128)?,
        INDEX_PRECISION,
        BPS_DENOMINATOR as u128 * SECONDS_PER_YEAR as u128,
        Rounding::Up,
    )
}

/// Changes of the long and short funding indices over `dt` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FundingDelta {
    pub long: i128,
    pub short: i128,
    /// Funding rate charged to the heavier side, bps per year.
    pub rate_bps: u64,
}

/// Funding: the side with more open interest (entry notional, USD) pays the other at a
/// rate `funding_rate_bps × skew / max_skew` (capped at `funding_rate_bps`). The payer's
/// index rises by the full rate (rounded up); the receiver's falls by what the payers pay in
/// total spread over the receivers' notional (rounded down), so traders never receive more
/// than traders pay. With no receivers, the pool (which holds the skew) receives it.
pub fn funding_delta(
    long_oi_usd: u64,
    short_oi_usd: u64,
    funding_rate_bps: u32,
    max_skew_usd: u64,
    dt_seconds: u64,
) -> MathResult<FundingDelta> {
    let skew = long_oi_usd.abs_diff(short_oi_usd);
    if skew == 0 || dt_seconds == 0 || funding_rate_bps == 0 || max_skew_usd == 0 {
        return Ok(FundingDelta::default());
    }
    let rate = to_u64(mul_div(
        funding_rate_bps as u128,
        skew.min(max_skew_usd) as u128,
        max_skew_usd as u128,
        Rounding::Up,
    )?)?;
    let pay = index_delta(rate, dt_seconds)?;
    let (payer_oi, receiver_oi) = if long_oi_usd > short_oi_usd {
        (long_oi_usd, short_oi_usd)
    } else {
        (short_oi_usd, long_oi_usd)
    };
    let receive = if receiver_oi == 0 {
        0
    } else {
        mul_div(pay, payer_oi as u128, receiver_oi as u128, Rounding::Down)?
    };
    let (pay, receive) = (pay as i128, receive as i128);
    Ok(if long_oi_usd > short_oi_usd {
        FundingDelta {
            long: pay,
            short: -receive,
            rate_bps: rate,
        }
    } else {
        FundingDelta {
            long: -receive,
            short: pay,
            rate_bps: rate,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn borrow_curve_has_a_kink() {
        // base 1 %, kink at 80 %, slope1 10 %, slope2 200 %.
        let r = |u| borrow_rate_bps(u, 100, 8_000, 1_000, 20_000).unwrap();
        assert_eq!(r(0), 100);
        assert_eq!(r(4_000), 600);
        assert_eq!(r(8_000), 1_100);
        assert_eq!(r(9_000), 11_100);
        assert_eq!(r(10_000), 21_100);
        assert_eq!(r(20_000), 21_100, "utilization is capped at 100 %");
    }

    #[test]
    fn index_grows_linearly_with_time() {
        // 10 %/year for a year: 0.1 per USD.
        assert_eq!(
            index_delta(1_000, SECONDS_PER_YEAR),
            Ok(INDEX_PRECISION / 10)
        );
        assert_eq!(index_delta(1_000, 0), Ok(0));
        assert_eq!(index_delta(1, 1), Ok(4), "rounded up");
    }

    #[test]
    fn funding_is_zero_sum_and_heavier_side_pays() {
        let d = funding_delta(3_000, 1_000, 5_000, 4_000, SECONDS_PER_YEAR).unwrap();
        // skew 2000 of 4000 -> 25 %/year.
        assert_eq!(d.rate_bps, 2_500);
        assert_eq!(d.long, (INDEX_PRECISION / 4) as i128);
        assert_eq!(d.short, -(INDEX_PRECISION as i128 * 3 / 4));
        // paid = 3000 × 0.25 = 750 = received = 1000 × 0.75.
        assert_eq!(3_000 * d.long + 1_000 * d.short, 0);
        let e = funding_delta(0, 500, 5_000, 4_000, 1_000).unwrap();
        assert!(e.short > 0 && e.long == 0, "no longs: shorts pay the pool");
        assert_eq!(
            funding_delta(7, 7, 5_000, 4_000, 1_000).unwrap(),
            FundingDelta::default()
        );
    }

    proptest! {
        #[test]
        fn receivers_never_get_more_than_payers_pay(
            long in 0u64..1u64 << 45, short in 0u64..1u64 << 45,
            rate in 0u32..1_000_000, max_skew in 1u64..1u64 << 45, dt in 0u64..10_000_000,
        ) {
            let d = funding_delta(long, short, rate, max_skew, dt).unwrap();
            let net = long as i128 * d.long + short as i128 * d.short;
            prop_assert!(net >= 0, "traders as a whole never gain from funding");
            prop_assert!(d.rate_bps <= rate as u64);
        }

        #[test]
        fn borrow_rate_is_monotonic(u1 in 0u64..=10_000, u2 in 0u64..=10_000, opt in 1u16..=10_000) {
            let (lo, hi) = if u1 <= u2 { (u1, u2) } else { (u2, u1) };
            prop_assert!(borrow_rate_bps(lo, 100, opt, 1_000, 20_000).unwrap()
                <= borrow_rate_bps(hi, 100, opt, 1_000, 20_000).unwrap());
        }
    }
}
