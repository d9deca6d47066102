//! Margin built from the risk it must cover (`docs/risk-model.md` derives it).
//!
//! ```text
//! σ  = max(σ_fast, σ_slow, |spot − ema| / spot)        over the liquidation horizon h
//! mm = base_mm + z × σ
//! im = mm + (base_im − base_mm) + z × confidence / spot + stress_margin × s² + size term
//! ```
//! - `σ_fast`, `σ_slow`: realized volatility over `h` (`√(variance × h)`) from the market's
//!   two EWMA variance estimates (`math::volatility`), the fast one reacting within minutes,
//!   the slow one forgetting over a day; the higher is used.
//! - `|spot − ema| / spot`: how far the price has run from Pyth's own EMA, which Pyth
//!   computes from every update it publishes, not just the ones posted to this chain, so no
//!   choice of which updates to post can lower the estimate below the move it has not caught
//!   up with.
//! - `z`: the confidence multiple (`volatility_multiplier_bps`, e.g. 30000 = 3σ); `base_mm`
//!   (above the liquidation fee) is the floor of the maintenance margin.
//! - The initial margin adds the noise buffer `base_im − base_mm` (a fresh position is not
//!   liquidatable by the next ordinary tick), `z ×` the oracle's confidence ratio (SPEC 4:
//!   the confidence band moves the initial margin, never the maintenance margin), a pool
//!   stress term (`s` = utilization / max utilization: margins rise quadratically as the pool's
//!   reserves approach its cap, where new risk stops) and a size term.
//!
//! Both ratios are capped at 100 % and `mm ≤ im` always. Max leverage is `1 / im`.

use super::oracle::OraclePrice;
use super::volatility::volatility_over;
use super::{cast, mul_div, to_u64, MathResult, Rounding, SafeMath};
use super::{BPS_DENOMINATOR, VOLATILITY_PRECISION};

/// The risk parameters margin depends on (a market's, see `MarketParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginParams {
    pub base_initial_margin_bps: u16,
    pub base_maintenance_margin_bps: u16,
    /// `z`, bps of σ (10000 = 1σ).
    pub volatility_multiplier_bps: u32,
    /// Initial margin added at full pool stress (`s = 1`), bps of notional.
    pub pool_stress_margin_bps: u32,
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

/// What margin prices, each at `VOLATILITY_PRECISION` (`expo = -9`) as a fraction of price
/// over the liquidation horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Volatility {
    /// Realized volatility over the horizon: the higher of the fast and slow estimates.
    pub realized: u64,
    /// `|spot − ema| / spot`.
    pub divergence: u64,
    /// `confidence / spot` of the price in use.
    pub confidence: u64,
}

impl Volatility {
    /// From the market's fast and slow per-second variances (`expo = -18`) over
    /// `horizon_seconds`, and the price in use; every term rounded up.
    pub fn new(
        fast_variance: u128,
        slow_variance: u128,
        horizon_seconds: u64,
        price: &OraclePrice,
    ) -> MathResult<Self> {
        let realized = realized_volatility(fast_variance, slow_variance, horizon_seconds)?;
        let ratio = |x: u64| {
            to_u64(mul_div(
                x as u128,
                VOLATILITY_PRECISION as u128,
                price.spot.max(1) as u128,
                Rounding::Up,
            )?)
        };
        Ok(Self {
            realized,
            divergence: ratio(price.spot.abs_diff(price.ema))?,
            confidence: ratio(price.confidence)?,
        })
    }

    /// What the maintenance margin prices: `max(σ_realized, divergence)`.
    pub fn adverse_move(&self) -> u64 {
        self.realized.max(self.divergence)
    }
}

/// Realized volatility over `horizon_seconds` from the fast and slow per-second variances
/// (`expo = -18`): the higher estimate, at `VOLATILITY_PRECISION`, rounded up.
pub fn realized_volatility(
    fast_variance: u128,
    slow_variance: u128,
    horizon_seconds: u64,
) -> MathResult<u64> {
    volatility_over(fast_variance.max(slow_variance), horizon_seconds)
}

/// `z × x` in bps of notional (x at `VOLATILITY_PRECISION`), rounded up.
fn z_times(z_bps: u32, x: u64) -> MathResult<u128> {
    mul_div(
        z_bps as u128,
        x as u128,
        VOLATILITY_PRECISION as u128,
        Rounding::Up,
    )
}

/// Margin ratios for a position of `size_usd` at volatility `vol` and pool stress
/// `stress_bps` (utilization over the pool's cap, capped at 100 %). Rounded up, capped at
/// 100 %.
pub fn margin_ratios(
    p: &MarginParams,
    vol: Volatility,
    stress_bps: u64,
    size_usd: u64,
) -> MathResult<MarginRatios> {
    let cap = BPS_DENOMINATOR as u128;
    let maintenance = (p.base_maintenance_margin_bps as u128)
        .safe_add(z_times(p.volatility_multiplier_bps, vol.adverse_move())?)?;
    let buffer = p
        .base_initial_margin_bps
        .saturating_sub(p.base_maintenance_margin_bps) as u128;
    let s = stress_bps.min(BPS_DENOMINATOR) as u128;
    let stress = mul_div(
        p.pool_stress_margin_bps as u128,
        s.safe_mul(s)?,
        cap.safe_mul(cap)?,
        Rounding::Up,
    )?;
    let size = mul_div(
        p.size_margin_bps as u128,
        size_usd as u128,
        p.size_margin_scale_usd.max(1) as u128,
        Rounding::Up,
    )?;
    let initial = maintenance
        .safe_add(buffer)?
        .safe_add(z_times(p.volatility_multiplier_bps, vol.confidence)?)?
        .safe_add(stress)?
        .safe_add(size)?
        .min(cap);
    Ok(MarginRatios {
        initial_bps: cast(initial)?,
        maintenance_bps: cast(maintenance.min(initial))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PCT: u64 = VOLATILITY_PRECISION / 100;

    fn vol(realized: u64) -> Volatility {
        Volatility {
            realized,
            ..Volatility::default()
        }
    }

    fn params() -> MarginParams {
        MarginParams {
            base_initial_margin_bps: 500,
            base_maintenance_margin_bps: 250,
            volatility_multiplier_bps: 30_000,
            pool_stress_margin_bps: 1_000,
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
    fn each_term_adds_what_it_prices() {
        // σ = 2 % over the horizon, z = 3: both margins + 6 %.
        let r = margin_ratios(&params(), vol(2 * PCT), 0, 0).unwrap();
        assert_eq!(
            r,
            MarginRatios {
                initial_bps: 1_100,
                maintenance_bps: 850
            }
        );
        // Divergence from the EMA counts like realized volatility, the larger of the two.
        let v = Volatility {
            realized: PCT,
            divergence: 2 * PCT,
            confidence: 0,
        };
        assert_eq!(margin_ratios(&params(), v, 0, 0).unwrap(), r);
        // Confidence 1 %: initial + 3 %, maintenance unchanged.
        let v = Volatility {
            confidence: PCT,
            ..Volatility::default()
        };
        let r = margin_ratios(&params(), v, 0, 0).unwrap();
        assert_eq!((r.initial_bps, r.maintenance_bps), (800, 250));
        // Stress 50 %: initial + 1000 × 0.25.
        let r = margin_ratios(&params(), vol(0), 5_000, 0).unwrap();
        assert_eq!((r.initial_bps, r.maintenance_bps), (750, 250));
        // Size at the scale adds size_margin_bps.
        let r = margin_ratios(&params(), vol(0), 0, 1_000_000_000_000).unwrap();
        assert_eq!(r.initial_bps, 600);
        // Extreme inputs cap at 100 %.
        let r = margin_ratios(&params(), vol(u64::MAX / 2), 10_000, u64::MAX).unwrap();
        assert_eq!(r.initial_bps, 10_000);
        assert_eq!(r.maintenance_bps, 10_000);
    }

    #[test]
    fn volatility_takes_the_higher_estimate_and_the_divergence() {
        let p = OraclePrice {
            spot: 1_000,
            ema: 950,
            confidence: 10,
            publish_time: 0,
        };
        // 1e-4 per second over 100 s: σ = 10 %.
        let v = Volatility::new(100_000_000_000_000, 1, 100, &p).unwrap();
        assert_eq!(v.realized, 10 * PCT);
        assert_eq!(Volatility::new(1, 100_000_000_000_000, 100, &p), Ok(v));
        assert_eq!(v.divergence, 5 * PCT);
        assert_eq!(v.confidence, PCT);
        assert_eq!(v.adverse_move(), 10 * PCT);
    }

    /// Audit finding 9 / SPEC 4: a wider confidence band raises the initial margin only.
    #[test]
    fn confidence_never_moves_the_maintenance_margin() {
        let calm = Volatility {
            realized: 5 * PCT,
            ..Volatility::default()
        };
        let wide = Volatility {
            confidence: 10 * PCT,
            ..calm
        };
        let a = margin_ratios(&params(), calm, 0, 0).unwrap();
        let b = margin_ratios(&params(), wide, 0, 0).unwrap();
        assert_eq!(a.maintenance_bps, b.maintenance_bps);
        assert!(b.initial_bps > a.initial_bps);
    }

    proptest! {
        #[test]
        fn monotone_bounded_never_below_the_floor(
            v1 in 0u64..5_000_000_000, v2 in 0u64..5_000_000_000,
            d1 in 0u64..2_000_000_000, d2 in 0u64..2_000_000_000,
            c1 in 0u64..200_000_000, c2 in 0u64..200_000_000,
            u1 in 0u64..=12_000, u2 in 0u64..=12_000,
            s1 in 0u64..1u64 << 50, s2 in 0u64..1u64 << 50,
            base_mm in 1u16..2_000, buffer in 1u16..3_000,
            z in 0u32..100_000, stress in 0u32..10_000,
        ) {
            let p = MarginParams {
                base_initial_margin_bps: base_mm + buffer,
                base_maintenance_margin_bps: base_mm,
                volatility_multiplier_bps: z,
                pool_stress_margin_bps: stress,
                ..params()
            };
            let v = |r: u64, d: u64, c: u64| Volatility { realized: r, divergence: d, confidence: c };
            let lo = margin_ratios(&p, v(v1.min(v2), d1.min(d2), c1.min(c2)), u1.min(u2), s1.min(s2)).unwrap();
            let hi = margin_ratios(&p, v(v1.max(v2), d1.max(d2), c1.max(c2)), u1.max(u2), s1.max(s2)).unwrap();
            prop_assert!(lo.initial_bps <= hi.initial_bps);
            prop_assert!(lo.maintenance_bps <= hi.maintenance_bps);
            for r in [lo, hi] {
                prop_assert!(r.maintenance_bps <= r.initial_bps);
                prop_assert!(r.initial_bps <= 10_000);
                prop_assert!(r.initial_bps >= p.base_initial_margin_bps as u64);
                prop_assert!(r.maintenance_bps >= base_mm as u64);
            }
        }

        /// The maintenance margin covers z σ of adverse move on top of its floor, until 100 %.
        #[test]
        fn maintenance_covers_z_sigma(sigma in 0u64..VOLATILITY_PRECISION, z in 0u32..60_000) {
            let p = MarginParams { volatility_multiplier_bps: z, ..params() };
            let r = margin_ratios(&p, vol(sigma), 0, 0).unwrap();
            let want = 250 + (z as u128 * sigma as u128).div_ceil(VOLATILITY_PRECISION as u128);
            prop_assert_eq!(r.maintenance_bps as u128, want.min(10_000));
        }
    }
}
