use anchor_lang::prelude::*;

use crate::constants::CONFIG_ADDRESS;

use crate::error::TidepoolError;
use crate::events::{emit, MarketParamsUpdated};
use crate::state::{Config, Market, MarketParams, Pool};

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateMarketParams<'info> {
    pub admin: Signer<'info>,
    #[account(address = CONFIG_ADDRESS, has_one = admin @ TidepoolError::Unauthorized)]
    pub config: Box<Account<'info, Config>>,
    #[account(address = market.pool @ TidepoolError::MarketPoolMismatch)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup)]
    pub market: Box<Account<'info, Market>>,
}

pub fn update_market_params(ctx: Context<UpdateMarketParams>, params: MarketParams) -> Result<()> {
    params.validate()?;
    let market_key = ctx.accounts.market.key();
    let now = Clock::get()?.unix_timestamp;
    let integral = ctx.accounts.pool.utilization_integral_at(now)?;
    let market = &mut ctx.accounts.market;
    // Fees up to now accrue under the rates that applied until now.
    market.accrue(now, integral)?;
    market.params = params;
    emit(
        &ctx.accounts.event_authority,
        &MarketParamsUpdated {
            pool: market.pool,
            market: market_key,
            params,
        },
    )?;
    Ok(())
}
