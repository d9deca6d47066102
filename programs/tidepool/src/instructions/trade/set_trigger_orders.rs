use anchor_lang::prelude::*;

use crate::constants::POSITION_SEED;
use crate::error::TidepoolError;
use crate::events::{emit, TriggerOrdersSet};
use crate::state::{Market, Position};

/// Set (or clear, with 0) the position's take-profit and stop-loss trigger prices.
#[event_cpi]
#[derive(Accounts)]
pub struct SetTriggerOrders<'info> {
    pub owner: Signer<'info>,
    pub market: Box<Account<'info, Market>>,
    #[account(mut, dup,
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref(), &[position.side.seed()]],
        bump = position.bump,
        has_one = owner @ TidepoolError::InvalidPosition,
        has_one = market @ TidepoolError::InvalidPosition)]
    pub position: Box<Account<'info, Position>>,
}

/// Prices `expo = -9`. A long's take-profit must be above its stop-loss, a short's below.
pub fn set_trigger_orders(
    ctx: Context<SetTriggerOrders>,
    take_profit_price: u64,
    stop_loss_price: u64,
) -> Result<()> {
    let position = &mut ctx.accounts.position;
    if take_profit_price != 0 && stop_loss_price != 0 {
        let ordered = if position.is_long() {
            take_profit_price > stop_loss_price
        } else {
            take_profit_price < stop_loss_price
        };
        require!(ordered, TidepoolError::InvalidTriggerPrices);
    }
    position.take_profit_price = take_profit_price;
    position.stop_loss_price = stop_loss_price;
    position.last_update_time = Clock::get()?.unix_timestamp;
    let event = TriggerOrdersSet {
        position: position.key(),
        take_profit_price,
        stop_loss_price,
    };
    emit(&ctx.accounts.event_authority, &event)?;
    Ok(())
}
