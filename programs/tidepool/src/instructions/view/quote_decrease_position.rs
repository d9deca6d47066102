use anchor_lang::prelude::*;

use crate::engine::marks::mark_market;
use crate::engine::position::{apply_decrease, DecreaseOutcome};
use crate::error::TidepoolError;
use crate::state::{Market, Pool, Position};

/// View: what `decrease_position` would do now, computed by the same code on copies.
#[derive(Accounts)]
pub struct QuoteDecreasePosition<'info> {
    pub pool: Box<Account<'info, Pool>>,
    #[account(has_one = pool @ TidepoolError::MarketPoolMismatch)]
    pub market: Box<Account<'info, Market>>,
    #[account(has_one = market @ TidepoolError::InvalidPosition)]
    pub position: Box<Account<'info, Position>>,
    /// CHECK: the market's Pyth price, validated by `engine::marks::read_price`.
    pub price_update: UncheckedAccount<'info>,
    /// CHECK: the settlement token's Pyth price, validated by `engine::marks::read_price`.
    pub settlement_price_update: UncheckedAccount<'info>,
}

pub fn quote_decrease_position(
    ctx: Context<QuoteDecreasePosition>,
    size_usd: u64,
) -> Result<DecreaseOutcome> {
    let now = Clock::get()?.unix_timestamp;
    let mut pool: Pool = (**ctx.accounts.pool).clone();
    let mut market: Market = (**ctx.accounts.market).clone();
    let mut position: Position = (**ctx.accounts.position).clone();
    let (price, settlement) = mark_market(
        &mut pool,
        &mut market,
        &ctx.accounts.price_update,
        &ctx.accounts.settlement_price_update,
        now,
    )?;
    let any_price = if position.is_long() { 0 } else { u64::MAX };
    super::answer(apply_decrease(
        &mut pool,
        &mut market,
        &mut position,
        size_usd,
        any_price,
        &price,
        &settlement,
        now,
    )?)
}
