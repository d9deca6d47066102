use anchor_lang::prelude::*;

// The composite accounts struct brings its generated client modules with it.
use super::keeper_close::*;
use crate::constants::pause;
use crate::engine::pool_value::{Marking, PoolMarks};
use crate::engine::position::{apply_close, KeeperFee};
use crate::error::TidepoolError;
use crate::events::{emit, PositionDeleveraged};
use crate::math::valuation::profit_over_cap;

/// Permissionless deleveraging, at the oracle's spot price, for the market's keeper fee:
///
/// - a position whose profit has reached its reserve is closed in full at the cap;
/// - when the traders' aggregate unrealized profit in the pool exceeds
///   `max_pnl_factor × pool value`, a profitable position is reduced until the aggregate
///   is back at the cap. The position must be at least as profitable (PnL per USD of entry
///   notional) as its side on average, so keepers reduce the most profitable first; this
///   takes the pool's markets and prices as remaining accounts
///   (`[market_i, price_update_i]` for every market, as for `get_pool_value`).
#[event_cpi]
#[derive(Accounts)]
pub struct AutoDeleverage<'info> {
    pub close: KeeperClose<'info>,
}

impl AutoDeleverage<'_> {
    pub fn validate(&self) -> Result<()> {
        let c = &self.close;
        pause::require_active(
            // Deleveraging is a decrease: a DECREASE pause stops it too.
            pause::DELEVERAGE | pause::DECREASE,
            &[
                c.config.pause_flags,
                c.pool.pause_flags,
                c.market.pause_flags,
            ],
        )?;
        Ok(())
    }
}

pub fn auto_deleverage(ctx: Context<AutoDeleverage>) -> Result<()> {
    ctx.accounts.validate()?;
    let now = Clock::get()?.unix_timestamp;
    let remaining = ctx.remaining_accounts;
    let c = &mut ctx.accounts.close;
    let (price, settlement) = c.load_prices(now)?;
    let decimals = c.pool.settlement_decimals;
    let is_long = c.position.is_long();
    // Deleveraging never pays more than the owner's own close would now: the close fill
    // price, and nothing inside the minimum hold (where a close realizes no profit).
    require!(
        !c.position.in_min_hold(&c.market, now),
        TidepoolError::DeleverageInMinHold
    );
    let fill = c.market.fill_price(&price, !is_long)?;
    let whole = c.position.entry_notional_usd;
    let at_reserve_cap = c
        .position
        .at_reserve_cap(&c.market, &price, &settlement, decimals)?;
    let size_usd = if at_reserve_cap {
        whole
    } else {
        require!(!remaining.is_empty(), TidepoolError::NotDeleveragable);
        let pool_key = c.pool.key();
        // One price per market: this position's market counts as marked above (with the
        // price it closes at), not as its account stood before this instruction.
        let marks = PoolMarks::load(
            &mut c.pool,
            &pool_key,
            &c.settlement_price_update,
            remaining,
            now,
            Marking::WithCurrent {
                key: c.market.key(),
                market: &c.market,
                price_account: c.price_update.key(),
                price,
            },
        )?;
        let excess = profit_over_cap(
            c.pool.lp_balance,
            &marks.markets,
            &marks.settlement,
            decimals,
            c.pool.params.max_pnl_factor_bps,
        )?;
        require!(excess > 0, TidepoolError::NotDeleveragable);
        match c.position.pnl_cap_deleverage_size(
            &c.market,
            &price,
            &settlement,
            decimals,
            excess,
        )? {
            Some(size) => size,
            None if c.position.pnl_at(price.spot, &settlement, decimals)? <= 0 => {
                return err!(TidepoolError::NotDeleveragable)
            }
            None => return err!(TidepoolError::NotMostProfitable),
        }
    };
    let keeper_fee = KeeperFee::FlatUsd(c.market.params.keeper_fee_usd);
    let o = apply_close(
        &mut c.pool,
        &mut c.market,
        &mut c.position,
        size_usd,
        fill,
        keeper_fee,
        true,
        &settlement,
        now,
    )?;
    c.finish(&o, OwnerPayout::Pay)?;
    let event = PositionDeleveraged {
        pool: c.pool.key(),
        market: c.market.key(),
        position: c.position.key(),
        owner: c.owner.key(),
        keeper: c.keeper.key(),
        at_reserve_cap,
        price: price.spot,
        size_usd: o.size_usd,
        pnl: o.pnl,
        close_fee: o.close_fee,
        borrow_fee: o.borrow_fee,
        funding: o.funding,
        keeper_fee: o.keeper_fee,
        payout: o.payout,
        bad_debt: o.bad_debt,
        fees_unpaid: o.fees_unpaid,
        closed: o.closed,
    };
    let bad_debt = o.bad_debt_event(&c.pool, c.market.key(), c.position.key());
    emit(&ctx.accounts.event_authority, &event)?;
    if let Some(e) = bad_debt {
        emit(&ctx.accounts.event_authority, &e)?;
    }
    Ok(())
}
