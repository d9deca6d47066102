use anchor_lang::prelude::*;

use crate::constants::{ACCOUNT_VERSION, CONFIG_ADDRESS, MARKET_SEED, MAX_MARKETS_PER_POOL};
use crate::error::TidepoolError;
use crate::events::{emit, MarketCreated};
use crate::state::{Config, Market, MarketParams, Pool};

/// Adds a market (one index asset) to a pool, at the next free index.
#[event_cpi]
#[derive(Accounts)]
pub struct CreateMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(address = CONFIG_ADDRESS, has_one = admin @ TidepoolError::Unauthorized)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup,
        constraint = (pool.market_count as usize) < MAX_MARKETS_PER_POOL
            @ TidepoolError::TooManyMarkets)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(init, payer = admin, space = Market::SIZE,
        seeds = [MARKET_SEED, pool.key().as_ref(), &[pool.market_count]], bump)]
    pub market: Box<Account<'info, Market>>,
    pub system_program: Program<'info, System>,
}

pub fn create_market(
    ctx: Context<CreateMarket>,
    symbol: [u8; 16],
    feed_id: [u8; 32],
    params: MarketParams,
) -> Result<()> {
    params.validate()?;
    require!(feed_id != [0; 32], TidepoolError::InvalidFeedId);
    let pool_key = ctx.accounts.pool.key();
    let market_key = ctx.accounts.market.key();
    let pool = &mut ctx.accounts.pool;
    let index = pool.market_count;

    let market = &mut ctx.accounts.market;
    market.version = ACCOUNT_VERSION;
    market.bump = ctx.bumps.market;
    market.index = index;
    market.pool = pool_key;
    market.symbol = symbol;
    market.feed_id = feed_id;
    market.params = params;
    let now = Clock::get()?.unix_timestamp;
    market.last_update_time = now;
    // Fees accrue from the market's creation on.
    market.last_accrual_time = now;
    market.utilization_integral_snapshot = pool.utilization_integral_at(now)?;

    pool.markets[index as usize] = market_key;
    pool.market_count = index + 1;
    emit(
        &ctx.accounts.event_authority,
        &MarketCreated {
            pool: pool_key,
            market: market_key,
            index,
            symbol,
            feed_id,
            params,
        },
    )?;
    Ok(())
}
