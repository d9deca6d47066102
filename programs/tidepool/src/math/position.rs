//! Position arithmetic: PnL, owed fees, conversions against the trader, liquidation price.

use super::oracle::OraclePrice;
use super::rates::INDEX_PRECISION;
use super::valuation::{notional_usd, usd_to_tokens};
use super::{bps_of, mul_div, pow10, to_u64, MathResult, Rounding, SafeMath, BPS_DENOMINATOR};
use super::{BASE_DECIMALS, PRICE_DECIMALS, USD_DECIMALS};

/// Unrealized PnL in USD (`expo = -6`) of `size_base` entered at `entry_notional_usd`,
/// marked at `mark`. `against_trader` rounds the notional the trader's way down.
pub fn pnl_usd(
    is_long: bool,
    size_base: u64,
    entry_notional_usd: u64,
    mark: u64,
    against_trader: bool,
) -> MathResult<i128> {
    let rounding = match (is_long, against_trader) {
        (true, true) | (false, false) => Rounding::Down,
        _ => Rounding::Up,
    };
    let now = notional_usd(size_base, mark, rounding)? as i128;
    let entry = entry_notional_usd as i128;
    if is_long {
        now.safe_sub(entry)
    } else {
        entry.safe_sub(now)
    }
}

/// Borrow fee owed since `snapshot`, USD (`expo = -6`), rounded up.
pub fn borrow_owed_usd(entry_notional_usd: u64, snapshot: u128, index: u128) -> MathResult<u64> {
    let delta = index.saturating_sub(snapshot);
    to_u64(mul_div(
        entry_notional_usd as u128,
        delta,
        INDEX_PRECISION,
        Rounding::Up,
    )?)
}

/// Funding owed since `snapshot`, USD (`expo = -6`): positive is owed by the trader
/// (rounded up), negative is owed to the trader (rounded down in magnitude).
pub fn funding_owed_usd(entry_notional_usd: u64, snapshot: i128, index: i128) -> MathResult<i128> {
    let delta = index.safe_sub(snapshot)?;
    let magnitude = delta.unsigned_abs();
    if delta >= 0 {
        Ok(mul_div(
            entry_notional_usd as u128,
            magnitude,
            INDEX_PRECISION,
            Rounding::Up,
        )? as i128)
    } else {
        Ok(-(mul_div(
            entry_notional_usd as u128,
            magnitude,
            INDEX_PRECISION,
            Rounding::Down,
        )? as i128))
    }
}

/// Signed USD to settlement tokens. `against_trader`: amounts to the trader (positive)
/// convert at the high settlement price rounded down, amounts from the trader (negative) at
/// the low price rounded up; otherwise the reverse.
pub fn signed_usd_to_tokens(
    usd: i128,
    settlement: &OraclePrice,
    decimals: u8,
    against_trader: bool,
) -> MathResult<i128> {
    let magnitude = to_u64(usd.unsigned_abs())?;
    let to_trader = usd >= 0;
    let (price, rounding) = if to_trader == against_trader {
        (settlement.high(), Rounding::Down)
    } else {
        (settlement.low(), Rounding::Up)
    };
    let tokens = usd_to_tokens(magnitude, price, decimals, rounding)? as i128;
    Ok(if to_trader { tokens } else { -tokens })
}

/// USD owed by the trader (fee, margin) in tokens: low settlement price, rounded up.
pub fn owed_usd_to_tokens(usd: u64, settlement: &OraclePrice, decimals: u8) -> MathResult<u64> {
    usd_to_tokens(usd, settlement.low(), decimals, Rounding::Up)
}

/// `size_usd` at `price` in base units (`expo = -9`), rounded for the pool: a long gets
/// fewer base units for its notional (down), a short owes more (up).
pub fn size_base_for(size_usd: u64, price: u64, is_long: bool) -> MathResult<u64> {
    to_u64(mul_div(
        size_usd as u128,
        pow10(BASE_DECIMALS + PRICE_DECIMALS - USD_DECIMALS),
        price as u128,
        base_rounding(is_long),
    )?)
}

/// How base units of a position round so that the pool never loses: a long's holding
/// rounds down, a short's liability rounds up.
pub fn base_rounding(is_long: bool) -> Rounding {
    if is_long {
        Rounding::Down
    } else {
        Rounding::Up
    }
}

/// The price (`expo = -9`) at which equity equals `maintenance_bps` of notional, from
/// `equity(p) = collateral + pnl(p) − fees_owed − close_fee_bps × notional(p)`.
/// `collateral_usd` and `fees_owed_usd` (borrow + funding, signed) are USD (`expo = -6`).
/// `None` for a long that no fall can liquidate; 0 for a short already past it.
pub fn liquidation_price(
    is_long: bool,
    size_base: u64,
    entry_notional_usd: u64,
    collateral_usd: u64,
    fees_owed_usd: i128,
    close_fee_bps: u64,
    maintenance_bps: u64,
) -> MathResult<Option<u64>> {
    if size_base == 0 {
        return Ok(None);
    }
    let scale = pow10(BASE_DECIMALS + PRICE_DECIMALS - USD_DECIMALS) as i128;
    let bps = BPS_DENOMINATOR as i128;
    let entry = entry_notional_usd as i128;
    let collateral = collateral_usd as i128;
    let (numerator, factor) = if is_long {
        (
            entry.safe_add(fees_owed_usd)?.safe_sub(collateral)?,
            bps - close_fee_bps as i128 - maintenance_bps as i128,
        )
    } else {
        (
            collateral.safe_add(entry)?.safe_sub(fees_owed_usd)?,
            bps + close_fee_bps as i128 + maintenance_bps as i128,
        )
    };
    if numerator <= 0 || factor <= 0 {
        return Ok(if is_long { None } else { Some(0) });
    }
    let p = numerator
        .safe_mul(scale)?
        .safe_mul(bps)?
        .safe_div((size_base as i128).safe_mul(factor)?)?;
    Ok(Some(to_u64(p as u128)?))
}

/// Cap funding owed TO a position (negative `funding_owed`, tokens) so that its gains from
/// price and funding together never exceed its reserve: `pnl` (already capped at the
/// reserve) plus funding received ≤ `reserve`. The reserve is what the pool set aside for
/// the position; paying more would take LP money that backs other positions and break the
/// utilization bound (SPEC 7.2). Funding owed BY the position is unchanged.
pub fn cap_funding_received(pnl: i128, funding_owed: i128, reserve: u64) -> i128 {
    if funding_owed >= 0 {
        return funding_owed;
    }
    let room = (reserve as i128) - pnl.max(0);
    funding_owed.max(-room.max(0))
}

/// What closing (part of) a position pays and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseSettlement {
    /// Tokens to the trader.
    pub payout: u64,
    /// Borrow and close fees actually collected.
    pub fees_collected: u64,
    /// Protocol's share of the collected fees (rounded down; LPs keep the rest).
    pub protocol_fee: u64,
    /// Keeper's fee actually collected (after the pool's fees, capped by what is left).
    pub keeper_fee: u64,
    /// Loss beyond the released collateral that nobody pays: absorbed by the LPs.
    pub bad_debt: u64,
    /// Change of the LP balance: released collateral − payout − protocol fee − keeper fee.
    pub lp_delta: i128,
}

/// Settle a close: the trader's gross is `collateral + pnl − funding_owed` (PnL already
/// capped at the released reserve). From the gross, as far as it reaches: first the pool's
/// fees (borrow and close), then the keeper's fee; the rest is paid out. A negative gross
/// is bad debt.
pub fn settle_close(
    collateral: u64,
    pnl: i128,
    funding_owed: i128,
    fees_due: u64,
    keeper_fee_due: u64,
    protocol_share_bps: u16,
) -> MathResult<CloseSettlement> {
    let gross = (collateral as i128).safe_add(pnl)?.safe_sub(funding_owed)?;
    let (payout, fees_collected, keeper_fee, bad_debt) = if gross < 0 {
        (0, 0, 0, to_u64(gross.unsigned_abs())?)
    } else {
        let gross = to_u64(gross as u128)?;
        let fees = gross.min(fees_due);
        let keeper = (gross - fees).min(keeper_fee_due);
        (gross - fees - keeper, fees, keeper, 0)
    };
    let protocol_fee = bps_of(fees_collected, protocol_share_bps as u64, Rounding::Down)?;
    Ok(CloseSettlement {
        payout,
        fees_collected,
        protocol_fee,
        keeper_fee,
        bad_debt,
        lp_delta: (collateral as i128)
            .safe_sub(payout as i128)?
            .safe_sub(protocol_fee as i128)?
            .safe_sub(keeper_fee as i128)?,
    })
}

/// How much entry notional a liquidation closes. Closing a fraction `f` realizes nothing new
/// but the liquidation fee (the equity already counts PnL, fees and the close fee), so the
/// rest meets the initial margin when `E − f·L ≥ (1 − f)·IM`, i.e.
/// `f ≥ (IM − E) / (IM − L)` with `E` the equity, `IM` the initial margin and `L` the
/// liquidation fee of the whole position (tokens). It aims 1 % of `IM` higher, so that the
/// roundings of the close (each against the trader) never leave the rest a unit short.
/// Rounded up. `None`: close it all — the equity is gone, the fee eats the margin, or the
/// rest would be under `min_position_usd`.
pub fn liquidation_close_usd(
    entry_notional_usd: u64,
    equity: i128,
    initial_margin: u64,
    liquidation_fee: u64,
    min_position_usd: u64,
) -> MathResult<Option<u64>> {
    if equity <= 0 || initial_margin <= liquidation_fee {
        return Ok(None);
    }
    let shortfall = (initial_margin as i128).safe_sub(equity)?;
    if shortfall <= 0 {
        return Ok(Some(0));
    }
    let shortfall = shortfall.safe_add((initial_margin / 100) as i128 + 1)?;
    let close = to_u64(mul_div(
        entry_notional_usd as u128,
        shortfall as u128,
        (initial_margin - liquidation_fee) as u128,
        Rounding::Up,
    )?)?;
    if close >= entry_notional_usd || entry_notional_usd - close < min_position_usd {
        return Ok(None);
    }
    Ok(Some(close))
}

/// Which trigger is crossed: `Some(true)` take-profit, `Some(false)` stop-loss (0 =
/// unset). The take-profit is judged on the close fill price `fill` (what the close would
/// really get), the stop-loss on the spot price. A long's take-profit is crossed at or above
/// it, its stop-loss at or below; a short's the other way round.
pub fn crossed_trigger(
    is_long: bool,
    spot: u64,
    fill: u64,
    take_profit: u64,
    stop_loss: u64,
) -> Option<bool> {
    let up = |price: u64, t: u64| t != 0 && price >= t;
    let down = |price: u64, t: u64| t != 0 && price <= t;
    let (tp, sl) = if is_long {
        (up(fill, take_profit), down(spot, stop_loss))
    } else {
        (down(fill, take_profit), up(spot, stop_loss))
    };
    if tp {
        Some(true)
    } else if sl {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::PRICE_PRECISION;
    use proptest::prelude::*;

    const SOL: u64 = 1_000_000_000;
    const USD: u64 = 1_000_000;

    #[test]
    fn pnl_of_longs_and_shorts() {
        // 2 SOL entered at $100 ($200), now $110.
        let p = 110 * PRICE_PRECISION;
        assert_eq!(
            pnl_usd(true, 2 * SOL, 200 * USD, p, true),
            Ok(20 * USD as i128)
        );
        assert_eq!(
            pnl_usd(false, 2 * SOL, 200 * USD, p, true),
            Ok(-(20 * USD as i128))
        );
        // Rounding against the trader: one unit less for a long, one more lost for a short.
        assert_eq!(pnl_usd(true, 1, 0, PRICE_PRECISION / 2, true), Ok(0));
        assert_eq!(pnl_usd(false, 1, 0, PRICE_PRECISION / 2, true), Ok(-1));
    }

    #[test]
    fn owed_fees_round_against_the_trader() {
        let i = INDEX_PRECISION;
        assert_eq!(borrow_owed_usd(1_000 * USD, 0, i / 100), Ok(10 * USD));
        assert_eq!(borrow_owed_usd(1, 0, 1), Ok(1));
        assert_eq!(funding_owed_usd(1, 0, 1), Ok(1));
        assert_eq!(funding_owed_usd(1, 0, -1), Ok(0));
        assert_eq!(
            funding_owed_usd(1_000 * USD, 0, -((i / 100) as i128)),
            Ok(-(10 * USD as i128))
        );
    }

    #[test]
    fn conversions_against_the_trader() {
        let s = OraclePrice {
            spot: PRICE_PRECISION,
            ema: PRICE_PRECISION,
            confidence: PRICE_PRECISION / 100,
            publish_time: 0,
        };
        // $1 to the trader: at $1.01 -> 0.990099 tokens.
        assert_eq!(signed_usd_to_tokens(USD as i128, &s, 6, true), Ok(990_099));
        // $1 from the trader: at $0.99 -> 1.010102 tokens (rounded up).
        assert_eq!(
            signed_usd_to_tokens(-(USD as i128), &s, 6, true),
            Ok(-1_010_102)
        );
        assert_eq!(owed_usd_to_tokens(USD, &s, 6), Ok(1_010_102));
        assert_eq!(
            size_base_for(150 * USD, 150 * PRICE_PRECISION, true),
            Ok(SOL)
        );
        assert_eq!(
            size_base_for(150 * USD, 150 * PRICE_PRECISION, false),
            Ok(SOL)
        );
        // 1 USD at 3 USD: a long gets 0.333… rounded down, a short owes it rounded up.
        assert_eq!(
            size_base_for(USD, 3 * PRICE_PRECISION, true),
            Ok(333_333_333)
        );
        assert_eq!(
            size_base_for(USD, 3 * PRICE_PRECISION, false),
            Ok(333_333_334)
        );
    }

    #[test]
    fn liquidation_price_solves_the_equity_equation() {
        // 10x long: 1 SOL at $100, $10 collateral, no fees, mm 5 %: p = 90 / 0.95.
        let p = liquidation_price(true, SOL, 100 * USD, 10 * USD, 0, 0, 500)
            .unwrap()
            .unwrap();
        assert_eq!(p, 94_736_842_105);
        // 10x short: p = 110 / 1.05.
        let p = liquidation_price(false, SOL, 100 * USD, 10 * USD, 0, 0, 500)
            .unwrap()
            .unwrap();
        assert_eq!(p, 104_761_904_761);
        // Fully collateralized long cannot be liquidated by a fall.
        assert_eq!(
            liquidation_price(true, SOL, 100 * USD, 100 * USD, 0, 0, 500),
            Ok(None)
        );
    }

    #[test]
    fn close_settlement_pays_fees_then_trader() {
        // 100 collateral, +30 pnl, 5 funding owed, 10 fees, 20 % protocol share.
        let c = settle_close(100, 30, 5, 10, 0, 2_000).unwrap();
        assert_eq!(
            (c.payout, c.fees_collected, c.protocol_fee, c.bad_debt),
            (115, 10, 2, 0)
        );
        assert_eq!(c.lp_delta, 100 - 115 - 2);
        // Loss eats the collateral and part of the fees; the keeper gets nothing.
        let c = settle_close(100, -95, 0, 10, 3, 2_000).unwrap();
        assert_eq!(
            (c.payout, c.fees_collected, c.keeper_fee, c.bad_debt),
            (0, 5, 0, 0)
        );
        // The keeper is paid after the pool's fees, capped by what is left.
        let c = settle_close(100, -88, 0, 10, 3, 2_000).unwrap();
        assert_eq!((c.payout, c.fees_collected, c.keeper_fee), (0, 10, 2));
        let c = settle_close(100, -50, 0, 10, 3, 2_000).unwrap();
        assert_eq!(
            (c.payout, c.keeper_fee, c.lp_delta),
            (37, 3, 100 - 37 - 2 - 3)
        );
        // Beyond the collateral: bad debt, no fees.
        let c = settle_close(100, -130, 0, 10, 3, 2_000).unwrap();
        assert_eq!(
            (c.payout, c.fees_collected, c.bad_debt, c.lp_delta),
            (0, 0, 30, 100)
        );
    }

    #[test]
    fn triggers_cross_in_the_right_direction() {
        assert_eq!(crossed_trigger(true, 160, 160, 160, 140), Some(true));
        assert_eq!(crossed_trigger(true, 159, 159, 160, 140), None);
        // Spot at the take-profit but the fill below it: not crossed.
        assert_eq!(crossed_trigger(true, 160, 159, 160, 140), None);
        assert_eq!(crossed_trigger(true, 140, 140, 160, 140), Some(false));
        assert_eq!(crossed_trigger(false, 140, 140, 140, 160), Some(true));
        assert_eq!(crossed_trigger(false, 140, 141, 140, 160), None);
        assert_eq!(crossed_trigger(false, 160, 160, 140, 160), Some(false));
        assert_eq!(crossed_trigger(false, 150, 150, 0, 0), None);
    }

    #[test]
    fn liquidation_closes_just_enough() {
        // Equity 40 against IM 100, fee 10 for the whole: f = (60 + 2) / 90.
        assert_eq!(liquidation_close_usd(900, 40, 100, 10, 10), Ok(Some(620)));
        // The rest would be dust, the equity is gone, or the fee eats the margin: all.
        assert_eq!(liquidation_close_usd(900, 40, 100, 10, 281), Ok(None));
        assert_eq!(liquidation_close_usd(900, 0, 100, 10, 10), Ok(None));
        assert_eq!(liquidation_close_usd(900, 40, 100, 100, 10), Ok(None));
        assert_eq!(liquidation_close_usd(900, 20, 100, 10, 10), Ok(Some(820)));
        assert_eq!(
            liquidation_close_usd(900, 5, 100, 10, 10),
            Ok(None),
            "f > 1"
        );
    }

    proptest! {
        /// Audit finding 10: opening and closing at one price never gains, on either side,
        /// at any price and size (whole or in two parts): every rounding favours the pool.
        #[test]
        fn round_trips_at_one_price_never_gain(
            is_long in any::<bool>(),
            price in 1u64..1u64 << 50, size in 1u64..1u64 << 45, part in 1u64..=10_000,
        ) {
            let base = size_base_for(size, price, is_long).unwrap();
            prop_assume!(base > 0);
            prop_assert!(pnl_usd(is_long, base, size, price, true).unwrap() <= 0);
            // Close a part first, then the rest.
            let part_usd = (size as u128 * part as u128 / 10_000).max(1) as u64;
            let part_base = to_u64(crate::math::mul_div(
                base as u128, part_usd as u128, size as u128, base_rounding(is_long),
            ).unwrap()).unwrap().min(base);
            let first = pnl_usd(is_long, part_base, part_usd, price, true).unwrap();
            let rest = pnl_usd(is_long, base - part_base, size - part_usd, price, true).unwrap();
            prop_assert!(first + rest <= 0);
        }

        /// Funding received plus capped profit never exceeds the reserve; funding owed is
        /// untouched.
        #[test]
        fn funding_received_is_capped_by_the_reserve(
            pnl in -(1i128 << 50)..1i128 << 50, funding in -(1i128 << 50)..1i128 << 50,
            reserve in 0u64..1u64 << 49,
        ) {
            let pnl = pnl.min(reserve as i128);
            let f = cap_funding_received(pnl, funding, reserve);
            if funding >= 0 {
                prop_assert_eq!(f, funding);
            } else {
                prop_assert!(f <= 0 && f >= funding);
                prop_assert!(pnl.max(0) - f <= (reserve as i128).max(pnl.max(0)));
            }
        }

        /// After closing the computed part, what remains meets the initial margin.
        #[test]
        fn partial_liquidation_restores_initial_margin(
            entry in 1_000u64..1u64 << 40, equity in 1i128..1i128 << 30,
            im in 1u64..1u64 << 31, fee_bps in 0u64..9_000,
        ) {
            let fee = im * fee_bps / 10_000;
            if let Some(close) = liquidation_close_usd(entry, equity, im, fee, 0).unwrap() {
                let f_num = close as i128;
                let whole = entry as i128;
                // E − f·L ≥ (1 − f)·IM, scaled by `whole`.
                let lhs = equity * whole - f_num * fee as i128;
                let rhs = (whole - f_num) * im as i128;
                prop_assert!(lhs >= rhs);
            }
        }

        /// Tokens are conserved: what leaves the collateral goes to the trader, the LPs or
        /// the protocol; the trader never gets more than collateral + pnl − funding.
        #[test]
        fn close_settlement_conserves_tokens(
            coll in 0u64..1u64 << 50, pnl in -(1i128 << 51)..1i128 << 51,
            funding in -(1i128 << 40)..1i128 << 40, fees in 0u64..1u64 << 40,
            keeper in 0u64..1u64 << 40, share in 0u16..=10_000,
        ) {
            let c = settle_close(coll, pnl, funding, fees, keeper, share).unwrap();
            prop_assert_eq!(
                coll as i128,
                c.payout as i128 + c.lp_delta + c.protocol_fee as i128 + c.keeper_fee as i128
            );
            prop_assert!(c.keeper_fee <= keeper);
            prop_assert!(c.payout as i128 <= (coll as i128 + pnl - funding).max(0));
            prop_assert!(c.fees_collected <= fees && c.protocol_fee <= c.fees_collected);
        }

        /// At the liquidation price equity is (within rounding) maintenance margin.
        #[test]
        fn liquidation_price_is_where_equity_meets_maintenance(
            entry_price in 10u64..100_000, lev in 2u64..50, mm in 50u64..1_000, long in any::<bool>(),
        ) {
            let size = 10 * SOL;
            let entry = 10 * entry_price * USD;
            let collateral = entry / lev;
            if let Some(p) = liquidation_price(long, size, entry, collateral, 0, 0, mm).unwrap() {
                prop_assume!(p > 0);
                let pnl = pnl_usd(long, size, entry, p, false).unwrap();
                let equity = collateral as i128 + pnl;
                let notional = notional_usd(size, p, Rounding::Down).unwrap() as i128;
                let required = notional * mm as i128 / 10_000;
                prop_assert!((equity - required).abs() <= 2 + notional / 1_000_000, "{equity} vs {required}");
            }
        }
    }
}
