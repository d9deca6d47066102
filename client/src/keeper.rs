//! What a keeper should do with a position, decided with the program's own code (the same
//! accrual, margin and health functions the instructions run).

use tidepool::math::oracle::OraclePrice;
use tidepool::math::position::crossed_trigger;
use tidepool::math::valuation::utilization_bps;
use tidepool::math::MathResult;
use tidepool::state::{Market, Pool, Position, PositionHealth};

/// The action a keeper can take on a position now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Equity below maintenance margin at spot: `liquidate`.
    Liquidate,
    /// A take-profit (`true`) or stop-loss (`false`) was crossed: `execute_trigger_order`.
    ExecuteTrigger { take_profit: bool },
    /// Profit reached the reserve: `auto_deleverage` without markets.
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
    let utilization = utilization_bps(pool.lp_balance, pool.total_reserved)?;
    market.accrue(now, utilization)?;
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
    let is_long = position.is_long();
    if let Some(take_profit) = crossed_trigger(
        is_long,
        price.spot,
        position.take_profit_price,
        position.stop_loss_price,
    ) {
        return Ok((Action::ExecuteTrigger { take_profit }, health));
    }
    let pnl = position.pnl_at_spot(price.spot, settlement, pool.settlement_decimals)?;
    if pnl >= position.reserved as i128 {
        return Ok((Action::DeleverageAtCap, health));
    }
    Ok((Action::None, health))
}
