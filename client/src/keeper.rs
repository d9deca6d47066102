//! What a keeper should do with a position, decided with the program's own code (the same
//! accrual, margin and health functions the instructions run).

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use tidepool::math::oracle::OraclePrice;
use tidepool::math::valuation::profit_over_cap;
use tidepool::math::MathResult;
use tidepool::state::{BoundPrices, Market, Pool, Position, PositionHealth, TriggerState};

use crate::ix::{self, KeeperCloseKeys, MarketOracle};

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
    /// Traders' profit in the pool is over its PnL cap and this position is among the most
    /// profitable (`pnl_cap_deleverage`): `auto_deleverage` with every market of the pool.
    DeleverageOverPnlCap,
    /// Nothing to do.
    None,
}

impl Action {
    /// The instruction that carries the action out on the position `keys` name (`None`
    /// for `Action::None`). `pool_markets`: every market of the position's pool, which the
    /// pool-level deleveraging values; the other actions ignore it. The keeper crate, the
    /// simulator and the randomized tests all build keeper instructions here.
    pub fn instruction(
        &self,
        keys: &KeeperCloseKeys,
        pool_markets: &[MarketOracle],
    ) -> Option<Instruction> {
        Some(match self {
            Action::Liquidate => ix::liquidate(keys),
            Action::ExecuteTrigger { .. } => ix::execute_trigger_order(keys),
            Action::DeleverageAtCap => ix::auto_deleverage(keys, &[]),
            Action::DeleverageOverPnlCap => ix::auto_deleverage(keys, pool_markets),
            Action::None => return None,
        })
    }
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
    market.accrue(now, pool.utilization_integral_at(now)?)?;
    let health = position.health_at_spot(&market, pool, price, settlement)?;
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

/// Pool-level deleveraging (SPEC 6): when the traders' unrealized profit in `pool` exceeds
/// `max_pnl_factor × pool value`, the positions a keeper should reduce, decided as the
/// program decides (`profit_over_cap`, `Position::pnl_cap_deleverage_size`): outside the
/// minimum hold, the most profitable per USD of notional first, until the excess is
/// covered. `markets` is every market of the pool with its price; each is marked on a copy.
pub fn pnl_cap_deleverage(
    pool: &Pool,
    markets: &[(Pubkey, &Market, &OraclePrice)],
    settlement: &OraclePrice,
    positions: &[(Pubkey, &Position)],
    now: i64,
) -> MathResult<Vec<Pubkey>> {
    let integral = pool.utilization_integral_at(now)?;
    let decimals = pool.settlement_decimals;
    let mut marked = Vec::with_capacity(markets.len());
    let mut exposures = Vec::with_capacity(markets.len());
    for (key, market, price) in markets {
        let mut m = (*market).clone();
        m.observe_price(price, now)?;
        m.accrue(now, integral)?;
        exposures.push(m.exposure(**price)?);
        marked.push((*key, m, **price));
    }
    let mut excess = profit_over_cap(
        pool.lp_balance,
        &exposures,
        settlement,
        decimals,
        pool.params.max_pnl_factor_bps,
    )? as u128;
    if excess == 0 {
        return Ok(Vec::new());
    }
    // (profit per USD of notional, key, profit released by the reduction)
    let mut candidates = Vec::new();
    for (key, position) in positions {
        let Some((_, market, price)) = marked.iter().find(|(k, _, _)| *k == position.market) else {
            continue;
        };
        if position.in_min_hold(market, now) {
            continue;
        }
        let Some(size) =
            position.pnl_cap_deleverage_size(market, price, settlement, decimals, excess as u64)?
        else {
            continue;
        };
        let pnl = position.pnl_at(price.spot, settlement, decimals)? as u128;
        let whole = position.entry_notional_usd.max(1) as u128;
        let per_usd = pnl * 1_000_000_000 / whole;
        candidates.push((per_usd, *key, pnl * size as u128 / whole));
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::new();
    for (_, key, released) in candidates {
        if excess == 0 {
            break;
        }
        out.push(key);
        excess = excess.saturating_sub(released.max(1));
    }
    Ok(out)
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
