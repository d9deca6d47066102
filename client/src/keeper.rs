//! What a keeper should do with a position, decided with the program's own code (the same
//! accrual, margin and health functions the instructions run).

use anchor_lang::prelude::Pubkey;
use tidepool::math::oracle::OraclePrice;
use tidepool::math::MathResult;
use tidepool::state::{BoundPrices, Market, Pool, Position, PositionHealth, TriggerState};

/// The action a keeper can take on a position now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Equity below maintenance margin at spot: `liquidate`.
    Liquidate,
    /// A take-profit (`true`) or stop-loss (`false`) can execute: `execute_trigger_order`.
    ExecuteTrigger { take_profit: bool },
    /// Profit at the close fill reached the reserve, outside the minimum hold:
    /// `auto_deleverage` without markets.
    DeleverageAtCap,
    /// Nothing to do.
    None,
}

/// Decide, as the program would at `now` with these prices. `market` is accrued on a copy.
pub fn assess(
    pool: &Pool,
    market: &Market,
    position: &Position,
    price: &OraclePrice,
    settlement: &OraclePrice,
    now: i64,
) -> MathResult<(Action, PositionHealth)> {
    let mut market = market.clone();
    market.observe_price(price, now)?;
    let utilization = pool.utilization_bps()?;
    market.accrue(now, pool.utilization_integral_at(now)?)?;
    let ratios = market.margin_ratios(price, utilization, position.entry_notional_usd)?;
    let health = position.health(
        &market,
        price.spot,
        ratios,
        settlement,
        pool.settlement_decimals,
        true,
    )?;
    if health.is_liquidatable() {
        return Ok((Action::Liquidate, health));
    }
    if let TriggerState::Ready { take_profit } = position.trigger_state(&market, price, now)? {
        return Ok((Action::ExecuteTrigger { take_profit }, health));
    }
    if !position.in_min_hold(&market, now)
        && position.at_reserve_cap(&market, price, settlement, pool.settlement_decimals)?
    {
        return Ok((Action::DeleverageAtCap, health));
    }
    Ok((Action::None, health))
}

/// Positions a keeper should re-tag (`refresh_market` with them as remaining accounts) so
/// that a side's price bounds forget positions that have left it: when a side's bound on
/// chain is more conservative than its open positions need, the positions still tagged
/// with the previous generation. Once they are all re-tagged the program retires that
/// generation; a stale bound in the current one goes with the next round (two passes).
pub fn stale_bound_positions(
    market: &Market,
    positions: &[(Pubkey, &Position)],
    decimals: u8,
) -> MathResult<Vec<Pubkey>> {
    let mut out = Vec::new();
    for is_long in [true, false] {
        let side = market.side(is_long);
        let mine = positions
            .iter()
            .filter(|(_, p)| p.is_long() == is_long && p.size_base > 0);
        let mut exact = BoundPrices::default();
        for (_, p) in mine.clone() {
            exact = exact.combine(p.bound_prices(decimals)?, is_long);
        }
        if side.bounds.bound(is_long) == exact {
            continue;
        }
        out.extend(
            mine.filter(|(_, p)| p.bounds_tag == side.bounds.generation)
                .map(|(k, _)| *k),
        );
    }
    Ok(out)
}
