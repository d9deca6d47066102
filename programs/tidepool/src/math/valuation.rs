//! Pool valuation: what the pool is worth to its LPs, computed from per-market aggregates
//! (never by iterating positions), so its cost is O(markets).
//!
//! `pool value = LP balance - traders' net unrealized PnL` (in settlement tokens), where each
//! side's PnL is bounded by that side's total reserve above (no position can win more than
//! its reserve) and by its total collateral below (no position can lose more than its
//! collateral). Both bounds only ever move the estimate towards the true value: the
//! aggregate of capped per-position PnLs is never above the side's reserve nor below minus
//! its collateral, so clamping the uncapped aggregate can only bring it closer.

use super::oracle::OraclePrice;
use super::position::{pnl_usd, signed_usd_to_tokens};
use super::{mul_div, pow10, to_u64, MathResult, Rounding, SafeMath};
use super::{BASE_DECIMALS, BPS_DENOMINATOR, PRICE_DECIMALS, USD_DECIMALS};

/// Which value to take when prices are uncertain (spot, EMA and confidence band).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Valuation {
    /// The highest plausible pool value: used to mint shares to a depositor.
    Max,
    /// The lowest plausible pool value: used to pay a withdrawer.
    Min,
}

/// Aggregate exposure of one side of one market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideExposure {
    /// Σ position sizes, base units (`expo = -9`).
    pub size_base: u64,
    /// Σ entry notionals, USD (`expo = -6`).
    pub entry_notional_usd: u64,
    /// Σ collateral, settlement base units.
    pub collateral: u64,
    /// Σ reserved profit, settlement base units.
    pub reserved: u64,
    /// Σ borrow fees and funding the side owes and has not paid, USD (`expo = -6`);
    /// negative when the side is owed funding.
    pub fees_owed_usd: i128,
    /// Bound on the prices at which a position of the side has lost all its collateral:
    /// the highest of the longs', the lowest of the shorts' (`expo = -9`); `None` when no
    /// position can be bankrupt at a positive price.
    pub bankrupt_price: Option<u64>,
    /// Bound on the prices at which a position's profit reaches its reserve: the lowest of
    /// the longs', the highest of the shorts'; `None` when none can be capped.
    pub capped_price: Option<u64>,
}

/// Both sides of one market with its current oracle price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarketExposure {
    pub long: SideExposure,
    pub short: SideExposure,
    pub price: OraclePrice,
}

const NOTIONAL_SCALE_EXP: u32 = BASE_DECIMALS + PRICE_DECIMALS - USD_DECIMALS;
const USD_TO_PRICE_EXP: u32 = PRICE_DECIMALS - USD_DECIMALS;

/// `size * price` in USD (`expo = -6`).
pub fn notional_usd(size_base: u64, price: u64, rounding: Rounding) -> MathResult<u64> {
    to_u64(mul_div(
        size_base as u128,
        price as u128,
        pow10(NOTIONAL_SCALE_EXP),
        rounding,
    )?)
}

/// The price (`expo = -9`) at which `size_base` is worth `usd` (`expo = -6`), saturating
/// at `u64::MAX`.
pub fn price_for_notional(usd: u64, size_base: u64, rounding: Rounding) -> MathResult<u64> {
    let p = mul_div(
        usd as u128,
        pow10(NOTIONAL_SCALE_EXP),
        size_base.max(1) as u128,
        rounding,
    )?;
    Ok(p.min(u64::MAX as u128) as u64)
}

/// USD (`expo = -6`) to settlement base units at `settlement_price` (`expo = -9`).
pub fn usd_to_tokens(
    usd: u64,
    settlement_price: u64,
    decimals: u8,
    rounding: Rounding,
) -> MathResult<u64> {
    to_u64(mul_div(
        usd as u128,
        pow10(decimals as u32 + USD_TO_PRICE_EXP),
        settlement_price as u128,
        rounding,
    )?)
}

/// Settlement base units to USD (`expo = -6`) at `settlement_price` (`expo = -9`).
pub fn tokens_to_usd(
    tokens: u64,
    settlement_price: u64,
    decimals: u8,
    rounding: Rounding,
) -> MathResult<u64> {
    to_u64(mul_div(
        tokens as u128,
        settlement_price as u128,
        pow10(decimals as u32 + USD_TO_PRICE_EXP),
        rounding,
    )?)
}

/// What a whole side could claim from the pool, in settlement tokens: its unrealized PnL
/// net of the fees and funding it owes, bounded to `[-collateral, +reserved]`. Positive:
/// traders are owed; negative: traders owe the pool.
///
/// For `Valuation::Max` every choice makes the traders' claim as small as plausible
/// (longs marked at the low end of the band, shorts at the high end, conversions against
/// the traders); `Valuation::Min` does the opposite.
pub fn side_pnl_tokens(
    side: &SideExposure,
    is_long: bool,
    price: &OraclePrice,
    settlement: &OraclePrice,
    decimals: u8,
    valuation: Valuation,
) -> MathResult<i128> {
    if side.size_base == 0 {
        return Ok(0);
    }
    let against_traders = valuation == Valuation::Max;
    // Max: the smallest plausible claim (longs low, shorts high, never past a cap price);
    // Min: the largest (longs high, shorts low, never past a bankruptcy price).
    let mark = match (is_long, valuation) {
        (true, Valuation::Max) => side
            .capped_price
            .map_or(price.low(), |k| price.low().min(k)),
        (true, Valuation::Min) => side
            .bankrupt_price
            .map_or(price.high(), |b| price.high().max(b)),
        (false, Valuation::Max) => side
            .capped_price
            .map_or(price.high(), |k| price.high().max(k)),
        (false, Valuation::Min) => side
            .bankrupt_price
            .map_or(price.low(), |b| price.low().min(b)),
    };
    let pnl = pnl_usd(
        is_long,
        side.size_base,
        side.entry_notional_usd,
        mark,
        against_traders,
    )?;
    // Fees count per position too: one owing more than it holds pays only what it holds.
    // So the largest plausible claim (Min) credits the LPs with no fee the traders owe, only
    // the funding owed to them; the smallest (Max) counts no funding owed to the traders.
    // (Exact when each side's fees have one sign, as borrow always does.)
    let fees = match valuation {
        Valuation::Min => side.fees_owed_usd.min(0),
        Valuation::Max => side.fees_owed_usd.max(0),
    };
    let claim = pnl.safe_sub(fees)?;
    let tokens = signed_usd_to_tokens(claim, settlement, decimals, against_traders)?;
    Ok(tokens.clamp(-(side.collateral as i128), side.reserved as i128))
}

/// Pool value in settlement base units, never below zero.
pub fn pool_value(
    lp_balance: u64,
    markets: &[MarketExposure],
    settlement: &OraclePrice,
    decimals: u8,
    valuation: Valuation,
) -> MathResult<u64> {
    let mut value = lp_balance as i128;
    for m in markets {
        value = value.safe_sub(side_pnl_tokens(
            &m.long, true, &m.price, settlement, decimals, valuation,
        )?)?;
        value = value.safe_sub(side_pnl_tokens(
            &m.short, false, &m.price, settlement, decimals, valuation,
        )?)?;
    }
    to_u64(value.max(0) as u128)
}

/// Traders' aggregate unrealized profit (the sides in profit) beyond `max_pnl_factor_bps`
/// of the pool value, both valued against the traders (`Valuation::Max`), in settlement
/// base units; 0 while under the cap. Above it, keepers may deleverage (SPEC 6).
pub fn profit_over_cap(
    lp_balance: u64,
    markets: &[MarketExposure],
    settlement: &OraclePrice,
    decimals: u8,
    max_pnl_factor_bps: u16,
) -> MathResult<u64> {
    let mut profit: i128 = 0;
    for m in markets {
        for (side, long) in [(&m.long, true), (&m.short, false)] {
            let pnl = side_pnl_tokens(side, long, &m.price, settlement, decimals, Valuation::Max)?;
            profit = profit.safe_add(pnl.max(0))?;
        }
    }
    let value = pool_value(lp_balance, markets, settlement, decimals, Valuation::Max)?;
    let cap = super::bps_of(value, max_pnl_factor_bps as u64, Rounding::Down)? as i128;
    to_u64(profit.safe_sub(cap)?.max(0) as u128)
}

/// Reserves may be at most `max_utilization_bps` of the LP balance; this is how much of
/// the LP balance is free to leave (withdrawals) without breaking that rule.
pub fn withdrawable_liquidity(
    lp_balance: u64,
    total_reserved: u64,
    max_utilization_bps: u16,
) -> MathResult<u64> {
    if total_reserved == 0 {
        return Ok(lp_balance);
    }
    // lp_balance' must satisfy reserved <= lp_balance' * max_util / 10_000:
    // lp_balance' >= ceil(reserved * 10_000 / max_util).
    let required = to_u64(mul_div(
        total_reserved as u128,
        BPS_DENOMINATOR as u128,
        max_utilization_bps as u128,
        Rounding::Up,
    )?)?;
    Ok(lp_balance.saturating_sub(required))
}

/// `total_reserved / lp_balance` in bps, rounded up; 0 for an empty pool with no reserve.
pub fn utilization_bps(lp_balance: u64, total_reserved: u64) -> MathResult<u64> {
    if total_reserved == 0 {
        return Ok(0);
    }
    if lp_balance == 0 {
        return Ok(BPS_DENOMINATOR);
    }
    to_u64(mul_div(
        total_reserved as u128,
        BPS_DENOMINATOR as u128,
        lp_balance as u128,
        Rounding::Up,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::PRICE_PRECISION;
    use proptest::prelude::*;

    fn px(spot: u64, ema: u64, conf: u64) -> OraclePrice {
        OraclePrice {
            spot,
            ema,
            confidence: conf,
            publish_time: 0,
        }
    }
    const ONE_USD: u64 = PRICE_PRECISION;

    #[test]
    fn conversions() {
        // 2 SOL at $150 = $300.
        assert_eq!(
            notional_usd(2_000_000_000, 150 * ONE_USD, Rounding::Down),
            Ok(300_000_000)
        );
        // $300 at $1.00 with 6 decimals = 300 USDC.
        assert_eq!(
            usd_to_tokens(300_000_000, ONE_USD, 6, Rounding::Down),
            Ok(300_000_000)
        );
        // at $0.50 a dollar is 2 tokens.
        assert_eq!(
            usd_to_tokens(1_000_000, ONE_USD / 2, 6, Rounding::Down),
            Ok(2_000_000)
        );
        assert_eq!(
            tokens_to_usd(2_000_000, ONE_USD / 2, 6, Rounding::Down),
            Ok(1_000_000)
        );
        // 9 decimals settlement token.
        assert_eq!(
            usd_to_tokens(1_000_000, ONE_USD, 9, Rounding::Down),
            Ok(1_000_000_000)
        );
    }

    #[test]
    fn side_pnl_is_bounded_and_conservative() {
        let settle = px(ONE_USD, ONE_USD, 0);
        // 1 SOL long entered at $100, now $150, reserve 20 USDC, collateral 10 USDC.
        let mut side = SideExposure {
            size_base: 1_000_000_000,
            entry_notional_usd: 100_000_000,
            collateral: 10_000_000,
            reserved: 20_000_000,
            fees_owed_usd: 0,
            ..Default::default()
        };
        let p = px(150 * ONE_USD, 150 * ONE_USD, 0);
        let pnl = side_pnl_tokens(&side, true, &p, &settle, 6, Valuation::Max).unwrap();
        assert_eq!(pnl, 20_000_000, "capped at the reserve");
        // Price at $95: -5 USD.
        let p = px(95 * ONE_USD, 95 * ONE_USD, 0);
        let pnl = side_pnl_tokens(&side, true, &p, &settle, 6, Valuation::Max).unwrap();
        assert_eq!(pnl, -5_000_000);
        // Crash to $50: loss floored at the collateral.
        let p = px(50 * ONE_USD, 50 * ONE_USD, 0);
        let pnl = side_pnl_tokens(&side, true, &p, &settle, 6, Valuation::Min).unwrap();
        assert_eq!(pnl, -10_000_000);
        // Short mirrors it.
        let p = px(95 * ONE_USD, 95 * ONE_USD, 0);
        let pnl = side_pnl_tokens(&side, false, &p, &settle, 6, Valuation::Min).unwrap();
        assert_eq!(pnl, 5_000_000);
        // Fees owed reduce the traders' smallest plausible claim, not their largest (a
        // position may owe more than it holds); funding owed to them raises the largest.
        side.fees_owed_usd = 2_000_000;
        let pnl = side_pnl_tokens(&side, false, &p, &settle, 6, Valuation::Max).unwrap();
        assert_eq!(pnl, 3_000_000);
        let pnl = side_pnl_tokens(&side, false, &p, &settle, 6, Valuation::Min).unwrap();
        assert_eq!(pnl, 5_000_000);
        side.fees_owed_usd = -1_000_000;
        let pnl = side_pnl_tokens(&side, false, &p, &settle, 6, Valuation::Min).unwrap();
        assert_eq!(pnl, 6_000_000);
    }

    #[test]
    fn withdrawable_respects_utilization() {
        assert_eq!(withdrawable_liquidity(1_000, 0, 8_000), Ok(1_000));
        // 400 reserved at 80 % max: 500 must stay.
        assert_eq!(withdrawable_liquidity(1_000, 400, 8_000), Ok(500));
        assert_eq!(withdrawable_liquidity(400, 400, 8_000), Ok(0));
        assert_eq!(utilization_bps(1_000, 400), Ok(4_000));
        assert_eq!(utilization_bps(0, 0), Ok(0));
    }

    proptest! {
        /// Max valuation is never below Min valuation, whatever the prices.
        #[test]
        fn max_is_at_least_min(
            lp in 0u64..1u64 << 50,
            size in 0u64..1u64 << 40,
            entry in 0u64..1u64 << 45,
            coll in 0u64..1u64 << 45,
            res in 0u64..1u64 << 45,
            fees in -(1i128 << 40)..1i128 << 40,
            spot in 1u64..1u64 << 40,
            ema in 1u64..1u64 << 40,
            conf in 0u64..1u64 << 30,
            settle in ONE_USD / 2..ONE_USD * 2,
        ) {
            let side = SideExposure { size_base: size, entry_notional_usd: entry, collateral: coll, reserved: res, fees_owed_usd: fees, ..Default::default() };
            let m = MarketExposure { long: side, short: side, price: px(spot, ema, conf) };
            let s = px(settle, settle, settle / 1_000);
            let hi = pool_value(lp, &[m], &s, 6, Valuation::Max).unwrap();
            let lo = pool_value(lp, &[m], &s, 6, Valuation::Min).unwrap();
            prop_assert!(hi >= lo);
            // Bounded by the reserves and collaterals.
            prop_assert!(hi as u128 <= lp as u128 + 2 * coll as u128);
            prop_assert!(lo as i128 >= lp as i128 - 2 * res as i128);
        }
    }
}
