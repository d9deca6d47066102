use anchor_lang::prelude::*;

// The composite accounts struct brings its generated client modules with it.
use super::keeper_close::*;
use crate::constants::pause;
use crate::engine::position::{apply_close, KeeperFee};
use crate::error::TidepoolError;
use crate::events::{emit, TriggerOrderExecuted};
use crate::state::TriggerState;

/// Permissionless: close a position whose take-profit or stop-loss the oracle's spot price
/// has crossed, at the close fill price, for the market's keeper fee.
#[event_cpi]
#[derive(Accounts)]
pub struct ExecuteTriggerOrder<'info> {
    pub close: KeeperClose<'info>,
}

impl ExecuteTriggerOrder<'_> {
    pub fn validate(&self) -> Result<()> {
        let c = &self.close;
        pause::require_active(
            // A trigger is a decrease: a DECREASE pause stops it too.
            pause::TRIGGER | pause::DECREASE,
            &[
                c.config.pause_flags,
                c.pool.pause_flags,
                c.market.pause_flags,
            ],
        )?;
        Ok(())
    }
}

pub fn execute_trigger_order(ctx: Context<ExecuteTriggerOrder>) -> Result<()> {
    ctx.accounts.validate()?;
    let now = Clock::get()?.unix_timestamp;
    let c = &mut ctx.accounts.close;
    let (price, settlement) = c.load_prices(now)?;
    let is_long = c.position.is_long();
    let take_profit = match c.position.trigger_state(&c.market, &price, now)? {
        TriggerState::Ready { take_profit } => take_profit,
        TriggerState::NotReached => return err!(TidepoolError::TriggerNotReached),
        TriggerState::InMinHold => return err!(TidepoolError::TriggerInMinHold),
    };
    let fill = c.market.fill_price(&price, !is_long)?;
    let whole = c.position.entry_notional_usd;
    let keeper_fee = KeeperFee::FlatUsd(c.market.params.keeper_fee_usd);
    let o = apply_close(
        &mut c.pool,
        &mut c.market,
        &mut c.position,
        whole,
        fill,
        keeper_fee,
        true,
        &settlement,
        now,
    )?;
    c.finish(&o, OwnerPayout::Pay)?;
    let event = TriggerOrderExecuted {
        pool: c.pool.key(),
        market: c.market.key(),
        position: c.position.key(),
        owner: c.owner.key(),
        keeper: c.keeper.key(),
        take_profit,
        price: price.spot,
        fill_price: o.fill_price,
        size_usd: o.size_usd,
        pnl: o.pnl,
        close_fee: o.close_fee,
        borrow_fee: o.borrow_fee,
        funding: o.funding,
        keeper_fee: o.keeper_fee,
        payout: o.payout,
        bad_debt: o.bad_debt,
        fees_unpaid: o.fees_unpaid,
    };
    let bad_debt = o.bad_debt_event(&c.pool, c.market.key(), c.position.key());
    emit(&ctx.accounts.event_authority, &event)?;
    if let Some(e) = bad_debt {
        emit(&ctx.accounts.event_authority, &e)?;
    }
    Ok(())
}
