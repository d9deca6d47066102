//! Margin that moves with volatility, utilization and size.
//!
//! ```text
//! im = base_im × (1 + k_vol × σ + k_util × u) + size_margin × size / size_scale
//! mm = base_mm × (1 + k_vol × σ_realized)
//! ```
//! `σ` is the market's volatility over its horizon (`√(variance × horizon)`) plus the
//! oracle's confidence ratio; `σ_realized` the same without the confidence ratio, so that a
//! wide confidence band alone never moves the liquidation line (SPEC 4: it may raise the
//! initial margin, not the maintenance margin); `u` the pool's utilization (reserved / LP
//! balance). Both
//! ratios are capped at 100 %; `mm ≤ im` always holds because `base_mm < base_im` and the
//! maintenance multiplier is never larger than the initial one. Max leverage is `1 / im`.

use super::oracle::OraclePrice;
use super::volatility::volatility_over;
use super::{mul_div, to_u64, MathResult, Rounding, SafeMath};
use super::{BPS_DENOMINATOR, VOLATILITY_PRECISION};

/// The risk parameters margin depends on (a market's, see `MarketParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginParams {
    pub base_initial_margin_bps: u16,
    pub base_maintenance_margin_bps: u16,
    pub volatility_multiplier_bps: u32,
    pub utilization_multiplier_bps: u32,
    pub size_margin_bps: u16,
    pub size_margin_scale_usd: u64,
}

/// Initial and maintenance margin ratios, bps of notional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginRatios {
    pub initial_bps: u64,
    pub maintenance_bps: u64,
}

impl MarginRatios {
    /// Highest leverage allowed to open, `expo = -4` (e.g. 200_000 = 20x).
    pub fn max_leverage_bps(&self) -> u64 {
        BPS_DENOMINATOR * BPS_DENOMINATOR / self.initial_bps.max(1)
    }
}

/// The two volatilities margin depends on, at `VOLATILITY_PRECISION` (`expo = -9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Volatility {
    /// Realized volatility over the horizon (from the market's EWMA variance).
    pub realized: u64,
    /// `confidence / spot` of the price in use.
    pub confidence: u64,
}

impl Volatility {
    /// `σ_realized + confidence / spot`: what the initial margin prices.
    pub fn effective(&self) -> MathResult<u64> {
        self.realized.safe_add(self.confidence)
    }
}

/// Realized volatility over `horizon_seconds` and the price's confidence ratio, rounded up.
pub fn effective_volatility(
    variance: u128,
    horizon_seconds: u64,
    price: &OraclePrice,
) -> MathResult<Volatility> {
    let realized = volatility_over(variance, horizon_seconds)?;
    let confidence = to_u64(mul_div(
        price.confidence as u128,
        VOLATILITY_PRECISION as u128,
        price.spot.max(1) as u128,
        Rounding::Up,
    )?)?;
    Ok(Volatility {
        realized,
        confidence,
    })
}

/// Margin ratios for a position of `size_usd` at volatility `vol` and pool utilization
/// `utilization_bps`. The initial margin prices realized volatility plus the confidence
/// ratio, the maintenance margin realized volatility alone. Rounded up, capped at 100 %.
pub fn margin_ratios(
    p: &MarginParams,
    vol: Volatility,
    utilization_bps: u64,
    size_usd: u64,
) -> MathResult<MarginRatios> {
    let one = VOLATILITY_PRECISION as u128;
    // k_vol × σ and k_util × u, both at 1e-9.
    let vol_term_of = |v: u64| {
        mul_div(
            p.volatility_multiplier_bps as u128,
            v as u128,
            BPS_DENOMINATOR as u128,
            Rounding::Up,
        )
    };
    let vol_term = vol_term_of(vol.effective()?)?;
    let realized_term = vol_term_of(vol.realized)?;
    let util_term = mul_div(
        p.utilization_multiplier_bps as u128,
        (utilization_bps.min(BPS_DENOMINATOR) as u128).safe_mul(one)?,
        (BPS_DENOMINATOR * BPS_DENOMINATOR) as u128,
        Rounding::Up,
    )?;
    let initial_multiplier = one.safe_add(vol_term)?.safe_add(util_term)?;
    let maintenance_multiplier = one.safe_add(realized_term)?;
    let size_part = mul_div(
        p.size_margin_bps as u128,
        size_usd as u128,
        p.size_margin_scale_usd.max(1) as u128,
        Rounding::Up,
    )?;
    let cap = BPS_DENOMINATOR as u128;
    let initial = mul_div(
        p.base_initial_margin_bps as u128,
        initial_multiplier,
        one,
        Rounding::Up,
    )?
    .safe_add(size_part)?
    .min(cap);
    let maintenance = mul_div(
        p.base_maintenance_margin_bps as u128,
        maintenance_multiplier,
        one,
        Rounding::Up,
    )?
    .min(initial);
    Ok(MarginRatios {
        initial_bps: initial as u64,
        maintenance_bps: maintenance as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vol(realized: u64) -> Volatility {
        Volatility {
            realized,
            confidence: 0,
        }
    }

    fn params() -> MarginParams {
        MarginParams {
            base_initial_margin_bps: 500,
            base_maintenance_margin_bps: 250,
            volatility_multiplier_bps: 10_000,
            utilization_multiplier_bps: 10_000,
            size_margin_bps: 100,
            size_margin_scale_usd: 1_000_000_000_000,
        }
    }

    #[test]
    fn calm_empty_small_is_the_base() {
        let r = margin_ratios(&params(), vol(0), 0, 0).unwrap();
        assert_eq!(
            r,
            MarginRatios {
                initial_bps: 500,
                maintenance_bps: 250
            }
        );
        assert_eq!(r.max_leverage_bps(), 200_000);
    }

    #[test]
    fn volatility_utilization_and_size_each_raise_margin() {
        // σ = 20 %: × 1.2.
        let r = margin_ratios(&params(), vol(200_000_000), 0, 0).unwrap();
        assert_eq!(
            r,
            MarginRatios {
                initial_bps: 600,
                maintenance_bps: 300
            }
        );
        // u = 50 %: initial × 1.5, maintenance unchanged.
        let r = margin_ratios(&params(), vol(0), 5_000, 0).unwrap();
        assert_eq!(
            r,
            MarginRatios {
                initial_bps: 750,
                maintenance_bps: 250
            }
        );
        // Size at the scale adds size_margin_bps.
        let r = margin_ratios(&params(), vol(0), 0, 1_000_000_000_000).unwrap();
        assert_eq!(r.initial_bps, 600);
        // Extreme inputs cap at 100 %.
        let r = margin_ratios(&params(), vol(u64::MAX / 2), 10_000, u64::MAX).unwrap();
        assert_eq!(r.initial_bps, 10_000);
        assert!(r.maintenance_bps <= r.initial_bps);
    }

    #[test]
    fn confidence_counts_as_volatility() {
        let p = OraclePrice {
            spot: 1_000,
            ema: 1_000,
            confidence: 10,
            publish_time: 0,
        };
        let v = effective_volatility(0, 86_400, &p).unwrap();
        assert_eq!(v.effective(), Ok(10_000_000));
        assert_eq!(v.realized, 0);
    }

    /// Audit finding 9: a wider confidence band raises the initial margin only.
    #[test]
    fn confidence_never_moves_the_maintenance_margin() {
        let calm = Volatility {
            realized: 50_000_000,
            confidence: 0,
        };
        let wide = Volatility {
            confidence: 100_000_000,
            ..calm
        };
        let a = margin_ratios(&params(), calm, 0, 0).unwrap();
        let b = margin_ratios(&params(), wide, 0, 0).unwrap();
        assert_eq!(a.maintenance_bps, b.maintenance_bps);
        assert!(b.initial_bps > a.initial_bps);
    }

    proptest! {
        #[test]
        fn monotonic_and_bounded(
            v1 in 0u64..5_000_000_000, v2 in 0u64..5_000_000_000,
            u1 in 0u64..=10_000, u2 in 0u64..=10_000,
            s1 in 0u64..1u64 << 50, s2 in 0u64..1u64 << 50,
        ) {
            let p = params();
            let lo = margin_ratios(&p, vol(v1.min(v2)), u1.min(u2), s1.min(s2)).unwrap();
            let hi = margin_ratios(&p, vol(v1.max(v2)), u1.max(u2), s1.max(s2)).unwrap();
            prop_assert!(lo.initial_bps <= hi.initial_bps);
            prop_assert!(lo.maintenance_bps <= hi.maintenance_bps);
            for r in [lo, hi] {
                prop_assert!(r.maintenance_bps <= r.initial_bps);
                prop_assert!(r.initial_bps <= 10_000);
                prop_assert!(r.initial_bps >= 500 && r.maintenance_bps >= 250);
            }
        }
    }
}
