use anchor_lang::prelude::*;
use anchor_spl::token::Mint;

use crate::engine::pool_value::{Marking, PoolMarks, PoolValueView};
use crate::error::TidepoolError;
use crate::state::Pool;

/// View: the pool's value (both ends of its plausible range), share prices and liquidity.
///
/// Remaining accounts: `[market_i, price_update_i]` for every market of the pool, in order.
#[derive(Accounts)]
pub struct GetPoolValue<'info> {
    pub pool: Box<Account<'info, Pool>>,
    #[account(address = pool.lp_mint @ TidepoolError::InvalidLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    /// CHECK: validated by `engine::marks::read_price` (owner, discriminator, feed, age, guards).
    pub settlement_price_update: UncheckedAccount<'info>,
}

pub fn get_pool_value(ctx: Context<GetPoolValue>) -> Result<PoolValueView> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let marks = PoolMarks::load(
        &mut ctx.accounts.pool,
        &pool_key,
        &ctx.accounts.settlement_price_update,
        ctx.remaining_accounts,
        now,
        Marking::ReadOnly,
    )?;
    let pool = &ctx.accounts.pool;
    let supply = pool.share_supply(ctx.accounts.lp_mint.supply)?;
    super::answer(PoolValueView::new(pool, &marks, supply)?)
}
