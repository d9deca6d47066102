use anchor_lang::prelude::*;

// The composite accounts struct brings its generated client modules with it.
use super::keeper_close::*;
use crate::engine::position::{apply_close, rebook_as_collateral, KeeperFee};
use crate::error::TidepoolError;
use crate::events::{emit, PositionLiquidated};
use crate::math::position::{liquidation_close_usd, owed_usd_to_tokens};
use crate::math::{bps_of, Rounding};

/// Permissionless: liquidate a position whose equity, marked at the oracle's spot price,
/// is below its maintenance margin. Closes just enough to bring the rest back to initial
/// margin, or all of it. Never paused.
#[event_cpi]
#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub close: KeeperClose<'info>,
}

pub fn liquidate(ctx: Context<Liquidate>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let c = &mut ctx.accounts.close;
    let (price, settlement) = c.load_prices(now)?;
    let decimals = c.pool.settlement_decimals;
    let health = c
        .position
        .health_at_spot(&c.market, &c.pool, &price, &settlement)?;
    require!(health.is_liquidatable(), TidepoolError::PositionHealthy);

    let p = c.market.params;
    let whole = c.position.entry_notional_usd;
    let fee_whole = owed_usd_to_tokens(
        bps_of(
            health.notional_usd,
            p.liquidation_fee_bps as u64,
            Rounding::Up,
        )?,
        &settlement,
        decimals,
    )?;
    // A partial close settles the fees into the collateral first; when they exceed it,
    // only a full close is possible.
    let (borrow, funding) = c.position.owed_tokens(&c.market, &settlement, decimals)?;
    let fees_covered = (borrow as i128 + funding) <= c.position.collateral as i128;
    let size_usd = match liquidation_close_usd(
        whole,
        health.equity as i128,
        health.initial_margin_required,
        fee_whole,
        p.min_position_usd,
    )? {
        Some(part) if part > 0 && fees_covered => part,
        _ => whole,
    };
    let o = apply_close(
        &mut c.pool,
        &mut c.market,
        &mut c.position,
        size_usd,
        price.spot,
        KeeperFee::BpsOfNotional(p.liquidation_fee_bps),
        false,
        &settlement,
        now,
    )?;
    if !o.closed {
        rebook_as_collateral(&mut c.pool, &mut c.market, &mut c.position, o.payout)?;
    }
    let payout = if o.closed {
        OwnerPayout::Pay
    } else {
        OwnerPayout::KeepAsCollateral
    };
    c.finish(&o, payout)?;

    let event = PositionLiquidated {
        pool: c.pool.key(),
        market: c.market.key(),
        position: c.position.key(),
        owner: c.owner.key(),
        keeper: c.keeper.key(),
        price: price.spot,
        equity: health.equity,
        maintenance_margin: health.maintenance_margin_required,
        size_usd: o.size_usd,
        pnl: o.pnl,
        close_fee: o.close_fee,
        borrow_fee: o.borrow_fee,
        funding: o.funding,
        keeper_fee: o.keeper_fee,
        owner_payout: if o.closed { o.payout } else { 0 },
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
