use anchor_lang::prelude::*;

use crate::engine::marks::mark_market;
use crate::error::TidepoolError;
use crate::state::{Market, Pool, Position, PositionHealth};

/// View: a position's health now, marked at the oracle's spot price (the basis of
/// liquidation), with fees accrued to now and the margin ratios of now.
#[derive(Accounts)]
pub struct GetPositionHealth<'info> {
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

pub fn get_position_health(ctx: Context<GetPositionHealth>) -> Result<PositionHealth> {
    let now = Clock::get()?.unix_timestamp;
    let mut pool: Pool = (**ctx.accounts.pool).clone();
    let mut market: Market = (**ctx.accounts.market).clone();
    let position = &ctx.accounts.position;
    let (price, settlement) = mark_market(
        &mut pool,
        &mut market,
        &ctx.accounts.price_update,
        &ctx.accounts.settlement_price_update,
        now,
    )?;
    super::answer(position.health_at_spot(&market, &pool, &price, &settlement)?)
}
